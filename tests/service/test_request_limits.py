"""Oversized and malformed requests get problem+json under the real server (`netweave serve`, gunicorn):
from the app up to gunicorn's raised limits, from gunicorn itself beyond them and for bytes it refuses."""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import socket
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from service.web import request_limits
from service.web.request_limits import MAX_HEADER_FIELDS, MAX_HEADER_LINE, MAX_REQUEST_LINE
from tests.conftest import ADMIN_SECRET, UNLIMITED
from tests.support import stop, wait_until_serving

ROOT = Path(__file__).resolve().parents[2]
GUNICORN_LINE = request_limits.GUNICORN_LIMITS["limit_request_line"]
GUNICORN_FIELD = request_limits.GUNICORN_LIMITS["limit_request_field_size"]
GUNICORN_FIELDS = request_limits.GUNICORN_LIMITS["limit_request_fields"]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def _serving(neo4j_settings, log: Path, rate_limits: dict, workers: int = 1):
    """`netweave serve` on a free port with these rate limits, until the block ends."""
    port = _free_port()
    env = {**os.environ, **{k: v for k, v in neo4j_settings.items() if v}, "NETWEAVE_ADMIN_KEY": ADMIN_SECRET,
           "NETWEAVE_RATE_LIMITS": json.dumps(rate_limits)}
    with log.open("wb") as sink:
        process = subprocess.Popen([sys.executable, "-c", "from service.cli.main import main; main()", "serve",
                                    "--port", str(port), "--workers", str(workers)], env=env, stdout=sink,
                                   stderr=subprocess.STDOUT, cwd=ROOT)
    try:
        wait_until_serving(port, process, log=log, path="/healthz")
        yield port
    finally:
        stop(process)


@pytest.fixture(scope="module")
def server(neo4j_settings, tmp_path_factory):
    with _serving(neo4j_settings, tmp_path_factory.mktemp("limits") / "gunicorn.log", UNLIMITED) as port:
        yield port


def test_under_gunicorn_invented_bearers_are_limited_per_address(neo4j_settings, tmp_path):
    """The probe's bypass: 150 requests, each with a new made-up bearer, against two workers. Failed
    authentications count per address (in each worker's memory without REDIS_URL, so up to workers x the
    limit pass), and the rest are refused with 429 problem+json before any key lookup."""
    limits = {**UNLIMITED, "unauthenticated": "10/minute"}
    with _serving(neo4j_settings, tmp_path / "gunicorn.log", limits, workers=2) as port:
        answers = [_send(port, "/v1/members?limit=1", [("Authorization", f"Bearer nw_{uuid.uuid4().hex}")],
                         auth=False) for _ in range(150)]
    statuses = [status for status, _, _ in answers]
    assert set(statuses) == {401, 429}, statuses
    assert statuses.count(401) <= 2 * 10, f"{statuses.count(401)} failed lookups passed"
    refused = next(answer for answer in answers if answer[0] == 429)
    assert refused[1]["Content-Type"] == "application/problem+json" and int(refused[1]["Retry-After"]) >= 1
    assert json.loads(refused[2])["family"] == "unauthenticated"


def _send(port: int, target: str, headers: list[tuple[str, str]] = (),
          auth: bool = True) -> tuple[int, dict[str, str], bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.putrequest("GET", target, skip_accept_encoding=True)
        for name, value in [*([("Authorization", f"Bearer {ADMIN_SECRET}")] if auth else []), *headers]:
            connection.putheader(name, value)
        connection.endheaders()
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


def _padded_target(line_bytes: int) -> str:
    """/v1/members?q=... whose request line ("GET <target> HTTP/1.1") is exactly line_bytes long."""
    base = "/v1/members?q="
    return base + "a" * (line_bytes - len("GET  HTTP/1.1") - len(base))


def _many_headers(count: int) -> list[tuple[str, str]]:
    # http.client adds Host, and _send Authorization: count headers in all.
    return [(f"X-Filler-{i}", "1") for i in range(count - 2)]


CASES = {
    # name: (target, headers, status, answered by the app (it sets X-Request-ID) or by gunicorn)
    # q is longer than its 100 characters: the view's own validation answers, not the size check.
    "line at the app's limit": (_padded_target(MAX_REQUEST_LINE), [], 422, True),
    "line over the app's limit": (_padded_target(MAX_REQUEST_LINE + 1), [], 414, True),
    "line over gunicorn's limit": (_padded_target(GUNICORN_LINE + 1), [], 414, False),
    "header over the app's limit": ("/v1/members", [("X-Long", "b" * MAX_HEADER_LINE)], 431, True),
    "header over gunicorn's limit": ("/v1/members", [("X-Long", "b" * GUNICORN_FIELD)], 431, False),
    "headers just within the app's count": ("/v1/members", _many_headers(MAX_HEADER_FIELDS), 200, True),
    "more headers than the app takes": ("/v1/members", _many_headers(MAX_HEADER_FIELDS + 1), 431, True),
    "more headers than gunicorn takes": ("/v1/members", _many_headers(GUNICORN_FIELDS + 1), 431, False),
    "a DEL byte in a header": ("/v1/members", [("X-Odd", "a\x7fb")], 400, False),
}


@pytest.mark.parametrize("case", CASES)
def test_oversized_and_malformed_requests_get_problem_json(server, case):
    target, headers, expected, by_app = CASES[case]
    status, response_headers, body = _send(server, target, headers)
    assert status == expected, body[:300]
    assert ("X-Request-ID" in response_headers) is by_app, response_headers
    if status < 400:
        return
    assert response_headers["Content-Type"] == "application/problem+json"
    assert response_headers["X-Content-Type-Options"] == "nosniff"
    problem = json.loads(body)
    assert problem["status"] == status and problem["title"] and problem["detail"]
    slug = {400: "bad-request", 414: "uri-too-long", 422: "validation-error",
            431: "request-header-fields-too-large"}[status]
    assert problem["type"] == f"urn:netweave:problem:{slug}"


def test_the_server_still_answers_after_refusing(server):
    assert _send(server, _padded_target(GUNICORN_LINE + 1))[0] == 414
    assert _send(server, "/v1/members")[0] == 200


def test_the_app_answers_the_same_limits_in_process(api):
    """The check is the app's own, so the in-process app and any WSGI server apply it too."""
    response = api.get(_padded_target(MAX_REQUEST_LINE + 1))
    assert response.status_code == 414 and response.mimetype == "application/problem+json"
    assert response.get_json()["max_bytes"] == MAX_REQUEST_LINE
    response = api.get("/v1/members", headers={"X-Long": "b" * MAX_HEADER_LINE})
    assert response.status_code == 431 and response.get_json()["header"] == "X-Long"


def test_gunicorn_limits_are_above_the_apps():
    assert GUNICORN_LINE > MAX_REQUEST_LINE
    assert GUNICORN_FIELD > MAX_HEADER_LINE + 2  # gunicorn counts the line's CRLF too
    assert GUNICORN_FIELDS > MAX_HEADER_FIELDS
