"""API key schemas."""

from __future__ import annotations

from schemas.common import Id, PageSchema, StrictSchema, fields, trimmed, validate

SCOPES = ("read", "write", "sync", "analytics", "pii", "admin")


class ApiKeySchema(StrictSchema):
    id = Id(dump_only=True)
    name = trimmed(100, required=True)
    scopes = fields.List(fields.String(validate=validate.OneOf(SCOPES)), required=True,
                         validate=validate.Length(min=1, max=len(SCOPES)))
    created_at = fields.DateTime(dump_only=True)
    revoked_at = fields.DateTime(dump_only=True, allow_none=True)


class NewApiKeySchema(ApiKeySchema):
    secret = fields.String(dump_only=True, metadata={"description": "shown once, at creation; only its hash is kept"})


class ApiKeyPageSchema(PageSchema):
    items = fields.List(fields.Nested(ApiKeySchema), required=True)
