"""The data layer: one module per aggregate, running named statements in managed transactions."""

from __future__ import annotations

from typing import Any, Callable

from neo4j import ManagedTransaction

from service import db
from service.problems import Problem, stale


def not_found(what: str, id_: str) -> Problem:
    return Problem(404, f"no {what} with id {id_}", slug="not-found")


def locked(tx: ManagedTransaction, lock_query: str, what: str, id_: str, expected_version: int | None) -> dict[str, Any]:
    """Take the write lock of a versioned resource and check If-Match against it.

    The lock comes first, so the version read is the one the write will replace:
    two concurrent PATCHes with the same ETag cannot both succeed.
    """
    row = db.run_one(tx, lock_query, id=id_)
    if row is None:
        raise not_found(what, id_)
    if expected_version is not None and row["version"] != expected_version:
        raise stale()
    return row


def fetch_page(graph: db.Graph, query: str, limit: int, after: list[str] | None, *, target: str | None = None,
               attribute_filters: dict[str, str] | None = None, personal: bool = False,
               **filters: Any) -> list[dict]:
    """Rows of one keyset page (one more than `limit`, so the caller knows whether another follows). With a
    `target` (member, organization, collaboration), each item's custom attributes are shaped and
    `?attr.NAME=` filters apply, against the definitions read in the same transaction; a filter on a
    personal attribute needs `personal` (attributes.list_filters)."""
    from service.repositories import attributes

    def work(tx: ManagedTransaction) -> list[dict]:
        found = attributes.definitions(tx, target) if target else {}
        extra = {"attribute_filters": attributes.list_filters(found, attribute_filters or {}, target,
                                                                  personal=personal)} if target else {}
        rows = db.run(tx, query, after=after, limit=limit + 1, **extra, **db.to_cypher(filters))
        if target:
            for row in rows:
                row["item"] = attributes.shape(row["item"], found)
        return rows

    return graph.read(work)


def read_one(graph: db.Graph, query: str, column: str, what: str, id_: str) -> dict[str, Any]:
    """The single row `column` of a by-ids statement (`$ids`) asked for one id, or a 404 problem; a
    member's, organization's or collaboration's custom attributes shaped (`what` names the target)."""
    from service.repositories import attributes

    def work(tx: ManagedTransaction) -> dict[str, Any] | None:
        row = db.run_one(tx, query, ids=[id_])
        if row is not None and what in attributes.TARGETS:
            row[column] = attributes.shape(row[column], attributes.definitions(tx, what))
        return row

    row = graph.read(work)
    if row is None:
        raise not_found(what, id_)
    return row[column]


Work = Callable[[ManagedTransaction], Any]
