"""Exports of the network for Gephi, Kumu and spreadsheets, streamed."""

from __future__ import annotations

from flask import Response
from flask.views import MethodView

from schemas.analytics import RunSchema
from schemas.exports import ExportArgsSchema
from service import config, db, exports
from service.exports import relay
from service.analytics.engine import Pending, get_engine
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
        graph, pii = get_graph(), caller_sees_pii()
        queue = analytics.queue_of(graph) if config.bounded(graph.config, "NETWEAVE_EXPORTS_IN_WORKER") else None
        if queue is None:
            export = exports.start(graph, selection, fmt, pii=pii, compute=compute)
            head, chunks, close = export.head(), export.chunks(), export.close
        else:
            # Written by `netweave worker`; this thread only relays its bytes (service/exports/relay.py). With
            # analytics=compute, the question is asked here first (so a long computation answers 202 with its
            # run, as without a queue), and the worker computes them at the export's revision unless it holds them.
            start = config.bounded(graph.config, "NETWEAVE_EXPORT_START_SECONDS")
            if compute:
                exports.compute_analytics(graph, selection)
                start += get_engine(graph).settings.sync_seconds
            marks = db.current_bookmarks()
            job = exports.job(selection, fmt, pii=pii, compute=compute,
                              bookmarks=list(marks.raw_values) if marks else [])
            relayed = relay.request(queue.blocking, queue.client, queue.send_export, job, start_seconds=start,
                                    stall_seconds=config.bounded(graph.config, "NETWEAVE_EXPORT_STALL_SECONDS"),
                                    retry_after=graph.config["NETWEAVE_RETRY_AFTER_SECONDS"])
            head, chunks, close = relayed.head, relayed.chunks(), relayed.close
        response = Response(chunks, mimetype=head["media_type"])
        response.call_on_close(close)
        response.headers["Content-Disposition"] = f'attachment; filename="{head["filename"]}"'
        response.headers["Netweave-Analytics"] = head["analytics"]
        response.headers["Netweave-Layout"] = head["layout"]
        return response
