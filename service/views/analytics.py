"""Analytics: brokers and bridges, clusters, network health and its snapshots, segments, each member's reach
and core, background runs."""

from __future__ import annotations

from flask import current_app, url_for
from flask.views import MethodView

from schemas.analytics import (BridgesArgsSchema, BridgesSchema, ClusterMembersArgsSchema, ClusterMembersSchema,
                               ClustersArgsSchema, ClustersSchema, CompareArgsSchema, CompareSchema,
                               HealthQueryArgsSchema, HealthSchema, RankingArgsSchema, RankingSchema,
                               ReachArgsSchema, ReachPageSchema, RunSchema,
                               SegmentsArgsSchema, SegmentsSchema, SnapshotCreateSchema, SnapshotPageSchema,
                               SnapshotSchema)
from schemas.common import PageArgsSchema
from service.analytics.engine import Pending
from service.web.api import BY_CREATION, BY_NAME, Blueprint, decode_cursor, errors, page, render
from service.web.auth import caller_sees_pii, requires
from service.web import get_graph
from service.problems import Problem
from service.web.idempotency import idempotent
from service.repositories import analytics

blp = Blueprint("analytics", __name__, url_prefix="/v1/analytics",
                description="Network analytics: brokers and bridges, clusters, health over time. Results are "
                            "cached per graph revision; long computations run in the background.")

_PENDING = {"description": "the computation runs in the background and no earlier result exists: poll the run",
            "schema": RunSchema, "success": True}


@blp.errorhandler(Pending)
def answer_pending(pending: Pending):
    """202 with the run to poll (and its Location): for every blueprint whose views may raise Pending."""
    try:
        run = analytics.run_status(get_graph(), pending.run.id)
    except Problem:     # another web worker queued it and has not recorded the run yet
        run = {"id": pending.run.id, "kind": pending.run.kind, "status": pending.run.status,
               "started_at": None, "finished_at": None, "error": None}
    body = RunSchema().dump(run)
    return body, 202, {"Location": url_for("analytics.Run", run_id=pending.run.id)}


def _include(args: dict) -> list[str]:
    """The `include` names; with activities, the activity size cap defaults to the deployment's."""
    include = args.pop("include", None)
    names = include.split(",") if include else []
    if "activities" in names:
        args.setdefault("activity_size_cap", current_app.config["NETWEAVE_ACTIVITY_SIZE_CAP"])
    return names


@blp.route("/bridges")
class Bridges(MethodView):
    @requires("analytics")
    @blp.arguments(BridgesArgsSchema, location="query")
    @blp.response(200, BridgesSchema)
    @blp.alt_response(202, **_PENDING)
    def get(self, args):
        """Brokers, articulation points and bridge ties"""
        return analytics.bridges(get_graph(), include=_include(args), **args)


@blp.route("/clusters")
class Clusters(MethodView):
    @requires("analytics")
    @blp.arguments(ClustersArgsSchema, location="query")
    @blp.response(200, ClustersSchema)
    @blp.alt_response(202, **_PENDING)
    def get(self, args):
        """Clusters (Leiden communities) with their silo scores"""
        return analytics.clusters(get_graph(), include=_include(args), **args)


@blp.route("/clusters/<cluster_id>")
class Cluster(MethodView):
    @requires("analytics")
    @blp.arguments(ClusterMembersArgsSchema, location="query")
    @blp.response(200, ClusterMembersSchema)
    @blp.alt_response(202, **_PENDING)
    @errors(404)
    def get(self, args, cluster_id):
        """List the members of a cluster, paged by cursor"""
        limit, after = args.pop("limit"), decode_cursor(args.pop("cursor", None), BY_NAME)
        found = analytics.cluster_members(get_graph(), cluster_id, include=_include(args), limit=limit,
                                          after=after, **args)
        return {**found, **page(found.pop("rows"), limit)}


@blp.route("/health")
class Health(MethodView):
    @requires("analytics")
    @blp.arguments(HealthQueryArgsSchema, location="query")
    @blp.response(200, HealthSchema)
    @blp.alt_response(202, **_PENDING)
    def get(self, args):
        """Network health metrics, for the network or a part of it, as of a date"""
        return analytics.health(get_graph(), include=_include(args), **args)


@blp.route("/segments")
class Segments(MethodView):
    @requires("analytics")
    @blp.arguments(SegmentsArgsSchema, location="query")
    @blp.response(200, SegmentsSchema)
    @blp.alt_response(202, **_PENDING)
    def get(self, args):
        """Segments of the members by region, organization, role or attribute: their ties, mixing and reach"""
        return analytics.segments(get_graph(), sees_pii=caller_sees_pii(), **args)


@blp.route("/reach")
class Reach(MethodView):
    @requires("analytics")
    @blp.arguments(ReachArgsSchema, location="query")
    @blp.response(200, ReachPageSchema)
    @blp.alt_response(202, **_PENDING)
    def get(self, args):
        """Each member's two-step reach, reach efficiency and k-core number, paged by cursor"""
        # The sort key is [the sorted value as text, member id]: two texts, as BY_NAME's are.
        limit, after = args.pop("limit"), decode_cursor(args.pop("cursor", None), BY_NAME)
        found = analytics.reach_page(get_graph(), limit=limit, after=after, **args)
        return {**found, **page(found.pop("rows"), limit)}


@blp.route("/ranking")
class Ranking(MethodView):
    @requires("analytics")
    @blp.arguments(RankingArgsSchema, location="query")
    @blp.response(200, RankingSchema)
    @blp.alt_response(202, **_PENDING)
    def get(self, args):
        """The learned ranking of member recommendations: its model, features and training figures. A new
        model is trained first when the network has changed enough since the last one (5% of its ties);
        `netweave worker` does the same after writes on its own"""
        return analytics.ranking(get_graph())


@blp.route("/health/snapshots")
class Snapshots(MethodView):
    @requires("analytics")
    @idempotent(render(SnapshotSchema(), 201))
    @blp.arguments(SnapshotCreateSchema)
    @blp.response(201, SnapshotSchema)
    @blp.alt_response(202, **_PENDING)
    def post(self, body):
        """Store the current health metrics as a labelled snapshot"""
        return analytics.create_snapshot(get_graph(), **body), 201

    @requires("analytics")
    @blp.arguments(PageArgsSchema, location="query")
    @blp.response(200, SnapshotPageSchema)
    def get(self, args):
        """List health snapshots, oldest first, paged by cursor"""
        limit, after = args["limit"], decode_cursor(args.get("cursor"), BY_CREATION)
        return page(analytics.snapshots_page(get_graph(), limit=limit, after=after), limit)


@blp.route("/health/compare")
class Compare(MethodView):
    @requires("analytics")
    @blp.arguments(CompareArgsSchema, location="query")
    @blp.response(200, CompareSchema)
    @blp.alt_response(202, **_PENDING)
    @errors(404)
    def get(self, args):
        """Compare health between two snapshots or dates"""
        return analytics.compare(get_graph(), args.pop("from_"), args.pop("to"), **args)


@blp.route("/runs/<run_id>")
class Run(MethodView):
    @requires("analytics")
    @blp.response(200, RunSchema)
    @errors(404)
    def get(self, run_id):
        """The status of a background analytics run"""
        return analytics.run_status(get_graph(), run_id)
