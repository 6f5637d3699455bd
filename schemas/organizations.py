"""Organization schemas."""

from __future__ import annotations

from marshmallow import post_dump

from schemas.attributes import attributes_field
from schemas.common import (AttributeFilterArgs, Id, NonEmptyPatch, PageArgsSchema, PageSchema, StrictSchema, fields,
                            tag_list, trimmed)
from schemas.members import AffiliationSchema, MemberSchema, hide_personal_attributes
from schemas.vocabularies import DEFAULT_TERMS, term, term_filter

ORGANIZATION_KINDS = DEFAULT_TERMS["organization_kind"]  # the defaults of the organization_kind vocabulary


class OrganizationSchema(StrictSchema):
    id = Id(dump_only=True)
    name = trimmed(200, required=True)
    kind = term("organization_kind", allow_none=True, dump_default=None)
    region = trimmed(100, allow_none=True, dump_default=None)
    topics = tag_list(load_default=list)
    attributes = attributes_field(load_default=dict)
    member_count = fields.Integer(dump_only=True)
    version = fields.Integer(dump_only=True)
    created_at = fields.DateTime(dump_only=True)
    updated_at = fields.DateTime(dump_only=True)

    @post_dump(pass_original=True)
    def _hide_personal_data(self, data, original, **kwargs):
        return hide_personal_attributes(data, original)


class OrganizationPatchSchema(NonEmptyPatch, OrganizationSchema):
    name = trimmed(200)
    topics = tag_list()
    attributes = attributes_field()


class OrganizationListArgsSchema(AttributeFilterArgs, PageArgsSchema):
    region = trimmed(100)
    kind = term_filter("organization_kind", "only organizations of this kind")
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
