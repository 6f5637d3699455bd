"""The one error path: every error leaves as RFC 9457 application/problem+json (the problems themselves
are service/problems.py)."""

from __future__ import annotations

import logging
from typing import Any, Mapping

from flask import Flask, Response, current_app, json
from neo4j.exceptions import (ConnectionPoolError, ConstraintError, Neo4jError, ServiceUnavailable, SessionExpired,
                              TransientError)
from werkzeug.exceptions import HTTPException

from service.problems import (PROBLEM_CONTENT_TYPE, Problem, as_list, field_error,  # noqa: F401
                              flatten_messages, problem_body)

log = logging.getLogger(__name__)


def problem_response(problem: Problem) -> Response:
    response = Response(json.dumps(problem_body(problem)), status=problem.status, mimetype=PROBLEM_CONTENT_TYPE)
    response.headers.update(problem.headers)
    return response


def from_http_exception(error: HTTPException) -> Problem:
    """Map werkzeug's and webargs' HTTP errors (404, 405, 422, ...) to a Problem."""
    status = error.code or 500
    data = getattr(error, "data", None) or {}
    headers = dict(data.get("headers") or {})
    if status == 405 and getattr(error, "valid_methods", None):
        headers["Allow"] = ", ".join(error.valid_methods)
    messages = data.get("messages")
    if messages:
        errors: list[dict[str, Any]] = []
        for location, fields in messages.items():
            if isinstance(fields, Mapping):
                errors.extend(flatten_messages(fields, location))
            else:  # the whole body failed (e.g. not JSON): marshmallow's name for that is _schema
                errors.append({"field": "_schema", "location": location, "messages": as_list(fields)})
        fields_named = ", ".join(sorted({item["field"] for item in errors}))
        return Problem(status, f"invalid input: {fields_named}", slug="validation-error", errors=errors, headers=headers)
    detail = data.get("message") or error.description or ""
    return Problem(status, detail, headers=headers)


# A client's X-Neo4j-Bookmark that decodes but names no transaction of this database.
_BOOKMARK_CODES = frozenset({"Neo.ClientError.Transaction.InvalidBookmark",
                             "Neo.ClientError.Transaction.InvalidBookmarkMixture"})


def register(app: Flask) -> None:
    """Install the handlers for every error the app can raise (HTTPException is the Api's)."""

    @app.errorhandler(Problem)
    def _problem(problem: Problem):
        return problem_response(problem)

    @app.errorhandler(ServiceUnavailable)
    @app.errorhandler(SessionExpired)
    @app.errorhandler(ConnectionPoolError)  # no connection within NEO4J_RETRY_SECONDS: the database is away or saturated
    def _database_unavailable(error: Exception):
        log.warning("neo4j unavailable: %s", type(error).__name__)
        return _unavailable("the graph database is unreachable; retry later", "database-unavailable")

    @app.errorhandler(TransientError)
    def _transient(error: TransientError):
        # Still failing after the driver's retries (NEO4J_RETRY_SECONDS): a deadlock storm, a database
        # being restarted. Worth retrying later, so 503, not 500.
        log.warning("neo4j transient error after retries: %s", error.code)
        if error.code == "Neo.TransientError.Transaction.BookmarkTimeout":
            from service.web.bookmarks import HEADER

            return _unavailable(f"the database has not yet reached the write {HEADER} names (a cluster member "
                                "still catching up); retry later", "bookmark-not-ready",
                                errors=[{"field": HEADER, "location": "headers", "messages": ["not reached yet"]}])
        return _unavailable("the graph database is busy; retry later", "database-busy")

    @app.errorhandler(Neo4jError)
    def _neo4j(error: Neo4jError):
        if error.code in _BOOKMARK_CODES:
            from service.web.bookmarks import HEADER

            return problem_response(field_error(HEADER, "the database does not know this bookmark",
                                                location="headers", status=400))
        if error.code and "TransactionTimedOut" in error.code:
            log.warning("neo4j transaction over NETWEAVE_QUERY_TIMEOUT_SECONDS: %s", error.code)
            return _unavailable("the query took longer than the server allows; retry later or narrow it",
                                "query-timeout")
        return _unexpected(error)

    @app.errorhandler(ConstraintError)
    def _constraint(error: ConstraintError):
        return problem_response(Problem(409, "the change conflicts with existing data (a uniqueness constraint)",
                                        slug="constraint-violation"))

    def _unavailable(detail: str, slug: str, errors: list[dict[str, Any]] | None = None):
        retry_after = str(current_app.config["NETWEAVE_RETRY_AFTER_SECONDS"])
        return problem_response(Problem(503, detail, slug=slug, errors=errors, headers={"Retry-After": retry_after}))

    @app.errorhandler(Exception)
    def _unexpected(error: Exception):
        if isinstance(error, HTTPException):
            return problem_response(from_http_exception(error))
        log.exception("unhandled error")
        return problem_response(Problem(500, "an unexpected error occurred; it has been logged"))
