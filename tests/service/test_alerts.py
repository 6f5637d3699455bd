"""Network alerts over HTTP: the list, newest first and by kind, and the thresholds behind If-Match."""

from __future__ import annotations

from datetime import datetime

import pytest

from service.repositories import alerts

DEFAULTS = {"cut_point_min_cut_off": 3, "broker_top_k": 5, "silo_ei_threshold": -0.7, "silo_min_size": 5,
            "health_metric": "largest_component_share", "health_threshold": 0.1}


def emit(graph, *alerts_: tuple[str, dict, str | None]) -> list[int]:
    return graph.write(lambda tx: [alerts.emit(tx, kind, data, subject=subject) for kind, data, subject in alerts_])


def test_emitted_alerts_are_read_after_a_position_in_commit_order(graph):
    start = graph.read(alerts.revision)
    seqs = emit(graph, ("silo", {"cluster_id": "c1", "ei_index": -1.0}, "c1"),
                ("webhook.disabled", {"webhook_id": "w1"}, None), ("health.changed", {"metric": "density"}, "density"))
    assert seqs == [start + 1, start + 2, start + 3]
    assert graph.read(alerts.revision) == start + 3
    read = graph.read(lambda tx: alerts.after(tx, start, 2))
    assert [(a["seq"], a["kind"], a["subject"], a["data"]) for a in read] == [
        (start + 1, "silo", "c1", {"cluster_id": "c1", "ei_index": -1.0}),
        (start + 2, "webhook.disabled", None, {"webhook_id": "w1"})]
    assert isinstance(read[0]["at"], datetime) and len({a["id"] for a in read}) == 2
    assert graph.read(lambda tx: alerts.after(tx, start + 3, 10)) == []


def test_alerts_are_listed_newest_first_by_kind_and_cursor(api, graph, make_key):
    seqs = emit(graph, *[("silo" if k % 2 else "cut_point.new", {"n": k}, f"s{k}") for k in range(5)])
    reader = api.with_key(make_key("read"))
    first = reader.get("/v1/alerts?limit=2").get_json()
    assert [a["seq"] for a in first["items"]] == seqs[::-1][:2]
    rest = reader.get(f"/v1/alerts?limit=10&cursor={first['next_cursor']}").get_json()
    assert [a["seq"] for a in rest["items"]] == seqs[::-1][2:] and rest["next_cursor"] is None
    silos = reader.get("/v1/alerts?kind=silo").get_json()["items"]
    assert [(a["kind"], a["subject"], a["data"]) for a in silos] == [("silo", "s3", {"n": 3}), ("silo", "s1", {"n": 1})]


@pytest.mark.parametrize("query, field", [("kind=alert.silo", "kind"), ("cursor=nonsense", "cursor"),
                                          ("limit=0", "limit")])
def test_a_bad_list_argument_is_a_422_naming_it(api, query, field):
    response = api.get(f"/v1/alerts?{query}")
    assert response.status_code == 422
    assert [e["field"] for e in response.get_json()["errors"]] == [field]


def test_the_list_needs_the_read_scope(api, make_key):
    assert api.with_key(make_key("write")).get("/v1/alerts").status_code == 403


def test_settings_start_at_the_documented_defaults_for_readers_and_admins(api, make_key):
    for key in (make_key("read"), make_key("admin")):
        response = api.with_key(key).get("/v1/alerts/settings")
        assert response.status_code == 200 and response.headers["ETag"] == '"0"'
        assert response.get_json() == {**DEFAULTS, "version": 0, "updated_at": None}
    assert api.with_key(make_key("write")).get("/v1/alerts/settings").status_code == 403


def test_settings_are_replaced_under_if_match(api):
    body = {**DEFAULTS, "silo_ei_threshold": -0.5, "health_metric": "ei_index.region", "health_threshold": 0.05}
    assert api.put("/v1/alerts/settings", json=body).status_code == 428
    put = api.put("/v1/alerts/settings", json=body, headers={"If-Match": '"0"'})
    assert put.status_code == 200 and put.headers["ETag"] == '"1"'
    got = api.get("/v1/alerts/settings")
    assert got.headers["ETag"] == '"1"'
    assert {k: v for k, v in got.get_json().items() if k != "updated_at"} == {**body, "version": 1}
    stale = api.put("/v1/alerts/settings", json=DEFAULTS, headers={"If-Match": '"0"'})
    assert stale.status_code == 412
    assert api.get("/v1/alerts/settings").get_json()["silo_ei_threshold"] == -0.5


def test_settings_need_the_admin_scope_to_change(api, make_key):
    writer = api.with_key(make_key("read", "write", "analytics"))
    assert writer.put("/v1/alerts/settings", json=DEFAULTS, headers={"If-Match": "*"}).status_code == 403


@pytest.mark.parametrize("field, value", [
    ("silo_ei_threshold", -1.5), ("silo_ei_threshold", "-0.5"), ("broker_top_k", 11), ("broker_top_k", 2.5),
    ("cut_point_min_cut_off", 0), ("silo_min_size", 1), ("health_metric", "happiness"),
    ("health_metric", "kcore"), ("health_threshold", 0), ("health_threshold", True)])
def test_a_bad_threshold_is_a_422_naming_the_field(api, field, value):
    response = api.put("/v1/alerts/settings", json={**DEFAULTS, field: value}, headers={"If-Match": "*"})
    assert response.status_code == 422
    assert response.headers["Content-Type"] == "application/problem+json"
    assert [e["field"] for e in response.get_json()["errors"]] == [field]
    assert api.get("/v1/alerts/settings").headers["ETag"] == '"0"'


def test_every_threshold_is_required_and_no_other(api):
    missing = api.put("/v1/alerts/settings", json={k: v for k, v in DEFAULTS.items() if k != "broker_top_k"},
                      headers={"If-Match": "*"})
    assert missing.status_code == 422 and [e["field"] for e in missing.get_json()["errors"]] == ["broker_top_k"]
    extra = api.put("/v1/alerts/settings", json={**DEFAULTS, "version": 3}, headers={"If-Match": "*"})
    assert extra.status_code == 422 and [e["field"] for e in extra.get_json()["errors"]] == ["version"]
