"""Rate limits per API key and route family (Flask-Limiter), with RateLimit headers and 429 problems.

A bucket is (presented key, family): the key is identified by a hash of the bearer secret, so the
limit is checked before (and without) the database lookup that authentication needs; callers with
no key share a bucket per client address. Storage is Redis when REDIS_URL is set (one count across
gunicorn workers and hosts), process memory otherwise (then each worker counts on its own).

A bucket per presented key alone would let a client that invents a new bearer for every request escape
every limit, each made-up key reaching the database lookup. So failed authentications (401) also count per
client address, under the `unauthenticated` limit (30 a minute by default): past it, that address gets 429
before any lookup until the window moves on, whatever key it presents; its valid keys' requests are not
counted there and a known key in this worker's cache is never held back by it.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from typing import Any, Mapping

from flask import Flask, current_app, request
from flask_limiter import Limiter
from limits import parse_many

from service.web.errors import Problem, problem_response

EXTENSION = "netweave.limiter"

# Families, named after the scope their routes need; a blueprint not listed is read (GET) or write.
DEFAULT_RATE_LIMITS: dict[str, str] = {
    "read": "1200/minute",
    "write": "600/minute",
    "sync": "120/minute",
    "analytics": "120/minute",
    "admin": "60/minute",
    # Check-in answers by token (no key): per client address. A school's respondents may share one address.
    "respond": "300/minute",
    # Failed authentications (401) per client address; past it, lookups of unknown keys get 429.
    "unauthenticated": "30/minute",
}
_FAILURES = "auth-failures"
_BLUEPRINT_FAMILIES = {"sync": "sync", "analytics": "analytics", "api_keys": "admin", "respond": "respond",
                       "respond_page": "respond"}


class RateLimitConfigError(ValueError):
    """NETWEAVE_RATE_LIMITS names an unknown family or a limit `limits` cannot parse."""


def rate_limits(overrides: Mapping[str, str] | str | None) -> dict[str, str]:
    """The default limits with `overrides` (a mapping, or JSON from the environment) on top, checked."""
    if isinstance(overrides, str):
        try:
            overrides = json.loads(overrides)
        except ValueError as exc:
            raise RateLimitConfigError(f"NETWEAVE_RATE_LIMITS: not JSON: {exc}") from None
    if not isinstance(overrides, (Mapping, type(None))):
        raise RateLimitConfigError("NETWEAVE_RATE_LIMITS: a JSON object family -> limit")
    limits = dict(DEFAULT_RATE_LIMITS)
    for family, value in (overrides or {}).items():
        if family not in limits:
            raise RateLimitConfigError(f"NETWEAVE_RATE_LIMITS: unknown family {family!r} "
                                       f"(one of {', '.join(DEFAULT_RATE_LIMITS)})")
        try:
            parse_many(value)
        except (ValueError, TypeError):
            raise RateLimitConfigError(f"NETWEAVE_RATE_LIMITS: {family}: {value!r} is not a limit "
                                       "such as '100/minute'") from None
        limits[family] = value
    return limits


def family() -> str:
    """The route family of the current request: its scope's name."""
    mapped = _BLUEPRINT_FAMILIES.get(request.blueprint or "")
    if mapped:
        return mapped
    return "read" if request.method in ("GET", "HEAD") else "write"


def bucket() -> str:
    """Who is counted: a hash of the presented key (never the key itself), else the client address."""
    scheme, _, secret = (request.headers.get("Authorization") or "").partition(" ")
    secret = secret.strip()
    if scheme.lower() == "bearer" and secret:
        who = "key:" + hashlib.sha256(secret.encode("utf-8")).hexdigest()[:32]
    else:
        who = "addr:" + (request.remote_addr or "unknown")
    return f"{who}:{family()}"


def _address() -> str:
    return request.remote_addr or "unknown"


def _failure_limit():
    return parse_many(current_app.config["NETWEAVE_RATE_LIMITS"]["unauthenticated"])[0]


def _active_limiter() -> Limiter | None:
    limiter = current_app.extensions.get(EXTENSION)
    return limiter if limiter is not None and limiter.enabled else None


def refuse_repeated_failures() -> None:
    """429 when this client address failed authentication more often than its limit allows: called before
    a key is looked up in the database, so invented keys cost nothing past the limit."""
    limiter = _active_limiter()
    if limiter is None:
        return
    limit = _failure_limit()
    try:
        if limiter.limiter.test(limit, _FAILURES, _address()):
            return
        reset_at, _ = limiter.limiter.get_window_stats(limit, _FAILURES, _address())
    except Exception:   # the storage is away: as for every limit, requests pass (and it is logged by it)
        return
    retry = max(1, math.ceil(reset_at - time.time()))
    raise Problem(429, f"too many failed authentications from this address ({limit.amount} per "
                       f"{limit.get_expiry()} s); retry after the Retry-After seconds with a valid API key",
                  slug="rate-limited", headers={"Retry-After": str(retry)}, family="unauthenticated")


def count_failure() -> None:
    """Counts a failed authentication against the client address."""
    limiter = _active_limiter()
    if limiter is None:
        return
    try:
        limiter.limiter.hit(_failure_limit(), _FAILURES, _address())
    except Exception:
        return


def _current_limit() -> str:
    return current_app.config["NETWEAVE_RATE_LIMITS"][family()]


def _not_limited() -> bool:
    # Health, metrics, docs and CORS preflights are never limited: only the data API is.
    return not request.path.startswith("/v1/") or request.method == "OPTIONS"


def init_app(app: Flask) -> Limiter:
    storage = app.config.get("REDIS_URL") or "memory://"
    limiter = Limiter(
        bucket,
        app=app,
        application_limits=[_current_limit],
        storage_uri=storage,
        strategy="moving-window",
        headers_enabled=False,  # our own headers below: the IETF RateLimit fields and Retry-After
        swallow_errors=True,  # a Redis outage must not take the API down: requests pass, and it is logged
        key_prefix="netweave",
    )
    limiter.request_filter(_not_limited)
    app.extensions[EXTENSION] = limiter
    app.register_error_handler(429, _too_many_requests)
    app.after_request(_rate_limit_headers)
    return limiter


def _window(limiter: Limiter) -> dict[str, Any] | None:
    current = limiter.current_limit
    if current is None:
        return None
    window = current.limit.get_expiry()
    # The storage rounds its reset time up to a whole second: never announce more than one window.
    reset_in = min(window, max(0, math.ceil(current.reset_at - time.time())))
    return {"limit": current.limit.amount, "remaining": max(0, current.remaining), "reset": reset_in,
            "window": window}


def _rate_limit_headers(response):
    window = _window(current_app.extensions[EXTENSION]) if not _not_limited() else None
    if window:
        response.headers["RateLimit-Policy"] = f'{window["limit"]};w={window["window"]}'
        response.headers["RateLimit"] = (f'limit={window["limit"]}, remaining={window["remaining"]}, '
                                         f'reset={window["reset"]}')
        if response.status_code == 429:
            response.headers["Retry-After"] = str(max(1, window["reset"]))
    return response


def _too_many_requests(error):
    window = _window(current_app.extensions[EXTENSION]) or {}
    return problem_response(Problem(
        429, f"rate limit for {family()} requests reached ({window.get('limit')} per "
             f"{window.get('window')} s for this API key); retry after the Retry-After seconds",
        slug="rate-limited", headers={"Retry-After": str(max(1, window.get("reset", 1)))},
        family=family()))
