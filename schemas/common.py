"""Shared schema pieces: the problem document, paging arguments, field helpers."""

from __future__ import annotations

from marshmallow import INCLUDE, RAISE, Schema, ValidationError, fields, post_load, validate, validates_schema

MAX_PAGE = 100
DEFAULT_PAGE = 20


class StrictSchema(Schema):
    """Unknown fields (and server-owned, dump-only ones) in input are errors, not ignored."""

    class Meta:
        unknown = RAISE
        ordered = True


class FieldErrorSchema(Schema):
    field = fields.String(required=True, metadata={"description": "dotted path of the failing field"})
    location = fields.String(required=True, metadata={"description": "json, query, path or header"})
    messages = fields.List(fields.String(), required=True)


class ProblemSchema(Schema):
    """RFC 9457 problem details; some problems add members of their own (e.g. required_scopes)."""

    class Meta:
        unknown = INCLUDE

    type = fields.String(required=True, metadata={"description": "stable URI naming the kind of problem"})
    title = fields.String(required=True)
    status = fields.Integer(required=True)
    detail = fields.String(required=True)
    errors = fields.List(fields.Nested(FieldErrorSchema), metadata={"description": "for validation problems"})


def trimmed(max_length: int, **kwargs) -> fields.String:
    """A string stripped of surrounding space, non-empty, at most max_length long.

    Documented with a pattern that asks for one non-space character: a blank string is empty once trimmed.
    """
    kwargs["metadata"] = {"pattern": r"\S", **kwargs.get("metadata", {})}
    return Trimmed(validate=validate.Length(min=1, max=max_length), **kwargs)


class Trimmed(fields.String):
    def _deserialize(self, value, attr, data, **kwargs):
        return super()._deserialize(value, attr, data, **kwargs).strip()


def tag_list(max_items: int = 30, max_length: int = 60, **kwargs) -> fields.List:
    """A list of short labels (topics, populations): trimmed, lower-cased, de-duplicated in order."""
    return Tags(trimmed(max_length), validate=validate.Length(max=max_items), **kwargs)


class Tags(fields.List):
    def _deserialize(self, value, attr, data, **kwargs):
        items = super()._deserialize(value, attr, data, **kwargs)
        return list(dict.fromkeys(item.lower() for item in items))


class StrictBoolean(fields.Boolean):
    """A JSON true or false: marshmallow's Boolean also takes 1, "yes" and "on", which a body must not."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, bool):
            raise self.make_error("invalid", input=value)
        return value


class NonEmptyPatch:
    """A PATCH body must change something (checked in code; documented as minProperties)."""

    json_schema_extra = {"minProperties": 1}

    @validates_schema
    def _not_empty(self, data, **kwargs):
        if not data:
            raise ValidationError("send at least one field to change", "_schema")


class WholeNumber(fields.Integer):
    """A JSON integer. 3.0 is one too (JSON and JSON Schema do not tell them apart); 2.5, "3" and true are not."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.make_error("invalid", input=value)
        return super()._deserialize(value, attr, data, **kwargs)


class Id(fields.UUID):
    """An id the API assigned: a UUID, loaded as its canonical string."""

    def _deserialize(self, value, attr, data, **kwargs):
        return str(super()._deserialize(value, attr, data, **kwargs))


class PageArgsSchema(StrictSchema):
    limit = fields.Integer(load_default=DEFAULT_PAGE, validate=validate.Range(min=1, max=MAX_PAGE),
                           metadata={"description": f"page size, 1-{MAX_PAGE}"})
    cursor = fields.String(validate=validate.Length(min=1, max=2000),
                           metadata={"description": "next_cursor of the previous page"})


class PageSchema(Schema):
    next_cursor = fields.String(allow_none=True, required=True,
                                metadata={"description": "pass as `cursor` for the next page; null on the last"})


def date_range_check(data: dict, start: str, end: str) -> None:
    if data.get(start) and data.get(end) and data[end] < data[start]:
        raise ValidationError(f"must not be before {start}", end)


__all__ = ["StrictSchema", "ProblemSchema", "PageArgsSchema", "PageSchema", "trimmed", "tag_list", "Id",
           "date_range_check", "StrictBoolean", "NonEmptyPatch", "WholeNumber", "fields", "validate", "validates_schema", "post_load", "ValidationError"]
