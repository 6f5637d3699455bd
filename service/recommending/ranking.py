"""The learned ranking of member recommendations: one feature definition, training, and the model.

**Features.** `FEATURES` names what a candidate pair is scored on. Serving computes them in Cypher
(graph_queries/recommendations.cypher, `recommend_member`, over the graph as it is); training computes
them here (`Neighbourhoods.features`, over the analytics projection with the training's ties hidden).
tests/service/test_ranking.py checks that both give the same numbers for the same pairs. Degrees are
distinct collaborators in both: serving reads them as the analytics last wrote them back onto members
(`collaborator_count`, beside `coreness`), so between a write and the next write-back a degree (like a
core number) can be a little behind; a member without one is counted at request time.

**Training** (self-supervised, per network): a share of the ties is hidden; for members that lost one,
the candidates the service would propose (friends of friends, co-members of an organization, co-participants
of an activity) are scored on the remaining graph, and labelled 1 when the pair was a hidden tie, else 0.
Those negatives are the hard ones HeaRT asks for (mostly pairs at distance 2), not random pairs.
Introductions carry feedback: an accepted one should rank above other candidates of the member it was
suggested to, a declined one below them, weighted by recency (half-life `FEEDBACK_HALF_LIFE_DAYS`).
The model learns to rank each member's list (pairwise: a logistic regression from scikit-learn on the
differences between a positive and negatives of the same member, standardised); the scaling is folded
back into the weights, so the model is one weight per feature in the feature's own units, and Cypher
ranks with it as it ranks with the hand-set weights. Fitted pointwise (tie or not, across members)
instead, it gave hits@10 0.714 against Adamic-Adar's 0.757 on karate and 0.848 against 0.840 on Les
Miserables, where pairwise gives 0.757 and 0.860 (5 splits of 10% hidden, candidates of the training graph).

A third of the members asked about are kept out of fitting and scored: hits@10 of the model against
Adamic-Adar and the hand-set `balanced` weights on the same candidates. Those are the training figures
stored with the model.
"""

from __future__ import annotations

import math
import random
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

import numpy as np

from service.analytics.reach import coreness
from service.recommending.recommendations import jaccard

# name -> what it measures (the API's `features` block of a recommendation carries each).
FEATURES: dict[str, str] = {
    "common_neighbours": "mutual collaborators",
    "adamic_adar": "sum over mutual collaborators of 1/ln(their collaborators)",
    "resource_allocation": "sum over mutual collaborators of 1/(their collaborators)",
    "jaccard": "mutual collaborators / collaborators of either",
    "topics": "Jaccard overlap of the two members' topics",
    "shared_organizations": "organizations both are members of",
    "region": "1 when both are in the same region",
    "same_role": "1 when both have the same role",
    "role_pair": "how much more often than chance members of these two roles are tied in this network "
                 "(ln of observed over expected ties, with one added to each; from the model's training)",
    "bridging": "1 when the two are in different clusters",
    "candidate_degree": "ln(1 + the candidate's collaborators)",
    "candidate_coreness": "ln(1 + the candidate's k-core number)",
    "activities": "co-participation: 1/(n-1) per shared activity of n participants (n up to the size cap)",
    "path_strength": "mean over mutual collaborators of the weaker of the two ties' strengths (each tie 1-5, "
                     "a pair's parallel ties summed); 0 without any",
    "trust_path": "the most trusted two-step path over 5: the lower of its two ties' trust (a pair's highest "
                  "rated), the best such path through a mutual collaborator; 0 when no path has both rated",
}
NAMES: tuple[str, ...] = tuple(FEATURES)

MIN_TIES = 40              # fewer ties than this: no model, the hand-set weights serve
MIN_POSITIVES = 10         # hidden ties found among the candidates needed to fit
HIDE_SHARE = 0.10          # of the ties, hidden for training
MAX_HIDDEN = 5000          # at most this many hidden ties (a sample on larger networks)
MAX_ASKED = 2000           # members whose candidates are scored for training (over all rounds)
MAX_ROUNDS = 10            # hiding rounds on a small network
TARGET_POSITIVES = 300     # hidden ties wanted over the rounds
MAX_FRIENDS = 50           # collaborators expanded per member (as serving: MAX_NEIGHBORS)
MAX_PAIRS = 1000           # friend-of-friend pairs per member (as serving)
MAX_ORGANIZATION_MATES = 100  # co-members of each of its organizations (serving: 100 over all of them)
HELD_OUT_SHARE = 1 / 3     # of the members asked, kept out of the fit the figures come from
REGULARISATION = 1.0       # the logistic regression's C
PAIRS_PER_POSITIVE = 20    # negatives of its member each positive is compared with
FEEDBACK_WEIGHT = 3.0      # one piece of feedback counts as this many self-supervised examples when new
FEEDBACK_HALF_LIFE_DAYS = 180.0
RETRAIN_SHARE = 0.05       # changes since training (as a share of ties) that make a model due again
RETRAIN_MIN_CHANGES = 10   # and at least this many
K = 10
DEFAULT_STRENGTH = 3.0     # a tie's strength when none was given (as the API and the projection default it)


@dataclass
class Model:
    """A trained ranking: score = bias + sum(weights[f] * feature f) (a pairwise model's bias is 0: only the
    order within a member's list is learned)."""

    version: int
    revision: int
    trained_at: str
    weights: dict[str, float]
    bias: float
    figures: dict[str, Any] = field(default_factory=dict)
    role_affinity: dict[str, float] = field(default_factory=dict)   # role pair -> the role_pair feature

    def knows_every_feature(self) -> bool:
        """Whether it was trained on today's FEATURES (a model stored by an earlier version may lack some)."""
        return set(self.weights) == set(NAMES)

    def describe(self) -> dict[str, Any]:
        """The `computed.model` block of a recommendation answer."""
        return {"basis": "learned", "version": self.version, "trained_at": self.trained_at,
                "trained_on_revision": self.revision}

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> "Model":
        return cls(version=row["version"], revision=row["revision"], trained_at=str(row["trained_at"]),
                   weights=dict(zip(row["names"], row["weights"])), bias=row["bias"], figures=row["figures"],
                   role_affinity=dict(zip(row["role_pairs"] or [], row["role_affinities"] or [])))


def due(model: Model | None, revision: int, ties: int) -> bool:
    """Whether the network has changed enough since `model` was trained (or there is none, or it was trained on
    another set of features, by an earlier version) to train again."""
    if ties < MIN_TIES:
        return False
    return (model is None or not model.knows_every_feature()
            or revision - model.revision >= max(RETRAIN_MIN_CHANGES, int(RETRAIN_SHARE * ties)))


class Neighbourhoods:
    """Adjacency and member attributes of one graph (the projection's members, some ties hidden)."""

    def __init__(self, size: int, edges: Iterable[tuple[int, int]], *, topics: Sequence[Sequence[str]],
                 regions: Sequence[str | None], roles: Sequence[str | None],
                 organizations: Sequence[Sequence[str]], clusters: Sequence[str | None],
                 co_participation: dict[tuple[int, int], float], role_affinity: dict[str, float] | None = None,
                 tie_values: dict[tuple[int, int], tuple[float, float | None]] | None = None):
        self.adjacent = adjacency(size, edges)
        # (strength, trust) of each tied pair (smaller vertex first): parallel ties' strengths summed, the
        # highest trust rated on them (None: none rated); a pair not listed counts strength 3 (the default)
        self.tie_values = tie_values or {}
        self.topics = [set(t or ()) for t in topics]
        self.regions, self.roles, self.clusters = regions, roles, clusters
        self.organizations = [set(o or ()) for o in organizations]
        self.co_participation = co_participation
        self.activity_partners = adjacency(size, co_participation)    # who took part in an activity with whom
        # role pair -> affinity: the given table, else the one of this graph's own ties
        self.role_affinity = role_affinity if role_affinity is not None else role_affinities(self.roles, self.adjacent)
        self._coreness: list[int] | None = None
        members_of: dict[str, list[int]] = defaultdict(list)
        for v, orgs in enumerate(self.organizations):
            for org in orgs:
                members_of[org].append(v)
        self.members_of = members_of

    @property
    def coreness(self) -> list[int]:
        if self._coreness is None:
            import igraph as ig

            self._coreness = coreness(ig.Graph(n=len(self.adjacent), edges=[
                (a, b) for a, near in enumerate(self.adjacent) for b in near if a < b]))
        return self._coreness

    def candidates(self, u: int) -> set[int]:
        """Whom the service would propose to `u`: friends of friends (bounded as serving bounds them),
        co-members of its organizations, co-participants of its activities; never `u` or a collaborator."""
        found: set[int] = set()
        pairs = 0
        for f in list(self.adjacent[u])[:MAX_FRIENDS]:
            for c in self.adjacent[f]:
                if pairs >= MAX_PAIRS:
                    break
                found.add(c)
                pairs += 1
        for org in self.organizations[u]:
            found.update(self.members_of[org][:MAX_ORGANIZATION_MATES])
        found.update(self.activity_partners[u])
        found.discard(u)
        return found - self.adjacent[u]

    def features(self, u: int, v: int) -> dict[str, float]:
        """FEATURES of the pair (u asking, v the candidate), as recommend_member computes them."""
        near_u, near_v = self.adjacent[u], self.adjacent[v]
        mutual = near_u & near_v
        degrees = [len(self.adjacent[w]) for w in mutual]
        common = len(mutual)
        union = len(near_u) + len(near_v) - common
        same = lambda a, b: 1.0 if a is not None and a == b else 0.0   # noqa: E731
        return {
            "common_neighbours": float(common),
            "adamic_adar": sum(1.0 / math.log(d) for d in degrees if d > 1),
            "resource_allocation": sum(1.0 / d for d in degrees if d > 0),
            "jaccard": common / union if union else 0.0,
            "topics": jaccard(self.topics[u], self.topics[v]),
            "shared_organizations": float(len(self.organizations[u] & self.organizations[v])),
            "region": same(self.regions[u], self.regions[v]),
            "same_role": same(self.roles[u], self.roles[v]),
            "role_pair": self.role_affinity.get(role_pair(self.roles[u], self.roles[v]), 0.0),
            "bridging": 1.0 if (self.clusters[u] is not None and self.clusters[v] is not None
                                and self.clusters[u] != self.clusters[v]) else 0.0,
            "candidate_degree": math.log1p(len(near_v)),
            "candidate_coreness": math.log1p(self.coreness[v]) if self.coreness else 0.0,
            "activities": self.co_participation.get(pair(u, v), 0.0),
            **self._paths(u, v, mutual),
        }

    def _paths(self, u: int, v: int, mutual: set[int]) -> dict[str, float]:
        """path_strength and trust_path of the two-step paths u-w-v (as recommend_member computes them)."""
        strength, trust = 0.0, 0.0
        for w in mutual:
            (s1, t1), (s2, t2) = self._tie(u, w), self._tie(w, v)
            strength += min(s1, s2)
            if t1 is not None and t2 is not None:
                trust = max(trust, min(t1, t2) / 5.0)
        return {"path_strength": strength / len(mutual) if mutual else 0.0, "trust_path": trust}

    def _tie(self, a: int, b: int) -> tuple[float, float | None]:
        return self.tie_values.get(pair(a, b), (DEFAULT_STRENGTH, None))


def pair(a: int, b: int) -> tuple[int, int]:
    """The key of an undirected vertex pair: the smaller vertex first."""
    return (a, b) if a < b else (b, a)


def role_pair(a: str | None, b: str | None) -> str | None:
    """The key of a pair of roles, in either order (as recommend_member builds it); None without both."""
    if a is None or b is None:
        return None
    return f"{a}|{b}" if a <= b else f"{b}|{a}"


def role_affinities(roles: Sequence[str | None], adjacent: Sequence[set[int]]) -> dict[str, float]:
    """For each pair of roles: ln((ties between them + 1) / (ties expected if ties ignored roles + 1)), the
    expectation being the pairs of members with those roles times the graph's density."""
    counts: dict[str, int] = defaultdict(int)
    for role in roles:
        if role is not None:
            counts[role] += 1
    n = len(roles)
    ties = sum(len(near) for near in adjacent) // 2
    if n < 2 or not ties:
        return {}
    density = ties / (n * (n - 1) / 2)
    observed: dict[str, int] = defaultdict(int)
    for u, near in enumerate(adjacent):
        for v in near:
            if u < v:
                key = role_pair(roles[u], roles[v])
                if key is not None:
                    observed[key] += 1
    found = {}
    names = sorted(counts)
    for i, a in enumerate(names):
        for b in names[i:]:
            pairs = counts[a] * (counts[a] - 1) / 2 if a == b else counts[a] * counts[b]
            found[f"{a}|{b}"] = round(math.log((observed[f"{a}|{b}"] + 1) / (pairs * density + 1)), 6)
    return found


def adjacency(size: int, pairs: Iterable[tuple[int, int]]) -> list[set[int]]:
    """Each vertex's neighbours among 0..size-1, from undirected pairs (loops dropped)."""
    near: list[set[int]] = [set() for _ in range(size)]
    for a, b in pairs:
        if a != b:
            near[a].add(b)
            near[b].add(a)
    return near


def vector(features: dict[str, float]) -> list[float]:
    return [float(features.get(name, 0.0)) for name in NAMES]


@dataclass(frozen=True)
class Feedback:
    """An introduction with an answer: the two members' vertices, accepted or not, and its age in days."""

    a: int
    b: int
    accepted: bool
    age_days: float


@dataclass
class Examples:
    """Training rows: features (x), labels (y), weights (w) and the asking member's group (g: round x size +
    vertex; a negative id per answered introduction), the hidden ties of each group, and the groups kept out
    of the fit the figures come from."""

    x: np.ndarray
    y: np.ndarray
    w: np.ndarray
    g: np.ndarray
    truth: dict[int, set[int]]
    held_out: set[int]
    about: dict[str, Any]

    @property
    def fit(self) -> np.ndarray:
        return np.array([group not in self.held_out for group in self.g.tolist()], dtype=bool)


def examples(size: int, edges: Sequence[tuple[int, int]], attributes: dict[str, Sequence], *,
             co_participation: dict[tuple[int, int], float], feedback: Sequence[Feedback] = (),
             seed: int = 42, tie_values: dict[tuple[int, int], tuple[float, float | None]] | None = None
             ) -> Examples | None:
    """The self-supervised and feedback examples of the graph (vertices 0..size-1, `edges`), or None when it
    has too few ties. `attributes`: topics, regions, roles, organizations, clusters, each a list by vertex."""
    ties = sorted({pair(a, b) for a, b in edges if a != b})
    if len(ties) < MIN_TIES:
        return None
    rng = random.Random(seed)
    accepted = {pair(f.a, f.b) for f in feedback if f.accepted} & set(ties)
    share = min(MAX_HIDDEN, max(1, int(len(ties) * HIDE_SHARE)))
    # A small network hides its share several times over (other ties each round) to have enough examples.
    rounds = max(1, min(MAX_ROUNDS, math.ceil(TARGET_POSITIVES / share)))
    rows, labels, weights, groups = [], [], [], []
    truth: dict[int, set[int]] = defaultdict(set)
    graph = None
    for round_ in range(rounds):
        hidden = set(rng.sample(ties, share))
        hidden_all = hidden | accepted
        graph = Neighbourhoods(size, [tie for tie in ties if tie not in hidden_all], co_participation=co_participation,
                               tie_values=tie_values, **attributes)
        for a, b in hidden:
            truth[round_ * size + a].add(b)
            truth[round_ * size + b].add(a)
        asked = sorted({a for tie in hidden for a in tie})
        rng.shuffle(asked)
        for u in asked[:max(1, MAX_ASKED // rounds)]:
            group = round_ * size + u
            for v in sorted(graph.candidates(u)):
                rows.append(vector(graph.features(u, v)))
                labels.append(1 if v in truth[group] else 0)
                weights.append(1.0)
                groups.append(group)
    # Feedback: each answered introduction is compared with up to PAIRS_PER_POSITIVE other candidates of the
    # member it was suggested to, on the last round's graph (accepted introductions' ties hidden in every
    # round): an accepted one should rank above them, a declined one below. Each is a group of its own
    # (negative ids), weighted by recency.
    for number, item in enumerate(feedback):
        group = -(number + 1)
        weight = FEEDBACK_WEIGHT * 0.5 ** (max(0.0, item.age_days) / FEEDBACK_HALF_LIFE_DAYS)
        others = sorted(graph.candidates(item.a) - {item.b})
        for v in [item.b, *rng.sample(others, min(PAIRS_PER_POSITIVE, len(others)))]:
            rows.append(vector(graph.features(item.a, v)))
            labels.append(int(item.accepted) if v == item.b else int(not item.accepted))
            weights.append(weight)
            groups.append(group)
    if not rows:
        return None
    asked_groups = sorted(group for group in set(groups) if group >= 0)
    random.Random(seed + 1).shuffle(asked_groups)
    held_out = set(asked_groups[:int(len(asked_groups) * HELD_OUT_SHARE)])
    about = {"ties": len(ties), "hidden_per_round": share, "rounds": rounds, "members_asked": len(asked_groups),
             "feedback": {"accepted": sum(1 for f in feedback if f.accepted),
                          "declined": sum(1 for f in feedback if not f.accepted)}}
    return Examples(np.array(rows, dtype=float), np.array(labels), np.array(weights), np.array(groups),
                    dict(truth), held_out, about)


def fit_pairs(x: np.ndarray, y: np.ndarray, w: np.ndarray, g: np.ndarray, seed: int = 42) -> dict[str, float]:
    """Weights that order each group's candidates (learning to rank, pairwise): a logistic regression without
    intercept on the differences between a positive and up to PAIRS_PER_POSITIVE negatives of its group,
    on standardised features, folded back into each feature's own units. A member's list is ranked
    against itself, so the model learns what puts the right candidate first, not how likely a tie is
    overall."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    scaler = StandardScaler().fit(x)
    scale = np.where(scaler.scale_ > 0, scaler.scale_, 1.0)
    z = (x - scaler.mean_) / scale
    rng = np.random.default_rng(seed)
    rows_of: dict[int, list[int]] = defaultdict(list)
    for i, group in enumerate(g.tolist()):
        rows_of[group].append(i)
    differences, weights = [], []
    for group in sorted(rows_of):
        rows = np.array(rows_of[group])
        positives, negatives = rows[y[rows] == 1], rows[y[rows] == 0]
        for p in positives:
            if not len(negatives):
                break
            picked = rng.choice(negatives, size=min(PAIRS_PER_POSITIVE, len(negatives)), replace=False)
            differences.append(z[p] - z[picked])
            weights.append(w[picked])
    d, dw = np.vstack(differences), np.concatenate(weights)
    model = LogisticRegression(C=REGULARISATION, fit_intercept=False, max_iter=3000)
    model.fit(np.vstack([d, -d]), np.r_[np.ones(len(d)), np.zeros(len(d))], sample_weight=np.r_[dw, dw])
    return {name: round(float(c), 6) for name, c in zip(NAMES, model.coef_[0] / scale)}


def train(size: int, edges: Sequence[tuple[int, int]], attributes: dict[str, Sequence], *,
          co_participation: dict[tuple[int, int], float], feedback: Sequence[Feedback] = (), seed: int = 42,
          hand_set: dict[str, float] | None = None,
          tie_values: dict[tuple[int, int], tuple[float, float | None]] | None = None) -> Model | None:
    """The model learned from the graph (version 0, revision -1 until stored), or None when it has too few
    ties or too few hidden ties turn up among the candidates. The figures come from a fit without the
    held-out members; the model returned is then fitted on every example. Its role affinities are those of
    every tie."""
    found = examples(size, edges, attributes, co_participation=co_participation, feedback=feedback, seed=seed,
                     tie_values=tie_values)
    if found is None:
        return None
    fit = found.fit
    supervised = found.g >= 0
    if int(found.y[fit & supervised].sum()) < MIN_POSITIVES:
        return None
    checked = fit_pairs(found.x[fit], found.y[fit], found.w[fit], found.g[fit], seed)
    learned = fit_pairs(found.x, found.y, found.w, found.g, seed)
    figures = {**found.about, "examples": len(found.y), "positives": int(found.y[supervised].sum()),
               "negatives": "candidates the service proposes that were not hidden ties (mostly at distance 2)",
               "held_out": _held_out_figures(found.x, found.y, found.g, found.truth, found.held_out, checked,
                                             hand_set)}
    return Model(0, -1, "", learned, 0.0, figures, role_affinities(attributes["roles"], adjacency(size, edges)))


def _held_out_figures(x: np.ndarray, y: np.ndarray, groups: np.ndarray, truth: dict[int, set[int]],
                      held_out: set[int], learned: dict[str, float],
                      hand_set: dict[str, float] | None) -> dict[str, Any]:
    """hits@10 (the share of held-out members' hidden ties found in their top 10) by the model, by
    Adamic-Adar and by the hand-set weights, each ranking the same candidates."""
    rankers = {"model": np.array([learned[n] for n in NAMES]),
               "adamic_adar": np.array([1.0 if n == "adamic_adar" else 0.0 for n in NAMES])}
    if hand_set:
        rankers["hand_set"] = np.array([hand_set.get(n, 0.0) for n in NAMES])
    rows_of: dict[int, list[int]] = defaultdict(list)
    for i, group in enumerate(groups.tolist()):
        if group in held_out:
            rows_of[group].append(i)
    hits = dict.fromkeys(rankers, 0)
    for rows in rows_of.values():
        block, labels = x[rows], y[rows]
        for name, weight in rankers.items():
            # Ties broken by row order (candidates are in vertex order): the same for every ranker.
            top = np.argsort(-(block @ weight), kind="stable")[:K]
            hits[name] += int(labels[top].sum())
    hidden = sum(len(truth[u]) for u in held_out)
    return {"members": len(held_out), "hidden_ties": hidden,
            "hits_at_10": {name: round(count / hidden, 4) if hidden else None for name, count in hits.items()}}

