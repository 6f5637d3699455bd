"""netweave: a relationship-graph REST API for education networks, over Neo4j."""

from __future__ import annotations

from importlib import metadata
from typing import Any


def _version() -> str:
    """The installed package's version (pyproject.toml), which the OpenAPI document and /docs show."""
    try:
        return metadata.version("netweave")
    except metadata.PackageNotFoundError:  # imported from a checkout that was never installed
        return "0+unknown"


__version__ = _version()


def __getattr__(name: str) -> Any:
    """`create_app` and `API_SPEC` (service/web/app.py) and `open_graph` (service/db.py), imported when
    first asked for: importing the data layer, the analytics worker or the command line never loads the
    web framework."""
    if name in ("create_app", "API_SPEC"):
        from service.web import app

        return getattr(app, name)
    if name == "open_graph":
        from service.db import open_graph

        return open_graph
    raise AttributeError(f"module 'service' has no attribute {name!r}")
