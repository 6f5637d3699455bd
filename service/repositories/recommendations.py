"""Recommendations: candidates read and ranked by Cypher at request time, explained by service.recommending.recommendations."""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
import zlib
from collections import OrderedDict
from typing import Any, Callable, Mapping

import redis

from service import db
from service.recommending import ranking as ranking_module, recommendations as scoring
from service.analytics.engine import get_engine
from service.problems import Problem
from service.repositories import analytics, not_found, ranking

log = logging.getLogger(__name__)

MAX_NEIGHBORS = 50
MAX_CANDIDATES = 100
MAX_PAIRS = ranking_module.MAX_PAIRS    # friend-of-friend pairs, as training bounds them
# The member's organizations are read with their members when they hold at most this many together (see
# recommend_member); larger ones are checked candidate by candidate.
MAX_ORGANIZATION_MEMBERS = 1000
MAX_ORGANIZATION_PATHS = 5000


class _Answers:
    """Member recommendations already computed in this process, for the graph revision and cluster
    assignment they were computed at: asked again before either moves (any write bumps the revision, an
    introduction or a member leaving discovery included), the answer is the same, so it is served from
    here. Least recently used answers go first."""

    # An answer that waits on the bridge analysis of its revision (impact unknown) is kept this long only:
    # the analysis may land before the next write, and the answers after it should carry it.
    WAITING_SECONDS = 30.0

    def __init__(self) -> None:
        self._held: OrderedDict[tuple, tuple[tuple[int, ...], float, dict[str, Any]]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple, as_of: tuple[int, ...]) -> dict[str, Any] | None:
        with self._lock:
            held = self._held.get(key)
            if held is None or held[0] != as_of:
                return None
            if "impact" in held[2]["computed"] and time.monotonic() - held[1] > self.WAITING_SECONDS:
                return None
            self._held.move_to_end(key)
            return held[2]

    def holds(self, key: tuple) -> bool:
        """Whether an answer to `key` is kept here, at whatever revision."""
        with self._lock:
            return key in self._held

    def put(self, key: tuple, as_of: tuple[int, ...], answer: dict[str, Any], entries: int) -> None:
        with self._lock:
            self._held[key] = (as_of, time.monotonic(), answer)
            self._held.move_to_end(key)
            while len(self._held) > entries:
                self._held.popitem(last=False)


ANSWERS = _Answers()


# KEYS: the answer's name, the index of its database's names by time kept; ARGV: the entry, its ttl, the most
# kept. Keeps the entry and drops the oldest beyond the bound, in one round trip, timed by the Redis server's
# clock (not each host's). The names it drops are not in KEYS: a single Redis, as the queue's own scripts want.
_KEEP_SHARED = """
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
local now = redis.call('TIME')
redis.call('ZADD', KEYS[2], now[1] + now[2] / 1000000, KEYS[1])
local over = redis.call('ZCARD', KEYS[2]) - tonumber(ARGV[3])
if over > 0 then
  local oldest = redis.call('ZPOPMIN', KEYS[2], over)
  for i = 1, #oldest, 2 do redis.call('DEL', oldest[i]) end
end
return over
"""


class _SharedAnswers:
    """The same answers in the job queue's Redis, so every API process (and instance) serves what one of
    them computed: with the answers kept per process only, each process computed every member's first
    answer itself, and those computing requests were the p99 of bench/recommend_latency.py. An entry is
    the answer, the (revision, clustering) it was computed at (checked as the process's own are) and the
    request it answers, compressed (a 14 KB answer of the bench network takes about 2.4 KB); it lasts
    SECONDS (an answer waiting on its bridge analysis, _Answers.WAITING_SECONDS), and at most
    NETWEAVE_RECOMMENDATION_SHARED_ENTRIES are kept per database, the oldest dropped first (`index` orders
    them). An entry is named by the database, the request, the model version, the weights and FORMAT, so
    instances with other weights or another answer shape never serve each other's. Redis failing costs a
    computed answer, never a request: its client waits SOCKET_SECONDS at most, the failure is logged, and
    the shared answers are left alone for PAUSE_SECONDS; an entry that does not decode is a miss."""

    PREFIX = "netweave:recommendation:"
    INDEX = "netweave:recommendations-kept:"
    FORMAT = 2                  # raise when an answer's shape or wording changes (2: roles named by their labels)
    SECONDS = 3600
    PAUSE_SECONDS = 10.0
    SOCKET_SECONDS = 0.5

    def __init__(self) -> None:
        self._paused_until = 0.0
        self._lock = threading.Lock()
        self._clients: dict[str, tuple[redis.Redis, Any]] = {}

    def client(self, url: str) -> tuple[redis.Redis, Any]:
        """This process's client of the Redis at `url` (short timeouts: a request never waits long on it)
        and its keeping script."""
        with self._lock:
            found = self._clients.get(url)
            if found is None:
                client = redis.Redis.from_url(url, socket_connect_timeout=self.SOCKET_SECONDS,
                                              socket_timeout=self.SOCKET_SECONDS)
                found = self._clients[url] = (client, client.register_script(_KEEP_SHARED))
            return found

    def paused(self) -> bool:
        return time.monotonic() < self._paused_until

    @staticmethod
    def _database(graph: db.Graph) -> str:
        return hashlib.sha256(json.dumps([graph.config.get("NEO4J_URI"),
                                          graph.config.get("NEO4J_DATABASE")]).encode()).hexdigest()[:32]

    @classmethod
    def index(cls, graph: db.Graph) -> str:
        return cls.INDEX + cls._database(graph)

    @classmethod
    def name(cls, graph: db.Graph, key: tuple, weights: dict[str, dict[str, float]]) -> str:
        # The process-local key starts with id(graph); across processes the database is what names it.
        scope = [cls.FORMAT, cls._database(graph), json.dumps(weights, sort_keys=True), *key[1:]]
        return cls.PREFIX + hashlib.sha256(json.dumps(scope, default=str).encode()).hexdigest()

    def fetch(self, client: redis.Redis, name: str) -> dict[str, Any] | None:
        """The entry kept under `name` ({as_of, answer, request}) at whatever revision; None when there is none,
        or sharing is paused, or Redis fails (which pauses it)."""
        if self.paused():
            return None
        try:
            return self.held(client, name)
        except redis.RedisError:
            self._failed("read")
            return None

    def held(self, client: redis.Redis, name: bytes | str) -> dict[str, Any] | None:
        """The entry kept under `name` ({as_of, answer, request}), None when gone or not readable."""
        raw = client.get(name)
        if raw is None:
            return None
        try:
            held = json.loads(zlib.decompress(raw))
            return held if {"as_of", "answer", "request"} <= held.keys() else None
        except (zlib.error, ValueError, AttributeError):
            log.warning("a shared recommendation answer that does not decode is ignored", exc_info=True)
            return None

    @staticmethod
    def drop(client: redis.Redis, index: str, name: bytes | str) -> None:
        """Forget the entry kept under `name`, and its place in `index`."""
        client.delete(name)
        client.zrem(index, name)

    def put(self, keeping: Any, graph: db.Graph, name: str, as_of: tuple[int, ...], answer: dict[str, Any],
            request: dict[str, Any]) -> None:
        if self.paused():
            return
        seconds = int(_Answers.WAITING_SECONDS) if "impact" in answer["computed"] else self.SECONDS
        try:
            entry = zlib.compress(json.dumps({"as_of": list(as_of), "answer": answer, "request": request},
                                             separators=(",", ":")).encode(), 1)
            keeping(keys=[name, self.index(graph)],
                    args=[entry, seconds, graph.config["NETWEAVE_RECOMMENDATION_SHARED_ENTRIES"]])
        except redis.RedisError:
            self._failed("keep")

    def _failed(self, what: str) -> None:
        self._paused_until = time.monotonic() + self.PAUSE_SECONDS
        log.warning("could not %s a shared recommendation answer; sharing paused for %.0f s", what,
                    self.PAUSE_SECONDS, exc_info=True)


SHARED_ANSWERS = _SharedAnswers()


def shares_answers(config: Mapping[str, Any]) -> bool:
    """Whether answers are shared: a job queue, and answers kept (NETWEAVE_RECOMMENDATION_CACHE_ENTRIES) to
    share (NETWEAVE_RECOMMENDATION_SHARED_ENTRIES)."""
    return bool(config.get("NETWEAVE_QUEUE_URL") and config.get("NETWEAVE_RECOMMENDATION_CACHE_ENTRIES", 0)
                and config.get("NETWEAVE_RECOMMENDATION_SHARED_ENTRIES", 0))


def _shared(graph: db.Graph) -> tuple[redis.Redis, Any] | None:
    """The Redis client (and keeping script) of the job queue when answers are shared, else None."""
    return SHARED_ANSWERS.client(graph.config["NETWEAVE_QUEUE_URL"]) if shares_answers(graph.config) else None


def _as_of(graph: db.Graph) -> tuple[int, int, int]:
    """The graph's (revision, cluster assignment, member_role wording) now: what a kept answer is checked
    against. The wording is the role vocabulary's version: a relabelled role changes the reasons' sentences
    without a write to the graph."""
    counters = graph.read_statement("recommend_revision")[0]
    return counters["revision"], counters["clustering"], counters["wording"]


def for_member(graph: db.Graph, member_id: str, *, strategy: str, limit: int, weights: dict[str, dict[str, float]],
               region: str | None = None, role: str | None = None, organization_id: str | None = None,
               exclude_organization_id: str | None = None, activity_size_cap: int = 50) -> dict[str, Any]:
    started = time.perf_counter()
    model = ranking.current(graph)
    entries = graph.config.get("NETWEAVE_RECOMMENDATION_CACHE_ENTRIES", 0)
    request = {"member_id": member_id, "strategy": strategy, "limit": limit, "region": region, "role": role,
               "organization_id": organization_id, "exclude_organization_id": exclude_organization_id,
               "activity_size_cap": activity_size_cap}
    key = (id(graph), *request.values(), model.version if model is not None else None)
    shared = _shared(graph)
    name = _SharedAnswers.name(graph, key, weights) if shared is not None else None
    # The revision is read only when an answer is kept somewhere to check against it: a member's first answer
    # (the p99 of bench/recommend_latency.py) goes straight to the statement, which reads the revision itself.
    kept_here = entries and ANSWERS.holds(key)
    kept_shared = SHARED_ANSWERS.fetch(shared[0], name) if entries and not kept_here and shared is not None else None
    if kept_here or kept_shared is not None:
        as_of = _as_of(graph)
        held = ANSWERS.get(key, as_of)
        if held is None and shared is not None:
            if kept_shared is None:     # kept here at another revision: the shared one may be newer
                kept_shared = SHARED_ANSWERS.fetch(shared[0], name)
            held = kept_shared["answer"] if kept_shared and tuple(kept_shared["as_of"]) == as_of else None
            if held is not None and "impact" not in held["computed"]:   # one waiting is not kept twice as long
                ANSWERS.put(key, as_of, held, entries)
        if held is not None:
            return {**held, "computed": {**held["computed"], "cached": True,
                                         "took_ms": round((time.perf_counter() - started) * 1000, 1)}}
    answer = _compute(graph, model=model, weights=weights, **request)
    answer["computed"]["took_ms"] = round((time.perf_counter() - started) * 1000, 1)
    if entries:
        as_of = answer["computed"].pop("_as_of")
        ANSWERS.put(key, as_of, answer, entries)
        if shared is not None:
            SHARED_ANSWERS.put(shared[1], graph, name, as_of, answer, request)
    answer["computed"].pop("_as_of", None)
    return answer


def refresh(graph: db.Graph, newest: int, revision: int, stopping: Callable[[], bool] = lambda: False) -> int:
    """Recomputes the `newest` shared answers of the graph's database (the latest kept first) that the
    graph has moved past, each as its request asked, so the members whose answers were computed most
    recently find theirs ready after a write; how many it recomputed. The analytics worker calls it once
    writes have settled at `revision` and the default reports (clusters, bridges, the ranking model) are
    stored for it. It does nothing when the graph is no longer at `revision`, and stops when it moves on,
    when `stopping()` or when sharing pauses: what it would compute next is already behind. An answer
    recomputed under another model version replaces the entry it came from."""
    shared = _shared(graph)
    if shared is None or newest <= 0:
        return 0
    client = shared[0]
    as_of, done = _as_of(graph), 0
    if as_of[0] != revision:
        return 0
    weights = graph.config["NETWEAVE_RECOMMENDATION_WEIGHTS"]
    index = _SharedAnswers.index(graph)
    for name in client.zrevrange(index, 0, newest - 1):
        if stopping() or SHARED_ANSWERS.paused():
            break
        held = SHARED_ANSWERS.held(client, name)
        if held is None or tuple(held["as_of"]) == as_of:
            continue
        try:
            answer = for_member(graph, weights=weights, **held["request"])
        except Problem as problem:
            if problem.status != 404:           # a member deleted since has no answer to keep
                raise
            SHARED_ANSWERS.drop(client, index, name)
            continue
        if answer["computed"]["model"].get("version") != held["answer"]["computed"]["model"].get("version"):
            SHARED_ANSWERS.drop(client, index, name)    # kept again under the model that ranks now
        done += 1
        if _as_of(graph) != as_of:
            break
    return done


def _compute(graph: db.Graph, member_id: str, model: ranking_module.Model | None, *, strategy: str, limit: int,
             weights: dict[str, dict[str, float]], region: str | None, role: str | None,
             organization_id: str | None, exclude_organization_id: str | None,
             activity_size_cap: int) -> dict[str, Any]:
    # One statement in one read transaction: the member, the revision and the ranked candidates. Which
    # plan applies depends on whether the member has a cluster id, so the statement gets both.
    unclustered = strategy if strategy != "bridge_silos" else "shared_interests"
    impact = strategy in ("balanced", "bridge_silos")
    plans = {name: scoring.plan(name, weights, model) for name in {strategy, unclustered}}

    def work(tx) -> tuple[dict[str, Any] | None, dict[tuple[str, str], bool]]:
        rows = db.run_plain(
            tx, "recommend_member", id=member_id, max_neighbors=MAX_NEIGHBORS, max_candidates=MAX_CANDIDATES,
            max_pairs=MAX_PAIRS, max_organization_members=MAX_ORGANIZATION_MEMBERS, region=region, role=role,
            organization_id=organization_id, exclude_organization_id=exclude_organization_id, limit=limit,
            activity_size_cap=activity_size_cap,
            clustered=plans[strategy], unclustered=plans[unclustered])
        if not rows:
            return None, {}
        return rows[0], _clusters_tied(tx, rows[0]) if impact else {}

    row, tied = graph.read(work)
    if row is None:
        raise not_found("member", member_id)
    clustered = row["member_cluster"] is not None
    effective = strategy if clustered else unclustered
    items = scoring.explain(row, plans[effective]["weights"])
    paths_known = True
    if impact:
        paths_known = _add_impact(graph, row["revision"], member_id, items, row["member_cluster"], tied)
    computed = {"strategy": strategy, "weights": plans[effective]["weights"],
                "model": _model_block(graph, model, row["revision"]),
                "clustering": "available" if clustered else "missing",
                "bounds": {"collaborators_expanded": MAX_NEIGHBORS, "candidates_per_source": MAX_CANDIDATES,
                           "friend_of_friend_pairs": MAX_PAIRS, "activity_size_cap": activity_size_cap},
                "cached": False, "_as_of": (row["revision"], row["clustering"], row["wording"])}
    if not paths_known:
        computed["impact"] = ("around_articulation_points is null until the bridge analysis has run on the "
                              "current graph (GET /v1/analytics/bridges, or the analytics worker after writes)")
    if effective != strategy:
        computed["degraded"] = ("no clustering yet (GET /v1/analytics/clusters computes it): bridge_silos "
                                "ranked as shared_interests")
    elif not clustered:
        computed["degraded"] = "no clustering yet: no bridging bonus"
    return {"items": items, "strategy": strategy, "computed": computed}


def _model_block(graph: db.Graph, model: ranking_module.Model | None, revision: int) -> dict[str, Any]:
    """`computed.model`: the learned model that ranked (its version), or why the hand-set weights did. Without
    a queue, a missing or outgrown model is trained behind the answer (NETWEAVE_RANKING_AUTO_TRAIN)."""
    if (graph.config.get("NETWEAVE_RANKING_AUTO_TRAIN") and not graph.config.get("NETWEAVE_QUEUE_URL")
            and (model is None or not model.knows_every_feature()
                 or revision - model.revision >= ranking_module.RETRAIN_MIN_CHANGES)):
        ranking.train_behind(get_engine(graph), graph, revision)
    if model is not None:
        return model.describe()
    return {"basis": "hand-set", "version": None,
            "reason": "no ranking model trained on this network yet (GET /v1/analytics/ranking trains one once it "
                      f"has {ranking_module.MIN_TIES} ties or more): the hand-set weights rank"}


def _add_impact(graph: db.Graph, revision: int, member_id: str, items: list[dict[str, Any]],
                member_cluster: str | None, tied: dict[tuple[str, str], bool]) -> bool:
    """What each suggested tie would do for the whole network: tie two clusters that have no tie yet, and
    route around articulation points (from the cached bridge analysis; False when there is none)."""
    around = analytics.cut_vertices_bypassed(graph, revision, [(member_id, item["member"]["id"]) for item in items])
    for position, item in enumerate(items):
        pair = (member_cluster, item["member"].get("cluster_id"))
        item["impact"] = {"joins_untied_clusters": bool(item["features"]["bridging"]) and not tied.get(pair, True),
                          "around_articulation_points": None if around is None else around[position]}
    return around is not None


class _ClusterTies:
    """Whether two clusters have a tie, per worker, for one graph revision and cluster assignment.

    The answer only changes with a write (a new revision) or a cluster-id write-back (which counts itself
    in the `clusters` counter), and finding that two clusters have no tie walks all of one cluster's ties:
    on the 100,000-member bench network it made bridge_silos five times slower. Answers are kept for
    the (revision, clustering) they were read at and dropped as soon as either moves.
    """

    LIMIT = 100_000

    def __init__(self) -> None:
        self._as_of: tuple[int, ...] | None = None
        self._tied: dict[tuple[str, str], bool] = {}
        self._lock = threading.Lock()

    def known(self, as_of: tuple[int, ...], pairs: set[tuple[str, str]]) -> dict[tuple[str, str], bool]:
        with self._lock:
            if as_of != self._as_of:
                return {}
            return {pair: self._tied[pair] for pair in pairs if pair in self._tied}

    def remember(self, as_of: tuple[int, ...], answers: dict[tuple[str, str], bool]) -> None:
        with self._lock:
            if as_of != self._as_of or len(self._tied) > self.LIMIT:
                self._as_of, self._tied = as_of, {}
            self._tied.update(answers)


_CLUSTER_TIES = _ClusterTies()


def _clusters_tied(tx, row: dict[str, Any]) -> dict[tuple[str, str], bool]:
    """For the bridging candidates of `row`: whether their cluster and the member's already have a tie (read
    in the same transaction as the candidates when this worker does not know yet)."""
    pairs = {(row["member_cluster"], item["candidate"]["cluster_id"]) for item in row["items"]
             if item["features"]["bridging"]}
    if not pairs:
        return {}
    as_of = (row["revision"], row["clustering"])
    tied = _CLUSTER_TIES.known(as_of, pairs)
    missing = sorted(pairs - tied.keys())
    if missing:
        answers = {tuple(r["pair"]): r["tied"] for r in db.run(tx, "recommend_clusters_tied",
                                                                 pairs=[list(p) for p in missing])}
        _CLUSTER_TIES.remember(as_of, answers)
        tied.update(answers)
    return tied


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
