"""GET /explorer: a static page served without a key, its own assets only, under a strict policy."""

from __future__ import annotations

import re
from html.parser import HTMLParser


class _Tags(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.inline_script = False

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        if self.tags and self.tags[-1][0] == "script" and data.strip():
            self.inline_script = True


def test_explorer_page_needs_no_key_and_runs_only_its_own_script(client):
    with client.get("/explorer") as response:
        html = response.get_data(as_text=True)
    assert response.status_code == 200 and response.mimetype == "text/html"
    policy = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "default-src 'none'" in policy and "unsafe" not in policy
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == "no-referrer"

    parsed = _Tags()
    parsed.feed(html)
    assert not parsed.inline_script
    assert not [(tag, name) for tag, attrs in parsed.tags for name in attrs if name.startswith("on") or name == "style"]
    sources = [attrs.get("src") or attrs.get("href") for tag, attrs in parsed.tags
               if tag == "script" or (tag == "link" and attrs.get("rel") != "icon")]
    assert sources and all(source.startswith("/explorer/assets/") for source in sources)
    # The tab's icon is an image drawn from the page itself (an SVG data URI, which img-src 'data:' allows), so
    # the browser asks for no /favicon.ico; an image runs no script.
    icons = [attrs["href"] for tag, attrs in parsed.tags if tag == "link" and attrs.get("rel") == "icon"]
    assert len(icons) == 1 and icons[0].startswith("data:image/svg+xml,")


def test_explorer_assets_are_served_and_nothing_else_from_the_directory(client):
    with client.get("/explorer/assets/explorer.js") as script:
        text = script.get_data(as_text=True)
    assert script.status_code == 200 and "javascript" in script.mimetype
    assert not re.search(r"https?://", text), "the page talks only to its own origin"
    for path, status in (("explorer.css", 200), ("explorer.html", 404), ("..%2f__init__.py", 404)):
        with client.get(f"/explorer/assets/{path}") as response:
            assert response.status_code == status


def test_explorer_takes_its_colours_from_the_layout_not_a_list_of_its_own(client):
    # One palette (service/exports/pictures.py), served in the layout report: a second copy here would drift.
    with client.get("/explorer/assets/explorer.js") as script:
        text = script.get_data(as_text=True)
    from service.exports import pictures

    assert not [colour for colour in pictures.PALETTE if colour in text.lower()]
    assert "PALETTE = layout.palette.colours" in text
