"""A fast path for loading many small records with one flat schema (sync batches: 1,000 per request).

marshmallow's per-record machinery (field lookup, error bookkeeping, hooks) cost more than the database
write of a sync batch. `FastLoader` runs the very same field objects (their `deserialize`, so the same
conversions and validators) and the schema's `@validates_schema` methods, without that machinery. It never
decides that a record is invalid: on anything unusual (an unknown key, a failing field, a hook it does not
know) it answers None, and the caller loads that record with the schema itself, which reports the errors.
So a record it accepts loads to what `schema.load` gives (tests/service/test_sync_lean.py checks this with
hypothesis), and every error message still comes from marshmallow.
"""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, missing

from schemas.common import StrictBoolean, Tags, Trimmed

_SCHEMA_HOOK = "validates_schema"


class _Decline(Exception):
    """This value is not one the fast path is sure about: let the schema load the record."""


def _compile(field: fields.Field):
    """A function loading one present value as `field.deserialize` does, or raising ValidationError/_Decline.

    The commonest field classes of sync records get a direct version (same steps, same validator objects,
    without the per-call plumbing); any other field is simply asked to deserialize.
    """
    validators, allow_none = tuple(field.validators), field.allow_none

    def validated(value):
        for validator in validators:
            validator(value)
        return value

    def typed(expected: type, convert=None):
        """A loader for values of exactly `expected` (None only when the field allows it), converted, then
        validated; anything else is declined to the field itself."""
        def load(value):
            if type(value) is not expected:
                if value is None and allow_none:
                    return None
                raise _Decline
            return validated(value if convert is None else convert(value))
        return load

    kind = type(field)
    if kind in (Trimmed, fields.String):
        load = typed(str, field.trim if kind is Trimmed else None)
    elif kind is StrictBoolean:
        load = typed(bool)
    elif kind is Tags and type(field.inner) is Trimmed:
        inner = _repeating(_compile(field.inner), str.lower)   # tags repeat across a batch's records

        def tags(value: list) -> list:
            field.check_count(value)
            return list(dict.fromkeys(map(inner, value)))

        load = typed(list, tags)
    elif kind is fields.List and type(field.inner) is Trimmed:
        inner = _compile(field.inner)
        load = typed(list, lambda value: [inner(item) for item in value])
    elif kind is fields.Dict and type(field.key_field) is fields.String and type(field.value_field) is fields.Raw \
            and field.value_field.allow_none and not field.value_field.validators:
        # a record's `attributes`: names checked here (the same few in every record), values by the repository
        key = _repeating(_compile(field.key_field))

        def entries(value: dict) -> dict:
            return {key(name): item for name, item in value.items()}

        load = typed(dict, entries)
    else:
        def load(value):
            return field.deserialize(value)
    return load


KEPT_LENGTH = 128     # longer strings (a tag padded with spaces, say) are checked each time, never kept


def _repeating(load, then=None, size: int = 4096):
    """`load` (then `then`) for a string, answered from a table of the strings it accepted before: tags and
    attribute names recur in nearly every record of a batch, and checking each again showed in
    bench/sync_attributes.py. The loaders are pure functions of the string; a refused one is never kept, so it
    is refused again with its own error. Only strings of up to KEPT_LENGTH characters are kept (the table is
    keyed by the string as sent, before trimming, and lives as long as the process), and the table is emptied
    when full (a batch of 1,000 records meets a few hundred distinct tags at most)."""
    accepted: dict[str, Any] = {}

    def load_repeating(value):
        keep = type(value) is str and len(value) <= KEPT_LENGTH
        found = accepted.get(value) if keep else None
        if found is None:
            found = load(value) if then is None else then(load(value))
            if keep:
                if len(accepted) >= size:
                    accepted.clear()
                accepted[value] = found
        return found
    return load_repeating


def loader(field: fields.Field):
    """`field.deserialize` for one present value, through the direct version where there is one: the same
    result, and the field's own errors for anything the direct version declines."""
    fast = _compile(field)

    def load(value):
        try:
            return fast(value)
        except _Decline:
            return field.deserialize(value)

    return load


class FastLoader:
    def __init__(self, schema: Schema):
        self.schema = schema
        self.fields = {(field.data_key or name): (name, field, _compile(field))
                       for name, field in schema.load_fields.items()}
        self.required = [key for key, (_, field, _) in self.fields.items() if field.required]
        self.defaults = [(name, field.load_default) for name, field in schema.load_fields.items()
                         if field.load_default is not missing]
        hooks = getattr(schema, "_hooks", None)
        # (marshmallow's _hooks is a defaultdict that its own load fills with empty lists: count only real hooks)
        self.enabled = (isinstance(hooks, dict) and {tag for tag, found in hooks.items() if found} <= {_SCHEMA_HOOK}
                        and not any(field.attribute for field in schema.load_fields.values())
                        and all(not many and not options.get("pass_original") and not options.get("pass_collection")
                                for _, many, options in hooks.get(_SCHEMA_HOOK, ())))
        self.checks = [getattr(schema, name) for name, _, _ in (hooks or {}).get(_SCHEMA_HOOK, ())]

    def load(self, raw: Any) -> dict[str, Any] | None:
        """`raw` loaded as the schema would, or None: let the schema load it (and say what is wrong)."""
        if not self.enabled or type(raw) is not dict or not all(key in raw for key in self.required):
            return None
        loaded: dict[str, Any] = {}
        fields = self.fields
        try:
            for key, value in raw.items():
                entry = fields.get(key)
                if entry is None:
                    return None
                name, _, load = entry
                loaded[name] = load(value)
            for name, default in self.defaults:
                if name not in loaded:
                    loaded[name] = default() if callable(default) else default
            for check in self.checks:
                check(loaded, partial=None, many=False)
        except (ValidationError, _Decline):
            return None
        return loaded
