"""The HTTP edge: the Flask API's plumbing (routing and schemas, errors as problem+json, authentication,
rate limits, security headers, request metrics and logs, bookmarks, Idempotency-Key). The views
(service/views) sit on it; the data layer (service/db.py, service/repositories) and the analytics never
import it."""

from __future__ import annotations

from flask import current_app

from service import db


def get_graph() -> db.Graph:
    """The app's graph (one driver per process), for the code that answers a request."""
    return current_app.extensions[db.EXTENSION]
