"""Custom attributes: their definitions, and the values records carry under `attributes`."""

from __future__ import annotations

from datetime import date
from typing import Any, Callable

import neo4j.time

from marshmallow import ValidationError
from neo4j import ManagedTransaction

from schemas.attributes import (TARGETS, MAX_DEFINITIONS, MAX_FILTERS, PREFIX, dump_value, load_filter, storage_key,
                                value_loader)
from service import db
from service.problems import Problem, field_error, scope_error, stale
from service.repositories import changes, not_found

CLEAR_BATCH = 1000
_DATE_FROM_NATIVE = neo4j.time.Date.from_native


def _key(target: str, name: str) -> str:
    return f"{target}:{name}"


def _definition(stored: dict[str, Any]) -> dict[str, Any]:
    """A definition as read (a property stored as null is absent from the node)."""
    return {"values": None, "description": None, "pii": False, **stored}


def definitions(tx: ManagedTransaction, target: str) -> dict[str, dict[str, Any]]:
    """`target`'s definitions by name, read in this transaction."""
    return by_name([row["definition"] for row in db.run(tx, "attribute_definitions", target=target)])


def by_name(stored: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Definitions as read (attribute_definitions' `definition`s) by name."""
    return {definition["name"]: _definition(definition) for definition in stored}


def list_definitions(graph: db.Graph, target: str | None = None) -> list[dict[str, Any]]:
    rows = graph.read(lambda tx: db.run(tx, "attribute_definitions", target=target))
    return [_definition(row["definition"]) for row in rows]


def get_definition(graph: db.Graph, target: str, name: str) -> dict[str, Any]:
    row = graph.read(lambda tx: db.run_one(tx, "attribute_definition_get", key=_key(target, name)))
    if row is None:
        raise not_found("attribute", f"{target}/{name}")
    return _definition(row["definition"])


# What a PUT that leaves them out keeps of a stored definition (a new one takes _new_defaults).
_KEPT = ("label", "description", "pii")


def _new_defaults(name: str) -> dict[str, Any]:
    return {"label": name, "description": None, "pii": False}


def put_definition(graph: db.Graph, target: str, name: str, body: dict[str, Any],
                   expected_version: int | None) -> tuple[dict[str, Any], bool]:
    """Create or replace a definition. `label`, `description` and `pii` left out of `body` keep their stored
    values (a new definition: its name, none, false). A type change, or an enum losing values, is refused while
    values of the old kind are stored (delete the attribute, or change those records, first), unless every
    stored value is one of the new type as it is (WIDENINGS: integer to number, enum to string)."""
    def work(tx: ManagedTransaction) -> dict[str, Any]:
        row = db.run_one(tx, "attribute_definition_get", key=_key(target, name))
        if row is None:
            if expected_version is not None:
                raise not_found("attribute", f"{target}/{name}")
            if db.run_one(tx, "attribute_definition_count", target=target)["count"] >= MAX_DEFINITIONS:
                raise Problem(409, f"a {target} has at most {MAX_DEFINITIONS} attributes", slug="too-many-attributes")
            props = _props(target, name, body, _new_defaults(name))
        else:
            current = _definition(row["definition"])
            if expected_version is not None and current["version"] != expected_version:
                raise stale()
            props = _props(target, name, body, {**_new_defaults(name),
                                                **{key: current[key] for key in _KEPT if key in current}})
            _refuse_orphans(tx, target, name, current, props)
        return db.run_one(tx, "attribute_definition_put", key=_key(target, name), props=props)

    row = graph.write(work)
    return _definition(row["definition"]), row["created"]


def _props(target: str, name: str, body: dict[str, Any], kept: dict[str, Any]) -> dict[str, Any]:
    """The definition's stored properties: `body`'s, and `kept`'s for what `body` leaves out (a None removes)."""
    given = {key: body[key] for key in _KEPT if key in body}
    return {"target": target, "name": name, "type": body["type"], "values": body.get("values"), **kept, **given}


# Type changes that every stored value survives as it is: an integer is a number, an enum's value a string.
WIDENINGS = {("integer", "number"), ("enum", "string")}


def _refuse_orphans(tx, target: str, name: str, current: dict[str, Any], new: dict[str, Any]) -> None:
    """A 409 when stored values would not be of the new definition: a narrowing type change, or enum values
    dropped that records hold (named with how many hold each)."""
    if current["type"] != new["type"]:
        if (current["type"], new["type"]) in WIDENINGS:
            return
        uses = db.run_one(tx, f"attribute_usage_{target}", key=storage_key(name))["uses"]
        if uses:
            raise _in_use(f"{uses} {target}s hold {current['type']} values of {name}", uses)
    elif current["type"] == "enum":
        dropped = [value for value in current["values"] if value not in new["values"]]
        if not dropped:
            return
        rows = db.run(tx, f"attribute_values_held_{target}", key=storage_key(name), values=dropped)
        counts = {row["value"]: row["uses"] for row in rows}
        held = [{"value": value, "uses": counts[value]} for value in dropped if value in counts]
        if held:
            listed = ", ".join(f"{entry['value']} ({entry['uses']})" for entry in held)
            uses = sum(counts.values())
            raise _in_use(f"{uses} {target}s hold values of {name} that the new definition drops: {listed}", uses,
                          held=held)


def _in_use(what: str, uses: int, **extra: Any) -> Problem:
    return Problem(409, f"{what}; change them or delete the attribute first", slug="attribute-in-use", uses=uses,
                   **extra)


_CLEARED = {
    "member": lambda id_: changes.change("member", id_, "update"),
    "organization": lambda id_: changes.change("organization", id_, "update"),
    "collaboration": lambda row: changes.change("collaboration", row[0], "update", parties=(row[1], row[2])),
}


def delete_definition(graph: db.Graph, target: str, name: str, expected_version: int | None) -> None:
    """Remove the field and its values, a batch of records per transaction (each with its change entries);
    the definition goes last, so a rerun after a failure finishes the job."""
    current = get_definition(graph, target, name)
    if expected_version is not None and current["version"] != expected_version:
        raise stale()
    key = storage_key(name)

    def clear_batch(tx: ManagedTransaction) -> int:
        rows = db.run_scalars(tx, f"attribute_clear_{target}", key=key, nulls={key: None}, batch=CLEAR_BATCH)
        changes.record(tx, [_CLEARED[target](row) for row in rows])
        return len(rows)

    while graph.write_step(clear_batch):
        pass
    graph.write(lambda tx: db.run(tx, "attribute_definition_delete", key=_key(target, name)))


# --- values on records ---------------------------------------------------------------------------

def loaders(found: dict[str, dict[str, Any]]) -> dict[str, tuple[str, Callable[[Any], Any]]]:
    """For each of `found`'s definitions, its storage key and the function loading a value to store (dates as
    Neo4j dates): made once for a batch of records rather than once per value."""
    out = {}
    for name, definition in found.items():
        load = value_loader(definition)
        out[name] = (PREFIX + name,  # a defined name: it matched NAME_PATTERN when it was defined
                     _as_neo4j_date(load) if definition["type"] == "date" else load)
    return out


def _as_neo4j_date(load: Callable[[Any], date]) -> Callable[[Any], neo4j.time.Date]:
    return lambda value: _DATE_FROM_NATIVE(load(value))


def to_props(loading: dict[str, tuple[str, Callable[[Any], Any]]], values: dict[str, Any],
             target: str) -> tuple[dict, list[dict]]:
    """A record's `attributes` as stored properties ({"attr.name": value}; None removes), and a field error
    for each unknown name or bad value; `loading` is `loaders` of the target's definitions."""
    props, errors = {}, []
    for name, value in values.items():
        entry = loading.get(name)
        if entry is None:
            errors.append(_error(f"attributes.{name}", f"no {target} attribute '{name}' is defined "
                                                       f"(PUT /v1/attributes/{target}/{name} defines one)"))
            continue
        key, load = entry
        if value is None:
            props[key] = None
            continue
        try:
            props[key] = load(value)
        except ValidationError as exc:
            errors.append(_error(f"attributes.{name}", *_messages(exc)))
    return props, errors


def _messages(exc: ValidationError) -> list[str]:
    messages = exc.messages
    if isinstance(messages, dict):
        return [f"{key}: {text}" for key, texts in messages.items() for text in texts]
    return list(messages)


def _error(field: str, *messages: str, location: str = "json") -> dict[str, Any]:
    return {"field": field, "location": location, "messages": list(messages)}


def shape(entity: dict[str, Any], found: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """`entity` (a node's or tie's properties) with its attribute properties nested under `attributes`, and
    the names of its personal ones under `_pii_attributes` (the response schema hides those without `pii`).
    A stored value whose definition is gone is left out."""
    out: dict[str, Any] = {}
    attributes: dict[str, Any] = {}
    for key, value in entity.items():
        if key.startswith(PREFIX):
            name = key[len(PREFIX):]
            if name in found:
                attributes[name] = dump_value(value)
        else:
            out[key] = value
    out["attributes"] = attributes
    out["_pii_attributes"] = [name for name in attributes if found[name].get("pii")]
    return out


def member_values(graph: db.Graph, member_ids: list[str], *, personal: bool) -> dict[str, dict[str, Any]]:
    """The member attributes of these members, as {name: {"type", "label", "values": [one per id, None
    where unset]}}; personal ones only with `personal`. Dates as ISO text."""
    def work(tx: ManagedTransaction) -> tuple[dict, list[dict]]:
        found = {name: d for name, d in definitions(tx, "member").items() if personal or not d.get("pii")}
        keys = [PREFIX + name for name in found]
        return found, db.run(tx, "attribute_member_values", ids=member_ids, keys=keys) if keys else []

    found, rows = graph.read(work)
    by_id = {row["id"]: row["values"] for row in rows}
    return {name: {"type": definition["type"], "label": definition.get("label") or name,
                   "values": [dump_value((by_id.get(id_) or [None] * len(found))[i]) for id_ in member_ids]}
            for i, (name, definition) in enumerate(found.items())}


def list_filters(found: dict[str, dict[str, Any]], raw: dict[str, str], target: str, *,
                 personal: bool = False) -> list[dict[str, Any]]:
    """`?attr.NAME=value` list filters as {key, value, tags} (a tags field matches a member holding the tag).
    A filter on an attribute marked pii needs `personal` (the caller may see personal data): the records a
    filter keeps tell its value as surely as showing it would."""
    if len(raw) > MAX_FILTERS:
        raise field_error("attr", f"at most {MAX_FILTERS} attribute filters", location="query")
    filters = []
    for name, text in raw.items():
        field = f"attr.{name}"
        definition = found.get(name)
        if definition is None:
            raise field_error(field, f"no {target} attribute '{name}' is defined", location="query")
        if definition.get("pii") and not personal:
            raise personal_data_refused(field, name, "filtering by")
        try:
            value = load_filter(definition, text)
        except ValidationError as exc:
            raise field_error(field, _messages(exc)[0], location="query") from None
        filters.append({"key": storage_key(name), "value": db.to_cypher(value), "tags": definition["type"] == "tags"})
    return filters


def personal_data_refused(field: str, name: str, use: str) -> Problem:
    """The 403 for a caller without the `pii` scope who names a personal attribute in `field` (to filter or
    segment by it): naming the field and the scope it needs."""
    return scope_error(field, f"attribute {name} is personal data: {use} it needs the 'pii' scope", "pii")
