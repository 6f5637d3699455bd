"""Fixtures: one real Neo4j per session (NEO4J_URI, else testcontainers, else tools/neo4j-local),
an app on it, a clean graph per test, and keys with chosen scopes."""

from __future__ import annotations

import atexit
import os
import shutil
import socket
import tempfile
from pathlib import Path
from typing import Any, Iterator

import pytest

import graph_queries
from service import create_app, db
from service.web import auth

ADMIN_SECRET = "test-admin-key-0123456789abcdef"
# The session's app serves the whole suite with one admin key: rate limits are tested on apps of their own.
UNLIMITED = {family: "1000000/minute" for family in ("read", "write", "sync", "analytics", "admin", "respond",
                                                  "unauthenticated")}
TEST_QUERIES = graph_queries.load_all(Path(__file__).resolve().parent / "queries")
# Projection snapshots of the suite (its apps, and servers started as subprocesses) go to a directory of
# its own, not to the user's cache, removed when the session ends.
SNAPSHOT_DIR = tempfile.mkdtemp(prefix="netweave-test-snapshots-")
atexit.register(shutil.rmtree, SNAPSHOT_DIR, ignore_errors=True)
os.environ["NETWEAVE_ANALYTICS_SNAPSHOT_DIR"] = SNAPSHOT_DIR


def _docker_answers() -> bool:
    """True when a Docker engine answers a ping (a bare client with no engine is not enough)."""
    host = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
    if host.startswith("unix://"):
        # Probe the socket first: docker-py leaks its socket when the engine is missing.
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
                probe.settimeout(2)
                probe.connect(host.removeprefix("unix://"))
        except OSError:
            return False
    try:
        import docker
        from docker.errors import DockerException
    except ImportError:
        return False
    try:
        client = docker.from_env()
    except (DockerException, OSError):
        return False
    try:
        client.ping()
        return True
    except (DockerException, OSError):
        return False
    finally:
        client.close()


@pytest.fixture(scope="session")
def neo4j_settings() -> Iterator[dict[str, Any]]:
    """Where the session's Neo4j is, in DESIGN.md's order of preference."""
    if os.environ.get("NEO4J_URI"):
        yield {"NEO4J_URI": os.environ["NEO4J_URI"], "NEO4J_USER": os.environ.get("NEO4J_USER"),
               "NEO4J_PASSWORD": os.environ.get("NEO4J_PASSWORD")}
    elif _docker_answers():
        from testcontainers.community.neo4j import Neo4jContainer

        # The Bolt keep-alive of tools/neo4j-local (10 s), which sets the driver's read timeout (test_serving).
        container = Neo4jContainer("neo4j:5.26-community").with_env(
            "NEO4J_server_bolt_connection__keep__alive", "10s").with_env(
            "NEO4J_db_transaction_bookmark__ready__timeout", "5s").with_env(
            "NEO4J_server_bolt_connection__keep__alive__streaming__scheduling__interval", "5s")
        with container:
            yield {"NEO4J_URI": container.get_connection_url(), "NEO4J_USER": container.username,
                   "NEO4J_PASSWORD": container.password}
    else:
        from service.cli import neo4j_local

        data_dir = Path(tempfile.mkdtemp(prefix="netweave-test-neo4j-"))
        running = neo4j_local.start(port=0, data_dir=data_dir)
        try:
            yield {"NEO4J_URI": running.uri, "NEO4J_USER": None, "NEO4J_PASSWORD": None}
        finally:
            # The data is thrown away: killed at once instead of a clean shutdown (about 10 s of checkpoint).
            neo4j_local.stop(data_dir, timeout=0)
            shutil.rmtree(data_dir, ignore_errors=True)


@pytest.fixture(scope="session")
def app(neo4j_settings):
    # Analytics recompute after every write here (the tests write, then check what changed); the interval
    # that spares a busy server's CPU is tested on its own in tests/analytics/test_behaviour.py.
    app = create_app({**neo4j_settings, "NETWEAVE_ADMIN_KEY": ADMIN_SECRET, "NETWEAVE_RATE_LIMITS": UNLIMITED,
                      "NETWEAVE_ANALYTICS_MIN_INTERVAL": 0, "TESTING": True,
                      # Ranking models are trained where a test asks (tests/service/test_ranking.py), never
                      # behind a request, where training could land in the next test's graph.
                      "NETWEAVE_RANKING_AUTO_TRAIN": 0})
    yield app
    # The graph closes the analytics engine first, so its write-backs finish before the driver closes.
    app.extensions[db.EXTENSION].close()


@pytest.fixture
def graph(app) -> db.Graph:
    return app.extensions[db.EXTENSION]


def run_test_query(graph: db.Graph, name: str, **params: Any) -> list[dict[str, Any]]:
    """Run one of tests/queries/*.cypher in a write transaction."""
    text = TEST_QUERIES[name].text
    return graph.write(lambda tx: [db.to_native(r.data()) for r in tx.run(text, params)])


@pytest.fixture(autouse=True)
def clean_graph(request):
    """Empty the network before each test that touches the database."""
    if "app" not in request.fixturenames and not _uses_db(request):
        yield
        return
    graph = request.getfixturevalue("graph")
    run_test_query(graph, "test_clean_graph", keep_key_id=auth.BOOTSTRAP_KEY_ID)
    from service.repositories import ranking, vocabularies

    ranking.CURRENT.forget()    # a model the last test trained is gone with its graph

    vocabularies.seed(graph)  # as a new database gets at start-up
    yield


def _uses_db(request) -> bool:
    return any(name in request.fixturenames for name in ("client", "graph", "api", "make_key"))


class ApiClient:
    """The Flask test client with a key: `api.get(path)`, `api.post(path, json=...)`; key=None sends none."""

    def __init__(self, client, secret: str | None):
        self.client = client
        self.secret = secret

    def with_key(self, secret: str | None) -> "ApiClient":
        return ApiClient(self.client, secret)

    def request(self, method: str, path: str, headers: dict[str, str] | None = None, **kwargs):
        headers = dict(headers or {})
        if self.secret is not None:
            headers.setdefault("Authorization", f"Bearer {self.secret}")
        return self.client.open(path, method=method, headers=headers, **kwargs)

    def get(self, path, **kwargs):
        return self.request("GET", path, **kwargs)

    def post(self, path, **kwargs):
        return self.request("POST", path, **kwargs)

    def put(self, path, **kwargs):
        return self.request("PUT", path, **kwargs)

    def patch(self, path, **kwargs):
        return self.request("PATCH", path, **kwargs)

    def delete(self, path, **kwargs):
        return self.request("DELETE", path, **kwargs)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def api(client) -> ApiClient:
    """A client holding the start-up admin key (every scope)."""
    return ApiClient(client, ADMIN_SECRET)


@pytest.fixture
def make_key(graph):
    """make_key("read", "pii") -> the secret of a new key with exactly those scopes."""
    from service.repositories import api_keys

    def make(*scopes: str, name: str = "test") -> str:
        return api_keys.create(graph, name, list(scopes))["secret"]

    return make


# --- small factories -----------------------------------------------------------------------

@pytest.fixture
def new_member(api):
    def create(name: str = "Ada Lovelace", **fields: Any) -> dict[str, Any]:
        response = api.post("/v1/members", json={"name": name, **fields})
        assert response.status_code == 201, response.get_data(as_text=True)
        return response.get_json()

    return create


@pytest.fixture
def new_organization(api):
    def create(name: str = "Teachers Association", **fields: Any) -> dict[str, Any]:
        response = api.post("/v1/organizations", json={"name": name, **fields})
        assert response.status_code == 201, response.get_data(as_text=True)
        return response.get_json()

    return create


@pytest.fixture
def new_collaboration(api):
    def create(source: dict, target: dict, **fields: Any) -> dict[str, Any]:
        body = {"source_id": source["id"], "target_id": target["id"], "kind": "project", **fields}
        response = api.post("/v1/collaborations", json=body)
        assert response.status_code == 201, response.get_data(as_text=True)
        return response.get_json()

    return create


@pytest.fixture
def own_neo4j():
    """A Neo4j of this test's own, on a fixed port, so it can be killed and started again."""
    from service.cli import neo4j_local

    data = Path(tempfile.mkdtemp(prefix="netweave-fault-"))
    running = neo4j_local.start(port=0, data_dir=data)
    yield data, running
    neo4j_local.stop(data, timeout=0)
    shutil.rmtree(data, ignore_errors=True)
