"""Where to draw each member: the explorer's layout report and the scenes the network pictures are drawn from.

Positions come from the cached analytics of the graph revision (projection, clusters, betweenness), so
the picture, the explorer and /v1/analytics/* always describe the same network. Up to
NETWEAVE_LAYOUT_MAX_MEMBERS (5,000) members every member is placed (one layout per revision and date;
filters only choose who is shown, so positions do not jump while filtering); above it the network is
drawn as one bubble per cluster. The pictures of a filtered network lay the members shown out again, so
they fill the picture; the explorer's layout keeps everyone where the whole network put them.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import date

import numpy as np

from service import db
from service.exports import pictures
from service.analytics import layout as layout_module
from service.analytics.engine import Engine, get_engine
from service.analytics.store import SharedStore, key_of
from service.problems import Problem, field_error
from service.repositories import not_found
from service.repositories.analytics import (DEFAULT_RESOLUTION, BridgeAnalysis, ClusterAnalysis, Scope, _answer,
                                            _computed, _matching, refusal, refused, _projection, bridge_analysis,
                                            cluster_analysis, cluster_names, member_filters, question_args)

BROKERS = 10         # members flagged as brokers: the top of /v1/analytics/bridges (its default limit)


@dataclass(frozen=True)
class Network:
    """Everything a drawing needs for one revision and date, all from the engine's cache. `bridges` is None
    for bubbles, which need no betweenness (the costliest analysis on a large network)."""

    revision: int
    scope: Scope
    clusters: ClusterAnalysis
    bridges: BridgeAnalysis | None
    membership: np.ndarray
    brokers: frozenset[int]
    max_members: int
    cluster_names: list[str]

    @property
    def projection(self):
        return self.clusters.projection

    @property
    def large(self) -> bool:
        return self.projection.size > self.max_members


def _network(engine: Engine, graph: db.Graph, revision: int, scope: Scope, *,
             with_bridges: bool | None = None) -> Network:
    """`with_bridges` None: betweenness only when members are drawn one by one (up to the member limit)."""
    clusters = cluster_analysis(engine, graph, revision, scope, DEFAULT_RESOLUTION)
    if with_bridges is None:
        with_bridges = clusters.projection.size <= engine.settings.layout_max_members
    bridges = bridge_analysis(engine, graph, revision, scope) if with_bridges else None
    return Network(clusters.revision, scope, clusters, bridges,
                   np.asarray(clusters.clustering.membership, dtype=np.int64),
                   _top_brokers(bridges, clusters.projection.ids), engine.settings.layout_max_members,
                   [name for name, _ in cluster_names(engine, graph, revision, scope)])


def _top_brokers(bridges: BridgeAnalysis | None, ids: list[str]) -> frozenset[int]:
    """The vertices /v1/analytics/bridges lists first: highest betweenness above 0, ties by id."""
    if bridges is None:
        return frozenset()
    scores = bridges.betweenness.scores
    ranked = sorted((v for v in range(len(scores)) if scores[v] > 0), key=lambda v: (-scores[v], ids[v]))
    return frozenset(ranked[:BROKERS])


def _positions(engine: Engine, graph: db.Graph, network: Network) -> layout_module.Positions:
    def compute() -> layout_module.Positions:
        _, projection = _projection(engine, graph, network.revision, network.scope)
        return layout_module.member_positions(projection, seed=engine.settings.seed)

    return engine.memo(("layout", network.revision, network.scope), compute)


def _names(engine: Engine, graph: db.Graph, network: Network) -> dict[str, str]:
    def compute() -> dict[str, str]:
        ids = network.projection.ids
        rows = graph.read(lambda tx: db.run(tx, "layout_member_names", ids=ids))
        return {row["id"]: row["name"] for row in rows}

    return engine.memo(("layout-names", network.revision), compute)


# --- the layout report (GET /v1/analytics/layout) --------------------------------------------------

def layout(graph: db.Graph, *, as_of: date | None = None, organization_id: str | None = None,
           region: str | None = None, role: str | None = None, topic: str | None = None,
           view: str = "auto") -> dict:
    filters = member_filters(organization_id, region, role, topic)
    return _answer(graph, "layout", Scope.of(as_of), {"filters": filters, "view": view})


def stored_layout(graph: db.Graph, as_of: date) -> tuple[int, dict] | None:
    """The whole network's layout (the default question the worker answers after writes) as last stored,
    with the revision it describes; never computed here, so an export that uses it stays cheap."""
    args = question_args("layout", Scope.of(as_of), {"filters": member_filters(), "view": "auto"})
    stored = SharedStore(graph, get_engine(graph).settings.run_timeout).report(key_of(args))
    return (stored[0], stored[1]) if stored is not None else None


def layout_report(engine: Engine, graph: db.Graph, revision: int, scope: Scope, filters: dict, view: str) -> dict:
    network = _network(engine, graph, revision, scope, with_bridges=False if view == "clusters" else None)
    projection = network.projection
    shown = np.asarray(_matching(projection, filters) if any(filters.values()) else projection.member_vertices(),
                       dtype=np.int64)
    bubbles = view == "clusters" or network.large
    measured = network.bridges.betweenness if network.bridges else None
    body = _bubbles_body(engine, network, shown) if bubbles else \
        _members_body(network, shown, _positions(engine, graph, network), _names(engine, graph, network))
    return {
        "view": "clusters" if bubbles else "members",
        "extent": layout_module.EXTENT,
        "members_total": len(projection.member_vertices()),
        "members_shown": int(shown.size),
        "scope": filters,
        # What the region and role filters can take (the whole network's values, whatever is shown).
        "regions": sorted({r for r in projection.regions if r}),
        "roles": sorted({r for r in projection.roles if r}),
        "topics": sorted({t for topics in projection.topics for t in topics}),
        "palette": _palette(),
        **body,
        "computed": _computed(
            "positions: Fruchterman-Reingold (igraph, weighted by tie strength, seeded); clusters: Leiden "
            "(modularity, resolution 1); betweenness and articulation points as in /v1/analytics/bridges; "
            f"above {network.max_members} members one bubble per cluster, placed by the ties between clusters",
            {"as_of": scope.as_of.isoformat(), **filters, "view": view}, network.revision, scope,
            engine.settings.seed, exact=measured.exact if measured else True,
            sample_size=measured.sample_size if measured else None),
    }


def _palette() -> dict:
    return {"colours": list(pictures.PALETTE), "other": pictures.OTHER}


def _members_body(network: Network, shown: np.ndarray, positions: layout_module.Positions,
                  names: dict[str, str]) -> dict:
    projection, graph = network.projection, network.projection.graph
    clusters_shown, cluster_index = np.unique(network.membership[shown], return_inverse=True)
    scores = network.bridges.betweenness.scores
    degree = graph.degree()
    ids = [projection.ids[v] for v in shown.tolist()]
    x, y = positions.x[shown], positions.y[shown]
    return {
        "members": {
            "id": ids,
            "name": [names.get(member_id) for member_id in ids],
            "x": np.round(x, 1).tolist(), "y": np.round(y, 1).tolist(),
            "cluster": cluster_index.tolist(),
            "degree": [degree[v] for v in shown.tolist()],
            "betweenness": [round(scores[v], 6) for v in shown.tolist()],
            "broker": [v in network.brokers for v in shown.tolist()],
            "articulation_point": [v in network.bridges.articulation for v in shown.tolist()],
            "region": [projection.regions[v] for v in shown.tolist()],
            "role": [projection.roles[v] for v in shown.tolist()],
        },
        "ties": _ties_among(graph, shown),
        "clusters": _cluster_table(network, clusters_shown, cluster_index, x, y),
        "cluster_ties": {"source": [], "target": [], "ties": [], "strength": []},
    }


def _ties_among(graph, shown: np.ndarray) -> dict:
    """Ties with both ends shown, as indices into the shown members."""
    position = np.full(graph.vcount(), -1, dtype=np.int64)
    position[shown] = np.arange(shown.size)
    edges = np.asarray(graph.get_edgelist(), dtype=np.int64).reshape(-1, 2)
    strength = np.asarray(graph.es["weight"] if graph.ecount() else [], dtype=float)
    a, b = position[edges[:, 0]], position[edges[:, 1]]
    keep = (a >= 0) & (b >= 0)
    return {"source": a[keep].tolist(), "target": b[keep].tolist(),
            "strength": [int(s) if float(s).is_integer() else float(s) for s in strength[keep]]}


def _cluster_table(network: Network, clusters_shown: np.ndarray, cluster_index: np.ndarray, x: np.ndarray,
                   y: np.ndarray) -> dict:
    """Per drawn cluster: id, size, members shown, and the centre and reach of its shown members."""
    k = clusters_shown.size
    counts = np.bincount(cluster_index, minlength=k) if k else np.zeros(0, dtype=np.int64)
    cx = np.bincount(cluster_index, weights=x, minlength=k) / np.maximum(counts, 1) if k else np.zeros(0)
    cy = np.bincount(cluster_index, weights=y, minlength=k) / np.maximum(counts, 1) if k else np.zeros(0)
    reach = np.zeros(k)
    if k:
        np.maximum.at(reach, cluster_index, np.hypot(x - cx[cluster_index], y - cy[cluster_index]))
    grouped = network.clusters.grouped
    return {"id": [network.clusters.ids[c] for c in clusters_shown.tolist()],
            "name": [network.cluster_names[c] for c in clusters_shown.tolist()],
            "rank": clusters_shown.tolist(),
            "colour": [pictures.cluster_colour(c) for c in clusters_shown.tolist()],
            "size": [len(grouped[c]) for c in clusters_shown.tolist()],
            "members_shown": counts.tolist(),
            "x": np.round(cx, 1).tolist(), "y": np.round(cy, 1).tolist(), "radius": np.round(reach, 1).tolist()}


def _bubbles(engine: Engine, network: Network) -> layout_module.Bubbles:
    return engine.memo(("layout-bubbles", network.revision, network.scope),
                       lambda: layout_module.cluster_bubbles(network.projection.graph, network.membership,
                                                             seed=engine.settings.seed))


def _bubbles_body(engine: Engine, network: Network, shown: np.ndarray) -> dict:
    """Bubbles of the clusters with members shown, where the whole network's bubbles are, shrunk to them."""
    projection, bubbles = network.projection, _bubbles(engine, network)
    mask = np.zeros(projection.size, dtype=bool)
    mask[shown] = True
    counts = np.bincount(network.membership[mask], minlength=bubbles.size.size)
    kept = np.flatnonzero(counts)
    position = np.full(bubbles.size.size, -1, dtype=np.int64)
    position[kept] = np.arange(kept.size)
    source, target, ties, strength = layout_module.cluster_ties(projection.graph, network.membership, mask)
    grouped = network.clusters.grouped
    return {
        "members": {key: [] for key in ("id", "name", "x", "y", "cluster", "degree", "betweenness", "broker",
                                        "articulation_point", "region", "role")},
        "ties": {"source": [], "target": [], "strength": []},
        "clusters": {"id": [network.clusters.ids[c] for c in kept.tolist()],
                     "name": [network.cluster_names[c] for c in kept.tolist()],
                     "rank": kept.tolist(),
                     "colour": [pictures.cluster_colour(c) for c in kept.tolist()],
                     "size": [len(grouped[c]) for c in kept.tolist()],
                     "members_shown": counts[kept].tolist(),
                     "x": np.round(bubbles.x[kept], 1).tolist(), "y": np.round(bubbles.y[kept], 1).tolist(),
                     "radius": np.round(layout_module.shrunk(bubbles, counts)[kept], 1).tolist()},
        "cluster_ties": {"source": position[source].tolist(), "target": position[target].tolist(),
                         "ties": ties.tolist(), "strength": [round(float(s), 3) for s in strength]},
    }


# --- pictures (GET /v1/analytics/map.svg|png) -------------------------------------------------------

def picture(graph: db.Graph, *, kind: str, width: int, as_of: date | None = None,
            organization_id: str | None = None, region: str | None = None, role: str | None = None,
            topic: str | None = None, cluster_id: str | None = None, member_id: str | None = None, depth: int = 1,
            view: str = "auto") -> tuple[bytes, dict]:
    """The picture (`kind` svg or png, `width` pixels high) of the whole network (as the explorer shows it),
    one cluster, or one member's neighbourhood up to `depth` hops: drawn where the analytics are computed
    (`netweave worker`, else the app's analytics thread), never on a request thread, and stored like any
    report, so every web worker serves the same bytes. The bytes, and the report's `computed` block (its
    revision, and whether it is stale)."""
    filters = member_filters(organization_id, region, role, topic)
    report = _answer(graph, "picture", Scope.of(as_of),
                     {"filters": filters, "cluster_id": cluster_id, "member_id": member_id, "depth": depth,
                      "view": view, "kind": kind, "width": width})
    refused(report)   # a part that does not exist, or is too large to draw: found by the computation
    return base64.b64decode(report["body"]), report["computed"]


def picture_report(engine: Engine, graph: db.Graph, revision: int, scope: Scope, filters: dict,
                   cluster_id: str | None, member_id: str | None, depth: int, view: str, kind: str,
                   width: int) -> dict:
    """A picture as a report: the drawing (base64) and how its scene was computed, or the scene's refusal."""
    scene = map_scene(engine, graph, revision, scope, filters, cluster_id, member_id, depth, view)
    if "problem" in scene:
        return scene
    body = pictures.svg(scene, width) if kind == "svg" else pictures.png(scene, width)
    return {"kind": kind, "body": base64.b64encode(body).decode("ascii"), "computed": scene["computed"]}


def map_scene(engine: Engine, graph: db.Graph, revision: int, scope: Scope, filters: dict,
              cluster_id: str | None, member_id: str | None, depth: int, view: str) -> dict:
    """The layout report to draw: the whole network as the explorer shows it, or a part (part_scene). Parts
    are re-scaled to fill the picture, and the members a filter leaves are laid out again among themselves
    (bubbles stay as the explorer draws them)."""
    if cluster_id is None and member_id is None:
        report = layout_report(engine, graph, revision, scope, filters, view)
        if not (report["view"] == "members" and any(filters.values()) and report["members_shown"]):
            return {**report, "title": "the network", "as_of": scope.as_of.isoformat(), "focus": None}
    return part_scene(engine, graph, revision, scope, filters, cluster_id, member_id, depth)


def part_scene(engine: Engine, graph: db.Graph, revision: int, scope: Scope, filters: dict,
                cluster_id: str | None, member_id: str | None, depth: int) -> dict:
    """The scene of one cluster or one member's neighbourhood; a part that does not exist or is too large
    to draw is answered as {"problem": ...} (a report like any other, so every web worker refuses it alike)."""
    network = _network(engine, graph, revision, scope, with_bridges=True)
    projection = network.projection
    try:
        part, focus = _part(network, cluster_id, member_id, depth) if cluster_id or member_id else \
            (_matching(projection, filters), None)
    except Problem as problem:
        return refusal(problem, _part_computed(network, scope, engine.settings.seed))
    names = _names(engine, graph, network)
    if any(filters.values()):
        allowed = set(_matching(projection, filters))
        part = [v for v in part if v in allowed or v == focus]
    if len(part) > network.max_members:
        return refusal(field_error("cluster_id" if cluster_id else "depth",
                                   f"{len(part)} members are too many to draw one by one (at most "
                                   f"{network.max_members}); draw the whole network (as clusters) or a smaller "
                                   "part", location="query"), _part_computed(network, scope, engine.settings.seed))
    shown = np.asarray(sorted(part), dtype=np.int64)
    alone = cluster_id is None and member_id is None
    body = _members_body(network, shown, _part_positions(engine, graph, network, shown, alone=alone), names)
    title = (f"cluster {network.cluster_names[network.clusters.ids.index(cluster_id)]}" if cluster_id else
             f"{names.get(member_id) or member_id} and {'contacts' if depth == 1 else 'two steps around'}"
             if member_id else "the network: " + ", ".join(f"{key.removesuffix('_id')} {value}"
                                                           for key, value in filters.items() if value))
    return {"view": "members", "extent": layout_module.EXTENT, "members_total": len(projection.member_vertices()),
            "members_shown": int(shown.size), "scope": filters, "regions": [], "roles": [], "topics": [], "palette": _palette(),
            **body, "title": title,
            "as_of": scope.as_of.isoformat(),
            "focus": projection.ids[focus] if focus is not None else None,
            "computed": _part_computed(network, scope, engine.settings.seed)}


def _part_computed(network: Network, scope: Scope, seed: int) -> dict:
    return _computed("positions: the network's layout re-scaled to a cluster or neighbourhood (or a layout of "
                     f"the part alone above {network.max_members} members); the members a filter leaves laid "
                     "out again among themselves", {}, network.revision, scope, seed)



def _part(network: Network, cluster_id: str | None, member_id: str | None, depth: int):
    projection = network.projection
    if cluster_id is not None:
        if cluster_id not in network.clusters.ids:
            raise not_found("cluster", cluster_id)
        c = network.clusters.ids.index(cluster_id)
        return list(network.clusters.grouped[c]), None
    vertex = projection.index.get(member_id)
    if vertex is None:
        raise not_found("member", member_id)
    reached = projection.graph.neighborhood(vertex, order=depth)
    return list(reached), vertex


def _part_positions(engine: Engine, graph: db.Graph, network: Network, shown: np.ndarray, *,
                    alone: bool = False) -> layout_module.Positions:
    """The part's positions filling the picture: the network's own layout re-scaled when it is small enough
    to have one, else (or when `alone`: the members a filter leaves, spread across the network) a layout
    of the part by itself, with the ties among its members only."""
    if network.large or alone:
        part = network.projection.subset(shown.tolist())
        placed = engine.memo(("layout-part", network.revision, network.scope, tuple(shown.tolist())),
                             lambda: layout_module.member_positions(part, seed=engine.settings.seed))
        px, py = placed.x, placed.y
    else:
        whole = _positions(engine, graph, network)
        px, py = layout_module.fit_part(whole.x[shown], whole.y[shown])
    x, y = np.zeros(network.projection.size), np.zeros(network.projection.size)
    x[shown], y[shown] = px, py
    return layout_module.Positions(x, y)
