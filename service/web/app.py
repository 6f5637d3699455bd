"""The Flask app: the API, its pages and the HTTP edge's hooks, over the process's graph."""

from __future__ import annotations

from typing import Any, Mapping

from flask import Flask

from service import __version__, config as config_module, db
from service.web import auth, bookmarks, errors, limits, observability, request_limits, security
from service.web.api import create_api

API_SPEC = {
    "API_TITLE": "netweave",
    "API_VERSION": __version__,
    "OPENAPI_VERSION": "3.1.0",
    "OPENAPI_URL_PREFIX": "/",
    "OPENAPI_JSON_PATH": "openapi.json",
    "API_SPEC_OPTIONS": {
        "info": {
            "description": (
                "netweave maps the relationships of an education network (members, organizations, "
                "affiliations and collaborations) so partner apps, CRM integrations and analysts can "
                "see and strengthen it. Errors are RFC 9457 problem+json. Authenticate with "
                "`Authorization: Bearer <API key>`; each operation names the scope it needs."
            ),
        },
        "components": {
            "securitySchemes": {
                auth.SECURITY_SCHEME: {"type": "http", "scheme": "bearer",
                                       "description": "an API key created with POST /v1/api-keys or "
                                                      "`netweave keys create`"},
            },
        },
    },
}


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """The app: defaults, then the environment, then `config` (tests pass a mapping)."""
    # Named after the package, as before the app factory moved here: its root path (service/, whose
    # static/ Flask serves) and its logger's name stay what they were.
    app = Flask("service")
    app.config.update(API_SPEC)
    app.config.update(config_module.load(config))
    app.config["MAX_CONTENT_LENGTH"] = app.config["NETWEAVE_MAX_BODY_BYTES"]
    observability.init_app(app)
    request_limits.init_app(app)

    app.extensions[db.EXTENSION] = db.open_graph(app.config)

    api = create_api(app)
    api.init_app(app)
    app.extensions["netweave.api"] = api
    errors.register(app)
    bookmarks.init_app(app)
    app.before_request(auth.forget_caller)

    from service.views import BLUEPRINTS, explorer, ops, surveys

    app.register_blueprint(ops.blp)
    app.register_blueprint(explorer.blp)
    app.register_blueprint(surveys.page_blp)
    for blueprint in BLUEPRINTS:
        api.register_blueprint(blueprint)

    security.init_app(app)
    limits.init_app(app)
    return app
