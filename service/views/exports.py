"""Exports of the network for Gephi, Kumu and spreadsheets, streamed."""

from __future__ import annotations

from flask import Response
from flask.views import MethodView

from schemas.analytics import RunSchema
from schemas.exports import ExportArgsSchema
from service import exports
from service.analytics.engine import Pending
from service.web.api import Blueprint
from service.web.auth import caller_sees_pii, requires
from service.web import get_graph
from service.repositories import analytics
from service.views.analytics import answer_pending

blp = Blueprint("exports", __name__, url_prefix="/v1/export",
                description="The network as a file for Gephi (GraphML, GEXF), Kumu (JSON) or spreadsheets (CSV).")
blp.errorhandler(Pending)(answer_pending)

_FILE = {"schema": {"type": "string", "format": "binary"}}
# Kumu's blueprint (format=json) is a JSON document: described as one, so clients and validators parse it.
_KUMU = {"schema": {"type": "object", "required": ["elements", "connections"], "properties": {
    "elements": {"type": "array", "items": {"type": "object"}},
    "connections": {"type": "array", "items": {"type": "object"}}}}}
_OK = {
    "description": "the export, streamed as an attachment; emails only for keys with the `pii` scope",
    "content": {fmt.media_type: _KUMU if fmt.media_type == "application/json" else _FILE
                for fmt in exports.FORMATS.values()},
    "headers": {
        "Content-Disposition": {"schema": {"type": "string"}, "description": "attachment; filename=..."},
        "Netweave-Analytics": {"schema": {"type": "string"}, "description":
                               "where cluster_id, betweenness and articulation_point came from "
                               "(computed, stored or unknown) and the graph revision"},
        "Netweave-Layout": {"schema": {"type": "string"}, "description":
                            "where each member's x, y, size, color and cluster_name came from: the layout "
                            "of the exported revision (current), of an earlier one (earlier), clusters only "
                            "(clusters: too many members to place one by one) or none stored yet (none); "
                            "and that layout's revision"},
    },
}


@blp.route("")
class Export(MethodView):
    @requires("analytics")
    @blp.arguments(ExportArgsSchema, location="query")
    @blp.doc(responses={"200": _OK, "202": {"description": "analytics=compute runs in the background and no "
                                                           "earlier result exists: poll the run",
                                            "content": {"application/json": {"schema": RunSchema}}}})
    def get(self, args):
        """Export the network with member, organization and analytics attributes"""
        fmt, compute = args.pop("format"), args.pop("analytics") == "compute"
        selection = exports.Selection(as_of=args.pop("as_of", None) or analytics.today(),
                                      organizations=args.pop("include", None) == "organizations", **args)
        export = exports.start(get_graph(), selection, fmt, pii=caller_sees_pii(), compute=compute)
        response = Response(export.chunks(), mimetype=export.format.media_type)
        response.call_on_close(export.close)
        response.headers["Content-Disposition"] = f'attachment; filename="{export.filename()}"'
        response.headers["Netweave-Analytics"] = export.analytics.describe()
        response.headers["Netweave-Layout"] = export.layout_description()
        return response
