"""Analytics on real networks shipped with networkx, loaded through the API, checked against networkx."""

from __future__ import annotations

import math
from collections import Counter

import networkx as nx
import pytest

from tests.analytics.conftest import NETWORKS, karate

each_network = pytest.mark.parametrize("network", sorted(NETWORKS))


def _all_members_of_clusters(api, clusters: list[dict], **params) -> dict[str, str]:
    """member id -> cluster id, walking every cluster's member pages."""
    found = {}
    for cluster in clusters:
        cursor = None
        while True:
            query = {"limit": 7, **params, **({"cursor": cursor} if cursor else {})}
            response = api.get(f"/v1/analytics/clusters/{cluster['id']}", query_string=query)
            assert response.status_code == 200, response.get_json()
            body = response.get_json()
            found.update({member["id"]: cluster["id"] for member in body["items"]})
            cursor = body["next_cursor"]
            if cursor is None:
                break
    return found


def _partition(ids: dict, assignment: dict[str, str]) -> list[set]:
    by_cluster: dict[str, set] = {}
    for node, member_id in ids.items():
        by_cluster.setdefault(assignment[member_id], set()).add(node)
    return list(by_cluster.values())


@each_network
def test_bridges_equal_networkx(api, load_network, engine, network):
    G, weight = NETWORKS[network]()
    ids = load_network(G, weight)
    node_of = {member_id: node for node, member_id in ids.items()}

    response = api.get("/v1/analytics/bridges", query_string={"limit": 100, "min_cut_off": 1})
    assert response.status_code == 200, response.get_json()
    body = response.get_json()

    expected_cut = {node: _cut_off(G, node) for node in nx.articulation_points(G)}
    assert {node_of[p["member"]["id"]]: p["cut_off"] for p in body["articulation_points"]} == expected_cut
    assert body["articulation_points_total"] == len(expected_cut)
    expected_ties = {frozenset(edge): _tie_cut_off(G, *edge) for edge in nx.bridges(G)}
    assert {frozenset((node_of[t["source_id"]], node_of[t["target_id"]])): (t["cut_off"], t["pendant"])
            for t in body["bridge_ties"]} == expected_ties
    assert body["bridge_ties_total"] == body["bridge_ties_matching"] == len(expected_ties)
    assert body["pendant_ties_total"] == sum(pendant for _, pendant in expected_ties.values())
    assert all(t["source"]["name"] == str(node_of[t["source_id"]]) and
               t["target"]["name"] == str(node_of[t["target_id"]]) for t in body["bridge_ties"])

    # By default pendant ties and cut points cutting off one member are left out, and counted.
    default = api.get("/v1/analytics/bridges", query_string={"limit": 100}).get_json()
    assert {node_of[p["member"]["id"]] for p in default["articulation_points"]} == \
        {node for node, cut_off in expected_cut.items() if cut_off >= 2}
    assert {frozenset((node_of[t["source_id"]], node_of[t["target_id"]])) for t in default["bridge_ties"]} == \
        {edge for edge, (cut_off, _) in expected_ties.items() if cut_off >= 2}
    assert default["bridge_ties_total"] == len(expected_ties)
    assert default["bridge_ties_matching"] == len(default["bridge_ties"])

    exact = nx.betweenness_centrality(G, normalized=True)
    assert body["computed"]["exact"] is True and body["computed"]["sample_size"] is None
    listed = {node_of[b["member"]["id"]]: b["betweenness"] for b in body["brokers"]}
    assert set(listed) == {node for node, value in exact.items() if value > 0}
    for node, value in listed.items():
        assert value == pytest.approx(exact[node], abs=1e-9), node
    assert [b["betweenness"] for b in body["brokers"]] == sorted(listed.values(), reverse=True)
    # Written back onto the members after the answer (derived data: the member's version does not move).
    engine.wait_idle(timeout=30)
    member = api.get(f"/v1/members/{ids[max(exact, key=exact.get)]}").get_json()
    assert member["betweenness"] == pytest.approx(max(exact.values()), abs=1e-9)
    assert member["version"] == 1


def _tie_cut_off(G: nx.Graph, u, v) -> tuple[int, bool]:
    """(members on the smaller side once the tie u-v is removed, whether that side is one member)."""
    rest = G.copy()
    rest.remove_edge(u, v)
    smaller = min(len(nx.node_connected_component(rest, end)) for end in (u, v))
    return smaller, smaller == 1


def _cut_off(G: nx.Graph, node) -> int:
    """Members separated from the largest remaining piece of the node's component when it leaves."""
    component = nx.node_connected_component(G, node)
    rest = G.subgraph(component - {node})
    return len(component) - 1 - max(len(c) for c in nx.connected_components(rest))


@each_network
def test_clusters_modularity_not_below_networkx_louvain(api, load_network, network):
    G, weight = NETWORKS[network]()
    ids = load_network(G, weight)

    body = api.get("/v1/analytics/clusters", query_string={"limit": 100}).get_json()
    assert body["clusters_total"] == len(body["clusters"])
    partition = _partition(ids, _all_members_of_clusters(api, body["clusters"]))
    assert sorted(len(p) for p in partition) == sorted(c["size"] for c in body["clusters"])

    assert body["modularity"] == pytest.approx(nx.community.modularity(G, partition, weight=weight), abs=1e-9)
    louvain = max(nx.community.modularity(G, nx.community.louvain_communities(G, weight=weight, seed=seed),
                                          weight=weight) for seed in range(5))
    assert body["modularity"] >= louvain - 1e-9
    _check_cluster_ties(G, ids, partition, body["clusters"])


def _check_cluster_ties(G, ids, partition, clusters) -> None:
    by_size = {}
    for part in partition:
        internal = G.subgraph(part).number_of_edges()
        external = sum(1 for u, v in G.edges if (u in part) != (v in part))
        by_size.setdefault(len(part), []).append((internal, external))
    for cluster in clusters:
        assert (cluster["internal_ties"], cluster["external_ties"]) in by_size[cluster["size"]]
        total = cluster["internal_ties"] + cluster["external_ties"]
        assert cluster["ei_index"] == pytest.approx((cluster["external_ties"] - cluster["internal_ties"]) / total)
        size = cluster["size"]
        assert cluster["density"] == pytest.approx(2 * cluster["internal_ties"] / (size * (size - 1)))


@each_network
def test_health_equals_networkx_formulas(api, load_network, network):
    G, weight = NETWORKS[network]()
    ids = load_network(G, weight)
    response = api.get("/v1/analytics/health")
    assert response.status_code == 200, response.get_json()
    health = response.get_json()
    metrics, n, m = health["metrics"], G.number_of_nodes(), G.number_of_edges()
    degrees = [d for _, d in G.degree()]
    cores = nx.core_number(G)
    distances = [d for source, targets in nx.all_pairs_shortest_path_length(G)
                 for target, d in targets.items() if target != source]
    clusters = api.get("/v1/analytics/clusters", query_string={"limit": 100}).get_json()["clusters"]
    partition = _partition(ids, _all_members_of_clusters(api, clusters))

    expected = {
        "members": n, "ties": m, "density": nx.density(G), "average_degree": 2 * m / n,
        "components": nx.number_connected_components(G),
        "largest_component_share": max(len(c) for c in nx.connected_components(G)) / n,
        "isolates": nx.number_of_isolates(G), "transitivity": nx.transitivity(G),
        "average_clustering": nx.average_clustering(G),
        "degree_centralization": sum(max(degrees) - d for d in degrees) / ((n - 1) * (n - 2)),
        "modularity": nx.community.modularity(G, partition, weight=weight),
        "ei_index": {"organization": None, "region": None, "role": None},
        "kcore": {"k": max(cores.values()), "size": sum(1 for c in cores.values() if c == max(cores.values()))},
        "core_periphery": _core_periphery(G),
        "average_shortest_path": sum(distances) / len(distances),
    }
    _approx_nested(metrics, expected)
    assert health["computed"]["exact"] is True


def _core_periphery(G: nx.Graph) -> dict:
    """The main core (networkx's k_core at the largest k) against the rest of the network."""
    core = set(nx.k_core(G))
    periphery = set(G) - core
    between = sum(1 for u, v in G.edges() if (u in core) != (v in core))
    return {"core_share": len(core) / len(G),
            "core_density": nx.density(G.subgraph(core)) if len(core) > 1 else None,
            "periphery_density": nx.density(G.subgraph(periphery)) if len(periphery) > 1 else None,
            "between_density": between / (len(core) * len(periphery)) if core and periphery else None}


def _approx_nested(actual: dict, expected: dict) -> bool:
    assert set(actual) == set(expected)
    for name, value in expected.items():
        if isinstance(value, dict):
            _approx_nested(actual[name], value)
        elif value is None:
            assert actual[name] is None, name
        else:
            assert actual[name] == pytest.approx(value, abs=1e-9), name
    return True


def normalized_mutual_information(first: list, second: list) -> float:
    """NMI (arithmetic mean normalization, as scikit-learn's default) of two labelings of the same items."""
    n = len(first)
    joint, a, b = Counter(zip(first, second)), Counter(first), Counter(second)
    mutual = sum(c / n * math.log(c * n / (a[x] * b[y])) for (x, y), c in joint.items())
    entropy = lambda counts: -sum(c / n * math.log(c / n) for c in counts.values())  # noqa: E731
    return mutual / ((entropy(a) + entropy(b)) / 2)


def test_karate_club_two_factions_recovered(api, load_network, record_property):
    G, weight = karate()
    ids = load_network(G, weight)
    body = api.get("/v1/analytics/clusters", query_string={"resolution": 0.5}).get_json()
    assert len(body["clusters"]) == 2
    assignment = _all_members_of_clusters(api, body["clusters"], resolution=0.5)
    nodes = sorted(G.nodes)
    nmi = normalized_mutual_information([G.nodes[v]["club"] for v in nodes], [assignment[ids[v]] for v in nodes])
    record_property("karate_two_faction_nmi", nmi)
    print(f"karate club two-faction NMI: {nmi:.4f}")
    assert nmi >= 0.8
