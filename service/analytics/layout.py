"""Positions for drawing the network: members laid out by Fruchterman-Reingold, or, for large networks,
one bubble per cluster (sized by members, placed by the ties between clusters).

Pure functions over the projection, seeded so the same graph always gets the same picture. Coordinates
are scaled into a square of side `EXTENT` (0..EXTENT on both axes) so clients need no bounding box.
`member_positions` also lays out a part alone (the pictures of a filtered network).
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

import igraph as ig
import numpy as np

from service.analytics.clusters import _RNG_LOCK  # igraph's generator is process-wide: one lock for all users
from service.analytics.projection import Projection

EXTENT = 1000.0
FR_ITERATIONS = 500
_OVERLAP_PASSES = 60


@dataclass(frozen=True)
class Positions:
    x: np.ndarray
    y: np.ndarray


@dataclass(frozen=True)
class Bubbles:
    """Cluster c is drawn as a circle at (x[c], y[c]) with radius r[c]; ties between clusters c < d."""

    x: np.ndarray
    y: np.ndarray
    r: np.ndarray
    size: np.ndarray
    tie_source: np.ndarray
    tie_target: np.ndarray
    tie_count: np.ndarray
    tie_strength: np.ndarray


def member_positions(projection: Projection, *, seed: int) -> Positions:
    """Each connected component laid out alone by Fruchterman-Reingold on the weighted graph (strong ties
    pull harder; igraph uses its grid variant above 1,000 vertices, which keeps 5,000 members within a few
    seconds), in a box of its own shape whose area grows with its size; the boxes packed in rows into a
    near-square, tallest first, and the members with no ties last, as one compact grid block. Laid out
    together, isolated members drift to the far edges and shrink the rest of the network to a speck."""
    graph = projection.graph
    n = graph.vcount()
    if n == 0:
        return Positions(np.zeros(0), np.zeros(0))
    xy = np.zeros((n, 2))
    components = graph.connected_components()
    tied = sorted((c for c in components if len(c) > 1), key=lambda c: (-len(c), c[0]))
    alone = sorted(c[0] for c in components if len(c) == 1)
    with _RNG_LOCK:
        ig.set_random_number_generator(random.Random(seed))
        try:
            boxes = [_in_box(graph, component) for component in tied]
        finally:
            ig.set_random_number_generator(random)
    order = sorted(range(len(tied)), key=lambda i: (-_extent(boxes[i])[1], i))   # tallest first: fuller rows
    groups = [tied[i] for i in order] + ([alone] if alone else [])
    placed = [boxes[i] for i in order] + ([_grid(len(alone))] if alone else [])
    corners = _shelves([_extent(points) for points in placed], gap=1.0)
    for group, points, corner in zip(groups, placed, corners):
        xy[group] = corner + points
    x, y = _fit(xy)
    return Positions(x, y)


def _in_box(graph: ig.Graph, component: list[int]) -> np.ndarray:
    """The component's Fruchterman-Reingold layout in its own shape, scaled to an area near its size (a long
    thin layout is given at least a third of its length in width, so it does not shrink to a line)."""
    part = graph.induced_subgraph(component, implementation="create_from_scratch")
    coords = part.layout_fruchterman_reingold(weights="weight" if part.ecount() else None, niter=FR_ITERATIONS)
    points = np.asarray(coords.coords, dtype=float).reshape(-1, 2)
    points -= points.min(axis=0)
    long, short = max(np.ptp(points, axis=0).max(), 1e-9), np.ptp(points, axis=0).min()
    scale = math.sqrt(len(component) / (long * max(short, long / 3)))
    points *= scale
    return points * 0.9 + np.ptp(points, axis=0) * 0.05 + 0.5


def _extent(points: np.ndarray) -> tuple[float, float]:
    return float(points[:, 0].max() + 0.5), float(points[:, 1].max() + 0.5)


def _grid(count: int, cell: float = 0.6) -> np.ndarray:
    """Cell centres of a near-square grid, row by row: where the members with no ties are drawn (closer
    than the tied members, whose ties need the room)."""
    columns = math.ceil(math.sqrt(count))
    k = np.arange(count)
    return (np.column_stack([k % columns, k // columns]).astype(float) + 0.5) * cell


def _shelves(shapes: list[tuple[float, float]], gap: float) -> np.ndarray:
    """Top-left corners packing boxes (width, height), in the given order, in rows: of the row widths that
    make a difference, the one whose packing is nearest a square (the smallest longer side)."""
    widths = [w for w, _ in shapes]
    candidates = sorted({max(widths)} | {sum(widths[:k]) + gap * (k - 1) for k in range(1, len(widths) + 1)})
    if len(candidates) > 200:
        candidates = [candidates[i] for i in np.linspace(0, len(candidates) - 1, 200).astype(int)]
    best = min((_rows(shapes, limit, gap) for limit in candidates), key=lambda packed: (packed[1], packed[2]))
    return best[0]


def _rows(shapes: list[tuple[float, float]], limit: float, gap: float) -> tuple[np.ndarray, float, float]:
    """(corners, longer side, area) of the boxes packed in rows no wider than `limit`."""
    corners, x, y, row, right = [], 0.0, 0.0, 0.0, 0.0
    for w, h in shapes:
        if x > 0 and x + w > limit + 1e-9:
            x, y, row = 0.0, y + row + gap, 0.0
        corners.append((x, y))
        x, row, right = x + w + gap, max(row, h), max(right, x + w)
    bottom = y + row
    return np.asarray(corners, dtype=float), max(right, bottom), right * bottom


def cluster_bubbles(graph: ig.Graph, membership: np.ndarray, *, seed: int) -> Bubbles:
    """One bubble per cluster, its area proportional to its members, placed by the ties between clusters.

    `membership` maps vertex -> cluster number. A part of the network is drawn with the same centres and
    radii shrunk to the part (see `shrunk`), so bubbles stay put while filtering and never overlap.
    """
    clusters = int(membership.max()) + 1 if membership.size else 0
    size = np.bincount(membership, minlength=clusters)
    source, target, count, strength = cluster_ties(graph, membership, np.ones(membership.size, dtype=bool))
    x, y, r = _place_bubbles(size, source, target, count, seed=seed)
    return Bubbles(x, y, r, size, source, target, count, strength)


def shrunk(bubbles: Bubbles, shown_per_cluster: np.ndarray) -> np.ndarray:
    """Radii for `shown_per_cluster` members of each cluster: same area per member as the whole bubble."""
    return bubbles.r * np.sqrt(shown_per_cluster / np.maximum(bubbles.size, 1))


def cluster_ties(graph: ig.Graph, membership: np.ndarray, shown: np.ndarray):
    """(source, target, ties, strength) between clusters source < target, counting connected member pairs
    with both ends `shown` (a boolean mask) and summing their strength."""
    edges = np.asarray(graph.get_edgelist(), dtype=np.int64).reshape(-1, 2)
    weights = np.asarray(graph.es["weight"] if graph.ecount() else [], dtype=float)
    keep = shown[edges[:, 0]] & shown[edges[:, 1]] if edges.size else np.zeros(0, dtype=bool)
    a, b, w = membership[edges[keep, 0]], membership[edges[keep, 1]], weights[keep]
    between = a != b
    low, high, w = np.minimum(a, b)[between], np.maximum(a, b)[between], w[between]
    if low.size == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, empty, np.zeros(0)
    clusters = int(membership.max()) + 1
    pairs, inverse, count = np.unique(low * clusters + high, return_inverse=True, return_counts=True)
    strength = np.bincount(inverse, weights=w)
    return pairs // clusters, pairs % clusters, count, strength


def _place_bubbles(size: np.ndarray, source: np.ndarray, target: np.ndarray, count: np.ndarray, *,
                   seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Centres by Fruchterman-Reingold on the cluster graph (weighted by ties), radii by sqrt(size),
    then pushed apart until no two bubbles overlap, and scaled into the square."""
    k = size.size
    if k == 0:
        return np.zeros(0), np.zeros(0), np.zeros(0)
    cluster_graph = ig.Graph(n=k, edges=list(zip(source.tolist(), target.tolist())))
    with _RNG_LOCK:
        ig.set_random_number_generator(random.Random(seed))
        try:
            coords = cluster_graph.layout_fruchterman_reingold(
                weights=np.log1p(count).tolist() if count.size else None, niter=FR_ITERATIONS)
        finally:
            ig.set_random_number_generator(random)
    xy = np.asarray(coords.coords, dtype=float).reshape(-1, 2)
    radius = np.sqrt(size / size.max())  # unit for the largest cluster, before scaling
    spread = max(np.ptp(xy[:, 0]), np.ptp(xy[:, 1]), 1e-9)
    # Start with the bubbles' total area about a third of the drawing, then remove overlaps.
    xy *= (2.5 * math.sqrt(float((radius ** 2).sum()))) / spread
    xy = _separate(xy, radius)
    lows, highs = (xy - radius[:, None]).min(axis=0), (xy + radius[:, None]).max(axis=0)
    scale = EXTENT / max(float((highs - lows).max()), 1e-9)
    centre = (EXTENT - (highs - lows) * scale) / 2
    xy = (xy - lows) * scale + centre
    return xy[:, 0], xy[:, 1], radius * scale


def _separate(xy: np.ndarray, radius: np.ndarray) -> np.ndarray:
    """Push overlapping circles apart along the line between their centres (a few vectorized passes)."""
    k = len(radius)
    if k < 2 or k > 1500:  # beyond that many clusters the pairwise passes cost more than overlaps do
        return xy
    gap = 0.05 * float(radius.min())
    for _ in range(_OVERLAP_PASSES):
        delta = xy[:, None, :] - xy[None, :, :]
        distance = np.sqrt((delta ** 2).sum(axis=2)) + np.eye(k)
        overlap = (radius[:, None] + radius[None, :] + gap) - distance
        np.fill_diagonal(overlap, 0.0)
        overlap = np.clip(overlap, 0.0, None)
        if not overlap.any():
            break
        push = (delta / distance[:, :, None]) * (overlap / 2)[:, :, None]
        xy = xy + push.sum(axis=1)
    return xy


def _fit(xy: np.ndarray, margin: float = 0.02) -> tuple[np.ndarray, np.ndarray]:
    """Scale points uniformly into the square, centred, keeping a small margin."""
    lows, highs = xy.min(axis=0), xy.max(axis=0)
    span = max(float((highs - lows).max()), 1e-9)
    inner = EXTENT * (1 - 2 * margin)
    scaled = (xy - lows) * (inner / span)
    offset = (EXTENT - (highs - lows) * (inner / span)) / 2
    scaled += offset
    return scaled[:, 0], scaled[:, 1]


def fit_part(x: np.ndarray, y: np.ndarray, margin: float = 0.04) -> tuple[np.ndarray, np.ndarray]:
    """Points of a part of the network re-scaled to fill the square (for pictures of a cluster)."""
    if x.size == 0:
        return x, y
    if x.size == 1:
        return np.array([EXTENT / 2]), np.array([EXTENT / 2])
    return _fit(np.column_stack([x, y]), margin)
