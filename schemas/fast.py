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

from marshmallow import Schema, ValidationError, missing

_SCHEMA_HOOK = "validates_schema"


class FastLoader:
    def __init__(self, schema: Schema):
        self.schema = schema
        self.fields = {(field.data_key or name): (name, field) for name, field in schema.load_fields.items()}
        self.required = [key for key, (_, field) in self.fields.items() if field.required]
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
                name, field = entry
                loaded[name] = field.deserialize(value, name, raw)
            for name, default in self.defaults:
                if name not in loaded:
                    loaded[name] = default() if callable(default) else default
            for check in self.checks:
                check(loaded, partial=None, many=False)
        except ValidationError:
            return None
        return loaded
