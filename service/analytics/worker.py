"""`netweave worker`: the process that answers analytics questions from the job queue.

It holds the projections (patched from the change feed, service/analytics/live.py) and the engine's
caches, computes each job on one thread at a lower CPU priority than the web tier, writes derived data
(cluster ids, betweenness, coreness, the cut structure) back onto the graph, and stores the report where
every web worker reads it. Beside the jobs the API asks for, it recomputes the default reports on its
own once writes have settled (`worker_debounce_seconds`, at the latest `worker_max_delay_seconds` after
the first unseen write), and once those are stored, recomputes the shared member recommendation answers
computed most recently that the writes made stale (service/repositories/recommendations.py, `refresh`).
Several workers may run, on one machine or many: the queue gives each job to one
of them, and deduplication (service/analytics/queue.py) keeps them from computing the same question twice.
No Flask app is built here.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
import time
from datetime import datetime, timezone
from typing import Any, Mapping

from dramatiq import Worker

from service import db
from service.analytics.asking import enqueue
from service.analytics.engine import Engine, Settings
from service.analytics.queue import EXPORT_QUEUE_NAME, QUEUE_NAME, WEBHOOK_QUEUE_NAME, Queue, QueueUnavailable
from service.analytics.store import SharedStore, key_of
from service.config import bounded
from service.exports import relay
from service.problems import Problem, database_problem
from service.webhooks.delivery import Deliverer, DeliverySettings

log = logging.getLogger(__name__)

POLL_SECONDS = 1.0
LAPSED_SURVEYS_SECONDS = 30.0    # how often a worker looks for check-ins whose closes_at passed
REFRESH_KEY = "netweave:recommendations-refreshed:"   # + revision: the worker refreshing its answers


class AnalyticsWorker:
    def __init__(self, config: Mapping[str, Any], graph: db.Graph, *, name: str | None = None):
        self.settings = Settings.load(config)
        self.graph = graph
        self.engine = Engine(self.settings)
        self.name = name or f"{socket.gethostname()}:{os.getpid()}"
        self.store = SharedStore(graph, self.settings.run_timeout)
        self.delivery_settings = DeliverySettings.load(config)
        self.queue = Queue(config["NETWEAVE_QUEUE_URL"], heartbeat_seconds=self.settings.queue_heartbeat_seconds,
                           maintenance_chance=self.settings.queue_maintenance_chance,
                           time_limit_seconds=self.settings.run_timeout, handler=self.handle,
                           webhook_handler=self.deliver,
                           webhook_time_limit_seconds=self.DELIVERY_BUDGET_SECONDS + 2 * self._lock_seconds(),
                           export_handler=self.export)
        self.export_threads = bounded(config, "NETWEAVE_WORKER_EXPORT_THREADS")
        self.export_nice = bounded(config, "NETWEAVE_WORKER_EXPORT_NICE")
        self._thread = threading.local()
        self.retry_after = int(config.get("NETWEAVE_RETRY_AFTER_SECONDS") or 5)
        self.webhook_key = config.get("NETWEAVE_WEBHOOK_KEY")
        from service.repositories.recommendations import shares_answers

        self.refresh_newest = config.get("NETWEAVE_RECOMMENDATION_REFRESH", 0) if shares_answers(config) else 0
        self.webhook_poll_seconds = config.get("NETWEAVE_WEBHOOK_POLL_SECONDS", 0.5)
        self._deliverer: Deliverer | None = None
        self.stopping = threading.Event()
        self._worker: Worker | None = None
        self._webhook_worker: Worker | None = None
        self._export_worker: Worker | None = None
        self._watcher: threading.Thread | None = None
        self._dispatcher: threading.Thread | None = None

    # --- jobs ---------------------------------------------------------------------------------------

    def handle(self, job: dict[str, Any]) -> None:
        """Computes one job and stores its report; a job already answered (delivered again after its worker
        died, or overtaken by a later revision's) is marked done without recomputing."""
        from service.repositories import analytics

        run_id, key, question = job["run_id"], job["key"], job["question"]
        self.queue.started(job)     # before the graph is read: a later ask now sends a job of its own
        stored = self.store.report(key)
        if stored is not None and stored[0] >= job["revision"]:
            self.store.finish(run_id, "done", _now(), None)
            return
        # A job that waited on the queue answers the asks that joined it since (queue.py): computed at the
        # revision now, not at the one it was sent at (which may still be held, and would be served again).
        job = {**job, "revision": max(job["revision"], self.graph.read(db.run_one, "change_revision")["revision"])}
        attempt = self.store.attempt(run_id, key, question, self.name)
        log.info("run %s: %s at revision %d (attempt %d)", run_id, question, job["revision"], attempt)
        started = time.perf_counter()
        try:
            report = analytics.compute_job(self.engine, self.graph, job)
            # Derived data (cluster ids, scores, the cut structure) lands before the report is visible.
            self.engine.wait_idle()
            report["computed"].update(seconds=round(time.perf_counter() - started, 4), run_id=run_id,
                                      cached=False, stale=False)
            self.store.save(key, question, report["computed"]["revision"], report, strict=True)
        except Exception as error:
            log.exception("run %s failed", run_id)
            self.store.finish(run_id, "failed", _now(), f"{type(error).__name__}: {error}")
            self.queue.forget(run_id)       # a later ask may try again
            return
        self.store.finish(run_id, "done", _now(), None)

    # --- exports of the whole graph (service/exports/relay.py) ----------------------------------------

    def export(self, job: dict[str, Any]) -> None:
        """The export queue's actor: writes one export's frames for the web request relaying them. Its
        analytics columns come from what this worker's engine holds (else the values written back)."""
        import neo4j

        from service import exports

        self._lower_priority()
        writer = relay.Writer(self.queue.client, job["export_id"], float(job["stall_seconds"]), self.stopping)
        if not writer.take():
            log.info("export %s: taken before, or its request left; dropped", job["export_id"])
            return
        db.begin_unit(neo4j.Bookmarks.from_raw_values(job["bookmarks"]) if job["bookmarks"] else None)
        export = None
        try:
            try:
                export = exports.open_export(self.graph, exports.selection_of(job), job["format"],
                                             pii=bool(job["pii"]), engine=self.engine,
                                             compute=bool(job.get("compute")))
            except Exception as error:
                writer.head(relay.problem_head(_problem(error, self.retry_after)))
                return
            writer.head(export.head())
            for chunk in export.chunks():
                writer.data(chunk)
            writer.end()
        except (relay.Abandoned, relay.Stopped) as gone:
            log.info("export %s stopped: %s", job["export_id"], gone)
        except Exception as error:
            log.exception("export %s failed after its first byte", job["export_id"])
            writer.failed(f"{type(error).__name__}: {error}")
        finally:
            if export is not None:
                export.close()
            db.end_unit()

    def _lower_priority(self) -> None:
        """This export thread at NETWEAVE_WORKER_EXPORT_NICE (on Linux a nice value is a thread's own; it
        is only ever raised, which needs no privilege)."""
        if getattr(self._thread, "niced", False):
            return
        self._thread.niced = True
        tid = threading.get_native_id()
        try:
            if os.getpriority(os.PRIO_PROCESS, tid) < self.export_nice:
                os.setpriority(os.PRIO_PROCESS, tid, self.export_nice)
        except OSError:
            log.warning("could not lower the CPU priority of an export thread", exc_info=True)

    # --- the default reports, recomputed after writes ------------------------------------------------

    def watch(self) -> None:
        """Enqueues the default questions when the revision has settled (see the module's docstring), and
        once their reports are stored, refreshes the recommendation answers computed most recently."""
        seen: int | None = None
        quiet_since = first_unseen = refresh_due = None
        while not self.stopping.wait(POLL_SECONDS):
            try:
                revision = self.graph.read(db.run_one, "change_revision")["revision"]
            except Exception:
                log.warning("cannot read the graph revision", exc_info=True)
                continue
            now = time.monotonic()
            if revision != seen:
                seen, quiet_since = revision, now
                first_unseen = first_unseen if first_unseen is not None else now
            if refresh_due is not None and revision != refresh_due:
                refresh_due = None      # written to since: the next settled revision gets its refresh
            if refresh_due is not None and not self.defaults_behind(refresh_due):
                self.refresh_recommendations(refresh_due)
                refresh_due = None
            if first_unseen is None:
                continue
            if (now - quiet_since >= self.settings.worker_debounce_seconds
                    or now - first_unseen >= self.settings.worker_max_delay_seconds):
                if self.enqueue_defaults(revision):
                    first_unseen, refresh_due = None, revision

    def defaults_behind(self, revision: int) -> list[tuple[str, dict[str, Any], tuple]]:
        """The default questions (question, params, store args) whose report is not stored at `revision` or
        later; none left means every default report is there, its write-backs (cluster ids among them) too."""
        from service.repositories import analytics

        scope = analytics.Scope.of(None)
        behind = []
        for question, params in analytics.DEFAULT_QUESTIONS:
            args = analytics.question_args(question, scope, params)
            stored = self.store.report(key_of(args))
            if stored is None or stored[0] < revision:
                behind.append((question, params, args))
        return behind

    def refresh_recommendations(self, revision: int) -> None:
        """Recomputes the newest shared recommendation answers the writes made stale
        (recommendations.refresh), by one worker per revision: the first to take the revision's mark."""
        from service.repositories import recommendations

        newest = self.refresh_newest
        if not newest:
            return
        try:
            if not self.queue.client.set(REFRESH_KEY + str(revision), self.name, nx=True, ex=3600):
                return
            started = time.perf_counter()
            done = recommendations.refresh(self.graph, newest, revision, self.stopping.is_set)
        except Exception:
            log.warning("could not refresh the recommendation answers after revision %d", revision, exc_info=True)
            return
        log.info("refreshed %d recommendation answers after revision %d in %.1f s", done, revision,
                 time.perf_counter() - started)

    def enqueue_defaults(self, revision: int) -> bool:
        from service.repositories import analytics

        scope = analytics.Scope.of(None)
        try:
            for question, params, args in self.defaults_behind(revision):
                enqueue(self.store, self.queue, args, analytics.job_of(question, scope, params), revision)
        except QueueUnavailable:
            log.warning("the analytics queue is unavailable; the default reports wait for it")
            return False
        return True

    # --- webhook deliveries (service/webhooks/delivery.py) ------------------------------------------------------

    DELIVERY_BUDGET_SECONDS = 10.0

    def _lock_seconds(self) -> float:
        """How long an endpoint's lock outlives a run that died holding it: the call it may have been
        making, plus a margin for the database. A live run renews it before each call."""
        return self.delivery_settings.timeout + 5.0

    @property
    def deliverer(self) -> Deliverer:
        if self._deliverer is None:
            from service.webhooks.sealing import sealer

            if not self.webhook_key:
                log.warning("NETWEAVE_WEBHOOK_KEY is not set: webhook secrets are sealed under a key the "
                            "database keeps, so a copy of the database reveals them")
            self._deliverer = Deliverer(self.graph, self.delivery_settings, sealer(self.graph, self.webhook_key))
        return self._deliverer

    def deliver(self, webhook_id: str) -> None:
        """The webhook queue's actor: sends what one endpoint has waiting, holding its lock (a second
        message for it, from another worker, finds the lock taken and leaves: the dispatcher asks again)."""
        self.queue.delivery_started(webhook_id)
        lock = self.queue.endpoint_lock(webhook_id, self._lock_seconds())
        if not lock.acquire(blocking=False):
            return
        try:
            self.deliverer.run(webhook_id, self.DELIVERY_BUDGET_SECONDS, keep=lock.reacquire)
        finally:
            try:
                lock.release()
            except Exception:           # expired and taken by another run: nothing of ours to release
                log.warning("webhook %s: the sending lock expired during the run", webhook_id)

    def dispatch(self) -> None:
        """Every poll, puts a message on the webhook queue for each endpoint with something to send; every
        LAPSED_SURVEYS_SECONDS first raises the survey.closed alert of each survey
        whose closes_at has passed (an alert is itself an event to deliver)."""
        from service.repositories import surveys

        purged_at = lapsed_at = 0.0
        while not self.stopping.wait(self.webhook_poll_seconds):
            if time.monotonic() - lapsed_at >= LAPSED_SURVEYS_SECONDS:
                lapsed_at = time.monotonic()
                try:
                    surveys.alert_lapsed(self.graph)
                except Exception:
                    log.warning("raising survey.closed for lapsed check-ins failed; trying again", exc_info=True)
            try:
                for webhook_id in self.deliverer.due():
                    self.queue.submit_delivery(webhook_id)
                if time.monotonic() - purged_at > 3600:
                    purged_at = time.monotonic()
                    self.deliverer.purge()
            except Exception:
                log.warning("webhook dispatch failed; trying again", exc_info=True)
                self.stopping.wait(5.0)

    # --- running ------------------------------------------------------------------------------------

    def start(self) -> None:
        # The three consumers below share the queue's broker, each Worker adding a middleware of its own to it;
        # dramatiq warns at the second and third, which is this design working as meant, not a fault to report.
        logging.getLogger(f"dramatiq.broker.{type(self.queue.broker).__name__}").addFilter(_SHARED_BROKER)
        worker = self._worker = Worker(self.queue.broker, queues={QUEUE_NAME}, worker_threads=1,
                                       worker_timeout=1000)
        # One job at a time, none held back: a second job waits on the queue, where an idle worker takes it.
        worker.queue_prefetch = 1
        worker.start()
        # Deliveries on workers of their own: short calls, never behind a long analytics job.
        webhooks = self._webhook_worker = Worker(self.queue.broker, queues={WEBHOOK_QUEUE_NAME}, worker_threads=2,
                                                 worker_timeout=200)
        webhooks.queue_prefetch = 2
        webhooks.start()
        # Exports on threads of their own too: one starts at once, whatever analytics job is running.
        exporting = self._export_worker = Worker(self.queue.broker, queues={EXPORT_QUEUE_NAME},
                                                 worker_threads=self.export_threads, worker_timeout=1000)
        exporting.queue_prefetch = self.export_threads
        exporting.start()
        self._watcher = threading.Thread(target=self.watch, name="netweave-worker-watch", daemon=True)
        self._watcher.start()
        self._dispatcher = threading.Thread(target=self.dispatch, name="netweave-webhook-dispatch", daemon=True)
        self._dispatcher.start()
        log.info("analytics worker %s consuming %s", self.name, self.queue.url.split("@")[-1])

    def stop(self, timeout_seconds: float) -> None:
        """Stops taking jobs; finishes the one running within `timeout_seconds` (else it is redelivered)."""
        self.stopping.set()     # exports being written end now, cut short (relay.Writer)
        # All three at once, within one timeout: one after another, a long export would hold the analytics
        # job's stop back, and the analytics consumer would go on taking jobs meanwhile.
        stoppers = [threading.Thread(target=worker.stop, kwargs={"timeout": int(timeout_seconds * 1000)})
                    for worker in (self._export_worker, self._webhook_worker, self._worker) if worker is not None]
        for stopper in stoppers:
            stopper.start()
        for stopper in stoppers:
            stopper.join()
        self.engine.close()
        self.queue.close()


class _SharedBroker(logging.Filter):
    """Drops dramatiq's warning that a Worker's middleware was added to a broker that already has one."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (str(record.msg).startswith("You're adding a middleware of the same type twice")
                    and isinstance(record.args, tuple) and record.args
                    and type(record.args[0]).__name__ == "_WorkerMiddleware")


_SHARED_BROKER = _SharedBroker()


def run(config: Mapping[str, Any], graph: db.Graph, *, nice: int, stop_seconds: float) -> None:
    """The worker's main loop, until SIGTERM or SIGINT."""
    if nice:
        os.nice(nice)
    worker = AnalyticsWorker(config, graph)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    worker.start()
    stop.wait()
    log.info("stopping: finishing the running job (up to %.0f s)", stop_seconds)
    worker.stop(stop_seconds)
    graph.close()


def _problem(error: Exception, retry_after: int) -> Problem:
    """What the web request answers for an export that failed before its first byte: as the HTTP edge
    answers the same errors (service/problems.py: database_problem)."""
    if isinstance(error, Problem):
        return error
    found = database_problem(error, retry_after)
    if found is not None:
        return found
    log.exception("an export failed before its first byte")
    return Problem(500, f"the export failed: {type(error).__name__}", slug="export-failed")


def _now() -> datetime:
    return datetime.now(timezone.utc)
