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




def stale() -> Problem:
    """A write whose If-Match no longer matches the resource's version."""
    return Problem(412, "the resource changed since you read it (If-Match does not match its ETag); GET it again",
                   slug="precondition-failed")
