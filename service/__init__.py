"""netweave: a relationship-graph REST API for education networks, over Neo4j."""

from __future__ import annotations

from importlib import metadata
from typing import Any, Mapping

from flask import Flask

from service import (auth, bookmarks, config as config_module, db, errors, limits, observability, request_limits,
                     security)
from service.api import create_api


def _version() -> str:
    """The installed package's version (pyproject.toml), which the OpenAPI document and /docs show."""
    try:
        return metadata.version("netweave")
    except metadata.PackageNotFoundError:  # imported from a checkout that was never installed
        return "0+unknown"


__version__ = _version()

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
    app = Flask(__name__)
    app.config.update(API_SPEC)
    app.config.update(config_module.load(config))
    app.config["MAX_CONTENT_LENGTH"] = app.config["NETWEAVE_MAX_BODY_BYTES"]
    observability.init_app(app)
    request_limits.init_app(app)

    app.extensions[db.EXTENSION] = open_graph(app.config)

    api = create_api(app)
    api.init_app(app)
    app.extensions["netweave.api"] = api
    errors.register(app)
    bookmarks.init_app(app)

    from service.views import BLUEPRINTS, explorer, ops, surveys

    app.register_blueprint(ops.blp)
    app.register_blueprint(explorer.blp)
    app.register_blueprint(surveys.page_blp)
    for blueprint in BLUEPRINTS:
        api.register_blueprint(blueprint)

    security.init_app(app)
    limits.init_app(app)
    return app


def open_graph(config: Mapping[str, Any]) -> db.Graph:
    """A driver for the configured database that applies the schema and seeds the admin key on first use."""
    graph = db.Graph(db.create_driver(config), config["NEO4J_DATABASE"],
                     query_timeout=config["NETWEAVE_QUERY_TIMEOUT_SECONDS"])
    from service.repositories import changes, vocabularies

    graph.bootstrap_steps = [db.apply_schema, changes.migrate, vocabularies.seed,
                             lambda g: auth.seed_admin_key(g, config["NETWEAVE_ADMIN_KEY"])]
    return graph

