"""Security headers on every response, and CORS for an explicit allow-list of origins only.

No origin is allowed unless NETWEAVE_CORS_ORIGINS names it: a browser app on another origin gets no
Access-Control-Allow-Origin and so cannot read answers, and its preflights are refused.
"""

from __future__ import annotations

from typing import Iterable

from flask import Flask, Response, current_app, request

from service.web.errors import Problem, problem_response

# JSON and YAML answers never load anything; HTML pages (the Swagger UI at /docs) load only their
# own assets. Neither may be framed (clickjacking).
_API_CSP = "default-src 'none'; frame-ancestors 'none'"
# Swagger UI sets inline styles, so styles keep 'unsafe-inline'; its scripts are files of this origin only.
_HTML_CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
             "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")

CORS_METHODS = "GET, POST, PUT, PATCH, DELETE"
CORS_REQUEST_HEADERS = "Authorization, Content-Type, If-Match, Idempotency-Key, X-Request-ID"
CORS_EXPOSED_HEADERS = ("ETag, Location, Retry-After, X-Request-ID, RateLimit, RateLimit-Policy")
CORS_MAX_AGE_SECONDS = 600


def origins(value: str | Iterable[str] | None) -> frozenset[str]:
    """NETWEAVE_CORS_ORIGINS (comma-separated, e.g. https://app.example.org) as a set; empty by default."""
    if not value:
        return frozenset()
    items = value.split(",") if isinstance(value, str) else list(value)
    found = {item.strip().rstrip("/") for item in items if item.strip()}
    for origin in found:
        if origin == "*" or not origin.startswith(("https://", "http://")):
            raise ValueError(f"NETWEAVE_CORS_ORIGINS: {origin!r} is not an origin such as https://app.example.org")
    return frozenset(found)


def _allowed_origin() -> str | None:
    origin = request.headers.get("Origin")
    return origin if origin and origin in current_app.config["NETWEAVE_CORS_ORIGINS"] else None


def _preflight() -> Response | None:
    """Answer a CORS preflight here, before auth and rate limits (browsers send it without credentials)."""
    if request.method != "OPTIONS" or "Access-Control-Request-Method" not in request.headers:
        return None
    origin = _allowed_origin()
    if origin is None:
        return problem_response(Problem(403, "this origin is not in NETWEAVE_CORS_ORIGINS", slug="cors-forbidden"))
    response = Response(status=204)
    response.headers["Access-Control-Allow-Methods"] = CORS_METHODS
    response.headers["Access-Control-Allow-Headers"] = CORS_REQUEST_HEADERS
    response.headers["Access-Control-Max-Age"] = str(CORS_MAX_AGE_SECONDS)
    return response


def _headers(response: Response) -> Response:
    headers = response.headers
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Referrer-Policy", "no-referrer")
    headers.setdefault("Content-Security-Policy", _HTML_CSP if response.mimetype == "text/html" else _API_CSP)
    if request.path.startswith("/v1/"):
        # Every /v1 answer is authenticated data and may hold personal data: no cache keeps it.
        headers["Cache-Control"] = "no-store"
        response.vary.add("Authorization")
    origin = _allowed_origin()
    if origin is not None:
        headers["Access-Control-Allow-Origin"] = origin
        headers["Access-Control-Expose-Headers"] = CORS_EXPOSED_HEADERS
    if request.headers.get("Origin") is not None:
        response.vary.add("Origin")
    return response


def init_app(app: Flask) -> None:
    app.before_request(_preflight)
    app.after_request(_headers)
