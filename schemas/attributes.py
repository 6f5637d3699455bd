"""Custom attributes: the fields a network defines for its members, organizations and collaborations, and the
checks a value of each type passes. Pure: the repository supplies the definitions."""

from __future__ import annotations

import math
import re
from datetime import date
from typing import Any, Callable

from marshmallow import ValidationError, validates_schema

from schemas.common import (ATTRIBUTE_NAME, ATTRIBUTE_NAME_PATTERN, JsonNumber, StrictBoolean, StrictSchema,
                            WholeNumber, fields, tag_list, trimmed, validate)
from schemas.fast import loader

TARGETS = ("member", "organization", "collaboration")
TYPES = ("string", "integer", "number", "boolean", "date", "tags", "enum")
NAME_PATTERN, NAME = ATTRIBUTE_NAME_PATTERN, ATTRIBUTE_NAME
# Stored values live under this prefix (property "attr.grade_band"): the key reaches Cypher only as a parameter
# (a map key or $key), from a name that matched NAME_PATTERN.
PREFIX = "attr."
MAX_DEFINITIONS = 50       # per target
MAX_ENUM_VALUES = 200
MAX_STRING = 500
MAX_FILTERS = 5
_LARGEST = 2 ** 53         # integers and numbers JSON readers keep exact


def storage_key(name: str) -> str:
    if not NAME.fullmatch(name):
        raise ValueError(f"not an attribute name: {name!r}")
    return PREFIX + name


class AttributeDefinitionSchema(StrictSchema):
    # The rule _values_for_enums checks, stated for the document's readers.
    json_schema_extra = {"if": {"properties": {"type": {"const": "enum"}}, "required": ["type"]},
                         "then": {"required": ["values"], "properties": {"values": {"type": "array"}}},
                         "else": {"properties": {"values": {"type": "null"}}}}

    target = fields.String(dump_only=True, metadata={"enum": list(TARGETS)})
    name = fields.String(dump_only=True, metadata={"pattern": NAME_PATTERN})
    type = fields.String(required=True, validate=validate.OneOf(TYPES))
    values = fields.List(trimmed(100), allow_none=True, validate=validate.Length(min=1, max=MAX_ENUM_VALUES),
                         metadata={"description": "the allowed values of an `enum` (null for other types)"})
    # label, description and pii, omitted from a PUT that changes a definition, keep their stored values
    # (put_definition): a relabelling must not turn personal data public by leaving `pii` out.
    label = trimmed(200, metadata={"description": "how people read the field; omitted: kept; a new definition "
                                                  "defaults to its name"})
    description = trimmed(1000, allow_none=True, metadata={
        "description": "omitted: kept; null removes it; a new definition defaults to none"})
    pii = StrictBoolean(metadata={
        "description": "personal data: values shown only to keys with the `pii` scope, and only they may filter "
                       "or segment by it; omitted: kept (turning it off takes `false`); a new definition "
                       "defaults to false"})
    version = fields.Integer(dump_only=True)
    created_at = fields.DateTime(dump_only=True)
    updated_at = fields.DateTime(dump_only=True)

    @validates_schema
    def _values_for_enums(self, data, **kwargs):
        if data.get("type") == "enum":
            if not data.get("values"):
                raise ValidationError("an enum lists its values", "values")
            folded = [value.casefold() for value in data["values"]]
            if len(set(folded)) != len(folded):
                raise ValidationError("values must differ (ignoring case)", "values")
        elif data.get("values") is not None:
            raise ValidationError("only an enum has values", "values")


class AttributeDefinitionListSchema(StrictSchema):
    items = fields.List(fields.Nested(AttributeDefinitionSchema), required=True)


class AttributeListArgsSchema(StrictSchema):
    target = fields.String(validate=validate.OneOf(TARGETS), metadata={"description": "only this target's"})


def _at_most_definitions(value: dict) -> None:
    # Not validate.Length: apispec documents it as maxLength, a string's keyword, on this object (the document
    # says maxProperties, below).
    if len(value) > MAX_DEFINITIONS:
        raise ValidationError(f"at most {MAX_DEFINITIONS} attributes")


def attributes_field(**kwargs) -> fields.Dict:
    """A record's `attributes`: names to values, checked against the definitions by the repository."""
    return fields.Dict(keys=fields.String(validate=validate.Regexp(NAME_PATTERN)), values=fields.Raw(allow_none=True),
                       validate=_at_most_definitions, metadata={
                           "description": "the network's own fields (GET /v1/attributes), by name; null removes a "
                                          "value; fields marked pii are shown only to keys with the `pii` scope",
                           "propertyNames": {"pattern": NAME_PATTERN}, "maxProperties": MAX_DEFINITIONS},
                       **kwargs)


_LOADERS: dict[str, fields.Field] = {
    "string": trimmed(MAX_STRING),
    "integer": WholeNumber(validate=validate.Range(min=-_LARGEST, max=_LARGEST)),
    "number": JsonNumber(validate=validate.Range(min=-_LARGEST, max=_LARGEST)),
    "boolean": StrictBoolean(),
    "date": fields.Date(),
    "tags": tag_list(),
}


# Each type's field through schemas.fast (the direct path for plain values, the field itself otherwise): a
# sync batch checks thousands of values, and a field call per value showed in bench/sync_attributes.py.
_FAST = {kind: loader(field) for kind, field in _LOADERS.items()}


def value_loader(definition: dict[str, Any]) -> Callable[[Any], Any]:
    """A function giving the stored form of one value of `definition`'s type, or ValidationError saying what is
    wrong. What can be prepared once (an enum's folded values) is: a sync batch loads thousands of values of a
    few definitions, and preparing them per value showed in bench/sync_attributes.py."""
    kind = definition["type"]
    if kind == "enum":
        allowed = {value.casefold(): value for value in reversed(definition["values"])}  # the first listed wins
        refused = f"must be one of: {', '.join(definition['values'])}"

        def enum(value: Any) -> str:
            if not isinstance(value, str):
                raise ValidationError("Not a valid string.")
            found = allowed.get(value.strip().casefold())
            if found is None:
                raise ValidationError(refused)
            return found
        return enum
    field = _FAST[kind]
    if kind in ("integer", "number"):
        plain = (int,) if kind == "integer" else (int, float)

        def number(value: Any) -> int | float:
            if type(value) in plain and math.isfinite(value) and -_LARGEST <= value <= _LARGEST:
                return value  # what the field gives a plain number in range (an int stays an int)
            return field(value)
        return number
    return field


def load_value(definition: dict[str, Any], value: Any) -> Any:
    """The stored form of one value of `definition`'s type, or ValidationError saying what is wrong."""
    return value_loader(definition)(value)


def load_filter(definition: dict[str, Any], text: str) -> Any:
    """A list filter's query-string value as the type's value (a tags field is filtered by one tag)."""
    kind = definition["type"]
    if kind == "integer":
        if not re.fullmatch(r"-?\d{1,16}", text):
            raise ValidationError("Not a valid integer.")
        return load_value(definition, int(text))
    if kind == "number":
        try:
            return load_value(definition, float(text))
        except ValueError:
            raise ValidationError("Not a valid number.") from None
    if kind == "boolean":
        if text not in ("true", "false"):
            raise ValidationError("true or false")
        return text == "true"
    if kind == "tags":
        return load_value({"type": "string"}, text).lower()
    return load_value(definition, text)


def dump_value(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date) else value
