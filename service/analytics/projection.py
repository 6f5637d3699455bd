"""The analytics graph: parties as igraph vertices, active collaborations as undirected weighted ties.

Parallel collaborations between two parties (in either stored direction) merge into one tie whose
`weight` is their summed strength; "ties" everywhere count connected pairs.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Iterable, Sequence

import igraph as ig
import numpy as np

MEMBER = "member"


@dataclass
class Projection:
    """Vertex i is the party ids[i]; the attribute lists are indexed the same way."""

    ids: list[str]
    kinds: list[str]
    regions: list[str | None]
    roles: list[str | None]
    topics: list[list[str]]
    organizations: list[list[str]]
    graph: ig.Graph
    previous_clusters: list[str | None] = field(default_factory=list)
    cluster_mark: int | None = None     # the `clusters` counter previous_clusters were read under (live.py)
    # How it was obtained, as `computed.projection` shows it: {"read": "whole"|"patched", "changes", "seconds"}.
    origin: dict | None = None
    # The database and history it was read from, for its snapshot on disk (snapshots.provenance).
    provenance: dict | None = None
    # How ties were derived beyond collaborations (co-participation: service/analytics/activities.py), as
    # `computed.ties` shows it; None: collaborations only.
    ties: dict | None = None
    _index: dict[str, int] | None = field(default=None, repr=False)
    _edges: np.ndarray | None = field(default=None, repr=False)

    @property
    def index(self) -> dict[str, int]:
        if self._index is None:
            self._index = {party_id: i for i, party_id in enumerate(self.ids)}
        return self._index

    @property
    def edges(self) -> np.ndarray:
        """The graph's ties as an (m, 2) int64 array of vertex pairs, in igraph's edge order (computed once;
        a live patch derives it from its base's instead of asking igraph again)."""
        if self._edges is None:
            self._edges = edge_array(self.graph)
        return self._edges

    @property
    def size(self) -> int:
        return len(self.ids)

    def member_vertices(self) -> list[int]:
        return [i for i, kind in enumerate(self.kinds) if kind == MEMBER]

    def is_member(self) -> np.ndarray:
        return np.fromiter((kind == MEMBER for kind in self.kinds), dtype=bool, count=len(self.kinds))

    def subset(self, vertices: Sequence[int]) -> "Projection":
        """The part of the network induced by `vertices` (in that order)."""
        pick = list(vertices)
        return Projection(
            ids=[self.ids[i] for i in pick], kinds=[self.kinds[i] for i in pick],
            regions=[self.regions[i] for i in pick], roles=[self.roles[i] for i in pick],
            topics=[self.topics[i] for i in pick], organizations=[self.organizations[i] for i in pick],
            graph=self.graph.induced_subgraph(pick, implementation="create_from_scratch"),
            previous_clusters=[self.previous_clusters[i] for i in pick] if self.previous_clusters else [],
        )


def from_rows(rows: Iterable[Sequence], by_node: bool = False) -> Projection:
    """Build the projection from rows (id, kind, region, role, topics, organizations, tie_ids, tie_strengths,
    cluster_id[, node]).

    A row's ties name the other party by its id (row[0]), or with `by_node` by its `node` (row[9]: the
    internal node id the analytics_projection statement names parties by). A tie whose other end is not a
    row (an organization when only members are projected) is dropped.
    """
    rows = rows if isinstance(rows, list) else list(rows)
    n = len(rows)
    ids = [row[0] for row in rows]
    index = {party_id: i for i, party_id in enumerate(ids)}
    counts = np.fromiter((len(row[6]) for row in rows), dtype=np.int64, count=n)
    total = int(counts.sum())
    sources = np.repeat(np.arange(n, dtype=np.int64), counts)
    others = itertools.chain.from_iterable(row[6] for row in rows)
    if by_node:
        # Node ids to vertices by binary search over the sorted ids: no Python loop over the ties.
        nodes = np.fromiter((row[9] for row in rows), dtype=np.int64, count=n)
        order = np.argsort(nodes, kind="stable")
        ordered = nodes[order]
        wanted = np.fromiter(others, dtype=np.int64, count=total)
        at = np.minimum(np.searchsorted(ordered, wanted), max(n - 1, 0))   # (no ties when n == 0)
        found = ordered[at] == wanted
        targets = order[at]
    else:
        targets = np.fromiter((index.get(other, -1) for other in others), dtype=np.int64, count=total)
        found = targets >= 0
    strengths = np.array(list(itertools.chain.from_iterable(row[7] for row in rows)))
    keep = found & (targets != sources)
    graph = build_graph(n, sources[keep].tolist(), targets[keep].tolist(), strengths[keep].tolist())
    projection = Projection(ids=ids, kinds=[row[1] for row in rows], regions=[row[2] for row in rows],
                            roles=[row[3] for row in rows], topics=[row[4] for row in rows],
                            organizations=[row[5] for row in rows],
                            graph=graph, previous_clusters=[row[8] for row in rows])
    projection._index = index
    return projection


def edge_array(graph: ig.Graph) -> np.ndarray:
    pairs = graph.get_edgelist()
    # fromiter over the flattened pairs: 40% faster than np.asarray on a list of tuples (1M ties: 0.2 s vs 0.32)
    return np.fromiter(itertools.chain.from_iterable(pairs), dtype=np.int64, count=2 * len(pairs)).reshape(-1, 2)


def build_graph(n: int, sources: Sequence[int], targets: Sequence[int], weights: Sequence[float]) -> ig.Graph:
    """An undirected simple graph on n vertices; parallel ties merged with summed `weight`."""
    # A list of tuples is igraph's fastest input (numpy arrays are converted element by element: 4x slower).
    graph = ig.Graph(n=n, edges=list(zip(sources, targets)), directed=False)
    graph.es["weight"] = list(weights)
    graph.simplify(multiple=True, loops=True, combine_edges={"weight": "sum"})
    return graph
