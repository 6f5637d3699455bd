"""The analytics job queue: Dramatiq on Redis (NETWEAVE_QUEUE_URL).

The web tier asks questions here; `netweave worker` (service/analytics/worker.py) answers them. What the
queue promises, and how:

- **One job per (question, revision).** A job's id is derived from the question's key and the revision
  (`run_id`), and it is sent only by whoever first sets `netweave:analytics:job:<run_id>` (SET NX): two web
  workers asking the same question at the same revision enqueue one job and poll the same run.
- **At most one waiting job per question.** While a job for a question waits on the queue (no worker has
  started it), `netweave:analytics:waiting:<key>` holds its run id, and an ask at a later revision polls
  that run instead of sending another: the worker reads the graph when it starts the job, so the waiting
  job answers the later revision too (the worker computes at the revision of the moment it starts it). The
  worker clears the mark as it starts (`started`), and the next ask sends a new job. Under a steady stream
  of writes each question is then computed back to back at most, not once per revision asked
  (bench/load.py: one job per analytics GET had the worker recomputing without pause). The mark lasts at
  most WAITING_SECONDS: a job waiting longer lets one more through.
- **At least once.** Dramatiq's Redis broker acknowledges a message only after its actor returned. A
  worker that dies (SIGKILL, a lost machine) stops sending heartbeats; after `heartbeat_seconds` the
  maintenance that every worker's queue commands run by chance (`maintenance_chance` in a million) moves
  its unacknowledged messages back onto the queue, and another worker runs them.
- **No report stored twice.** The worker skips a job whose report is already stored at its revision or a
  later one, and the store keeps one report per question, replaced only by a later revision
  (analytics_report_put), so a redelivered job at most recomputes.
- **A stopped worker** (SIGTERM) stops taking jobs, puts back what it had prefetched, and finishes the job
  it runs within `NETWEAVE_WORKER_STOP_SECONDS`; one it cannot finish stays unacknowledged and is
  redelivered as above.
"""

from __future__ import annotations

import json
import logging
import threading
import uuid
from typing import Any, Callable

import dramatiq
import redis
from dramatiq.brokers.redis import RedisBroker
from dramatiq.middleware import Callbacks, Pipelines, ShutdownNotifications, TimeLimit

log = logging.getLogger(__name__)

QUEUE_NAME = "netweave-analytics"
ACTOR_NAME = "netweave_analytics_question"
JOB_KEY = "netweave:analytics:job:"
WAITING_KEY = "netweave:analytics:waiting:"
# How long a waiting mark lasts at most: an asker that died between marking and sending leaves a mark with
# no job behind it, which holds the question's later revisions back this long; a job that truly waits
# longer (a long queue) only lets a second job for the question through.
WAITING_SECONDS = 60
# KEYS: the question's waiting mark, the run's job key; ARGV: run id, the job key's ttl, the mark's ttl.
# Returns [run id to poll, 1 when this call is to send the job]: one round trip, so two askers never both send.
_CLAIM = """
local waiting = redis.call('GET', KEYS[1])
if waiting then return {waiting, 0} end
if not redis.call('SET', KEYS[2], 'queued', 'NX', 'EX', ARGV[2]) then return {ARGV[1], 0} end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[3])
return {ARGV[1], 1}
"""
# KEYS: the question's waiting mark; ARGV: the run starting. Clears the mark only when it names that run.
_STARTED = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""
# Webhook deliveries (service/webhooks/delivery.py): a queue of their own, so a long analytics job never holds them up.
WEBHOOK_QUEUE_NAME = "netweave-webhooks"
WEBHOOK_ACTOR_NAME = "netweave_webhook_delivery"
WEBHOOK_QUEUED_KEY = "netweave:webhook:queued:"
WEBHOOK_LOCK_KEY = "netweave:webhook:lock:"
# Exports of the whole graph (service/exports/relay.py): a queue of their own, taken by threads of their
# own, so an export starts at once even while a long analytics job runs; never retried (at most once).
EXPORT_QUEUE_NAME = "netweave-exports"
EXPORT_ACTOR_NAME = "netweave_export"
EXPORT_TIME_LIMIT_SECONDS = 6 * 3600
# The socket timeout of the connection export requests block on (BLPOP, up to the longest stall setting).
_BLOCKING_SOCKET_SECONDS = 660.0
_RUN_NAMESPACE = uuid.UUID("5d0c1f1e-7a43-4a8e-9a53-3b4b9f1f2c10")


class QueueUnavailable(Exception):
    """The queue's storage did not answer: new analytics cannot be asked for now."""


def run_id(key: str, revision: int) -> str:
    """The run of a question (its store key) at a revision: the same in every process."""
    return str(uuid.uuid5(_RUN_NAMESPACE, f"{key}@{revision}"))


def canonical(params: dict[str, Any]) -> str:
    return json.dumps(params, sort_keys=True, separators=(",", ":"))


class Queue:
    """A broker on `url` and the one actor analytics jobs go through; `handler` is the worker's function
    (absent in the web tier, which only sends)."""

    def __init__(self, url: str, *, heartbeat_seconds: float = 30.0, maintenance_chance: int = 20_000,
                 time_limit_seconds: float = 3600.0, handler: Callable[[dict], None] | None = None,
                 webhook_handler: Callable[[str], None] | None = None, webhook_time_limit_seconds: float = 300.0,
                 export_handler: Callable[[dict], None] | None = None):
        self.url = url
        # Short socket timeouts: a queue storage that is down must answer a web request in about a second.
        self.client = redis.Redis.from_url(url, socket_connect_timeout=1.0, socket_timeout=5.0)
        # For the calls that block on purpose (an export request waiting for its next chunk).
        self.blocking = redis.Redis.from_url(url, socket_connect_timeout=1.0, socket_timeout=_BLOCKING_SOCKET_SECONDS)
        self.broker = RedisBroker(client=self.client, heartbeat_timeout=int(heartbeat_seconds * 1000),
                                  maintenance_chance=maintenance_chance,
                                  middleware=[TimeLimit(), ShutdownNotifications(), Callbacks(), Pipelines()])
        self.ttl = int(time_limit_seconds)
        self._claim = self.client.register_script(_CLAIM)
        self._started = self.client.register_script(_STARTED)
        self.actor = dramatiq.Actor(handler or _not_here, broker=self.broker, actor_name=ACTOR_NAME,
                                    queue_name=QUEUE_NAME, priority=0,
                                    options={"time_limit": int(time_limit_seconds * 1000), "max_retries": 0})
        self.webhook_ttl = int(webhook_time_limit_seconds)
        self.webhook_actor = dramatiq.Actor(webhook_handler or _not_here, broker=self.broker,
                                            actor_name=WEBHOOK_ACTOR_NAME, queue_name=WEBHOOK_QUEUE_NAME,
                                            priority=0, options={"time_limit": int(webhook_time_limit_seconds * 1000),
                                                                 "max_retries": 0})
        self.export_actor = dramatiq.Actor(export_handler or _not_here, broker=self.broker,
                                           actor_name=EXPORT_ACTOR_NAME, queue_name=EXPORT_QUEUE_NAME, priority=0,
                                           options={"time_limit": EXPORT_TIME_LIMIT_SECONDS * 1000, "max_retries": 0})

    def send_export(self, spec: dict[str, Any]) -> None:
        """Puts an export job on the export queue (service/exports/relay.py waits for its frames). Raises
        QueueUnavailable when the queue's storage does not answer."""
        try:
            self.export_actor.send_with_options(args=(spec,))
        except (redis.RedisError, dramatiq.errors.BrokerError, OSError) as error:
            raise QueueUnavailable(str(error)) from error

    def submit(self, job: dict[str, Any]) -> tuple[str, bool]:
        """Send `job` (it holds its question's store `key` and its `run_id`) unless a job for that run was
        sent already or a job for the same question still waits for a worker; (the run to poll, whether
        this call sent it). Raises QueueUnavailable when the queue's storage does not answer."""
        keys = [WAITING_KEY + job["key"], JOB_KEY + job["run_id"]]
        try:
            polled, send = self._claim(keys=keys, args=[job["run_id"], self.ttl, min(self.ttl, WAITING_SECONDS)])
            if not send:
                return polled.decode() if isinstance(polled, bytes) else polled, False
            try:
                self.actor.send_with_options(args=(job,))
            except Exception:
                self.client.delete(*keys)
                raise
            return job["run_id"], True
        except (redis.RedisError, dramatiq.errors.BrokerError, OSError) as error:
            raise QueueUnavailable(str(error)) from error

    def started(self, job: dict[str, Any]) -> None:
        """A worker starts `job`: an ask from now on sends a job of its own, since this one may read the
        graph before that ask's revision."""
        try:
            self._started(keys=[WAITING_KEY + job["key"]], args=[job["run_id"]])
        except redis.RedisError:
            log.warning("could not clear the waiting mark of run %s", job["run_id"], exc_info=True)

    def submit_delivery(self, webhook_id: str) -> bool:
        """Send one message for the endpoint unless one is waiting already (the taker clears the mark
        when it starts, see `delivery_started`); True when sent."""
        key = WEBHOOK_QUEUED_KEY + webhook_id
        if not self.client.set(key, "queued", nx=True, ex=self.webhook_ttl):
            return False
        try:
            self.webhook_actor.send_with_options(args=(webhook_id,))
        except Exception:
            self.client.delete(key)
            raise
        return True

    def delivery_started(self, webhook_id: str) -> None:
        self.client.delete(WEBHOOK_QUEUED_KEY + webhook_id)

    def endpoint_lock(self, webhook_id: str, seconds: float):
        """The endpoint's sending lock (redis-py's Lock; it expires after `seconds` if its holder died)."""
        return self.client.lock(WEBHOOK_LOCK_KEY + webhook_id, timeout=seconds, blocking=False)

    def forget(self, job_run_id: str) -> None:
        """Let the run be asked for again (after it failed): the next ask enqueues a new job."""
        try:
            self.client.delete(JOB_KEY + job_run_id)
        except redis.RedisError:
            log.warning("could not release the job key of run %s", job_run_id, exc_info=True)

    def ping(self) -> bool:
        try:
            return bool(self.client.ping())
        except redis.RedisError:
            return False

    def close(self) -> None:
        self.broker.close()
        self.blocking.close()


def _not_here(job: dict) -> None:  # pragma: no cover - the web tier's actor only sends
    raise RuntimeError("analytics jobs run in `netweave worker`, not in the web tier")


_QUEUES: dict[str, Queue] = {}
_LOCK = threading.Lock()


def for_url(url: str, **options: Any) -> Queue:
    """The process's sending queue for `url` (one broker and connection pool per process)."""
    with _LOCK:
        queue = _QUEUES.get(url)
        if queue is None:
            queue = _QUEUES[url] = Queue(url, **options)
        return queue
