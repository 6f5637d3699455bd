"""Fixtures for the analytics tests: real networks loaded through the API, and the app's analytics engine."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, Callable, Hashable

import networkx as nx
import pytest

from service import create_app, db
from service.analytics.engine import get_engine
from tests.conftest import ADMIN_SECRET, SNAPSHOT_DIR, UNLIMITED, ApiClient
from tests.support import RedisServer, stop

MAX_STRENGTH = 5


@pytest.fixture
def engine(app):
    """The app's analytics engine, emptied (the database wipe between tests resets the revision it keys by),
    with its settings restored after the test."""
    engine = get_engine(app)
    engine.clear()
    settings = engine.settings
    yield engine
    engine.wait_idle(timeout=120)   # no write-back or snapshot of this test may land in the next one
    engine.settings = settings
    engine.clear()


@pytest.fixture(autouse=True)
def _fresh_engine(engine):
    yield


def strengths(weight: int) -> list[int]:
    """A positive integer weight as collaboration strengths (1-5) that sum to it: parallel ties merge by sum."""
    parts = [MAX_STRENGTH] * (weight // MAX_STRENGTH)
    return parts + ([weight % MAX_STRENGTH] if weight % MAX_STRENGTH else [])


@pytest.fixture
def load_network(api):
    """load_network(G, weight=None, member_fields=None) -> {node: member id}, every node a member and every
    edge one or more collaborations (their strengths sum to the edge's integer weight; 1 when unweighted)."""

    def load(G: nx.Graph, weight: str | None = None,
             member_fields: Callable[[Hashable, dict], dict[str, Any]] | None = None) -> dict[Hashable, str]:
        ids = {}
        for node, data in G.nodes(data=True):
            body = {"name": f"{node}", **(member_fields(node, data) if member_fields else {})}
            response = api.post("/v1/members", json=body)
            assert response.status_code == 201, response.get_data(as_text=True)
            ids[node] = response.get_json()["id"]
        for k, (u, v, data) in enumerate(G.edges(data=True)):
            for part, strength in enumerate(strengths(int(data[weight]) if weight else 1)):
                # Alternate the stored direction: the analytics graph must read ties as undirected.
                a, b = (u, v) if (k + part) % 2 == 0 else (v, u)
                response = api.post("/v1/collaborations", json={"source_id": ids[a], "target_id": ids[b],
                                                                "kind": "project", "strength": strength})
                assert response.status_code == 201, response.get_data(as_text=True)
        return ids

    return load


def with_settings(engine, **changes) -> None:
    engine.settings = dataclasses.replace(engine.settings, **changes)


def unit_weights(G: nx.Graph) -> nx.Graph:
    H = nx.Graph(G)
    nx.set_edge_attributes(H, 1, "weight")
    return H


# The four real networks shipped with networkx, each with the attribute that holds its integer weights.
def karate() -> tuple[nx.Graph, str]:
    return nx.karate_club_graph(), "weight"


def florentine() -> tuple[nx.Graph, str]:
    return unit_weights(nx.florentine_families_graph()), "weight"


def southern_women() -> tuple[nx.Graph, str]:
    """Davis' southern women as the weighted member projection: weight = events attended together."""
    B = nx.davis_southern_women_graph()
    women = [n for n, d in B.nodes(data=True) if d["bipartite"] == 0]
    return nx.bipartite.weighted_projected_graph(B, women), "weight"


def les_miserables() -> tuple[nx.Graph, str]:
    return nx.les_miserables_graph(), "weight"


NETWORKS = {"karate": karate, "florentine": florentine, "southern_women": southern_women,
            "les_miserables": les_miserables}


# --- the job queue: a real redis-server, web apps that ask it, `netweave worker` processes ----------------

NETWEAVE = str(Path(sys.executable).with_name("netweave"))
# The worker's queue settings in these tests: a silent worker counts as dead after 2 s, and every queue
# command runs the maintenance that gives a dead worker's jobs back, so a killed worker's job moves on fast.
QUEUE_SETTINGS = {"NETWEAVE_QUEUE_HEARTBEAT_SECONDS": "2", "NETWEAVE_QUEUE_MAINTENANCE_CHANCE": "1000000"}


@pytest.fixture
def redis_server(tmp_path):
    server = RedisServer(tmp_path)
    yield server
    server.stop()


@pytest.fixture
def web(neo4j_settings, redis_server):
    """web(**settings) -> an ApiClient on a new app (a web worker of its own) that asks the queue."""
    apps = []

    def make(**settings) -> ApiClient:
        app = create_app({**neo4j_settings, "NETWEAVE_ADMIN_KEY": ADMIN_SECRET, "NETWEAVE_RATE_LIMITS": UNLIMITED,
                          "NETWEAVE_ANALYTICS_MIN_INTERVAL": 0, "NETWEAVE_QUEUE_URL": redis_server.url,
                          "NETWEAVE_ANALYTICS_SYNC_SECONDS": 0, "TESTING": True, **QUEUE_SETTINGS, **settings})
        apps.append(app)
        return ApiClient(app.test_client(), ADMIN_SECRET)

    yield make
    for app in apps:
        app.extensions[db.EXTENSION].close()


@pytest.fixture
def workers(neo4j_settings, redis_server):
    """workers(**env) -> a new `netweave worker` process; every one still running is stopped afterwards."""
    started: list[subprocess.Popen] = []

    def start(**env) -> subprocess.Popen:
        environ = {**os.environ, "NEO4J_URI": neo4j_settings["NEO4J_URI"], "NETWEAVE_QUEUE_URL": redis_server.url,
                   "NETWEAVE_ANALYTICS_SNAPSHOT_DIR": SNAPSHOT_DIR, "NETWEAVE_ADMIN_KEY": ADMIN_SECRET,
                   "NETWEAVE_WORKER_DEBOUNCE_SECONDS": "0.5",
                   # lower case, as gunicorn takes it (a worker given "warning" once died at start)
                   "NETWEAVE_LOG_LEVEL": "warning", **QUEUE_SETTINGS, **env}
        for name in ("NEO4J_USER", "NEO4J_PASSWORD"):
            if neo4j_settings.get(name):
                environ[name] = neo4j_settings[name]
        process = subprocess.Popen([NETWEAVE, "worker", "--nice", "0"], env=environ, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.PIPE, text=True)
        started.append(process)
        return process

    yield start
    for process in started:
        stop(process)
        process.stderr.close()
