"""Analytics: reads the projection, runs the engine's algorithms through its cache, describes the results
with member objects, writes derived cluster ids, betweenness and coreness back onto members, keeps health
snapshots."""

from __future__ import annotations

import bisect
import json
import time
import uuid
from dataclasses import dataclass, replace
from datetime import date, datetime, timezone
from typing import Any, Callable, Iterable

import neo4j
from neo4j import ManagedTransaction

import graph_queries
from schemas.common import ATTRIBUTE_NAME
from service import db
from service.analytics import bridges as bridges_module, clusters as clusters_module, health as health_module, live
from service.analytics import alerting, asking, queue as analytics_queue, reach as reach_module
from service.analytics import activities as activities_module, segments as segments_module
from service.analytics.queue import canonical
from service.analytics.engine import Engine, get_engine
from service.analytics.projection import Projection, from_rows
from service.analytics.store import SharedStore
from service.problems import Problem, field_error
from service.repositories import analytics_state, attributes, fetch_page, not_found

DEFAULT_RESOLUTION = 1.0
MAX_LISTED = 100         # articulation points and bridge ties listed at most (totals are always given)
TOP_MEMBERS = 5
DOMINANT = 3
WRITE_BATCH = 10_000


@dataclass(frozen=True)
class Scope:
    """Which analytics graph: collaborations active on `as_of`, organizations as vertices or not, with
    `activity_cap` (not None) co-participation ties from activities of at most that many participants, and
    with `source` (not None) only the collaborations of that source (one check-in's: `survey:<id>`)."""

    as_of: date
    organizations: bool
    activity_cap: int | None = None
    source: str | None = None

    @classmethod
    def of(cls, as_of: date | None, include: Iterable[str] = (), activity_size_cap: int | None = None,
           source: str | None = None) -> "Scope":
        include = set(include)
        cap = (activity_size_cap or activities_module.DEFAULT_SIZE_CAP) if "activities" in include else None
        return cls(as_of or today(), "organizations" in include, cap, source)

    @property
    def is_current(self) -> bool:
        """The members-only graph of today: the one whose results are written back onto members."""
        return (self.as_of == today() and not self.organizations and self.activity_cap is None
                and self.source is None)

    @property
    def collaborations_only(self) -> "Scope":
        """The same graph without co-participation ties: what is read, patched and kept on disk."""
        return replace(self, activity_cap=None)


def today() -> date:
    return datetime.now(timezone.utc).date()


# --- the projection ------------------------------------------------------------------------------

PROJECTION_CHUNK = 1_000   # party rows per record of analytics_projection (see the statement)


def read_projection(graph: db.Graph, scope: Scope) -> tuple[int, Projection]:
    """(revision, projection) read in one transaction, so the revision is the projection's."""
    query = graph_queries.get("analytics_projection").text
    params = {"as_of": scope.as_of, "organizations": scope.organizations, "chunk": PROJECTION_CHUNK,
              "source": scope.source}

    def work(tx: ManagedTransaction) -> tuple[int, str | None, dict, list]:
        revision = db.run_one(tx, "change_revision")["revision"]
        mark = db.run_one(tx, "analytics_cluster_mark")["mark"]
        # The parties' internal node ids, which the rows' ties name them by, hold only inside this transaction.
        rows = [party for record in tx.run(query, params) for party in record[0]]
        return revision, mark, analytics_state.provenance(tx, revision), rows

    graph.ensure_bootstrapped()
    started = time.perf_counter()
    # fetch_size=-1 streams the whole result at once: 15-20% faster than batches of 1000 on 100k rows.
    # The statement's id() is deprecated as a lasting key only; its notification is not worth a warning.
    with graph.session(default_access_mode=neo4j.READ_ACCESS, fetch_size=-1,
                       notifications_disabled_classifications=[*db.QUIET_NOTIFICATIONS, "DEPRECATION"]) as session:
        revision, mark, known, rows = session.execute_read(work)
    projection = from_rows(rows, by_node=True)
    projection.cluster_mark, projection.provenance = mark, known
    projection.origin = {"read": "whole", "changes": None, "seconds": round(time.perf_counter() - started, 4)}
    return revision, projection


def _projection(engine: Engine, graph: db.Graph, revision: int, scope: Scope) -> tuple[int, Projection]:
    """The projection at `revision`: patched from the newest one the engine holds for the scope, or else
    from the scope's snapshot on disk, when the change feed allows it (live.advance); else read whole. With
    co-participation, the collaborations' projection so obtained plus the activities' ties."""
    if scope.activity_cap is not None:
        return _with_activities(engine, graph, revision, scope)
    if scope.source is not None:
        # One source's ties: read whole, under a key of its own (never a base a live patch starts from,
        # never on disk); a check-in's graph is small and asked for rarely.
        return engine.memo(("by-source", revision, scope), lambda: read_projection(graph, scope), projection=True)

    def compute() -> tuple[int, Projection]:
        # Snapshots serve today's scopes (the ones fresh workers are asked for), and only with live patching.
        stored = engine.snapshots if engine.settings.live_projection and scope.as_of == today() else None
        base = engine.newest_projection(scope) if engine.settings.live_projection else None
        from_disk = base is None and stored is not None
        if from_disk:
            base = stored.load(graph, scope.as_of, scope.organizations)
        result = None
        if base is not None:
            result = advance(graph, base[0], base[1], scope.as_of, scope.organizations)
            if result is not None and from_disk:
                _from_snapshot(result[1], base[1])
        if result is None:
            result = read_projection(graph, scope)
        if stored is not None:
            # Saved on the analytics thread once the answer is out, behind the cluster write-back that
            # computing it queued (so the file holds the ids written): the outer after() runs when the
            # answer is done, and queues the save behind everything queued by then.
            engine.after(lambda: engine.after(
                lambda: stored.offer(graph, scope.as_of, scope.organizations, *result)))
        return result

    return engine.memo(("projection", revision, scope), compute, projection=True)


def advance(graph: db.Graph, base_revision: int, base: Projection, as_of: date,
            organizations: bool) -> tuple[int, Projection] | None:
    """(revision, projection) now, patched from `base` read at `base_revision` with what the change feed
    says changed since (service/analytics/live.py); None when a full read is needed."""
    delta = analytics_state.delta(graph, base_revision, base.cluster_mark, as_of, organizations, live.MAX_ENTRIES,
                                  lambda entries: live.touched_parties(entries, organizations))
    return live.advance(base_revision, base, delta, organizations)


def _with_activities(engine: Engine, graph: db.Graph, revision: int, scope: Scope) -> tuple[int, Projection]:
    """Kept apart from the collaborations' projections (another key), so it is never a base a patch starts
    from: a patch re-reads collaborations only."""
    from service.repositories import activities

    def compute() -> tuple[int, Projection]:
        actual, base = _projection(engine, graph, revision, scope.collaborations_only)
        rows = activities.co_participants(graph, scope.as_of, scope.activity_cap)
        found = activities_module.co_participation(rows, scope.activity_cap)
        return actual, activities_module.with_co_participation(base, found)

    return engine.memo(("with-activities", revision, scope), compute, projection=True)


def _from_snapshot(projection: Projection, snapshot: Projection) -> None:
    """`computed.projection` of a projection brought up to date from a snapshot: the load and the patch."""
    patch = projection.origin if projection is not snapshot else None
    projection.origin = {"read": "snapshot", "changes": patch["changes"] if patch else 0,
                         "seconds": round(snapshot.origin["seconds"] + (patch["seconds"] if patch else 0), 4)}


# --- analyses (cached per revision) ----------------------------------------------------------------

@dataclass(frozen=True)
class ClusterAnalysis:
    revision: int
    projection: Projection
    clustering: clusters_module.Clustering
    grouped: list[list[int]]
    ids: list[str]
    ties: clusters_module.TieCounts


@dataclass(frozen=True)
class BridgeAnalysis:
    revision: int
    projection: Projection
    betweenness: bridges_module.Betweenness
    articulation: dict[int, int]
    bridge_ties: list[bridges_module.BridgeTie]
    tree: Any = None  # the block-cut tree, for questions about paths around articulation points


def cluster_analysis(engine: Engine, graph: db.Graph, revision: int, scope: Scope,
                     resolution: float) -> ClusterAnalysis:
    def compute() -> ClusterAnalysis:
        actual, projection = _projection(engine, graph, revision, scope)
        clustering = clusters_module.leiden(projection, resolution=resolution, seed=engine.settings.seed)
        grouped = clusters_module.groups(clustering.membership)
        ids = clusters_module.match_ids(projection, grouped,
                                        salt=f"{actual}:{scope.as_of}:{scope.organizations}:{resolution}")
        if scope.is_current and resolution == DEFAULT_RESOLUTION:
            engine.after(lambda: _write_cluster_ids(graph, projection, grouped, ids))
        return ClusterAnalysis(actual, projection, clustering, grouped, ids,
                               clusters_module.tie_counts(projection, clustering.membership))

    return engine.memo(("clusters", revision, scope, resolution), compute)


def held_analyses(engine: Engine, scope: Scope, graph: db.Graph | None = None) -> Callable[
        [int], tuple[ClusterAnalysis | None, BridgeAnalysis | None, bool]]:
    """For a revision: the cluster and bridge analyses of `scope` the engine holds (None when it holds
    none; never computes, unless given the `graph` to compute them from), and whether the values written
    back onto the nodes are the scope's own (today's whole graph). What an export reads its analytics
    columns from."""

    def held(revision: int) -> tuple[ClusterAnalysis | None, BridgeAnalysis | None, bool]:
        if graph is not None:
            return (cluster_analysis(engine, graph, revision, scope, DEFAULT_RESOLUTION),
                    bridge_analysis(engine, graph, revision, scope), scope.is_current)
        return (engine.peek(("clusters", revision, scope, DEFAULT_RESOLUTION)),
                engine.peek(("bridges", revision, scope)), scope.is_current)

    return held


def bridge_analysis(engine: Engine, graph: db.Graph, revision: int, scope: Scope) -> BridgeAnalysis:
    def compute() -> BridgeAnalysis:
        actual, projection = _projection(engine, graph, revision, scope)
        settings = engine.settings
        scores = bridges_module.betweenness(projection, exact_max=settings.exact_betweenness_max,
                                            kadabra_max=settings.kadabra_max,
                                            epsilon=settings.betweenness_epsilon, delta=settings.betweenness_delta,
                                            samples=settings.betweenness_samples,
                                            budget=settings.betweenness_budget, seed=settings.seed)
        tree = bridges_module.block_cut_tree(projection)
        if scope.is_current:
            engine.after(lambda: _write_betweenness(graph, projection, scores.scores))
            engine.after(lambda: _write_cut_structure(graph, actual, projection, tree))
        articulation = {vertex: tree.cut_off(vertex) for vertex in tree.cut_node} if tree else {}
        return BridgeAnalysis(actual, projection, scores, articulation, bridges_module.bridge_ties(projection, tree),
                              tree)

    return engine.memo(("bridges", revision, scope), compute)


def core_numbers(engine: Engine, graph: db.Graph, revision: int, scope: Scope) -> tuple[Projection, list[int]]:
    """(projection, each vertex's k-core number); written back onto members for today's members-only graph."""

    def compute() -> tuple[Projection, list[int]]:
        _, projection = _projection(engine, graph, revision, scope)
        numbers = reach_module.coreness(projection.graph)
        if scope.is_current:
            engine.after(lambda: _write_coreness(graph, projection, numbers))
        return projection, numbers

    return engine.memo(("coreness", revision, scope), compute)


def reach_analysis(engine: Engine, graph: db.Graph, revision: int, scope: Scope) -> tuple[int, Projection,
                                                                                         reach_module.Reach]:
    def compute() -> tuple[int, Projection, reach_module.Reach]:
        actual, projection = _projection(engine, graph, revision, scope)
        return actual, projection, reach_module.two_step_reach(projection.graph)

    return engine.memo(("reach", revision, scope), compute)


CUT_STRUCTURE_KEY = "cut-structure"   # the stored block-cut forest of today's members-only graph


def cut_vertices_bypassed(graph: db.Graph, revision: int,
                          pairs: list[tuple[str, str]]) -> list[list[str] | None] | None:
    """For each (member, member) pair: the articulation points a new tie between them would route around.

    Answers only from the cut structure the bridge analysis stored for `revision` (None otherwise): every
    web worker reads the same one, and a recommendation request never does whole-graph work.
    """
    structure = _cut_structure(graph, revision)
    if structure is None:
        return None
    return [structure.between(u, v) for u, v in pairs]


def _cut_structure(graph: db.Graph, revision: int) -> bridges_module.CutStructure | None:
    held = _CUT_STRUCTURES.get("held")
    if held is not None and held[0] == revision:
        return held[1]
    row = graph.read(db.run_one, "analytics_report_get", key=CUT_STRUCTURE_KEY, known=None)
    if row is None or row["revision"] != revision:
        return None
    structure = bridges_module.CutStructure.from_json(json.loads(row["body"]))
    _CUT_STRUCTURES["held"] = (revision, structure)    # one per process: the newest asked for
    return structure


_CUT_STRUCTURES: dict[str, tuple[int, bridges_module.CutStructure]] = {}


# --- write-back (derived data: no version bump, no change-feed entry) -----------------------------
# It runs on the analytics thread after the answer is cached (engine.after), in batched transactions.

def _write_cluster_ids(graph: db.Graph, projection: Projection, grouped: list[list[int]], ids: list[str]) -> None:
    """Only members whose cluster id changed are written. Each batch counts itself in the `clusters` counter;
    `projection` (the base the next live patch starts from) then holds the ids written, under the counter's
    value when no other write-back came in between (else under none, so the next patch reads them again)."""
    previous = projection.previous_clusters
    written = list(previous)
    for c, vertices in enumerate(grouped):
        for v in vertices:
            if projection.kinds[v] == "member":
                written[v] = ids[c]
    rows = [{"id": projection.ids[v], "cluster_id": written[v]} for v in range(projection.size)
            if written[v] != previous[v]]
    generations = [result[0]["generation"] for result in _write_batches(graph, "analytics_write_cluster_ids", rows)]
    mark = projection.cluster_mark
    if generations:
        alone = isinstance(mark, int) and generations == list(range(mark + 1, mark + 1 + len(generations)))
        mark = generations[-1] if alone else None
    projection.previous_clusters, projection.cluster_mark = written, mark


def _write_betweenness(graph: db.Graph, projection: Projection, scores: list[float]) -> None:
    rows = [{"id": projection.ids[v], "betweenness": scores[v]} for v in projection.member_vertices()]
    _write_batches(graph, "analytics_write_betweenness", rows)


def _write_cut_structure(graph: db.Graph, revision: int, projection: Projection, tree: Any) -> None:
    """Stores the block-cut forest of today's graph for the web tier (an empty one when no vertex is a cut
    vertex), with the revision it describes."""
    if tree is None:    # one node per component, every member with a tie in its component's node
        membership = projection.graph.connected_components().membership
        count = max(membership, default=-1) + 1
        structure = bridges_module.CutStructure([-1] * count, [0] * count, list(range(count)),
                                                {projection.ids[v]: membership[v] for v in projection.member_vertices()
                                                 if projection.graph.degree(v) > 0}, {})
    else:
        structure = tree.structure(projection.ids)
    body = structure.to_json()
    graph.write(db.run_one, "analytics_report_put", key=CUT_STRUCTURE_KEY, kind="cut_structure",
                revision=revision, body=json.dumps(body, separators=(",", ":")))


def _write_coreness(graph: db.Graph, projection: Projection, numbers: list[int]) -> None:
    degrees = projection.graph.degree()
    rows = [{"id": projection.ids[v], "coreness": numbers[v], "collaborators": degrees[v]}
            for v in projection.member_vertices()]
    _write_batches(graph, "analytics_write_coreness", rows)


def _write_batches(graph: db.Graph, query: str, rows: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    return [graph.write(db.run, query, rows=rows[start:start + WRITE_BATCH])
            for start in range(0, len(rows), WRITE_BATCH)]


# --- reports (what the endpoints answer) -----------------------------------------------------------

def bridges(graph: db.Graph, *, as_of: date | None = None, include: Iterable[str] = (), limit: int = 10,
            min_cut_off: int = bridges_module.DEFAULT_MIN_CUT_OFF, activity_size_cap: int | None = None,
            source: str | None = None) -> dict:
    return _answer(graph, "bridges", Scope.of(as_of, include, activity_size_cap, source),
                   {"limit": limit, "min_cut_off": min_cut_off})


def clusters(graph: db.Graph, *, as_of: date | None = None, include: Iterable[str] = (),
             resolution: float = DEFAULT_RESOLUTION, limit: int = 20, activity_size_cap: int | None = None,
             source: str | None = None) -> dict:
    return _answer(graph, "clusters", Scope.of(as_of, include, activity_size_cap, source),
                   {"resolution": resolution, "limit": limit})


def ranking(graph: db.Graph) -> dict:
    """The ranking model of member recommendations: trained now when the network has changed enough since
    the last one (service/repositories/ranking.py)."""
    return _answer(graph, "ranking", Scope.of(None), {})


def member_filters(organization_id: str | None = None, region: str | None = None, role: str | None = None,
                   topic: str | None = None) -> dict:
    """Which members a whole-network answer is about, as its question holds them (topics are stored
    lower-case)."""
    return {"organization_id": organization_id, "region": region, "role": role,
            "topic": topic.lower() if topic else None}


def health(graph: db.Graph, *, as_of: date | None = None, organization_id: str | None = None,
           region: str | None = None, role: str | None = None, topic: str | None = None,
           include: Iterable[str] = (), activity_size_cap: int | None = None, source: str | None = None) -> dict:
    filters = member_filters(organization_id, region, role, topic)
    scope = Scope.of(as_of, [name for name in include if name == "activities"], activity_size_cap, source)
    return _answer(graph, "health", scope, {"filters": filters})


# The questions the default reports answer, as the API's defaults ask them: what `netweave worker` computes
# on its own after writes (service/analytics/worker.py), so that an analyst's GET finds them ready.
DEFAULT_QUESTIONS = (("bridges", {"limit": 10, "min_cut_off": bridges_module.DEFAULT_MIN_CUT_OFF}),
                     ("clusters", {"resolution": DEFAULT_RESOLUTION, "limit": 20}),
                     ("health", {"filters": member_filters()}),
                     ("layout", {"filters": member_filters(), "view": "auto"}),
                     ("ranking", {}))


def question_args(question: str, scope: Scope, params: dict[str, Any]) -> tuple:
    """What identifies a question's report (its store key, without the revision): plain values only, so
    that the web tier and the worker derive the same key."""
    args = (question, scope.as_of.isoformat(), scope.organizations, canonical(params))
    # Only a question with co-participation or one source says so: the other questions keep the keys they had.
    if scope.activity_cap is not None:
        args = (*args, ("activities", scope.activity_cap))
    return args if scope.source is None else (*args, ("source", scope.source))


def compute(engine: Engine, graph: db.Graph, revision: int, question: str, scope: Scope,
            params: dict[str, Any]) -> dict:
    """A question's report at `revision` (or the revision the projection was read at, when later). A default
    report is compared with the previous one for network alerts, on either path: the worker's jobs and the
    web tier's own computation without a queue."""
    report = _report(engine, graph, revision, question, scope, params)
    if question in alerting.QUESTIONS and scope.is_current and (question, params) in DEFAULT_QUESTIONS:
        observed = _bridges_as_alerts_read(engine, graph, revision, scope, report) if question == "bridges" else report
        alerting.observe(graph, question, observed, lambda ids: member_ties(engine, graph, revision, scope, ids))
    return report


def member_ties(engine: Engine, graph: db.Graph, revision: int, scope: Scope, ids: list[str]) -> dict[str, int | None]:
    """Each member's number of collaborators in the projection at `revision` (None: no such member)."""
    projection = _projection(engine, graph, revision, scope)[1]
    return {member_id: projection.graph.degree(projection.index[member_id]) if member_id in projection.index
            else None for member_id in ids}


def _report(engine: Engine, graph: db.Graph, revision: int, question: str, scope: Scope,
            params: dict[str, Any]) -> dict:
    if question == "bridges":
        # A job enqueued before min_cut_off existed lists every one, as its answers did then.
        return _bridges_report(engine, graph, revision, scope, params["limit"], params.get("min_cut_off", 1))
    if question == "clusters":
        return _clusters_report(engine, graph, revision, scope, params["resolution"], params["limit"])
    if question == "health":
        return _health_report(engine, graph, revision, scope, params["filters"])
    if question == "segments":
        return _segments_report(engine, graph, revision, scope, Lens(**params["lens"]), params["min_size"],
                                params["filters"], params.get("bins"))
    if question == "cluster-members":
        return _cluster_members_report(engine, graph, revision, scope, params["cluster_id"], params["resolution"])
    if question == "reach":
        return _reach_report(engine, graph, revision, scope, params["sort"])
    if question == "ranking":
        from service.repositories import ranking    # it builds on this module's projections
        return ranking.report(engine, graph, revision, scope)
    if question in ("layout", "picture"):
        from service.repositories import layout   # it builds on this module's analyses
        if question == "layout":
            return layout.layout_report(engine, graph, revision, scope, params["filters"], params["view"])
        return layout.picture_report(engine, graph, revision, scope, params["filters"], params["cluster_id"],
                                     params["member_id"], params["depth"], params["view"], params["kind"],
                                     params["width"])
    raise ValueError(f"unknown analytics question {question!r}")


def compute_job(engine: Engine, graph: db.Graph, job: dict[str, Any]) -> dict:
    """The report a queued job asks for (a job as service/analytics/asking.py sends it)."""
    scope = Scope(date.fromisoformat(job["as_of"]), bool(job["organizations"]), job.get("activity_cap"),
                  job.get("source"))
    return compute(engine, graph, job["revision"], job["question"], scope, job["params"])


def job_of(question: str, scope: Scope, params: dict[str, Any]) -> dict[str, Any]:
    job = {"question": question, "as_of": scope.as_of.isoformat(), "organizations": scope.organizations,
           "params": params}
    if scope.activity_cap is not None:
        job["activity_cap"] = scope.activity_cap
    return job if scope.source is None else {**job, "source": scope.source}


def queue_of(graph: db.Graph) -> analytics_queue.Queue | None:
    """The process's sending end of the job queue, None when no queue is configured (no worker: the web
    tier computes itself)."""
    url = graph.config.get("NETWEAVE_QUEUE_URL")
    if not url:
        return None
    settings = get_engine(graph).settings
    return analytics_queue.for_url(url, heartbeat_seconds=settings.queue_heartbeat_seconds,
                                   maintenance_chance=settings.queue_maintenance_chance,
                                   time_limit_seconds=settings.run_timeout)


def _answer(graph: db.Graph, question: str, scope: Scope, params: dict[str, Any]) -> dict:
    engine = get_engine(graph)
    args = question_args(question, scope, params)
    revision = graph.read(db.run_one, "change_revision")["revision"]
    store = SharedStore(graph, engine.settings.run_timeout)
    queue = queue_of(graph)
    if queue is not None:
        return asking.ask(store, queue, engine.settings, revision, args, job_of(question, scope, params),
                          retry_after=graph.config["NETWEAVE_RETRY_AFTER_SECONDS"])
    # No queue configured: computed here, on the app's analytics thread, after the client's bookmark too.
    return engine.answer((revision, *args), args, question,
                         db.carrying(lambda: compute(engine, graph, revision, question, scope, params)),
                         store=store)


def _bridges_report(engine: Engine, graph: db.Graph, revision: int, scope: Scope, limit: int,
                    min_cut_off: int) -> dict:
    analysis = bridge_analysis(engine, graph, revision, scope)
    clusters = cluster_analysis(engine, graph, revision, scope, DEFAULT_RESOLUTION)
    projection, scores, membership = analysis.projection, analysis.betweenness.scores, clusters.clustering.membership
    brokers = sorted((v for v in projection.member_vertices() if scores[v] > 0),
                     key=lambda v: (-scores[v], projection.ids[v]))[:limit]
    points = _ranked_articulation_points(analysis, membership)
    ties = _ranked_bridge_ties(analysis, membership)
    listed_points = [point for point in points if point[1] >= min_cut_off]
    listed_ties = [tie for tie in ties if tie[0].cut_off >= min_cut_off]
    ends = {v for tie, _ in listed_ties[:MAX_LISTED] for v in (tie.source, tie.target)}
    members = members_by_ids(graph, [projection.ids[v] for v in (*brokers, *(p[0] for p in listed_points[:MAX_LISTED]),
                                                                 *ends) if projection.kinds[v] == "member"])
    names = organization_names(graph, [projection.ids[v] for v in ends if projection.kinds[v] != "member"])
    return {
        "brokers": [{"member": members[projection.ids[v]], "betweenness": scores[v],
                     "clusters_reached": bridges_module.clusters_reached(projection, membership, v)}
                    for v in brokers if projection.ids[v] in members],
        "articulation_points": [{"member": members[projection.ids[v]], "cut_off": cut_off,
                                 "clusters_joined": len(joined), "cluster_ids": [clusters.ids[c] for c in joined]}
                                for v, cut_off, joined in listed_points[:MAX_LISTED] if projection.ids[v] in members],
        "articulation_points_total": len(points),
        "articulation_points_matching": len(listed_points),
        "bridge_ties": [_bridge_tie(projection, tie, joined, clusters.ids, members, names)
                        for tie, joined in listed_ties[:MAX_LISTED]],
        "bridge_ties_total": len(ties),
        "bridge_ties_matching": len(listed_ties),
        "pendant_ties_total": sum(tie.pendant for tie, _ in ties),
        "computed": _computed(
            f"betweenness: {_betweenness_method(engine.settings, analysis.betweenness)}; articulation points "
            "and bridge ties: biconnected components, members cut off from the block-cut tree; "
            "clusters_reached and clusters_joined: Leiden (modularity, resolution 1)",
            {"as_of": scope.as_of.isoformat(), **_scope_parameters(scope), "limit": limit,
             "min_cut_off": min_cut_off},
            analysis.revision, scope, engine.settings.seed, exact=analysis.betweenness.exact,
            sample_size=analysis.betweenness.sample_size, projection=analysis.projection),
    }


def _ranked_articulation_points(analysis: BridgeAnalysis, membership: list[int]) -> list[tuple[int, int, list[int]]]:
    """(vertex, cut_off, clusters joined) of every member articulation point, the most clusters joined
    first, then the most members cut off, then by id."""
    projection = analysis.projection
    points = [(v, cut_off, bridges_module.clusters_joined(projection, membership, v))
              for v, cut_off in analysis.articulation.items() if projection.kinds[v] == "member"]
    return sorted(points, key=lambda point: (-len(point[2]), -point[1], projection.ids[point[0]]))


def _ranked_bridge_ties(analysis: BridgeAnalysis,
                        membership: list[int]) -> list[tuple[bridges_module.BridgeTie, list[int]]]:
    """(tie, clusters joined: its ends' clusters) of every bridge tie, ranked as articulation points are."""
    ids = analysis.projection.ids
    ties = [(tie, sorted({membership[tie.source], membership[tie.target]})) for tie in analysis.bridge_ties]
    return sorted(ties, key=lambda item: (-len(item[1]), -item[0].cut_off, ids[item[0].source], ids[item[0].target]))


def _bridge_tie(projection: Projection, tie: bridges_module.BridgeTie, joined: list[int], cluster_ids: list[str],
                members: dict[str, dict], organizations: dict[str, str]) -> dict:
    def end(v: int) -> dict:
        party_id, kind = projection.ids[v], projection.kinds[v]
        name = (members.get(party_id) or {}).get("name") if kind == "member" else organizations.get(party_id)
        return {"id": party_id, "type": kind, "name": name}

    return {"source_id": projection.ids[tie.source], "target_id": projection.ids[tie.target],
            "source": end(tie.source), "target": end(tie.target), "cut_off": tie.cut_off, "pendant": tie.pendant,
            "clusters_joined": len(joined), "cluster_ids": [cluster_ids[c] for c in joined]}


def _bridges_as_alerts_read(engine: Engine, graph: db.Graph, revision: int, scope: Scope, report: dict) -> dict:
    """The bridges report with its articulation points as alerting.py reads them: the most members cut off
    first, none left out by min_cut_off, so that an unlisted one cuts off at most as many as the last listed."""
    analysis = bridge_analysis(engine, graph, revision, scope)
    projection = analysis.projection
    cut = sorted((v for v in analysis.articulation if projection.kinds[v] == "member"),
                 key=lambda v: (-analysis.articulation[v], projection.ids[v]))
    members = members_by_ids(graph, [projection.ids[v] for v in cut[:MAX_LISTED]])
    return {**report, "articulation_points_total": len(cut),
            "articulation_points": [{"member": members[projection.ids[v]], "cut_off": analysis.articulation[v]}
                                    for v in cut[:MAX_LISTED] if projection.ids[v] in members]}


def _betweenness_method(settings, measured: bridges_module.Betweenness) -> str:
    """How the betweenness was obtained, with its bound (service/analytics/bridges.py)."""
    if measured.method == "kadabra":
        return (f"KADABRA adaptive shortest-path sampling (NetworKit), every score within "
                f"{settings.betweenness_epsilon / 2:g} of the exact one with probability "
                f"{1 - settings.betweenness_delta:g}; sample_size: paths sampled")
    if measured.method == "sources":
        bound = bridges_module.sources_bound(len(measured.scores), measured.sample_size, settings.betweenness_delta)
        return (f"Brandes from uniformly sampled sources, scaled by n / sources (unbiased), every score within "
                f"{bound:.3g} of the exact one with probability {1 - settings.betweenness_delta:g}; "
                "sample_size: sources")
    return "Brandes on hop distance, exact, normalized"


def _clusters_report(engine: Engine, graph: db.Graph, revision: int, scope: Scope, resolution: float,
                     limit: int) -> dict:
    analysis = cluster_analysis(engine, graph, revision, scope, resolution)
    shown = range(min(limit, len(analysis.grouped)))
    tops = {c: clusters_module.top_by_degree(analysis.projection, analysis.grouped[c], TOP_MEMBERS) for c in shown}
    members = members_by_ids(graph, [analysis.projection.ids[v] for c in shown for v in tops[c]])
    organizations = {c: clusters_module.dominant([analysis.projection.organizations[v]
                                                  for v in analysis.grouped[c]], DOMINANT) for c in shown}
    names = organization_names(graph, [org for pairs in organizations.values() for org, _ in pairs])
    named = cluster_names(engine, graph, revision, scope, resolution)
    return {
        "modularity": analysis.clustering.modularity,
        "clusters_total": len(analysis.grouped),
        "clusters": [_cluster_summary(analysis, c, [members[analysis.projection.ids[v]] for v in tops[c]
                                                    if analysis.projection.ids[v] in members],
                                      [{"id": org, "name": names.get(org), "members": count}
                                       for org, count in organizations[c]], named[c]) for c in shown],
        "computed": _computed("Leiden (igraph), modularity objective, on ties weighted by summed strength; "
                              "ids matched by overlap with the previous result",
                              {"as_of": scope.as_of.isoformat(), **_scope_parameters(scope),
                               "resolution": resolution, "limit": limit},
                              analysis.revision, scope, engine.settings.seed, projection=analysis.projection),
    }


def cluster_names(engine: Engine, graph: db.Graph, revision: int, scope: Scope,
                  resolution: float = DEFAULT_RESOLUTION) -> list[tuple[str, list[dict]]]:
    """Every cluster's readable name and the basis it was made from, in cluster order (clusters.py's
    module docstring says how); computed once per clustering."""
    def compute() -> list[tuple[str, list[dict]]]:
        analysis = cluster_analysis(engine, graph, revision, scope, resolution)
        projection = analysis.projection
        found = []
        for vertices in analysis.grouped:
            members = [v for v in vertices if projection.kinds[v] == "member"]
            size = len(members)
            parts = {kind: clusters_module.leading([getattr(projection, column)[v] for v in members], size)
                     for kind, column in (("organization", "organizations"), ("region", "regions"),
                                          ("topic", "topics"))}
            top = clusters_module.top_by_degree(projection, vertices, 1)
            found.append((size, parts, projection.ids[top[0]] if top else None))
        org_names = organization_names(graph, [parts["organization"][0] for _, parts, _ in found
                                               if parts["organization"] and parts["organization"][2] >= clusters_module.MAJORITY])
        member_ids = [top for size, parts, top in found if top is not None]
        member_names = {row["id"]: row["name"] for row in graph.read(
            lambda tx: db.run(tx, "layout_member_names", ids=member_ids))} if member_ids else {}
        names, bases = [], []
        for size, parts, top in found:
            def part(kind: str) -> clusters_module.NamePart | None:
                if parts[kind] is None:
                    return None
                value, count, share = parts[kind]
                label = org_names.get(value, value) if kind == "organization" else value
                return clusters_module.NamePart(kind, value, label, count, share)
            member = clusters_module.NamePart("member", top, member_names.get(top) or top, 1,
                                              1 / max(size, 1)) if top is not None else None
            name, basis = clusters_module.cluster_name(part("organization"), part("region"), part("topic"), member)
            names.append(name)
            bases.append([item.as_dict() for item in basis])
        return list(zip(clusters_module.numbered(names), bases))

    return engine.memo(("cluster-names", revision, scope, resolution), compute)


def _cluster_summary(analysis: ClusterAnalysis, c: int, top_members: list[dict], organizations: list[dict],
                     named: tuple[str, list[dict]]) -> dict:
    vertices, projection = analysis.grouped[c], analysis.projection
    internal, external = int(analysis.ties.internal[c]), int(analysis.ties.external[c])
    return {
        "id": analysis.ids[c], "name": named[0], "name_basis": named[1], "size": len(vertices),
        "density": clusters_module.density(len(vertices), internal),
        "internal_ties": internal, "external_ties": external,
        "ei_index": clusters_module.ei_index(external, internal),
        "top_members": top_members, "organizations": organizations,
        "topics": [{"topic": t, "members": n} for t, n in
                   clusters_module.dominant([projection.topics[v] for v in vertices], TOP_MEMBERS)],
        "regions": [{"region": r, "members": n} for r, n in
                    clusters_module.dominant([projection.regions[v] for v in vertices], DOMINANT)],
    }


def cluster_members(graph: db.Graph, cluster_id: str, *, as_of: date | None = None, include: Iterable[str] = (),
                    resolution: float = DEFAULT_RESOLUTION, limit: int = 20,
                    after: list[str] | None = None, activity_size_cap: int | None = None) -> dict:
    """One page of a cluster's members, by (name, id); 404 when the clustering has no such cluster. Which
    members a cluster holds is an analytics question like the others (computed by the worker with a queue);
    the page is read here."""
    report = _answer(graph, "cluster-members", Scope.of(as_of, include, activity_size_cap),
                     {"cluster_id": cluster_id, "resolution": resolution})
    refused(report)
    rows = fetch_page(graph, "analytics_members_page", limit, after, ids=report["ids"])
    return {"id": cluster_id, "size": report["size"], "rows": rows, "computed": report["computed"]}


def _cluster_members_report(engine: Engine, graph: db.Graph, revision: int, scope: Scope, cluster_id: str,
                            resolution: float) -> dict:
    analysis = cluster_analysis(engine, graph, revision, scope, resolution)
    computed = _computed("Leiden (igraph), modularity objective",
                         {"as_of": scope.as_of.isoformat(), **_scope_parameters(scope), "resolution": resolution},
                         analysis.revision, scope, engine.settings.seed, projection=analysis.projection)
    if cluster_id not in analysis.ids:
        return refusal(not_found("cluster", cluster_id), computed)
    c = analysis.ids.index(cluster_id)
    return {"size": len(analysis.grouped[c]), "computed": computed,
            "ids": [analysis.projection.ids[v] for v in analysis.grouped[c]
                    if analysis.projection.kinds[v] == "member"]}


def refusal(problem: Problem, computed: dict) -> dict:
    """A question's answer that is a problem (a cluster or member that does not exist, a part too large to
    draw), stored like any report so that every web worker refuses alike; `refused` raises it."""
    return {"problem": {"status": problem.status, "detail": problem.detail, "slug": problem.slug,
                        "errors": problem.errors}, "computed": computed}


def refused(report: dict) -> None:
    if "problem" in report:
        raise Problem(**report["problem"])


def _health_report(engine: Engine, graph: db.Graph, revision: int, scope: Scope, filters: dict) -> dict:
    actual, projection = _projection(engine, graph, revision, scope)
    if scope.is_current:
        core_numbers(engine, graph, revision, scope)    # the whole network's, written back onto members
    part = projection.subset(_matching(projection, filters)) if any(filters.values()) else projection
    settings = engine.settings
    metrics, sampled = health_module.metrics(part, health_module.Sampling(settings.path_samples, settings.seed,
                                                                          DEFAULT_RESOLUTION))
    path = sampled["average_shortest_path"]
    return {
        "scope": {**filters, **({"source": scope.source} if scope.source is not None else {})}, "metrics": metrics,
        "computed": _computed("igraph: components, transitivity, local clustering, coreness (kcore and "
                              "core_periphery: the main core against the other members), Leiden modularity "
                              "(resolution 1, weighted); average_shortest_path by breadth-first search",
                              {"as_of": scope.as_of.isoformat(), **filters,
                               **(_scope_parameters(scope) if scope.activity_cap is not None
                                  or scope.source is not None else {})},
                              actual, scope, settings.seed,
                              exact=path["exact"], sample_size=path["sample_size"], projection=projection),
    }


def _matching(projection: Projection, filters: dict) -> list[int]:
    """Member vertices that pass every given filter (organization: affiliated on the date)."""
    org, region, role = filters["organization_id"], filters["region"], filters["role"]
    topic = filters.get("topic")
    return [v for v in projection.member_vertices()
            if (org is None or org in projection.organizations[v])
            and (region is None or projection.regions[v] == region)
            and (role is None or projection.roles[v] == role)
            and (topic is None or topic in projection.topics[v])]


def _include(scope: Scope) -> list[str]:
    return ["organizations"] * scope.organizations + ["activities"] * (scope.activity_cap is not None)


def _scope_parameters(scope: Scope) -> dict:
    """`include` (and the activity size cap with activities), as a result's computed.parameters show them."""
    cap = {} if scope.activity_cap is None else {"activity_size_cap": scope.activity_cap}
    return {"include": _include(scope), **cap, **({} if scope.source is None else {"source": scope.source})}


COLLABORATION_TIES = {"derived_from": ["collaborations"],
                      "description": "collaborations active on as_of; parallel ones merged with summed strength",
                      "activities": None}


def _computed(algorithm: str, parameters: dict, revision: int, scope: Scope, seed: int, *, exact: bool = True,
              sample_size: int | None = None, projection: Projection | None = None) -> dict:
    return {"algorithm": algorithm, "parameters": parameters, "seed": seed, "exact": exact,
            "projection": projection.origin if projection is not None else None,
            "sample_size": sample_size, "revision": revision, "as_of": scope.as_of, "seconds": None,
            "cached": False, "stale": False, "run_id": None,
            "ties": projection.ties if projection is not None and projection.ties else COLLABORATION_TIES}


def members_by_ids(graph: db.Graph, ids: list[str]) -> dict[str, dict]:
    if not ids:
        return {}
    rows = graph.read(lambda tx: db.run(tx, "analytics_members_by_ids", ids=list(dict.fromkeys(ids))))
    return {row["member"]["id"]: row["member"] for row in rows}


def organization_names(graph: db.Graph, ids: list[str]) -> dict[str, str]:
    if not ids:
        return {}
    rows = graph.read(lambda tx: db.run(tx, "analytics_organization_names", ids=list(dict.fromkeys(ids))))
    return {row["id"]: row["name"] for row in rows}


def run_status(graph: db.Graph, run_id: str) -> dict:
    """A run of this worker, else one another worker recorded in the shared store."""
    run = get_engine(graph).run(run_id)
    if run is not None:
        return {"id": run.id, "kind": run.kind, "status": run.status, "started_at": run.started_at,
                "finished_at": run.finished_at, "error": run.error}
    shared = SharedStore(graph, get_engine(graph).settings.run_timeout).run(run_id)
    if shared is None:
        raise not_found("analytics run", run_id)
    return shared


# --- segments (equity lenses) ----------------------------------------------------------------------

ATTRIBUTE_PREFIX = "attributes."
ATTRIBUTE_KEY_PREFIX = "attr."                          # a member's value lives under 'attr.' + name
NUMERIC_TYPES = ("integer", "number")
SEGMENT_TYPES = ("string", "enum", "boolean", "date", *NUMERIC_TYPES)
PRIMARY_ORGANIZATION = ("each member counts once, in its primary organization: the longest-standing of its "
                        "affiliations active on the date (earliest since, an affiliation without since counting "
                        "as the earliest; then the organization's name and id); members with none are unknown")


@dataclass(frozen=True)
class Lens:
    """What members are segmented by: `region`, `organization`, `role`, or a member attribute of a type."""

    by: str
    attribute: str | None = None
    type: str | None = None

    @property
    def numeric(self) -> bool:
        return self.type in NUMERIC_TYPES

    @property
    def groupable(self) -> bool:
        """Whether many distinct values are grouped into ranges (numbers) or years (dates)."""
        return self.numeric or self.type == "date"

    @property
    def assignment(self) -> dict:
        if self.by == "organization":
            return {"rule": "primary_organization", "description": PRIMARY_ORGANIZATION}
        what = f"attribute {self.attribute} ({self.type})" if self.attribute else self.by
        return {"rule": "value", "description": f"each member counts once, by its {what}; members without a "
                                                "value (or with one not of the attribute's type) are unknown"}


def lens(graph: db.Graph, by: str, *, sees_pii: bool) -> Lens:
    """The lens `by` names; a member attribute must be defined, hold one value per member, and, when it is
    personal data, be asked for by a caller who may see personal data."""
    if not by.startswith(ATTRIBUTE_PREFIX):
        return Lens(by)
    name = by[len(ATTRIBUTE_PREFIX):]
    if not ATTRIBUTE_NAME.fullmatch(name):
        raise field_error("by", "an attribute name is a lower-case letter, then up to 39 lower-case letters, "
                                "digits or underscores", location="query")
    row = graph.read(db.run_one, "segments_attribute_definition", name=name)
    if row is None:
        raise field_error("by", f"no member attribute named {name} is defined", location="query")
    if row["type"] not in SEGMENT_TYPES:
        raise field_error("by", f"attribute {name} is of type {row['type']}; segments need one value per member "
                                f"(types {', '.join(SEGMENT_TYPES)})", location="query")
    if row["pii"] and not sees_pii:
        raise attributes.personal_data_refused("by", name, "segmenting by")
    return Lens(by, name, row["type"])


def segments(graph: db.Graph, *, by: str, min_size: int | None = None, bins: int | None = None,
             as_of: date | None = None, organization_id: str | None = None, region: str | None = None,
             role: str | None = None, topic: str | None = None, sees_pii: bool = False) -> dict:
    smallest = get_engine(graph).settings.segment_min_size
    if min_size is None:
        min_size = smallest
    elif min_size < smallest:
        raise field_error("min_size", f"must be at least {smallest}, the smallest segment this deployment shows "
                                      "(NETWEAVE_SEGMENT_MIN_SIZE)", location="query")
    chosen, scope = lens(graph, by, sees_pii=sees_pii), Scope.of(as_of)
    if bins is not None and not chosen.groupable:
        raise field_error("bins", "only for a member attribute of type integer, number or date",
                          location="query")
    filters = member_filters(organization_id, region, role, topic)
    return _answer(graph, "segments", scope, {"lens": {"by": chosen.by, "attribute": chosen.attribute,
                                                        "type": chosen.type},
                                               "min_size": min_size, "filters": filters,
                                               "bins": bins if chosen.groupable else None})


def _segments_report(engine: Engine, graph: db.Graph, revision: int, scope: Scope, chosen: Lens, min_size: int,
                     filters: dict, bins: int | None) -> dict:
    actual, projection = _projection(engine, graph, revision, scope)
    part = projection.subset(_matching(projection, filters)) if any(filters.values()) else projection
    values, labels = _lens_values(graph, part, chosen, scope)
    grouped, grouping = (segments_module.grouped(values, max_bins=bins, min_size=min_size,
                                                 dates=chosen.type == "date")
                         if bins else (values, segments_module.BY_VALUE))
    cut = segments_module.segment(grouped, min_size, labels)
    edges = part.edges
    matrix = segments_module.tie_matrix(edges, cut.codes, cut.count)
    return {
        "by": chosen.by,
        "attribute": {"name": chosen.attribute, "type": chosen.type} if chosen.attribute else None,
        "assignment": chosen.assignment,
        "members": part.size, "ties": int(edges.shape[0]),
        "min_size": min_size,
        "grouping": grouping.as_dict(),
        "pooled": {"segments": cut.pooled_values, "members": cut.pooled_members},
        "unknown_members": sum(s.size for s in cut.segments if s.kind == segments_module.UNKNOWN),
        "segments": segments_module.summaries(matrix, cut),
        "matrix": matrix.tolist(),
        "reach": segments_module.reach_matrix(edges, cut.codes, cut.count).tolist(),
        "assortativity": segments_module.assortativity(part.graph, values, chosen.numeric),
        "assortativity_kind": "numeric" if chosen.numeric else "categorical",
        "scope": filters,
        "computed": _computed(
            f"segments by value, or, for numbers and dates of more than {segments_module.MAX_VALUE_SEGMENTS} "
            "distinct values, by calendar year (dates) and quantile ranges of equal values kept together; segments "
            "of fewer than min_size members pooled into other; assortativity: Newman's coefficient (igraph, "
            "unweighted, over ties between members with a value, on the values before grouping and pooling); "
            "reach: breadth-first, two steps",
            {"as_of": scope.as_of.isoformat(), "by": chosen.by, "min_size": min_size, "bins": bins, **filters},
            actual, scope, engine.settings.seed, projection=projection),
    }


def _lens_values(graph: db.Graph, part: Projection, chosen: Lens, scope: Scope) -> tuple[list, dict]:
    """(each vertex's value or None, display labels by value) for the lens."""
    if chosen.by == "region":
        return list(part.regions), {}
    if chosen.by == "role":
        return list(part.roles), {}
    if chosen.by == "organization":
        rows = graph.read(db.run_one, "segments_primary_organizations", as_of=scope.as_of)["rows"]
        primary = {member: organization for member, organization, _ in rows}
        return [primary.get(member) for member in part.ids], {organization: name for _, organization, name in rows}
    pairs = graph.read(db.run_one, "segments_attribute_values",
                       attribute_key=ATTRIBUTE_KEY_PREFIX + chosen.attribute)["pairs"]
    stored = {member: _typed(chosen.type, value) for member, value in pairs}
    return [stored.get(member) for member in part.ids], {}


def _typed(kind: str, value: Any) -> Any:
    """A stored attribute value as the lens reads it: None when it is not of the attribute's type."""
    if kind in NUMERIC_TYPES:
        return value if isinstance(value, (int, float)) and not isinstance(value, bool) else None
    if kind == "boolean":
        return value if isinstance(value, bool) else None
    if kind == "date":
        return value.isoformat() if isinstance(value, date) else None
    return value if isinstance(value, str) else None


# --- reach and cores (each member's) -------------------------------------------------------------------

def reach_page(graph: db.Graph, *, as_of: date | None = None, sort: str = "reach", limit: int = 20,
               after: list[str] | None = None) -> dict:
    """One page of members by `sort` (highest first, then id) with their reach, reach efficiency and core
    number. Every member's figures, in page order, are an analytics question (computed by the worker with a
    queue, kept decoded in this process between pages); the page is sliced here."""
    report = _answer(graph, "reach", Scope.of(as_of), {"sort": sort})
    order = report["order"]
    start = 0
    if after is not None:
        try:
            start = bisect.bisect_right(order, (-float(after[0]), after[1]), key=tuple)
        except ValueError:
            raise field_error("cursor", "not a cursor this list returned", location="query") from None
    shown = range(start, min(start + limit + 1, len(order)))
    members = members_by_ids(graph, [order[i][1] for i in shown])
    figures = report["figures"]
    rows = [{"item": {"member": members[order[i][1]], **{name: figures[name][i] for name in _REACH_FIGURES}},
             "sort_key": [repr(-order[i][0]), order[i][1]]} for i in shown if order[i][1] in members]
    return {"rows": rows, "members_total": len(order), "sort": sort, "computed": report["computed"]}


_REACH_FIGURES = ("degree", "two_step_reach", "reach", "reach_efficiency", "coreness")


def _reach_report(engine: Engine, graph: db.Graph, revision: int, scope: Scope, sort: str) -> dict:
    """Every member as [-sort key, id] in page order, with its figures in lists of the same order."""
    actual, projection, found = reach_analysis(engine, graph, revision, scope)
    _, numbers = core_numbers(engine, graph, revision, scope)
    order = _ranked(projection, found, numbers, sort)
    index = projection.index
    described = [{**found.of(index[member]), "coreness": numbers[index[member]]} for _, member in order]
    return {"order": [[key, member] for key, member in order],
            "figures": {name: [one[name] for one in described] for name in _REACH_FIGURES},
            "computed": _computed("two-step reach: igraph neighborhood_size (order 2) over n - 1 members; reach "
                                  "efficiency: reach / degree; coreness: igraph coreness (k-core number)",
                                  {"as_of": scope.as_of.isoformat(), "sort": sort}, actual, scope,
                                  engine.settings.seed, projection=projection)}


def _ranked(projection: Projection, found: reach_module.Reach, numbers: list[int], sort: str) -> list[tuple]:
    """(-key, member id) of every member, in page order; a member without ties ranks last by efficiency."""
    if sort == "coreness":
        key = [float(number) for number in numbers]
    elif sort == "reach_efficiency":
        key = [-1.0 if value != value else float(value) for value in found.efficiency.tolist()]
    else:
        key = found.share.tolist()
    return sorted((-key[v], projection.ids[v]) for v in projection.member_vertices())


# --- health snapshots ------------------------------------------------------------------------------

def create_snapshot(graph: db.Graph, label: str, *, as_of: date | None = None, **filters: Any) -> dict:
    report = health(graph, as_of=as_of, **filters)

    def work(tx) -> dict:
        # Returns the snapshot itself: an Idempotency-Key stores the response rendered from what the write returns.
        row = db.run_one(tx, "analytics_snapshot_create", id=str(uuid.uuid4()), label=label,
                         as_of=report["computed"]["as_of"], revision=report["computed"]["revision"],
                         scope=json.dumps(report["scope"]), metrics=json.dumps(report["metrics"]))
        return _snapshot(row["snapshot"])

    return graph.write(work)


def get_snapshot(graph: db.Graph, snapshot_id: str) -> dict:
    row = graph.read(lambda tx: db.run_one(tx, "analytics_snapshot_get", id=snapshot_id))
    if row is None:
        raise not_found("health snapshot", snapshot_id)
    return _snapshot(row["snapshot"])


def snapshots_page(graph: db.Graph, *, limit: int, after: list[str] | None) -> list[dict]:
    rows = fetch_page(graph, "analytics_snapshot_list", limit, after)
    return [{**row, "item": _snapshot(row["item"])} for row in rows]


def _snapshot(stored: dict) -> dict:
    return {**stored, "scope": json.loads(stored["scope"]), "metrics": json.loads(stored["metrics"])}


def compare(graph: db.Graph, start: str | date, end: str | date, **filters: Any) -> dict:
    """What changed between two snapshots (ids) or dates (health as of each, with `filters`)."""
    before, after = _side(graph, start, filters), _side(graph, end, filters)
    old, new = flatten(before["metrics"]), flatten(after["metrics"])
    changes = [{"metric": name, "from": old.get(name), "to": new.get(name), "delta": _delta(old.get(name),
                                                                                            new.get(name))}
               for name in sorted(set(old) | set(new))]
    return {"from": before, "to": after, "changes": changes}


def _side(graph: db.Graph, point: str | date, filters: dict) -> dict:
    if isinstance(point, date):
        report = health(graph, as_of=point, **filters)
        return {"snapshot_id": None, "label": None, "as_of": report["computed"]["as_of"],
                "revision": report["computed"]["revision"], "scope": report["scope"], "metrics": report["metrics"]}
    snapshot = get_snapshot(graph, point)
    return {"snapshot_id": snapshot["id"], "label": snapshot["label"], "as_of": snapshot["as_of"],
            "revision": snapshot["revision"], "scope": snapshot["scope"], "metrics": snapshot["metrics"]}


def flatten(metrics: dict, prefix: str = "") -> dict[str, Any]:
    """Nested metrics as dotted names: {"ei_index": {"region": x}} -> {"ei_index.region": x}."""
    flat: dict[str, Any] = {}
    for name, value in metrics.items():
        if isinstance(value, dict):
            flat.update(flatten(value, f"{prefix}{name}."))
        else:
            flat[f"{prefix}{name}"] = value
    return flat


def _delta(old: Any, new: Any) -> float | None:
    if isinstance(old, (int, float)) and isinstance(new, (int, float)):
        return new - old
    return None
