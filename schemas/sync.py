"""CRM sync schemas: the batch envelope, one record schema per resource, and per-record results."""

from __future__ import annotations

from marshmallow import EXCLUDE

from schemas.activities import MAX_PARTICIPANTS, participant_role
from schemas.attributes import attributes_field
from schemas.common import (Id, PageSchema, ProblemSchema, Schema, StrictBoolean, StrictSchema, ValidationError,
                            WholeNumber, date_range_check, email_field, fields, tag_list, trimmed, validate,
                            validates_schema)
from schemas.vocabularies import term

MATCH_ON = ("email",)

MAX_RECORDS = 1000
SOURCE_PATTERN = r"^[a-z0-9][a-z0-9_.-]{0,49}$"
# `detached`: a tombstone for a member or organization that other sources (or the API) still hold: only the
# source's external id went.
STATUSES = ("created", "updated", "unchanged", "deleted", "detached", "error")


class _Records(fields.List):
    """A list of JSON objects (the spec says so, as for List(Dict())): each is validated on its own later, by
    the sync repository. A list of plain dicts is copied as the Dict field would, without a field call per
    record (a thousand per batch); anything else takes List's own path and its errors."""

    def _deserialize(self, value, attr, data, **kwargs):
        if type(value) is list and all(type(item) is dict for item in value):
            return [dict(item) for item in value]
        return super()._deserialize(value, attr, data, **kwargs)


class SyncRequestSchema(StrictSchema):
    source = fields.String(required=True, validate=validate.Regexp(SOURCE_PATTERN, error=(
        "1-50 characters: lower-case letters, digits, '_', '.', '-'")),
        metadata={"description": "the system the records come from, e.g. `salesforce`, `hubspot`"})
    # The view enforces the maximum (413, not 422: the batch is too large, not malformed); documented here.
    records = _Records(fields.Dict(), required=True, validate=validate.Length(min=1), metadata={
        "description": f"at most {MAX_RECORDS} records (more: 413); each is validated on its own",
        "maxItems": MAX_RECORDS})
    match_on = fields.List(fields.String(validate=validate.OneOf(MATCH_ON)), validate=validate.Length(max=1),
                           metadata={"description": "members only: how a record with no known external id finds "
                                                    "the person it names; `[\"email\"]` (the deployment's default, "
                                                    "NETWEAVE_MEMBER_MATCH_ON) attaches it to the member with the same "
                                                    "email, `[]` always creates"})


class SyncArgsSchema(StrictSchema):
    atomic = fields.Boolean(load_default=False, metadata={
        "description": "all or nothing: any failing record fails the batch with 400 and nothing is written"})


class _RecordSchema(StrictSchema):
    external_id = trimmed(200, required=True, metadata={"description": "the record's id in the source system"})
    deleted = StrictBoolean(load_default=False, metadata={"description": "a tombstone: delete the record"})

    REQUIRED_UNLESS_DELETED: tuple[str, ...] = ()

    @validates_schema
    def _required_unless_deleted(self, data, **kwargs):
        if data.get("deleted"):
            extra = sorted(set(data) - {"external_id", "deleted"})
            if extra:
                raise ValidationError("a tombstone carries only external_id and deleted", extra[0])
            return
        for name in self.REQUIRED_UNLESS_DELETED:
            if data.get(name) is None:
                raise ValidationError("Missing data for required field.", name)


_LINK = {"description": "a netweave id: attach this external id to that existing node (e.g. the same person "
                        "in a second system) instead of creating one"}


class SyncOrganizationRecordSchema(_RecordSchema):
    REQUIRED_UNLESS_DELETED = ("name",)
    id = Id(metadata=_LINK)
    name = trimmed(200)
    kind = term("organization_kind", allow_none=True)
    region = trimmed(100, allow_none=True)
    topics = tag_list()
    attributes = attributes_field()


class SyncMemberRecordSchema(_RecordSchema):
    REQUIRED_UNLESS_DELETED = ("name",)
    id = Id(metadata=_LINK)
    name = trimmed(200)
    email = email_field(allow_none=True)
    role = term("member_role", allow_none=True)
    title = trimmed(200, allow_none=True)
    region = trimmed(100, allow_none=True)
    topics = tag_list()
    populations = tag_list()
    discoverable = StrictBoolean()
    attributes = attributes_field()
    organizations = fields.List(trimmed(200), validate=validate.Length(max=50), metadata={
        "description": "the member's organizations by external id of the same source (or netweave id); "
                       "the member's affiliations from this source become exactly these"})


class SyncCollaborationRecordSchema(_RecordSchema):
    REQUIRED_UNLESS_DELETED = ("source_external_id", "target_external_id", "kind")
    source_external_id = trimmed(200, metadata={"description": "a member or organization of the same source "
                                                                "(or a netweave id)"})
    target_external_id = trimmed(200)
    kind = term("collaboration_kind")
    strength = WholeNumber(validate=validate.Range(min=1, max=5))
    trust = WholeNumber(allow_none=True, validate=validate.Range(min=1, max=5))
    value = WholeNumber(allow_none=True, validate=validate.Range(min=1, max=5))
    started_on = fields.Date(allow_none=True)
    ended_on = fields.Date(allow_none=True)
    note = trimmed(2000, multiline=True, allow_none=True)
    attributes = attributes_field()

    @validates_schema
    def _consistent(self, data, **kwargs):
        date_range_check(data, "started_on", "ended_on")
        if data.get("source_external_id") and data.get("source_external_id") == data.get("target_external_id"):
            raise ValidationError("a collaboration needs two different parties", "target_external_id")


class SyncParticipantSchema(StrictSchema):
    member_external_id = trimmed(200, required=True, metadata={"description": "a member of the same source (or a "
                                                                              "netweave id)"})
    role = participant_role()


class SyncActivityRecordSchema(_RecordSchema):
    REQUIRED_UNLESS_DELETED = ("name", "kind")
    name = trimmed(200)
    kind = term("activity_kind")
    starts_on = fields.Date(allow_none=True)
    ends_on = fields.Date(allow_none=True)
    organization_external_id = trimmed(200, allow_none=True, metadata={
        "description": "the host: an organization of the same source (or a netweave id); null: none; absent: "
                       "left as it is"})
    participants = fields.List(fields.Nested(SyncParticipantSchema), validate=validate.Length(max=MAX_PARTICIPANTS),
                               metadata={"description": "the activity's participants become exactly these; absent: "
                                                        "left as they are"})

    @validates_schema
    def _consistent(self, data, **kwargs):
        date_range_check(data, "starts_on", "ends_on")
        seen: dict[str, int] = {}
        for index, item in enumerate(data.get("participants") or ()):
            if item["member_external_id"] in seen:
                raise ValidationError(f"listed already at participants.{seen[item['member_external_id']]}",
                                      f"participants.{index}.member_external_id")
            seen[item["member_external_id"]] = index


RECORD_SCHEMAS = {
    "organizations": SyncOrganizationRecordSchema,
    "members": SyncMemberRecordSchema,
    "collaborations": SyncCollaborationRecordSchema,
    "activities": SyncActivityRecordSchema,
}


def sync_request_schema(resource: str) -> type[SyncRequestSchema]:
    """The request of POST /v1/sync/{resource}: SyncRequestSchema, whose document gives each record the shape of
    the resource's record (`record_schema`; service.web.api's converter puts it under `records.items`). The
    records are still loaded one by one by the repository, so that one bad record fails alone."""
    name = f"Sync{resource.title()}Request"
    return type(name, (SyncRequestSchema,), {"record_schema": RECORD_SCHEMAS[resource]})


class SyncRecordProblemSchema(ProblemSchema):
    member_id = fields.String(metadata={"description": "`member-email-taken`: the member holding the email the "
                                                       "record would give its member (merge the two, or fix the "
                                                       "source)"})


class SyncResultSchema(Schema):
    index = fields.Integer(required=True)
    external_id = fields.String(allow_none=True, required=True)
    status = fields.String(required=True, validate=validate.OneOf(STATUSES), metadata={
        "description": "`created`, `updated`, `unchanged` (nothing written; also a tombstone naming nothing), "
                       "`deleted`, `detached` (a tombstone for a member or organization other sources or the API "
                       "still hold: only this source's external id went, see `held_by`), `error`"})
    id = fields.String(allow_none=True, required=True, metadata={"description": "the netweave id"})
    error = fields.Nested(SyncRecordProblemSchema, allow_none=True, required=True)
    matched = fields.String(validate=validate.OneOf(("email",)), metadata={
        "description": "present when the record found its member by email (one person, one member)"})
    new_values = fields.Dict(keys=fields.String(), values=fields.String(), metadata={
        "description": "present when the record added values to open vocabularies: field -> value added"})
    held_by = fields.List(fields.String(), metadata={
        "description": "present when `status` is `detached`: the sources whose external ids still name the member "
                       "or organization, and `api` when it was made through the API; the tombstone removed only "
                       "this source's external id"})


class SyncSummarySchema(Schema):
    class Meta:
        unknown = EXCLUDE

    created = fields.Integer(required=True)
    updated = fields.Integer(required=True)
    unchanged = fields.Integer(required=True)
    deleted = fields.Integer(required=True)
    detached = fields.Integer(required=True, metadata={
        "description": "tombstones that removed only this source's external id: others still hold the record"})
    error = fields.Integer(required=True)


class SyncResponseSchema(Schema):
    results = fields.List(fields.Nested(SyncResultSchema), required=True)
    summary = fields.Nested(SyncSummarySchema, required=True)

    _PROBLEM = SyncRecordProblemSchema()

    def dump(self, obj, *, many=None):
        """The same document as the declared fields give, built directly: a batch answers 1,000 results, and
        marshmallow's field-by-field dump of them cost more than the statements writing them. Only errors
        (problem documents, which may carry members the schema leaves out) go through marshmallow."""
        if many:
            return [self.dump(item) for item in obj]
        problem = self._PROBLEM
        return {"results": [{"index": result["index"], "external_id": result["external_id"],
                             "status": result["status"], "id": result["id"],
                             "error": None if result["error"] is None else problem.dump(result["error"]),
                             **{key: result[key] for key in ("matched", "new_values", "held_by") if result.get(key)}}
                            for result in obj["results"]],
                "summary": {status: obj["summary"][status] for status in STATUSES}}


class ChangeArgsSchema(StrictSchema):
    since = fields.String(validate=validate.Length(min=1, max=200),
                          metadata={"description": "next_cursor of the previous page; absent: from the oldest kept"})
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=1000))
    resource = fields.String(validate=validate.OneOf(("member", "organization", "affiliation", "collaboration",
                                                       "introduction", "activity")))
    source = fields.String(validate=validate.Length(min=1, max=50), metadata={"description": "only this source's"})
    exclude_source = fields.String(validate=validate.Length(min=1, max=50),
                                   metadata={"description": "skip this source's changes (e.g. your own writes)"})


class ChangeSchema(Schema):
    seq = fields.Integer(required=True, metadata={"description": "position in commit order"})
    resource = fields.String(required=True)
    id = fields.String(required=True, metadata={"description": "affiliations: member_id/organization_id"})
    action = fields.String(required=True, validate=validate.OneOf(("create", "update", "delete")))
    source = fields.String(required=True)
    external_ids = fields.List(fields.String(), required=True)
    at = fields.DateTime(required=True)
    merged_into = fields.String(allow_none=True, metadata={
        "description": "a member deleted by a merge: the member it was merged into (follow it)"})


class ChangePageSchema(PageSchema):
    items = fields.List(fields.Nested(ChangeSchema), required=True)
    next_cursor = fields.String(required=True, metadata={"description": "pass as `since` to continue; "
                                                                        "never null, so a client can poll with it"})
