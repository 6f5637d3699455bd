"""Segments (equity lenses): the network cut by one attribute of its members, and how the parts mix.

A segment is the members sharing one value of the attribute. Values held by fewer than `min_size`
members are pooled into one `other` segment (so a small group, down to one person, cannot be singled
out), and members without a value form an `unknown` segment, which is never pooled: it says nothing
about anyone's value. Pure functions over the projection's graph and a value per vertex.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from typing import Any, Hashable, Mapping, Sequence

import igraph as ig
import numpy as np

from service.analytics.clusters import density, ei_index

VALUE, OTHER, UNKNOWN = "value", "other", "unknown"


@dataclass(frozen=True)
class Segment:
    kind: str               # VALUE, OTHER or UNKNOWN
    value: Any              # the attribute value (VALUE segments only)
    label: str | None       # what to call it (an organization's name; the value as text otherwise)
    size: int


@dataclass(frozen=True)
class Segmentation:
    codes: np.ndarray       # vertex -> segment index
    segments: list[Segment]
    pooled_values: int      # values pooled into `other`
    pooled_members: int

    @property
    def count(self) -> int:
        return len(self.segments)


def segment(values: Sequence[Hashable | None], min_size: int,
            labels: Mapping[Hashable, str] | None = None) -> Segmentation:
    """Segments of the vertices by value: values held by `min_size` or more vertices first (largest first,
    then by label), then `other` (the smaller values pooled), then `unknown` (no value)."""
    labels = labels or {}
    counts = Counter(value for value in values if value is not None)
    label = {value: labels.get(value, _text(value)) for value in counts}
    kept = sorted((value for value, n in counts.items() if n >= min_size), key=lambda v: (-counts[v], label[v]))
    pooled = [value for value, n in counts.items() if n < min_size]
    segments = [Segment(VALUE, value, label[value], counts[value]) for value in kept]
    index: dict[Hashable, int] = {value: i for i, value in enumerate(kept)}
    other = unknown = -1
    if pooled:
        other = len(segments)
        segments.append(Segment(OTHER, None, None, sum(counts[value] for value in pooled)))
    missing = len(values) - sum(counts.values())
    if missing:
        unknown = len(segments)
        segments.append(Segment(UNKNOWN, None, None, missing))
    codes = np.fromiter((unknown if value is None else index.get(value, other) for value in values),
                        dtype=np.int64, count=len(values))
    return Segmentation(codes, segments, len(pooled), sum(counts[value] for value in pooled))


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def tie_matrix(edges: np.ndarray, codes: np.ndarray, k: int) -> np.ndarray:
    """k x k counts of ties between segments, each tie once: cell (i, j) with i <= j (i = j: inside
    segment i); cells below the diagonal are 0, so the matrix sums to the number of ties."""
    a, b = codes[edges[:, 0]], codes[edges[:, 1]]
    low, high = np.minimum(a, b), np.maximum(a, b)
    return np.bincount(low * k + high, minlength=k * k).reshape(k, k)


def summaries(matrix: np.ndarray, segmentation: Segmentation) -> list[dict[str, Any]]:
    """Per segment: size, internal and external ties, E-I index and density."""
    rows = []
    for i, part in enumerate(segmentation.segments):
        internal = int(matrix[i, i])
        external = int(matrix[i, :].sum() + matrix[:, i].sum() - 2 * matrix[i, i])
        rows.append({"kind": part.kind, "value": part.value, "label": part.label, "size": part.size,
                     "internal_ties": internal, "external_ties": external,
                     "ei_index": ei_index(external, internal), "density": density(part.size, internal)})
    return rows


def reach_matrix(edges: np.ndarray, codes: np.ndarray, k: int) -> np.ndarray:
    """k x k shares: cell (i, j) is the share of segment i's members who reach a member of segment j
    (other than themselves) in one or two steps."""
    n = codes.size
    sizes = np.bincount(codes, minlength=k).astype(float)
    u, w = edges[:, 0], edges[:, 1]
    shares = np.zeros((k, k))
    for j in range(k):
        inside = (codes == j).astype(np.int64)
        # Each vertex's neighbours in segment j; a path v-x-b needs a b other than v among x's.
        neighbours = np.bincount(u, weights=inside[w], minlength=n) + np.bincount(w, weights=inside[u], minlength=n)
        reached = neighbours > 0
        reached[u[neighbours[w] - inside[u] > 0]] = True
        reached[w[neighbours[u] - inside[w] > 0]] = True
        shares[:, j] = np.bincount(codes, weights=reached, minlength=k) / np.maximum(sizes, 1)
    return shares


def assortativity(graph: ig.Graph, values: Sequence[Any], numeric: bool) -> float | None:
    """Newman's assortativity coefficient of the attribute over the ties between members who both have a
    value (unweighted: a tie is a connected pair): categorical (nominal), or numeric (Pearson's r of the
    values at the two ends). None when no such tie exists or the coefficient is undefined (one value)."""
    known = [v for v, value in enumerate(values) if value is not None]
    part = graph if len(known) == graph.vcount() else graph.induced_subgraph(known)
    if part.ecount() == 0:
        return None
    if numeric:
        found = part.assortativity([float(values[v]) for v in known], directed=False)
    else:
        numbers: dict[Any, int] = {}
        found = part.assortativity_nominal([numbers.setdefault(values[v], len(numbers)) for v in known],
                                           directed=False)
    return None if math.isnan(found) else float(found)


__all__ = ["Segment", "Segmentation", "segment", "tie_matrix", "summaries", "reach_matrix", "assortativity",
           "VALUE", "OTHER", "UNKNOWN"]
