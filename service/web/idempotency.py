"""Idempotency-Key for POST and sync: a retried request never applies twice.

The first response is stored in the same transaction as the request's effect (the request hands its
record to the data layer with db.joining, and the first Graph.write stores the response before commit),
so a commit whose answer was lost still has its answer on the next try. A concurrent request with the
same key gets 409 while the first runs; a different body under the same key, 422.
Keys are scoped to the API key that sent them and kept for NETWEAVE_IDEMPOTENCY_TTL.

A claim is held under a short lease (NETWEAVE_IDEMPOTENCY_LEASE_SECONDS, 10) that the request renews
every third of a lease while it runs. A request that ends in an error releases its claim; when it cannot
(the database went down under it, or its process died) the renewals stop with it and a retry takes the key
over within one lease once the database answers again, instead of meeting 409 for minutes. Each claim has
its own token: a request whose claim was taken over cannot store its response, so its effect rolls back
rather than apply twice.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import json
import logging
import re
import threading
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable

from flask import Response, current_app, request

from service import db
from service.web import auth
from service.problems import Problem
from service.web import get_graph

log = logging.getLogger(__name__)

HEADER = "Idempotency-Key"
_REPLAYED_HEADERS = ("Content-Type", "ETag", "Location")
_MAX_KEY_LENGTH = 255
# Visible ASCII, no surrounding space (HTTP strips it, so such a key could never be replayed as sent).
_KEY_PATTERN = r"^[!-~]([ -~]*[!-~])?$"


@dataclass
class Pending:
    """An Idempotency-Key claimed by this request; `render` turns the write's result into the response."""

    scope: str
    claim: str
    render: Callable[[Any], Response]
    replay: Callable[[Any], Response] | None = None
    response: Response | None = field(default=None)

    def finish(self, tx, result: Any) -> None:
        """Run inside the effect's transaction: render the response and store it there (a Problem, so the
        effect rolls back, when another request took the claim over meanwhile). With `replay`, what is
        stored (and replayed) is its rendering instead: a response holding a secret shown once."""
        response = self.render(result)
        kept = self.replay(result) if self.replay is not None else response
        row = db.run_one(tx, "idempotency_complete", scope=self.scope, claim=self.claim,
                         status=kept.status_code, body=kept.get_data(as_text=True),
                         headers=json.dumps(_kept_headers(kept)))
        if not row["completed"]:
            raise _in_use("this request's claim on it ran out and another request took it over")
        self.response = response


def _kept_headers(response: Response) -> dict[str, str]:
    return {name: response.headers[name] for name in _REPLAYED_HEADERS if name in response.headers}


def idempotent(render: Callable[[Any], Response], replay: Callable[[Any], Response] | None = None) -> Callable:
    """Honour Idempotency-Key on a view whose one write returns what `render` shows; `replay`, when given,
    renders what a retry gets instead (the first response alone may show a secret).

    Place it under @requires (the key scope needs the caller) and above @blp.arguments.
    """

    def decorator(view: Callable) -> Callable:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any):
            key = request.headers.get(HEADER)
            if key is None:
                return view(*args, **kwargs)
            return _run_once(key, render, view, args, kwargs, replay)

        apidoc = wrapper._apidoc = copy.deepcopy(getattr(view, "_apidoc", {}))
        manual = apidoc.setdefault("manual_doc", {})
        manual["parameters"] = [*manual.get("parameters", []), {
            "in": "header", "name": HEADER, "required": False,
            "schema": {"type": "string", "minLength": 1, "maxLength": _MAX_KEY_LENGTH, "pattern": _KEY_PATTERN},
            "description": "retry-safe key: the first response to it is replayed for 24 hours"}]
        auth.add_error_responses(apidoc, 400, 409, 422)
        return wrapper

    return decorator


def _run_once(key: str, render: Callable, view: Callable, args: tuple, kwargs: dict,
              replay: Callable | None = None):
    if len(key) > _MAX_KEY_LENGTH or not re.fullmatch(_KEY_PATTERN, key):
        raise Problem(400, f"{HEADER} must be 1-{_MAX_KEY_LENGTH} visible ASCII characters (inner spaces allowed)",
                      slug="bad-idempotency-key")
    scope, claim = f"{auth.current_caller().key_id}:{key}", uuid.uuid4().hex
    graph = get_graph()
    lease_seconds = current_app.config["NETWEAVE_IDEMPOTENCY_LEASE_SECONDS"]
    stored = graph.write(_claim, scope, claim, _fingerprint(), current_app.config)
    if stored is not None:
        return stored
    pending = Pending(scope=scope, claim=claim, render=render, replay=replay)
    lease = Lease(graph, scope, claim, lease_seconds)
    try:
        with db.joining(pending):
            result = view(*args, **kwargs)
    except BaseException:
        lease.stop()
        _release(graph, scope, claim)
        raise
    lease.stop()
    if pending.response is None:  # nothing was written, so there is no effect to protect
        _release(graph, scope, claim)
        return result
    return pending.response


class Lease:
    """Renews a running claim every third of its lease until stopped, on a daemon thread: the claim lives
    exactly as long as its request (a renewal that fails is logged; the lease then runs out on its own)."""

    def __init__(self, graph: db.Graph, scope: str, claim: str, seconds: float):
        self._stopped = threading.Event()
        self._renew = functools.partial(_renew, graph, scope, claim, seconds)
        self._interval = max(seconds / 3, 0.1)
        threading.Thread(target=self._run, name="idempotency-lease", daemon=True).start()

    def _run(self) -> None:
        while not self._stopped.wait(self._interval):
            try:
                if not self._renew():
                    return          # completed, released or taken over: nothing left to hold
            except Exception:       # the database is away; the lease runs out unless it comes back in time
                log.warning("could not renew an idempotency claim", exc_info=True)

    def stop(self) -> None:
        self._stopped.set()


def _renew(graph: db.Graph, scope: str, claim: str, seconds: float) -> int:
    return graph.write_step(lambda tx: db.run_one(tx, "idempotency_renew", scope=scope, claim=claim,
                                                  lease_seconds=seconds)["renewed"])


def _in_use(why: str) -> Problem:
    return Problem(409, f"a request with this {HEADER} is still running; retry later ({why})",
                   slug="idempotency-key-in-use", headers={"Retry-After": "1"})


def _claim(tx, scope: str, claim: str, fingerprint: str, config) -> Response | None:
    """None when this request may run; otherwise the stored response (or a problem) to answer with."""
    ttl, lease = config["NETWEAVE_IDEMPOTENCY_TTL_SECONDS"], config["NETWEAVE_IDEMPOTENCY_LEASE_SECONDS"]
    row = db.run_one(tx, "idempotency_claim", scope=scope, claim=claim, fingerprint=fingerprint,
                     ttl_seconds=ttl, lease_seconds=lease)
    if row["created"]:
        db.run(tx, "idempotency_purge", ttl_seconds=ttl, batch=100)
        return None
    if row["expired"] or (row["state"] == "running" and row["lease_over"]):
        db.run(tx, "idempotency_take_over", scope=scope, claim=claim, fingerprint=fingerprint,
               lease_seconds=lease)
        return None
    if row["fingerprint"] != fingerprint:
        raise Problem(422, f"this {HEADER} was used for a different request; use a new key",
                      slug="idempotency-key-reused")
    if row["state"] == "running":
        raise _in_use("its lease is renewed while it runs")
    return _replay(row)


def _replay(row: dict[str, Any]) -> Response:
    response = Response(row["body"], status=row["status"])
    response.headers.update(json.loads(row["headers"] or "{}"))
    response.headers["Idempotent-Replayed"] = "true"
    return response


def _release(graph: db.Graph, scope: str, claim: str) -> None:
    try:
        graph.write(lambda tx: db.run(tx, "idempotency_release", scope=scope, claim=claim))
    except Exception:  # the lease runs out on its own (no renewals) if the database is gone
        current_app.logger.warning("could not release idempotency claim", exc_info=True)


def _fingerprint() -> str:
    digest = hashlib.sha256()
    for part in (request.method, request.path, request.query_string.decode("latin-1")):
        digest.update(part.encode("utf-8") + b"\0")
    digest.update(request.get_data(cache=True))
    return digest.hexdigest()

