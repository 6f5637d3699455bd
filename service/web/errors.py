"""The one error path: every error leaves as RFC 9457 application/problem+json (the problems themselves
are service/problems.py)."""

from __future__ import annotations

import logging
from typing import Any, Mapping

from flask import Flask, Response, current_app, json
from neo4j.exceptions import (ConnectionPoolError, ConstraintError, Neo4jError, ServiceUnavailable, SessionExpired,
                              TransientError)
from werkzeug.exceptions import HTTPException

from service.problems import (PROBLEM_CONTENT_TYPE, Problem, as_list, database_problem, field_error,  # noqa: F401
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


def register(app: Flask) -> None:
    """Install the handlers for every error the app can raise (HTTPException is the Api's)."""

    @app.errorhandler(Problem)
    def _problem(problem: Problem):
        return problem_response(problem)

    @app.errorhandler(ServiceUnavailable)
    @app.errorhandler(SessionExpired)
    @app.errorhandler(ConnectionPoolError)
    @app.errorhandler(TransientError)
    @app.errorhandler(ConstraintError)
    @app.errorhandler(Neo4jError)
    def _database(error: Neo4jError):
        problem = database_problem(error, current_app.config["NETWEAVE_RETRY_AFTER_SECONDS"])
        if problem is None:
            return _unexpected(error)
        if problem.status == 503:
            log.warning("neo4j: %s (%s)", problem.slug, getattr(error, "code", None) or type(error).__name__)
        return problem_response(problem)

    @app.errorhandler(Exception)
    def _unexpected(error: Exception):
        if isinstance(error, HTTPException):
            return problem_response(from_http_exception(error))
        log.exception("unhandled error")
        return problem_response(Problem(500, "an unexpected error occurred; it has been logged"))
