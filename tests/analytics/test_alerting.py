"""The alert comparisons on pairs of reports: each fires when its condition starts, not while it holds."""

from __future__ import annotations

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
        "metric": "density", "from": 0.5, "to": 0.38, "change": 0.38 - 0.5, "threshold": 0.1, "revision": 3,
        "previous_revision": 1})]
    steady, _ = compare("health", third, digest("health", health(4, density=0.40)), thresholds, None)
    assert steady == []


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
