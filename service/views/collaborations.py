"""Collaborations: ties between members and organizations."""

from __future__ import annotations

from flask.views import MethodView

from schemas.collaborations import (CollaborationListArgsSchema, CollaborationPageSchema, CollaborationPatchSchema,
                                    CollaborationSchema)
from service.web.api import (BY_CREATION, Blueprint, created_headers, decode_cursor, errors, etag, if_match, item_links,
                         links, page, render)
from service.web.auth import caller_sees_pii, requires
from service.web import get_graph
from service.web.idempotency import idempotent
from service.repositories import collaborations

blp = Blueprint("collaborations", __name__, url_prefix="/v1/collaborations",
                description="Collaborations: projects, mentoring, partnerships between members and organizations.")


_created = created_headers("collaborations.Collaboration", "collaboration_id")
_ITEM = "/v1/collaborations/{collaboration_id}"


@blp.route("")
class Collaborations(MethodView):
    @requires("write")
    @idempotent(render(CollaborationSchema(), 201, _created))
    @blp.arguments(CollaborationSchema)
    @blp.response(201, CollaborationSchema, headers={"ETag": {"schema": {"type": "string"}}})
    @links(201, **item_links(_ITEM, "collaboration_id", "get", "patch", "delete"))
    def post(self, body):
        """Record a collaboration between two parties"""
        collaboration = collaborations.create(get_graph(), body)
        return collaboration, 201, _created(collaboration)

    @requires("read")
    @blp.arguments(CollaborationListArgsSchema, location="query")
    @blp.response(200, CollaborationPageSchema)
    @blp.doc(description="Custom attributes filter too: `?attr.NAME=value` keeps the collaborations whose attribute "
                         "NAME is that value (a `tags` attribute: holds that tag); at most 5. Filtering by an "
                         "attribute marked pii needs the `pii` scope too (403 naming `attr.NAME`).")
    def get(self, args):
        """List collaborations, filtered and paged by cursor"""
        limit, after = args.pop("limit"), decode_cursor(args.pop("cursor", None), BY_CREATION)
        return page(collaborations.list_page(get_graph(), limit=limit, after=after, personal=caller_sees_pii(), **args),
                    limit)


@blp.route("/<collaboration_id>")
class Collaboration(MethodView):
    @requires("read")
    @blp.response(200, CollaborationSchema, headers={"ETag": {"schema": {"type": "string"}}})
    @errors(404)
    @links(200, **item_links(_ITEM, "collaboration_id", "patch", "delete"))
    def get(self, collaboration_id):
        """Get a collaboration"""
        collaboration = collaborations.get(get_graph(), collaboration_id)
        return collaboration, 200, {"ETag": etag(collaboration["version"])}

    @requires("write")
    @blp.arguments(CollaborationPatchSchema)
    @if_match
    @blp.response(200, CollaborationSchema, headers={"ETag": {"schema": {"type": "string"}}})
    @errors(404)
    @links(200, **item_links(_ITEM, "collaboration_id", "get", "patch", "delete"))
    def patch(self, changes, collaboration_id, expected_version):
        """Change a collaboration's kind, strength, dates or note"""
        collaboration = collaborations.update(get_graph(), collaboration_id, changes, expected_version)
        return collaboration, 200, {"ETag": etag(collaboration["version"])}

    @requires("write")
    @if_match
    @blp.response(204)
    @errors(404)
    def delete(self, collaboration_id, expected_version):
        """Delete a collaboration"""
        collaborations.delete(get_graph(), collaboration_id, expected_version)
