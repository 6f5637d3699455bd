"""Scoring introductions: Adamic-Adar over mutual collaborators, topic Jaccard, a bridging bonus, region.

Candidates and their features come from Cypher at request time (bounded expansions);
these pure functions weigh them per strategy and explain each result.
"""

from __future__ import annotations

import math
from typing import Any, Iterable

STRATEGIES = ("balanced", "close_triangles", "shared_interests", "bridge_silos")

# Weights per strategy (configurable through NETWEAVE_RECOMMENDATION_WEIGHTS). Adamic-Adar is
# unbounded (about 0.5-3 for a few mutual collaborators); the other features are 0-1. In `balanced`
# the bridging bonus is small on purpose: it reorders near-equal candidates toward other clusters
# without giving up the likely introductions (bench/recommend_quality.py: a bonus of 0.5 with topics
# at 1.0 gave precision@10 0.113 on Les Miserables, these weights 0.128); `bridge_silos` is where
# bridging leads.
DEFAULT_WEIGHTS: dict[str, dict[str, float]] = {
    "balanced": {"adamic_adar": 1.0, "topics": 0.3, "bridging": 0.1, "region": 0.1},
    "close_triangles": {"adamic_adar": 1.0, "topics": 0.1, "bridging": 0.0, "region": 0.05},
    "shared_interests": {"adamic_adar": 0.2, "topics": 1.0, "bridging": 0.0, "region": 0.1},
    "bridge_silos": {"adamic_adar": 0.3, "topics": 0.5, "bridging": 1.0, "region": 0.0},
}
# A strategy only proposes candidates that have what its name promises.
_REQUIRED_FEATURE = {"close_triangles": "adamic_adar", "shared_interests": "topics", "bridge_silos": "bridging"}


def adamic_adar(mutuals: Iterable[dict[str, Any]]) -> float:
    """Sum of 1/log(degree) over mutual collaborators (a collaborator with one tie adds nothing)."""
    return sum(1.0 / math.log(m["degree"]) for m in mutuals if m["degree"] > 1)


def jaccard(a: Iterable[str] | None, b: Iterable[str] | None) -> float:
    a, b = set(a or ()), set(b or ())
    return len(a & b) / len(a | b) if a | b else 0.0


def features(row: dict[str, Any]) -> dict[str, float]:
    candidate = row["candidate"]
    bridging = (row["member_cluster"] is not None and candidate.get("cluster_id") is not None
                and candidate["cluster_id"] != row["member_cluster"])
    same_region = row["member_region"] is not None and candidate.get("region") == row["member_region"]
    return {"adamic_adar": adamic_adar(row["mutuals"]), "topics": jaccard(row["member_topics"], candidate["topics"]),
            "bridging": 1.0 if bridging else 0.0, "region": 1.0 if same_region else 0.0}


def score(values: dict[str, float], weights: dict[str, float]) -> float:
    return sum(weights[name] * values[name] for name in weights)


def qualifies(strategy: str, values: dict[str, float]) -> bool:
    required = _REQUIRED_FEATURE.get(strategy)
    return required is None or values[required] > 0


def reasons(row: dict[str, Any], values: dict[str, float]) -> list[dict[str, Any]]:
    """Why a candidate is suggested, as data: mutual collaborators, shared topics, clusters bridged, region."""
    found: list[dict[str, Any]] = []
    if row["mutuals"]:
        # The least-connected mutual collaborators say the most about the pair (the Adamic-Adar idea).
        ranked = sorted(row["mutuals"], key=lambda m: (m["degree"], m["name"] or ""))
        found.append({"type": "mutual_collaborators", "count": len(row["mutuals"]),
                      "members": [{"id": m["id"], "name": m["name"]} for m in ranked[:3]]})
    shared = sorted(set(row["member_topics"] or ()) & set(row["candidate"]["topics"] or ()))
    if shared:
        found.append({"type": "shared_topics", "topics": shared})
    if values["bridging"]:
        found.append({"type": "bridges_clusters", "from": row["member_cluster"], "to": row["candidate"]["cluster_id"]})
    if values["region"]:
        found.append({"type": "same_region"})
    return found


def rank(rows: list[dict[str, Any]], strategy: str, weights: dict[str, float], limit: int) -> list[dict[str, Any]]:
    """The best `limit` candidates for the strategy, highest score first (ties broken by id)."""
    scored = []
    for row in rows:
        values = features(row)
        if qualifies(strategy, values):
            scored.append({"member": row["candidate"], "score": round(score(values, weights), 6),
                           "features": values, "reasons": reasons(row, values)})
    scored.sort(key=lambda item: (-item["score"], item["member"]["id"]))
    return scored[:limit]


def rank_organizations(rows: list[dict[str, Any]], limit: int) -> list[dict[str, Any]]:
    """Partner organizations by member-level ties (log-damped), topic overlap and region."""
    scored = []
    for row in rows:
        overlap = jaccard(row["topics"], row["organization"]["topics"])
        same_region = row["region"] is not None and row["organization"].get("region") == row["region"]
        value = math.log1p(row["ties"]) + overlap + (0.2 if same_region else 0.0)
        found = []
        if row["ties"]:
            found.append({"type": "member_ties", "count": row["ties"], "examples": row["bridges"]})
        shared = sorted(set(row["topics"] or ()) & set(row["organization"]["topics"] or ()))
        if shared:
            found.append({"type": "shared_topics", "topics": shared})
        if same_region:
            found.append({"type": "same_region"})
        scored.append({"organization": row["organization"], "score": round(value, 6), "reasons": found})
    scored.sort(key=lambda item: (-item["score"], item["organization"]["id"]))
    return scored[:limit]
