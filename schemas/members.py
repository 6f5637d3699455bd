"""Member and affiliation schemas."""

from __future__ import annotations

from marshmallow import post_dump

from schemas.attributes import attributes_field
from schemas.common import (AttributeFilterArgs, Id, NonEmptyPatch, PageArgsSchema, PageSchema, StrictBoolean,
                            StrictSchema, date_range_check, email_field, fields, tag_list, trimmed, validate,
                            validates_schema)
from schemas.vocabularies import DEFAULT_TERMS, term, term_filter

# The defaults of the member_role and affiliation_role vocabularies (each deployment manages its own).
MEMBER_ROLES = DEFAULT_TERMS["member_role"]
AFFILIATION_ROLES = DEFAULT_TERMS["affiliation_role"]


def hide_personal_attributes(data: dict, original) -> dict:
    """Drop the custom attributes marked pii unless the caller has the `pii` scope."""
    from service.callers import sees_pii as caller_sees_pii

    hidden = original.get("_pii_attributes") if isinstance(original, dict) else None
    if hidden and "attributes" in data and not caller_sees_pii():
        data["attributes"] = {name: value for name, value in data["attributes"].items() if name not in hidden}
    return data


class AffiliationSchema(StrictSchema):
    """A member's tie to an organization (MEMBER_OF)."""

    member_id = Id(dump_only=True)
    organization_id = Id(dump_only=True)
    organization_name = fields.String(dump_only=True)
    role = term("affiliation_role", load_default="member")
    since = fields.Date(allow_none=True, dump_default=None)
    until = fields.Date(allow_none=True, dump_default=None)

    @validates_schema
    def _until_after_since(self, data, **kwargs):
        date_range_check(data, "since", "until")


class MemberSchema(StrictSchema):
    id = Id(dump_only=True)
    name = trimmed(200, required=True)
    email = email_field(allow_none=True, dump_default=None,
                        metadata={"description": "personal data: shown only to keys with the `pii` scope"})
    role = term("member_role", allow_none=True, dump_default=None)
    title = trimmed(200, allow_none=True, dump_default=None)
    region = trimmed(100, allow_none=True, dump_default=None)
    topics = tag_list(load_default=list, metadata={"description": "focus areas, stored lower-case"})
    populations = tag_list(load_default=list, metadata={"description": "populations served"})
    discoverable = StrictBoolean(load_default=True,
                                  metadata={"description": "consent to be recommended to other members"})
    attributes = attributes_field(load_default=dict)
    affiliations = fields.List(fields.Nested(AffiliationSchema), dump_only=True)
    cluster_id = Id(dump_only=True, metadata={"description": "the member's cluster in the latest analytics "
                                                             "(GET /v1/analytics/clusters), once computed"})
    betweenness = fields.Float(dump_only=True, metadata={"description": "normalized betweenness in the latest "
                                                                         "analytics (GET /v1/analytics/bridges)"})
    coreness = fields.Integer(dump_only=True, metadata={"description": "k-core number in the latest analytics "
                                                                       "(GET /v1/analytics/reach), once computed"})
    matched = fields.String(dump_only=True, metadata={
        "description": "on POST: `email` when the member already existed with this email (one person, one "
                       "member) and was returned unchanged instead of created"})
    version = fields.Integer(dump_only=True)
    created_at = fields.DateTime(dump_only=True)
    updated_at = fields.DateTime(dump_only=True)

    @post_dump(pass_original=True)
    def _hide_personal_data(self, data, original, **kwargs):
        from service.callers import sees_pii as caller_sees_pii

        if not caller_sees_pii():
            data.pop("email", None)
        return hide_personal_attributes(data, original)


class MemberCreateArgsSchema(StrictSchema):
    match_on = fields.String(validate=validate.OneOf(("email", "none")), metadata={
        "description": "email: a member with this email is returned (200) instead of a second one created; "
                       "none: always create. Default: the deployment's NETWEAVE_MEMBER_MATCH_ON (email)"})


class MemberPatchSchema(NonEmptyPatch, MemberSchema):
    """Any subset of a member's fields; null clears an optional one."""

    name = trimmed(200)
    topics = tag_list()
    populations = tag_list()
    discoverable = StrictBoolean()
    attributes = attributes_field()


class MemberListArgsSchema(AttributeFilterArgs, PageArgsSchema):
    organization_id = Id(metadata={"description": "only members affiliated with this organization"})
    region = trimmed(100)
    role = term_filter("member_role", "only members in this role")
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


class DuplicateMemberSchema(StrictSchema):
    id = Id(dump_only=True)
    name = fields.String(dump_only=True)
    email = fields.String(dump_only=True, metadata={"description": "only with the `pii` scope"})
    organizations = fields.List(fields.String(), dump_only=True)

    @post_dump
    def _hide_personal_data(self, data, **kwargs):
        from service.callers import sees_pii as caller_sees_pii

        if not caller_sees_pii():
            data.pop("email", None)
        return data


class DuplicateGroupSchema(StrictSchema):
    reason = fields.String(dump_only=True, metadata={"enum": ["email", "name_in_organization"], "description":
                           "email: the same email (trimmed, lower-case); name_in_organization: the same name in "
                           "one organization"})
    size = fields.Integer(dump_only=True)
    members = fields.List(fields.Nested(DuplicateMemberSchema), dump_only=True,
                          metadata={"description": "the oldest first, at most 20"})


class DuplicateArgsSchema(StrictSchema):
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))


class DuplicatePageSchema(StrictSchema):
    items = fields.List(fields.Nested(DuplicateGroupSchema), required=True)
    truncated = fields.Boolean(required=True, metadata={"description": "more groups than `limit`"})


class MemberMergeSchema(StrictSchema):
    from_ = fields.List(Id(), required=True, data_key="from", validate=validate.Length(min=1, max=20), metadata={
        "description": "the members to fold into this one; they are deleted, and the change feed's tombstone "
                       "of each names this member in `merged_into`"})
