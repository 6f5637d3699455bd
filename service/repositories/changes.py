"""The change feed: every write appends what it changed, numbered in commit order.

The last number is also the graph revision that analytics caches are keyed by.
"""

from __future__ import annotations

from typing import Any, Iterable

from neo4j import ManagedTransaction

import graph_queries
from service import db
from service.cursors import BY_SEQ, decode_cursor, encode_cursor
from service.problems import Problem

RESOURCES = ("member", "organization", "affiliation", "collaboration", "introduction", "activity")
ACTIONS = ("create", "update", "delete")


def change(resource: str, id_: str, action: str, source: str = "api",
           external_ids: Iterable[str] = (), parties: tuple[str, str] | None = None,
           merged_into: str | None = None) -> dict[str, Any]:
    """One feed entry. `parties` (a collaboration's source and target ids) is kept for the analytics projection,
    which cannot look a deleted tie up (service/analytics/live.py); the feed does not show it."""
    return {"resource": resource, "id": id_, "action": action, "source": source,
            "external_ids": list(external_ids), "parties": list(parties) if parties else None,
            "merged_into": merged_into}


# Retention is checked each time the feed passes a multiple of this many entries.
PURGE_EVERY = 10_000
# Nodes one purge reads at most (a node holds one writing transaction's entries).
PURGE_BATCH = 2_000


def record(tx: ManagedTransaction, changes: list[dict[str, Any]]) -> int | None:
    """Append `changes` in this transaction; returns the new revision (None when nothing changed).

    The entries are stored together, in one Change node of parallel lists (graph_queries/changes.cypher).
    Each time the feed passes a multiple of PURGE_EVERY, entries past retention are removed: the age of the
    oldest node kept is looked at first, and only when it is past retention are nodes read and removed.
    """
    if not changes:
        return None
    external_ids: list[str] = []
    bounds = [0]
    for entry in changes:
        external_ids.extend(entry["external_ids"])
        bounds.append(len(external_ids))
    parties = [entry["parties"] or ("", "") for entry in changes]
    revision = db.run_scalars(
        tx, "change_record", count=len(changes), resources=[entry["resource"] for entry in changes],
        ids=[entry["id"] for entry in changes], actions=[entry["action"] for entry in changes],
        sources=[entry["source"] for entry in changes], external_ids=external_ids, external_id_bounds=bounds,
        party_sources=[pair[0] for pair in parties], party_targets=[pair[1] for pair in parties],
        # Only a transaction that merged members stores this list (a tombstone's pointer to the survivor).
        merged_into=[entry.get("merged_into") or "" for entry in changes]
        if any(entry.get("merged_into") for entry in changes) else None)
    if (revision - len(changes)) // PURGE_EVERY != revision // PURGE_EVERY:
        days = db.setting("NETWEAVE_CHANGE_RETENTION_DAYS")
        if db.run_one(tx, "change_purge_due", days=days)["due"]:
            db.run(tx, "change_purge", days=days, batch=PURGE_BATCH)
    return revision


def migrate(graph: db.Graph) -> None:
    """Start-up step: rewrite Change nodes of the earlier one-entry-per-node format into the current one.

    Entries keep their numbers, so cursors handed out before stay valid. Runs once per database (the
    counter remembers the format); a rerun after a crash finishes the job.
    """
    with graph.driver.session(database=graph.database) as session:
        if session.run(graph_queries.get("change_format").text).single()["format"] >= 2:
            return
        session.run(graph_queries.get("change_migrate").text).consume()
        session.run(graph_queries.get("change_format_set").text).consume()


def feed(graph: db.Graph, *, after: int | None, limit: int, resource: str | None = None, source: str | None = None,
         exclude_source: str | None = None, external_ids: bool = True) -> dict[str, Any]:
    """One page of the feed after seq `after` (None: from the oldest entry kept); each entry's external ids
    only with `external_ids` (else an empty list).

    410 when retention already removed entries the cursor has not seen.
    """

    def work(tx: ManagedTransaction) -> tuple[int, list[dict]]:
        floor = db.run_one(tx, "change_floor")["purged_through"]
        start = floor if after is None else after
        return floor, page(tx, start, limit, resource=resource, source=source, exclude_source=exclude_source)

    floor, entries = graph.read(work)
    if after is not None and after < floor:
        raise Problem(410, f"entries after this cursor were removed by retention (kept: after seq "
                           f"{floor}); re-read the full lists, then follow the feed from "
                           "GET /v1/changes without `since`", slug="cursor-expired")
    items = entries if external_ids else [{**entry, "external_ids": []} for entry in entries]
    last = items[-1]["seq"] if items else (floor if after is None else after)
    return {"items": items, "next_cursor": encode_seq(last)}


def page(tx: ManagedTransaction, after: int, limit: int, *, resource: str | None = None, source: str | None = None,
         exclude_source: str | None = None) -> list[dict[str, Any]]:
    """At most `limit` entries numbered after `after`, in seq order, matching the filters. The statement sends
    a node's shared `at` with the first of its entries only (unfiltered); each entry gets it here."""
    first = db.run_one(tx, "change_holder", after=after)["first"]
    entries = [row["change"] for row in db.run(tx, "change_list", after=after, first=first, limit=limit,
                                                resource=resource, source=source, exclude_source=exclude_source)]
    at = None
    for entry in entries:
        if entry["at"] is None:
            entry["at"] = at
        at = entry["at"]
    return entries


def entries_between(tx: ManagedTransaction, after: int, until: int, limit: int) -> list[dict[str, Any]]:
    """The entries numbered after `after` up to `until` (at most `limit`), in seq order, as maps {resource, id,
    action, parties}: what a projection kept current from the feed (service/analytics/live.py) re-reads."""
    first = db.run_one(tx, "change_holder", after=after)["first"]
    return db.run_plain(tx, "analytics_changes_since", after=after, first=first, until=until, limit=limit)


def encode_seq(seq: int) -> str:
    return encode_cursor([str(seq)])


def decode_seq(cursor: str | None) -> int | None:
    if cursor is None:
        return None
    (seq,) = decode_cursor(cursor, BY_SEQ, field="since")
    return int(seq)


def revision(graph: db.Graph) -> int:
    """The graph revision: it grows with every committed write, so equal revisions mean an equal graph."""
    return graph.read(lambda tx: db.run_one(tx, "change_revision"))["revision"]


def affiliation_id(member_id: str, organization_id: str) -> str:
    return f"{member_id}/{organization_id}"
