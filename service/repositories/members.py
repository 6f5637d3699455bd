"""Members: the people of the network."""

from __future__ import annotations

import uuid
from typing import Any

from neo4j import ManagedTransaction

from service import db
from service.repositories import changes, fetch_page, locked, not_found, read_one


def create(graph: db.Graph, props: dict[str, Any]) -> dict[str, Any]:
    member_id = str(uuid.uuid4())

    def work(tx: ManagedTransaction) -> dict[str, Any]:
        member = db.run_one(tx, "member_create", id=member_id, props=db.to_cypher(props))["member"]
        changes.record(tx, [changes.change("member", member_id, "create")])
        return member

    return graph.write(work)


def get(graph: db.Graph, member_id: str) -> dict[str, Any]:
    return read_one(graph, "member_get", "member", "member", member_id)


def list_page(graph: db.Graph, *, limit: int, after: list[str] | None, organization_id: str | None = None,
              region: str | None = None, role: str | None = None, topic: str | None = None,
              q: str | None = None) -> list[dict[str, Any]]:
    return fetch_page(graph, "member_list", limit, after, organization_id=organization_id, region=region,
                      role=role, topic=topic and topic.lower(), q=q and q.lower())


def update(graph: db.Graph, member_id: str, fields: dict[str, Any], expected_version: int | None) -> dict[str, Any]:
    def work(tx: ManagedTransaction) -> None:
        locked(tx, "member_lock", "member", member_id, expected_version)
        db.run(tx, "member_update", id=member_id, changes=db.to_cypher(fields))
        changes.record(tx, [changes.change("member", member_id, "update")])

    graph.write(work)
    return get(graph, member_id)


def delete(graph: db.Graph, member_id: str, expected_version: int | None) -> None:
    def work(tx: ManagedTransaction) -> None:
        locked(tx, "member_lock", "member", member_id, expected_version)
        gone = db.run_one(tx, "member_delete", id=member_id)
        changes.record(tx, [
            *(changes.change("collaboration", c, "delete", parties=(a, b)) for c, a, b in gone["collaborations"]),
            *(changes.change("affiliation", changes.affiliation_id(member_id, o), "delete")
              for o in gone["organizations"]),
            changes.change("member", member_id, "delete", external_ids=gone["external_ids"]),
        ])

    graph.write(work)


def require(graph: db.Graph, member_id: str) -> None:
    if graph.read(lambda tx: db.run_one(tx, "member_exists", id=member_id)) is None:
        raise not_found("member", member_id)


def collaborators_page(graph: db.Graph, member_id: str, *, limit: int, after: list[str] | None) -> list[dict]:
    require(graph, member_id)
    return fetch_page(graph, "member_collaborators", limit, after, id=member_id)
