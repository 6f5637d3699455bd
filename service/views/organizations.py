"""Organizations and their members."""

from __future__ import annotations

from flask.views import MethodView

from schemas.common import PageArgsSchema
from schemas.organizations import (OrganizationDeleteArgsSchema, OrganizationListArgsSchema,
                                   OrganizationMemberPageSchema, OrganizationPageSchema, OrganizationPatchSchema,
                                   OrganizationSchema)
from service.web.api import (BY_NAME, Blueprint, created_headers, decode_cursor, errors, etag, if_match, item_links,
                         links, operation_ref, page, render)
from service.web.auth import caller_sees_pii, requires
from service.web import get_graph
from service.web.idempotency import idempotent
from service.repositories import organizations

blp = Blueprint("organizations", __name__, url_prefix="/v1/organizations",
                description="Organizations: associations, districts, nonprofits, universities.")


_created = created_headers("organizations.Organization", "organization_id")
_ITEM = "/v1/organizations/{organization_id}"
_OF_ORGANIZATION = {"path.organization_id": "$response.body#/id"}


@blp.route("")
class Organizations(MethodView):
    @requires("write")
    @idempotent(render(OrganizationSchema(), 201, _created))
    @blp.arguments(OrganizationSchema)
    @blp.response(201, OrganizationSchema, headers={"ETag": {"schema": {"type": "string"}}})
    @links(201, **item_links(_ITEM, "organization_id", "get", "patch", "delete"),
           ListMembers={"operationRef": operation_ref(_ITEM + "/members", "get"), "parameters": _OF_ORGANIZATION},
           GetRecommendations={"operationRef": operation_ref(_ITEM + "/recommendations", "get"),
                               "parameters": _OF_ORGANIZATION})
    def post(self, body):
        """Create an organization"""
        organization = organizations.create(get_graph(), body)
        return organization, 201, _created(organization)

    @requires("read")
    @blp.arguments(OrganizationListArgsSchema, location="query")
    @blp.response(200, OrganizationPageSchema)
    @blp.doc(description="Custom attributes filter too: `?attr.NAME=value` keeps the organizations whose attribute "
                         "NAME is that value (a `tags` attribute: holds that tag); at most 5. Filtering by an "
                         "attribute marked pii needs the `pii` scope too (403 naming `attr.NAME`).")
    def get(self, args):
        """List organizations, filtered and paged by cursor"""
        limit, after = args.pop("limit"), decode_cursor(args.pop("cursor", None), BY_NAME)
        return page(organizations.list_page(get_graph(), limit=limit, after=after, personal=caller_sees_pii(), **args),
                    limit)


@blp.route("/<organization_id>")
class Organization(MethodView):
    @requires("read")
    @blp.response(200, OrganizationSchema, headers={"ETag": {"schema": {"type": "string"}}})
    @errors(404)
    @links(200, **item_links(_ITEM, "organization_id", "patch", "delete"))
    def get(self, organization_id):
        """Get an organization"""
        organization = organizations.get(get_graph(), organization_id)
        return organization, 200, {"ETag": etag(organization["version"])}

    @requires("write")
    @blp.arguments(OrganizationPatchSchema)
    @if_match
    @blp.response(200, OrganizationSchema, headers={"ETag": {"schema": {"type": "string"}}})
    @errors(404)
    @links(200, **item_links(_ITEM, "organization_id", "get", "patch", "delete"))
    def patch(self, changes, organization_id, expected_version):
        """Change some of an organization's fields"""
        organization = organizations.update(get_graph(), organization_id, changes, expected_version)
        return organization, 200, {"ETag": etag(organization["version"])}

    @requires("write")
    @blp.arguments(OrganizationDeleteArgsSchema, location="query")
    @if_match
    @blp.response(204)
    @errors(404, 409)
    def delete(self, args, organization_id, expected_version):
        """Delete an organization (with members only when cascade=true)"""
        organizations.delete(get_graph(), organization_id, expected_version, args["cascade"])


@blp.route("/<organization_id>/members")
@requires("read")
@blp.arguments(PageArgsSchema, location="query")
@blp.response(200, OrganizationMemberPageSchema)
@errors(404)
def organization_members(args, organization_id):
    """List an organization's members with their affiliation"""
    limit, after = args["limit"], decode_cursor(args.get("cursor"), BY_NAME)
    return page(organizations.members_page(get_graph(), organization_id, limit=limit, after=after), limit)
