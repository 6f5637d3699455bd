"""Each member's two-step reach, reach efficiency and k-core number (GET /v1/analytics/reach) on real networks,
against networkx; coreness written back onto members."""

from __future__ import annotations

import networkx as nx
import pytest

from service.cursors import encode_cursor
from tests.analytics.conftest import NETWORKS, karate
from tests.conftest import run_test_query

each_network = pytest.mark.parametrize("network", sorted(NETWORKS))


def _all_pages(api, **query) -> list[dict]:
    items, cursor = [], None
    while True:
        response = api.get("/v1/analytics/reach", query_string={"limit": 9, **query, **({"cursor": cursor} if cursor
                                                                                        else {})})
        assert response.status_code == 200, response.get_json()
        body = response.get_json()
        items += body["items"]
        cursor = body["next_cursor"]
        if cursor is None:
            return items


def expected_reach(G: nx.Graph) -> dict:
    """Kumu's reach (share of the other members within two steps) and reach efficiency (reach / degree),
    counted here with breadth-first search; coreness from networkx."""
    n, cores = len(G), nx.core_number(G)
    found = {}
    for v in G:
        within = len(nx.single_source_shortest_path_length(G, v, cutoff=2)) - 1
        reach = within / (n - 1)
        found[v] = {"degree": G.degree(v), "two_step_reach": within, "reach": reach,
                    "reach_efficiency": reach / G.degree(v) if G.degree(v) else None, "coreness": cores[v]}
    return found


@each_network
def test_reach_and_coreness_of_every_member_equal_networkx(api, load_network, network):
    G, weight = NETWORKS[network]()
    ids = load_network(G, weight)
    node_of = {member_id: node for node, member_id in ids.items()}
    expected = expected_reach(G)

    items = _all_pages(api)
    assert [node_of[item["member"]["id"]] for item in items] == \
        sorted(G, key=lambda v: (-expected[v]["reach"], ids[v]))
    for item in items:
        want = expected[node_of[item["member"]["id"]]]
        for name, value in want.items():
            assert item[name] == (pytest.approx(value, abs=1e-12) if isinstance(value, float) else value), name

    by_core = [node_of[item["member"]["id"]] for item in _all_pages(api, sort="coreness")]
    assert by_core == sorted(G, key=lambda v: (-expected[v]["coreness"], ids[v]))
    by_efficiency = [node_of[item["member"]["id"]] for item in _all_pages(api, sort="reach_efficiency")]
    assert by_efficiency == sorted(G, key=lambda v: (-(expected[v]["reach_efficiency"] or -1), ids[v]))


def test_members_without_ties_have_no_efficiency_and_rank_last(api, load_network, new_member):
    G, weight = karate()
    load_network(G, weight)
    loner = new_member("Loner")
    body = api.get("/v1/analytics/reach", query_string={"sort": "reach_efficiency", "limit": 100}).get_json()
    assert body["members_total"] == len(G) + 1
    last = body["items"][-1]
    assert last["member"]["id"] == loner["id"]
    assert (last["degree"], last["two_step_reach"], last["reach"], last["reach_efficiency"], last["coreness"]) == \
        (0, 0, 0.0, None, 0)


def test_coreness_is_written_back_onto_members(api, graph, engine, load_network):
    G, weight = karate()
    ids = load_network(G, weight)
    cores = nx.core_number(G)
    assert api.get("/v1/analytics/health").status_code == 200
    engine.wait_idle(timeout=60)
    stored = {row["id"]: row["coreness"] for row in run_test_query(graph, "test_member_coreness")}
    assert stored == {ids[v]: cores[v] for v in G}
    # Member responses show it; derived data: writing it is not a change of the member.
    member = api.get(f"/v1/members/{ids[0]}").get_json()
    assert (member["coreness"], member["version"]) == (cores[0], 1)

    # A tie that lifts a member into a deeper core is written back after the next answer.
    low = sorted(G, key=lambda v: (cores[v], v))
    a = low[0]
    b = next(v for v in low[1:] if not G.has_edge(a, v))
    assert api.post("/v1/collaborations", json={"source_id": ids[a], "target_id": ids[b], "kind": "project"}
                    ).status_code == 201
    H = nx.Graph(G)
    H.add_edge(a, b)
    assert nx.core_number(H) != cores
    assert api.get("/v1/analytics/reach", query_string={"limit": 1}).status_code == 200
    engine.wait_idle(timeout=60)
    stored = {row["id"]: row["coreness"] for row in run_test_query(graph, "test_member_coreness")}
    assert stored == {ids[v]: core for v, core in nx.core_number(H).items()}


def test_a_past_date_is_not_written_back(api, graph, engine, new_member, new_collaboration):
    a, b = new_member("A"), new_member("B")
    new_collaboration(a, b, started_on="2020-01-01")
    body = api.get("/v1/analytics/reach", query_string={"as_of": "2019-06-01"}).get_json()
    assert {item["coreness"] for item in body["items"]} == {0}
    engine.wait_idle(timeout=60)
    assert {row["coreness"] for row in run_test_query(graph, "test_member_coreness")} == {None}


@pytest.mark.parametrize("cursor", ["bm90LWEtY3Vyc29y", encode_cursor(["many", "x"])])
def test_a_foreign_cursor_is_a_problem_naming_cursor(api, new_member, cursor):
    new_member("A")
    response = api.get("/v1/analytics/reach", query_string={"cursor": cursor})
    assert response.status_code == 422
    assert [e["field"] for e in response.get_json()["errors"]] == ["cursor"]
