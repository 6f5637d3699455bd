"""CRM sync (batched upserts by external id) and the change feed for the way back."""

from __future__ import annotations

from flask import current_app
from flask.views import MethodView

from schemas.sync import ChangeArgsSchema, ChangePageSchema, SyncArgsSchema, SyncResponseSchema, sync_request_schema
from service.web.api import Blueprint, errors, render
from service.web.auth import caller_sees_external_ids, requires
from service.web import get_graph
from service.web.idempotency import idempotent
from service.repositories import changes, sync

blp = Blueprint("sync", __name__, url_prefix="/v1",
                description="Sync from a CRM by external id, and the feed of every change.")


def _status(outcome: dict) -> int:
    return 207 if outcome["summary"]["error"] else 200


def _sync_view(resource: str):
    @requires("sync")
    @idempotent(render(SyncResponseSchema(), _status))
    @blp.arguments(SyncArgsSchema, location="query")
    @blp.arguments(sync_request_schema(resource))
    @blp.response(200, SyncResponseSchema)
    @blp.alt_response(207, schema=SyncResponseSchema, success=True,
                      description="some records failed; each says why, the others were committed")
    @errors(400, 413)
    def view(args, body):
        match_on = body.get("match_on")
        if match_on is None:
            setting = current_app.config["NETWEAVE_MEMBER_MATCH_ON"]
            match_on = [] if setting == "none" else [setting]
        outcome = sync.sync(get_graph(), resource, body["source"], body["records"], args["atomic"], tuple(match_on))
        return outcome, _status(outcome)

    view.__name__ = f"sync_{resource}"
    view.__doc__ = f"Upsert or delete {resource} by external id (up to 1,000 records)"
    return view


for _resource in ("organizations", "members", "collaborations", "activities"):
    blp.route(f"/sync/{_resource}", methods=["POST"])(_sync_view(_resource))


@blp.route("/changes")
class Changes(MethodView):
    @requires("read", "sync")
    @blp.arguments(ChangeArgsSchema, location="query")
    @blp.response(200, ChangePageSchema)
    @errors(410)
    def get(self, args):
        """Every create, update and delete in commit order, from a cursor"""
        after = changes.decode_seq(args.pop("since", None))
        return changes.feed(get_graph(), after=after, external_ids=caller_sees_external_ids(), **args)
