"""Co-participation ties: members who took part in the same activities, weighted as in Newman's collaboration
networks (each shared activity of n participants adds 1/(n-1) to the pair), added to the analytics graph.

An activity of more than `cap` participants adds nothing (a 500-person conference is not a clique of
acquaintances) and is counted as skipped. A pair's co-participation weight is summed with the strength of
its collaborations, as parallel collaborations are summed.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from dataclasses import dataclass
from typing import Iterable, Sequence

from service.analytics.projection import Projection, build_graph, edge_array

WEIGHTING = "1/(n-1) per shared activity of n participants"
DEFAULT_SIZE_CAP = 50   # NETWEAVE_ACTIVITY_SIZE_CAP's default


@dataclass(frozen=True)
class CoParticipation:
    """Co-participation weights by member pair (ids in sorted order), and how many activities gave them."""

    weights: dict[tuple[str, str], float]
    counted: int     # activities of 2..cap participants: each gave ties
    skipped: int     # activities of more than cap participants: none did
    cap: int

    def describe(self) -> dict:
        """The `computed.ties` block of a result that counts co-participation."""
        return {"derived_from": ["collaborations", "activities"],
                "description": f"collaborations plus co-participation in {self.counted} activities ({WEIGHTING}, "
                               f"summed with collaboration strengths; activities over {self.cap} participants "
                               f"skipped: {self.skipped})",
                "activities": {"size_cap": self.cap, "counted": self.counted, "skipped_over_cap": self.skipped,
                               "weighting": WEIGHTING, "pairs": len(self.weights)}}


def co_participation(activities: Iterable[Sequence], cap: int) -> CoParticipation:
    """From rows [activity id, participant count, member ids]: the weight each pair of members gets."""
    weights: dict[tuple[str, str], float] = defaultdict(float)
    counted = skipped = 0
    for _, size, members in activities:
        if size > cap:
            skipped += 1
            continue
        people = sorted(set(members))
        if len(people) < 2:
            continue
        counted += 1
        share = 1.0 / (len(people) - 1)
        for pair in itertools.combinations(people, 2):
            weights[pair] += share
    return CoParticipation(dict(weights), counted, skipped, cap)


def with_co_participation(base: Projection, found: CoParticipation) -> Projection:
    """A new projection: `base`'s vertices and ties, plus the co-participation ties between its vertices (a pair
    that also collaborates keeps one tie, its weights summed). `base` is not changed."""
    index = base.index
    sources, targets, weights = [], [], []
    for (a, b), weight in found.weights.items():
        i, j = index.get(a), index.get(b)
        if i is not None and j is not None:
            sources.append(i)
            targets.append(j)
            weights.append(weight)
    edges = base.edges
    graph = build_graph(base.size, [*edges[:, 0].tolist(), *sources], [*edges[:, 1].tolist(), *targets],
                        [*base.graph.es["weight"], *weights] if base.graph.ecount() else weights)
    projection = Projection(ids=base.ids, kinds=base.kinds, regions=base.regions, roles=base.roles,
                            topics=base.topics, organizations=base.organizations, graph=graph,
                            previous_clusters=list(base.previous_clusters), cluster_mark=base.cluster_mark,
                            origin=base.origin, provenance=base.provenance, ties=found.describe())
    projection._index = index
    projection._edges = edge_array(graph)
    return projection
