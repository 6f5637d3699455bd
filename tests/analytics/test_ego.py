"""A member's ego network (GET /v1/members/{id}/network) on real networks, against networkx's ego_graph."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import networkx as nx
import pytest

from tests.analytics.conftest import NETWORKS, karate, les_miserables
from tests.analytics.test_reach import expected_reach

SVG = "{http://www.w3.org/2000/svg}"


def _network(api, member_id: str, **query) -> dict:
    response = api.get(f"/v1/members/{member_id}/network", query_string=query)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


@pytest.mark.parametrize("network", sorted(NETWORKS))
def test_ego_network_equals_networkx_ego_graph(api, load_network, network):
    G, weight = NETWORKS[network]()
    ids = load_network(G, weight)
    node_of = {member_id: node for node, member_id in ids.items()}
    reach = expected_reach(G)
    hub = max(G, key=lambda v: (G.degree(v), str(v)))
    edge = min(G, key=lambda v: (G.degree(v), str(v)))
    for ego in (hub, edge):
        for depth in (1, 2):
            body = _network(api, ids[ego], depth=depth, limit=500)
            E = nx.ego_graph(G, ego, radius=depth)
            distance = nx.single_source_shortest_path_length(G, ego, cutoff=depth)
            assert node_of[body["member"]["id"]] == ego and body["depth"] == depth
            assert {node_of[a["member"]["id"]]: a["distance"] for a in body["alters"]} == \
                {v: d for v, d in distance.items() if v != ego}
            assert body["alters_total"] == len(E) - 1 and body["truncated"] is False
            ties = {frozenset((node_of[t["source_id"]], node_of[t["target_id"]])): t["strength"]
                    for t in body["ties"]}
            assert ties == {frozenset((u, v)): data[weight] for u, v, data in E.edges(data=True)}
            for alter in body["alters"]:
                other = node_of[alter["member"]["id"]]
                if alter["distance"] == 1:
                    assert alter["strength"] == G[ego][other][weight] and alter["mutual_contacts"] is None
                else:
                    assert alter["mutual_contacts"] == len(set(G[ego]) & set(G[other]))
            for name in ("degree", "two_step_reach", "reach", "reach_efficiency"):
                assert body[name] == pytest.approx(reach[ego][name], abs=1e-12), name


def test_a_large_neighbourhood_is_truncated_and_says_so(api, load_network):
    """Valjean's collaborators, strongest ties first, then members two steps away by mutual collaborators."""
    G, weight = les_miserables()
    ids = load_network(G, weight)
    node_of = {member_id: node for node, member_id in ids.items()}
    ego = "Valjean"
    first = sorted(G[ego], key=lambda v: (-G[ego][v][weight], ids[v]))
    second = sorted((v for v in nx.single_source_shortest_path_length(G, ego, cutoff=2) if v not in G[ego]
                     and v != ego), key=lambda v: (-len(set(G[ego]) & set(G[v])), ids[v]))

    small = _network(api, ids[ego], depth=1, limit=10)
    assert [node_of[a["member"]["id"]] for a in small["alters"]] == first[:10]
    assert (small["truncated"], small["alters_total"], small["limit"]) == (True, len(first), 10)
    shown = {ego, *first[:10]}
    assert len(small["ties"]) == G.subgraph(shown).number_of_edges()

    wider = _network(api, ids[ego], depth=2, limit=len(first) + 5)
    assert [node_of[a["member"]["id"]] for a in wider["alters"]] == first + second[:5]
    assert wider["truncated"] is True and wider["alters_total"] == len(first) + len(second)
    # The member's own reach does not depend on how much is shown.
    assert (wider["degree"], wider["two_step_reach"]) == (small["degree"], small["two_step_reach"])


def test_ties_active_on_the_date_only(api, new_member, new_collaboration):
    ada, grace, linus = new_member("Ada"), new_member("Grace"), new_member("Linus")
    new_collaboration(ada, grace, started_on="2020-01-01", ended_on="2020-12-31")
    new_collaboration(grace, linus, started_on="2021-01-01")
    assert _network(api, ada["id"], depth=2)["alters"] == []
    then = _network(api, ada["id"], depth=2, as_of="2020-06-01")
    assert [(a["member"]["id"], a["distance"]) for a in then["alters"]] == [(grace["id"], 1)]
    assert then["as_of"] == "2020-06-01" and "as_of=2020-06-01" in then["picture"]


def test_emails_only_with_the_pii_scope(api, make_key, new_member, new_collaboration):
    ada = new_member("Ada", email="ada@example.org")
    new_collaboration(ada, new_member("Grace", email="grace@example.org"))
    plain = api.with_key(make_key("read")).get(f"/v1/members/{ada['id']}/network").get_json()
    assert "email" not in plain["member"] and "email" not in plain["alters"][0]["member"]
    shown = api.with_key(make_key("read", "pii")).get(f"/v1/members/{ada['id']}/network").get_json()
    assert (shown["member"]["email"], shown["alters"][0]["member"]["email"]) == ("ada@example.org",
                                                                                "grace@example.org")


@pytest.mark.parametrize("query, status, field", [
    ({}, 404, None), ({"depth": 3}, 422, "depth"), ({"limit": 0}, 422, "limit"), ({"limit": 501}, 422, "limit"),
])
def test_errors_are_problems(api, query, status, field):
    response = api.get("/v1/members/6f1c2a1e-0000-4000-8000-000000000000/network", query_string=query)
    assert response.status_code == status and response.mimetype == "application/problem+json"
    if field:
        assert [e["field"] for e in response.get_json()["errors"]] == [field]


def test_the_picture_draws_the_same_members(api, load_network):
    G, weight = karate()
    ids = load_network(G, weight)
    for depth in (1, 2):
        body = _network(api, ids[0], depth=depth)
        picture = api.get(body["picture"])
        assert picture.status_code == 200 and picture.mimetype == "image/svg+xml"
        drawn = {c.get("data-member-id") for c in ET.fromstring(picture.data).iter(f"{SVG}circle")
                 if "member" in c.get("class", "").split()}
        assert drawn == {ids[0], *(a["member"]["id"] for a in body["alters"])}
