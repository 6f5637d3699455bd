"""Every Neo4j read and write of the analytics' own state, in one place: the shared reports and runs
(service/analytics/store.py), the database's identity and history that projection files are tied to
(service/analytics/snapshots.py), and what a live projection reads to catch up with the change feed
(service/analytics/live.py). Those modules compute; this one talks to the database."""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any, Callable

import neo4j
from neo4j import ManagedTransaction

import graph_queries
from service import db
from service.repositories import changes

# --- reports and runs shared by every worker ---------------------------------------------------------


def report(graph: db.Graph, key: str, known: Any = None) -> dict | None:
    """The stored report of `key` (revision, body, stored_at), with no body when its `stored_at` is `known`."""
    return graph.read(db.run_one, "analytics_report_get", key=key, known=known)


def save_report(graph: db.Graph, key: str, kind: str, revision: int, body: str) -> None:
    graph.write(db.run_one, "analytics_report_put", key=key, kind=kind, revision=revision, body=body)


def start_run(graph: db.Graph, run_id: str, key: str, kind: str, started_at: datetime) -> None:
    graph.write(db.run_one, "analytics_run_create", id=run_id, key=key, kind=kind, started_at=started_at)


def finish_run(graph: db.Graph, run_id: str, status: str, finished_at: datetime, error: str | None) -> None:
    graph.write(db.run_one, "analytics_run_finish", id=run_id, status=status, finished_at=finished_at, error=error)


def queue_run(graph: db.Graph, run_id: str, key: str, kind: str) -> None:
    graph.write(db.run_one, "analytics_run_queue", id=run_id, key=key, kind=kind)


def attempt_run(graph: db.Graph, run_id: str, key: str, kind: str, worker: str) -> int:
    """Marks the run running on `worker`; the attempt's number."""
    return graph.write(db.run_one, "analytics_run_attempt", id=run_id, key=key, kind=kind, worker=worker)["attempts"]


def run(graph: db.Graph, run_id: str) -> dict | None:
    row = graph.read(db.run_one, "analytics_run_get", id=run_id)
    return None if row is None else db.to_native(row["run"])


def active_run(graph: db.Graph, key: str, since: datetime) -> dict | None:
    row = graph.read(db.run_one, "analytics_run_active", key=key, since=since)
    return None if row is None else db.to_native(row["run"])


# --- the database's identity and history (what a projection file belongs to) ---------------------------


def instance(graph: db.Graph) -> str | None:
    """The database's id (its `Instance` node), None before its first projection file."""
    return graph.read(db.run_one, "analytics_instance")["id"]


def create_instance(graph: db.Graph) -> str:
    return graph.write(db.run_one, "analytics_instance_create")["id"]


def provenance(tx: ManagedTransaction, revision: int) -> dict:
    """Which database and history a projection read in `tx` at `revision` belongs to: the database's id
    (its `Instance` node; null before its first file) and the change entry at `revision` (resource, id,
    action, commit time). Read in the projection's own transaction, so a file can't be named after a database
    that replaced the one read. A database restored from a backup keeps its id but goes back in time, and
    the entry its feed later numbers `revision` is another one."""
    return {"instance": db.run_one(tx, "analytics_instance")["id"],
            "last_change": db.run_one(tx, "analytics_change_at", revision=revision)["entry"]}


def provenance_now(graph: db.Graph, revision: int) -> dict:
    return graph.read(provenance, revision)


# --- catching a projection up with the change feed --------------------------------------------------------


@dataclass(frozen=True)
class Delta:
    """What the feed says changed since a base revision, read in one transaction."""

    revision: int
    rows: list          # analytics_projection_parties rows of the touched parties that exist and are in scope
    touched: set[str]   # every party id the changes touched (those without a row are gone or out of scope)
    cluster_ids: dict[str, str] | None   # every member's written-back cluster id, when the mark moved
    cluster_mark: int
    counts: dict[str, int]  # members and organizations in the database, to check the patch against
    entries: int            # change entries applied
    provenance: dict        # the database and history read (provenance())
    seconds: float = 0.0    # how long the read took


# The parties a list of change entries touched, and the collaborations among them whose parties the
# entries do not name (service/analytics/live.py's touched_parties).
Touched = Callable[[list[dict]], tuple[set[str], set[str]]]


def delta(graph: db.Graph, base_revision: int, base_cluster_mark: int, as_of: date, organizations: bool,
          max_entries: int, touched_by: Touched) -> Delta | None:
    """The change entries since `base_revision`, handed to `touched_by`, and the current rows of the parties
    they touched, in one read; None when a full read is needed: the graph went back (a reset), the feed no
    longer holds those entries, there are more than `max_entries`, or a deleted collaboration's parties
    are unknown."""

    def work(tx: ManagedTransaction) -> Delta | None:
        revision = db.run_one(tx, "change_revision")["revision"]
        if revision < base_revision:
            return None     # the graph was reset (tests wipe it): nothing to derive from
        if db.run_one(tx, "change_floor")["purged_through"] > base_revision:
            return None
        entries = changes.entries_between(tx, base_revision, revision, max_entries + 1)
        if len(entries) > max_entries:
            return None
        touched, unknown = touched_by(entries)
        if unknown:
            found = db.run(tx, "analytics_collaboration_parties", ids=sorted(unknown))
            for row in found:
                touched.update((row["source_id"], row["target_id"]))
            if len(found) < len(unknown):
                return None
        mark = db.run_one(tx, "analytics_cluster_mark")["mark"]
        cluster_ids = None
        if mark != base_cluster_mark:
            cluster_ids = {row["id"]: row["cluster_id"] for row in db.run(tx, "analytics_cluster_ids")}
        rows = list(tx.run(graph_queries.get("analytics_projection_parties").text,
                           {"ids": sorted(touched), "as_of": as_of, "organizations": organizations}))
        counts = db.run_one(tx, "analytics_party_counts")
        return Delta(revision, rows, touched, cluster_ids, mark, counts, len(entries), provenance(tx, revision))

    started = time.perf_counter()
    with graph.session(default_access_mode=neo4j.READ_ACCESS, fetch_size=-1) as session:
        found = session.execute_read(work)
    return None if found is None else replace(found, seconds=time.perf_counter() - started)
