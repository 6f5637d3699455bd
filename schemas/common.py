"""Shared schema pieces: the problem document, paging arguments, field helpers."""

from __future__ import annotations

import math
import re

from marshmallow import INCLUDE, RAISE, Schema, ValidationError, fields, post_load, pre_load, validate, validates_schema

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


def trimmed(max_length: int, *, multiline: bool = False, **kwargs) -> fields.String:
    """A string stripped of surrounding space, at most max_length long, with at least one visible character
    and no control character (a `multiline` text, such as a note, may hold tab, line feed and carriage return).

    Documented with the same rules as a pattern, so a blank string, or one holding a control character, is
    refused by the document and by the check alike.
    """
    kwargs["metadata"] = {"pattern": TEXT_PATTERN if multiline else LINE_PATTERN, **kwargs.get("metadata", {})}
    return Trimmed(multiline=multiline,
                   validate=[UnicodeText(), validate.Length(min=1, max=max_length),
                             validate.Regexp(_VISIBLE, error="needs a character that is not space or a control "
                                                             "character")], **kwargs)


# The white space of the documented pattern's `\S` (ECMAScript, as JSON Schema reads it). Python's own
# str.strip() also drops the separators U+001C-U+001F and U+0085, so "\x1c" passed the pattern yet came out
# empty; trimming exactly this set keeps the document and the check in step.
SPACE = "\t\n\v\f\r \u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a" \
        "\u2028\u2029\u202f\u205f\u3000\ufeff"


VISIBLE_PATTERN = r"[^\s\u0000-\u001F\u007F-\u009F]"          # ECMAScript, as the document states it
# The same set for Python's re; Regexp validates with match(), so the leading (?s).*? makes it a search.
_VISIBLE = re.compile("(?s).*?[^" + re.escape(SPACE) + "\x00-\x1f\x7f-\x9f]")

# Control characters (Unicode Cc: C0, DEL and C1) have no place in a name or any one-line text, and XML 1.0
# forbids most of C0: a member named "Ctl\x0bVt" made map.svg unreadable. A multi-line text keeps tab,
# line feed and carriage return. The patterns say so to the document's reader (ECMAScript's `$` is the end
# of the string); the compiled sets are what the check searches the value for, before it is trimmed.
_LINE_CONTROLS = r"\u0000-\u001F\u007F-\u009F"
_TEXT_CONTROLS = r"\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F"
LINE_PATTERN = f"^[^{_LINE_CONTROLS}]*{VISIBLE_PATTERN}[^{_LINE_CONTROLS}]*$"
TEXT_PATTERN = f"^[^{_TEXT_CONTROLS}]*{VISIBLE_PATTERN}[^{_TEXT_CONTROLS}]*$"
_CONTROLS = {False: re.compile(f"[{_LINE_CONTROLS}]"), True: re.compile(f"[{_TEXT_CONTROLS}]")}


_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def is_unicode_text(text: str) -> bool:
    """Whether `text` is Unicode text. JSON's escapes can spell a lone surrogate ("\\ud800"), and Python keeps
    it in the string, but no UTF-8 encoder (the Neo4j driver's included) can write one."""
    return _LONE_SURROGATE.search(text) is None


class UnicodeText(validate.Validator):
    """Refuses a string holding a lone surrogate (a valid pair arrives from JSON as one character)."""

    error = "holds a lone surrogate (U+D800-U+DFFF), which is not a character"

    def __call__(self, value: str) -> str:
        if not is_unicode_text(value):
            raise ValidationError(self.error)
        return value


class Trimmed(fields.String):
    default_error_messages = {"control": "holds a control character"}

    def __init__(self, *args, multiline: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.controls = _CONTROLS[multiline]

    def trim(self, value: str) -> str:
        """The text without surrounding space; a ValidationError when it holds a control character."""
        if self.controls.search(value):
            raise self.make_error("control")
        return value.strip(SPACE)

    def _deserialize(self, value, attr, data, **kwargs):
        return self.trim(super()._deserialize(value, attr, data, **kwargs))


class TrimmedEmail(fields.Email):
    """An email address stripped of surrounding space before it is checked: a CRM export's "  a@b.org " is the
    address a@b.org (emails are matched trimmed and lower-case), not an invalid one."""

    def _deserialize(self, value, attr, data, **kwargs):
        return super()._deserialize(value.strip(SPACE) if isinstance(value, str) else value, attr, data, **kwargs)


def email_field(**kwargs) -> TrimmedEmail:
    """A member's email: trimmed, then a valid address of at most 254 characters."""
    return TrimmedEmail(validate=validate.Length(max=254), **kwargs)


def tag_list(max_items: int = 30, max_length: int = 60, **kwargs) -> fields.List:
    """A list of short labels (topics, populations): trimmed, lower-cased, de-duplicated in order."""
    return Tags(trimmed(max_length), max_items=max_items, validate=validate.Length(max=max_items), **kwargs)


class Tags(fields.List):
    """The limit holds for the list as sent, before duplicates are dropped: 100,000 copies of one tag were once
    loaded one by one and then accepted as a single tag."""

    default_error_messages = {"too_many": "Longer than maximum length {max}."}

    def __init__(self, *args, max_items: int, **kwargs):
        super().__init__(*args, **kwargs)
        self.max_items = max_items

    def check_count(self, value: list) -> None:
        if len(value) > self.max_items:
            raise self.make_error("too_many", max=self.max_items)

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, list):
            self.check_count(value)
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


class JsonNumber(fields.Float):
    """A finite JSON number: marshmallow's Float also takes "1.5" and true, which a body must not. An integer
    stays an integer."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.make_error("invalid", input=value)
        number = super()._deserialize(value, attr, data, **kwargs)
        if not math.isfinite(number):
            raise self.make_error("special")
        return int(number) if isinstance(value, int) else number


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


# A custom attribute's name (schemas/attributes.py and every filter or question naming one): it becomes part of
# a stored property key, so only these characters.
ATTRIBUTE_NAME_PATTERN = r"^[a-z][a-z0-9_]{0,39}$"
ATTRIBUTE_NAME = re.compile(ATTRIBUTE_NAME_PATTERN)
ATTRIBUTE_NAME_RULE = "a lower-case letter, then lower-case letters, digits or '_', 40 characters at most"


class AttributeFilterArgs:
    """List arguments that take `?attr.NAME=value` filters on custom attributes (collected under `attr`)."""

    undocumented_parameters = ("attr",)
    attr = fields.Dict(keys=fields.String(validate=validate.Regexp(ATTRIBUTE_NAME_PATTERN)),
                       values=fields.String(validate=validate.Length(min=1, max=200)), load_default=dict)

    @pre_load
    def _attribute_filters(self, data, **kwargs):
        keys = list(data)
        if not any(key.startswith("attr.") for key in keys):
            return data
        out = {key: data[key] for key in keys if not key.startswith("attr.")}
        out["attr"] = {key[len("attr."):]: data[key] for key in keys if key.startswith("attr.")}
        # A bad name is named as it was sent (`attr.schoolType`), not as the Dict's key path (`attr.schoolType.key`).
        wrong = {f"attr.{name}": [f"not an attribute name: {ATTRIBUTE_NAME_RULE}"]
                 for name in out["attr"] if not ATTRIBUTE_NAME.fullmatch(name)}
        if wrong:
            raise ValidationError(wrong)
        return out


def date_range_check(data: dict, start: str, end: str) -> None:
    if data.get(start) and data.get(end) and data[end] < data[start]:
        raise ValidationError(f"must not be before {start}", end)


__all__ = ["ATTRIBUTE_NAME", "ATTRIBUTE_NAME_PATTERN", "ATTRIBUTE_NAME_RULE", "AttributeFilterArgs", "StrictSchema",
           "ProblemSchema", "PageArgsSchema", "PageSchema", "trimmed", "tag_list", "Id", "JsonNumber",
           "date_range_check", "StrictBoolean", "NonEmptyPatch", "WholeNumber", "UnicodeText", "is_unicode_text",
           "fields", "validate", "validates_schema", "post_load", "ValidationError"]
