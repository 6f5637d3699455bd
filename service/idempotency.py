"""Idempotency-Key for POST and sync: a retried request never applies twice.

The first response is stored in the same transaction as the request's effect
(through a hook that Graph.write runs before commit), so a commit whose answer
was lost still has its answer on the next try. A concurrent request with the
same key gets 409 while the first runs; a different body under the same key, 422.
Keys are scoped to the API key that sent them and kept for NETWEAVE_IDEMPOTENCY_TTL.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import json
import re
from dataclasses import dataclass, field
from typing import Any, Callable

from flask import Response, current_app, g, request

from service import auth, db
from service.errors import Problem

HEADER = "Idempotency-Key"
_REPLAYED_HEADERS = ("Content-Type", "ETag", "Location")
_MAX_KEY_LENGTH = 255
# Visible ASCII, no surrounding space (HTTP strips it, so such a key could never be replayed as sent).
_KEY_PATTERN = r"^[!-~]([ -~]*[!-~])?$"


@dataclass
class Pending:
    """An Idempotency-Key claimed by this request; `render` turns the write's result into the response."""

    scope: str
    render: Callable[[Any], Response]
    response: Response | None = field(default=None)

    def finish(self, tx, result: Any) -> None:
        """Run inside the effect's transaction: render the response and store it there."""
        self.response = self.render(result)
        db.run(tx, "idempotency_complete", scope=self.scope, status=self.response.status_code,
               body=self.response.get_data(as_text=True), headers=json.dumps(_kept_headers(self.response)))


def _kept_headers(response: Response) -> dict[str, str]:
    return {name: response.headers[name] for name in _REPLAYED_HEADERS if name in response.headers}


def idempotent(render: Callable[[Any], Response]) -> Callable:
    """Honour Idempotency-Key on a view whose one write returns what `render` shows.

    Place it under @requires (the key scope needs the caller) and above @blp.arguments.
    """

    def decorator(view: Callable) -> Callable:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any):
            key = request.headers.get(HEADER)
            if key is None:
                return view(*args, **kwargs)
            return _run_once(key, render, view, args, kwargs)

        apidoc = wrapper._apidoc = copy.deepcopy(getattr(view, "_apidoc", {}))
        manual = apidoc.setdefault("manual_doc", {})
        manual["parameters"] = [*manual.get("parameters", []), {
            "in": "header", "name": HEADER, "required": False,
            "schema": {"type": "string", "minLength": 1, "maxLength": _MAX_KEY_LENGTH, "pattern": _KEY_PATTERN},
            "description": "retry-safe key: the first response to it is replayed for 24 hours"}]
        auth.add_error_responses(apidoc, 400, 409, 422)
        return wrapper

    return decorator


def _run_once(key: str, render: Callable, view: Callable, args: tuple, kwargs: dict):
    if len(key) > _MAX_KEY_LENGTH or not re.fullmatch(_KEY_PATTERN, key):
        raise Problem(400, f"{HEADER} must be 1-{_MAX_KEY_LENGTH} visible ASCII characters (inner spaces allowed)",
                      slug="bad-idempotency-key")
    scope = f"{auth.current_caller().key_id}:{key}"
    graph = db.get_graph()
    stored = graph.write(_claim, scope, _fingerprint(), current_app.config)
    if stored is not None:
        return stored
    g.idempotency = pending = Pending(scope=scope, render=render)
    try:
        result = view(*args, **kwargs)
    except BaseException:
        g.pop("idempotency", None)
        _release(graph, scope)
        raise
    g.pop("idempotency", None)
    if pending.response is None:  # nothing was written, so there is no effect to protect
        _release(graph, scope)
        return result
    return pending.response


def _claim(tx, scope: str, fingerprint: str, config) -> Response | None:
    """None when this request may run; otherwise the stored response (or a problem) to answer with."""
    ttl, lease = config["NETWEAVE_IDEMPOTENCY_TTL_SECONDS"], config["NETWEAVE_IDEMPOTENCY_LEASE_SECONDS"]
    row = db.run_one(tx, "idempotency_claim", scope=scope, fingerprint=fingerprint, ttl_seconds=ttl,
                     lease_seconds=lease)
    if row["created"]:
        db.run(tx, "idempotency_purge", ttl_seconds=ttl, batch=100)
        return None
    if row["expired"] or (row["state"] == "running" and row["lease_over"]):
        db.run(tx, "idempotency_take_over", scope=scope, fingerprint=fingerprint, lease_seconds=lease)
        return None
    if row["fingerprint"] != fingerprint:
        raise Problem(422, f"this {HEADER} was used for a different request; use a new key",
                      slug="idempotency-key-reused")
    if row["state"] == "running":
        raise Problem(409, f"a request with this {HEADER} is still running; retry later",
                      slug="idempotency-key-in-use", headers={"Retry-After": "1"})
    return _replay(row)


def _replay(row: dict[str, Any]) -> Response:
    response = Response(row["body"], status=row["status"])
    response.headers.update(json.loads(row["headers"] or "{}"))
    response.headers["Idempotent-Replayed"] = "true"
    return response


def _release(graph: db.Graph, scope: str) -> None:
    try:
        graph.write(lambda tx: db.run(tx, "idempotency_release", scope=scope))
    except Exception:  # the lease expires on its own if the database is gone
        current_app.logger.warning("could not release idempotency claim", exc_info=True)


def _fingerprint() -> str:
    digest = hashlib.sha256()
    for part in (request.method, request.path, request.query_string.decode("latin-1")):
        digest.update(part.encode("utf-8") + b"\0")
    digest.update(request.get_data(cache=True))
    return digest.hexdigest()


def current() -> Pending | None:
    return g.get("idempotency")
