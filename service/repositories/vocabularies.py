"""Vocabularies: each network's own words for member roles, organization kinds, collaboration kinds and
affiliation roles. A write's vocabulary values are resolved in its own transaction: a known value is kept,
an unknown one is added to an open vocabulary (and reported as new) or refused by a closed one."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable

from neo4j import ManagedTransaction

from schemas.vocabularies import DEFAULT_TERMS, MAX_TERMS, default_label, slug, spelling_key
from service import db
from service.problems import Problem, field_error
from service.repositories import changes, locked, not_found

# Which field of which resource holds which vocabulary's values.
FIELDS = {
    "member": {"role": "member_role"},
    "organization": {"kind": "organization_kind"},
    "collaboration": {"kind": "collaboration_kind"},
    "affiliation": {"role": "affiliation_role"},
    "activity": {"kind": "activity_kind"},
}
_ALLOWED_SHOWN = 100
MERGE_BATCH = 1000


def seed(graph: db.Graph) -> None:
    """Start-up step: each vocabulary a database lacks is created open, with the default values."""
    vocabularies = [{"name": name, "terms": [{"value": value, "label": default_label(value)} for value in values]}
                    for name, values in DEFAULT_TERMS.items()]
    with graph.driver.session(database=graph.database) as session:
        session.execute_write(lambda tx: db.run(tx, "vocabulary_seed", vocabularies=vocabularies))


def list_all(graph: db.Graph) -> list[dict[str, Any]]:
    return [row["vocabulary"] for row in graph.read(lambda tx: db.run(tx, "vocabulary_list"))]


def get(graph: db.Graph, name: str) -> dict[str, Any]:
    row = graph.read(lambda tx: db.run_one(tx, "vocabulary_get", name=name))
    if row is None:
        raise not_found("vocabulary", name)
    return row["vocabulary"]


def labels(tx: ManagedTransaction, name: str) -> dict[str, str]:
    """Each value of vocabulary `name` with its label (what a person reads: "Instructional Coach" for
    instructional_coach), read in `tx`; empty when there is no such vocabulary."""
    row = db.run_one(tx, "vocabulary_get", name=name)
    return {term["value"]: term["label"] or term["value"] for term in row["vocabulary"]["values"]} if row else {}


def replace(graph: db.Graph, name: str, policy: str, values: list[dict[str, Any]],
            expected_version: int | None) -> dict[str, Any]:
    """Make the vocabulary exactly `values` under `policy`; a value still held by the graph may not go."""
    terms = [{"value": slug(item["value"]), "label": item.get("label") or item["value"],
              "description": item.get("description")} for item in values]

    def work(tx: ManagedTransaction) -> None:
        locked(tx, "vocabulary_lock", "vocabulary", name, expected_version)
        current = db.run_one(tx, "vocabulary_get", name=name)["vocabulary"]
        kept = {term["value"] for term in terms}
        dropped = [term["value"] for term in current["values"] if term["value"] not in kept]
        in_use = {row["value"]: row["uses"] for row in _usage(tx, name, dropped)} if dropped else {}
        if in_use:
            raise Problem(409, f"still in use: {', '.join(f'{v} ({n})' for v, n in sorted(in_use.items()))}; merge "
                               f"them into another value first (POST /v1/vocabularies/{name}/merge)",
                          slug="vocabulary-value-in-use", in_use=in_use)
        db.run(tx, "vocabulary_replace", name=name, policy=policy, values=terms)

    graph.write(work)
    return get(graph, name)


def _usage(tx: ManagedTransaction, name: str, values: list[str]) -> list[dict[str, Any]]:
    return db.run(tx, f"vocabulary_usage_{name}", values=values)  # name is one of FIELDS' vocabularies


_MERGES = {
    "member_role": ("vocabulary_merge_members", lambda id_: changes.change("member", id_, "update")),
    "organization_kind": ("vocabulary_merge_organizations", lambda id_: changes.change("organization", id_, "update")),
    "collaboration_kind": ("vocabulary_merge_collaborations",
                           lambda row: changes.change("collaboration", row[0], "update", parties=(row[1], row[2]))),
    "affiliation_role": ("vocabulary_merge_affiliations",
                         lambda row: changes.change("affiliation", changes.affiliation_id(*row), "update")),
    "activity_kind": ("vocabulary_merge_activities", lambda id_: changes.change("activity", id_, "update")),
}


def merge(graph: db.Graph, name: str, sources: list[str], into: str) -> dict[str, Any]:
    """Rewrite every node or tie holding one of `sources` to `into`, a batch per transaction (each with its
    change entries), then drop the merged terms. A rerun after a failure finishes the job."""
    get(graph, name)
    listed = graph.read(lambda tx: _listed(tx, name))  # "Co Teaching" merges the listed co-teaching
    target = _as_listed(listed, slug(into))
    folded = sorted({_as_listed(listed, slug(value)) for value in sources} - {target})
    # A misspelt value would merge nothing and still answer as a merge that worked; a value the graph holds
    # that the vocabulary does not list (written before it listed its values) can still be merged away.
    unknown = [value for value in folded if value not in listed]
    if unknown:
        held = {row["value"] for row in graph.read(lambda tx: _usage(tx, name, unknown))}
        unknown = [value for value in unknown if value not in held]
    if unknown:
        raise field_error("from", f"not values of {name}: {', '.join(unknown)} (a value merged before is no longer "
                                  f"listed; GET /v1/vocabularies/{name} lists them)")
    if not folded:
        raise field_error("from", f"names only '{target}', the value merged into")
    statement, entry = _MERGES[name]

    def rewrite_batch(tx: ManagedTransaction) -> int:
        rows = db.run_scalars(tx, statement, **{"from": folded}, into=target, batch=MERGE_BATCH)
        changes.record(tx, [entry(row) for row in rows])
        return len(rows)

    def finish(tx: ManagedTransaction, rewritten: int) -> dict[str, Any]:
        db.run(tx, "vocabulary_lock", id=name)
        db.run(tx, "vocabulary_merge_terms", name=name, **{"from": folded}, into=target, label=into)
        return {"vocabulary": db.run_one(tx, "vocabulary_get", name=name)["vocabulary"], "rewritten": rewritten}

    _check_target(graph, name, target)
    rewritten = 0
    while folded and (batch := graph.write_step(rewrite_batch)):
        rewritten += batch
    return graph.write(finish, rewritten)


def _check_target(graph: db.Graph, name: str, target: str) -> None:
    """A closed vocabulary merges only into one of its own values (checked before anything is rewritten)."""
    def work(tx: ManagedTransaction) -> None:
        row = db.run_one(tx, "vocabulary_resolve", wanted=[{"vocabulary": name, "value": target}],
                         target=None)["terms"][0]
        if row["policy"] == "closed" and not row["known"]:
            raise field_error("into", f"'{target}' is not a value of the closed vocabulary {name}; allowed: "
                                      f"{', '.join(_allowed(tx, name))}")

    graph.read(work)


def _allowed(tx: ManagedTransaction, name: str) -> list[str]:
    return db.run_one(tx, "vocabulary_values", name=name, limit=_ALLOWED_SHOWN)["values"]


# --- resolving the values of a write ------------------------------------------------------------

@dataclass
class Resolution:
    """What the vocabulary values of one write (a record, or a batch of them) resolved to."""

    values: dict[tuple[str, str], str] = field(default_factory=dict)        # (vocabulary, as sent) -> value
    refused: dict[tuple[str, str], list[str]] = field(default_factory=dict)  # closed: (vocabulary, as sent) -> allowed
    added: set[tuple[str, str]] = field(default_factory=set)                 # (vocabulary, value) new to it here
    definitions: list[dict[str, Any]] = field(default_factory=list)  # resolve(definitions_of=...): as read

    def apply(self, resource: str, record: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str], list[dict]]:
        """`record` with its vocabulary values normalised, the values it added ({field: value}), and a field
        error for each value a closed vocabulary refused."""
        out, new, errors = dict(record), {}, []
        for name, vocabulary in FIELDS[resource].items():
            raw = record.get(name)
            if raw is None:
                continue
            if (vocabulary, raw) in self.refused:
                allowed = self.refused[(vocabulary, raw)]
                errors.append({"field": name, "location": "json", "messages": [
                    f"'{raw}' is not a value of the closed vocabulary {vocabulary}; allowed: {', '.join(allowed)}"]})
                continue
            out[name] = value = self.values[(vocabulary, raw)]
            if (vocabulary, value) in self.added:
                new[name] = value
        return out, new, errors


def resolve(tx: ManagedTransaction, wanted: Iterable[tuple[str, str]], *,
            definitions_of: str | None = None) -> Resolution:
    """Resolve (vocabulary, value as sent) pairs in this transaction, adding open vocabularies' new values;
    with `definitions_of` (a target), that target's attribute definitions are read with them, in one round
    trip, into the resolution's `definitions`."""
    resolution = Resolution()
    by_value: dict[tuple[str, str], str] = {}  # (vocabulary, value) -> first spelling sent, the new term's label
    for vocabulary, raw in wanted:
        value = slug(raw)
        resolution.values[(vocabulary, raw)] = value
        by_value.setdefault((vocabulary, value), raw)
    if not by_value and definitions_of is None:
        return resolution
    read = db.run_one(tx, "vocabulary_resolve", wanted=[{"vocabulary": v, "value": x} for v, x in by_value],
                      target=definitions_of)
    rows, resolution.definitions = read["terms"], read["definitions"]
    unknown = [row for row in rows if not row["known"]]
    # Another spelling of a listed word ("Co Teaching" beside co-teaching) is that word: read only when a value
    # is not listed as sent, which after a network's first records is rare.
    spelled = _spellings(tx, {row["vocabulary"] for row in unknown if row["policy"] is not None})
    same: dict[tuple[str, str], str] = {}  # (vocabulary, value as slugged) -> the term it is another spelling of
    grow, refused = [], set()  # refused: (vocabulary, value) pairs a closed vocabulary does not list
    for row in unknown:
        pair = (row["vocabulary"], row["value"])
        key = (pair[0], spelling_key(pair[1]))
        if key in spelled:
            same[pair] = spelled[key]
        elif row["policy"] == "closed":
            refused.add(pair)
        else:
            spelled[key] = pair[1]  # a second new spelling of it in this write joins the first
            grow.append({"vocabulary": pair[0], "value": pair[1], "label": by_value[pair]})
    if grow:
        resolution.added = {tuple(pair) for pair in db.run_scalars(tx, "vocabulary_grow", terms=grow)}
    allowed = {vocabulary: _allowed(tx, vocabulary) for vocabulary, _ in refused}
    for (vocabulary, raw), value in resolution.values.items():
        if (vocabulary, value) in same:
            resolution.values[(vocabulary, raw)] = same[(vocabulary, value)]
        elif (vocabulary, value) in refused:
            resolution.refused[(vocabulary, raw)] = allowed[vocabulary]
    return resolution


def listed_spelling(graph: db.Graph, vocabulary: str, value: str) -> str:
    """`value` (as `slug` gives it) as vocabulary lists it: a list filter "co_teaching" finds the co-teaching
    that writes store for "Co Teaching"; a value the vocabulary does not hold is returned as it is."""
    return _as_listed(graph.read(lambda tx: _listed(tx, vocabulary)), value)


def _as_listed(listed: list[str], value: str) -> str:
    if value in listed:  # two spellings listed as two terms (stored before spellings were matched): as sent
        return value
    return _by_spelling(listed).get(spelling_key(value), value)


def _by_spelling(listed: list[str]) -> dict[str, str]:
    """spelling_key -> the listed value (the first in the vocabulary's order where two listed values share one)."""
    out: dict[str, str] = {}
    for value in listed:
        out.setdefault(spelling_key(value), value)
    return out


# How many of a vocabulary's values spellings are compared with: more than a PUT may list (MAX_TERMS), since
# an open vocabulary grows by itself; read only when a value is not listed as sent.
SPELLINGS_READ = 20 * MAX_TERMS


def _listed(tx: ManagedTransaction, vocabulary: str) -> list[str]:
    return db.run_one(tx, "vocabulary_values", name=vocabulary, limit=SPELLINGS_READ)["values"]


def _spellings(tx: ManagedTransaction, vocabularies: set[str]) -> dict[tuple[str, str], str]:
    """(vocabulary, spelling_key) -> the listed value (_by_spelling), for each of `vocabularies`."""
    return {(vocabulary, key): value for vocabulary in sorted(vocabularies)
            for key, value in _by_spelling(_listed(tx, vocabulary)).items()}


def normalise(tx: ManagedTransaction, resource: str, record: dict[str, Any], *,
              definitions_of: str | None = None) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """One record's vocabulary values resolved in this transaction (a refused one is a 422 naming its field
    and the allowed values), and the attribute definitions of `definitions_of` read with them (resolve's)."""
    wanted = [(vocabulary, record[name]) for name, vocabulary in FIELDS[resource].items()
              if record.get(name) is not None]
    resolution = resolve(tx, wanted, definitions_of=definitions_of)
    out, _, errors = resolution.apply(resource, record)
    if errors:
        allowed = next(iter(resolution.refused.values()))
        raise Problem(422, f"{errors[0]['field']}: {errors[0]['messages'][0]}", slug="validation-error",
                      errors=errors, allowed=allowed)
    return out, resolution.definitions
