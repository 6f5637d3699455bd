"""The explorer: one static HTML page with its own script and style sheet, served without a key.

The page holds no data; its script asks the API with the key the analyst enters (kept in sessionStorage)
or passes in the URL fragment, which browsers never send to the server. The policy below lets the page
run only its own script and talk only to this origin.
"""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, abort, send_from_directory

STATIC = Path(__file__).resolve().parent.parent / "static"
ASSETS = ("explorer.js", "explorer.css")

POLICY = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
          "base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
HEADERS = {"Content-Security-Policy": POLICY, "X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY",
           "Referrer-Policy": "no-referrer", "Cross-Origin-Opener-Policy": "same-origin"}

blp = Blueprint("explorer", __name__)


def _secured(response):
    response.headers.update(HEADERS)
    return response


def static_page(filename: str, cache_control: str):
    """A static HTML page of service/static under the pages' policy (the explorer, the check-in page)."""
    response = send_from_directory(STATIC, filename, mimetype="text/html", max_age=0)
    response.headers["Cache-Control"] = cache_control
    return _secured(response)


def static_asset(name: str, allowed: tuple[str, ...]):
    """One of a page's own scripts and style sheets (`allowed`); nothing else in the directory is served."""
    if name not in allowed:
        abort(404)
    return _secured(send_from_directory(STATIC, name, max_age=300))


@blp.get("/explorer")
def page():
    """The explorer page (static; the data calls it makes need a key)."""
    return static_page("explorer.html", "no-cache")


@blp.get("/explorer/assets/<name>")
def asset(name: str):
    """The page's own script and style sheet; nothing else in the directory is served."""
    return static_asset(name, ASSETS)
