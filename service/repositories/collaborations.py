"""Collaborations: ties between members and/or organizations."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from neo4j import ManagedTransaction

from service import db
from service.problems import field_error
from service.repositories import attributes, changes, fetch_page, locked, read_one, records

_PARTY_FIELDS = ("source_id", "target_id")


def create(graph: db.Graph, fields: dict[str, Any]) -> dict[str, Any]:
    collaboration_id = str(uuid.uuid4())
    props = {key: value for key, value in fields.items() if key not in _PARTY_FIELDS}

    def work(tx: ManagedTransaction) -> dict[str, Any]:
        _require_parties(tx, fields["source_id"], fields["target_id"])
        stored = records.prepare(tx, "collaboration", props, creating=True)
        db.run(tx, "collaboration_create", id=collaboration_id, source_id=fields["source_id"],
               target_id=fields["target_id"], props=db.to_cypher(stored))
        changes.record(tx, [changes.change("collaboration", collaboration_id, "create", source=props["source"],
                                           parties=(fields["source_id"], fields["target_id"]))])
        collaboration = db.run_one(tx, "collaboration_get", ids=[collaboration_id])["collaboration"]
        return attributes.shape(collaboration, attributes.definitions(tx, "collaboration"))

    return graph.write(work)


def _require_parties(tx: ManagedTransaction, source_id: str, target_id: str) -> None:
    """A 422 naming source_id or target_id when it is no member or organization."""
    types = {row["id"]: row["type"] for row in db.run(tx, "party_types", ids=[source_id, target_id])}
    for field, party_id in zip(_PARTY_FIELDS, (source_id, target_id)):
        if types.get(party_id) is None:
            raise field_error(field, f"no member or organization with id {party_id}")


def get(graph: db.Graph, collaboration_id: str) -> dict[str, Any]:
    return read_one(graph, "collaboration_get", "collaboration", "collaboration", collaboration_id)


def list_page(graph: db.Graph, *, limit: int, after: list[str] | None, party_id: str | None = None,
              kind: str | None = None, active_on: date | None = None,
              attr: dict[str, str] | None = None, personal: bool = False) -> list[dict[str, Any]]:
    return fetch_page(graph, "collaboration_list", limit, after, target="collaboration", attribute_filters=attr,
                      personal=personal,
                      party_id=party_id, kind=kind, active_on=active_on)


def update(graph: db.Graph, collaboration_id: str, fields: dict[str, Any],
           expected_version: int | None) -> dict[str, Any]:
    def work(tx: ManagedTransaction) -> None:
        current = locked(tx, "collaboration_lock", "collaboration", collaboration_id, expected_version)
        started = fields.get("started_on", current["started_on"])
        ended = fields.get("ended_on", current["ended_on"])
        if started and ended and ended < started:
            field = "ended_on" if "ended_on" in fields else "started_on"
            raise field_error(field, "ended_on must not be before started_on")
        stored = records.prepare(tx, "collaboration", fields, creating=False)
        db.run(tx, "collaboration_update", id=collaboration_id, changes=db.to_cypher(stored))
        changes.record(tx, [changes.change("collaboration", collaboration_id, "update",
                                           parties=(current["source_id"], current["target_id"]))])

    graph.write(work)
    return get(graph, collaboration_id)


def delete(graph: db.Graph, collaboration_id: str, expected_version: int | None) -> None:
    def work(tx: ManagedTransaction) -> None:
        locked(tx, "collaboration_lock", "collaboration", collaboration_id, expected_version)
        gone = db.run_one(tx, "collaboration_delete", id=collaboration_id)
        changes.record(tx, [changes.change("collaboration", collaboration_id, "delete",
                                           parties=(gone["source_id"], gone["target_id"]))])

    graph.write(work)
