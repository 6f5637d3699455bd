"""Projections kept on local disk, so that a fresh worker starts from one instead of reading the whole graph.

Reading the analytics graph of 100,000 members and a million ties over Bolt and building it takes about
5 s (the read 3.6 s in bench/analytics.py's "projection read" table, the igraph build of a million ties
1.4 s; 7 to 10 s with a record per party and ties named by uuid), and every new worker (a start, a restart, gunicorn's max-requests recycling) paid
it on its first analytics call.
A worker now saves the projection it read or patched to a file, and a worker without a projection of
the scope in memory loads that file (about half a second) and brings it to the current revision with
the change feed (service/analytics/live.py), exactly as it would patch its own projection. When the feed
can't (retention removed the entries since the file's revision, too many of them, a write outside the
feed) the worker reads the graph whole, as before; a file is a starting point, never an answer.

A file names the database it came from by the id of its `Instance` node, which a new or wiped database
does not have, and holds the change entry at its revision, which a database restored from a backup (same
id, another history from there on) does not share: neither loads it. Both are read in the same
transaction as the projection (`provenance`), and a projection whose revision has no entry any more
(retention) is not saved.

The format holds no code: an uncompressed numpy archive (ties and weights as arrays, read with
allow_pickle=False) and one JSON document (the parties' ids and attributes). The directory must belong
to the service's user and not be writable by others; otherwise snapshots are off and that is logged.
"""

from __future__ import annotations

import json
import logging
import os
import stat
import tempfile
import time
import uuid
from datetime import date
from pathlib import Path

import igraph as ig
import numpy as np

from service import db
from service.repositories import analytics_state
from service.analytics.projection import Projection, edge_array

log = logging.getLogger(__name__)

FORMAT = 1
PREFIX = "projection-"
KEEP_SECONDS = 2 * 86_400   # files older than this (yesterday's dates, other databases) are removed on save
PARTIAL_SECONDS = 3600


def default_directory() -> str:
    """$XDG_CACHE_HOME/netweave/projections, else ~/.cache/netweave/projections."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "netweave", "projections")


class Snapshots:
    """The projection files in `directory`; `every` is the least age (seconds) of a file before a patched
    projection replaces it (a projection read whole always does)."""

    def __init__(self, directory: Path, every: float):
        self.directory, self.every = directory, every

    @classmethod
    def at(cls, setting: str, every: float) -> "Snapshots | None":
        """The store the setting names ("off" or empty: None); None, logged, when the directory is unsafe."""
        if not setting or setting.lower() == "off":
            return None
        directory = Path(setting).expanduser()
        try:
            directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            info = directory.stat()
        except OSError as error:
            log.warning("analytics snapshots are off: %s", error)
            return None
        if info.st_uid != os.getuid() or info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
            log.warning("analytics snapshots are off: %s must belong to this user and not be writable by others",
                        directory)
            return None
        return cls(directory, every)

    def path(self, instance: str, as_of: date, organizations: bool) -> Path:
        uuid.UUID(instance)     # the name comes from the database: nothing but a UUID goes into a path
        return self.directory / f"{PREFIX}{instance}-{as_of.isoformat()}-{'o' if organizations else 'm'}.npz"

    def load(self, graph: db.Graph, as_of: date, organizations: bool) -> tuple[int, Projection] | None:
        """(revision, projection) from this database's file for the scope; None without a usable one (no
        file, a damaged one, or one of another history). Never fails: the caller reads the graph instead."""
        started = time.perf_counter()
        path = None
        try:
            instance = analytics_state.instance(graph)
            if instance is None:
                return None         # no file was ever saved for this database
            path = self.path(instance, as_of, organizations)
            # Opened here: np.load leaves its own handle open when the archive is damaged.
            with open(path, "rb") as handle, np.load(handle, allow_pickle=False) as archive:
                meta = json.loads(archive["meta"].tobytes())
                edges, weights = archive["edges"], archive["weights"]
            if meta.get("format") != FORMAT:
                return None
            now = analytics_state.provenance_now(graph, meta["revision"])
            if meta["provenance"] != now:
                log.info("analytics: the projection snapshot %s is of another history (a restored backup?)", path)
                return None
            projection = _projection(meta, edges, weights)
        except FileNotFoundError:
            return None
        except Exception as error:      # a damaged or foreign file, an unreachable database: read it whole
            log.warning("analytics: ignoring the projection snapshot %s: %r", path, error)
            return None
        projection.provenance = meta["provenance"]
        projection.origin = {"read": "snapshot", "changes": None,
                             "seconds": round(time.perf_counter() - started, 4)}
        return meta["revision"], projection

    def offer(self, graph: db.Graph, as_of: date, organizations: bool, revision: int, projection: Projection) -> bool:
        """Save the projection unless the scope's file is younger than `every` and the projection was only
        patched, or its history can't be told (no change entry at its revision). Returns whether it saved."""
        known = projection.provenance
        if known is None or (known["last_change"] is None and revision > 0):
            return False
        instance = known["instance"]
        if instance is None:    # the database's first file: the change entry still ties it to this history
            instance = analytics_state.create_instance(graph)
            known = {**known, "instance": instance}
        path = self.path(instance, as_of, organizations)
        whole = (projection.origin or {}).get("read") == "whole"
        try:
            if not whole and time.time() - path.stat().st_mtime < self.every:
                return False
        except FileNotFoundError:
            pass
        try:
            self._write(path, revision, known, projection)
            self._prune()
        except OSError as error:
            log.warning("analytics: could not save the projection snapshot %s: %s", path, error)
            return False
        return True

    def _write(self, path: Path, revision: int, known: dict, projection: Projection) -> None:
        meta = {"format": FORMAT, "revision": revision, "provenance": known,
                "cluster_mark": projection.cluster_mark,
                "ids": projection.ids, "kinds": projection.kinds, "regions": projection.regions,
                "roles": projection.roles, "topics": projection.topics, "organizations": projection.organizations,
                "previous_clusters": projection.previous_clusters}
        encoded = np.frombuffer(json.dumps(meta, separators=(",", ":")).encode(), dtype=np.uint8)
        graph = projection.graph
        # Ties and weights both from igraph (not the edge array a patch derives), so they can't disagree.
        edges = edge_array(graph).astype(np.int32)      # vertex numbers fit: half the file's ties
        weights = np.asarray(graph.es["weight"])     # int64 for summed strengths, as read
        # A file appears whole or not at all: written aside, then renamed over the old one.
        handle, temporary = tempfile.mkstemp(dir=self.directory, prefix=".partial-", suffix=".npz")
        try:
            with os.fdopen(handle, "wb") as out:
                np.savez(out, meta=encoded, edges=edges, weights=weights)
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    def _prune(self) -> None:
        """Files older than KEEP_SECONDS, and partial ones a killed worker left (older than PARTIAL_SECONDS)."""
        now = time.time()
        for pattern, age in ((f"{PREFIX}*.npz", KEEP_SECONDS), (".partial-*", PARTIAL_SECONDS)):
            for old in self.directory.glob(pattern):
                try:
                    if old.stat().st_mtime < now - age:
                        old.unlink()
                except OSError:
                    continue


def _projection(meta: dict, edges: np.ndarray, weights: np.ndarray) -> Projection:
    ids = meta["ids"]
    columns = ("kinds", "regions", "roles", "topics", "organizations")
    if any(len(meta[name]) != len(ids) for name in columns) or meta["previous_clusters"] and len(
            meta["previous_clusters"]) != len(ids):
        raise ValueError("attribute lists of different lengths")
    if edges.ndim != 2 or edges.shape[1] != 2 or len(weights) != len(edges) or (
            len(edges) and (edges.min() < 0 or edges.max() >= len(ids))):
        raise ValueError("ties that do not fit the parties")
    # Two columns as lists zipped into tuples: igraph's fastest input (0.3 s for a million ties). The ties
    # were saved simple and in igraph's order, so the graph and its edge array come back as they were
    # (no simplify: it would sort the ties a patch appended).
    graph = ig.Graph(n=len(ids), edges=list(zip(edges[:, 0].tolist(), edges[:, 1].tolist())), directed=False)
    graph.es["weight"] = weights.tolist()
    projection = Projection(ids=ids, kinds=meta["kinds"], regions=meta["regions"], roles=meta["roles"],
                            topics=meta["topics"], organizations=meta["organizations"], graph=graph,
                            previous_clusters=meta["previous_clusters"], cluster_mark=meta["cluster_mark"])
    projection._edges = edges.astype(np.int64, copy=False)
    return projection

