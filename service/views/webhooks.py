"""Webhook endpoints (admin scope): where netweave sends its events and alerts, and what it sent."""

from __future__ import annotations

from flask import current_app
from flask.views import MethodView

from schemas.common import PageArgsSchema
from schemas.webhooks import (DeliveryPageSchema, DeliverySchema, NewWebhookSchema, WebhookCreateSchema,
                              WebhookPageSchema, WebhookPatchSchema, WebhookRotateSchema, WebhookSchema)
from service.webhooks import sealing
from service.web.api import BY_CREATION, Blueprint, decode_cursor, errors, etag, if_match, page, render
from service.web.auth import current_caller, requires
from service.web import get_graph
from service.web.idempotency import idempotent
from service.repositories import webhooks

blp = Blueprint("webhooks", __name__, url_prefix="/v1/webhooks",
                description="Endpoints that hear of every change and alert, signed as Standard Webhooks "
                            "(webhook-id, webhook-timestamp, webhook-signature: HMAC-SHA256 of "
                            "`id.timestamp.body`). Deliveries are sent by `netweave worker`, in order per "
                            "endpoint, at least once: deduplicate on webhook-id.")

_ETAG = {"ETag": {"schema": {"type": "string"}}}
_SEALER = "netweave.webhook_sealer"


def _etag(webhook: dict) -> dict[str, str]:
    return {"ETag": etag(webhook["version"])}


# A retry under the same Idempotency-Key gets the endpoint without its secret: the secret is shown once, and
# the stored response would otherwise keep it in the clear.
_SHOWN = render(NewWebhookSchema(), 201, _etag)
_REPLAYED = render(WebhookSchema(), 201, _etag)
_ROTATED, _ROTATION_REPLAYED = render(NewWebhookSchema(), 200, _etag), render(WebhookSchema(), 200, _etag)


def _sealer() -> sealing.Sealer:
    found = current_app.extensions.get(_SEALER)
    if found is None:
        found = current_app.extensions[_SEALER] = sealing.sealer(get_graph(),
                                                                 current_app.config["NETWEAVE_WEBHOOK_KEY"])
    return found


@blp.route("")
class Webhooks(MethodView):
    @requires("admin")
    @idempotent(_SHOWN, replay=_REPLAYED)
    @blp.arguments(WebhookCreateSchema)
    @blp.response(201, NewWebhookSchema, headers=_ETAG)
    @blp.doc(description="With an Idempotency-Key, a retry gets the endpoint created first, without its secret "
                         "(it is shown once).")
    def post(self, body):
        """Create a webhook endpoint (its secret is shown once)"""
        caller = current_caller()
        webhook = webhooks.create(get_graph(), _sealer(), body, pii=caller.has("pii"),
                                  external_ids=caller.has("pii") or caller.has("sync"), created_by=caller.key_id)
        return webhook, 201, _etag(webhook)

    @requires("admin")
    @blp.arguments(PageArgsSchema, location="query")
    @blp.response(200, WebhookPageSchema)
    def get(self, args):
        """List webhook endpoints (never their secrets)"""
        limit, after = args["limit"], decode_cursor(args.get("cursor"), BY_CREATION)
        return page(webhooks.list_page(get_graph(), limit=limit, after=after), limit)


@blp.route("/<webhook_id>")
class Webhook(MethodView):
    @requires("admin")
    @blp.response(200, WebhookSchema, headers=_ETAG)
    @errors(404)
    def get(self, webhook_id):
        """Get a webhook endpoint and where its deliveries stand"""
        webhook = webhooks.get(get_graph(), webhook_id)
        return webhook, 200, _etag(webhook)

    @requires("admin")
    @blp.arguments(WebhookPatchSchema)
    @if_match
    @blp.response(200, WebhookSchema, headers=_ETAG)
    @errors(404)
    def patch(self, body, webhook_id, expected_version):
        """Change a webhook endpoint's URL, events or description, or pause and resume it"""
        webhook = webhooks.update(get_graph(), webhook_id, body, expected_version)
        return webhook, 200, _etag(webhook)

    @requires("admin")
    @if_match
    @blp.response(204)
    @errors(404)
    def delete(self, webhook_id, expected_version):
        """Delete a webhook endpoint and its deliveries"""
        webhooks.delete(get_graph(), webhook_id, expected_version)


@blp.route("/<webhook_id>/rotate", methods=["POST"])
@requires("admin")
@idempotent(_ROTATED, replay=_ROTATION_REPLAYED)
@blp.arguments(WebhookRotateSchema)
@blp.response(200, NewWebhookSchema, headers=_ETAG)
@errors(404)
def rotate(body, webhook_id):
    """Rotate a webhook endpoint's secret: both sign until the grace period ends"""
    grace = body.get("grace_seconds")
    if grace is None:
        grace = current_app.config["NETWEAVE_WEBHOOK_ROTATION_GRACE_SECONDS"]
    webhook = webhooks.rotate(get_graph(), _sealer(), webhook_id, grace, None)
    return webhook, 200, _etag(webhook)


@blp.route("/<webhook_id>/deliveries")
@requires("admin")
@blp.arguments(PageArgsSchema, location="query")
@blp.response(200, DeliveryPageSchema)
@errors(404)
def deliveries(args, webhook_id):
    """List an endpoint's deliveries, newest first, with every attempt"""
    limit, after = args["limit"], decode_cursor(args.get("cursor"), BY_CREATION)
    return page(webhooks.deliveries_page(get_graph(), webhook_id, limit=limit, after=after), limit)


@blp.route("/<webhook_id>/deliveries/<delivery_id>")
@requires("admin")
@blp.response(200, DeliverySchema)
@errors(404)
def delivery(webhook_id, delivery_id):
    """Get one delivery with its attempts"""
    return webhooks.delivery(get_graph(), webhook_id, delivery_id)


@blp.route("/<webhook_id>/deliveries/<delivery_id>/retry", methods=["POST"])
@requires("admin")
@blp.response(202, DeliverySchema)
@errors(404, 409)
def retry(webhook_id, delivery_id):
    """Send a delivery again: the one under way at once, a past one as a replay with the same webhook-id"""
    return webhooks.retry(get_graph(), webhook_id, delivery_id)
