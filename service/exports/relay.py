"""Whole-graph exports written by `netweave worker` and relayed to the web request through the queue's Redis.

With a job queue configured (and NETWEAVE_EXPORTS_IN_WORKER on, the default), GET /v1/export sends an
export job to the workers' export queue and streams what the worker writes: the rows are read, shaped and
formatted (XML, JSON, a deflated zip) in the worker, on threads at the lowest CPU priority, and the web
thread only moves bytes from Redis to the socket. An export is seconds of CPU per 100,000 ties that would
otherwise hold a web worker's GIL while partner apps wait (bench/export_load.py measures what it costs them).

**Frames.** Each export has a Redis list, `netweave:export:<id>`; each item is one frame, its first byte
saying what it is: `H` and JSON (the head: the response's headers, or the problem the export failed with
before its first byte), `D` and bytes (a chunk of the document, about 64 KB), `E` and JSON (the end, with
the count of chunks written), `X` and JSON
(failed after the head: the response is cut short, as a database failing mid-export cuts it: see Cut).

**Flow control.** The worker keeps at most BUFFERED chunks in the list and waits while it is fuller, so an
export in flight holds at most a few MB of Redis memory whatever the network's size. A request that goes
away (the client hung up, or nothing came within the wait) sets `netweave:export:<id>:gone`, which stops
the worker at its next chunk; a list nobody drains for `stall_seconds` stops it too (a slow reader that
keeps reading is served). Every key expires. The end frame counts the chunks, so a chunk lost on the
way (an expired or evicted list) cuts the response too.

**At most once.** An export is never run twice: the worker that takes it sets `...:taken` (SET NX), and
a message the broker delivers again after its worker died finds the mark and is dropped; so is one whose
request gave up waiting for a worker (the request sets the mark itself as it gives up). A worker stopping
(SIGTERM) ends the exports it writes with a failed frame, so their responses are cut at once. When a
worker dies mid-export, its request has received part of the file, which a second run could not continue:
it ends its response after `stall_seconds` without a frame (cut short, so the client sees an incomplete
transfer).

The exported bytes pass through Redis for as long as the request takes to read them: keep the queue's
Redis on a private network, as the queue itself already requires (whoever can write to it can send jobs).
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any, Callable, Iterator

import redis

from service.analytics.queue import QueueUnavailable
from service.problems import Problem

log = logging.getLogger(__name__)

KEY = "netweave:export:"
BUFFERED = 32                   # chunks of about 64 KB waiting in Redis at most, per export
HEAD, DATA, END, FAILED = b"H", b"D", b"E", b"X"
_TAKEN_SECONDS = 86_400         # how long a taken mark outlives its export (a redelivery a day later is dropped)
_POLL_FIRST, _POLL_LONGEST = 0.005, 0.1


class Abandoned(Exception):
    """The request that asked for the export went away: the worker stops writing it."""


class Stopped(Exception):
    """The worker writing the export is shutting down: the request's response is cut at once."""


class Cut(Exception):
    """The export stopped before its end (the worker failed or went silent): raised from the response's
    body, so the server drops the connection instead of ending the body and the client sees the file
    incomplete, never a shorter file that looks whole."""


def keys(export_id: str) -> tuple[str, str, str]:
    """(the frames' list, the gone mark, the taken mark) of an export."""
    return KEY + export_id, KEY + export_id + ":gone", KEY + export_id + ":taken"


# --- the web tier: send the job, then relay its frames ---------------------------------------------------

@dataclass
class Relayed:
    """An export a worker is writing: its head (headers) and the rest of its frames as chunks. `blocking`
    is the connection its reads wait on (a long socket timeout), `client` the one for quick commands."""

    blocking: redis.Redis
    client: redis.Redis
    export_id: str
    head: dict[str, Any]
    stall_seconds: float
    _done: bool = False

    def chunks(self) -> Iterator[bytes]:
        frames, _, _ = keys(self.export_id)
        count = 0
        while True:
            frame = _pop(self.blocking, frames, self.stall_seconds)
            if frame is None:
                raise Cut(f"export {self.export_id}: nothing from its worker for {self.stall_seconds:.0f} s")
            kind, body = frame[:1], frame[1:]
            if kind == DATA:
                count += 1
                yield body
            elif kind == END:
                written = json.loads(body)["chunks"]
                if written != count:    # a frame lost on the way (the list expired, Redis evicted it)
                    raise Cut(f"export {self.export_id}: {count} of its {written} chunks arrived")
                self._done = True
                return
            else:
                raise Cut(f"export {self.export_id} failed in the worker after its first byte: "
                          f"{json.loads(body or b'{}').get('detail')}")

    def close(self) -> None:
        """After the response (whole or not): tells the worker to stop when it is still writing."""
        frames, gone, _ = keys(self.export_id)
        try:
            pipe = self.client.pipeline(transaction=False)
            if not self._done:
                pipe.set(gone, 1, ex=_TAKEN_SECONDS)
            pipe.delete(frames)
            pipe.execute()
        except redis.RedisError:
            log.warning("export %s: could not clean up its frames", self.export_id, exc_info=True)


def request(blocking: redis.Redis, client: redis.Redis, send: Callable[[dict[str, Any]], None],
            spec: dict[str, Any], *, start_seconds: float, stall_seconds: float, retry_after: int) -> Relayed:
    """Sends the export job `spec` with `send` and waits up to `start_seconds` for its head; raises the
    export's own problem when it failed before its first byte, and 503 when no worker started it."""
    export_id = uuid.uuid4().hex
    frames, gone, taken = keys(export_id)
    unavailable = Problem(503, "the export queue is unavailable, so exports cannot be made now; reads, writes "
                               "and stored analytics still work", slug="export-unavailable",
                          headers={"Retry-After": str(retry_after)})
    try:
        send({**spec, "export_id": export_id, "stall_seconds": stall_seconds})
        frame = _pop(blocking, frames, start_seconds)
        if frame is None:
            # Giving up: the job is claimed here, so a worker taking it later drops it at once (an export
            # nobody waits for would hold an export thread); when a worker took it just now, the gone mark
            # stops it at its first frame.
            if client.set(taken, "given up", nx=True, ex=_TAKEN_SECONDS):
                raise Problem(503, f"no worker started the export within {start_seconds:.0f} s (none is "
                                   "running, or all are busy with other exports); try again later",
                              slug="export-not-started", headers={"Retry-After": str(retry_after)})
            frame = _pop(blocking, frames, min(start_seconds, 5.0))
            if frame is None:
                client.set(gone, 1, ex=_TAKEN_SECONDS)
                raise Problem(503, "the worker that took the export did not start writing it; try again later",
                              slug="export-not-started", headers={"Retry-After": str(retry_after)})
    except (redis.RedisError, OSError, QueueUnavailable) as error:
        raise unavailable from error
    if frame[:1] != HEAD:       # pragma: no cover - a worker always writes its head first
        raise Problem(500, f"the export {export_id} began with an unexpected frame", slug="export-failed")
    head = json.loads(frame[1:])
    if "problem" in head:
        client.delete(frames)
        problem = head["problem"]
        raise Problem(problem["status"], problem["detail"], slug=problem["slug"], title=problem.get("title"),
                      errors=problem.get("errors"), headers=problem.get("headers"))
    return Relayed(blocking, client, export_id, head, stall_seconds)


def _pop(client: redis.Redis, frames: str, seconds: float) -> bytes | None:
    """The next frame within `seconds`, else None."""
    found = client.blpop([frames], timeout=max(seconds, 0.01))
    return found[1] if found else None


# --- the worker: write the frames ------------------------------------------------------------------------

class Writer:
    """Writes one export's frames, waiting while the request has BUFFERED chunks still to read; raises
    Abandoned when the request went away or read nothing for `stall_seconds`, and Stopped (after a FAILED
    frame, which cuts the response at once) when `stopping` is set: the worker is shutting down."""

    def __init__(self, client: redis.Redis, export_id: str, stall_seconds: float,
                 stopping: threading.Event | None = None):
        self.client, self.stall_seconds = client, stall_seconds
        self.stopping = stopping or threading.Event()
        self.frames, self.gone, self.taken = keys(export_id)
        self.ttl = max(1, int(stall_seconds) + 5)
        self.chunks = 0

    def take(self) -> bool:
        """False when this export was taken before (a redelivered message, or a request that gave up on
        it) or its request already left."""
        if not self.client.set(self.taken, "taken", nx=True, ex=_TAKEN_SECONDS):
            return False
        return not self.client.exists(self.gone)

    def head(self, head: dict[str, Any]) -> None:
        self._push(HEAD + json.dumps(head).encode())

    def data(self, chunk: bytes) -> None:
        self._push(DATA + chunk)
        self.chunks += 1

    def end(self) -> None:
        self._push(END + json.dumps({"chunks": self.chunks}).encode())

    def failed(self, detail: str) -> None:
        try:
            self._push(FAILED + json.dumps({"detail": detail}).encode(), stopping_too=True)
        except (Abandoned, redis.RedisError):
            pass

    def _push(self, frame: bytes, stopping_too: bool = False) -> None:
        if not stopping_too:
            self._unless_stopping()
        pipe = self.client.pipeline(transaction=False)
        pipe.rpush(self.frames, frame)
        pipe.expire(self.frames, self.ttl)
        pipe.exists(self.gone)
        length, _, gone = pipe.execute()
        if gone:
            raise Abandoned("the request went away")
        if length >= BUFFERED and not stopping_too:
            self._drained(BUFFERED // 2)

    def _unless_stopping(self) -> None:
        """Raises Stopped, after a FAILED frame that cuts the response at once, when the worker stops."""
        if self.stopping.is_set():
            self.failed("the worker writing it stopped")
            raise Stopped("the worker is stopping")

    def _drained(self, below: int) -> None:
        """Waits until the request has read the list down below `below`; the stall deadline restarts
        whenever it reads, so a slow reader is served, and one that stopped reading is not."""
        deadline, pause, last = time.monotonic() + self.stall_seconds, _POLL_FIRST, None
        while True:
            self._unless_stopping()
            pipe = self.client.pipeline(transaction=False)
            pipe.llen(self.frames)
            pipe.exists(self.gone)
            pipe.expire(self.frames, self.ttl)
            length, gone, _ = pipe.execute()
            if gone:
                raise Abandoned("the request went away")
            if length < below:
                return
            if last is not None and length < last:
                deadline, pause = time.monotonic() + self.stall_seconds, _POLL_FIRST
            last = length
            if time.monotonic() > deadline:
                raise Abandoned(f"the request read nothing for {self.stall_seconds:.0f} s")
            time.sleep(pause)
            pause = min(pause * 2, _POLL_LONGEST)


def problem_head(problem: Problem) -> dict[str, Any]:
    """The head of an export that failed before its first byte, as the web request raises it again."""
    return {"problem": {"status": problem.status, "detail": problem.detail, "slug": problem.slug,
                        "title": problem.title, "errors": problem.errors, "headers": problem.headers}}
