"""The alert comparisons on pairs of reports: each fires when its condition starts, not while it holds."""

from __future__ import annotations

from service import db
from service.analytics import alerting
from service.analytics.alerting import Thresholds, compare, digest

DEFAULTS = Thresholds()


def member(member_id: str) -> dict:
    return {"id": member_id, "name": f"Name {member_id}", "email": f"{member_id}@example.org"}


def bridges(revision: int, cut: dict[str, int], brokers: list[tuple[str, float]], total: int | None = None) -> dict:
    return {"articulation_points": [{"member": member(m), "cut_off": n} for m, n in cut.items()],
            "articulation_points_total": len(cut) if total is None else total,
            "brokers": [{"member": member(m), "betweenness": b, "clusters_reached": 1} for m, b in brokers],
            "computed": {"revision": revision}}


def clusters(revision: int, listed: dict[str, tuple[int, int, int]], total: int | None = None) -> dict:
    """listed: cluster id -> (size, internal ties, external ties)."""
    return {"clusters": [{"id": c, "size": size, "internal_ties": i, "external_ties": e,
                          "ei_index": (e - i) / (e + i) if e + i else None,
                          "top_members": [member(f"{c}-m{k}") for k in range(7)]}
                         for c, (size, i, e) in listed.items()],
            "clusters_total": len(listed) if total is None else total, "computed": {"revision": revision}}


def health(revision: int, **metrics) -> dict:
    return {"metrics": {"density": 0.5, "largest_component_share": 1.0, "ei_index": {"region": None}, **metrics},
            "computed": {"revision": revision}}


def run(question: str, first: dict, second: dict, thresholds: Thresholds = DEFAULTS, ties=None):
    return compare(question, digest(question, first), digest(question, second), thresholds,
                   ties or (lambda ids: {i: 1 for i in ids}))


def kinds_and_subjects(alerts) -> list[tuple[str, str]]:
    return [(a.kind, a.subject) for a in alerts]


def test_a_member_who_becomes_a_cut_point_of_enough_members_alerts_once():
    before = bridges(1, {"m1": 5, "m2": 2}, [])
    after = bridges(2, {"m1": 6, "m2": 3, "m3": 3, "m4": 2}, [])
    alerts, kept = run("bridges", before, after)
    assert [(a.kind, a.subject, a.data) for a in alerts] == [
        ("cut_point.new", "m2", {"member_id": "m2", "name": "Name m2", "cut_off": 3, "previous_cut_off": 2,
                                 "min_cut_off": 3, "revision": 2, "previous_revision": 1}),
        ("cut_point.new", "m3", {"member_id": "m3", "name": "Name m3", "cut_off": 3, "previous_cut_off": None,
                                 "min_cut_off": 3, "revision": 2, "previous_revision": 1})]
    again, _ = compare("bridges", kept, digest("bridges", bridges(3, {"m1": 6, "m2": 4, "m3": 3}, [])), DEFAULTS,
                       lambda ids: {})
    assert again == []


def test_a_cut_point_that_a_truncated_list_may_have_hidden_does_not_alert():
    hidden = bridges(1, {"m1": 9, "m2": 4}, [], total=3)            # a third one cut off at most 4
    shown = bridges(2, {"m1": 9, "m2": 4, "m3": 4}, [])
    assert run("bridges", hidden, shown) == ([], digest("bridges", shown))
    small = bridges(1, {"m1": 9, "m2": 4, "m4": 2}, [], total=4)    # the fourth cut off at most 2
    assert kinds_and_subjects(run("bridges", small, shown)[0]) == [("cut_point.new", "m3")]


def test_a_top_broker_deleted_or_left_without_ties_alerts_with_the_previous_rank():
    before = bridges(4, {}, [("b1", 0.5), ("b2", 0.4), ("b3", 0.3), ("b4", 0.2)])
    after = bridges(5, {}, [("b3", 0.6)])
    ties = {"b1": None, "b2": 0, "b3": 2, "b4": None}
    alerts, _ = run("bridges", before, after, Thresholds(broker_top_k=3), lambda ids: {i: ties[i] for i in ids})
    assert [(a.kind, a.subject, a.data) for a in alerts] == [
        ("broker.inactive", "b1", {"member_id": "b1", "name": "Name b1", "reason": "deleted", "rank": 1,
                                   "betweenness": 0.5, "top_k": 3, "revision": 5, "previous_revision": 4}),
        ("broker.inactive", "b2", {"member_id": "b2", "name": "Name b2", "reason": "no_ties", "rank": 2,
                                   "betweenness": 0.4, "top_k": 3, "revision": 5, "previous_revision": 4})]


def test_a_cluster_alerts_when_its_ei_index_crosses_below_the_threshold():
    before = clusters(1, {"c1": (6, 10, 4), "c2": (6, 10, 1), "c3": (4, 5, 4), "c4": (2, 1, 0)})
    after = clusters(2, {"c1": (6, 10, 1), "c2": (6, 10, 0), "c3": (4, 5, 0), "c4": (2, 1, 0), "c5": (5, 6, 0)})
    alerts, kept = run("clusters", before, after, Thresholds(silo_min_size=3))
    assert kinds_and_subjects(alerts) == [("silo", "c1"), ("silo", "c3"), ("silo", "c5")]
    assert alerts[0].data == {
        "cluster_id": "c1", "size": 6, "ei_index": -9 / 11, "previous_ei_index": -6 / 14, "internal_ties": 10,
        "external_ties": 1, "threshold": -0.7, "top_members": [{"id": f"c1-m{k}", "name": f"Name c1-m{k}"}
                                                               for k in range(5)],
        "revision": 2, "previous_revision": 1}
    assert alerts[2].data["previous_ei_index"] is None
    again, _ = compare("clusters", kept, digest("clusters", clusters(3, {"c1": (6, 12, 0)})), Thresholds(), None)
    assert again == []


def test_a_new_cluster_that_a_truncated_list_may_have_hidden_does_not_alert():
    after = clusters(2, {"c1": (9, 20, 0), "c2": (6, 10, 0)})
    assert run("clusters", clusters(1, {"c1": (9, 20, 0)}, total=2), after)[0] == []
    assert kinds_and_subjects(run("clusters", clusters(1, {"c1": (9, 20, 0), "c0": (4, 6, 0)}, total=3),
                                  after)[0]) == [("silo", "c2")]


def test_a_health_metric_alerts_once_it_moved_past_the_threshold_from_its_last_alert():
    thresholds = Thresholds(health_metric="density", health_threshold=0.1)
    first = digest("health", health(1, density=0.50))
    quiet, second = compare("health", first, digest("health", health(2, density=0.45)), thresholds, None)
    assert quiet == []
    moved, third = compare("health", second, digest("health", health(3, density=0.38)), thresholds, None)
    assert [(a.kind, a.subject, a.data) for a in moved] == [("health.changed", "density", {
        "metric": "density", "from": 0.5, "to": 0.38, "change": 0.38 - 0.5, "threshold": 0.1,
        "compared_with": "last alert", "revision": 3, "previous_revision": 1})]
    steady, _ = compare("health", third, digest("health", health(4, density=0.40)), thresholds, None)
    assert steady == []


def test_a_health_metric_alerts_when_it_moved_past_the_threshold_between_two_reports():
    """A jump between two reports alerts even when it lands near the value at the last alert."""
    thresholds = Thresholds(health_metric="density", health_threshold=0.1)
    first = digest("health", health(1, density=0.50))
    quiet, second = compare("health", first, digest("health", health(2, density=0.58)), thresholds, None)
    assert quiet == []
    moved, third = compare("health", second, digest("health", health(3, density=0.46)), thresholds, None)
    assert [(a.kind, a.subject, a.data) for a in moved] == [("health.changed", "density", {
        "metric": "density", "from": 0.58, "to": 0.46, "change": 0.46 - 0.58, "threshold": 0.1,
        "compared_with": "previous report", "revision": 3, "previous_revision": 2})]
    steady, _ = compare("health", third, digest("health", health(4, density=0.50)), thresholds, None)
    assert steady == []
    # A baseline kept before digests held the latest values compares with its anchors.
    legacy = {key: value for key, value in second.items() if key != "latest"}
    assert compare("health", legacy, digest("health", health(3, density=0.46)), thresholds, None)[0] == []


def test_a_nested_health_metric_is_followed_by_its_dotted_name_and_none_never_alerts():
    thresholds = Thresholds(health_metric="ei_index.region", health_threshold=0.1)
    first = digest("health", health(1, ei_index={"region": None}))
    none_before, kept = compare("health", first, digest("health", health(2, ei_index={"region": 0.2})),
                                thresholds, None)
    assert none_before == []
    moved, _ = compare("health", kept, digest("health", health(3, ei_index={"region": -0.3})), thresholds, None)
    assert [a.data["change"] for a in moved] == [-0.5]


def test_digests_keep_names_and_ids_but_no_email():
    text = repr([digest("bridges", bridges(1, {"m1": 4}, [("m2", 0.3)])),
                 digest("clusters", clusters(1, {"c1": (3, 3, 0)}))])
    assert "Name m1" in text and "Name c1-m0" in text and "@" not in text


def test_every_health_metric_an_alert_can_follow_is_a_number_of_the_health_report():
    from service.analytics import health as health_module
    from service.analytics.projection import from_rows

    rows = [(m, "member", None, None, [], [], [n for n in "abc" if n != m], [1, 1], None) for m in "abc"]
    metrics, _ = health_module.metrics(from_rows(rows), health_module.Sampling(10, 1, 1.0))
    followed = digest("health", {"metrics": metrics, "computed": {"revision": 1}})["anchors"]
    assert set(alerting.HEALTH_METRICS) == set(followed)


# --- on a network built through the API, the reports computed as the API computes them without a queue ------

GROUP_A, GROUP_C = [f"a{k}" for k in range(1, 6)], [f"c{k}" for k in range(1, 6)]
DEFAULT_REPORTS = ("/v1/analytics/bridges", "/v1/analytics/clusters", "/v1/analytics/health")


def two_groups_a_bridge_and_a_broker(api) -> tuple[dict[str, str], dict[tuple[str, str], str]]:
    """Two five-member cliques; B tied to two members of each, K (a broker too) to one of each; every member
    has an email, which no alert may carry. (member ids by name, collaboration ids by pair)"""
    ids = {}
    for name in [*GROUP_A, *GROUP_C, "B", "K"]:
        response = api.post("/v1/members", json={"name": name, "email": f"{name}@example.org"})
        assert response.status_code == 201, response.get_data(as_text=True)
        ids[name] = response.get_json()["id"]
    pairs = [(u, v) for group in (GROUP_A, GROUP_C) for i, u in enumerate(group) for v in group[i + 1:]]
    pairs += [("B", "a1"), ("B", "a2"), ("B", "c1"), ("B", "c2"), ("K", "a3"), ("K", "c3")]
    ties = {}
    for u, v in pairs:
        response = api.post("/v1/collaborations", json={"source_id": ids[u], "target_id": ids[v], "kind": "project"})
        assert response.status_code == 201, response.get_data(as_text=True)
        ties[(u, v)] = response.get_json()["id"]
    return ids, ties


def default_reports(api, engine) -> dict[str, dict]:
    """The default bridges, clusters and health reports, once their write-back (cluster ids) has landed."""
    reports = {}
    for path in DEFAULT_REPORTS:
        response = api.get(path)
        assert response.status_code == 200, response.get_data(as_text=True)
        reports[path.rsplit("/", 1)[1]] = response.get_json()
    engine.wait_idle(timeout=120)
    return reports


def alerts_listed(api) -> list[dict]:
    response = api.get("/v1/alerts?limit=100")
    assert response.status_code == 200
    assert "@example.org" not in response.get_data(as_text=True)
    return response.get_json()["items"]


def new_alerts(api, seen: int) -> list[dict]:
    """Alerts after seq `seen`, in seq order, as (kind, subject, data)."""
    return [(a["kind"], a["subject"], a["data"]) for a in reversed(alerts_listed(api)) if a["seq"] > seen]


def top_seq(api) -> int:
    listed = alerts_listed(api)
    return listed[0]["seq"] if listed else 0


def revision_of(report: dict) -> int:
    return report["computed"]["revision"]


def test_removing_the_bridge_then_the_brokers_ties_alerts_each_event_once(api, engine):
    settings = api.get("/v1/alerts/settings")
    body = {**{k: v for k, v in settings.get_json().items() if k not in ("version", "updated_at")},
            "silo_ei_threshold": -0.9}
    assert api.put("/v1/alerts/settings", json=body, headers={"If-Match": settings.headers["ETag"]}).status_code == 200
    ids, ties = two_groups_a_bridge_and_a_broker(api)
    name_of = {member_id: name for name, member_id in ids.items()}

    first = default_reports(api, engine)
    assert alerts_listed(api) == []         # the first reports are only the baseline
    ranked = [name_of[b["member"]["id"]] for b in first["bridges"]["brokers"]]
    assert ranked[0] == "B" and "K" in ranked[:5]

    # The bridge member leaves: K and the two members K is tied to become cut points; B was the top broker.
    assert api.delete(f"/v1/members/{ids['B']}", headers={"If-Match": "*"}).status_code == 204
    second = default_reports(api, engine)
    step = revision_of(second["bridges"]), revision_of(first["bridges"])
    found = new_alerts(api, 0)
    cut = [(kind, name_of[subject], data) for kind, subject, data in found if kind == "cut_point.new"]
    assert sorted((name, data["cut_off"]) for _, name, data in cut) == [("K", 5), ("a3", 4), ("c3", 4)]
    for _, name, data in cut:
        assert data == {"member_id": ids[name], "name": name, "cut_off": data["cut_off"], "previous_cut_off": None,
                        "min_cut_off": 3, "revision": step[0], "previous_revision": step[1]}
    assert [a for a in found if a[0] != "cut_point.new"] == [("broker.inactive", ids["B"], {
        "member_id": ids["B"], "name": "B", "reason": "deleted", "rank": 1,
        "betweenness": first["bridges"]["brokers"][0]["betweenness"], "top_k": 5, "revision": step[0],
        "previous_revision": step[1]})]
    seen = top_seq(api)

    # K's ties end: the two groups fall apart, each a closed silo, and K was the top broker.
    for pair in (("K", "a3"), ("K", "c3")):
        assert api.delete(f"/v1/collaborations/{ties[pair]}", headers={"If-Match": "*"}).status_code == 204
    third = default_reports(api, engine)
    found = new_alerts(api, seen)
    k_rank = [b["member"]["id"] for b in second["bridges"]["brokers"]].index(ids["K"]) + 1
    assert ("broker.inactive", ids["K"], {
        "member_id": ids["K"], "name": "K", "reason": "no_ties", "rank": k_rank,
        "betweenness": second["bridges"]["brokers"][k_rank - 1]["betweenness"], "top_k": 5,
        "revision": revision_of(third["bridges"]), "previous_revision": revision_of(second["bridges"])}) in found
    groups = {c["id"]: c for c in third["clusters"]["clusters"]
              if {m["id"] for m in c["top_members"]} & {ids["a1"], ids["c1"]}}
    before = {c["id"]: c for c in second["clusters"]["clusters"]}
    silos = {subject: data for kind, subject, data in found if kind == "silo"}
    assert set(silos) == set(groups) and len(groups) == 2
    for cluster_id, data in silos.items():
        assert data["previous_ei_index"] == before[cluster_id]["ei_index"] >= -0.9
        # K, now without ties, may stay in the cluster it was in: a size of 5 or 6, as the report says.
        assert {k: data[k] for k in ("size", "ei_index", "internal_ties", "external_ties", "threshold")} == {
            "size": groups[cluster_id]["size"], "ei_index": -1.0, "internal_ties": 10, "external_ties": 0,
            "threshold": -0.9}
        assert {m["name"] for m in data["top_members"]} in (set(GROUP_A), set(GROUP_C))
    assert [a for a in found if a[0] == "health.changed"] == [("health.changed", "largest_component_share", {
        "metric": "largest_component_share", "from": 1.0, "to": 5 / 11, "change": 5 / 11 - 1.0, "threshold": 0.1,
        "compared_with": "last alert", "revision": revision_of(third["health"]),
        "previous_revision": revision_of(first["health"])})]
    assert len(found) == 4
    seen = top_seq(api)

    # Nothing that matters changes (a rename): new reports, no new alert; asking again computes nothing new.
    assert api.patch(f"/v1/members/{ids['a4']}", json={"name": "a4 renamed"},
                     headers={"If-Match": "*"}).status_code == 200
    fourth = default_reports(api, engine)
    assert revision_of(fourth["bridges"]) > revision_of(third["bridges"])
    default_reports(api, engine)
    assert new_alerts(api, seen) == []


def test_the_workers_jobs_alert_once_and_a_job_delivered_again_emits_nothing(api, engine, graph, load_network):
    """The worker computes a job with analytics.compute_job: a job redelivered after its worker died, or one
    overtaken by a later revision, finds the baseline at its revision and emits nothing."""
    import networkx as nx

    from service.repositories import alerts, analytics

    settings = api.get("/v1/alerts/settings").get_json()
    body = {**{k: v for k, v in settings.items() if k not in ("version", "updated_at")}, "broker_top_k": 10}
    assert api.put("/v1/alerts/settings", json=body, headers={"If-Match": '"0"'}).status_code == 200
    ids = load_network(nx.cycle_graph(10))      # every member a broker of equal betweenness, no cut point
    name_of = {member_id: node for node, member_id in ids.items()}
    job = analytics.job_of("bridges", analytics.Scope.of(None), dict(analytics.DEFAULT_QUESTIONS)["bridges"])

    def run_job() -> tuple[dict, list[tuple[str, int]]]:
        start = graph.read(alerts.revision)
        revision = graph.read(db.run_one, "change_revision")["revision"]
        report = analytics.compute_job(engine, graph, {**job, "revision": revision})
        engine.wait_idle(timeout=120)
        found = graph.read(lambda tx: alerts.after(tx, start, 100))
        return report, sorted((a["kind"], name_of[a["subject"]]) for a in found)

    ring, found = run_job()
    assert found == []
    assert api.delete(f"/v1/members/{ids[0]}", headers={"If-Match": "*"}).status_code == 204
    # The ring is a path now: the members in its middle cut off at least three others.
    path, found = run_job()
    assert found == [("broker.inactive", 0), ("cut_point.new", 4), ("cut_point.new", 5), ("cut_point.new", 6)]
    assert run_job()[1] == []
    # The ring's report arriving late (its job overtaken) must not become the baseline: else the path's
    # cut points would alert a second time.
    def tied(member_ids):
        return {member_id: 2 for member_id in member_ids}

    assert alerting.observe(graph, "bridges", ring, tied) == []
    assert alerting.observe(graph, "bridges", path, tied) == []
