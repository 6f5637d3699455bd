"""API key schemas."""

from __future__ import annotations

from datetime import datetime, timezone

from schemas.common import (Id, PageSchema, StrictSchema, ValidationError, WholeNumber, fields, trimmed, validate,
                            validates_schema)

SCOPES = ("read", "write", "sync", "analytics", "pii", "admin")
MAX_GRACE_SECONDS = 30 * 86_400


class ApiKeySchema(StrictSchema):
    id = Id(dump_only=True)
    name = trimmed(100, required=True)
    scopes = fields.List(fields.String(validate=validate.OneOf(SCOPES)), required=True,
                         validate=validate.Length(min=1, max=len(SCOPES)))
    created_at = fields.DateTime(dump_only=True)
    revoked_at = fields.DateTime(dump_only=True, allow_none=True)
    expires_at = fields.AwareDateTime(allow_none=True, load_default=None, dump_default=None, metadata={
        "description": "after this instant the key is refused (401); null: it does not expire"})
    successor_id = Id(dump_only=True, allow_none=True, dump_default=None,
                      metadata={"description": "the key that replaced this one when it was rotated"})

    @validates_schema
    def _expires_in_the_future(self, data, **kwargs):
        expires_at = data.get("expires_at")
        if expires_at is not None and expires_at <= datetime.now(timezone.utc):
            raise ValidationError("must be in the future", "expires_at")


class RotateApiKeySchema(StrictSchema):
    grace_seconds = WholeNumber(load_default=None, validate=validate.Range(min=0, max=MAX_GRACE_SECONDS), metadata={
        "description": "how long the old key keeps working (default NETWEAVE_KEY_ROTATION_GRACE_SECONDS); "
                       "0 ends it now"})


class NewApiKeySchema(ApiKeySchema):
    secret = fields.String(dump_only=True, metadata={"description": "shown once, at creation; only its hash is kept"})


class RotatedApiKeySchema(NewApiKeySchema):
    previous = fields.Nested(ApiKeySchema, dump_only=True, metadata={
        "description": "the rotated key, now with its expiry and successor_id"})


class ApiKeyPageSchema(PageSchema):
    items = fields.List(fields.Nested(ApiKeySchema), required=True)
