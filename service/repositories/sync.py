"""CRM sync: batches of records upserted by external id, tombstones, answers per record.

A batch is validated record by record; the valid ones are written in one
transaction with batched UNWIND statements, and a record that fails (bad field,
unknown reference) is reported by index without stopping the others, unless the
batch is atomic. Unchanged records write nothing: no version bump, no change entry. A tombstone says its
source no longer holds the record: a member or organization that another source (or the API) still holds
loses only that source's external id.
"""

from __future__ import annotations

import os
from collections import Counter
from datetime import date
from typing import Any

import neo4j.time
from marshmallow import ValidationError
from neo4j import ManagedTransaction
from neo4j.exceptions import ConstraintError

from schemas.fast import FastLoader
from schemas.sync import MAX_RECORDS, RECORD_SCHEMAS, STATUSES
from service import db
from service.problems import Problem, field_error, flatten_messages, problem_body
from service.repositories import attributes, changes, vocabularies
from service.repositories import activity_sync
from service.repositories.members import email_key, email_taken

_SINGULAR = {"organizations": "organization", "members": "member", "collaborations": "collaboration",
             "activities": "activity"}
_CONFLICT_RETRIES = 3
_NOT_PROPS = {"id", "external_id", "deleted", "organizations", "source_external_id", "target_external_id", "attributes",
              "organization_external_id", "participants"}
_DATE_FROM_NATIVE = neo4j.time.Date.from_native


def _new_ids(count: int) -> list[str]:
    """`count` random (version 4) UUIDs as strings, from one urandom call: uuid.uuid4() per record showed."""
    raw = os.urandom(16 * count)
    ids = []
    for start in range(0, 16 * count, 16):
        h = raw[start:start + 16].hex()
        ids.append(f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{'89ab'[int(h[16], 16) & 3]}{h[17:20]}-{h[20:]}")
    return ids


def external_key(resource: str, source: str, external_id: str) -> str:
    """The unique key of an ExternalId node: one namespace per resource and source."""
    return f"{resource}:{source}:{external_id}"


def sync(graph: db.Graph, resource: str, source: str, records: list[dict], atomic: bool,
         match_on: tuple[str, ...] = ("email",)) -> dict[str, Any]:
    """Upsert or delete `records` of `resource` from `source`. Members whose external id is new find their
    person by email when `match_on` holds "email" (the deployment's policy unless the request sets one)."""
    if len(records) > MAX_RECORDS:
        raise Problem(413, f"a sync batch holds at most {MAX_RECORDS} records; this one has {len(records)}: "
                           "split it", slug="batch-too-large", max_records=MAX_RECORDS)
    results, valid = _validate(resource, records)
    if atomic and any(result is not None for result in results):
        raise _atomic_failure(results)
    for attempt in range(_CONFLICT_RETRIES + 1):
        try:
            return graph.write(_apply, resource, source, valid, results, atomic, "email" in match_on)
        except ConstraintError:
            # Another integration created the same tie between other parties (or the other way round) between
            # our look and our write: the constraint refused the duplicate; again, the tie is found.
            if attempt == _CONFLICT_RETRIES:
                raise
    raise AssertionError("unreachable")


# Built once: the fast path only calls its fields' deserialize, which keep no state, so threads share it.
_FAST = {resource: FastLoader(schema()) for resource, schema in RECORD_SCHEMAS.items()}


def apply_in(tx: ManagedTransaction, resource: str, source: str, records: list[dict],
             extra: dict[str, dict[str, Any]] | None = None) -> dict[str, Any]:
    """Upserts and deletes `records` in the caller's transaction, all or nothing (a record that fails raises
    the batch's 400 problem). `extra` adds server-owned properties by external id (a check-in tie's
    `reciprocated`), which no client record may carry."""
    results, valid = _validate(resource, records)
    if any(result is not None for result in results):
        raise _atomic_failure(results)
    for _, record in valid:
        record.update((extra or {}).get(record["external_id"], {}))
    return _apply(tx, resource, source, valid, results, True, False)


def _validate(resource: str, records: list[dict]) -> tuple[list[dict | None], list[tuple[int, dict]]]:
    fast, schema = _FAST[resource], None
    results: list[dict | None] = [None] * len(records)
    loaded: list[tuple[int, dict]] = []
    for index, raw in enumerate(records):
        record = fast.load(raw)
        if record is not None:
            loaded.append((index, record))
            continue
        schema = schema or RECORD_SCHEMAS[resource]()
        try:  # unusual or invalid: the schema itself decides, and says what is wrong
            loaded.append((index, schema.load(raw)))
        except ValidationError as exc:
            results[index] = _failed(index, raw, flatten_messages(exc.normalized_messages(), "json"))
    last_at = {record["external_id"]: index for index, record in loaded}
    valid = []
    for index, record in loaded:
        if last_at[record["external_id"]] != index:
            results[index] = _failed(index, record, [{"field": "external_id", "location": "json", "messages": [
                f"appears again at index {last_at[record['external_id']]}; only the last one is applied"]}])
        else:
            valid.append((index, record))
    return results, valid


def _failed(index: int, record: Any, errors: list[dict]) -> dict[str, Any]:
    external_id = record.get("external_id") if isinstance(record, dict) else None
    fields = ", ".join(sorted({error["field"] for error in errors}))
    problem = problem_body(Problem(422, f"record {index}: invalid {fields}", slug="validation-error", errors=errors))
    return {"index": index, "external_id": external_id if isinstance(external_id, str) else None,
            "status": "error", "id": None, "error": problem}


def _atomic_failure(results: list[dict | None]) -> Problem:
    failures = [result for result in results if result is not None and result["status"] == "error"]
    return Problem(400, f"{len(failures)} records failed; with atomic=true nothing was written",
                   slug="sync-batch-rejected", results=failures)


def _apply(tx: ManagedTransaction, resource: str, source: str, valid: list[tuple[int, dict]],
           prior: list[dict | None], atomic: bool, match_email: bool) -> dict[str, Any]:
    results = list(prior)  # a retried transaction starts again from the validation results
    tombstones = [(i, r) for i, r in valid if r["deleted"]]
    upserts = [(i, r) for i, r in valid if not r["deleted"]]
    upserts = _resolve_references(tx, resource, source, upserts, results)
    upserts = _resolve_fields(tx, _SINGULAR[resource], upserts, results)
    if atomic and any(result is not None for result in results):
        raise _atomic_failure(results)
    recorded: list[dict] = []
    singular = _SINGULAR[resource]
    by_index = {**dict(valid), **dict(upserts)}  # records as resolved (normalised values, new ones named)
    for row in _upsert(tx, resource, source, upserts, match_email):
        record = by_index[row["index"]]
        results[row["index"]] = _outcome(row, record, source)
        if row["status"] in ("created", "updated"):
            action = "create" if row["status"] == "created" else "update"
            recorded.append(changes.change(singular, row["id"], action, source,
                                           [f"{source}:{record['external_id']}"]))
    if resource == "members":
        _sync_affiliations(tx, source, upserts, results, recorded)
    if resource == "activities":
        activity_sync.attach(tx, upserts, results, recorded, source)
    if atomic and any(result["status"] == "error" for result in results if result):
        raise _atomic_failure(results)
    _apply_tombstones(tx, resource, source, tombstones, results, recorded)
    changes.record(tx, recorded)
    counts = Counter(result["status"] for result in results)
    return {"results": results, "summary": {status: counts.get(status, 0) for status in STATUSES}}


def _outcome(row: dict, record: dict, source: str) -> dict[str, Any]:
    if row["status"] == "unresolved":
        missing = [side for side, found in (("source_external_id", row["source_found"]),
                                            ("target_external_id", row["target_found"])) if not found]
        return _failed(row["index"], record, [
            {"field": side, "location": "json",
             "messages": [f"no member or organization with external id '{record[side]}' from {source} "
                          "(nor netweave id)"]} for side in missing])
    if row["status"] == "email_taken":
        return _email_taken(row, record)
    if row["status"] == "moved":
        problem = field_error("target_external_id", "this collaboration exists between other parties; send a "
                                                    "tombstone and a new record to move it")
        return {"index": row["index"], "external_id": record["external_id"], "status": "error", "id": row["id"],
                "error": problem_body(problem) | {"detail": f"record {row['index']}: {problem.detail}"}}
    outcome = {"index": row["index"], "external_id": record["external_id"], "status": row["status"],
               "id": row["id"], "error": None}
    if row.get("matched"):
        outcome["matched"] = row["matched"]
    if record.get("_new_values"):
        outcome["new_values"] = record["_new_values"]
    return outcome


def _email_taken(row: dict, record: dict) -> dict[str, Any]:
    """The answer PATCH gives (409 member-email-taken, naming the member holding the email), for one record."""
    holder = row["holder"]
    message = email_taken(holder)
    problem = Problem(409, f"record {row['index']}: {message}", slug="member-email-taken", member_id=holder,
                      errors=[{"field": "email", "location": "json", "messages": [message]}])
    return {"index": row["index"], "external_id": record["external_id"], "status": "error", "id": row["id"],
            "error": problem_body(problem)}


def _props(record: dict) -> dict[str, Any]:
    """The record's stored properties, dates as Neo4j dates (db.to_cypher, flattened: record values are
    scalars or lists of strings, and a thousand records a batch made the recursive walk show), custom
    attributes under their storage keys."""
    props = {key: _DATE_FROM_NATIVE(value) if type(value) is date else value for key, value in record.items()
             if key not in _NOT_PROPS and not key.startswith("_")}
    if "_attributes" in record:
        props.update(record["_attributes"])
    return props


def _upsert(tx: ManagedTransaction, resource: str, source: str, upserts: list[tuple[int, dict]],
            match_email: bool) -> list[dict]:
    if not upserts:
        return []
    if resource == "collaborations":
        return _upsert_collaborations(tx, source, upserts)
    if resource == "members":
        return _upsert_members(tx, source, upserts, match_email)
    if resource == "activities":
        return activity_sync.upsert(tx, source, upserts, _new_ids(len(upserts)), _props)
    rows = []
    for (index, record), new_id in zip(upserts, _new_ids(len(upserts))):
        rows.append({"index": index, "key": external_key("organization", source, record["external_id"]),
                     "external_id": record["external_id"], "new_id": new_id,
                     "link_id": record.get("id"), "props": _props(record)})
    # One answer row holding every record's [index, id, status]: a row per record costs a Bolt message each.
    answer = db.run_scalars(tx, "sync_upsert_organizations", rows=rows, source=source)
    return [{"index": index, "id": id_, "status": status} for index, id_, status in answer]


def _upsert_members(tx: ManagedTransaction, source: str, upserts: list[tuple[int, dict]],
                    match_email: bool) -> list[dict]:
    """Members in rounds: the n-th record of a batch naming one email goes in round n, so it finds the member
    an earlier record of the batch created, and is refused when it would give that email to another member (a
    statement does not see its own earlier rows' email keys)."""
    rounds: list[list[dict]] = []
    seen: Counter = Counter()
    for (index, record), new_id in zip(upserts, _new_ids(len(upserts))):
        key = email_key(record.get("email"))
        round_ = seen[key] if key else 0
        seen[key] += 1
        if round_ == len(rounds):
            rounds.append([])
        rounds[round_].append({"index": index, "key": external_key("member", source, record["external_id"]),
                               "external_id": record["external_id"], "new_id": new_id, "link_id": record.get("id"),
                               "match_key": key if match_email else None, "email_key": key,
                               "has_email": "email" in record, "props": _props(record)})
    out = []
    for rows in rounds:
        answer = db.run_scalars(tx, "sync_upsert_members", rows=rows, source=source)
        by_index = {row["index"]: row for row in rows}
        keys = [{"id": id_, "email_key": by_index[index]["email_key"]} for index, id_, status, _, _ in answer
                if by_index[index]["has_email"] and status in ("created", "updated")]
        if keys:
            db.run(tx, "member_email_keys", rows=keys)
        out.extend({"index": index, "id": id_, "status": status, "matched": matched, "holder": holder}
                   for index, id_, status, matched, holder in answer)
    return out


def _upsert_collaborations(tx: ManagedTransaction, source: str, upserts: list[tuple[int, dict]]) -> list[dict]:
    """Parties are resolved in the upsert statement itself (one round trip); see sync_upsert_collaborations."""
    rows = []
    for (index, record), new_id in zip(upserts, _new_ids(len(upserts))):
        source_value, target_value = record["source_external_id"], record["target_external_id"]
        rows.append({"index": index, "key": external_key("collaboration", source, record["external_id"]),
                     "new_id": new_id, "props": _props(record),
                     "source_value": source_value, "target_value": target_value,
                     "source_keys": [external_key("member", source, source_value),
                                     external_key("organization", source, source_value)],
                     "target_keys": [external_key("member", source, target_value),
                                     external_key("organization", source, target_value)]})
    answer = db.run_scalars(tx, "sync_upsert_collaborations", rows=rows, source=source)
    return [{"index": index, "id": id_, "status": status, "source_found": source_found,
             "target_found": target_found}
            for index, id_, status, source_found, target_found in answer]


def _apply_tombstones(tx: ManagedTransaction, resource: str, source: str, tombstones: list[tuple[int, dict]],
                      results: list[dict | None], recorded: list[dict]) -> None:
    """A tombstone says `source` no longer holds the record. A collaboration or activity (one source each)
    goes; a member or organization goes only when nothing else holds it (see sync_delete_members), else only
    its external id from `source` is detached."""
    if not tombstones:
        return
    singular = _SINGULAR[resource]
    external_ids = dict(tombstones)
    rows = [{"index": index, "key": external_key(singular, source, record["external_id"])}
            for index, record in tombstones]
    for row in db.run(tx, f"sync_delete_{resource}", rows=rows, source=source):
        if resource in ("members", "organizations"):
            outcome = _held_outcome(row)
            indexes = row["indexes"]
        else:
            outcome = {"status": "deleted" if row["id"] else "unchanged", "id": row["id"], "error": None}
            indexes = [row["index"]]
        for index in indexes:
            results[index] = {"index": index, "external_id": external_ids[index]["external_id"], **outcome}
        if outcome["status"] == "detached":
            recorded.extend(_detach_changes(resource, source, row))
        elif outcome["status"] == "deleted":
            recorded.extend(_deletion_changes(resource, source, row))


def _held_outcome(row: dict) -> dict[str, Any]:
    """A member's or organization's tombstone result: deleted, unchanged (nothing by that id), or detached
    with the sources still holding it ('api': made through the API)."""
    if row["id"] is None:
        return {"status": "unchanged", "id": None, "error": None}
    if row["deleted"]:
        return {"status": "deleted", "id": row["id"], "error": None}
    held_by = set(row["kept_sources"]) | ({"api"} if row["held_by_api"] else set())
    return {"status": "detached", "id": row["id"], "error": None, "held_by": sorted(held_by)}


def _detach_changes(resource: str, source: str, row: dict) -> list[dict]:
    singular = _SINGULAR[resource]
    lost = [changes.change("affiliation", changes.affiliation_id(row["id"], o), "delete", source)
            for o in row.get("organizations") or ()] if resource == "members" else []
    return [*lost, changes.change(singular, row["id"], "update", source, row["detached"])]


def _deletion_changes(resource: str, source: str, row: dict) -> list[dict]:
    singular = _SINGULAR[resource]
    if resource == "collaborations":
        return [changes.change("collaboration", row["id"], "delete", source,
                               parties=(row["source_id"], row["target_id"]))]
    if resource == "activities":
        return [changes.change("activity", row["id"], "delete", source, row["external_ids"])]
    ties = [changes.change("collaboration", c, "delete", source, parties=(a, b))
            for c, a, b in row["collaborations"]]
    others = row["organizations"] if resource == "members" else row["members"]
    pairs = ((row["id"], o) if resource == "members" else (o, row["id"]) for o in others)
    affiliations = [changes.change("affiliation", changes.affiliation_id(*pair), "delete", source)
                    for pair in pairs]
    return [*ties, *affiliations, changes.change(singular, row["id"], "delete", source, row["external_ids"])]


# --- references: organizations of members, parties of collaborations --------------------------

def _resolve_references(tx: ManagedTransaction, resource: str, source: str, upserts: list[tuple[int, dict]],
                        results: list[dict | None]) -> list[tuple[int, dict]]:
    if resource == "collaborations":
        return upserts  # resolved by the upsert statement itself
    if resource == "activities":
        return activity_sync.resolve(tx, source, upserts, results, _failed)
    upserts = _resolve_links(tx, _SINGULAR[resource], upserts, results)
    if resource == "members":
        return _resolve_organizations(tx, source, upserts, results)
    return upserts


def _resolve_fields(tx: ManagedTransaction, singular: str, upserts: list[tuple[int, dict]],
                    results: list[dict | None]) -> list[tuple[int, dict]]:
    """The batch's vocabulary values resolved (open vocabularies grow) and custom attributes checked against
    their definitions; a record with a refused value or a bad attribute is marked and left out."""
    wanted = [(vocabulary, record[name]) for _, record in upserts
              for name, vocabulary in vocabularies.FIELDS[singular].items() if record.get(name) is not None]
    carrying = any(record.get("attributes") for _, record in upserts)
    resolution = vocabularies.resolve(tx, wanted, definitions_of=singular if carrying else None)
    loading = attributes.loaders(attributes.by_name(resolution.definitions)) if carrying else {}
    kept = []
    for index, record in upserts:
        record, new_values, errors = resolution.apply(singular, record)
        if record.get("attributes"):
            stored, attribute_errors = attributes.to_props(loading, record["attributes"], singular)
            errors.extend(attribute_errors)
            record["_attributes"] = stored
        if errors:
            results[index] = _failed(index, record, errors)
            continue
        if new_values:
            record["_new_values"] = new_values
        kept.append((index, record))
    return kept


def _resolve_links(tx, singular, upserts, results):
    """Records that name a netweave `id` to attach to must name an existing node of their kind."""
    ids = [record["id"] for _, record in upserts if record.get("id")]
    types = {row["id"]: row["type"] for row in db.run(tx, "party_types", ids=ids)} if ids else {}
    kept = []
    for index, record in upserts:
        if record.get("id") and types.get(record["id"]) != singular:
            results[index] = _failed(index, record, [{"field": "id", "location": "json",
                                                      "messages": [f"no {singular} with id {record['id']}"]}])
        else:
            kept.append((index, record))
    return kept


def _resolve_organizations(tx, source, upserts, results):
    values = {value for _, record in upserts for value in record.get("organizations") or ()}
    refs = [{"value": v, "key": external_key("organization", source, v)} for v in values]
    found = {row["value"]: row["id"] for row in db.run(tx, "sync_resolve_organizations", refs=refs)} if refs else {}
    kept = []
    for index, record in upserts:
        missing = [(j, v) for j, v in enumerate(record.get("organizations") or ()) if not found.get(v)]
        if missing:
            results[index] = _failed(index, record, [
                {"field": f"organizations.{j}", "location": "json",
                 "messages": [f"no organization with external id '{v}' from {source} (nor netweave id)"]}
                for j, v in missing])
            continue
        if record.get("organizations") is not None:
            record = {**record, "_organization_ids": [found[v] for v in record["organizations"]]}
        kept.append((index, record))
    return kept


def _sync_affiliations(tx, source, upserts, results, recorded) -> None:
    rows = [{"member_id": results[index]["id"], "organization_ids": record["_organization_ids"]}
            for index, record in upserts
            if "_organization_ids" in record and results[index] and results[index]["status"] != "error"]
    if not rows:
        return
    by_member = {result["id"]: result for result in results if result and result["id"]}
    for row in db.run(tx, "sync_member_affiliations", rows=rows, source=source):
        for organization_id, action in [*((o, "create") for o in row["added"]),
                                        *((o, "delete") for o in row["removed"])]:
            recorded.append(changes.change("affiliation", changes.affiliation_id(row["member_id"], organization_id),
                                           action, source))
        result = by_member[row["member_id"]]
        if (row["added"] or row["removed"]) and result["status"] == "unchanged":
            result["status"] = "updated"
