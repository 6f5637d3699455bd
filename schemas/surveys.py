"""Check-ins (relationship surveys): their definitions, invitations, answers and results."""

from __future__ import annotations

from marshmallow import Schema, post_load

from schemas.common import (ATTRIBUTE_NAME_PATTERN, Id, NonEmptyPatch, StrictBoolean, StrictSchema, ValidationError,
                            WholeNumber, fields, trimmed, validate, validates_schema)
from schemas.vocabularies import term

MAX_QUESTIONS = 20
MAX_NAMES = 50                 # per name generator question (its max_names is 1..this)
MAX_SCALES = 5
MAX_INVITATIONS = 5000         # per request
MAX_WRITE_INS = 20             # per answer
# The scales the ties carry: `frequency` gives a tie's strength, `trust` and `value` its own fields.
TIE_SCALES = ("frequency", "trust", "value")
# A member's built-in fields an attribute question may fill (besides the network's custom member attributes).
BUILT_IN_ATTRIBUTES = ("role", "title", "region", "topics", "populations")
_SLUG = validate.Regexp(r"^[a-z][a-z0-9_]{0,39}$", error="lower-case letters, digits and _, starting with a letter "
                                                          "(at most 40)")


class ScaleSchema(StrictSchema):
    name = fields.String(required=True, validate=_SLUG, metadata={
        "description": "frequency becomes the tie's strength, trust and value the tie's own fields; any other "
                       "name is kept on the nomination"})
    min = WholeNumber(required=True, validate=validate.Range(min=0, max=10))
    max = WholeNumber(required=True, validate=validate.Range(min=1, max=10))
    labels = fields.List(trimmed(60), validate=validate.Length(max=11), metadata={
        "description": "one label per point, min to max (e.g. 'not at all' .. 'completely')"})

    @validates_schema
    def _range(self, data, **kwargs):
        if "min" in data and "max" in data:
            if data["max"] <= data["min"]:
                raise ValidationError("must be greater than min", "max")
            if "labels" in data and len(data["labels"]) != data["max"] - data["min"] + 1:
                raise ValidationError(f"give one label per point: {data['max'] - data['min'] + 1}", "labels")


class RosterSegmentSchema(StrictSchema):
    organization_id = Id()
    region = trimmed(100)
    role = trimmed(100)
    topic = trimmed(100)


class RosterSchema(StrictSchema):
    """Whom a name generator lists: everyone, the members of some organizations, or a segment."""

    all = StrictBoolean(metadata={"description": "every member"})
    organization_ids = fields.List(Id(), validate=validate.Length(min=1, max=200))
    segment = fields.Nested(RosterSegmentSchema, metadata={"description": "members matching all the given fields"})

    @validates_schema
    def _one(self, data, **kwargs):
        given = [key for key in ("all", "organization_ids", "segment") if key in data]
        if len(given) != 1:
            raise ValidationError("give exactly one of all, organization_ids, segment", "_schema")
        if data.get("all") is False:
            raise ValidationError("only true; to list fewer members give organization_ids or a segment", "all")


class QuestionSchema(StrictSchema):
    id = fields.String(required=True, validate=_SLUG, metadata={"description": "unique in the survey"})
    type = fields.String(required=True, validate=validate.OneOf(("names", "attribute")), metadata={
        "description": "names: a name generator (who do you go to for ...); attribute: fills the respondent's "
                       "own field"})
    prompt = trimmed(500)
    # names
    tie_kind = term("collaboration_kind", metadata={"description": "names: the kind of the ties it makes"})
    roster = fields.Nested(RosterSchema)
    max_names = WholeNumber(validate=validate.Range(min=1, max=MAX_NAMES))
    allow_write_ins = StrictBoolean()
    scales = fields.List(fields.Nested(ScaleSchema), validate=validate.Length(max=MAX_SCALES))
    # attribute
    attribute = fields.String(validate=validate.Regexp(ATTRIBUTE_NAME_PATTERN), metadata={
        "description": "attribute: a custom member attribute or one of " + ", ".join(BUILT_IN_ATTRIBUTES)})

    @validates_schema
    def _by_type(self, data, **kwargs):
        kind = data.get("type")
        names_only = ("tie_kind", "roster", "max_names", "allow_write_ins", "scales")
        if kind == "names":
            for field in ("prompt", "tie_kind", "roster"):
                if field not in data:
                    raise ValidationError("required for a names question", field)
            if "attribute" in data:
                raise ValidationError("only for an attribute question", "attribute")
            scales = [scale["name"] for scale in data.get("scales", [])]
            if len(set(scales)) != len(scales):
                raise ValidationError("scale names must differ", "scales")
        elif kind == "attribute":
            if "attribute" not in data:
                raise ValidationError("required for an attribute question", "attribute")
            for field in names_only:
                if field in data:
                    raise ValidationError("only for a names question", field)

    @post_load
    def _defaults(self, data, **kwargs):
        if data["type"] == "names":
            data.setdefault("max_names", 15)
            data.setdefault("allow_write_ins", True)
            data.setdefault("scales", [])
        return data


def _unique_question_ids(questions: list[dict]) -> None:
    ids = [question["id"] for question in questions]
    for index, question_id in enumerate(ids):
        if question_id in ids[:index]:
            raise ValidationError({index: {"id": [f"{question_id} appears twice"]}}, "questions")


class SurveySchema(StrictSchema):
    id = Id(dump_only=True)
    title = trimmed(200, required=True)
    opens_at = fields.AwareDateTime(load_default=None, metadata={"description": "default: at once"})
    closes_at = fields.AwareDateTime(required=True, metadata={"description": "answers and tokens end then"})
    questions = fields.List(fields.Nested(QuestionSchema), required=True,
                            validate=validate.Length(min=1, max=MAX_QUESTIONS))
    status = fields.String(dump_only=True, metadata={"description": "scheduled, open or closed"})
    closed_at = fields.DateTime(dump_only=True, allow_none=True)
    answered = WholeNumber(dump_only=True, metadata={"description": "respondents who submitted"})
    version = fields.Integer(dump_only=True)
    created_at = fields.DateTime(dump_only=True)
    updated_at = fields.DateTime(dump_only=True)

    @validates_schema
    def _consistent(self, data, **kwargs):
        if data.get("opens_at") and data.get("closes_at") and data["closes_at"] <= data["opens_at"]:
            raise ValidationError("must be after opens_at", "closes_at")
        _unique_question_ids(data.get("questions") or [])


class SurveyPatchSchema(NonEmptyPatch, StrictSchema):
    """Questions and opens_at change only while no one has answered; title and closes_at until it closes."""

    title = trimmed(200)
    opens_at = fields.AwareDateTime()
    closes_at = fields.AwareDateTime()
    questions = fields.List(fields.Nested(QuestionSchema), validate=validate.Length(min=1, max=MAX_QUESTIONS))

    @validates_schema
    def _consistent(self, data, **kwargs):
        if data.get("opens_at") and data.get("closes_at") and data["closes_at"] <= data["opens_at"]:
            raise ValidationError("must be after opens_at", "closes_at")
        _unique_question_ids(data.get("questions") or [])


class SurveyPageSchema(Schema):
    items = fields.List(fields.Nested(SurveySchema), required=True)
    next_cursor = fields.String(allow_none=True, required=True)


class SurveyListArgsSchema(StrictSchema):
    limit = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))
    cursor = fields.String(validate=validate.Length(min=1, max=2000))
    status = fields.String(validate=validate.OneOf(("scheduled", "open", "closed")))


# --- invitations -------------------------------------------------------------------------------

class InvitationRequestSchema(StrictSchema):
    member_ids = fields.List(Id(), required=True, validate=validate.Length(min=1, max=MAX_INVITATIONS), metadata={
        "description": "a member invited again gets a new token; the old one stops working, answers stay"})


class IssuedInvitationSchema(Schema):
    member_id = fields.String(required=True)
    token = fields.String(required=True, metadata={"description": "shown once; only its hash is stored"})
    url = fields.String(required=True, metadata={"description": "the hosted check-in page for this token"})
    expires_at = fields.DateTime(required=True)


class IssuedInvitationsSchema(Schema):
    items = fields.List(fields.Nested(IssuedInvitationSchema), required=True)


class ReplayedInvitationSchema(Schema):
    member_id = fields.String(required=True)
    expires_at = fields.DateTime(required=True)


class ReplayedInvitationsSchema(Schema):
    """What a retry under the same Idempotency-Key gets: who was invited, not the tokens (shown once)."""

    items = fields.List(fields.Nested(ReplayedInvitationSchema), required=True)


class InvitationStatusSchema(Schema):
    member_id = fields.String(required=True)
    name = fields.String(required=True)
    status = fields.String(required=True, metadata={"description": "invited, started (a draft) or submitted"})
    invited_at = fields.DateTime(required=True)
    started_at = fields.DateTime(allow_none=True)
    submitted_at = fields.DateTime(allow_none=True)


class InvitationListSchema(Schema):
    counts = fields.Dict(keys=fields.String(), values=fields.Integer(), required=True)
    items = fields.List(fields.Nested(InvitationStatusSchema), required=True)


class InvitationListArgsSchema(StrictSchema):
    status = fields.String(validate=validate.OneOf(("invited", "started", "submitted")), metadata={
        "description": "only these (invited: not yet opened a draft; e.g. whom to remind)"})


# --- answering ---------------------------------------------------------------------------------

class NamedSchema(StrictSchema):
    member_id = Id(required=True)
    scales = fields.Dict(keys=fields.String(), values=WholeNumber(), load_default=dict)


class AnswerSchema(StrictSchema):
    question_id = fields.String(required=True, validate=validate.Length(min=1, max=40))
    named = fields.List(fields.Nested(NamedSchema), validate=validate.Length(max=MAX_NAMES))
    write_ins = fields.List(trimmed(200), validate=validate.Length(max=MAX_WRITE_INS))
    value = fields.Raw(allow_none=True, metadata={"description": "an attribute question's answer"})


class ResponseBodySchema(StrictSchema):
    answers = fields.List(fields.Nested(AnswerSchema), required=True, validate=validate.Length(max=MAX_QUESTIONS))
    submit = StrictBoolean(load_default=False, metadata={
        "description": "false saves a draft; true submits (and replaces an earlier submission)"})


class RosterEntrySchema(Schema):
    member_id = fields.String(required=True)
    name = fields.String(required=True)
    organization = fields.String(allow_none=True, required=True)
    role = fields.String(allow_none=True, required=True, metadata={"description": "the member_role value"})
    role_label = fields.String(allow_none=True, required=True, metadata={
        "description": "the role as the member_role vocabulary labels it (what the page shows and searches)"})


class RespondSurveySchema(Schema):
    id = fields.String(required=True)
    title = fields.String(required=True)
    opens_at = fields.DateTime(allow_none=True)
    closes_at = fields.DateTime(required=True)
    questions = fields.List(fields.Dict(), required=True, metadata={
        "description": "the survey's questions; an attribute question also carries `input`: how to ask it (`type`, "
                       "`label`, an enum's `values`), `pii` (the field is personal data) and `current`, the "
                       "respondent's own value on file (dates as YYYY-MM-DD, tags as a list), null when unset. A "
                       "field marked pii never shows its value here (a link can be forwarded): its `current` is "
                       "null, and the page leaves its input empty (left so, it sends no answer, which keeps the "
                       "value on file). Where `answers` holds a saved answer to the question, the page shows that "
                       "instead. An answer equal to the value on file changes nothing on the member (no new "
                       "version, no change entry)"})


class RespondPageSchema(Schema):
    survey = fields.Nested(RespondSurveySchema, required=True)
    respondent = fields.Dict(required=True, metadata={"description": "the respondent's name only"})
    status = fields.String(required=True)
    answers = fields.List(fields.Dict(), required=True, metadata={"description": "the draft or the submission"})
    rosters = fields.Dict(keys=fields.String(), values=fields.List(fields.Nested(RosterEntrySchema)), required=True,
                          metadata={"description": "per names question: whom it lists (never an email)"})


class RespondResultSchema(Schema):
    status = fields.String(required=True, metadata={"description": "started (draft saved) or submitted"})
    saved_at = fields.DateTime(required=True)
    nominations = fields.Integer(required=True)
    write_ins = fields.Integer(required=True)


# --- write-ins and results ----------------------------------------------------------------------

class WriteInSchema(Schema):
    id = fields.String(required=True)
    question_id = fields.String(required=True)
    name = fields.String(required=True)
    respondent_id = fields.String(required=True)
    respondent_name = fields.String(required=True)
    status = fields.String(required=True, metadata={"description": "open or matched"})
    member_id = fields.String(allow_none=True)
    created_at = fields.DateTime(required=True)


class WriteInListSchema(Schema):
    items = fields.List(fields.Nested(WriteInSchema), required=True)


class WriteInListArgsSchema(StrictSchema):
    status = fields.String(validate=validate.OneOf(("open", "matched")))


class WriteInMatchSchema(StrictSchema):
    member_id = Id(metadata={"description": "the member the write-in names"})
    create = fields.Nested(lambda: NewMemberSchema(), metadata={"description": "or a new member to create"})

    @validates_schema
    def _one(self, data, **kwargs):
        if ("member_id" in data) == ("create" in data):
            raise ValidationError("give exactly one of member_id, create", "_schema")


class NewMemberSchema(StrictSchema):
    name = trimmed(200, required=True)
    role = term("role")


class SurveyResultsSchema(Schema):
    class Meta:
        ordered = True

    survey_id = fields.String(required=True)
    invited = fields.Integer(required=True)
    responded = fields.Integer(required=True)
    response_rate = fields.Float(allow_none=True, required=True, metadata={"description": "responded / invited"})
    response_rate_by_organization = fields.List(fields.Dict(), required=True)
    response_rate_by_role = fields.List(fields.Dict(), required=True, metadata={
        "description": "per role: `role` (the value), `name` (its member_role label), invited, responded, "
                       "response_rate"})
    nominations = fields.Integer(required=True)
    nominations_by_question = fields.List(fields.Dict(), required=True)
    reciprocity = fields.Float(allow_none=True, required=True, metadata={
        "description": "share of nominations returned (a named b and b named a, in any question), as "
                       "networkx.reciprocity on the nomination digraph"})
    trust = fields.Dict(required=True, metadata={"description": "mean trust, overall and by organization"})
    value = fields.Dict(required=True, metadata={"description": "mean value, overall and by organization"})
    never_named = fields.List(fields.Dict(), required=True, metadata={
        "description": "invited members no respondent named"})
    computed = fields.Dict(required=True)
