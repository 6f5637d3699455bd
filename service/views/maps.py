"""Network maps: the layout the explorer draws, and the same network as SVG or PNG pictures for reports."""

from __future__ import annotations

from flask import Response
from flask.views import MethodView

from schemas.analytics import RunSchema
from schemas.layout import LayoutQueryArgsSchema, LayoutSchema, MapArgsSchema
from service.analytics.engine import Pending
from service.web.api import Blueprint, errors
from service.web.auth import caller_sees_pii, requires
from service.web import get_graph
from service.repositories import attributes, layout
from service.views.analytics import answer_pending

blp = Blueprint("maps", __name__, url_prefix="/v1/analytics",
                description="Where to draw each member (computed on the server with the analytics), and "
                            "pictures of the network, a cluster or a member's neighbourhood.")
blp.errorhandler(Pending)(answer_pending)

_PENDING = {"description": "the layout or picture is computed in the background and no earlier one exists: "
                          "poll the run",
            "schema": RunSchema, "success": True}
_IMAGE = {"svg": "image/svg+xml", "png": "image/png"}


def _binary(content_type: str) -> dict:
    return {"description": "the picture, with a legend",
            "content": {content_type: {"schema": {"type": "string", "format": "binary"}}},
            "headers": {"Netweave-Analytics-Revision": {"description": "the graph revision drawn",
                                                        "schema": {"type": "integer"}},
                        "Netweave-Analytics-Stale": {"description": "true when the graph has changed since "
                                                                    "the revision drawn (a newer picture is "
                                                                    "drawn, or asked for after a while)",
                                                     "schema": {"type": "string", "enum": ["true", "false"]}}}}


@blp.route("/layout")
class Layout(MethodView):
    @requires("analytics")
    @blp.arguments(LayoutQueryArgsSchema, location="query")
    @blp.response(200, LayoutSchema)
    @blp.alt_response(202, **_PENDING)
    def get(self, args):
        """Positions of members (or cluster bubbles) with their clusters and broker scores, as arrays"""
        with_attributes = args.pop("attributes")
        answer = layout.layout(get_graph(), **args)
        if not with_attributes or not answer.get("members", {}).get("id"):
            return answer
        # Read at answer time, not stored with the shared report: attributes change without a re-layout,
        # and personal ones depend on the caller.
        values = attributes.member_values(get_graph(), answer["members"]["id"], personal=caller_sees_pii())
        return {**answer, "members": {**answer["members"], "attributes": values}}


def _picture(args: dict, kind: str) -> Response:
    body, computed = layout.picture(get_graph(), kind=kind, **args)
    # A picture has no `computed` block of its own: the graph revision it shows, and whether a newer one is
    # being drawn, travel as headers.
    headers = {"Content-Disposition": f'inline; filename="network.{kind}"',
               "Netweave-Analytics-Revision": str(computed["revision"]),
               "Netweave-Analytics-Stale": "true" if computed.get("stale") else "false"}
    return Response(body, mimetype=_IMAGE[kind], headers=headers)


@blp.route("/map.svg")
class MapSvg(MethodView):
    @requires("analytics")
    @blp.arguments(MapArgsSchema, location="query")
    @blp.response(200, content_type="image/svg+xml", description="the picture, with a legend")
    @blp.doc(responses={"200": _binary("image/svg+xml")})
    @blp.alt_response(202, **_PENDING)
    @errors(404)
    def get(self, args):
        """The network, a cluster or a member's neighbourhood as an SVG picture"""
        return _picture(args, "svg")


@blp.route("/map.png")
class MapPng(MethodView):
    @requires("analytics")
    @blp.arguments(MapArgsSchema, location="query")
    @blp.response(200, content_type="image/png", description="the picture, with a legend")
    @blp.doc(responses={"200": _binary("image/png")})
    @blp.alt_response(202, **_PENDING)
    @errors(404)
    def get(self, args):
        """The network, a cluster or a member's neighbourhood as a PNG picture"""
        return _picture(args, "png")
