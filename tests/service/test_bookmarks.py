"""Cluster-ready data access: bookmarks across requests, neo4j:// routing URIs, the database name."""

from __future__ import annotations

import base64
import json
import time

import neo4j
import pytest

from service import create_app, db
from service.web import bookmarks
from tests.conftest import ADMIN_SECRET, ApiClient

HEADER = "X-Neo4j-Bookmark"


def _raw(header_value: str) -> list[str]:
    payload = header_value.rpartition(".")[0]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def _header_of(values) -> str:
    """A header value as a client could make one: not sealed by the API."""
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")


def _sealed(app, values) -> str:
    """A header value sealed with the app's key, as only the API can make one."""
    with app.app_context():
        return bookmarks.encode(neo4j.Bookmarks.from_raw_values(values), bookmarks.key())


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


def test_read_session_starts_after_the_clients_bookmark(app, api, new_member):
    """A sealed bookmark the database never issued fails the read: proof the read waited on it."""
    new_member()
    response = api.get("/v1/members", headers={HEADER: _sealed(app, ["FB:" + "A" * 54])})

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
    assert bookmarks.decode(bookmarks.encode(original, b"k" * 32), b"k" * 32).raw_values == original.raw_values


def _forged(genuine: str) -> str:
    """The genuine header value with its last bookmark's transaction id set to 2**31 - 1, seal kept: the
    attack of a client who wants the database to wait for a transaction that will not come."""
    values = _raw(genuine)
    raw = base64.b64decode(values[-1][3:])
    # PackStream: a list of one (0x91) 16-byte database id (0xCC 0x10 ...), the transaction id, then an
    # empty list (0x90). The id becomes INT_32 (0xCA) 2**31 - 1.
    assert raw[:3] == b"\x91\xcc\x10" and raw[-1:] == b"\x90", raw.hex()
    values[-1] = "FB:" + base64.b64encode(raw[:19] + b"\xca\x7f\xff\xff\xff" + raw[-1:]).decode()
    return _header_of(values) + "." + genuine.rpartition(".")[2]


def test_a_bookmark_altered_by_the_client_is_refused_before_any_session_waits_on_it(api):
    genuine = api.post("/v1/members", json={"name": "Edith Clarke"}).headers[HEADER]
    started = time.monotonic()
    for value in (_forged(genuine), genuine.rpartition(".")[0], genuine + "x", genuine.replace(".", ".A", 1)):
        response = api.get("/v1/members?limit=1", headers={HEADER: value})
        assert response.status_code == 400, value
        assert response.get_json()["errors"][0]["field"] == HEADER
        assert "handed out" in response.get_json()["detail"]
    assert time.monotonic() - started < 3


def test_a_bookmark_of_another_key_is_refused(app, api):
    genuine = api.post("/v1/members", json={"name": "Hedy Lamarr"}).headers[HEADER]
    other = bookmarks.encode(neo4j.Bookmarks.from_raw_values(_raw(genuine)), b"another database's key" * 2)
    assert api.get("/v1/members?limit=1", headers={HEADER: other}).status_code == 400
    assert api.get("/v1/members?limit=1", headers={HEADER: genuine}).status_code == 200


def test_a_sealed_bookmark_the_database_does_not_reach_answers_503_within_seconds(app, api):
    """Even a bookmark the API sealed (a cluster member far behind) holds the request only for the
    server's bookmark_ready_timeout (5 s where the suite's Neo4j is configured by this project)."""
    timeout = _bookmark_ready_timeout(app)
    if timeout is None or timeout > 10:
        pytest.skip(f"this Neo4j waits {timeout} s for a bookmark (set db.transaction.bookmark_ready_timeout)")
    genuine = api.post("/v1/members", json={"name": "Lise Meitner"}).headers[HEADER]
    ahead = _sealed(app, _raw(_forged(genuine)))
    started = time.monotonic()
    response = api.get("/v1/members?limit=1", headers={HEADER: ahead})
    waited = time.monotonic() - started

    assert response.status_code == 503, response.get_json()
    assert response.get_json()["type"].endswith("bookmark-not-ready")
    assert response.get_json()["errors"][0]["field"] == HEADER and response.headers["Retry-After"]
    assert waited < timeout + 8, f"waited {waited:.1f} s"


def _bookmark_ready_timeout(app) -> float | None:
    graph = app.extensions[db.EXTENSION]
    rows, _, _ = graph.driver.execute_query(
        "SHOW SETTINGS YIELD name, value WHERE name = 'db.transaction.bookmark_ready_timeout' RETURN value",
        database_=graph.database)
    if not rows:
        return None
    value = rows[0]["value"]
    return float(value[:-1]) if value.endswith("s") and not value.endswith("ms") else None


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

    sent = _sealed(app, ["FB:kcwQ2/3q/NMFQLiCAhQ1vQCuXgOQ"])
    with app.test_request_context("/v1/members", headers={HEADER: sent}), ThreadPoolExecutor(1) as pool:
        bookmarks.read_header()               # as auth.requires does once the key is accepted
        carried = pool.submit(db.carrying(db.current_bookmarks)).result()
        plain = pool.submit(db.current_bookmarks).result()

    assert carried.raw_values == {"FB:kcwQ2/3q/NMFQLiCAhQ1vQCuXgOQ"}
    assert plain is None


def test_analytics_request_with_the_returned_bookmark_counts_the_write(api, new_member):
    first, second = new_member("Ada"), new_member("Grace")
    tie = api.post("/v1/collaborations", json={"source_id": first["id"], "target_id": second["id"],
                                                "kind": "project"})

    health = api.get("/v1/analytics/health", headers={HEADER: tie.headers[HEADER]})

    assert health.status_code == 200
    assert health.get_json()["metrics"]["ties"] == 1
