"""The change feed: every write appends what it changed, numbered in commit order.

The last number is also the graph revision that analytics caches are keyed by.
"""

from __future__ import annotations

from typing import Any, Iterable

from neo4j import ManagedTransaction

from service import db

RESOURCES = ("member", "organization", "affiliation", "collaboration")
ACTIONS = ("create", "update", "delete")


def change(resource: str, id_: str, action: str, source: str = "api",
           external_ids: Iterable[str] = ()) -> dict[str, Any]:
    return {"resource": resource, "id": id_, "action": action, "source": source,
            "external_ids": list(external_ids)}


def record(tx: ManagedTransaction, changes: list[dict[str, Any]]) -> int | None:
    """Append `changes` in this transaction; returns the new revision (None when nothing changed)."""
    if not changes:
        return None
    return db.run_one(tx, "change_record", changes=changes)["revision"]


def revision(graph: db.Graph) -> int:
    """The graph revision: it grows with every committed write, so equal revisions mean an equal graph."""
    return graph.read(lambda tx: db.run_one(tx, "change_revision"))["revision"]


def affiliation_id(member_id: str, organization_id: str) -> str:
    return f"{member_id}/{organization_id}"
