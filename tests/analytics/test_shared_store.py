"""Analytics across API workers: a second app on the same Neo4j stands for a second gunicorn worker
(its own engine and memory). Runs are polled from any worker, a report computed by one is served by the
other, and a run in flight elsewhere is not started twice."""

from __future__ import annotations

import time
from datetime import date, datetime, timedelta, timezone

import pytest

from service import create_app, db
from service.analytics import store as store_module
from service.analytics.engine import get_engine
from service.analytics.store import SharedStore
from service.repositories import analytics
from service.repositories.analytics import Scope
from tests.analytics.conftest import karate, with_settings
from tests.conftest import ADMIN_SECRET, ApiClient


@pytest.fixture
def other_worker(neo4j_settings):
    """A second app (another worker's engine) and a client for it."""
    app = create_app({**neo4j_settings, "NETWEAVE_ADMIN_KEY": ADMIN_SECRET, "NETWEAVE_ANALYTICS_MIN_INTERVAL": 0,
                      "TESTING": True})
    yield app, ApiClient(app.test_client(), ADMIN_SECRET)
    get_engine(app).close()
    app.extensions[db.EXTENSION].close()


def _wait_done(api, run_id: str, timeout: float = 30.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        response = api.get(f"/v1/analytics/runs/{run_id}")
        assert response.status_code == 200, response.get_json()
        if response.get_json()["status"] != "running":
            return response.get_json()
        time.sleep(0.05)
    raise AssertionError(f"run {run_id} still running after {timeout} s")


def test_a_run_started_on_one_worker_is_polled_from_another(api, load_network, engine, other_worker):
    load_network(*karate())
    with_settings(engine, sync_seconds=0.0)
    pending = api.get("/v1/analytics/clusters")
    assert pending.status_code == 202
    _, other = other_worker
    run = _wait_done(other, pending.get_json()["id"])     # the other worker never ran it, yet knows it
    assert run["status"] == "done" and run["kind"] == "clusters" and run["finished_at"] is not None


def test_a_report_computed_by_one_worker_is_served_by_another_without_recomputing(api, load_network, engine,
                                                                                 other_worker):
    load_network(*karate())
    first = api.get("/v1/analytics/bridges", query_string={"limit": 5})
    assert first.status_code == 200
    app, other = other_worker
    second = other.get("/v1/analytics/bridges", query_string={"limit": 5})
    assert second.status_code == 200
    body, served = first.get_json(), second.get_json()
    assert served["computed"]["cached"] is True
    assert served["computed"]["run_id"] == body["computed"]["run_id"]          # the first worker's run
    assert get_engine(app).run(body["computed"]["run_id"]) is None             # ... not one of its own
    assert not get_engine(app)._runs
    for name in ("brokers", "articulation_points", "bridge_ties"):
        assert served[name] == body[name]                                      # dates and all survive


def test_a_new_revision_is_computed_again_not_served_from_the_store(api, load_network, engine, other_worker,
                                                                   new_collaboration):
    ids = load_network(*karate())
    before = api.get("/v1/analytics/clusters").get_json()
    new_collaboration({"id": ids[0]}, {"id": ids[33]})
    _, other = other_worker
    after = other.get("/v1/analytics/clusters").get_json()
    assert after["computed"]["revision"] > before["computed"]["revision"]
    assert after["computed"]["cached"] is False


def test_a_run_in_flight_on_another_worker_is_not_started_again(api, load_network, engine, graph):
    load_network(*karate())
    revision = graph.read(db.run_one, "change_revision")["revision"]
    args = analytics.question_args("health", Scope.of(None), dict(analytics.DEFAULT_QUESTIONS)["health"])
    store = SharedStore(graph, run_timeout=600)
    elsewhere = "5b0c1e0e-0000-4000-8000-000000000001"
    store.start(elsewhere, store_module.key_of((revision, *args)), "health", datetime.now(timezone.utc))
    runs_before = set(engine._runs)
    pending = api.get("/v1/analytics/health")
    assert pending.status_code == 202
    assert pending.get_json()["id"] == elsewhere and pending.get_json()["status"] == "running"
    assert set(engine._runs) == runs_before                                     # nothing started here


def test_a_run_abandoned_past_the_timeout_is_computed_here(api, load_network, engine, graph):
    load_network(*karate())
    revision = graph.read(db.run_one, "change_revision")["revision"]
    args = analytics.question_args("health", Scope.of(None), dict(analytics.DEFAULT_QUESTIONS)["health"])
    store = SharedStore(graph, run_timeout=600)
    long_ago = datetime.now(timezone.utc) - timedelta(seconds=engine.settings.run_timeout + 60)
    store.start("5b0c1e0e-0000-4000-8000-000000000002", store_module.key_of((revision, *args)), "health", long_ago)
    answer = api.get("/v1/analytics/health")
    assert answer.status_code == 200
    assert answer.get_json()["computed"]["cached"] is False


def test_reports_keep_dates_and_datetimes_through_the_store():
    report = {"computed": {"as_of": date(2026, 1, 2)},
              "member": {"created_at": datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc), "name": "A"},
              "looks_tagged": {"$date": "x", "other": 1}}
    assert store_module.decode(store_module.encode(report)) == report


def test_within_the_minimum_interval_another_worker_serves_the_stored_answer_as_stale(
        api, load_network, engine, other_worker, new_collaboration):
    ids = load_network(*karate())
    first = api.get("/v1/analytics/clusters").get_json()
    new_collaboration({"id": ids[0]}, {"id": ids[33]})
    app, other = other_worker
    with_settings(get_engine(app), min_interval=600)
    served = other.get("/v1/analytics/clusters").get_json()
    assert served["computed"]["stale"] is True and served["computed"]["revision"] == first["computed"]["revision"]
    assert not get_engine(app)._runs


def test_a_bridges_report_stored_before_min_cut_off_existed_is_not_served(api, load_network, graph):
    """A report of the earlier shape (no cut_off on ties) at the current revision sits under the question
    without min_cut_off: the question with it is another key, so the new shape is computed."""
    load_network(*karate())
    revision = graph.read(db.run_one, "change_revision")["revision"]
    old_args = analytics.question_args("bridges", Scope.of(None), {"limit": 10})
    earlier = {"brokers": [], "articulation_points": [], "articulation_points_total": 0, "bridge_ties": [],
               "bridge_ties_total": 999, "computed": {"revision": revision}}
    SharedStore(graph, run_timeout=600).save(store_module.key_of(old_args), "bridges", revision, earlier)
    body = api.get("/v1/analytics/bridges").get_json()
    assert body["bridge_ties_total"] == 1 and body["pendant_ties_total"] == 1     # karate's 0-11
    assert body["computed"]["parameters"]["min_cut_off"] == 2


def test_pictures_not_drawn_again_for_a_day_and_old_scenes_are_forgotten_when_a_run_finishes(graph):
    from tests.conftest import run_test_query

    store = SharedStore(graph, 600)
    for key, kind in (("purge-old-picture", "picture"), ("purge-new-picture", "picture"),
                      ("purge-old-bridges", "bridges"), ("purge-scene", "map-part")):
        store.save(key, kind, 1, {"body": "x"}, strict=True)
    run_test_query(graph, "test_age_report", key="purge-old-picture", days=2)
    run_test_query(graph, "test_age_report", key="purge-old-bridges", days=2)
    store.start("purge-run", "purge-new-picture", "picture", datetime.now(timezone.utc))
    store.finish("purge-run", "done", datetime.now(timezone.utc), None)
    kept = [row["key"] for row in run_test_query(graph, "test_report_keys", prefix="purge-")]
    assert kept == ["purge-new-picture", "purge-old-bridges"]
