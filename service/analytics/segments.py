"""Segments (equity lenses): the network cut by one attribute of its members, and how the parts mix.

A segment is the members sharing one value of the attribute, or, for numbers and dates with many
distinct values, one range of values (quantile ranges, so each holds about an equal share of the members).
Segments of fewer than `min_size` members are pooled into one `other` segment (so a small group, down to
one person, cannot be singled out), and members without a value form an `unknown` segment, which is never
pooled: it says nothing about anyone's value. Pure functions over the projection's graph and a value per
vertex.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Any, Hashable, Mapping, Sequence

import igraph as ig
import numpy as np

from service.analytics.clusters import density, ei_index

VALUE, RANGE, OTHER, UNKNOWN = "value", "range", "other", "unknown"
# More distinct numbers (or dates) than this are grouped: dates into calendar years, numbers and years into ranges.
MAX_VALUE_SEGMENTS = 8
DEFAULT_BINS, MAX_BINS = 5, 20
UNKNOWN_LABEL = "Unknown (no value)"


@dataclass(frozen=True)
class Range:
    """Contiguous values grouped into one segment: the smallest and the largest value its members hold."""

    min: Any
    max: Any

    @property
    def label(self) -> str:
        if self.min == self.max:
            return _text(self.min)
        # "-5--2" reads as a typo: negative bounds are joined by words.
        joint = " to " if isinstance(self.min, (int, float)) and self.min < 0 else "-"
        return f"{_text(self.min)}{joint}{_text(self.max)}"

    def as_dict(self) -> dict[str, Any]:
        return {"min": self.min, "max": self.max}


@dataclass(frozen=True)
class Grouping:
    """How values became segments: `values` (one segment per value) or `quantiles` (ranges of values), of the
    values themselves or, for dates, of their calendar years (`unit`)."""

    method: str             # "values" or "quantiles"
    unit: str               # "value" or "year"
    bins: int | None        # ranges made (quantiles only)
    max_bins: int | None    # the most ranges asked for (None: the lens is not numbers or dates)

    def as_dict(self) -> dict[str, Any]:
        return {"method": self.method, "unit": self.unit, "bins": self.bins, "max_bins": self.max_bins}


BY_VALUE = Grouping("values", "value", None, None)


@dataclass(frozen=True)
class Segment:
    kind: str               # VALUE, RANGE, OTHER or UNKNOWN
    value: Any              # the attribute value (VALUE segments only)
    label: str              # what to call it (an organization's name; the value or range as text otherwise)
    size: int
    range: Range | None = None      # RANGE segments only


@dataclass(frozen=True)
class Segmentation:
    codes: np.ndarray       # vertex -> segment index
    segments: list[Segment]
    pooled_values: int      # values pooled into `other`
    pooled_members: int

    @property
    def count(self) -> int:
        return len(self.segments)


def grouped(values: Sequence[Any], *, max_bins: int, min_size: int,
            dates: bool = False) -> tuple[list[Any], Grouping]:
    """The values segments are made of. Few distinct values (MAX_VALUE_SEGMENTS or fewer) stay as they are;
    more distinct dates (ISO text) become their calendar years; more distinct numbers (or years) become
    quantile ranges: at most `max_bins`, and at most one per `min_size` members with a value, so that a
    range can hold `min_size` members."""
    unit = "value"
    if dates and _distinct(values) > MAX_VALUE_SEGMENTS:
        values, unit = [None if value is None else int(value[:4]) for value in values], "year"
    if _distinct(values) <= MAX_VALUE_SEGMENTS:
        return list(values), Grouping("values", unit, None, max_bins)
    known = sum(value is not None for value in values)
    ranged = quantile_ranges(values, max(1, min(max_bins, known // min_size)))
    return ranged, Grouping("quantiles", unit, len({part for part in ranged if part is not None}), max_bins)


def _distinct(values: Sequence[Any]) -> int:
    return len({value for value in values if value is not None})


def quantile_ranges(values: Sequence[Any], bins: int) -> list[Range | None]:
    """Each value's range. In value order, each distinct value goes to the quantile (one of `bins` equal
    shares of the members with a value) that holds the middle of its members' ranks: equal values stay in
    one range, ranges are contiguous and hold about equal shares, and a quantile no value falls in is
    dropped (a value held by many members can leave fewer ranges than `bins`)."""
    counts = Counter(value for value in values if value is not None)
    members = sum(counts.values())
    held: dict[int, list] = defaultdict(list)
    before = 0
    for value in sorted(counts):
        # The middle rank is before + count / 2; in integers, so that a rank on a quantile's edge is exact.
        held[bins * (2 * before + counts[value]) // (2 * members)].append(value)
        before += counts[value]
    ranges = {value: Range(part[0], part[-1]) for part in held.values() for value in part}
    return [None if value is None else ranges[value] for value in values]


def segment(values: Sequence[Hashable | None], min_size: int,
            labels: Mapping[Hashable, str] | None = None) -> Segmentation:
    """Segments of the vertices by value (a value may be a Range): values held by `min_size` or more
    vertices first (largest first, then by label; ranges in ascending order), then `other` (the smaller
    values pooled), then `unknown` (no value)."""
    labels = labels or {}
    counts = Counter(value for value in values if value is not None)
    label = {value: value.label if isinstance(value, Range) else labels.get(value, _text(value))
             for value in counts}
    kept = sorted((value for value, n in counts.items() if n >= min_size),
                  key=lambda v: (v.min,) if isinstance(v, Range) else (-counts[v], label[v]))
    pooled = [value for value, n in counts.items() if n < min_size]
    segments = [Segment(RANGE, None, label[value], counts[value], value) if isinstance(value, Range)
                else Segment(VALUE, value, label[value], counts[value]) for value in kept]
    index: dict[Hashable, int] = {value: i for i, value in enumerate(kept)}
    other = unknown = -1
    if pooled:
        other = len(segments)
        segments.append(Segment(OTHER, None, other_label(len(pooled), min_size),
                                sum(counts[value] for value in pooled)))
    missing = len(values) - sum(counts.values())
    if missing:
        unknown = len(segments)
        segments.append(Segment(UNKNOWN, None, UNKNOWN_LABEL, missing))
    codes = np.fromiter((unknown if value is None else index.get(value, other) for value in values),
                        dtype=np.int64, count=len(values))
    return Segmentation(codes, segments, len(pooled), sum(counts[value] for value in pooled))


def other_label(groups: int, min_size: int) -> str:
    return f"Other ({groups} {'group' if groups == 1 else 'groups'} of fewer than {min_size} members)"


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
                     "range": part.range.as_dict() if part.range else None,
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


__all__ = ["Segment", "Segmentation", "Range", "Grouping", "BY_VALUE", "grouped", "quantile_ranges", "segment",
           "other_label", "tie_matrix", "summaries", "reach_matrix", "assortativity", "VALUE", "RANGE", "OTHER",
           "UNKNOWN", "UNKNOWN_LABEL", "MAX_VALUE_SEGMENTS", "DEFAULT_BINS", "MAX_BINS"]
