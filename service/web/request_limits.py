"""How big a request line and its headers may be, and the problem+json answers to requests over it.

gunicorn refuses oversized or malformed requests itself, before the app sees them, with an HTML page.
So gunicorn.conf.py sets gunicorn's limits above the ones here: the app sees requests up to those
limits and refuses them itself through the one error path (with X-Request-ID, log line and metrics).
What gunicorn still refuses (a request over its own limits, a header holding a control character, a
malformed request line) it answers as problem+json too, through `answer_server_refusals_as_problems`.
"""

from __future__ import annotations

import json
from typing import Any

from apispec import BasePlugin
from flask import Flask, request

from service.problems import PROBLEM_CONTENT_TYPE, Problem, problem_body

# What the app accepts: gunicorn's defaults, so no request that used to pass is refused now.
MAX_REQUEST_LINE = 4094          # bytes of "GET /v1/members?... HTTP/1.1"
MAX_HEADER_LINE = 8190           # bytes of one "Name: value" header line
MAX_HEADER_FIELDS = 100

# What gunicorn accepts (gunicorn.conf.py): above the app's limits, so the app answers those requests.
# 8190 is the longest request line gunicorn reads; the header buffer it allows per request is about
# fields x field size (3.3 MB here, against 0.8 MB with its defaults).
GUNICORN_LIMITS = {"limit_request_line": 8190, "limit_request_field_size": 16380, "limit_request_fields": 200}

# How the OpenAPI document describes these answers (every operation can get them).
DESCRIPTIONS = {
    400: "Bad Request: malformed input, including a header holding a control character",
    414: f"URI Too Long: the request line (method, path, query, version) is over {MAX_REQUEST_LINE:,} bytes",
    431: (f"Request Header Fields Too Large: a header line is over {MAX_HEADER_LINE:,} bytes, or there are more "
          f"than {MAX_HEADER_FIELDS} headers"),
}


def _request_line_bytes(environ: dict[str, Any]) -> int:
    target = environ.get("RAW_URI") or environ.get("REQUEST_URI")
    if target is None:
        query = environ.get("QUERY_STRING", "")
        target = environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "") + (f"?{query}" if query else "")
    # WSGI strings hold the request's bytes as latin-1 characters: one character per byte.
    return len(environ.get("REQUEST_METHOD", "")) + 1 + len(target) + 1 + len(environ.get("SERVER_PROTOCOL", ""))


def _header_lines(environ: dict[str, Any]) -> list[tuple[str, int]]:
    """(name, bytes of "Name: value") of each header; repeated headers arrive joined into one."""
    lines = []
    for key, value in environ.items():
        if key.startswith("HTTP_"):
            name = key[5:]
        elif key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            name = key
        else:
            continue
        lines.append((name.replace("_", "-").title(), len(name) + 2 + len(str(value))))
    return lines


def check_request_size() -> None:
    """Refuse a request line or headers over the limits above (414, 431), before anything else reads them."""
    environ = request.environ
    line = _request_line_bytes(environ)
    if line > MAX_REQUEST_LINE:
        raise Problem(414, f"the request line is {line:,} bytes; this server accepts at most {MAX_REQUEST_LINE:,} "
                           "(shorten the query, or page with the cursor)", max_bytes=MAX_REQUEST_LINE)
    headers = _header_lines(environ)
    if len(headers) > MAX_HEADER_FIELDS:
        raise Problem(431, f"the request has {len(headers)} headers; this server accepts at most "
                           f"{MAX_HEADER_FIELDS}", max_headers=MAX_HEADER_FIELDS)
    for name, size in headers:
        if size > MAX_HEADER_LINE:
            raise Problem(431, f"the {name} header line is {size:,} bytes; this server accepts at most "
                               f"{MAX_HEADER_LINE:,}", header=name, max_bytes=MAX_HEADER_LINE)


def init_app(app: Flask) -> None:
    app.before_request(check_request_size)


# --- gunicorn's own refusals ----------------------------------------------------------------------

_SERVER_HEADERS = {"Content-Type": PROBLEM_CONTENT_TYPE, "Connection": "close",
                   "X-Content-Type-Options": "nosniff", "Content-Security-Policy": "default-src 'none'",
                   "Cache-Control": "no-store"}


def server_refusal(status: int, reason: str, message: str) -> bytes:
    """The whole HTTP answer gunicorn sends for a request it refused: status line, headers, problem."""
    detail = (message or reason)[:300]  # gunicorn's message may quote the request: keep it short
    body = json.dumps(problem_body(Problem(status, detail))).encode("utf-8")
    head = [f"HTTP/1.1 {status} {reason}", *(f"{k}: {v}" for k, v in _SERVER_HEADERS.items()),
            f"Content-Length: {len(body)}", "", ""]
    return "\r\n".join(head).encode("latin-1") + body


def answer_server_refusals_as_problems() -> None:
    """Make the answers gunicorn gives itself (requests it never hands to the app) problem+json, not HTML.

    gunicorn has no setting for their format. Its one writer of them, `util.write_error`, is called only
    by `Worker.handle_error`, which still chooses the status and logs the refusal; only the body changes.
    """
    from gunicorn import util

    def write_problem(sock, status_int: int, reason: str, mesg: str) -> None:
        util.write_nonblock(sock, server_refusal(status_int, reason, mesg))

    util.write_error = write_problem


class RequestLimitDocs(BasePlugin):
    """Declares on every operation the answers any request can get before its view runs: 400, 414, 431."""

    def operation_helper(self, path: str | None = None, operations: dict | None = None, **kwargs) -> None:
        from http import HTTPStatus

        for operation in (operations or {}).values():
            responses = operation.setdefault("responses", {})
            for status in DESCRIPTIONS:
                if status not in responses and str(status) not in responses:
                    responses[status] = HTTPStatus(status).name
