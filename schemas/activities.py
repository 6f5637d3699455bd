"""Activity schemas: a shared activity (convening, workshop, cohort, committee) and its participants."""

from __future__ import annotations

from schemas.common import (Id, NonEmptyPatch, PageArgsSchema, PageSchema, StrictSchema, ValidationError,
                            date_range_check, fields, trimmed, validate, validates_schema)
from schemas.vocabularies import DEFAULT_TERMS, term, term_filter

ACTIVITY_KINDS = DEFAULT_TERMS["activity_kind"]  # the defaults of the activity_kind vocabulary
PARTICIPANT_ROLES = ("participant", "facilitator")
MAX_PARTICIPANTS = 1000


class _Folded(fields.String):
    """A choice read as every other word of the API is: surrounding space and case do not matter
    ("Facilitator" is facilitator)."""

    def _deserialize(self, value, attr, data, **kwargs):
        return super()._deserialize(value, attr, data, **kwargs).strip().casefold()


def participant_role() -> fields.String:
    return _Folded(load_default="participant", validate=validate.OneOf(PARTICIPANT_ROLES), metadata={
        "description": "participant or facilitator (case and surrounding space ignored)"})


def _organization_id(**kwargs) -> Id:
    return Id(allow_none=True, metadata={"description": "the organization that hosts it (null: none)"}, **kwargs)


class ActivitySchema(StrictSchema):
    id = Id(dump_only=True)
    name = trimmed(200, required=True)
    kind = term("activity_kind", required=True)
    starts_on = fields.Date(allow_none=True, dump_default=None, metadata={
        "description": "when it started; the analytics count its co-participation from then on (null: always)"})
    ends_on = fields.Date(allow_none=True, dump_default=None)
    organization_id = _organization_id(dump_default=None)
    participant_count = fields.Integer(dump_only=True)
    version = fields.Integer(dump_only=True)
    created_at = fields.DateTime(dump_only=True)
    updated_at = fields.DateTime(dump_only=True)

    @validates_schema
    def _consistent(self, data, **kwargs):
        date_range_check(data, "starts_on", "ends_on")


class ActivityPatchSchema(NonEmptyPatch, StrictSchema):
    name = trimmed(200)
    kind = term("activity_kind")
    starts_on = fields.Date(allow_none=True)
    ends_on = fields.Date(allow_none=True)
    organization_id = _organization_id()

    @validates_schema
    def _consistent(self, data, **kwargs):
        date_range_check(data, "starts_on", "ends_on")


class ActivityListArgsSchema(PageArgsSchema):
    kind = term_filter("activity_kind", "only activities of this kind")
    organization_id = Id(metadata={"description": "only activities this organization hosts"})
    member_id = Id(metadata={"description": "only activities this member took part in"})


class ActivityPageSchema(PageSchema):
    items = fields.List(fields.Nested(ActivitySchema), required=True)


class ParticipantSchema(StrictSchema):
    member_id = Id(required=True)
    name = fields.String(dump_only=True)
    role = participant_role()


class ParticipantsSchema(StrictSchema):
    participants = fields.List(fields.Nested(ParticipantSchema), required=True,
                               validate=validate.Length(max=MAX_PARTICIPANTS), metadata={
                                   "description": f"every participant (the set is replaced), at most "
                                                  f"{MAX_PARTICIPANTS}; a member listed twice is refused"})

    @validates_schema
    def _distinct(self, data, **kwargs):
        seen: dict[str, int] = {}
        for index, item in enumerate(data.get("participants") or ()):
            if item["member_id"] in seen:
                raise ValidationError(f"listed already at participants.{seen[item['member_id']]}",
                                      f"participants.{index}.member_id")
            seen[item["member_id"]] = index


class ParticipantPageSchema(PageSchema):
    items = fields.List(fields.Nested(ParticipantSchema), required=True)
