"""Analytics behaviour: dates, filters, E-I by hand, caching per revision, stable cluster ids, snapshots,
validation, sampling and background runs."""

from __future__ import annotations

import time

import networkx as nx
import pytest

from service.analytics import bridges as bridges_module
from service.repositories import changes
from tests.analytics.conftest import karate, les_miserables, with_settings


def _health(api, **query) -> dict:
    response = api.get("/v1/analytics/health", query_string=query)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_tie_that_ended_before_as_of_is_not_counted(api, new_member, new_collaboration):
    a, b, c = new_member("A"), new_member("B"), new_member("C")
    new_collaboration(a, b, ended_on="2020-01-31")
    new_collaboration(b, c, started_on="2021-06-01")
    assert _health(api, as_of="2020-01-31")["metrics"]["ties"] == 1   # the last day still counts
    assert _health(api, as_of="2020-02-01")["metrics"]["ties"] == 0   # ended, the second not begun
    assert _health(api, as_of="2021-06-01")["metrics"]["ties"] == 1
    later = _health(api)
    assert later["metrics"]["ties"] == 1 and later["metrics"]["isolates"] == 1
    assert later["computed"]["parameters"]["as_of"] == later["computed"]["as_of"]


def test_bridges_as_of_drops_ended_bridge_tie(api, new_member, new_collaboration):
    a, b, c = new_member("A"), new_member("B"), new_member("C")
    new_collaboration(a, b, ended_on="2022-12-31")
    new_collaboration(b, c)
    earlier = api.get("/v1/analytics/bridges", query_string={"as_of": "2022-06-01", "min_cut_off": 1}).get_json()
    now = api.get("/v1/analytics/bridges", query_string={"min_cut_off": 1}).get_json()
    assert [p["member"]["id"] for p in earlier["articulation_points"]] == [b["id"]]
    assert earlier["articulation_points"][0]["cut_off"] == 1
    assert now["articulation_points"] == [] and now["bridge_ties_total"] == 1


def _small_network(new_member, new_organization, new_collaboration, api):
    """Five members in two organizations, two regions and two roles, with five ties (E-I worked by hand)."""
    north, south = new_organization("North Org"), new_organization("South Org")
    ann = new_member("Ann", region="north", role="teacher")
    bob = new_member("Bob", region="north", role="coach")
    cat = new_member("Cat", region="south", role="teacher")
    dan = new_member("Dan", region="south", role="teacher")
    eve = new_member("Eve", role="coach")                      # no region, no organization
    for member, org in ((ann, north), (bob, north), (cat, south), (dan, south), (dan, north)):
        assert api.put(f"/v1/members/{member['id']}/affiliations/{org['id']}", json={}).status_code == 201
    for x, y in ((ann, bob), (ann, cat), (bob, cat), (cat, dan), (dan, eve)):
        new_collaboration(x, y)
    return {"north": north, "south": south, "ann": ann, "bob": bob, "cat": cat, "dan": dan, "eve": eve}


def test_ei_index_by_organization_region_and_role_by_hand(api, new_member, new_organization, new_collaboration):
    _small_network(new_member, new_organization, new_collaboration, api)
    ei = _health(api)["metrics"]["ei_index"]
    # organization: ann-bob share North (I), ann-cat (E), bob-cat (E), cat-dan share South (I), dan-eve not
    # counted (Eve has none): E=2, I=2.
    assert ei["organization"] == pytest.approx(0.0)
    # region: ann-bob I, ann-cat E, bob-cat E, cat-dan I, dan-eve not counted: (2-2)/4.
    assert ei["region"] == pytest.approx(0.0)
    # role: ann-bob E (teacher/coach), ann-cat I, bob-cat E, cat-dan I, dan-eve E: (3-2)/5.
    assert ei["role"] == pytest.approx(0.2)


def test_health_of_a_region_counts_only_its_members_and_their_ties(api, new_member, new_organization,
                                                                    new_collaboration):
    people = _small_network(new_member, new_organization, new_collaboration, api)
    north = _health(api, region="north")
    assert north["scope"] == {"organization_id": None, "region": "north", "role": None, "topic": None}
    assert (north["metrics"]["members"], north["metrics"]["ties"]) == (2, 1)
    in_org = _health(api, organization_id=people["north"]["id"])["metrics"]     # ann, bob, dan
    assert (in_org["members"], in_org["ties"], in_org["components"], in_org["isolates"]) == (3, 1, 2, 1)
    teachers = _health(api, role="teacher")["metrics"]                          # ann, cat, dan
    assert (teachers["members"], teachers["ties"], teachers["average_shortest_path"]) == (3, 2, pytest.approx(4 / 3))


def test_repeated_call_answers_from_cache_and_a_write_recomputes(api, load_network, graph, engine,
                                                                  new_collaboration):
    G, weight = karate()
    ids = load_network(G, weight)
    first = api.get("/v1/analytics/clusters").get_json()
    second = api.get("/v1/analytics/clusters").get_json()
    assert first["computed"]["cached"] is False and second["computed"]["cached"] is True
    assert second["computed"]["run_id"] == first["computed"]["run_id"]
    assert second["clusters"] == first["clusters"]
    # Writing cluster ids and betweenness back is derived data: the revision does not move.
    api.get("/v1/analytics/bridges")
    engine.wait_idle(timeout=30)
    assert changes.revision(graph) == first["computed"]["revision"]

    new_collaboration({"id": ids[0]}, {"id": ids[33]})
    third = api.get("/v1/analytics/clusters").get_json()
    assert third["computed"]["cached"] is False
    assert third["computed"]["revision"] > first["computed"]["revision"]
    assert api.get("/v1/analytics/health").get_json()["metrics"]["ties"] == G.number_of_edges() + 1


def test_cluster_ids_stay_when_one_tie_is_added(api, load_network, engine, new_collaboration):
    G, weight = les_miserables()
    ids = load_network(G, weight)
    before = api.get("/v1/analytics/clusters", query_string={"limit": 100}).get_json()["clusters"]
    engine.wait_idle(timeout=30)
    member = api.get(f"/v1/members/{ids['Valjean']}").get_json()
    assert member["cluster_id"] in {c["id"] for c in before} and member["version"] == 1

    new_collaboration({"id": ids["Napoleon"]}, {"id": ids["Gavroche"]}, strength=1)
    after = api.get("/v1/analytics/clusters", query_string={"limit": 100}).get_json()["clusters"]
    kept = {c["id"] for c in before} & {c["id"] for c in after}
    assert len(kept) >= len(before) - 1
    sizes_before, sizes_after = {c["id"]: c["size"] for c in before}, {c["id"]: c["size"] for c in after}
    assert sum(abs(sizes_before[i] - sizes_after[i]) for i in kept) <= 2


def test_snapshots_store_health_and_compare_shows_the_change(api, load_network, new_collaboration):
    G = nx.path_graph(6)
    ids = load_network(G)
    first = api.post("/v1/analytics/health/snapshots", json={"label": "before"})
    assert first.status_code == 201, first.get_json()
    new_collaboration({"id": ids[0]}, {"id": ids[5]})
    second = api.post("/v1/analytics/health/snapshots", json={"label": "after"}).get_json()

    listed = api.get("/v1/analytics/health/snapshots", query_string={"limit": 1}).get_json()
    assert [s["label"] for s in listed["items"]] == ["before"]
    rest = api.get("/v1/analytics/health/snapshots", query_string={"cursor": listed["next_cursor"]}).get_json()
    assert [s["label"] for s in rest["items"]] == ["after"] and rest["next_cursor"] is None

    compared = api.get("/v1/analytics/health/compare",
                       query_string={"from": first.get_json()["id"], "to": second["id"]}).get_json()
    change = {c["metric"]: c for c in compared["changes"]}
    assert (change["ties"]["from"], change["ties"]["to"], change["ties"]["delta"]) == (5, 6, 1)
    assert change["average_shortest_path"]["to"] == pytest.approx(nx.average_shortest_path_length(nx.cycle_graph(6)))
    assert change["kcore.k"]["delta"] == 1
    assert compared["from"]["label"] == "before" and compared["to"]["snapshot_id"] == second["id"]


def test_compare_two_dates(api, new_member, new_collaboration):
    a, b, c = new_member("A"), new_member("B"), new_member("C")
    new_collaboration(a, b, started_on="2024-01-01")
    new_collaboration(b, c, started_on="2025-01-01")
    compared = api.get("/v1/analytics/health/compare", query_string={"from": "2024-06-01", "to": "2025-06-01"})
    assert compared.status_code == 200, compared.get_json()
    change = {c["metric"]: c for c in compared.get_json()["changes"]}
    assert (change["ties"]["from"], change["ties"]["to"]) == (1, 2)
    assert change["isolates"]["delta"] == -1


def test_compare_unknown_snapshot_is_404(api):
    missing = "00000000-0000-4000-8000-000000000000"
    response = api.get("/v1/analytics/health/compare", query_string={"from": missing, "to": "2025-01-01"})
    assert response.status_code == 404


@pytest.mark.parametrize("path, query, field", [
    ("/v1/analytics/health", {"as_of": "yesterday"}, "as_of"),
    ("/v1/analytics/clusters", {"resolution": "0"}, "resolution"),
    ("/v1/analytics/clusters", {"resolution": "10.5"}, "resolution"),
    ("/v1/analytics/clusters", {"resolution": "nan"}, "resolution"),
    ("/v1/analytics/bridges", {"limit": "0"}, "limit"),
    ("/v1/analytics/bridges", {"limit": "101"}, "limit"),
    ("/v1/analytics/bridges", {"include": "members"}, "include"),
    ("/v1/analytics/bridges", {"weighted": "true"}, "weighted"),
    ("/v1/analytics/bridges", {"min_cut_off": "-1"}, "min_cut_off"),
    ("/v1/analytics/bridges", {"min_cut_off": "1000001"}, "min_cut_off"),
    ("/v1/analytics/bridges", {"min_cut_off": "two"}, "min_cut_off"),
    ("/v1/analytics/bridges", {"min_cut_off": "1.5"}, "min_cut_off"),
    ("/v1/analytics/health", {"role": " "}, "role"),
    ("/v1/analytics/health", {"organization_id": "north"}, "organization_id"),
    ("/v1/analytics/health/compare", {"from": "last week", "to": "2025-01-01"}, "from"),
    ("/v1/analytics/health/compare", {"from": "2025-01-01"}, "to"),
    ("/v1/analytics/clusters/00000000-0000-4000-8000-000000000000", {"cursor": "bogus"}, "cursor"),
    ("/v1/analytics/clusters/not-a-uuid", {}, "cluster_id"),
])
def test_invalid_arguments_are_422_naming_the_field(api, path, query, field):
    response = api.get(path, query_string=query)
    assert response.status_code == 422, response.get_json()
    assert response.mimetype == "application/problem+json"
    assert field in {error["field"] for error in response.get_json()["errors"]}


def test_snapshot_without_label_is_422(api):
    response = api.post("/v1/analytics/health/snapshots", json={})
    assert response.status_code == 422
    assert [e["field"] for e in response.get_json()["errors"]] == ["label"]


def test_unknown_cluster_is_404(api, new_member):
    new_member("A")
    response = api.get("/v1/analytics/clusters/00000000-0000-4000-8000-000000000000")
    assert response.status_code == 404


def test_betweenness_above_the_exact_limit_is_estimated_within_its_bound_and_says_so(api, load_network, engine):
    G, weight = les_miserables()
    load_network(G, weight)
    with_settings(engine, exact_betweenness_max=10, kadabra_max=1000, betweenness_epsilon=0.01, betweenness_delta=0.1)
    body = api.get("/v1/analytics/bridges", query_string={"limit": 100}).get_json()
    assert body["computed"]["exact"] is False and body["computed"]["sample_size"] > 1000
    assert "KADABRA" in body["computed"]["algorithm"]
    exact = nx.betweenness_centrality(G)
    listed = {b["member"]["name"]: b["betweenness"] for b in body["brokers"]}
    assert listed != pytest.approx({name: exact[name] for name in listed}, abs=1e-9)   # really an estimate
    # within the stated bound (epsilon / 2 = 0.005), with room for a scale bias of about 1 % seen on the
    # karate club and Les Miserables when the estimates are scaled to networkx's normalization
    assert listed == pytest.approx({name: exact[name] for name in listed}, abs=0.005 + 0.02 * max(exact.values()))
    assert max(listed, key=listed.get) == max(exact, key=exact.get)                   # Valjean either way


def test_betweenness_above_the_exact_limit_comes_from_budgeted_sources_within_the_stated_bound(api, load_network,
                                                                                                engine):
    G, weight = les_miserables()
    load_network(G, weight)
    # 254 ties: a budget of 254 * 40 tie visits pays for 40 of the 77 sources.
    with_settings(engine, exact_betweenness_max=10, betweenness_samples=16, betweenness_budget=254 * 40,
                  betweenness_delta=0.1)
    body = api.get("/v1/analytics/bridges", query_string={"limit": 100}).get_json()
    assert body["computed"]["exact"] is False and body["computed"]["sample_size"] == 40
    algorithm = body["computed"]["algorithm"]
    assert "sampled sources" in algorithm and "probability 0.9" in algorithm
    bound = float(algorithm.split("every score within ")[1].split()[0])
    assert bound == pytest.approx(bridges_module.sources_bound(77, 40, 0.1), rel=1e-2)
    exact = nx.betweenness_centrality(G)
    listed = {b["member"]["name"]: b["betweenness"] for b in body["brokers"]}
    assert listed != pytest.approx({name: exact[name] for name in listed}, abs=1e-9)   # really an estimate
    assert listed == pytest.approx({name: exact[name] for name in listed}, abs=bound)
    assert max(listed, key=listed.get) == max(exact, key=exact.get)


def test_the_sources_an_estimate_samples_follow_the_budget_between_the_fewest_and_every_vertex():
    assert bridges_module.source_count(10_000, 30_000, 64, 64_000_000) == 2133
    assert bridges_module.source_count(100_000, 1_000_000, 64, 64_000_000) == 64
    assert bridges_module.source_count(100_000, 1_000_000, 16, 64_000_000) == 64
    assert bridges_module.source_count(100_000, 4_000_000, 64, 64_000_000) == 64      # never below the fewest
    assert bridges_module.source_count(1_000, 2_000, 64, 64_000_000) == 1_000         # every vertex: exact
    # Hoeffding: more sources, a tighter bound; a smaller failure probability, a looser one.
    assert bridges_module.sources_bound(10_000, 2133, 0.1) < bridges_module.sources_bound(10_000, 64, 0.1)
    assert bridges_module.sources_bound(10_000, 64, 0.01) > bridges_module.sources_bound(10_000, 64, 0.1)
    assert bridges_module.sources_bound(10_000, 2133, 0.1) == pytest.approx(0.02644, abs=1e-4)


def test_slow_computation_answers_202_then_serves_last_good_marked_stale(api, load_network, engine,
                                                                         new_collaboration):
    G, weight = karate()
    ids = load_network(G, weight)
    with_settings(engine, sync_seconds=0.0)
    pending = api.get("/v1/analytics/clusters")
    assert pending.status_code == 202, pending.get_json()
    run = pending.get_json()
    assert pending.headers["Location"].endswith(f"/v1/analytics/runs/{run['id']}")
    assert _wait_for(api, run["id"])["status"] == "done"
    fresh = api.get("/v1/analytics/clusters").get_json()
    assert fresh["computed"]["cached"] is True and fresh["computed"]["stale"] is False

    new_collaboration({"id": ids[0]}, {"id": ids[33]})
    stale = api.get("/v1/analytics/clusters")
    assert stale.status_code == 200
    marked = stale.get_json()["computed"]
    assert marked["stale"] is True and marked["revision"] == fresh["computed"]["revision"]
    assert _wait_for(api, marked["run_id"])["status"] == "done"
    assert api.get("/v1/analytics/clusters").get_json()["computed"]["revision"] > marked["revision"]


def _wait_for(api, run_id: str, timeout: float = 30.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = api.get(f"/v1/analytics/runs/{run_id}").get_json()
        if run["status"] != "running":
            return run
        time.sleep(0.05)
    raise AssertionError(f"run {run_id} still running after {timeout} s")


def test_unknown_run_is_404(api):
    assert api.get("/v1/analytics/runs/00000000-0000-4000-8000-000000000000").status_code == 404


def test_member_responses_hide_email_in_analytics_without_pii(api, make_key, new_member, new_collaboration):
    a = new_member("A", email="a@example.org")
    b, c = new_member("B", email="b@example.org"), new_member("C")
    new_collaboration(a, b)
    new_collaboration(b, c)
    analyst = api.with_key(make_key("analytics"))
    broker = analyst.get("/v1/analytics/bridges").get_json()["brokers"][0]["member"]
    assert broker["name"] == "B" and "email" not in broker
    assert api.get("/v1/analytics/bridges").get_json()["brokers"][0]["member"]["email"] == "b@example.org"


def test_include_organizations_makes_them_vertices(api, new_member, new_organization, new_collaboration):
    org = new_organization("Hub Org")
    a, b = new_member("A"), new_member("B")
    new_collaboration(a, org)
    new_collaboration(org, b)
    members_only = api.get("/v1/analytics/bridges").get_json()
    with_orgs = api.get("/v1/analytics/bridges", query_string={"include": "organizations"}).get_json()
    assert members_only["bridge_ties_total"] == 0
    assert with_orgs["bridge_ties_total"] == 2 and with_orgs["articulation_points"] == []  # the cut vertex is the org
    assert with_orgs["computed"]["parameters"]["include"] == ["organizations"]
    # Each tie cuts off one member (the other side is the organization and the other member): listed with
    # min_cut_off 1, its organization end named as collaborations name it.
    assert with_orgs["bridge_ties"] == [] and with_orgs["bridge_ties_matching"] == 0
    ties = api.get("/v1/analytics/bridges", query_string={"include": "organizations", "min_cut_off": 1}).get_json()
    assert [(t["cut_off"], t["pendant"]) for t in ties["bridge_ties"]] == [(1, True), (1, True)]
    assert {t["source"]["id"]: t["source"] for t in ties["bridge_ties"]} | \
        {t["target"]["id"]: t["target"] for t in ties["bridge_ties"]} == {
            org["id"]: {"id": org["id"], "type": "organization", "name": "Hub Org"},
            a["id"]: {"id": a["id"], "type": "member", "name": "A"},
            b["id"]: {"id": b["id"], "type": "member", "name": "B"}}


def test_within_the_minimum_interval_a_write_serves_the_last_answer_marked_stale(api, load_network, engine,
                                                                               new_collaboration):
    """Under a stream of writes every call would recompute; within min_interval the last answer is served."""
    G, weight = karate()
    ids = load_network(G, weight)
    with_settings(engine, min_interval=600)
    first = api.get("/v1/analytics/health").get_json()
    assert first["computed"]["stale"] is False
    new_collaboration({"id": ids[0]}, {"id": ids[33]})
    runs_before = set(engine._runs)
    again = api.get("/v1/analytics/health").get_json()
    assert again["computed"]["stale"] is True and again["computed"]["cached"] is True
    assert again["computed"]["revision"] == first["computed"]["revision"]
    assert again["metrics"] == first["metrics"]
    assert set(engine._runs) == runs_before                     # nothing recomputed

    with_settings(engine, min_interval=0)
    fresh = api.get("/v1/analytics/health").get_json()
    assert fresh["computed"]["stale"] is False and fresh["computed"]["revision"] > first["computed"]["revision"]
    assert fresh["metrics"]["ties"] == first["metrics"]["ties"] + 1


def _two_teams(api, new_member, new_collaboration) -> dict[str, dict]:
    """Two six-member cliques (a0-a5, b0-b5) tied by a0-b0; p1 tied only to a1; a chain a2 - c1 - c2 - c3."""
    people = {name: new_member(name) for name in
              [f"a{i}" for i in range(6)] + [f"b{i}" for i in range(6)] + ["p1", "c1", "c2", "c3"]}
    for team in "ab":
        for i in range(6):
            for j in range(i + 1, 6):
                new_collaboration(people[f"{team}{i}"], people[f"{team}{j}"])
    for x, y in (("a0", "b0"), ("a1", "p1"), ("a2", "c1"), ("c1", "c2"), ("c2", "c3")):
        new_collaboration(people[x], people[y])
    return people


def _rank(item: dict, *ids: str) -> tuple:
    return (-item["clusters_joined"], -item["cut_off"], *ids)


def test_bridges_rank_ties_between_clusters_first_named_and_leave_out_pendant_ties(api, engine, new_member,
                                                                                    new_collaboration):
    people = _two_teams(api, new_member, new_collaboration)
    name_of = {person["id"]: name for name, person in people.items()}
    body = api.get("/v1/analytics/bridges").get_json()
    engine.wait_idle(timeout=30)
    cluster_of = {name: api.get(f"/v1/members/{person['id']}").get_json()["cluster_id"]
                  for name, person in people.items()}
    assert cluster_of["a1"] != cluster_of["b1"]     # the two cliques are two clusters

    first = body["bridge_ties"][0]
    assert {first["source"]["name"], first["target"]["name"]} == {"a0", "b0"}
    assert first["source"] == {"id": first["source_id"], "type": "member", "name": name_of[first["source_id"]]}
    assert first["target"] == {"id": first["target_id"], "type": "member", "name": name_of[first["target_id"]]}
    assert (first["cut_off"], first["pendant"], first["clusters_joined"]) == (6, False, 2)
    assert set(first["cluster_ids"]) == {cluster_of["a0"], cluster_of["b0"]}

    # Pendant ties (p1, c3) and cut points cutting off one member (a1, c2) are left out by default, and counted.
    listed = {frozenset((name_of[t["source_id"]], name_of[t["target_id"]])): t["cut_off"] for t in body["bridge_ties"]}
    assert listed == {frozenset(("a0", "b0")): 6, frozenset(("a2", "c1")): 3, frozenset(("c1", "c2")): 2}
    assert (body["bridge_ties_total"], body["bridge_ties_matching"], body["pendant_ties_total"]) == (5, 3, 2)
    points = {name_of[p["member"]["id"]]: p["cut_off"] for p in body["articulation_points"]}
    assert points == {"a0": 6, "b0": 5, "a2": 3, "c1": 2}
    assert (body["articulation_points_total"], body["articulation_points_matching"]) == (6, 4)
    assert body["computed"]["parameters"]["min_cut_off"] == 2

    everything = api.get("/v1/analytics/bridges", query_string={"min_cut_off": 1}).get_json()
    ties = everything["bridge_ties"]
    assert len(ties) == everything["bridge_ties_matching"] == 5
    assert {frozenset((t["source"]["name"], t["target"]["name"])) for t in ties if t["pendant"]} == {
        frozenset(("a1", "p1")), frozenset(("c2", "c3"))}
    assert [_rank(t, t["source_id"], t["target_id"]) for t in ties] == \
        sorted(_rank(t, t["source_id"], t["target_id"]) for t in ties)
    for tie in ties:
        ends = {cluster_of[name_of[tie["source_id"]]], cluster_of[name_of[tie["target_id"]]]}
        assert set(tie["cluster_ids"]) == ends and tie["clusters_joined"] == len(ends)
    cut_points = everything["articulation_points"]
    assert len(cut_points) == 6
    assert [_rank(p, p["member"]["id"]) for p in cut_points] == sorted(_rank(p, p["member"]["id"]) for p in cut_points)
    b0 = next(p for p in cut_points if p["member"]["id"] == people["b0"]["id"])
    assert set(b0["cluster_ids"]) == {cluster_of[name] for name in ("b0", "b1", "a0")}
    assert b0["clusters_joined"] == len(b0["cluster_ids"])


def test_betweenness_written_back_only_where_it_changed(api, graph, engine, new_member, new_collaboration):
    """The write-back skips members whose stored score is the computed one (members without ties keep 0 from
    one revision to the next): the rows written are the ones that changed, and the stored scores match."""
    from service import db
    from service.repositories import analytics

    a, b, c, loner = new_member("A"), new_member("B"), new_member("C"), new_member("Loner")
    new_collaboration(a, b)
    new_collaboration(b, c)
    assert api.get("/v1/analytics/bridges").status_code == 200
    engine.wait_idle(timeout=60)
    stored = {member_id: member["betweenness"]
              for member_id, member in analytics.members_by_ids(graph, [m["id"] for m in (a, b, c, loner)]).items()}
    assert stored[b["id"]] > 0 and stored[a["id"]] == stored[loner["id"]] == 0.0

    def written(rows):
        return graph.write(db.run, "analytics_write_betweenness", rows=rows)[0]["written"]

    same = [{"id": member_id, "betweenness": score} for member_id, score in stored.items()]
    assert written(same) == 0
    assert written([{"id": loner["id"], "betweenness": 0.0}, {"id": b["id"], "betweenness": 0.5}]) == 1
