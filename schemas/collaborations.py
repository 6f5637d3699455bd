"""Collaboration schemas: a tie between two parties (members or organizations)."""

from __future__ import annotations

from marshmallow import post_dump

from schemas.attributes import attributes_field
from schemas.common import (AttributeFilterArgs, Id, NonEmptyPatch, PageArgsSchema, PageSchema, StrictSchema,
                            ValidationError, WholeNumber, date_range_check, fields, trimmed, validate, validates_schema)
from schemas.members import hide_personal_attributes
from schemas.vocabularies import DEFAULT_TERMS, term, term_filter

COLLABORATION_KINDS = DEFAULT_TERMS["collaboration_kind"]  # the defaults of the collaboration_kind vocabulary


class PartySchema(StrictSchema):
    id = Id(dump_only=True)
    type = fields.String(dump_only=True, metadata={"description": "member or organization"})
    name = fields.String(dump_only=True)


class CollaborationSchema(StrictSchema):
    id = Id(dump_only=True)
    source_id = Id(required=True, metadata={"description": "a member or organization id"})
    target_id = Id(required=True, metadata={"description": "a member or organization id"})
    parties = fields.List(fields.Nested(PartySchema), dump_only=True)
    kind = term("collaboration_kind", required=True)
    strength = WholeNumber(load_default=3, validate=validate.Range(min=1, max=5))
    trust = WholeNumber(allow_none=True, dump_default=None, validate=validate.Range(min=1, max=5), metadata={
        "description": "how much the parties trust each other, 1-5 (a check-in's trust scale); null when unknown"})
    value = WholeNumber(allow_none=True, dump_default=None, validate=validate.Range(min=1, max=5), metadata={
        "description": "how valuable the tie is to them, 1-5 (a check-in's value scale); null when unknown"})
    reciprocated = fields.Boolean(dump_only=True, dump_default=None, metadata={
        "description": "ties from check-ins: true when both named each other, false when one did; else null"})
    started_on = fields.Date(allow_none=True, dump_default=None)
    ended_on = fields.Date(allow_none=True, dump_default=None)
    source = trimmed(100, load_default="api", metadata={"description": "the system that recorded it"})
    note = trimmed(2000, multiline=True, allow_none=True, dump_default=None)
    attributes = attributes_field(load_default=dict)
    version = fields.Integer(dump_only=True)
    created_at = fields.DateTime(dump_only=True)
    updated_at = fields.DateTime(dump_only=True)

    @post_dump(pass_original=True)
    def _hide_personal_data(self, data, original, **kwargs):
        return hide_personal_attributes(data, original)

    @validates_schema
    def _consistent(self, data, **kwargs):
        date_range_check(data, "started_on", "ended_on")
        if data.get("source_id") and data.get("source_id") == data.get("target_id"):
            raise ValidationError("a collaboration needs two different parties", "target_id")


class CollaborationPatchSchema(NonEmptyPatch, StrictSchema):
    """The fields of a collaboration that may change; its parties may not."""

    kind = term("collaboration_kind")
    strength = WholeNumber(validate=validate.Range(min=1, max=5))
    trust = WholeNumber(allow_none=True, dump_default=None, validate=validate.Range(min=1, max=5), metadata={
        "description": "how much the parties trust each other, 1-5 (a check-in's trust scale); null when unknown"})
    value = WholeNumber(allow_none=True, dump_default=None, validate=validate.Range(min=1, max=5), metadata={
        "description": "how valuable the tie is to them, 1-5 (a check-in's value scale); null when unknown"})
    started_on = fields.Date(allow_none=True, dump_default=None)
    ended_on = fields.Date(allow_none=True, dump_default=None)
    note = trimmed(2000, multiline=True, allow_none=True, dump_default=None)
    attributes = attributes_field()

    @validates_schema
    def _consistent(self, data, **kwargs):
        date_range_check(data, "started_on", "ended_on")


class CollaborationListArgsSchema(AttributeFilterArgs, PageArgsSchema):
    party_id = Id(metadata={"description": "only collaborations of this member or organization"})
    kind = term_filter("collaboration_kind", "only collaborations of this kind")
    active_on = fields.Date(metadata={"description": "only collaborations active on this date"})


class CollaborationPageSchema(PageSchema):
    items = fields.List(fields.Nested(CollaborationSchema), required=True)
