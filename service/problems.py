"""Errors the service answers on purpose (RFC 9457 problem details): what went wrong, with a stable type
slug, a status and the fields at fault. Raised anywhere, by the data layer as by the views; the HTTP edge
(service/web/errors.py) turns them into application/problem+json responses."""

from __future__ import annotations

from typing import Any, Iterable, Mapping

PROBLEM_CONTENT_TYPE = "application/problem+json"
_TYPE_PREFIX = "urn:netweave:problem:"

# A stable `type` slug per status for errors that do not pick their own.
_DEFAULT_SLUGS = {
    400: "bad-request",
    401: "unauthorized",
    403: "forbidden",
    404: "not-found",
    405: "method-not-allowed",
    406: "not-acceptable",
    409: "conflict",
    410: "gone",
    412: "precondition-failed",
    413: "payload-too-large",
    414: "uri-too-long",
    415: "unsupported-media-type",
    417: "expectation-failed",
    422: "validation-error",
    428: "precondition-required",
    429: "too-many-requests",
    431: "request-header-fields-too-large",
    500: "internal-error",
    501: "not-implemented",
    503: "service-unavailable",
}


class Problem(Exception):
    """An error the API answers on purpose, with a stable type and a human detail."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        slug: str | None = None,
        title: str | None = None,
        errors: list[dict[str, Any]] | None = None,
        headers: Mapping[str, str] | None = None,
        **extra: Any,
    ):
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.slug = slug or _DEFAULT_SLUGS.get(status, "error")
        self.title = title
        self.errors = errors
        self.headers = dict(headers or {})
        self.extra = extra


def field_error(field: str, message: str, *, location: str = "json", status: int = 422) -> Problem:
    """A validation problem that names the one field that failed."""
    return Problem(
        status,
        f"{field}: {message}",
        slug="validation-error",
        errors=[{"field": field, "location": location, "messages": [message]}],
    )


def scope_error(field: str, message: str, scope: str, *, location: str = "query") -> Problem:
    """A 403 naming the one field a key may not use without `scope`, and that scope."""
    return Problem(
        403,
        f"{field}: {message}",
        slug="insufficient-scope",
        errors=[{"field": field, "location": location, "messages": [message]}],
        required_scopes=[scope],
    )


def problem_body(problem: Problem) -> dict[str, Any]:
    from http import HTTPStatus

    body: dict[str, Any] = {
        "type": _TYPE_PREFIX + problem.slug,
        "title": problem.title or HTTPStatus(problem.status).phrase,
        "status": problem.status,
        "detail": problem.detail,
    }
    if problem.errors is not None:
        body["errors"] = problem.errors
    body.update(problem.extra)
    return body


def flatten_messages(messages: Mapping[str, Any], location: str, prefix: str = "") -> list[dict[str, Any]]:
    """webargs' nested {location: {field: [msg]}} as a flat list naming each failing field."""
    flat: list[dict[str, Any]] = []
    for key, value in messages.items():
        field = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, Mapping):
            flat.extend(flatten_messages(value, location, field))
        else:
            flat.append({"field": field, "location": location, "messages": as_list(value)})
    return flat


def as_list(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, Iterable):
        return [str(item) for item in value]
    return [str(value)]




# The request header carrying a client's bookmarks (service/web/bookmarks.py), named by the problems below.
BOOKMARK_HEADER = "X-Neo4j-Bookmark"
# A client's X-Neo4j-Bookmark that decodes but names no transaction of this database.
_BOOKMARK_CODES = frozenset({"Neo.ClientError.Transaction.InvalidBookmark",
                             "Neo.ClientError.Transaction.InvalidBookmarkMixture"})


def database_problem(error: BaseException, retry_after: int) -> Problem | None:
    """What the API answers for a Neo4j error that reached it (None: an unexpected one, a 500): one mapping
    for the HTTP edge (service/web/errors.py) and for work done elsewhere on a request's behalf (an export
    written by `netweave worker`)."""
    from neo4j.exceptions import (ConnectionPoolError, ConstraintError, Neo4jError, ServiceUnavailable,
                                  SessionExpired, TransientError)

    def unavailable(detail: str, slug: str, errors: list[dict[str, Any]] | None = None) -> Problem:
        return Problem(503, detail, slug=slug, errors=errors, headers={"Retry-After": str(retry_after)})

    # No connection within NEO4J_RETRY_SECONDS: the database is away or saturated.
    if isinstance(error, (ServiceUnavailable, SessionExpired, ConnectionPoolError)):
        return unavailable("the graph database is unreachable; retry later", "database-unavailable")
    if isinstance(error, TransientError):
        # Still failing after the driver's retries (NEO4J_RETRY_SECONDS): a deadlock storm, a database
        # being restarted. Worth retrying later, so 503, not 500.
        if error.code == "Neo.TransientError.Transaction.BookmarkTimeout":
            return unavailable(f"the database has not yet reached the write {BOOKMARK_HEADER} names (a cluster "
                               "member still catching up); retry later", "bookmark-not-ready",
                               errors=[{"field": BOOKMARK_HEADER, "location": "headers",
                                        "messages": ["not reached yet"]}])
        return unavailable("the graph database is busy; retry later", "database-busy")
    if isinstance(error, ConstraintError):
        return Problem(409, "the change conflicts with existing data (a uniqueness constraint)",
                       slug="constraint-violation")
    if isinstance(error, Neo4jError):
        if error.code in _BOOKMARK_CODES:
            return field_error(BOOKMARK_HEADER, "the database does not know this bookmark", location="headers",
                               status=400)
        if error.code and "TransactionTimedOut" in error.code:
            return unavailable("the query took longer than the server allows; retry later or narrow it",
                               "query-timeout")
    return None


def stale() -> Problem:
    """A write whose If-Match no longer matches the resource's version."""
    return Problem(412, "the resource changed since you read it (If-Match does not match its ETag); GET it again",
                   slug="precondition-failed")
