"""Member and affiliation schemas."""

from __future__ import annotations

from marshmallow import post_dump

from schemas.common import (Id, NonEmptyPatch, PageArgsSchema, PageSchema, StrictBoolean, StrictSchema,
                            date_range_check, fields, tag_list, trimmed, validate, validates_schema)

MEMBER_ROLES = ("teacher", "coach", "principal", "assistant_principal", "district_leader", "superintendent",
                "counselor", "specialist", "researcher", "facilitator", "staff", "other")
AFFILIATION_ROLES = ("member", "staff", "board", "fellow", "leader", "partner", "other")


class AffiliationSchema(StrictSchema):
    """A member's tie to an organization (MEMBER_OF)."""

    member_id = Id(dump_only=True)
    organization_id = Id(dump_only=True)
    organization_name = fields.String(dump_only=True)
    role = fields.String(load_default="member", validate=validate.OneOf(AFFILIATION_ROLES))
    since = fields.Date(allow_none=True, dump_default=None)
    until = fields.Date(allow_none=True, dump_default=None)

    @validates_schema
    def _until_after_since(self, data, **kwargs):
        date_range_check(data, "since", "until")


class MemberSchema(StrictSchema):
    id = Id(dump_only=True)
    name = trimmed(200, required=True)
    email = fields.Email(allow_none=True, dump_default=None, validate=validate.Length(max=254),
                         metadata={"description": "personal data: shown only to keys with the `pii` scope"})
    role = fields.String(allow_none=True, dump_default=None, validate=validate.OneOf(MEMBER_ROLES))
    title = trimmed(200, allow_none=True, dump_default=None)
    region = trimmed(100, allow_none=True, dump_default=None)
    topics = tag_list(load_default=list, metadata={"description": "focus areas, stored lower-case"})
    populations = tag_list(load_default=list, metadata={"description": "populations served"})
    discoverable = StrictBoolean(load_default=True,
                                  metadata={"description": "consent to be recommended to other members"})
    affiliations = fields.List(fields.Nested(AffiliationSchema), dump_only=True)
    cluster_id = Id(dump_only=True, metadata={"description": "the member's cluster in the latest analytics "
                                                             "(GET /v1/analytics/clusters), once computed"})
    betweenness = fields.Float(dump_only=True, metadata={"description": "normalized betweenness in the latest "
                                                                         "analytics (GET /v1/analytics/bridges)"})
    version = fields.Integer(dump_only=True)
    created_at = fields.DateTime(dump_only=True)
    updated_at = fields.DateTime(dump_only=True)

    @post_dump
    def _hide_personal_data(self, data, **kwargs):
        from service.auth import caller_sees_pii

        if not caller_sees_pii():
            data.pop("email", None)
        return data


class MemberPatchSchema(NonEmptyPatch, MemberSchema):
    """Any subset of a member's fields; null clears an optional one."""

    name = trimmed(200)
    topics = tag_list()
    populations = tag_list()
    discoverable = StrictBoolean()


class MemberListArgsSchema(PageArgsSchema):
    organization_id = Id(metadata={"description": "only members affiliated with this organization"})
    region = trimmed(100)
    role = fields.String(validate=validate.OneOf(MEMBER_ROLES))
    topic = trimmed(60, metadata={"description": "only members with this focus area"})
    q = trimmed(100, metadata={"description": "case-insensitive search in the name"})


class MemberPageSchema(PageSchema):
    items = fields.List(fields.Nested(MemberSchema), required=True)


class CollaboratorSchema(StrictSchema):
    id = Id(dump_only=True)
    type = fields.String(dump_only=True, metadata={"description": "member or organization"})
    name = fields.String(dump_only=True)
    collaborations = fields.Integer(dump_only=True, metadata={"description": "collaborations with this party"})
    strength = fields.Integer(dump_only=True, metadata={"description": "summed strength of those collaborations"})
    kinds = fields.List(fields.String(), dump_only=True)


class CollaboratorPageSchema(PageSchema):
    items = fields.List(fields.Nested(CollaboratorSchema), required=True)
