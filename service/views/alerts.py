"""Network alerts (a cut point, an inactive broker, a silo, a health metric that moved) and their thresholds."""

from __future__ import annotations

from flask.views import MethodView

from schemas.alerts import AlertArgsSchema, AlertPageSchema, AlertSettingsSchema
from service.web.api import BY_SEQ, Blueprint, decode_cursor, etag, if_match, page
from service.web.auth import requires
from service.web import get_graph
from service.repositories import alerts

blp = Blueprint("alerts", __name__, url_prefix="/v1/alerts",
                description="What the analytics found changed for the worse in the network since the previous "
                            "report, and the thresholds that decide it.")

_ETAG = {"ETag": {"schema": {"type": "string"}}}


@blp.route("")
@requires("read")
@blp.arguments(AlertArgsSchema, location="query")
@blp.response(200, AlertPageSchema)
def list_alerts(args):
    """List alerts, newest first"""
    limit, after = args.pop("limit"), decode_cursor(args.pop("cursor", None), BY_SEQ)
    return page(alerts.list_page(get_graph(), limit=limit, after=after, **args), limit)


@blp.route("/settings")
class AlertSettings(MethodView):
    @requires("read", "admin")
    @blp.response(200, AlertSettingsSchema, headers=_ETAG)
    def get(self):
        """Get the alert thresholds"""
        settings = alerts.settings(get_graph())
        return settings, 200, {"ETag": etag(settings["version"])}

    @requires("admin")
    @blp.arguments(AlertSettingsSchema)
    @if_match
    @blp.response(200, AlertSettingsSchema, headers=_ETAG)
    def put(self, body, expected_version):
        """Set the alert thresholds"""
        settings = alerts.put_settings(get_graph(), body, expected_version)
        return settings, 200, {"ETag": etag(settings["version"])}
