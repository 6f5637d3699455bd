"""Caching and background runs for analytics, one engine per app (per gunicorn worker).

Every result is cached under a key that holds the graph revision, so an unchanged graph answers from
memory and any committed write (which bumps the revision) makes the next call recompute. Top-level
answers run on a single background thread: a request waits up to `sync_seconds`; when the computation
takes longer it keeps running, and the request gets the last good answer for the same arguments marked
stale (or, without one, a run id to poll). The revision only grows in a real deployment; tests that wipe
the database reset it, and clear the engine with it.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import uuid
from collections import OrderedDict
from concurrent.futures import Future, ThreadPoolExecutor, TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable, Hashable, Mapping

from service import db
from service.analytics import snapshots, store as store_module
from service.analytics.store import SharedStore

EXTENSION = "netweave.analytics"
log = logging.getLogger(__name__)

# Each field of Settings and the setting it comes from (declared, with its default and bounds, in
# service/config.py's SETTINGS): read from the app config, else the environment, then bounded.
_SETTINGS = {
    "exact_betweenness_max": "NETWEAVE_ANALYTICS_EXACT_BETWEENNESS_MAX",
    "kadabra_max": "NETWEAVE_ANALYTICS_KADABRA_MAX",
    "betweenness_epsilon": "NETWEAVE_ANALYTICS_BETWEENNESS_EPSILON",
    "betweenness_samples": "NETWEAVE_ANALYTICS_BETWEENNESS_SAMPLES",
    "betweenness_budget": "NETWEAVE_ANALYTICS_BETWEENNESS_BUDGET",
    "betweenness_delta": "NETWEAVE_ANALYTICS_BETWEENNESS_DELTA",
    "path_samples": "NETWEAVE_ANALYTICS_PATH_SAMPLES",
    "seed": "NETWEAVE_ANALYTICS_SEED",
    "sync_seconds": "NETWEAVE_ANALYTICS_SYNC_SECONDS",
    "queue_wait_seconds": "NETWEAVE_ANALYTICS_QUEUE_WAIT_SECONDS",
    "cache_entries": "NETWEAVE_ANALYTICS_CACHE_ENTRIES",
    "projection_entries": "NETWEAVE_ANALYTICS_PROJECTION_ENTRIES",
    "live_projection": "NETWEAVE_ANALYTICS_LIVE_PROJECTION",
    "snapshot_seconds": "NETWEAVE_ANALYTICS_SNAPSHOT_SECONDS",
    "run_timeout": "NETWEAVE_ANALYTICS_RUN_TIMEOUT",
    "min_interval": "NETWEAVE_ANALYTICS_MIN_INTERVAL",
    "layout_max_members": "NETWEAVE_LAYOUT_MAX_MEMBERS",
    "segment_min_size": "NETWEAVE_SEGMENT_MIN_SIZE",
    "queue_heartbeat_seconds": "NETWEAVE_QUEUE_HEARTBEAT_SECONDS",
    "queue_maintenance_chance": "NETWEAVE_QUEUE_MAINTENANCE_CHANCE",
    "worker_debounce_seconds": "NETWEAVE_WORKER_DEBOUNCE_SECONDS",
    "worker_max_delay_seconds": "NETWEAVE_WORKER_MAX_DELAY_SECONDS",
}


@dataclass(frozen=True)
class Settings:
    exact_betweenness_max: int
    kadabra_max: int
    betweenness_epsilon: float
    betweenness_delta: float
    betweenness_samples: int
    betweenness_budget: int
    path_samples: int
    seed: int
    sync_seconds: float
    queue_wait_seconds: float
    cache_entries: int
    projection_entries: int
    live_projection: int
    snapshot_seconds: float
    run_timeout: float
    min_interval: float
    layout_max_members: int
    segment_min_size: int
    queue_heartbeat_seconds: float
    queue_maintenance_chance: int
    worker_debounce_seconds: float
    worker_max_delay_seconds: float
    # Where projections are kept on disk for fresh workers ("off": nowhere); see service/analytics/snapshots.py.
    snapshot_dir: str = ""

    @classmethod
    def load(cls, config: Mapping[str, Any], environ: Mapping[str, str] = os.environ) -> "Settings":
        from service.config import SETTINGS

        values = {}
        for name, key in _SETTINGS.items():
            setting = SETTINGS[key]
            raw = config.get(key)
            if raw is None:
                raw = environ.get(key) or setting.default
            values[name] = min(max(setting.kind(raw), setting.low), setting.high)
        key = "NETWEAVE_ANALYTICS_SNAPSHOT_DIR"
        values["snapshot_dir"] = str(config.get(key) or environ.get(key) or snapshots.default_directory())
        return cls(**values)


@dataclass
class Run:
    """A background computation, as GET /v1/analytics/runs/{run_id} shows it."""

    id: str
    kind: str
    status: str = "running"
    started_at: datetime = field(default_factory=lambda: datetime.now(timezone.utc))
    finished_at: datetime | None = None
    error: str | None = None
    future: Future | None = field(default=None, repr=False)


class Pending(Exception):
    """The answer is being computed in the background and there is no earlier one to serve."""

    def __init__(self, run: Run):
        super().__init__(run.id)
        self.run = run


class Engine:
    def __init__(self, settings: Settings):
        self.settings = settings
        self._lock = threading.RLock()
        self._cache: OrderedDict[Hashable, Any] = OrderedDict()
        self._projections: OrderedDict[Hashable, Any] = OrderedDict()
        self._last_good: OrderedDict[Hashable, dict] = OrderedDict()
        self._fresh_at: dict[Hashable, float] = {}   # stale_key -> when its last good answer was computed (epoch)
        self._inflight: dict[Hashable, Run] = {}
        self._runs: OrderedDict[str, Run] = OrderedDict()
        self._executor: ThreadPoolExecutor | None = None
        self._queued = 0        # work handed to after(), so wait_idle sees what queued work queued in turn
        self.snapshots = snapshots.Snapshots.at(settings.snapshot_dir, settings.snapshot_seconds)

    def memo(self, key: Hashable, compute: Callable[[], Any], *, projection: bool = False) -> Any:
        """The cached value for `key`, computing and storing it on a miss (LRU, bounded)."""
        store, limit = ((self._projections, self.settings.projection_entries) if projection
                        else (self._cache, self.settings.cache_entries))
        with self._lock:
            if key in store:
                store.move_to_end(key)
                return store[key]
        value = compute()
        with self._lock:
            store[key] = value
            if not projection:
                _drop_superseded(store, key, revision_at=1)
            while len(store) > limit:
                store.popitem(last=False)
        return value

    def newest_projection(self, scope: Hashable) -> Any:
        """The cached projection value of `scope` with the highest revision (None without one)."""
        with self._lock:
            held = [value for key, value in self._projections.items() if key[0] == "projection" and key[2] == scope]
        return max(held, key=lambda value: value[0], default=None)

    def peek(self, key: Hashable) -> Any:
        """The cached value for `key`, or None: never computes (for callers that must stay cheap)."""
        with self._lock:
            return self._cache.get(key)

    def answer(self, key: Hashable, stale_key: Hashable, kind: str, compute: Callable[[], dict],
               store: SharedStore | None = None) -> dict:
        """A report: cached, computed within `sync_seconds`, or the last good one marked stale.

        `key` holds the revision (its first item); `stale_key` is the same arguments without it. With a
        `store`, reports and runs are shared with the other workers: a report another worker computed for
        this revision is served from it, and a run another worker has in flight is not started again.
        Raises Pending when the computation outlasts the wait and no earlier report exists.
        """
        with self._lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return marked(self._cache[key], cached=True)
        shared_key = store_module.key_of(stale_key) if store else None
        stored = store.report(shared_key) if store else None
        if stored is not None and stored[0] == key[0]:
            self._remember(key, stale_key, stored[1], fresh_at=stored[2])
            return marked(stored[1], cached=True)
        recent = self._recent(stale_key, stored)
        if recent is not None:
            return marked(recent, cached=True, stale=True)
        elsewhere = store.active(store_module.key_of(key)) if store else None
        if elsewhere is not None and not self._is_local(elsewhere["id"]):
            if stored is not None:
                return marked(stored[1], cached=True, stale=True, run_id=elsewhere["id"])
            raise Pending(Run(id=elsewhere["id"], kind=elsewhere["kind"], started_at=elsewhere["started_at"]))
        run = self._start(key, stale_key, kind, compute, store)
        try:
            return run.future.result(timeout=self.settings.sync_seconds)
        except FutureTimeout:
            with self._lock:
                last = self._last_good.get(stale_key)
            if last is None and stored is not None:
                last = stored[1]
            if last is None:
                raise Pending(run) from None
            return marked(last, cached=True, stale=True, run_id=run.id)

    def _recent(self, stale_key: Hashable, stored: tuple[int, dict, float] | None) -> dict | None:
        """The last good answer for these arguments when it is younger than `min_interval`, else None."""
        if self.settings.min_interval <= 0:
            return None
        horizon = time.time() - self.settings.min_interval
        with self._lock:
            if self._fresh_at.get(stale_key, 0.0) > horizon:
                return self._last_good.get(stale_key)
        if stored is not None and stored[2] > horizon:
            return stored[1]
        return None

    def _remember(self, key: Hashable, stale_key: Hashable, report: dict, fresh_at: float | None = None) -> None:
        with self._lock:
            self._fresh_at[stale_key] = time.time() if fresh_at is None else fresh_at
            self._cache[key] = report
            _drop_superseded(self._cache, key, revision_at=0)
            while len(self._cache) > self.settings.cache_entries:
                self._cache.popitem(last=False)
            self._last_good[stale_key] = report
            while len(self._last_good) > self.settings.cache_entries:
                self._fresh_at.pop(self._last_good.popitem(last=False)[0], None)

    def _is_local(self, run_id: str) -> bool:
        with self._lock:
            return run_id in self._runs

    def after(self, work: Callable[[], None]) -> None:
        """Run `work` on the analytics thread once what is running now (and queued before it) has finished:
        how results are written back without delaying the answer. Failures are logged, not raised."""
        with self._lock:
            self._queued += 1
        self._pool().submit(self._quietly, work)

    def wait_idle(self, timeout: float | None = None) -> None:
        """Block until the analytics thread has run everything queued, including what that work queued in
        turn (a write-back queues the snapshot save behind it). `timeout` bounds each round."""
        while True:
            with self._lock:
                queued = self._queued
            self._pool().submit(lambda: None).result(timeout=timeout)
            with self._lock:
                if self._queued == queued:
                    return

    @staticmethod
    def _quietly(work: Callable[[], None]) -> None:
        try:
            work()
        except Exception:
            log.exception("analytics write-back failed")

    def _pool(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="netweave-analytics")
            return self._executor

    def run(self, run_id: str) -> Run | None:
        with self._lock:
            return self._runs.get(run_id)

    def clear(self) -> None:
        with self._lock:
            self._cache.clear()
            self._projections.clear()
            self._last_good.clear()
            self._fresh_at.clear()

    def _start(self, key: Hashable, stale_key: Hashable, kind: str, compute: Callable[[], dict],
               store: SharedStore | None) -> Run:
        """The run computing `key`: the one already in flight, or a new one on the background thread."""
        with self._lock:
            if key in self._inflight:
                return self._inflight[key]
            run = self._inflight[key] = Run(id=str(uuid.uuid4()), kind=kind)
            self._runs[run.id] = run
            while len(self._runs) > 256:
                self._runs.popitem(last=False)
            run.future = self._pool().submit(self._execute, run, key, stale_key, compute, store)
        return run

    def _execute(self, run: Run, key: Hashable, stale_key: Hashable, compute: Callable[[], dict],
                 store: SharedStore | None) -> dict:
        started = time.perf_counter()
        if store is not None:
            store.start(run.id, store_module.key_of(key), run.kind, run.started_at)
        try:
            report = compute()
            report["computed"].update(seconds=round(time.perf_counter() - started, 4), run_id=run.id,
                                      cached=False, stale=False)
            self._remember(key, stale_key, report)
            if store is not None:
                store.save(store_module.key_of(stale_key), run.kind, key[0], report)
            run.status = "done"
            return report
        except Exception as error:
            run.status, run.error = "failed", f"{type(error).__name__}: {error}"
            raise
        finally:
            run.finished_at = datetime.now(timezone.utc)
            with self._lock:
                self._inflight.pop(key, None)
            if store is not None:
                store.finish(run.id, run.status, run.finished_at, run.error)

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True)


def _drop_superseded(store: OrderedDict, key: tuple, revision_at: int) -> None:
    """Forget what `store` holds for the same question as `key` at an older revision. Under a stream of
    writes each revision would otherwise keep its own analyses (and through them its projection) until
    the LRU bound pushed them out: a worker's memory grew by one projection per cached revision. A
    request that still asks about an older revision computes it again."""
    revision, question = key[revision_at], key[:revision_at] + key[revision_at + 1:]
    older = [held for held in store
             if isinstance(held, tuple) and len(held) == len(key)
             and held[:revision_at] + held[revision_at + 1:] == question
             and isinstance(held[revision_at], int) and held[revision_at] < revision]
    for held in older:
        del store[held]


def marked(report: dict, **flags: Any) -> dict:
    """A shallow copy of a cached report whose `computed` block carries `flags` (the cached one is untouched)."""
    return {**report, "computed": {**report["computed"], **flags}}


def get_engine(holder) -> Engine:
    """The engine of a process's graph (db.Graph), or of an app's through its graph, created on first use
    (so, under gunicorn, inside the worker) from the graph's settings."""
    graph = holder if hasattr(holder, "driver") else holder.extensions[db.EXTENSION]
    engine = graph.extensions.get(EXTENSION)
    if engine is None:
        with _CREATE_LOCK:
            engine = graph.extensions.get(EXTENSION)
            if engine is None:
                engine = graph.extensions[EXTENSION] = Engine(Settings.load(graph.config))
    return engine


_CREATE_LOCK = threading.Lock()
__all__ = ["Engine", "Settings", "Run", "Pending", "get_engine"]
