"""Members, their collaborators and their affiliations."""

from __future__ import annotations

from flask import current_app
from flask.views import MethodView

from schemas.common import PageArgsSchema
from schemas.members import (AffiliationSchema, CollaboratorPageSchema, DuplicateArgsSchema, DuplicatePageSchema,
                             MemberCreateArgsSchema, MemberListArgsSchema, MemberMergeSchema, MemberPageSchema,
                             MemberPatchSchema, MemberSchema)
from service.web.api import (BY_NAME, Blueprint, created_headers, decode_cursor, errors, etag, if_match, item_links,
                         links, operation_ref, page, render)
from service.web.auth import caller_sees_pii, requires
from service.web import get_graph
from service.web.idempotency import idempotent
from service.repositories import members, organizations

blp = Blueprint("members", __name__, url_prefix="/v1/members",
                description="Members of the network: teachers, coaches, school and district leaders.")


_created = created_headers("members.Member", "member_id")


def _created_status(member: dict) -> int:
    return 200 if member.get("matched") else 201
_ITEM = "/v1/members/{member_id}"
_OF_MEMBER = {"path.member_id": "$response.body#/id"}


@blp.route("")
class Members(MethodView):
    @requires("write")
    @idempotent(render(MemberSchema(), _created_status, _created))
    @blp.arguments(MemberCreateArgsSchema, location="query")
    @blp.arguments(MemberSchema)
    @blp.response(201, MemberSchema, headers={"ETag": {"schema": {"type": "string"}}})
    @blp.alt_response(200, schema=MemberSchema, success=True, description="a member with this email exists (one "
                      "person, one member): it is returned unchanged, with `matched: email`")
    @links(201, **item_links(_ITEM, "member_id", "get", "patch", "delete"),
           ListCollaborators={"operationRef": operation_ref(_ITEM + "/collaborators", "get"), "parameters": _OF_MEMBER},
           GetRecommendations={"operationRef": operation_ref(_ITEM + "/recommendations", "get"),
                               "parameters": _OF_MEMBER},
           PutAffiliation={"operationRef": operation_ref(_ITEM + "/affiliations/{organization_id}", "put"),
                           "parameters": _OF_MEMBER})
    def post(self, args, body):
        """Create a member"""
        match_on = args.get("match_on") or current_app.config["NETWEAVE_MEMBER_MATCH_ON"]
        member = members.create(get_graph(), body, match_email=match_on == "email")
        return member, _created_status(member), _created(member)

    @requires("read")
    @blp.arguments(MemberListArgsSchema, location="query")
    @blp.response(200, MemberPageSchema)
    @links(200, RecordCollaboration={
        "operationRef": operation_ref("/v1/collaborations", "post"),
        "requestBody": {"source_id": "$response.body#/items/0/id", "target_id": "$response.body#/items/1/id"},
        "description": "a collaboration between the first two members of the page"}, SuggestIntroduction={
        "operationRef": operation_ref("/v1/introductions", "post"),
        "requestBody": {"member_ids": ["$response.body#/items/0/id", "$response.body#/items/1/id"]},
        "description": "an introduction between the first two members of the page"})
    @blp.doc(description="Custom attributes filter too: `?attr.grade_band=elementary` keeps the members whose "
                         "attribute `grade_band` is that value (a `tags` attribute: holds that tag); at most 5. "
                         "Filtering by an attribute marked pii needs the `pii` scope too (403 naming `attr.NAME`).")
    def get(self, args):
        """List members, filtered and paged by cursor"""
        limit, after = args.pop("limit"), decode_cursor(args.pop("cursor", None), BY_NAME)
        return page(members.list_page(get_graph(), limit=limit, after=after, personal=caller_sees_pii(), **args),
                    limit)


@blp.route("/duplicates")
@requires("read")
@blp.arguments(DuplicateArgsSchema, location="query")
@blp.response(200, DuplicatePageSchema)
def duplicates(args):
    """List groups of members that are likely one person"""
    return members.duplicates(get_graph(), args["limit"])


@blp.route("/<member_id>/merge", methods=["POST"])
@requires("write")
@idempotent(render(MemberSchema(), 200))
@blp.arguments(MemberMergeSchema)
@blp.response(200, MemberSchema)
@errors(404)
def merge(body, member_id):
    """Merge members that are one person into this one"""
    return members.merge(get_graph(), member_id, body["from_"])


@blp.route("/<member:member_id>")
class Member(MethodView):
    @requires("read")
    @blp.response(200, MemberSchema, headers={"ETag": {"schema": {"type": "string"}}})
    @errors(404)
    @links(200, **item_links(_ITEM, "member_id", "patch", "delete"))
    def get(self, member_id):
        """Get a member with its affiliations"""
        member = members.get(get_graph(), member_id)
        return member, 200, {"ETag": etag(member["version"])}

    @requires("write")
    @blp.arguments(MemberPatchSchema)
    @if_match
    @blp.response(200, MemberSchema, headers={"ETag": {"schema": {"type": "string"}}})
    @errors(404)
    @links(200, **item_links(_ITEM, "member_id", "get", "patch", "delete"))
    def patch(self, changes, member_id, expected_version):
        """Change some of a member's fields"""
        member = members.update(get_graph(), member_id, changes, expected_version)
        return member, 200, {"ETag": etag(member["version"])}

    @requires("write")
    @if_match
    @blp.response(204)
    @errors(404)
    def delete(self, member_id, expected_version):
        """Delete a member with all its ties"""
        members.delete(get_graph(), member_id, expected_version)


@blp.route("/<member_id>/collaborators")
@requires("read")
@blp.arguments(PageArgsSchema, location="query")
@blp.response(200, CollaboratorPageSchema)
@errors(404)
def collaborators(args, member_id):
    """List the members and organizations a member collaborates with"""
    limit, after = args["limit"], decode_cursor(args.get("cursor"), BY_NAME)
    return page(members.collaborators_page(get_graph(), member_id, limit=limit, after=after), limit)


@blp.route("/<member_id>/affiliations/<organization_id>")
class Affiliation(MethodView):
    @requires("write")
    @blp.arguments(AffiliationSchema)
    @blp.response(200, AffiliationSchema)
    @blp.alt_response(201, schema=AffiliationSchema, success=True, description="the affiliation was created")
    @errors(404)
    def put(self, body, member_id, organization_id):
        """Create or replace a member's affiliation with an organization"""
        affiliation, created = organizations.put_affiliation(get_graph(), member_id, organization_id, body)
        return affiliation, 201 if created else 200

    @requires("write")
    @blp.response(204)
    @errors(404)
    def delete(self, member_id, organization_id):
        """Remove a member's affiliation with an organization"""
        organizations.delete_affiliation(get_graph(), member_id, organization_id)
