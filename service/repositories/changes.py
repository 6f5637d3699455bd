"""The change feed: every write appends what it changed, numbered in commit order.

The last number is also the graph revision that analytics caches are keyed by.
"""

from __future__ import annotations

from typing import Any, Iterable

from neo4j import ManagedTransaction

from service import db
from service.api import decode_cursor, encode_cursor
from service.errors import Problem, field_error

RESOURCES = ("member", "organization", "affiliation", "collaboration")
ACTIONS = ("create", "update", "delete")


def change(resource: str, id_: str, action: str, source: str = "api",
           external_ids: Iterable[str] = (), parties: tuple[str, str] | None = None) -> dict[str, Any]:
    """One feed entry. `parties` (a collaboration's source and target ids) is kept for the analytics projection,
    which cannot look a deleted tie up (service/analytics/live.py); the feed does not show it."""
    return {"resource": resource, "id": id_, "action": action, "source": source,
            "external_ids": list(external_ids), "parties": list(parties) if parties else None}


# Retention is enforced each time the feed passes a multiple of this many entries.
PURGE_EVERY = 10_000


def record(tx: ManagedTransaction, changes: list[dict[str, Any]]) -> int | None:
    """Append `changes` in this transaction; returns the new revision (None when nothing changed).

    Each time the feed passes a multiple of PURGE_EVERY, entries past retention are removed.
    """
    if not changes:
        return None
    revision = db.run_one(tx, "change_record", changes=changes)["revision"]
    if (revision - len(changes)) // PURGE_EVERY != revision // PURGE_EVERY:
        db.run(tx, "change_purge", days=_retention_days(), batch=2 * PURGE_EVERY)
    return revision


def _retention_days() -> int:
    from flask import current_app, has_app_context

    from service.config import DEFAULTS

    key = "NETWEAVE_CHANGE_RETENTION_DAYS"
    return current_app.config[key] if has_app_context() else DEFAULTS[key]


def feed(graph: db.Graph, *, after: int | None, limit: int, resource: str | None = None, source: str | None = None,
         exclude_source: str | None = None) -> dict[str, Any]:
    """One page of the feed after seq `after` (None: from the oldest entry kept).

    410 when retention already removed entries the cursor has not seen.
    """

    def work(tx: ManagedTransaction) -> tuple[int, list[dict]]:
        floor = db.run_one(tx, "change_floor")["purged_through"]
        start = floor if after is None else after
        rows = db.run(tx, "change_list", after=start, limit=limit, resource=resource, source=source,
                      exclude_source=exclude_source)
        return floor, rows

    floor, rows = graph.read(work)
    if after is not None and after < floor:
        raise Problem(410, f"entries after this cursor were removed by retention (kept: after seq "
                           f"{floor}); re-read the full lists, then follow the feed from "
                           "GET /v1/changes without `since`", slug="cursor-expired")
    items = [row["change"] for row in rows]
    last = items[-1]["seq"] if items else (floor if after is None else after)
    return {"items": items, "next_cursor": encode_seq(last)}


def encode_seq(seq: int) -> str:
    return encode_cursor([str(seq)])


def decode_seq(cursor: str | None) -> int | None:
    if cursor is None:
        return None
    (seq,) = decode_cursor(cursor, 1, field="since")
    if not seq.isdigit():
        raise field_error("since", "not a cursor this feed returned", location="query")
    return int(seq)


def revision(graph: db.Graph) -> int:
    """The graph revision: it grows with every committed write, so equal revisions mean an equal graph."""
    return graph.read(lambda tx: db.run_one(tx, "change_revision"))["revision"]


def affiliation_id(member_id: str, organization_id: str) -> str:
    return f"{member_id}/{organization_id}"
