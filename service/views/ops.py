"""Operations: liveness, readiness, the OpenAPI document and its interactive docs."""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, Response, current_app, send_from_directory
from neo4j.exceptions import DriverError, Neo4jError

from service.web import get_graph
from service.problems import Problem

blp = Blueprint("ops", __name__)


@blp.get("/healthz")
def healthz():
    """The process answers (it does not ask Neo4j)."""
    return {"status": "ok"}


@blp.get("/readyz")
def readyz():
    """Ready when Neo4j answers a query now; 503 otherwise, and ready again once it returns."""
    graph = get_graph()
    try:
        graph.ping()
        graph.ensure_bootstrapped()
    except (DriverError, Neo4jError, OSError) as exc:
        raise Problem(503, f"Neo4j is not reachable: {type(exc).__name__}", slug="database-unavailable",
                      headers={"Retry-After": str(current_app.config["NETWEAVE_RETRY_AFTER_SECONDS"])}) from None
    return {"status": "ready", "neo4j": "ok"}


@blp.get("/openapi.yaml")
def openapi_yaml():
    api = current_app.extensions["netweave.api"]
    return Response(api.spec.to_yaml(), mimetype="application/yaml")


def _swagger_assets() -> Path:
    import swagger_ui

    return Path(swagger_ui.__file__).resolve().parent / "static"


_STATIC = Path(__file__).resolve().parent.parent / "static"
_DOCS_SCRIPT = "netweave-docs.js"


@blp.get("/docs")
def docs():
    """Swagger UI on the API document: a static page whose only scripts are files of this origin."""
    return Response((_STATIC / "docs.html").read_bytes(), mimetype="text/html")


@blp.get("/docs/assets/<path:filename>")
def docs_assets(filename: str):
    """Swagger UI's files, served from the swagger-ui-py package (nothing fetched from elsewhere), and the
    script that starts it."""
    if filename == _DOCS_SCRIPT:
        return Response((_STATIC / "docs.js").read_bytes(), mimetype="text/javascript")
    return send_from_directory(_swagger_assets(), filename, max_age=3600)
