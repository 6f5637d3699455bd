"""Ego network schemas: the arguments of GET /v1/members/{id}/network and the network it answers."""

from __future__ import annotations

from schemas.common import Id, StrictSchema, fields, validate
from schemas.members import MemberSchema

MAX_ALTERS = 500


class EgoArgsSchema(StrictSchema):
    depth = fields.Integer(load_default=1, validate=validate.Range(min=1, max=2),
                           metadata={"description": "1: the member's collaborators; 2: theirs too"})
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=MAX_ALTERS), metadata={
        "description": f"members shown besides this one, 1-{MAX_ALTERS}: collaborators first (strongest ties "
                       "first), then members two steps away (most mutual collaborators first)"})
    as_of = fields.Date(metadata={"description": "collaborations active on this date; default today"})


class AlterSchema(StrictSchema):
    member = fields.Nested(MemberSchema, required=True)
    distance = fields.Integer(required=True, metadata={"description": "steps from the member: 1 or 2"})
    strength = fields.Float(allow_none=True, required=True, metadata={
        "description": "summed strength of the member's collaborations with this one (distance 1)"})
    mutual_contacts = fields.Integer(allow_none=True, required=True, metadata={
        "description": "the member's collaborators this one collaborates with (distance 2)"})


class EgoTieSchema(StrictSchema):
    source_id = Id(required=True)
    target_id = Id(required=True)
    strength = fields.Float(required=True, metadata={"description": "summed strength of the pair's collaborations"})
    collaborations = fields.Integer(required=True)


class EgoNetworkSchema(StrictSchema):
    member = fields.Nested(MemberSchema, required=True)
    depth = fields.Integer(required=True)
    as_of = fields.Date(required=True)
    limit = fields.Integer(required=True)
    alters = fields.List(fields.Nested(AlterSchema), required=True, metadata={
        "description": "the members shown around this one: collaborators, then (depth 2) members two steps away"})
    alters_total = fields.Integer(required=True, metadata={"description": "members within `depth` steps"})
    truncated = fields.Boolean(required=True, metadata={
        "description": "true when more members are within `depth` steps than `limit` lets show"})
    ties = fields.List(fields.Nested(EgoTieSchema), required=True, metadata={
        "description": "every tie among the members shown, this one included (source_id < target_id)"})
    degree = fields.Integer(required=True, metadata={"description": "the member's collaborators"})
    two_step_reach = fields.Integer(required=True, metadata={"description": "members within two steps"})
    reach = fields.Float(required=True, metadata={"description": "two_step_reach over every other member"})
    reach_efficiency = fields.Float(allow_none=True, required=True,
                                    metadata={"description": "reach / degree; null without ties"})
    picture = fields.String(required=True, metadata={
        "description": "where to get this neighbourhood drawn (GET /v1/analytics/map.svg, scope analytics)"})
