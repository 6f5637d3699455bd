"""Vocabularies: the default words of each, how a value is normalised, and the API's shapes."""

from __future__ import annotations

import re

from marshmallow import ValidationError, validates_schema

from schemas.common import SPACE, StrictSchema, Trimmed, fields, trimmed, validate

# The defaults a new deployment starts with; each network adds its own words (open vocabularies) or fixes
# the list (closed ones) through PUT /v1/vocabularies/{name}.
DEFAULT_TERMS = {
    "member_role": ("teacher", "coach", "principal", "assistant_principal", "district_leader", "superintendent",
                    "counselor", "specialist", "researcher", "facilitator", "staff", "other"),
    "organization_kind": ("association", "district", "school", "nonprofit", "university", "network", "foundation",
                          "government", "company", "other"),
    "collaboration_kind": ("project", "mentoring", "co-facilitation", "partnership", "event", "introduction",
                           "other"),
    "affiliation_role": ("member", "staff", "board", "fellow", "leader", "partner", "other"),
    "activity_kind": ("convening", "workshop", "cohort", "committee"),
}
NAMES = tuple(DEFAULT_TERMS)
POLICIES = ("open", "closed")
MAX_VALUE_LENGTH = 60
MAX_TERMS = 500

_NOT_WORD = re.compile(r"[^\w-]+")
_SPACES = re.compile(r"\s+")


def slug(raw: str) -> str:
    """A vocabulary value from what a record says: trimmed, lower-case, runs of anything but letters, digits,
    '_' and '-' as one '_', at most 60 characters ("Instructional Coach" -> "instructional_coach")."""
    text = raw.strip(SPACE).casefold()
    value = _NOT_WORD.sub("_", text).strip("_") or _SPACES.sub("_", text)
    return value[:MAX_VALUE_LENGTH]


_JOINERS = re.compile(r"[-_]+")


def spelling_key(value: str) -> str:
    """What two spellings of one word share: "co-teaching", "Co Teaching" and "co_teaching" (each as `slug`
    gives it) are one term of a vocabulary, the value first stored."""
    return _JOINERS.sub("_", value).strip("_")


def default_label(value: str) -> str:
    """"assistant_principal" -> "Assistant principal"."""
    text = value.replace("_", " ")
    return text[:1].upper() + text[1:]


def term(vocabulary: str, **kwargs) -> Trimmed:
    """A field holding a value of `vocabulary`, as sent (the repository normalises and checks it)."""
    kwargs["metadata"] = {"description": f"a value of the `{vocabulary}` vocabulary (GET /v1/vocabularies/"
                                         f"{vocabulary}); an open vocabulary adds a value it does not list yet, "
                                         "a closed one refuses it", "x-vocabulary": vocabulary,
                          **kwargs.get("metadata", {})}
    return trimmed(100, **kwargs)


class Normalised(Trimmed):
    """Checked as sent (marshmallow validates what _deserialize returns, and a slug is cut to 60 characters),
    then normalised; `vocabulary` names whose value it is (the API's query parser then reads it as the listed
    spelling of the same word, see service.web.api)."""

    vocabulary: str | None = None

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        self._validate(text)
        return slug(text)


def term_filter(vocabulary: str, description: str) -> Normalised:
    """A list filter on a vocabulary's value: matched as normalised ("Instructional Coach" finds
    instructional_coach, "Co Teaching" finds co-teaching)."""
    found = Normalised(validate=trimmed(100).validators, metadata={
        "description": f"{description} (a value of the `{vocabulary}` vocabulary, matched normalised: case, and "
                       "'-', '_' or spaces between words, do not matter)",
        "pattern": trimmed(100).metadata["pattern"]})
    found.vocabulary = vocabulary
    return found


class TermSchema(StrictSchema):
    value = trimmed(100, required=True, metadata={"description": "stored normalised (see `slug`)"})
    label = trimmed(200, metadata={"description": "how people read it; default: the value as sent"})
    description = trimmed(1000, allow_none=True)


class VocabularySchema(StrictSchema):
    name = fields.String(dump_only=True, metadata={"enum": list(NAMES)})
    policy = fields.String(required=True, validate=validate.OneOf(POLICIES), metadata={
        "description": "open: a value not listed is added (and reported as new); closed: it is refused"})
    values = fields.List(fields.Nested(TermSchema), required=True, validate=validate.Length(max=MAX_TERMS))
    version = fields.Integer(dump_only=True)
    updated_at = fields.DateTime(dump_only=True)

    @validates_schema
    def _distinct(self, data, **kwargs):
        seen: dict[str, int] = {}
        for index, item in enumerate(data.get("values") or ()):
            value = slug(item["value"])
            if value in seen:
                raise ValidationError(f"normalises to '{value}', as values.{seen[value]} does", f"values.{index}")
            seen[value] = index


class VocabularyListSchema(StrictSchema):
    items = fields.List(fields.Nested(VocabularySchema), required=True)


class VocabularyMergeSchema(StrictSchema):
    from_ = fields.List(trimmed(100), required=True, data_key="from",
                        validate=validate.Length(min=1, max=50),
                        metadata={"description": "the values to fold into `into`"})
    into = trimmed(100, required=True, metadata={"description": "the value they become (added when missing)"})


class VocabularyMergeResultSchema(StrictSchema):
    vocabulary = fields.Nested(VocabularySchema, required=True)
    rewritten = fields.Integer(required=True, metadata={"description": "nodes and ties rewritten"})
