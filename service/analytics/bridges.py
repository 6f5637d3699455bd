"""Who holds the network together: brokers (betweenness), articulation points and bridge ties.

Betweenness is on hop distance (ties unweighted) and normalized like networkx's: divided by
(n-1)(n-2)/2, the number of pairs a vertex can sit between. It is computed in one of three ways, by size:

- up to `exact_max` vertices, exactly (Brandes, all sources, igraph);
- from uniformly sampled source vertices (seeded, without replacement), the sum of their dependencies
  scaled by n/sources (the unbiased estimator of Brandes & Pich 2007, igraph). The number of sources is
  what a budget of tie visits pays for (`budget` / ties: one breadth-first search per source visits every
  tie), at least `samples`: so the cost is bounded whatever the size, and smaller networks get more
  sources. Each score is then within sqrt(ln(2/delta) / (2 sources)) of the exact one with probability
  1 - delta (Hoeffding; sources_bound), which the report states; `sample_size` is the number of sources;
- optionally, up to `kadabra_max` vertices (0 by default: off), estimated by KADABRA (Borassi & Natale
  2016; NetworKit, deterministic for a seed): adaptive sampling of shortest paths between random pairs,
  stopping once every score is within `epsilon` of the exact one with probability at least 1 - `delta` (in
  NetworKit's normalization, about twice networkx's); `sample_size` is the number of paths sampled.

Why budgeted sources by default (bench/betweenness.py and a scratch run of the same generators, this
machine): on the 10,000-member planted network (29,059 ties), igraph's exact betweenness took 9.7 s; 256
sources ranked 1 of its top 10 in their own top 10 (0.24 s), 1,024 sources 7 (1.0 s), 2,048 sources 9
(1.9 s), KADABRA at epsilon 0.01 6 or 7 (0.4-0.65 s, one or two threads). The default budget gives that
network about 2,200 sources. On 100,000 members and 954,827 ties one source costs about 80 ms, and no
sample anyone could afford ranks that network's flat top: the top 10 of 64, 128 and 256 sources shared none
with the top 10 of 1,024 (5.3, 9.7, 18.8 and 64.6 s). There the budget buys about 67 sources (5-6 s), whose
bound (about 0.15) the report states, rather than 256 (19 s) that rank no better. KADABRA's cost also grew
erratically with size (over a minute on 20,000 vertices and 190,000 ties, over nine minutes on 100,000 and a
million).
"""

from __future__ import annotations

import math
import random
import threading
from dataclasses import dataclass
from typing import Any

import numpy as np

from service.analytics.projection import Projection


@dataclass(frozen=True)
class Betweenness:
    scores: list[float]
    exact: bool
    sample_size: int | None
    method: str = "exact"       # "exact", "sources" or "kadabra" (see the module docstring)


def betweenness(projection: Projection, *, exact_max: int, kadabra_max: int, epsilon: float, delta: float,
                samples: int, budget: int, seed: int) -> Betweenness:
    """Normalized hop-distance betweenness of every vertex, exact or estimated (see the module docstring)."""
    graph, n = projection.graph, projection.size
    if n <= 2:
        return Betweenness([0.0] * n, True, None)
    scale = 2.0 / ((n - 1) * (n - 2))
    sources = source_count(n, graph.ecount(), samples, budget)
    if n <= exact_max or (n > kadabra_max and sources >= n):
        return Betweenness([float(value) * scale for value in graph.betweenness(directed=False)], True, None)
    if n > kadabra_max:
        chosen = sorted(random.Random(seed).sample(range(n), sources))
        # igraph counts each (source, target) path once for sources in the sample: scale to all n sources.
        raw = np.asarray(graph.betweenness(directed=False, sources=chosen)) * (n / sources)
        return Betweenness([float(value) * scale for value in raw], False, sources, "sources")
    import networkit as nk   # the worker's; only imported where an estimate is computed

    edges = projection.edges
    nk_graph = nk.graph.GraphFromCoo((np.ascontiguousarray(edges[:, 0], dtype=np.uint64),
                                      np.ascontiguousarray(edges[:, 1], dtype=np.uint64)), n=n, directed=False)
    with _NETWORKIT_SEED:    # the seed is process-wide in NetworKit
        nk.setSeed(seed, True)
        estimate = nk.centrality.KadabraBetweenness(nk_graph, epsilon, delta, True)
        estimate.run()
    scale = n / (2.0 * (n - 2))     # NetworKit's normalization to networkx's
    return Betweenness([float(value) * scale for value in estimate.scores()], False,
                       int(estimate.getNumberOfIterations()), "kadabra")


def source_count(n: int, ties: int, fewest: int, budget: int) -> int:
    """How many sources an estimate samples: as many as `budget` tie visits pay for (one breadth-first
    search per source visits every tie), at least `fewest`, at most every vertex."""
    return min(n, max(fewest, budget // max(ties, 1)))


def sources_bound(n: int, sources: int, delta: float) -> float:
    """With `sources` sources drawn uniformly, each normalized score is within this much of the exact one
    with probability at least 1 - delta: Hoeffding's bound (which holds for sampling without replacement) on
    the mean of a source's dependency on the vertex divided by n - 2, which lies in [0, 1], scaled by
    n / (n - 1) to the normalization shown."""
    return math.sqrt(math.log(2 / delta) / (2 * sources)) * n / (n - 1)


_NETWORKIT_SEED = threading.Lock()


def clusters_reached(projection: Projection, membership: list[int], vertex: int) -> int:
    """How many clusters other than its own the vertex's ties reach."""
    own = membership[vertex]
    return len({membership[other] for other in projection.graph.neighbors(vertex)} - {own})


# Bridge ties and articulation points that cut off fewer members are left out of the report unless asked for:
# on most networks nearly all bridge ties are pendant ties (one member with a single tie), and they would
# bury the few that hold parts of the network together.
DEFAULT_MIN_CUT_OFF = 2


@dataclass(frozen=True)
class BridgeTie:
    """A tie whose removal splits its component: its ends (vertices, the smaller id first), the members on
    the smaller of the two sides it leaves, and whether one side is a single vertex (a pendant tie)."""

    source: int
    target: int
    cut_off: int
    pendant: bool


def bridge_ties(projection: Projection, tree: "_BlockCutTree | None" = None) -> list[BridgeTie]:
    """The ties that are the only connection between two parts of a component, in order of their ends' ids.
    Each side's members are read off the block-cut tree (`tree`, built when not given), where a bridge is a
    block of two vertices: one pass over the graph, not a search per removed tie."""
    graph, ids = projection.graph, projection.ids
    found = graph.bridges()
    if not found:
        return []
    if tree is None:
        tree = block_cut_tree(projection)
    weight, degree = projection.is_member(), graph.degree()
    ties = []
    for edge in graph.es[found]:
        u, v = sorted((edge.source, edge.target), key=ids.__getitem__)
        # Without any cut vertex, every bridge is a component of two vertices: each side is one end.
        side_u, side_v = tree.sides(u, v) if tree is not None else (int(weight[u]), int(weight[v]))
        ties.append(BridgeTie(u, v, min(side_u, side_v), degree[u] == 1 or degree[v] == 1))
    return sorted(ties, key=lambda tie: (ids[tie.source], ids[tie.target]))


def clusters_joined(projection: Projection, membership: list[int], vertex: int) -> list[int]:
    """The clusters (numbers, ascending) the vertex's ties meet: its own and its collaborators'."""
    return sorted({membership[vertex], *(membership[other] for other in projection.graph.neighbors(vertex))})


def articulation_points(projection: Projection) -> dict[int, int]:
    """Vertex -> members cut off by removing it: its component's members, less itself, less the largest
    piece that remains. Computed on the block-cut tree, so it costs one pass, not one removal per vertex."""
    tree = block_cut_tree(projection)
    return {vertex: tree.cut_off(vertex) for vertex in tree.cut_node} if tree else {}


def block_cut_tree(projection: Projection) -> "_BlockCutTree | None":
    """The graph's blocks and cut vertices as a forest (None when there is no cut vertex)."""
    graph = projection.graph
    blocks, cut_vertices = graph.biconnected_components(return_articulation_points=True)
    if not cut_vertices:
        return None
    return _BlockCutTree(blocks, cut_vertices, projection.is_member().astype(np.int64))


class _BlockCutTree:
    """Blocks and cut vertices as a forest; each block node weighs its non-cut members, each cut vertex its own."""

    def __init__(self, blocks, cut_vertices, weight: np.ndarray):
        cut = set(cut_vertices)
        self.weight = weight
        # A block of two vertices is a bridge tie (the projection has no parallel ties or loops).
        self.pair_block = {(min(block), max(block)): b for b, block in enumerate(blocks) if len(block) == 2}
        self.cut_node = {vertex: len(blocks) + k for k, vertex in enumerate(cut_vertices)}
        self.vertex_of_node = {node: vertex for vertex, node in self.cut_node.items()}
        self.block_of = {vertex: b for b, block in enumerate(blocks) for vertex in block if vertex not in cut}
        size = len(blocks) + len(cut_vertices)
        self.weights = [0] * size
        self.adjacent: list[list[int]] = [[] for _ in range(size)]
        for b, block in enumerate(blocks):
            for vertex in block:
                if vertex in cut:
                    self.adjacent[b].append(self.cut_node[vertex])
                    self.adjacent[self.cut_node[vertex]].append(b)
                else:
                    self.weights[b] += int(weight[vertex])
        for vertex, node in self.cut_node.items():
            self.weights[node] = int(weight[vertex])
        self._root_subtrees()

    def _root_subtrees(self) -> None:
        """Root every tree of the forest; record parents, subtree weights and each node's tree total."""
        size = len(self.weights)
        self.parent = [-1] * size
        self.depth = [0] * size
        self.root = list(range(size))
        self.subtree = list(self.weights)
        self.total = [0] * size
        seen = [False] * size
        for root in range(size):
            if seen[root]:
                continue
            order, stack = [], [root]
            seen[root] = True
            while stack:
                node = stack.pop()
                order.append(node)
                for other in self.adjacent[node]:
                    if not seen[other]:
                        seen[other] = True
                        self.parent[other] = node
                        self.depth[other] = self.depth[node] + 1
                        self.root[other] = root
                        stack.append(other)
            for node in reversed(order):
                if self.parent[node] >= 0:
                    self.subtree[self.parent[node]] += self.subtree[node]
            for node in order:
                self.total[node] = self.subtree[root]

    def cut_off(self, vertex: int) -> int:
        node = self.cut_node[vertex]
        pieces = [self.subtree[child] for child in self.adjacent[node] if child != self.parent[node]]
        if self.parent[node] >= 0:
            pieces.append(self.total[node] - self.subtree[node])
        return self.total[node] - self.weights[node] - max(pieces)

    def sides(self, u: int, v: int) -> tuple[int, int]:
        """Members on u's side and on v's side once the bridge tie u-v is removed."""
        block = self.pair_block[(min(u, v), max(u, v))]
        above = self.parent[block]
        if above >= 0:     # a block's parent is one of its cut vertices: that end's side holds the rest
            below = self.subtree[block]
            rest = self.total[block] - below
            return (rest, below) if self.vertex_of_node[above] == u else (below, rest)
        return self._side_below(u), self._side_below(v)

    def _side_below(self, vertex: int) -> int:
        """Members below a root bridge's end: the end's own subtree when it is a cut vertex, else itself."""
        node = self.cut_node.get(vertex)
        return self.subtree[node] if node is not None else int(self.weight[vertex])

    def cut_vertices_between(self, u: int, v: int) -> list[int] | None:
        """The cut vertices every u-v path passes through (those a new u-v tie would give a way around);
        None when u and v are not in one component (or one of them has no tie)."""
        return self.structure().between(u, v)

    def structure(self, names: list[str] | None = None) -> "CutStructure":
        """The forest as plain lists, its vertices called by `names` (their indices without)."""
        name = (lambda vertex: vertex) if names is None else names.__getitem__
        node_of = {name(vertex): node for vertex, node in self.block_of.items()}
        node_of.update((name(vertex), node) for vertex, node in self.cut_node.items())
        return CutStructure(self.parent, self.depth, self.root, node_of,
                            {node: name(vertex) for node, vertex in self.vertex_of_node.items()})


@dataclass
class CutStructure:
    """The block-cut forest as the web tier reads it (stored by the analytics worker): each node's parent,
    depth and tree root; each vertex's node (its block, or its own node when it is a cut vertex); and the
    vertex of each cut node. Enough to name the cut vertices between two vertices, without igraph."""

    parent: list[int]
    depth: list[int]
    root: list[int]
    node_of: dict[Any, int]
    cut_of: dict[int, Any]

    def between(self, u: Any, v: Any) -> list[Any] | None:
        a, b = self.node_of.get(u), self.node_of.get(v)
        if a is None or b is None or self.root[a] != self.root[b]:
            return None
        passed = []
        while a != b:
            if self.depth[a] < self.depth[b]:
                a, b = b, a
            a = self.parent[a]
            passed.append(a)
        return [self.cut_of[node] for node in passed if node in self.cut_of and self.cut_of[node] not in (u, v)]

    def to_json(self) -> dict:
        return {"parent": self.parent, "depth": self.depth, "root": self.root, "node_of": self.node_of,
                "cut_of": [[node, vertex] for node, vertex in self.cut_of.items()]}

    @classmethod
    def from_json(cls, body: dict) -> "CutStructure":
        return cls(body["parent"], body["depth"], body["root"], body["node_of"],
                   {node: vertex for node, vertex in body["cut_of"]})
