"""Organizations, and the affiliations that tie members to them."""

from __future__ import annotations

import uuid
from typing import Any

from neo4j import ManagedTransaction

from service import db
from service.problems import Problem
from service.repositories import attributes, changes, fetch_page, locked, not_found, read_one, records, vocabularies


def create(graph: db.Graph, props: dict[str, Any]) -> dict[str, Any]:
    organization_id = str(uuid.uuid4())

    def work(tx: ManagedTransaction) -> dict[str, Any]:
        stored = records.prepare(tx, "organization", props, creating=True)
        organization = db.run_one(tx, "organization_create", id=organization_id,
                                  props=db.to_cypher(stored))["organization"]
        changes.record(tx, [changes.change("organization", organization_id, "create")])
        return attributes.shape(organization, attributes.definitions(tx, "organization"))

    return graph.write(work)


def get(graph: db.Graph, organization_id: str) -> dict[str, Any]:
    return read_one(graph, "organization_get", "organization", "organization", organization_id)


def list_page(graph: db.Graph, *, limit: int, after: list[str] | None, region: str | None = None,
              kind: str | None = None, topic: str | None = None, q: str | None = None,
              attr: dict[str, str] | None = None, personal: bool = False) -> list[dict[str, Any]]:
    return fetch_page(graph, "organization_list", limit, after, target="organization", attribute_filters=attr,
                      personal=personal,
                      region=region, kind=kind, topic=topic and topic.lower(), q=q and q.lower())


def update(graph: db.Graph, organization_id: str, fields: dict[str, Any],
           expected_version: int | None) -> dict[str, Any]:
    def work(tx: ManagedTransaction) -> None:
        locked(tx, "organization_lock", "organization", organization_id, expected_version)
        stored = records.prepare(tx, "organization", fields, creating=False)
        db.run(tx, "organization_update", id=organization_id, changes=db.to_cypher(stored))
        changes.record(tx, [changes.change("organization", organization_id, "update")])

    graph.write(work)
    return get(graph, organization_id)


def delete(graph: db.Graph, organization_id: str, expected_version: int | None, cascade: bool) -> None:
    def work(tx: ManagedTransaction) -> None:
        row = locked(tx, "organization_lock", "organization", organization_id, expected_version)
        if row["members"] and not cascade:
            raise Problem(409, f"the organization has {row['members']} members; delete with ?cascade=true to remove "
                               "their affiliations too (the members stay)", slug="organization-has-members",
                          members=row["members"])
        gone = db.run_one(tx, "organization_delete", id=organization_id)
        changes.record(tx, [
            *(changes.change("collaboration", c, "delete", parties=(a, b)) for c, a, b in gone["collaborations"]),
            *(changes.change("affiliation", changes.affiliation_id(m, organization_id), "delete")
              for m in gone["members"]),
            changes.change("organization", organization_id, "delete", external_ids=gone["external_ids"]),
        ])

    graph.write(work)


def members_page(graph: db.Graph, organization_id: str, *, limit: int, after: list[str] | None) -> list[dict]:
    if graph.read(lambda tx: db.run_one(tx, "organization_exists", id=organization_id)) is None:
        raise not_found("organization", organization_id)
    return fetch_page(graph, "organization_members", limit, after, target="member", id=organization_id)


def put_affiliation(graph: db.Graph, member_id: str, organization_id: str,
                    fields: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """Create or replace the affiliation; returns it and whether it is new."""

    def work(tx: ManagedTransaction) -> dict[str, Any] | None:
        role = vocabularies.normalise(tx, "affiliation", {"role": fields.get("role")})[0]["role"]
        row = db.run_one(tx, "affiliation_put", member_id=member_id, organization_id=organization_id,
                         role=role, **db.to_cypher({"since": fields.get("since"),
                                                                  "until": fields.get("until")}))
        if row is not None:
            action = "create" if row["created"] else "update"
            changes.record(tx, [changes.change("affiliation", changes.affiliation_id(member_id, organization_id),
                                               action)])
        return row

    row = graph.write(work)
    if row is None:
        _require_both(graph, member_id, organization_id)
    return row["affiliation"], row["created"]


def delete_affiliation(graph: db.Graph, member_id: str, organization_id: str) -> None:
    def work(tx: ManagedTransaction) -> int:
        removed = db.run_one(tx, "affiliation_delete", member_id=member_id, organization_id=organization_id)["removed"]
        if removed:
            changes.record(tx, [changes.change("affiliation", changes.affiliation_id(member_id, organization_id),
                                               "delete")])
        return removed

    removed = graph.write(work)
    if not removed:
        _require_both(graph, member_id, organization_id)
        raise Problem(404, f"member {member_id} is not affiliated with organization {organization_id}")


def _require_both(graph: db.Graph, member_id: str, organization_id: str) -> None:
    from service.repositories import members

    members.require(graph, member_id)
    if graph.read(lambda tx: db.run_one(tx, "organization_exists", id=organization_id)) is None:
        raise not_found("organization", organization_id)
