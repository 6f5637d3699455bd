"""The one error path (problem+json everywhere), health and readiness, and a database that goes away."""

import time
from urllib.parse import urlparse

import pytest

from service import create_app
from tests.conftest import ADMIN_SECRET
from tests.support import TcpProxy


def test_unknown_route_is_problem_404(client):
    response = client.get("/v1/nothing-here")
    assert response.status_code == 404 and response.mimetype == "application/problem+json"
    assert response.get_json()["type"] == "urn:netweave:problem:not-found"


def test_wrong_method_is_problem_405_with_allow(client):
    response = client.put("/v1/members")
    assert response.status_code == 405 and response.mimetype == "application/problem+json"
    assert set(response.headers["Allow"].split(", ")) >= {"GET", "POST"}


def test_malformed_json_is_a_problem(api):
    response = api.post("/v1/members", data="{not json", headers={"Content-Type": "application/json"})
    assert response.status_code in (400, 422) and response.mimetype == "application/problem+json"
    assert response.get_json()["status"] == response.status_code


@pytest.mark.parametrize("method, path", [("POST", "/v1/members"), ("PUT", "/v1/members/{m}/affiliations/{o}"),
                                          ("PATCH", "/v1/members/{m}")])
def test_missing_body_is_422_and_a_form_body_is_415(api, new_member, new_organization, method, path):
    """Found by schemathesis: webargs read a missing or non-JSON body as {}, so an all-optional PUT passed."""
    member, organization = new_member(), new_organization()
    path = path.format(m=member["id"], o=organization["id"])
    headers = {"If-Match": "*"}
    missing = api.request(method, path, headers=headers)
    assert missing.status_code == 422 and missing.mimetype == "application/problem+json"
    assert missing.get_json()["errors"] == [
        {"field": "_schema", "location": "json", "messages": ["a JSON body is required"]}]
    form = api.request(method, path, headers=headers, data={"name": "A"})
    assert form.status_code == 415 and form.get_json()["type"] == "urn:netweave:problem:unsupported-media-type"
    assert [m["id"] for m in api.get("/v1/members").get_json()["items"]] == [member["id"]]
    assert api.get(f"/v1/members/{member['id']}").get_json()["version"] == 1
    assert api.get(f"/v1/organizations/{organization['id']}/members").get_json()["items"] == []


def test_body_over_the_limit_is_413(api):
    response = api.post("/v1/members", json={"name": "A", "title": "x" * 2_000_000})
    assert response.status_code == 413 and response.mimetype == "application/problem+json"


def test_healthz_answers_without_a_key(client):
    assert client.get("/healthz").get_json() == {"status": "ok"}


def test_readyz_is_200_with_neo4j(client):
    assert client.get("/readyz").status_code == 200


def test_unreachable_database_is_503_with_retry_after():
    app = create_app({"NEO4J_URI": "bolt://127.0.0.1:9", "NEO4J_RETRY_SECONDS": 0.5,
                      "NEO4J_CONNECT_TIMEOUT": 0.5, "NETWEAVE_ADMIN_KEY": ADMIN_SECRET, "TESTING": True})
    client = app.test_client()
    started = time.monotonic()
    for response in (client.get("/readyz"),
                     client.get("/v1/members", headers={"Authorization": f"Bearer {ADMIN_SECRET}"})):
        assert response.status_code == 503
        assert response.mimetype == "application/problem+json"
        assert response.headers["Retry-After"].isdigit()
        assert response.get_json()["type"] == "urn:netweave:problem:database-unavailable"
    assert time.monotonic() - started < 10
    app.extensions["netweave.graph"].close()


def test_readyz_turns_503_when_neo4j_goes_and_200_when_it_returns(neo4j_settings, api):
    target = urlparse(neo4j_settings["NEO4J_URI"])
    proxy = TcpProxy(target.hostname, target.port)
    app = create_app({**neo4j_settings, "NEO4J_URI": f"bolt://127.0.0.1:{proxy.port}", "NEO4J_RETRY_SECONDS": 1.0,
                      "NEO4J_CONNECT_TIMEOUT": 1.0, "NETWEAVE_ADMIN_KEY": ADMIN_SECRET, "TESTING": True})
    client = app.test_client()
    headers = {"Authorization": f"Bearer {ADMIN_SECRET}"}
    try:
        assert client.get("/readyz").status_code == 200
        assert client.get("/v1/members", headers=headers).status_code == 200
        proxy.cut()
        assert client.get("/readyz").status_code == 503
        outage = client.get("/v1/members", headers=headers)
        assert outage.status_code == 503 and outage.headers["Retry-After"]
        proxy.restore()
        deadline = time.monotonic() + 20
        while client.get("/readyz").status_code != 200:
            assert time.monotonic() < deadline, "the API did not recover after Neo4j returned"
            time.sleep(0.2)
        assert client.get("/v1/members", headers=headers).status_code == 200
    finally:
        app.extensions["netweave.graph"].close()
        proxy.close()


@pytest.mark.parametrize("path", ["/v1/members", "/v1/members/00000000-0000-4000-8000-000000000000"])
def test_every_error_body_has_the_rfc9457_members(api, path):
    response = api.with_key(None).get(path)
    problem = response.get_json()
    assert set(problem) >= {"type", "title", "status", "detail"}
    assert problem["status"] == response.status_code


def test_the_log_line_of_an_unhandled_error_carries_the_request_id(api, new_member, monkeypatch):
    """A client quoting its X-Request-ID could not be matched to the traceback: that line had no request id."""
    import io
    import json
    import logging

    from service.web.observability import JsonFormatter
    from service.repositories import members

    def broken(*args, **kwargs):
        raise RuntimeError("a bug")

    member = new_member()
    monkeypatch.setattr(members, "get", broken)
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logging.getLogger().addHandler(handler)
    try:
        response = api.get(f"/v1/members/{member['id']}", headers={"X-Request-ID": "client-ref-0042"})
    finally:
        logging.getLogger().removeHandler(handler)
    assert response.status_code == 500 and response.headers["X-Request-ID"] == "client-ref-0042"
    entries = [json.loads(line) for line in stream.getvalue().splitlines()]
    [failure] = [entry for entry in entries if entry["message"] == "unhandled error"]
    assert failure["request_id"] == "client-ref-0042" and "RuntimeError: a bug" in failure["exception"]
