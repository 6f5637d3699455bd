"""Sync of activities by external id (the activity part of service/repositories/sync.py).

An activity record names its host by `organization_external_id` and its participants by
`member_external_id`, each an external id of the same source or a netweave id, as members name their
organizations. The participants a record lists become exactly the activity's; a record that leaves the
field out leaves them as they are. A record that changes only the participants is `updated` (one version
bump, one change entry); the same batch sent again changes nothing.
"""

from __future__ import annotations

from typing import Any, Callable

from neo4j import ManagedTransaction

from service import db
from service.repositories import changes


def _key(resource: str, source: str, value: str) -> str:
    from service.repositories.sync import external_key   # sync imports this module

    return external_key(resource, source, value)


def resolve(tx: ManagedTransaction, source: str, upserts: list[tuple[int, dict]], results: list[dict | None],
            failed: Callable[[int, dict, list[dict]], dict]) -> list[tuple[int, dict]]:
    """The records whose host and participants all exist, with `_host_id` (when the record names a host or
    null) and `_participants` ([{member_id, role}], when it lists them); the others are marked failed."""
    hosts = {record["organization_external_id"] for _, record in upserts if record.get("organization_external_id")}
    people = {p["member_external_id"] for _, record in upserts for p in record.get("participants") or ()}
    found_hosts = _found(tx, "sync_resolve_organizations", "organization", source, hosts)
    found_people = _found(tx, "sync_resolve_members", "member", source, people)
    kept = []
    for index, record in upserts:
        errors = []
        host = record.get("organization_external_id")
        if host is not None and not found_hosts.get(host):
            errors.append(_error("organization_external_id", f"no organization with external id '{host}' from "
                                                              f"{source} (nor netweave id)"))
        for j, participant in enumerate(record.get("participants") or ()):
            if not found_people.get(participant["member_external_id"]):
                errors.append(_error(f"participants.{j}.member_external_id",
                                     f"no member with external id '{participant['member_external_id']}' from "
                                     f"{source} (nor netweave id)"))
        if errors:
            results[index] = failed(index, record, errors)
            continue
        record = dict(record)
        if "organization_external_id" in record:
            record["_host_id"] = found_hosts.get(host) if host is not None else None
        if record.get("participants") is not None:
            record["_participants"] = [{"member_id": found_people[p["member_external_id"]], "role": p["role"]}
                                       for p in record["participants"]]
        kept.append((index, record))
    return kept


def _found(tx: ManagedTransaction, query: str, resource: str, source: str, values: set[str]) -> dict[str, str]:
    if not values:
        return {}
    refs = [{"value": value, "key": _key(resource, source, value)} for value in sorted(values)]
    return {row["value"]: row["id"] for row in db.run(tx, query, refs=refs) if row["id"]}


def _error(field: str, message: str) -> dict[str, Any]:
    return {"field": field, "location": "json", "messages": [message]}


def upsert(tx: ManagedTransaction, source: str, upserts: list[tuple[int, dict]], new_ids: list[str],
           props_of: Callable[[dict], dict]) -> list[dict]:
    """Creates or updates the activities (and their hosts); [{index, id, status}]."""
    rows = [{"index": index, "key": _key("activity", source, record["external_id"]),
             "external_id": record["external_id"], "new_id": new_id, "props": props_of(record),
             "set_host": "_host_id" in record, "host_id": record.get("_host_id")}
            for (index, record), new_id in zip(upserts, new_ids)]
    answer = db.run_scalars(tx, "sync_upsert_activities", rows=rows, source=source)
    out = [{"index": index, "id": id_, "status": status} for index, id_, status in answer]
    by_index = dict(upserts)
    hosts = [{"id": row["id"], "host_id": by_index[row["index"]]["_host_id"]} for row in out
             if "_host_id" in by_index[row["index"]] and row["status"] != "unchanged"]
    if hosts:
        db.run(tx, "sync_activity_hosts", rows=hosts)
    return out


def attach(tx: ManagedTransaction, upserts: list[tuple[int, dict]], results: list[dict | None],
           recorded: list[dict], source: str) -> None:
    """Gives the upserted activities the participants their records list. An activity the upsert left
    unchanged whose participants change becomes `updated`: its version goes up and the feed says so."""
    rows = [{"activity_id": results[index]["id"], "participants": record["_participants"]}
            for index, record in upserts
            if "_participants" in record and results[index] and results[index]["status"] != "error"]
    if not rows:
        return
    by_activity = {result["id"]: result for result in results if result and result["id"]}
    touched = []
    for row in db.run(tx, "activity_participants_replace", rows=rows):
        result = by_activity[row["activity_id"]]
        if (row["added"] or row["removed"] or row["changed"]) and result["status"] == "unchanged":
            result["status"] = "updated"
            touched.append(row["activity_id"])
            recorded.append(changes.change("activity", row["activity_id"], "update", source,
                                           [f"{source}:{result['external_id']}"]))
    if touched:
        db.run(tx, "sync_activity_touch", ids=touched)
