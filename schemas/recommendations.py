"""Recommendation and introduction schemas."""

from __future__ import annotations

from schemas.common import (Id, PageArgsSchema, PageSchema, Schema, StrictSchema, ValidationError, fields, trimmed,
                            validate, validates_schema)
from schemas.members import MemberSchema
from schemas.vocabularies import term_filter
from schemas.organizations import OrganizationSchema
from service.recommending.recommendations import STRATEGIES

INTRODUCTION_STATUSES = ("suggested", "accepted", "declined")


class MemberRecommendationArgsSchema(StrictSchema):
    strategy = fields.String(load_default="balanced", validate=validate.OneOf(STRATEGIES))
    limit = fields.Integer(load_default=10, validate=validate.Range(min=1, max=50))
    region = trimmed(100)
    role = term_filter("member_role", "only candidates in this role")
    organization_id = Id(metadata={"description": "only members of this organization"})
    exclude_organization_id = Id(metadata={"description": "no members of this organization"})


class OrganizationRecommendationArgsSchema(StrictSchema):
    limit = fields.Integer(load_default=10, validate=validate.Range(min=1, max=50))


class ReasonSchema(Schema):
    """One reason: `mutual_collaborators` (members, count), `shared_topics` (topics),
    `shared_organizations` (count, organizations: up to three {id, name}), `bridges_clusters` (from, to),
    `same_region`, `same_role`, `role_pair` (roles: the two, often tied in this network), `member_ties` (count, examples), `shared_activity` (count, activities: up
    to three {id, name}), `trusted_path` (members: the go-between, trust: the path's lower rating of 1-5, from
    check-ins). A member recommendation's reasons each say it in `text` ("3 mutual collaborators:
    ...", "both in the Spring Math cohort") and carry `contribution`, what the reason's features added to
    the score; they come strongest first."""

    class Meta:
        unknown = "include"

    type = fields.String(required=True)
    members = fields.List(fields.Dict())
    count = fields.Integer()
    topics = fields.List(fields.String())
    examples = fields.List(fields.Dict())
    from_ = fields.String(data_key="from", attribute="from")
    to = fields.String()
    activities = fields.List(fields.Dict())
    organizations = fields.List(fields.Dict())
    roles = fields.List(fields.String())
    trust = fields.Integer()
    text = fields.String()
    contribution = fields.Float()


class ImpactSchema(Schema):
    joins_untied_clusters = fields.Boolean(required=True, metadata={
        "description": "the new tie would connect two clusters that have no tie between them yet"})
    around_articulation_points = fields.List(fields.String(), allow_none=True, required=True, metadata={
        "description": "ids of the articulation points every path between the two passes through, which the new "
                       "tie would give a second way around ([] none; null: not in one component, or no bridge "
                       "analysis of the current graph yet)"})


class MemberRecommendationSchema(Schema):
    member = fields.Nested(MemberSchema, required=True)
    score = fields.Float(required=True)
    features = fields.Dict(keys=fields.String(), values=fields.Float(), required=True)
    reasons = fields.List(fields.Nested(ReasonSchema), required=True)
    impact = fields.Nested(ImpactSchema, metadata={"description": "balanced and bridge_silos only"})


class MemberRecommendationsSchema(Schema):
    items = fields.List(fields.Nested(MemberRecommendationSchema), required=True)
    strategy = fields.String(required=True)
    computed = fields.Dict(required=True)


class OrganizationRecommendationSchema(Schema):
    organization = fields.Nested(OrganizationSchema, required=True)
    score = fields.Float(required=True)
    reasons = fields.List(fields.Nested(ReasonSchema), required=True)


class OrganizationRecommendationsSchema(Schema):
    items = fields.List(fields.Nested(OrganizationRecommendationSchema), required=True)
    computed = fields.Dict(required=True)


class IntroducedMemberSchema(Schema):
    id = fields.String(required=True)
    name = fields.String(required=True)


class IntroductionSchema(StrictSchema):
    id = Id(dump_only=True)
    member_ids = fields.List(Id(), required=True, load_only=True, validate=validate.Length(equal=2))
    members = fields.List(fields.Nested(IntroducedMemberSchema), dump_only=True)
    note = trimmed(2000, multiline=True, allow_none=True, dump_default=None)
    status = fields.String(dump_only=True)
    collaboration_id = Id(dump_only=True, allow_none=True, dump_default=None,
                          metadata={"description": "the collaboration an accepted introduction created"})
    version = fields.Integer(dump_only=True)
    created_at = fields.DateTime(dump_only=True)
    updated_at = fields.DateTime(dump_only=True)

    @validates_schema
    def _two_members(self, data, **kwargs):
        ids = data.get("member_ids") or []
        if len(ids) == 2 and ids[0] == ids[1]:
            raise ValidationError("an introduction needs two different members", "member_ids")


class IntroductionDecisionSchema(StrictSchema):
    status = fields.String(required=True, validate=validate.OneOf(("accepted", "declined")))
    note = trimmed(2000, multiline=True, allow_none=True)


class IntroductionListArgsSchema(PageArgsSchema):
    status = fields.String(validate=validate.OneOf(INTRODUCTION_STATUSES))
    member_id = Id()


class IntroductionPageSchema(PageSchema):
    items = fields.List(fields.Nested(IntroductionSchema), required=True)
