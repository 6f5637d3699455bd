"""Organization schemas."""

from __future__ import annotations

from schemas.common import Id, NonEmptyPatch, PageArgsSchema, PageSchema, StrictSchema, fields, tag_list, trimmed, validate
from schemas.members import AffiliationSchema, MemberSchema

ORGANIZATION_KINDS = ("association", "district", "school", "nonprofit", "university", "network", "foundation",
                      "government", "company", "other")


class OrganizationSchema(StrictSchema):
    id = Id(dump_only=True)
    name = trimmed(200, required=True)
    kind = fields.String(allow_none=True, dump_default=None, validate=validate.OneOf(ORGANIZATION_KINDS))
    region = trimmed(100, allow_none=True, dump_default=None)
    topics = tag_list(load_default=list)
    member_count = fields.Integer(dump_only=True)
    version = fields.Integer(dump_only=True)
    created_at = fields.DateTime(dump_only=True)
    updated_at = fields.DateTime(dump_only=True)


class OrganizationPatchSchema(NonEmptyPatch, OrganizationSchema):
    name = trimmed(200)
    topics = tag_list()


class OrganizationListArgsSchema(PageArgsSchema):
    region = trimmed(100)
    kind = fields.String(validate=validate.OneOf(ORGANIZATION_KINDS))
    topic = trimmed(60)
    q = trimmed(100, metadata={"description": "case-insensitive search in the name"})


class OrganizationPageSchema(PageSchema):
    items = fields.List(fields.Nested(OrganizationSchema), required=True)


class OrganizationDeleteArgsSchema(StrictSchema):
    cascade = fields.Boolean(load_default=False, metadata={
        "description": "also remove the organization's affiliations and collaborations (members stay)"})


class OrganizationMemberSchema(MemberSchema):
    affiliation = fields.Nested(AffiliationSchema, dump_only=True)


class OrganizationMemberPageSchema(PageSchema):
    items = fields.List(fields.Nested(OrganizationMemberSchema), required=True)
