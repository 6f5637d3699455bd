"""Each member's two-step reach, reach efficiency and k-core number, as Kumu's metrics define them.

- `two_step_reach`: how many other members are within two steps (a collaborator, or a collaborator's).
- `reach`: that count as a share of the network, divided by n - 1 (every other member): Kumu's "portion
  of the network within two steps of an element", UCINET's 2StepReach.
- `reach_efficiency`: reach divided by degree (the member's collaborators, which Kumu calls size, "number
  of neighbors"): how much of the network each direct tie opens up. 1 for a leaf on a hub, small for a hub
  whose contacts all know each other. None for a member without ties.
- `coreness`: the largest k such that the member is in the k-core (every member of it has k or more ties
  inside it), as networkx.core_number counts it.
"""

from __future__ import annotations

from dataclasses import dataclass

import igraph as ig
import numpy as np


@dataclass(frozen=True)
class Reach:
    degree: np.ndarray          # collaborators (connected members)
    two_step: np.ndarray        # members within two steps
    share: np.ndarray           # two_step / (n - 1)
    efficiency: np.ndarray      # share / degree; NaN without ties

    def of(self, vertex: int) -> dict:
        efficiency = float(self.efficiency[vertex])
        return {"degree": int(self.degree[vertex]), "two_step_reach": int(self.two_step[vertex]),
                "reach": float(self.share[vertex]),
                "reach_efficiency": None if np.isnan(efficiency) else efficiency}


def two_step_reach(graph: ig.Graph) -> Reach:
    n = graph.vcount()
    degree = np.asarray(graph.degree(), dtype=np.int64)
    within = np.asarray(graph.neighborhood_size(order=2, mindist=1), dtype=np.int64) if n else degree
    share = within / (n - 1) if n > 1 else np.zeros(n)
    efficiency = np.full(n, np.nan)
    tied = degree > 0
    efficiency[tied] = share[tied] / degree[tied]
    return Reach(degree, within, share, efficiency)


def coreness(graph: ig.Graph) -> list[int]:
    return graph.coreness() if graph.vcount() else []


__all__ = ["Reach", "two_step_reach", "coreness"]
