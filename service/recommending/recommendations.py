"""Scoring introductions: Adamic-Adar over mutual collaborators, topic Jaccard, a bridging bonus, region.

Candidates, their features and the weighted score come from Cypher at request time
(bounded expansions, only the best rows returned); these functions hold the weights and
explain each result.
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
# `activities` is co-participation: 1/(n-1) per activity of n participants both took part in (up to
# NETWEAVE_ACTIVITY_SIZE_CAP), the analytics' weighting: a small workshop of three counts 0.5, a convening of
# fifty 0.02. Its weight is small: a shared activity is a reason to meet again, not yet a tie.
DEFAULT_WEIGHTS: dict[str, dict[str, float]] = {
    "balanced": {"adamic_adar": 1.0, "topics": 0.3, "bridging": 0.1, "region": 0.1, "activities": 0.3,
                 "trust_path": 0.3},
    "close_triangles": {"adamic_adar": 1.0, "topics": 0.1, "bridging": 0.0, "region": 0.05, "activities": 0.3,
                        "trust_path": 0.3},
    "shared_interests": {"adamic_adar": 0.2, "topics": 1.0, "bridging": 0.0, "region": 0.1, "activities": 0.1,
                         "trust_path": 0.0},
    "bridge_silos": {"adamic_adar": 0.3, "topics": 0.5, "bridging": 1.0, "region": 0.0, "activities": 0.0,
                     "trust_path": 0.0},
}
# A strategy only proposes candidates that have what its name promises.
_REQUIRED_FEATURE = {"close_triangles": "adamic_adar", "shared_interests": "topics", "bridge_silos": "bridging"}


def required_feature(strategy: str) -> str | None:
    """The feature a candidate must have for the strategy to propose it (None: any candidate)."""
    return _REQUIRED_FEATURE.get(strategy)


# How far a strategy other than `balanced` leans from the learned score toward its goal: its hand-set
# weights, times this, are added to the model's (a model's score is a log-odds, about -5..5 over candidates).
TILT = 2.0


def plan(strategy: str, weights: dict[str, dict[str, float]], model: Any | None) -> dict[str, Any]:
    """What recommend_member ranks a strategy's candidates by: {weights, bias, required}. With a learned
    model (service/recommending/ranking.py), its weights, plus the strategy's hand-set ones times TILT unless `balanced`;
    without one, the strategy's hand-set weights."""
    if model is None:
        combined = dict(weights[strategy])
        bias = 0.0
    else:
        combined = dict(model.weights)
        if strategy != "balanced":
            for feature, weight in weights[strategy].items():
                combined[feature] = round(combined.get(feature, 0.0) + TILT * weight, 6)
        bias = model.bias
    return {"weights": combined, "bias": bias, "required": required_feature(strategy),
            "role_affinity": model.role_affinity if model is not None else {}}


def jaccard(a: Iterable[str] | None, b: Iterable[str] | None) -> float:
    a, b = set(a or ()), set(b or ())
    return len(a & b) / len(a | b) if a | b else 0.0


# Which features each reason speaks for: a reason's weight in the answer is what they added to the score.
_REASON_FEATURES = {
    "mutual_collaborators": ("common_neighbours", "adamic_adar", "resource_allocation", "jaccard", "path_strength"),
    "trusted_path": ("trust_path",),
    "shared_topics": ("topics",), "bridges_clusters": ("bridging",), "same_region": ("region",),
    "shared_organizations": ("shared_organizations",), "same_role": ("same_role", "role_pair"),
    "role_pair": ("role_pair",),
    "shared_activity": ("activities",),
}


def _names(people: list[str]) -> str:
    return ", ".join(people[:-1]) + f" and {people[-1]}" if len(people) > 1 else people[0]


def reasons(item: dict[str, Any], member: dict[str, Any],
            weights: dict[str, float] | None = None) -> list[dict[str, Any]]:
    """Why a candidate is suggested to `member` (its topics and cluster), as data with a sentence each:
    mutual collaborators, shared topics, organizations and activities, clusters bridged, region, role (the same
    one, or two roles often tied in this network).
    Ordered by what each added to the score under `weights`; those that added nothing or lowered it are
    left out, unless no reason added anything (then all are given)."""
    found: list[dict[str, Any]] = []
    values = item["features"]
    candidate = item["candidate"]
    if item["mutuals"]:
        # The least-connected mutual collaborators say the most about the pair (the Adamic-Adar idea).
        ranked = sorted(item["mutuals"], key=lambda m: (m["degree"], m["name"] or ""))
        count = len(item["mutuals"])
        named = [m["name"] or "a member" for m in ranked[:3]] + ([f"{count - 3} more"] if count > 3 else [])
        found.append({"type": "mutual_collaborators", "count": count,
                      "members": [{"id": m["id"], "name": m["name"]} for m in ranked[:3]],
                      "text": f"{count} mutual collaborator{'s' if count > 1 else ''}: {_names(named)}"})
        trusted = [m for m in item["mutuals"] if m.get("trust") is not None]
        if trusted:
            # The most trusted path, its least-connected go-between first among equals.
            best = min(trusted, key=lambda m: (-m["trust"], m["degree"], m["name"] or ""))
            found.append({"type": "trusted_path", "members": [{"id": best["id"], "name": best["name"]}],
                          "trust": best["trust"],
                          "text": f"through {best['name'] or 'a member'}, trusted {best['trust']} of 5 on both sides"})
    shared = sorted(set(member["member_topics"] or ()) & set(candidate["topics"] or ()))
    if shared:
        found.append({"type": "shared_topics", "topics": shared, "text": f"both work on {_names(shared)}"})
    if item.get("organizations"):
        names = [o["name"] or "an organization" for o in item["organizations"]]
        found.append({"type": "shared_organizations", "count": int(values.get("shared_organizations", len(names))),
                      "organizations": item["organizations"], "text": f"both in {_names(names)}"})
    if values["bridging"]:
        found.append({"type": "bridges_clusters", "from": member["member_cluster"], "to": candidate["cluster_id"],
                      "text": "bridges two clusters"})
    if values["region"]:
        found.append({"type": "same_region", "text": f"both in the {candidate.get('region')} region"})
    # Roles are data as stored (instructional_coach) and words as the network's vocabulary labels them.
    role_words = candidate.get("role_label") or candidate.get("role")
    if values.get("same_role"):
        found.append({"type": "same_role", "text": f"both work as {role_words}"})
    elif values.get("role_pair", 0.0) > 0 and member.get("member_role") and candidate.get("role"):
        found.append({"type": "role_pair", "roles": [member["member_role"], candidate["role"]],
                      "text": f"{member.get('member_role_label') or member['member_role']} and {role_words} often "
                              "work together in this network"})
    if item.get("activities"):
        count, first = item["activity_count"], item["activities"][0]["name"]
        more = f" and {count - 1} other activit{'y' if count == 2 else 'ies'}" if count > 1 else ""
        found.append({"type": "shared_activity", "count": count, "activities": item["activities"],
                      "text": f"you both attended {first}{more}"})
    if weights is None:
        return found
    for reason in found:
        reason["contribution"] = round(sum(weights.get(f, 0.0) * values.get(f, 0.0)
                                           for f in _REASON_FEATURES[reason["type"]]), 6)
    found.sort(key=lambda reason: -reason["contribution"])
    helping = [reason for reason in found if reason["contribution"] > 0]
    return helping or found


def explain(row: dict[str, Any], weights: dict[str, float] | None = None) -> list[dict[str, Any]]:
    """The ranked candidates of a member's row (features and score computed in Cypher) as results, each
    with its reasons, strongest first under `weights` (the weights that ranked them)."""
    # The candidate's role_label words the reasons; the answer's member is the candidate without it.
    return [{"member": {k: v for k, v in item["candidate"].items() if k != "role_label"},
             "score": round(item["score"], 6), "features": item["features"],
             "reasons": reasons(item, row, weights)} for item in row["items"]]


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
