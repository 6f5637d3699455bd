"""API keys: stored as SHA-256 hashes, carried as `Authorization: Bearer <key>`, checked per scope."""

from __future__ import annotations

import copy
import functools
import hmac
import threading
import time
import uuid
from datetime import datetime, timezone
from typing import Any, Callable

from flask import current_app, has_app_context, request

from service import callers, db
from service.callers import Caller
from schemas.keys import SCOPES  # noqa: F401 (the scopes a key may hold, for callers)
from service.problems import Problem, field_error
from service.repositories.api_keys import BOOTSTRAP_KEY_ID, hash_key  # noqa: F401 (the seeded key, for callers)
from service.web import bookmarks, get_graph, limits

SECURITY_SCHEME = "bearerAuth"


def authenticate(header: str | None) -> Caller:
    """The caller behind an Authorization header, or a 401 problem."""
    if not header:
        raise _unauthorized("an API key is required: send 'Authorization: Bearer <key>'")
    scheme, _, secret = header.partition(" ")
    secret = secret.strip()
    if scheme.lower() != "bearer" or not secret:
        raise _unauthorized("the Authorization header must be 'Bearer <key>'")
    presented = hash_key(secret)
    row = _key_cache().get(presented)
    if row is None:
        limits.refuse_repeated_failures()
        row = get_graph().read(_key_by_hash, presented)
        if row is not None and row["revoked_at"] is None:
            _key_cache().put(presented, row)
    # The lookup is by hash, so its timing says nothing about the secret; the compare is
    # constant-time all the same, so equality never short-circuits on a stored value.
    if row is None or not hmac.compare_digest(row["hash"], presented) or row["revoked_at"] is not None:
        raise _unauthorized("the API key is unknown or revoked")
    if row["expires_at"] is not None and row["expires_at"] <= datetime.now(timezone.utc):
        raise _unauthorized(f"the API key expired at {row['expires_at'].isoformat()}; use its successor",
                            slug="key-expired")
    return Caller(key_id=row["id"], name=row["name"], scopes=frozenset(row["scopes"]))


def _key_by_hash(tx, key_hash: str):
    return db.run_one(tx, "api_key_by_hash", hash=key_hash)


class KeyCache:
    """Live keys this worker has looked up, by hash, for a few seconds (NETWEAVE_KEY_CACHE_SECONDS).

    The lookup was a read transaction of its own on every request, a quarter of the CPU of a
    recommendation. A revocation or rotation made through this worker clears the cache at once; one
    made through another worker or process takes effect here within the TTL. Expiry is checked on every
    use, so a cached key still stops at its `expires_at`. Unknown and revoked keys are never cached.
    """

    def __init__(self, ttl: float):
        self.ttl = ttl
        self._rows: dict[str, tuple[float, dict[str, Any]]] = {}
        self._lock = threading.Lock()

    def get(self, key_hash: str) -> dict[str, Any] | None:
        entry = self._rows.get(key_hash)
        if entry is None or time.monotonic() - entry[0] >= self.ttl:
            return None
        return entry[1]

    def put(self, key_hash: str, row: dict[str, Any]) -> None:
        if self.ttl <= 0:
            return
        with self._lock:
            if len(self._rows) >= _KEY_CACHE_SIZE:
                self._rows.clear()
            self._rows[key_hash] = (time.monotonic(), row)

    def clear(self) -> None:
        with self._lock:
            self._rows.clear()


_KEY_CACHE_SIZE = 10_000
_KEY_CACHE = "netweave.key_cache"


def _key_cache() -> KeyCache:
    cache = current_app.extensions.get(_KEY_CACHE)
    if cache is None:
        ttl = current_app.config["NETWEAVE_KEY_CACHE_SECONDS"]
        cache = current_app.extensions.setdefault(_KEY_CACHE, KeyCache(ttl))
    return cache


def forget_cached_keys() -> None:
    """After a key was revoked, rotated or re-seeded: this worker looks every key up again."""
    if has_app_context() and _KEY_CACHE in current_app.extensions:
        current_app.extensions[_KEY_CACHE].clear()


def _unauthorized(detail: str, slug: str | None = None) -> Problem:
    return Problem(401, detail, slug=slug, headers={"WWW-Authenticate": 'Bearer realm="netweave"'})


def current_caller() -> Caller:
    caller = callers.current()
    if caller is None:
        raise RuntimeError("no API key was accepted for this request")
    return caller


caller_sees_pii = callers.sees_pii
caller_sees_external_ids = callers.sees_external_ids


def forget_caller() -> None:
    """Before each request: nobody is the caller until its key is accepted."""
    callers.become(None)


def requires(scope: str, *alternatives: str) -> Callable:
    """Require an API key holding `scope` (or one of `alternatives`); documents security and 401/403."""
    accepted = (scope, *alternatives)

    def decorator(view: Callable) -> Callable:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any):
            try:
                caller = authenticate(request.headers.get("Authorization"))
            except Problem as problem:
                if problem.status == 401:
                    limits.count_failure()
                raise
            if not any(caller.has(s) for s in accepted):
                raise Problem(403, f"this API key lacks the '{' or '.join(accepted)}' scope",
                              slug="insufficient-scope", required_scopes=list(accepted))
            callers.become(caller)
            bookmarks.read_header()
            _check_path_ids(kwargs)
            return view(*args, **kwargs)

        apidoc = copy.deepcopy(getattr(view, "_apidoc", {}))
        manual = apidoc.setdefault("manual_doc", {})
        manual["security"] = [{SECURITY_SCHEME: []}]
        manual.setdefault("description", "")
        manual["description"] = (manual["description"] + f"\n\nRequires scope: `{' | '.join(accepted)}`.").strip()
        add_error_responses(apidoc, 401, 403, 429, 503)
        wrapper._apidoc = apidoc
        return wrapper

    return decorator


def _check_path_ids(view_args: dict[str, Any]) -> None:
    """Every `*_id` in the path is an API-assigned UUID; anything else is a 422 naming it."""
    for name, value in view_args.items():
        if name.endswith("_id"):
            try:
                uuid.UUID(value)
            except (ValueError, TypeError):
                raise field_error(name, "not a valid id (a UUID)", location="path") from None


def add_error_responses(apidoc: dict[str, Any], *statuses: int) -> None:
    """Reference the shared problem+json response of each status in an operation's doc."""
    from http import HTTPStatus

    responses = apidoc.setdefault("response", {}).setdefault("responses", {})
    for status in statuses:
        refs = responses.setdefault(status, [])
        name = HTTPStatus(status).name
        if name not in refs:
            refs.append(name)


