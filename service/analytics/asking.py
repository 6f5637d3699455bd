"""How the web tier answers an analytics question when analytics run in `netweave worker`: it only reads the
stored report and enqueues.

An answer is one of three:
- the stored report when it describes the current revision (or a later one);
- the last stored report marked `stale` (with its revision, `age_seconds` and the `run_id` computing the
  current one): at once when a job for the question already waits on the queue or the report is younger
  than `min_interval`; else the request sends the job and waits for it up to `queue_wait_seconds` first
  (polling the store: waiting holds no CPU, but it holds a web thread);
- Pending (202 and a run to poll) when nothing was ever stored for the question, after waiting up to
  `sync_seconds` for the first report.

Before any job has run for a question, every web worker answers the same way: 202 with the same run id
(the job waiting for the question, derived from the question and the revision it was sent at). With the
queue's storage down, stored reports are still served (stale when older than the revision), and a question
without one answers 503 with Retry-After.
"""

from __future__ import annotations

import time
from typing import Any

from service.analytics.engine import Pending, Run, Settings, marked
from service.analytics.queue import Queue, QueueUnavailable, run_id as run_id_of
from service.analytics.store import SharedStore, key_of
from service.problems import Problem

_FIRST_POLL, _LONGEST_POLL = 0.05, 0.5


def ask(store: SharedStore, queue: Queue, settings: Settings, revision: int, args: tuple, job: dict[str, Any],
        *, retry_after: int) -> dict:
    """The report for `args` (question first) at `revision`; `job` is what the worker needs to compute it."""
    question, key = args[0], key_of(args)
    stored = store.report(key)
    if stored is not None and stored[0] >= revision:
        return marked(stored[1], cached=True)
    if stored is not None and settings.min_interval > 0 and stored[2] > time.time() - settings.min_interval:
        return _stale(stored, None)
    try:
        run_id, sent = enqueue(store, queue, args, job, revision)
    except QueueUnavailable:
        if stored is not None:
            return _stale(stored, None)
        raise Problem(503, "the analytics queue is unavailable, so this question cannot be computed now; "
                           "reads, writes and stored analytics still work", slug="analytics-unavailable",
                      headers={"Retry-After": str(retry_after)}) from None
    # With an earlier report to fall back on, the request waits only briefly, and only when it sent the
    # job: a web thread held while the worker computes is one partner app's request not served (bench/load.py:
    # with the full 25 s wait, the mix's throughput halved under analytics; with a 0.5 s wait on every
    # stale answer, it fell to 0.74x). With none, it waits up to sync_seconds before 202.
    if stored is not None and not sent:
        return _stale(stored, run_id)
    wait = min(settings.queue_wait_seconds, settings.sync_seconds) if stored is not None else settings.sync_seconds
    fresh = _wait(store, key, revision, run_id, wait)
    if fresh is not None:
        return fresh
    if stored is not None:
        return _stale(stored, run_id)
    raise Pending(Run(id=run_id, kind=question, status="queued"))


def enqueue(store: SharedStore, queue: Queue, args: tuple, job: dict[str, Any], revision: int) -> tuple[str, bool]:
    """Puts the question on the queue unless a job for it at `revision` was put there already or one for
    it still waits for a worker (service/analytics/queue.py); (the run to poll, whether this call sent it).
    Raises QueueUnavailable."""
    key = key_of(args)
    run_id, sent = queue.submit({**job, "question": args[0], "key": key, "revision": revision,
                                 "run_id": run_id_of(key, revision)})
    if sent:
        store.queued(run_id, key, args[0])
    return run_id, sent


def _wait(store: SharedStore, key: str, revision: int, run_id: str, seconds: float) -> dict | None:
    """The report at `revision` once the worker stored it, within `seconds`; None when it did not come, or
    when the run ended with a report of an earlier revision (the caller answers stale, or 202)."""
    deadline, pause = time.monotonic() + seconds, _FIRST_POLL
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return None
        time.sleep(min(pause, left))
        pause = min(pause * 1.5, _LONGEST_POLL)
        stored = store.report(key)
        if stored is not None and stored[0] >= revision:
            return marked(stored[1], cached=False)
        run = store.run(run_id)
        if run is not None and run["status"] == "failed":
            raise Problem(500, f"the analytics run {run_id} failed: {run['error']}", slug="analytics-failed",
                          run_id=run_id)
        if run is not None and run["status"] == "done":     # its report is stored before the run is done
            stored = store.report(key)
            return marked(stored[1], cached=False) if stored is not None and stored[0] >= revision else None


def _stale(stored: tuple[int, dict, float], run_id: str | None) -> dict:
    age = round(max(0.0, time.time() - stored[2]), 3)
    return marked(stored[1], cached=True, stale=True, age_seconds=age,
                  **({"run_id": run_id} if run_id is not None else {}))
