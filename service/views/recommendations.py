"""Recommendations (whom should this member meet, which organization should partner) and introductions."""

from __future__ import annotations

from flask import current_app
from flask.views import MethodView

from schemas.recommendations import (IntroductionDecisionSchema, IntroductionListArgsSchema, IntroductionPageSchema,
                                     IntroductionSchema, MemberRecommendationArgsSchema, MemberRecommendationsSchema,
                                     OrganizationRecommendationArgsSchema, OrganizationRecommendationsSchema)
from service.web.api import (BY_CREATION, Blueprint, created_headers, decode_cursor, errors, etag, if_match, item_links,
                         links, page, render)
from service.web.auth import requires
from service.web import get_graph
from service.web.idempotency import idempotent
from service.repositories import introductions, recommendations

blp = Blueprint("recommendations", __name__, url_prefix="/v1",
                description="Introductions that close triangles, share interests and bridge silos, with reasons.")


@blp.route("/members/<member_id>/recommendations")
@requires("read")
@blp.arguments(MemberRecommendationArgsSchema, location="query")
@blp.response(200, MemberRecommendationsSchema)
@errors(404)
def member_recommendations(args, member_id):
    """Members this member could be introduced to, ranked, each with its reasons"""
    weights = current_app.config["NETWEAVE_RECOMMENDATION_WEIGHTS"]
    body = recommendations.for_member(get_graph(), member_id, weights=weights,
                                      activity_size_cap=current_app.config["NETWEAVE_ACTIVITY_SIZE_CAP"], **args)
    # The repository builds exactly the schema's shape (the candidate's public fields are picked in
    # Cypher; no email), and dumping it through marshmallow cost more CPU than the rest of the request
    # on the latency bench: sent as is. test_member_recommendations_are_what_the_schema_dumps pins it.
    return current_app.json.response(body)


@blp.route("/organizations/<organization_id>/recommendations")
@requires("read")
@blp.arguments(OrganizationRecommendationArgsSchema, location="query")
@blp.response(200, OrganizationRecommendationsSchema)
@errors(404)
def organization_recommendations(args, organization_id):
    """Partner organizations for this one, by its members' ties and shared topics"""
    return recommendations.for_organization(get_graph(), organization_id, limit=args["limit"])


_created = created_headers("recommendations.Introduction", "introduction_id")
_ITEM = "/v1/introductions/{introduction_id}"


@blp.route("/introductions")
class Introductions(MethodView):
    @requires("write")
    @idempotent(render(IntroductionSchema(), 201, _created))
    @blp.arguments(IntroductionSchema)
    @blp.response(201, IntroductionSchema)
    @errors(409)
    @links(201, **item_links(_ITEM, "introduction_id", "get", "patch"))
    def post(self, body):
        """Record a suggested introduction between two members"""
        introduction = introductions.create(get_graph(), body["member_ids"], body.get("note"))
        return introduction, 201, _created(introduction)

    @requires("read")
    @blp.arguments(IntroductionListArgsSchema, location="query")
    @blp.response(200, IntroductionPageSchema)
    def get(self, args):
        """List introductions, newest first"""
        limit, after = args.pop("limit"), decode_cursor(args.pop("cursor", None), BY_CREATION)
        return page(introductions.list_page(get_graph(), limit=limit, after=after, **args), limit)


@blp.route("/introductions/<introduction_id>")
class Introduction(MethodView):
    @requires("read")
    @blp.response(200, IntroductionSchema)
    @errors(404)
    @links(200, **item_links(_ITEM, "introduction_id", "patch"))
    def get(self, introduction_id):
        """Get an introduction"""
        introduction = introductions.get(get_graph(), introduction_id)
        return introduction, 200, {"ETag": etag(introduction["version"])}

    @requires("write")
    @blp.arguments(IntroductionDecisionSchema)
    @if_match
    @blp.response(200, IntroductionSchema)
    @errors(404, 409)
    @links(200, **item_links(_ITEM, "introduction_id", "get"))
    def patch(self, body, introduction_id, expected_version):
        """Accept (they now collaborate) or decline (never suggested again) an introduction"""
        introduction = introductions.decide(get_graph(), introduction_id, body["status"], body.get("note"),
                                            expected_version)
        return introduction, 200, {"ETag": etag(introduction["version"])}
