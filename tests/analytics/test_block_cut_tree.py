"""The block-cut tree answers 'which articulation points does every u-v path pass through' as networkx
does by brute force (remove each cut vertex, see whether u and v are still connected)."""

import random

import networkx as nx
import pytest

from service.analytics import bridges
from service.analytics.projection import from_rows


def _projection(graph: nx.Graph):
    nodes = sorted(graph)
    rows = [(str(n), "member", None, None, [], [], [str(m) for m in graph[n]], [1] * len(graph[n]), None)
            for n in nodes]
    return from_rows(rows)


def _brute_force(graph: nx.Graph, u, v):
    if not nx.has_path(graph, u, v):
        return None
    cut = set()
    for a in nx.articulation_points(graph):
        if a in (u, v):
            continue
        rest = graph.copy()
        rest.remove_node(a)
        if not nx.has_path(rest, u, v):
            cut.add(a)
    return cut


@pytest.mark.parametrize("seed", range(8))
def test_cut_vertices_between_equal_brute_force(seed):
    rng = random.Random(seed)
    graph = nx.gnm_random_graph(30, rng.randint(28, 45), seed=seed)
    projection = _projection(graph)
    tree = bridges.block_cut_tree(projection)
    if tree is None:
        pytest.skip("this random graph has no articulation point")
    index = projection.index
    for _ in range(25):
        u, v = rng.sample(sorted(graph), 2)
        expected = _brute_force(graph, u, v)
        if graph.degree(u) == 0 or graph.degree(v) == 0:
            expected = None
        got = tree.cut_vertices_between(index[str(u)], index[str(v)])
        got = None if got is None else {int(projection.ids[vertex]) for vertex in got}
        assert got == expected, (u, v)
