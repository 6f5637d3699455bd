"""Shared activities (convenings, workshops, cohorts, committees) and the members who took part in them."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from neo4j import ManagedTransaction

from schemas.activities import MAX_PARTICIPANTS
from service import db
from service.problems import field_error
from service.repositories import changes, fetch_page, locked, not_found, read_one, records


def create(graph: db.Graph, fields: dict[str, Any]) -> dict[str, Any]:
    activity_id = str(uuid.uuid4())
    organization_id = fields.get("organization_id")
    props = {key: value for key, value in fields.items() if key != "organization_id"}

    def work(tx: ManagedTransaction) -> dict[str, Any]:
        _require_organization(tx, organization_id)
        stored = records.prepare(tx, "activity", props, creating=True)
        db.run(tx, "activity_create", id=activity_id, props=db.to_cypher(stored), organization_id=organization_id)
        changes.record(tx, [changes.change("activity", activity_id, "create")])
        return db.run_one(tx, "activity_get", ids=[activity_id])["activity"]

    return graph.write(work)


def _require_organization(tx: ManagedTransaction, organization_id: str | None) -> None:
    if organization_id is not None and db.run_one(tx, "activity_organization_exists", id=organization_id) is None:
        raise field_error("organization_id", f"no organization with id {organization_id}")


def get(graph: db.Graph, activity_id: str) -> dict[str, Any]:
    return read_one(graph, "activity_get", "activity", "activity", activity_id)


def list_page(graph: db.Graph, *, limit: int, after: list[str] | None, kind: str | None = None,
              organization_id: str | None = None, member_id: str | None = None) -> list[dict[str, Any]]:
    return fetch_page(graph, "activity_list", limit, after, kind=kind, organization_id=organization_id,
                      member_id=member_id)


def update(graph: db.Graph, activity_id: str, fields: dict[str, Any], expected_version: int | None) -> dict[str, Any]:
    set_organization = "organization_id" in fields
    organization_id = fields.get("organization_id")
    props = {key: value for key, value in fields.items() if key != "organization_id"}

    def work(tx: ManagedTransaction) -> None:
        current = locked(tx, "activity_lock", "activity", activity_id, expected_version)
        starts = props.get("starts_on", current["starts_on"])
        ends = props.get("ends_on", current["ends_on"])
        if starts and ends and ends < starts:
            raise field_error("ends_on" if "ends_on" in props else "starts_on", "ends_on must not be before starts_on")
        if set_organization:
            _require_organization(tx, organization_id)
        stored = records.prepare(tx, "activity", props, creating=False)
        db.run(tx, "activity_update", id=activity_id, changes=db.to_cypher(stored),
               set_organization=set_organization, organization_id=organization_id)
        changes.record(tx, [changes.change("activity", activity_id, "update")])

    graph.write(work)
    return get(graph, activity_id)


def delete(graph: db.Graph, activity_id: str, expected_version: int | None) -> None:
    def work(tx: ManagedTransaction) -> None:
        locked(tx, "activity_lock", "activity", activity_id, expected_version)
        db.run_one(tx, "activity_delete", id=activity_id)
        changes.record(tx, [changes.change("activity", activity_id, "delete")])

    graph.write(work)


def set_participants(graph: db.Graph, activity_id: str, participants: list[dict[str, Any]],
                     expected_version: int | None) -> tuple[list[dict[str, Any]], int]:
    """Make the activity's participants exactly `participants` ([{member_id, role}]); (the participants as
    stored, the activity's version). A change bumps the version and is an `activity` update in the feed; the
    same set again writes nothing. A 422 names the first participant that is no member."""

    def work(tx: ManagedTransaction) -> tuple[list[dict[str, Any]], int]:
        current = locked(tx, "activity_lock", "activity", activity_id, expected_version)
        found = set(db.run_one(tx, "activity_members_exist", ids=[p["member_id"] for p in participants])["ids"])
        for index, participant in enumerate(participants):
            if participant["member_id"] not in found:
                raise field_error(f"participants.{index}.member_id", f"no member with id {participant['member_id']}")
        counts = db.run_one(tx, "activity_participants_replace",
                            rows=[{"activity_id": activity_id, "participants": participants}])
        version = current["version"]
        if counts["added"] or counts["removed"] or counts["changed"]:
            version = db.run_one(tx, "activity_touch", id=activity_id)["version"]
            changes.record(tx, [changes.change("activity", activity_id, "update")])
        stored = db.run_one(tx, "activity_participants", id=activity_id, limit=MAX_PARTICIPANTS)["participants"]
        return stored, version

    return graph.write(work)


def participants_page(graph: db.Graph, activity_id: str, *, limit: int,
                      after: list[str] | None) -> list[dict[str, Any]]:
    def work(tx: ManagedTransaction) -> list[dict[str, Any]] | None:
        if not db.run(tx, "activity_get", ids=[activity_id]):
            return None
        return db.run(tx, "activity_participants_page", id=activity_id, after=after, limit=limit + 1)

    rows = graph.read(work)
    if rows is None:
        raise not_found("activity", activity_id)
    return rows


def co_participants(graph: db.Graph, as_of: date, cap: int) -> list[list]:
    """[activity id, participant count, member ids (only up to `cap` participants)] of every activity that
    started on or before `as_of`: what the analytics turn into co-participation ties."""
    return graph.read(lambda tx: db.run_scalars(tx, "analytics_activity_participants", as_of=db.to_cypher(as_of),
                                                cap=cap))


__all__ = ["create", "get", "list_page", "update", "delete", "set_participants", "participants_page",
           "co_participants"]
