"""API keys (admin scope): create, list, rotate, revoke."""

from __future__ import annotations

from flask import current_app
from flask.views import MethodView

from schemas.common import PageArgsSchema
from schemas.keys import ApiKeyPageSchema, ApiKeySchema, NewApiKeySchema, RotateApiKeySchema, RotatedApiKeySchema
from service.web.api import BY_CREATION, Blueprint, decode_cursor, errors, item_links, links, page
from service.web.auth import forget_cached_keys, requires
from service.web import get_graph
from service.repositories import api_keys

blp = Blueprint("api_keys", __name__, url_prefix="/v1/api-keys",
                description="API keys and their scopes; only a key's hash is stored.")


@blp.route("")
class ApiKeys(MethodView):
    @requires("admin")
    @blp.arguments(ApiKeySchema)
    @blp.response(201, NewApiKeySchema)
    @links(201, **item_links("/v1/api-keys/{key_id}", "key_id", "delete", etag=None))
    def post(self, body):
        """Create an API key (its secret is shown once)"""
        return api_keys.create(get_graph(), body["name"], body["scopes"], body.get("expires_at"))

    @requires("admin")
    @blp.arguments(PageArgsSchema, location="query")
    @blp.response(200, ApiKeyPageSchema)
    def get(self, args):
        """List API keys (never their secrets)"""
        limit, after = args["limit"], decode_cursor(args.get("cursor"), BY_CREATION)
        return page(api_keys.list_page(get_graph(), limit=limit, after=after), limit)


@blp.route("/<key_id>")
class ApiKey(MethodView):
    @requires("admin")
    @blp.response(204)
    @errors(404)
    def delete(self, key_id):
        """Revoke an API key"""
        try:
            api_keys.revoke(get_graph(), key_id)
        finally:
            forget_cached_keys()


@blp.route("/<key_id>/rotate")
class ApiKeyRotation(MethodView):
    @requires("admin")
    @blp.arguments(RotateApiKeySchema)
    @blp.response(201, RotatedApiKeySchema)
    @errors(404, 409)
    def post(self, body, key_id):
        """Rotate an API key: a successor with the same scopes; the old key expires after a grace period"""
        grace = body.get("grace_seconds")
        if grace is None:
            grace = current_app.config["NETWEAVE_KEY_ROTATION_GRACE_SECONDS"]
        try:
            return api_keys.rotate(get_graph(), key_id, grace)
        finally:
            forget_cached_keys()
