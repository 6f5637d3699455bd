"""Recommendations: candidates read by Cypher at request time, ranked by service.recommendations."""

from __future__ import annotations

import time
from typing import Any

from service import db, recommendations as scoring
from service.repositories import analytics, not_found

MAX_NEIGHBORS = 50
MAX_CANDIDATES = 100
MAX_ORGANIZATION_PATHS = 5000


def for_member(graph: db.Graph, member_id: str, *, strategy: str, limit: int, weights: dict[str, dict[str, float]],
               region: str | None = None, role: str | None = None, organization_id: str | None = None,
               exclude_organization_id: str | None = None) -> dict[str, Any]:
    started = time.perf_counter()
    # One statement in one read transaction: the member, the revision and the ranked candidates. Which
    # plan applies depends on whether the member has a cluster id, so the statement gets both.
    unclustered = strategy if strategy != "bridge_silos" else "shared_interests"
    row = graph.read(lambda tx: db.run_plain(
        tx, "recommend_member", id=member_id, max_neighbors=MAX_NEIGHBORS, max_candidates=MAX_CANDIDATES,
        region=region, role=role, organization_id=organization_id, exclude_organization_id=exclude_organization_id,
        limit=limit, clustered=_plan(strategy, weights), unclustered=_plan(unclustered, weights)))
    if not row:
        raise not_found("member", member_id)
    row = row[0]
    clustered = row["member_cluster"] is not None
    effective = strategy if clustered else unclustered
    items = scoring.explain(row)
    paths_known = True
    if strategy in ("balanced", "bridge_silos"):
        paths_known = _add_impact(row["revision"], member_id, items, row["items"])
    computed = {"strategy": strategy, "weights": weights[effective],
                "clustering": "available" if clustered else "missing",
                "bounds": {"collaborators_expanded": MAX_NEIGHBORS, "candidates_per_source": MAX_CANDIDATES},
                "took_ms": round((time.perf_counter() - started) * 1000, 1)}
    if not paths_known:
        computed["impact"] = ("around_articulation_points is null until GET /v1/analytics/bridges has run on "
                              "the current graph")
    if effective != strategy:
        computed["degraded"] = ("no clustering yet (GET /v1/analytics/clusters computes it): bridge_silos "
                                "ranked as shared_interests")
    elif not clustered:
        computed["degraded"] = "no clustering yet: no bridging bonus"
    return {"items": items, "strategy": strategy, "computed": computed}


def _plan(strategy: str, weights: dict[str, dict[str, float]]) -> dict[str, Any]:
    return {"weights": weights[strategy], "required": scoring.required_feature(strategy)}


def _add_impact(revision: int, member_id: str, items: list[dict[str, Any]], rows: list[dict[str, Any]]) -> bool:
    """What each suggested tie would do for the whole network: tie two clusters that have no tie yet (read
    with the candidates), and route around articulation points (from the cached bridge analysis; False
    when there is none)."""
    around = analytics.cut_vertices_bypassed(revision, [(member_id, item["member"]["id"]) for item in items])
    for position, (item, row) in enumerate(zip(items, rows)):
        item["impact"] = {"joins_untied_clusters": row["clusters_tied"] is False,
                          "around_articulation_points": None if around is None else around[position]}
    return around is not None


def for_organization(graph: db.Graph, organization_id: str, *, limit: int) -> dict[str, Any]:
    started = time.perf_counter()

    def work(tx) -> tuple[bool, list[dict]]:
        if db.run_one(tx, "organization_exists", id=organization_id) is None:
            return False, []
        return True, db.run(tx, "recommend_organization_candidates", id=organization_id,
                            max_paths=MAX_ORGANIZATION_PATHS, max_candidates=MAX_CANDIDATES)

    found, rows = graph.read(work)
    if not found:
        raise not_found("organization", organization_id)
    return {"items": scoring.rank_organizations(rows, limit),
            "computed": {"candidates_considered": len(rows), "bounds": {"member_paths": MAX_ORGANIZATION_PATHS},
                         "took_ms": round((time.perf_counter() - started) * 1000, 1)}}
