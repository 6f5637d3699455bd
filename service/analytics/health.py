"""Network health: the DESIGN.md metrics for the whole network or one part of it, on hop distance.

`average_shortest_path` is the mean hop distance over ordered pairs of distinct members that can reach
each other. Up to `path_samples` members it is exact (every member is a source); above, `path_samples`
sources are drawn uniformly without replacement with a seeded generator and the mean is taken over their
reachable pairs (an unbiased estimate of the per-source mean; the result says `exact: false`).
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Any

import numpy as np

from service.analytics import clusters as clusters_module
from service.analytics.projection import Projection

_CHUNK = 16  # sources per distance matrix, to bound memory on large networks


@dataclass(frozen=True)
class Sampling:
    path_samples: int
    seed: int
    resolution: float


def metrics(projection: Projection, sampling: Sampling) -> tuple[dict[str, Any], dict[str, Any]]:
    """(metrics, how the sampled ones were computed) for the projection (members only)."""
    graph, n = projection.graph, projection.size
    m = graph.ecount()
    path, path_exact, path_sources = average_shortest_path(projection, sampling.path_samples, sampling.seed)
    values = {
        "members": n,
        "ties": m,
        "density": 2.0 * m / (n * (n - 1)) if n > 1 else 0.0,
        "average_degree": 2.0 * m / n if n else 0.0,
        **_components(projection),
        "transitivity": _zero_if_nan(graph.transitivity_undirected()) if n else 0.0,
        "average_clustering": _zero_if_nan(graph.transitivity_avglocal_undirected(mode="zero")) if n else 0.0,
        "degree_centralization": degree_centralization(graph.degree()),
        "modularity": clusters_module.leiden(projection, resolution=sampling.resolution,
                                             seed=sampling.seed).modularity if m else 0.0,
        "ei_index": ei_indexes(projection),
        "kcore": kcore(projection),
        "core_periphery": core_periphery(projection),
        "average_shortest_path": path,
    }
    return values, {"average_shortest_path": {"exact": path_exact, "sample_size": None if path_exact else path_sources}}


def _zero_if_nan(value: float) -> float:
    return 0.0 if value is None or math.isnan(value) else float(value)


def _components(projection: Projection) -> dict[str, Any]:
    n = projection.size
    sizes = projection.graph.connected_components().sizes() if n else []
    return {"components": len(sizes), "largest_component_share": max(sizes) / n if n else 0.0,
            "isolates": sum(1 for d in projection.graph.degree() if d == 0)}


def degree_centralization(degrees: list[int]) -> float | None:
    """Freeman's degree centralization: sum(max - d) / ((n-1)(n-2)), 1 for a star, 0 for a regular graph."""
    n = len(degrees)
    if n < 3:
        return None
    top = max(degrees)
    return sum(top - d for d in degrees) / ((n - 1) * (n - 2))


def kcore(projection: Projection) -> dict[str, int]:
    """The innermost k-core: its k (the largest core number) and how many members it holds."""
    if not projection.size:
        return {"k": 0, "size": 0}
    coreness = projection.graph.coreness()
    k = max(coreness)
    return {"k": k, "size": sum(1 for c in coreness if c == k)}


def core_periphery(projection: Projection) -> dict[str, float | None]:
    """The main core (the members of the largest core number, as in `kcore`) against the rest, the periphery:
    the core's share of the members, the density of ties inside each, and between them (ties between a core
    and a periphery member over core x periphery pairs). A density is None for a part of fewer than two
    members (between: when either part is empty). Without ties every member is in the main core (k = 0)."""
    n = projection.size
    if not n:
        return {"core_share": 0.0, "core_density": None, "periphery_density": None, "between_density": None}
    numbers = np.asarray(projection.graph.coreness(), dtype=np.int64)
    core = numbers == numbers.max()
    edges = projection.edges
    a, b = core[edges[:, 0]], core[edges[:, 1]]
    inside, outside = int(np.count_nonzero(a & b)), int(np.count_nonzero(~a & ~b))
    between = int(edges.shape[0]) - inside - outside
    c = int(np.count_nonzero(core))
    p = n - c
    return {"core_share": c / n,
            "core_density": 2.0 * inside / (c * (c - 1)) if c > 1 else None,
            "periphery_density": 2.0 * outside / (p * (p - 1)) if p > 1 else None,
            "between_density": between / (c * p) if c and p else None}


def ei_indexes(projection: Projection) -> dict[str, float | None]:
    """E-I index of the ties across organizations, regions and roles.

    Only ties whose two ends both have the attribute count: internal when they share it (for organizations:
    share at least one organization active on the date), external otherwise.
    """
    edges = projection.edges
    return {"organization": _ei_organizations(projection, edges),
            "region": _ei_codes(_codes(projection.regions), edges),
            "role": _ei_codes(_codes(projection.roles), edges)}


def _codes(values: list) -> np.ndarray:
    """Each vertex's label as an integer, -1 when it has none."""
    numbers: dict[Any, int] = {}
    return np.fromiter((-1 if value is None else numbers.setdefault(value, len(numbers)) for value in values),
                       dtype=np.int64, count=len(values))


def _ei_codes(code: np.ndarray, edges: np.ndarray, more_external: int = 0, more_internal: int = 0):
    a, b = code[edges[:, 0]], code[edges[:, 1]]
    counted = (a >= 0) & (b >= 0)
    internal = int(np.count_nonzero(counted & (a == b)))
    external = int(np.count_nonzero(counted)) - internal
    return clusters_module.ei_index(external + more_external, internal + more_internal)


def _ei_organizations(projection: Projection, edges: np.ndarray) -> float | None:
    """Members in one organization are compared by code; ties touching a member of several, by set."""
    single = [orgs[0] if len(orgs) == 1 else None for orgs in projection.organizations]
    code = _codes(single)
    several = np.fromiter((len(orgs) > 1 for orgs in projection.organizations), dtype=bool,
                          count=len(projection.organizations))
    mixed = several[edges[:, 0]] | several[edges[:, 1]]
    external = internal = 0
    for a, b in edges[mixed].tolist():
        first, second = projection.organizations[a], projection.organizations[b]
        if first and second:
            if set(first).isdisjoint(second):
                external += 1
            else:
                internal += 1
    return _ei_codes(code, edges[~mixed], external, internal)


def average_shortest_path(projection: Projection, samples: int, seed: int) -> tuple[float | None, bool, int]:
    """(mean hops over reachable ordered pairs, exact?, sources used); see the module docstring."""
    n = projection.size
    exact = n <= samples
    sources = list(range(n)) if exact else sorted(random.Random(seed).sample(range(n), samples))
    total, pairs = 0.0, 0
    for start in range(0, len(sources), _CHUNK):
        hops = np.asarray(projection.graph.distances(source=sources[start:start + _CHUNK]), dtype=float)
        reachable = np.isfinite(hops) & (hops > 0)
        total += float(hops[reachable].sum())
        pairs += int(reachable.sum())
    return (total / pairs if pairs else None), exact, len(sources)
