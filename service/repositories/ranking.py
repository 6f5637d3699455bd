"""Ranking models: trained on the analytics projection (service/recommending/ranking.py), stored in the graph as
RankingModel nodes, read by every web worker for serving.

Training is the analytics question `ranking` (GET /v1/analytics/ranking, and one of the default reports
`netweave worker` computes after writes): it fits a new model when the network has changed enough since
the last one (ranking.due), else reports the model it has. Without a queue, a recommendation request
that finds no model, or an outgrown one, starts that question on the app's analytics thread
(NETWEAVE_RANKING_AUTO_TRAIN) and is served by what exists meanwhile.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, replace
from typing import Any

from service import db
from service.recommending import ranking
from service.analytics.activities import DEFAULT_SIZE_CAP, co_participation
from service.analytics.engine import Engine
from service.recommending.recommendations import DEFAULT_WEIGHTS

CACHE_SECONDS = 5.0     # how long a web worker serves the model it read before looking for a newer one
KEEP_MODELS = 10
MAX_FEEDBACK = 5000
ALGORITHM = "pairwise logistic regression (scikit-learn) on hidden ties and introduction feedback"


class _Current:
    """The newest model per database, as one process last read it (None: there is none)."""

    def __init__(self) -> None:
        self._held: dict[int, tuple[float, ranking.Model | None]] = {}
        self._lock = threading.Lock()

    def get(self, graph: db.Graph, *, fresh: bool = False) -> ranking.Model | None:
        key = id(graph)
        with self._lock:
            held = self._held.get(key)
        if held is not None and not fresh and time.monotonic() - held[0] < CACHE_SECONDS:
            return held[1]
        row = graph.read(db.run_one, "ranking_model_current")
        model = _model(row) if row is not None else None
        with self._lock:
            self._held[key] = (time.monotonic(), model)
        return model

    def forget(self, graph: db.Graph | None = None) -> None:
        """Read the model again on next use (for `graph`, or every database when None)."""
        with self._lock:
            if graph is None:
                self._held.clear()
            else:
                self._held.pop(id(graph), None)


CURRENT = _Current()


def _model(row: dict[str, Any]) -> ranking.Model:
    return ranking.Model.from_row({**row, "figures": json.loads(row["figures"] or "{}")})


def current(graph: db.Graph, *, fresh: bool = False) -> ranking.Model | None:
    return CURRENT.get(graph, fresh=fresh)


def models(graph: db.Graph, limit: int = KEEP_MODELS) -> list[ranking.Model]:
    return [_model(row) for row in graph.read(db.run, "ranking_model_list", limit=limit)]


def report(engine: Engine, graph: db.Graph, revision: int, scope: Any) -> dict:
    """The `ranking` question: a new model when one is due, else the newest one."""
    from service.repositories import analytics

    actual, projection = analytics._projection(engine, graph, revision, scope)
    model = current(graph, fresh=True)
    ties = projection.graph.ecount()
    retrained, reason = False, None
    if ranking.due(model, actual, ties):
        fitted = fit(graph, projection, scope)
        if fitted is None:
            reason = (f"too few ties to learn from ({ties}; at least {ranking.MIN_TIES}, with "
                      f"{ranking.MIN_POSITIVES} hidden ones among the candidates)")
        else:
            saved = graph.write(db.run_one, "ranking_model_save", revision=actual, names=list(fitted.weights),
                                weights=list(fitted.weights.values()), bias=fitted.bias,
                                figures=json.dumps(fitted.figures, separators=(",", ":")),
                                role_pairs=list(fitted.role_affinity),
                                role_affinities=list(fitted.role_affinity.values()), keep=KEEP_MODELS)
            model = replace(fitted, version=saved["version"], revision=actual, trained_at=saved["trained_at"])
            CURRENT.forget(graph)
            retrained = True
    elif model is None:
        reason = f"too few ties to learn from ({ties}; at least {ranking.MIN_TIES})"
    body: dict[str, Any] = {"basis": "learned" if model is not None else "hand-set", "retrained": retrained,
                            "model": _describe(model) if model is not None else None,
                            "features": ranking.FEATURES,
                            "computed": analytics._computed(ALGORITHM, {}, actual, scope, engine.settings.seed,
                                                            projection=projection)}
    if reason is not None:
        body["reason"] = reason + ("; the hand-set balanced weights serve" if model is None else "")
    return body


def _describe(model: ranking.Model) -> dict[str, Any]:
    return {**model.describe(), "weights": model.weights, "bias": model.bias, "figures": model.figures,
            "role_affinity": model.role_affinity}


def fit(graph: db.Graph, projection: Any, scope: Any) -> ranking.Model | None:
    """ranking.train on the members of `projection`, with co-participation and introduction feedback."""
    found = inputs(graph, projection, scope)
    feedback = [ranking.Feedback(found.by_id[row["members"][0]], found.by_id[row["members"][1]], row["accepted"],
                                 row["age_days"])
                for row in graph.read(db.run, "ranking_feedback", limit=MAX_FEEDBACK)
                if row["members"][0] in found.by_id and row["members"][1] in found.by_id]
    return ranking.train(len(found.by_id), found.edges, found.attributes, co_participation=found.together,
                         feedback=feedback, hand_set=DEFAULT_WEIGHTS["balanced"], tie_values=found.tie_values)


@dataclass
class Inputs:
    """What training reads of a network: members as vertices 0..n-1 (`by_id`), their ties, attributes,
    co-participation by vertex pair, and each tied pair's (strength, trust)."""

    by_id: dict[str, int]
    edges: list[tuple[int, int]]
    attributes: dict[str, list]
    together: dict[tuple[int, int], float]
    tie_values: dict[tuple[int, int], tuple[float, float | None]]

    def neighbourhoods(self, role_affinity: dict[str, float] | None = None) -> ranking.Neighbourhoods:
        """The whole graph, nothing hidden: what serving sees (with a model's role affinities)."""
        return ranking.Neighbourhoods(len(self.by_id), self.edges, co_participation=self.together,
                                      role_affinity=role_affinity, tie_values=self.tie_values, **self.attributes)


def inputs(graph: db.Graph, projection: Any, scope: Any) -> Inputs:
    from service.repositories import activities

    members = projection.member_vertices()
    index = {v: i for i, v in enumerate(members)}
    by_id = {projection.ids[v]: index[v] for v in members}
    edges, strengths = [], {}
    for (a, b), weight in zip(projection.edges.tolist(), projection.graph.es["weight"]):
        if a in index and b in index:
            edges.append((index[a], index[b]))
            strengths[ranking.pair(index[a], index[b])] = float(weight)
    trust = {}
    for row in graph.read(db.run, "ranking_tie_trust", as_of=scope.as_of):
        if row["a"] in by_id and row["b"] in by_id:
            trust[ranking.pair(by_id[row["a"]], by_id[row["b"]])] = row["trust"]
    tie_values = {pair: (strength, trust.get(pair)) for pair, strength in strengths.items()}
    pairs = co_participation(activities.co_participants(graph, scope.as_of, DEFAULT_SIZE_CAP), DEFAULT_SIZE_CAP)
    together = {}
    for (a, b), weight in pairs.weights.items():
        if a in by_id and b in by_id:
            together[ranking.pair(by_id[a], by_id[b])] = weight
    pick = lambda values: [values[v] for v in members]   # noqa: E731
    attributes = {"topics": pick(projection.topics), "regions": pick(projection.regions),
                  "roles": pick(projection.roles), "organizations": pick(projection.organizations),
                  "clusters": pick(projection.previous_clusters) if projection.previous_clusters
                  else [None] * len(members)}
    return Inputs(by_id, edges, attributes, together, tie_values)


_TRIGGERED: dict[int, float] = {}
_TRIGGER_LOCK = threading.Lock()
TRIGGER_SECONDS = 60.0


def train_behind(engine: Engine, graph: db.Graph, revision: int) -> bool:
    """Without a queue: puts the `ranking` question on the app's analytics thread (at most once a minute
    per process); True when it did."""
    from service.repositories import analytics

    with _TRIGGER_LOCK:
        if time.monotonic() - _TRIGGERED.get(id(graph), -TRIGGER_SECONDS) < TRIGGER_SECONDS:
            return False
        _TRIGGERED[id(graph)] = time.monotonic()
    scope = analytics.Scope.of(None)
    engine.after(lambda: analytics.compute(engine, graph, revision, "ranking", scope, {}))
    return True
