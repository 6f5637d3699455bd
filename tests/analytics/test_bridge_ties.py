"""Each bridge tie's cut_off (members on the smaller side its removal leaves) and pendant mark, read off the
block-cut tree, equal what networkx finds by removing the tie and measuring the two components."""

from __future__ import annotations

import random

import networkx as nx
import pytest

from service.analytics import bridges
from service.analytics.projection import from_rows


def _projection(graph: nx.Graph, organizations: frozenset = frozenset()):
    rows = [(str(n), "organization" if n in organizations else "member", None, None, [], [],
             [str(m) for m in graph[n]], [1] * len(graph[n]), None) for n in sorted(graph)]
    return from_rows(rows)


def _expected(graph: nx.Graph, organizations: frozenset = frozenset()) -> dict[frozenset, tuple[int, bool]]:
    """Bridge -> (members on the smaller side, one side a single vertex), by removing each bridge."""
    found = {}
    for u, v in nx.bridges(graph):
        rest = graph.copy()
        rest.remove_edge(u, v)
        sides = [nx.node_connected_component(rest, end) for end in (u, v)]
        members = [len(side - organizations) for side in sides]
        found[frozenset((str(u), str(v)))] = (min(members), min(len(side) for side in sides) == 1)
    return found


def _computed(graph: nx.Graph, organizations: frozenset = frozenset()) -> dict[frozenset, tuple[int, bool]]:
    projection = _projection(graph, organizations)
    ties = bridges.bridge_ties(projection)
    ids = projection.ids
    assert all(ids[tie.source] < ids[tie.target] for tie in ties)
    return {frozenset((ids[tie.source], ids[tie.target])): (tie.cut_off, tie.pendant) for tie in ties}


def _chain_on_a_clique() -> nx.Graph:
    """A clique with a 300-vertex chain hanging off it, a tree on the chain's far end, and a lone pair."""
    graph = nx.complete_graph(6)
    nx.add_path(graph, [5, *range(100, 400)])
    nx.add_star(graph, [399, 400, 401, 402])
    nx.add_path(graph, [402, 403, 404])
    graph.add_edge(500, 501)
    return graph


NETWORKS = {
    "karate": nx.karate_club_graph,
    "les_miserables": nx.les_miserables_graph,
    "florentine": nx.florentine_families_graph,
    "chain_on_a_clique": _chain_on_a_clique,
    "barbell": lambda: nx.barbell_graph(7, 40),
}


@pytest.mark.parametrize("network", sorted(NETWORKS))
def test_bridge_tie_cut_off_equals_networkx(network):
    graph = nx.convert_node_labels_to_integers(NETWORKS[network](), ordering="sorted")
    expected = _expected(graph)
    assert expected, "the network has bridge ties"
    assert _computed(graph) == expected


def test_bridge_tie_cut_off_on_a_long_chain_is_the_shorter_part():
    graph = nx.path_graph(1000)
    computed = _computed(graph)
    assert len(computed) == 999
    assert computed[frozenset(("0", "1"))] == (1, True)
    assert computed[frozenset(("499", "500"))] == (500, False)
    assert computed[frozenset(("700", "701"))] == (299, False)
    assert computed == _expected(graph)


@pytest.mark.parametrize("seed", range(12))
def test_bridge_tie_cut_off_on_random_sparse_graphs_equals_networkx(seed):
    rng = random.Random(seed)
    graph = nx.gnm_random_graph(60, rng.randint(45, 75), seed=seed)
    assert _computed(graph) == _expected(graph)


@pytest.mark.parametrize("seed", range(6))
def test_bridge_tie_cut_off_counts_members_only(seed):
    """With organizations as vertices, a side's size is its members: an organization weighs nothing."""
    rng = random.Random(seed)
    graph = nx.gnm_random_graph(50, rng.randint(40, 60), seed=seed)
    organizations = frozenset(rng.sample(sorted(graph), 10))
    expected, all_vertices = _expected(graph, organizations), _computed(graph)
    assert _computed(graph, organizations) == expected
    assert any(expected[tie][0] < all_vertices[tie][0] for tie in expected), "an organization was on a side"


def test_clusters_joined_are_the_vertex_cluster_and_its_collaborators_clusters():
    graph = nx.path_graph(4)      # 0 - 1 - 2 - 3
    projection = _projection(graph)
    membership = [0, 0, 1, 2]
    assert bridges.clusters_joined(projection, membership, 2) == [0, 1, 2]
    assert bridges.clusters_joined(projection, membership, 1) == [0, 1]
    assert bridges.clusters_joined(projection, membership, 0) == [0]
