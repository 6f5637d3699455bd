"""Cluster-ready data access: bookmarks across requests, neo4j:// routing URIs, the database name."""

from __future__ import annotations

import base64
import json

import neo4j
import pytest

from service import bookmarks, create_app, db
from tests.conftest import ADMIN_SECRET, ApiClient

HEADER = "X-Neo4j-Bookmark"


def _raw(header_value: str) -> list[str]:
    padded = header_value + "=" * (-len(header_value) % 4)
    return json.loads(base64.urlsafe_b64decode(padded))


def _header_of(values) -> str:
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")


def test_write_response_carries_the_bookmark_of_its_transaction(api):
    first = api.post("/v1/members", json={"name": "Grace Hopper"})
    second = api.post("/v1/members", json={"name": "Mary Jackson"})

    assert first.status_code == second.status_code == 201
    assert all(value.startswith("FB:") for value in _raw(first.headers[HEADER]))
    # Each write commits a new transaction, so the bookmark moves on.
    assert first.headers[HEADER] != second.headers[HEADER]


def test_read_response_carries_no_bookmark(api, new_member):
    new_member()
    assert HEADER not in api.get("/v1/members").headers


def test_read_with_the_returned_bookmark_sees_the_write(api):
    created = api.post("/v1/members", json={"name": "Katherine Johnson", "region": "Virginia"})
    bookmark = created.headers[HEADER]

    read = api.get(f"/v1/members/{created.get_json()['id']}", headers={HEADER: bookmark})

    assert read.status_code == 200
    assert read.get_json()["name"] == "Katherine Johnson"
    assert HEADER not in read.headers


def test_read_session_starts_after_the_clients_bookmark(api, new_member):
    """A well-formed bookmark the database never issued fails the read: proof the read waited on it."""
    new_member()
    response = api.get("/v1/members", headers={HEADER: _header_of(["FB:" + "A" * 54])})

    assert response.status_code == 400
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["errors"][0]["field"] == HEADER


def test_write_after_a_bookmark_returns_a_newer_one(api, new_member):
    member = new_member()
    renamed = api.patch(f"/v1/members/{member['id']}", json={"title": "Coach"},
                        headers={"If-Match": api.get(f"/v1/members/{member['id']}").headers["ETag"],
                                 HEADER: api.post("/v1/members", json={"name": "Other"}).headers[HEADER]})

    assert renamed.status_code == 200
    assert renamed.headers[HEADER]
    assert api.get(f"/v1/members/{member['id']}", headers={HEADER: renamed.headers[HEADER]}).get_json()["title"] == "Coach"


@pytest.mark.parametrize("value", [
    "not base64 !",
    _header_of({"bookmark": "FB:abc"}),
    _header_of([]),
    _header_of(["FB:abc"] * (bookmarks.MAX_BOOKMARKS + 1)),
    _header_of([42]),
    _header_of(["just text"]),
    _header_of(["xx"]),
    "A" * (bookmarks.MAX_HEADER_CHARS + 1),
    base64.urlsafe_b64encode(b"[" * 3000).decode(),  # found by tests/contract/test_hostile_fuzz.py: a 500
])
def test_malformed_bookmark_is_a_problem_naming_the_header(api, value):
    response = api.get("/v1/members", headers={HEADER: value})

    assert response.status_code == 400
    assert response.mimetype == "application/problem+json"
    body = response.get_json()
    assert body["errors"] == [{"field": HEADER, "location": "headers", "messages": body["errors"][0]["messages"]}]
    assert HEADER in body["detail"]


def test_bookmark_round_trips_through_the_header_encoding():
    original = neo4j.Bookmarks.from_raw_values(["FB:kcwQ2/3q/NMFQLiCAhQ1vQCuXgOQ", "FB:x-y_z="])
    assert bookmarks.decode(bookmarks.encode(original)).raw_values == original.raw_values


def test_openapi_documents_the_bookmark_header(app):
    spec = app.extensions["netweave.api"].spec.to_dict()
    create_member = spec["paths"]["/v1/members"]["post"]
    list_members = spec["paths"]["/v1/members"]["get"]

    ref = {"$ref": "#/components/parameters/Neo4jBookmark"}
    assert ref in create_member["parameters"] and ref in list_members["parameters"]
    assert HEADER in create_member["responses"]["201"]["headers"]
    assert spec["components"]["parameters"]["Neo4jBookmark"]["in"] == "header"


@pytest.fixture
def routed_app(neo4j_settings):
    """An app whose driver routes (neo4j://) against the session's single server."""
    uri = neo4j_settings["NEO4J_URI"]
    scheme, _, rest = uri.partition("://")
    if scheme not in ("bolt", "neo4j"):
        pytest.skip(f"the session's Neo4j is reached with {scheme}://; routing is tested on a plain server")
    app = create_app({**neo4j_settings, "NEO4J_URI": f"neo4j://{rest}", "NETWEAVE_ADMIN_KEY": ADMIN_SECRET,
                      "TESTING": True})
    yield app
    app.extensions[db.EXTENSION].close()


def test_routing_uri_reads_its_own_write_with_the_bookmark(routed_app, graph):
    routed = ApiClient(routed_app.test_client(), ADMIN_SECRET)
    assert routed_app.extensions[db.EXTENSION].driver.__class__.__name__ == "Neo4jDriver"

    created = routed.post("/v1/members", json={"name": "Dorothy Vaughan"})
    read = routed.get(f"/v1/members/{created.get_json()['id']}", headers={HEADER: created.headers[HEADER]})

    assert created.status_code == 201 and read.status_code == 200
    assert read.get_json()["name"] == "Dorothy Vaughan"
    assert routed.get("/readyz").status_code == 200


def test_database_name_is_the_one_configured(neo4j_settings):
    app = create_app({**neo4j_settings, "NEO4J_DATABASE": "no-such-database", "TESTING": True})
    try:
        response = app.test_client().get("/readyz")
    finally:
        app.extensions[db.EXTENSION].close()

    assert response.status_code == 503
    assert app.extensions[db.EXTENSION].database == "no-such-database"


def test_work_carried_to_another_thread_starts_after_the_requests_bookmark(app):
    from concurrent.futures import ThreadPoolExecutor

    sent = _header_of(["FB:kcwQ2/3q/NMFQLiCAhQ1vQCuXgOQ"])
    with app.test_request_context("/v1/members", headers={HEADER: sent}), ThreadPoolExecutor(1) as pool:
        bookmarks.read_header()               # as auth.requires does once the key is accepted
        carried = pool.submit(bookmarks.carrying(bookmarks.current)).result()
        plain = pool.submit(bookmarks.current).result()

    assert carried.raw_values == {"FB:kcwQ2/3q/NMFQLiCAhQ1vQCuXgOQ"}
    assert plain is None


def test_analytics_request_with_the_returned_bookmark_counts_the_write(api, new_member):
    first, second = new_member("Ada"), new_member("Grace")
    tie = api.post("/v1/collaborations", json={"source_id": first["id"], "target_id": second["id"],
                                                "kind": "project"})

    health = api.get("/v1/analytics/health", headers={HEADER: tie.headers[HEADER]})

    assert health.status_code == 200
    assert health.get_json()["metrics"]["ties"] == 1
