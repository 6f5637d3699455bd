"""The demo network has the structure README promises: clusters by organization, brokers, a bridge, isolates."""

import networkx as nx
import pytest
from networkx.algorithms.community import louvain_communities, modularity

from service.cli.demo import generate_demo_network


def _member_graph(network, *, ongoing_only: bool = False) -> nx.Graph:
    graph = nx.Graph()
    graph.add_nodes_from(member["key"] for member in network.members)
    for tie in network.collaborations:
        if ongoing_only and tie["ended_on"] is not None:
            continue
        if tie["source_key"] in graph and tie["target_key"] in graph:
            graph.add_edge(tie["source_key"], tie["target_key"])
    return graph


@pytest.mark.parametrize("seed, size", [(7, 300), (1, 60), (42, 1000)])
def test_demo_network_structure(seed, size):
    network = generate_demo_network(seed=seed, members=size)
    graph = _member_graph(network)
    assert graph.number_of_nodes() == size
    assert 3 <= nx.number_of_isolates(graph) <= 8
    assert len(list(nx.bridges(graph))) >= 1
    assert len(list(nx.articulation_points(graph))) >= 1
    core = graph.subgraph(n for n in graph if graph.degree(n) > 0)
    communities = louvain_communities(core, seed=1)
    assert modularity(core, communities) > 0.4
    assert len(network.organizations) == 8


def test_demo_network_is_deterministic_per_seed():
    assert generate_demo_network(seed=3) == generate_demo_network(seed=3)
    assert generate_demo_network(seed=3) != generate_demo_network(seed=4)


@pytest.mark.parametrize("size", [19, 5001])
def test_demo_network_size_is_bounded(size):
    with pytest.raises(ValueError):
        generate_demo_network(members=size)


@pytest.mark.parametrize("seed, size", [(7, 300), (1, 60), (42, 1000)])
def test_demo_network_today_has_a_bridge_that_cuts_off_the_satellite_team(seed, size):
    """Not only pendant ties: the bridges report's default (min_cut_off 2) has a tie to show."""
    graph = _member_graph(generate_demo_network(seed=seed, members=size), ongoing_only=True)
    cut_offs = []
    for u, v in nx.bridges(graph):
        rest = graph.copy()
        rest.remove_edge(u, v)
        cut_offs.append(min(len(nx.node_connected_component(rest, end)) for end in (u, v)))
    assert max(cut_offs) >= 3
