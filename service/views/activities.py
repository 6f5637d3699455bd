"""Shared activities: convenings, workshops, cohorts and committees, and who took part."""

from __future__ import annotations

from flask import request
from flask.views import MethodView

from schemas.activities import (ActivityListArgsSchema, ActivityPageSchema, ActivityPatchSchema, ActivitySchema,
                                ParticipantPageSchema, ParticipantsSchema)
from schemas.common import PageArgsSchema
from service.web.api import (BY_CREATION, BY_NAME, Blueprint, created_headers, decode_cursor, errors, etag,
                         expected_version, if_match, item_links, links, page, render)
from service.web.auth import requires
from service.web import get_graph
from service.web.idempotency import idempotent
from service.repositories import activities

blp = Blueprint("activities", __name__, url_prefix="/v1/activities",
                description="Shared activities (convenings, workshops, cohorts, committees) and their participants; "
                            "the analytics can count co-participation as ties (`include=activities`).")

_created = created_headers("activities.Activity", "activity_id")
_ITEM = "/v1/activities/{activity_id}"
_ETAG = {"ETag": {"schema": {"type": "string"}}}


@blp.route("")
class Activities(MethodView):
    @requires("write")
    @idempotent(render(ActivitySchema(), 201, _created))
    @blp.arguments(ActivitySchema)
    @blp.response(201, ActivitySchema, headers=_ETAG)
    @links(201, **item_links(_ITEM, "activity_id", "get", "patch", "delete"))
    def post(self, body):
        """Create an activity"""
        activity = activities.create(get_graph(), body)
        return activity, 201, _created(activity)

    @requires("read")
    @blp.arguments(ActivityListArgsSchema, location="query")
    @blp.response(200, ActivityPageSchema)
    def get(self, args):
        """List activities, oldest first, filtered and paged by cursor"""
        limit, after = args.pop("limit"), decode_cursor(args.pop("cursor", None), BY_CREATION)
        return page(activities.list_page(get_graph(), limit=limit, after=after, **args), limit)


@blp.route("/<activity_id>")
class Activity(MethodView):
    @requires("read")
    @blp.response(200, ActivitySchema, headers=_ETAG)
    @errors(404)
    @links(200, **item_links(_ITEM, "activity_id", "patch", "delete"))
    def get(self, activity_id):
        """Get an activity"""
        activity = activities.get(get_graph(), activity_id)
        return activity, 200, {"ETag": etag(activity["version"])}

    @requires("write")
    @blp.arguments(ActivityPatchSchema)
    @if_match
    @blp.response(200, ActivitySchema, headers=_ETAG)
    @errors(404)
    @links(200, **item_links(_ITEM, "activity_id", "get", "patch", "delete"))
    def patch(self, changes, activity_id, expected_version):
        """Change an activity's name, kind, dates or host"""
        activity = activities.update(get_graph(), activity_id, changes, expected_version)
        return activity, 200, {"ETag": etag(activity["version"])}

    @requires("write")
    @if_match
    @blp.response(204)
    @errors(404)
    def delete(self, activity_id, expected_version):
        """Delete an activity with its participations"""
        activities.delete(get_graph(), activity_id, expected_version)


@blp.route("/<activity_id>/participants")
class Participants(MethodView):
    @requires("write")
    @blp.arguments(ParticipantsSchema)
    @blp.response(200, ParticipantsSchema, headers=_ETAG)
    @blp.doc(parameters=[{
        "in": "header", "name": "If-Match", "required": False, "schema": {"type": "string"},
        "description": "optional: the activity's ETag; the participants are replaced only at that version"}])
    @errors(404, 412)
    def put(self, body, activity_id):
        """Set an activity's participants (the set is replaced)"""
        version = expected_version() if "If-Match" in request.headers else None
        stored, current = activities.set_participants(get_graph(), activity_id, body["participants"], version)
        return {"participants": stored}, 200, {"ETag": etag(current)}

    @requires("read")
    @blp.arguments(PageArgsSchema, location="query")
    @blp.response(200, ParticipantPageSchema)
    @errors(404)
    def get(self, args, activity_id):
        """List an activity's participants by name, paged by cursor"""
        limit, after = args["limit"], decode_cursor(args.get("cursor"), BY_NAME)
        return page(activities.participants_page(get_graph(), activity_id, limit=limit, after=after), limit)
