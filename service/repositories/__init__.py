"""The data layer: one module per aggregate, running named statements in managed transactions."""

from __future__ import annotations

from typing import Any, Callable

from neo4j import ManagedTransaction

from service import db
from service.api import stale
from service.errors import Problem


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


def fetch_page(graph: db.Graph, query: str, limit: int, after: list[str] | None, **filters: Any) -> list[dict]:
    """Rows of one keyset page (one more than `limit`, so the caller knows whether another follows)."""

    def work(tx: ManagedTransaction) -> list[dict]:
        return db.run(tx, query, after=after, limit=limit + 1, **db.to_cypher(filters))

    return graph.read(work)


def read_one(graph: db.Graph, query: str, column: str, what: str, id_: str) -> dict[str, Any]:
    """The single row `column` of a by-id statement, or a 404 problem."""
    row = graph.read(lambda tx: db.run_one(tx, query, id=id_))
    if row is None:
        raise not_found(what, id_)
    return row[column]


Work = Callable[[ManagedTransaction], Any]
