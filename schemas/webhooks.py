"""Webhook endpoint and delivery schemas."""

from __future__ import annotations

from marshmallow import validates

from schemas.common import (Id, NonEmptyPatch, PageSchema, StrictBoolean, StrictSchema, ValidationError,
                            WholeNumber, fields, trimmed, validate)

MAX_EVENT_PATTERNS = 50
MAX_GRACE_SECONDS = 30 * 86_400
# What an endpoint may subscribe to: `*`, a resource's events (`member.*`, `member.updated`), alerts
# (`alert.*`, `alert.cut_point.new`).
EVENT_PATTERN = (r"^(\*|(member|organization|collaboration|affiliation|activity)\.(\*|created|updated|deleted)"
                 r"|introduction\.(\*|created|updated)|alert\.(\*|[a-z][a-z_]{0,39}(\.[a-z][a-z_]{0,39})?))$")
_EVENT_HELP = ("`*`, `<resource>.*` or `<resource>.created|updated|deleted` (resources: member, organization, "
               "collaboration, affiliation, activity; introduction: created, updated), `alert.*` or `alert.<kind>`")


# The URL's documented form; which addresses it may lead to, and whether http is allowed, depend on the
# deployment (NETWEAVE_WEBHOOK_ALLOW_PRIVATE) and are checked in code (service/webhooks/outbound.py).
URL_PATTERN = r"^[Hh][Tt][Tt][Pp][Ss]?://[^\s/?#@:\[\]]+(:[0-9]{1,4})?([/?][^\s#]*)?$"


def _url(**kwargs) -> fields.String:
    return fields.String(validate=validate.Length(min=1, max=2048), metadata={
        "pattern": URL_PATTERN,
        "description": "where deliveries are POSTed: https (http only to addresses listed in "
                       "NETWEAVE_WEBHOOK_ALLOW_PRIVATE); loopback, private, link-local and reserved addresses "
                       "are refused unless listed there; redirects are not followed"}, **kwargs)


def _events(**kwargs) -> fields.List:
    return fields.List(fields.String(validate=validate.Regexp(EVENT_PATTERN, error="not an event: " + _EVENT_HELP),
                                     metadata={"pattern": EVENT_PATTERN}),
                       validate=validate.Length(min=1, max=MAX_EVENT_PATTERNS),
                       metadata={"description": "the events sent: " + _EVENT_HELP, "uniqueItems": True}, **kwargs)


class _UrlRules:
    @validates("url")
    def _url_allowed(self, value, **kwargs):
        from flask import current_app

        from service.webhooks import outbound

        try:
            outbound.parse(value, outbound.allow_list(current_app.config["NETWEAVE_WEBHOOK_ALLOW_PRIVATE"]))
        except outbound.Refused as error:
            raise ValidationError(str(error)) from None

    @validates("events")
    def _unique(self, value, **kwargs):
        if len(set(value)) != len(value):
            raise ValidationError("each event once")


class WebhookSchema(StrictSchema):
    id = Id(dump_only=True)
    url = _url(required=True)
    events = _events(required=True)
    description = trimmed(500, allow_none=True, load_default=None, dump_default=None)
    pii = fields.Boolean(dump_only=True, metadata={
        "description": "whether payloads carry personal data: true when the endpoint was created by a key "
                       "with the `pii` scope"})
    enabled = fields.Boolean(dump_only=True, metadata={
        "description": "false once every delivery failed for NETWEAVE_WEBHOOK_GIVE_UP_SECONDS (see "
                       "disabled_reason); PATCH enabled: true resumes from where it stopped"})
    disabled_reason = fields.String(dump_only=True, allow_none=True, dump_default=None)
    version = fields.Integer(dump_only=True)
    created_at = fields.DateTime(dump_only=True)
    updated_at = fields.DateTime(dump_only=True)
    cursor = fields.Integer(dump_only=True, metadata={
        "description": "the last change-feed seq sent to (or passed over by) this endpoint"})
    alert_cursor = fields.Integer(dump_only=True, metadata={"description": "the last alert seq sent or passed over"})
    pending = fields.String(dump_only=True, allow_none=True, dump_default=None,
                            metadata={"description": "the delivery under way (waiting to be accepted), if any"})
    next_attempt_at = fields.DateTime(dump_only=True, allow_none=True, dump_default=None)
    failing_since = fields.DateTime(dump_only=True, allow_none=True, dump_default=None)
    failures = fields.Integer(dump_only=True, metadata={"description": "refused attempts in a row"})
    previous_secret_until = fields.DateTime(dump_only=True, allow_none=True, dump_default=None, metadata={
        "description": "after a rotation, until when the previous secret signs beside the new one"})


class WebhookCreateSchema(_UrlRules, WebhookSchema):
    pass


class NewWebhookSchema(WebhookSchema):
    secret = fields.String(dump_only=True, metadata={
        "description": "the signing secret (`whsec_` and base64), shown once: verify deliveries with it, as "
                       "Standard Webhooks libraries do"})


class WebhookPatchSchema(_UrlRules, NonEmptyPatch, StrictSchema):
    url = _url()
    events = _events()
    description = trimmed(500, allow_none=True)
    enabled = StrictBoolean(metadata={"description": "false pauses deliveries; true resumes them, from where "
                                                     "they stopped, and clears the failures"})


class WebhookRotateSchema(StrictSchema):
    grace_seconds = WholeNumber(load_default=None, validate=validate.Range(min=0, max=MAX_GRACE_SECONDS), metadata={
        "description": "how long the old secret keeps signing beside the new one (default "
                       "NETWEAVE_WEBHOOK_ROTATION_GRACE_SECONDS); 0 ends it now"})


class WebhookPageSchema(PageSchema):
    items = fields.List(fields.Nested(WebhookSchema), required=True)


class AttemptSchema(StrictSchema):
    at = fields.DateTime(dump_only=True)
    status_code = fields.Integer(dump_only=True, allow_none=True,
                                 metadata={"description": "the endpoint's answer; null when none came"})
    error = fields.String(dump_only=True, allow_none=True)
    seconds = fields.Float(dump_only=True)


class DeliverySchema(StrictSchema):
    id = Id(dump_only=True, metadata={"description": "also the webhook-id header of every attempt"})
    webhook_id = Id(dump_only=True)
    stream = fields.String(dump_only=True, metadata={"description": "`changes` or `alerts`"})
    first_seq = fields.Integer(dump_only=True)
    last_seq = fields.Integer(dump_only=True)
    event_count = fields.Integer(dump_only=True)
    event_types = fields.List(fields.String(), dump_only=True)
    status = fields.String(dump_only=True, metadata={"description": "pending, delivered or failed"})
    attempts = fields.List(fields.Nested(AttemptSchema), dump_only=True)
    created_at = fields.DateTime(dump_only=True)
    delivered_at = fields.DateTime(dump_only=True, allow_none=True, dump_default=None)
    replay_requested = fields.Boolean(dump_only=True)


class DeliveryPageSchema(PageSchema):
    items = fields.List(fields.Nested(DeliverySchema), required=True)

