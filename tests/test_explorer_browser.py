"""The explorer in a real browser: headless Chromium (Debian's /usr/bin/chromium) driven by Playwright,
against `netweave serve` (gunicorn, a subprocess on a free port) over the test Neo4j with the demo network.

The module shares one server and one browser; each test opens a fresh page. Its fixtures do not use the
`app`/`graph` fixtures on purpose: those clean the graph before every test, and the server needs the
demo network to stay for the whole module.
"""

from __future__ import annotations

import http.client
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Iterator
from urllib.parse import quote, urlencode

import pytest

from service import config as config_module, open_graph
from service.cli import demo, seeding
from service.web import auth
from tests.conftest import ADMIN_SECRET, TEST_QUERIES
from tests.support import stop, wait_until_serving

CHROMIUM = Path("/usr/bin/chromium")
LAUNCH_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync"]
DEMO_MEMBERS = 300
TIMEOUT_MS = 60_000

pytestmark = pytest.mark.skipif(not CHROMIUM.exists() and not os.environ.get("CI"),
                                reason="no /usr/bin/chromium (make test installs it; CI never skips)")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Server:
    def __init__(self, port: int):
        self.port = port
        self.base = f"http://127.0.0.1:{port}"

    def call(self, method: str, path: str, secret: str, body: Any = None) -> tuple[int, Any]:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
        headers = {"Authorization": f"Bearer {secret}", "Content-Type": "application/json"}
        try:
            connection.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
            response = connection.getresponse()
            data = response.read()
        finally:
            connection.close()
        return response.status, json.loads(data) if data else None

    def get(self, path: str, secret: str, **params: Any) -> Any:
        query = urlencode({k: v for k, v in params.items() if v is not None})
        for _ in range(120):  # 202: a background analytics run; ask again
            status, body = self.call("GET", f"{path}?{query}" if query else path, secret)
            if status != 202:
                assert status == 200, body
                return body
            time.sleep(1)
        raise AssertionError(f"{path} still computing")


def _load_demo(settings: dict[str, Any]) -> None:
    graph = open_graph(config_module.load({**settings, "NETWEAVE_ADMIN_KEY": ADMIN_SECRET}))
    try:
        graph.ensure_bootstrapped()
        graph.write(lambda tx: tx.run(TEST_QUERIES["test_clean_graph"].text,
                                      keep_key_id=auth.BOOTSTRAP_KEY_ID).consume())
        seeding.load(graph, demo.generate_demo_network(seed=7, members=DEMO_MEMBERS), 7)
    finally:
        graph.close()


def _netweave() -> str:
    beside = Path(sys.executable).with_name("netweave")
    return str(beside) if beside.exists() else shutil.which("netweave")


@pytest.fixture(scope="module")
def server(neo4j_settings) -> Iterator[Server]:
    _load_demo(neo4j_settings)
    env = {**os.environ, "NEO4J_URI": neo4j_settings["NEO4J_URI"],
           # The session app seeded the same bootstrap key: re-seeding it with another secret would lock it out.
           "NETWEAVE_ADMIN_KEY": ADMIN_SECRET, "NETWEAVE_LOG_LEVEL": "warning"}
    for name in ("NEO4J_USER", "NEO4J_PASSWORD"):
        if neo4j_settings.get(name):
            env[name] = neo4j_settings[name]
    port = _free_port()
    process = subprocess.Popen([_netweave(), "serve", "--port", str(port), "--workers", "1"], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_until_serving(port, process)
        yield Server(port)
    finally:
        stop(process)


@pytest.fixture(scope="module")
def analyst_key(server) -> str:
    """A key with exactly what the explorer needs: analytics and read (no pii)."""
    status, body = server.call("POST", "/v1/api-keys", ADMIN_SECRET,
                               {"name": "explorer test", "scopes": ["analytics", "read"]})
    assert status == 201, body
    return body["secret"]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    # launch() gives Chromium a fresh temporary profile of its own (it refuses --user-data-dir).
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        try:
            yield launched
        finally:
            launched.close()


class Page:
    """A fresh browser page that records console errors and uncaught exceptions, and in `error_sources` the
    address each console error names (a resource that failed to load: the favicon, an API call)."""

    def __init__(self, browser):
        self.context = browser.new_context(viewport={"width": 1400, "height": 900})
        self.page = self.context.new_page()
        self.page.set_default_timeout(TIMEOUT_MS)
        self.errors: list[str] = []
        self.error_sources: list[str] = []
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))

    def _console(self, message) -> None:
        if message.type == "error":
            self.errors.append(message.text)
            self.error_sources.append(message.location.get("url", ""))

    def open(self, server: Server, key: str) -> None:
        self.page.goto(f"{server.base}/explorer#key={quote(key)}")
        self.ready()

    def ready(self) -> None:
        self.page.wait_for_selector("body[data-state=ready]")

    def canvas(self, name: str) -> str:
        return self.page.get_attribute("#network", f"data-{name}")


@pytest.fixture
def page(browser) -> Iterator[Page]:
    opened = Page(browser)
    try:
        yield opened
    finally:
        opened.context.close()


def test_explorer_takes_the_key_from_the_fragment_and_draws_every_member(server, analyst_key, page):
    page.open(server, analyst_key)

    layout = server.get("/v1/analytics/layout", analyst_key)
    assert layout["members_shown"] == DEMO_MEMBERS
    assert page.canvas("view") == "members"
    assert int(page.canvas("drawn")) == layout["members_shown"]
    assert analyst_key not in page.page.url and "#" not in page.page.url
    assert page.page.evaluate("sessionStorage.getItem('netweave.key')") == analyst_key
    assert page.page.locator("#health-metrics dd .value").first.text_content() == str(DEMO_MEMBERS)
    # The legend's clusters wear the colours the server gives (the pictures' palette), in rank order.
    swatches = page.page.eval_on_selector_all("#legend .swatch:not(.ring)", "nodes => nodes.map("
                                              "n => getComputedStyle(n).backgroundColor)")
    shown = min(len(layout["clusters"]["id"]), 8)
    assert swatches[:shown] == [_rgb(colour) for colour in layout["clusters"]["colour"][:shown]]
    assert page.errors == []


def _rgb(hex_colour: str) -> str:
    red, green, blue = (int(hex_colour[k:k + 2], 16) for k in (1, 3, 5))
    return f"rgb({red}, {green}, {blue})"


def test_clicking_a_member_shows_its_recommendations(server, analyst_key, page):
    page.open(server, analyst_key)
    layout = server.get("/v1/analytics/layout", analyst_key)
    box = page.page.locator("#network").bounding_box()
    scale, left, top = (float(page.canvas(name)) for name in ("scale", "offset-x", "offset-y"))

    def point(i: int) -> tuple[float, float]:
        return (box["x"] + left + layout["members"]["x"][i] * scale,
                box["y"] + top + layout["members"]["y"][i] * scale)

    # The best-connected member whose dot no panel or legend covers.
    by_degree = sorted(range(layout["members_shown"]), key=lambda i: -layout["members"]["degree"][i])
    member = next(i for i in by_degree if page.page.evaluate(
        "([x, y]) => document.elementFromPoint(x, y)?.id === 'network'", list(point(i))))
    member_id = layout["members"]["id"][member]
    expected = server.get(f"/v1/members/{member_id}/recommendations", analyst_key, limit=5)["items"]
    assert expected, "the demo's best-connected member has introductions to suggest"
    page.page.mouse.click(*point(member))

    page.page.wait_for_selector("#member-panel[data-state=loaded]")
    assert page.page.get_attribute("#member-panel", "data-member-id") == member_id
    assert page.page.locator("#member-details h3").text_content() == layout["members"]["name"][member]
    shown = page.page.locator("#recommendations li.recommendation").all_text_contents()
    assert len(shown) == len(expected)
    assert shown[0].startswith(expected[0]["member"]["name"])
    assert page.errors == []


def test_a_filter_changes_what_is_drawn(server, analyst_key, page):
    page.open(server, analyst_key)
    layout = server.get("/v1/analytics/layout", analyst_key)
    region = sorted(r for r in set(layout["members"]["region"]) if r)[0]
    filtered = server.get("/v1/analytics/layout", analyst_key, region=region)
    assert 0 < filtered["members_shown"] < layout["members_shown"]

    page.page.select_option("#filter-region", region)
    # (The page's policy forbids string evaluation, so wait on the attribute, not a JS predicate.)
    page.page.wait_for_selector(f"#network[data-drawn='{filtered['members_shown']}']")
    page.ready()
    assert page.page.locator("#health-metrics dd .value").first.text_content() == str(filtered["members_shown"])

    page.page.select_option("#filter-region", "")
    page.page.wait_for_selector(f"#network[data-drawn='{DEMO_MEMBERS}']")
    assert page.errors == []


def test_clusters_view_draws_bubbles_and_a_bubble_lists_its_members(server, analyst_key, page):
    page.open(server, analyst_key)
    bubbles = server.get("/v1/analytics/layout", analyst_key, view="clusters")
    largest = max(range(len(bubbles["clusters"]["id"])), key=lambda c: bubbles["clusters"]["size"][c])

    page.page.select_option("#view", "clusters")
    page.page.wait_for_selector("#network[data-view=clusters]")
    page.ready()
    assert int(page.canvas("drawn-clusters")) == len(bubbles["clusters"]["id"])
    assert page.canvas("drawn") == "0"

    box = page.page.locator("#network").bounding_box()
    scale, left, top = (float(page.canvas(name)) for name in ("scale", "offset-x", "offset-y"))
    page.page.mouse.click(box["x"] + left + bubbles["clusters"]["x"][largest] * scale,
                          box["y"] + top + bubbles["clusters"]["y"][largest] * scale)
    page.page.wait_for_selector("#member-panel[data-state=cluster]")
    assert page.page.get_attribute("#member-panel", "data-cluster-id") == bubbles["clusters"]["id"][largest]
    listed = page.page.locator("#recommendations li.cluster-member").all_text_contents()
    assert len(listed) == min(20, bubbles["clusters"]["size"][largest])
    # Each with its role as the member_role vocabulary labels it.
    labels = {term["value"]: term["label"]
              for term in server.get("/v1/vocabularies/member_role", analyst_key)["values"]}
    members = server.get(f"/v1/analytics/clusters/{bubbles['clusters']['id'][largest]}", analyst_key,
                         limit=20)["items"]
    assert listed == [member["name"] + (f" ({labels[member['role']]})" if member["role"] else "")
                      for member in members]
    assert page.errors == []


def test_the_alerts_panel_lists_the_newest_alerts_and_one_about_a_member_shows_it(
        server, analyst_key, page, neo4j_settings):
    from service.repositories import alerts

    layout = server.get("/v1/analytics/layout", analyst_key)
    member = max(range(layout["members_shown"]), key=lambda i: layout["members"]["betweenness"][i])
    member_id, name = layout["members"]["id"][member], layout["members"]["name"][member]
    graph = open_graph(config_module.load({**neo4j_settings, "NETWEAVE_ADMIN_KEY": ADMIN_SECRET}))
    try:
        graph.write(lambda tx: alerts.emit(tx, "cut_point.new", {"member_id": member_id, "name": name,
                                                                 "cut_off": 7, "previous_cut_off": None},
                                           subject=member_id))
        graph.write(lambda tx: alerts.emit(tx, "health.changed", {"metric": "largest_component_share",
                                                                  "from": 1.0, "to": 0.8,
                                                                  "compared_with": "previous report"},
                                           subject="x"))
    finally:
        graph.close()
    page.open(server, analyst_key)
    page.page.wait_for_selector("#alerts-panel[data-state=loaded]")
    items = page.page.locator("#alerts li")
    assert items.nth(0).get_attribute("data-kind") == "health.changed"      # newest first
    assert "largest component share went from 1 to 0.800 since the previous report" in items.nth(0).text_content()
    assert items.nth(1).get_attribute("data-kind") == "cut_point.new"
    assert f"{name} now holds 7 members" in items.nth(1).text_content()
    items.nth(1).click()
    page.page.wait_for_selector("#member-panel[data-state=loaded]")
    assert page.page.get_attribute("#member-panel", "data-member-id") == member_id
    if os.environ.get("NETWEAVE_SCREENSHOT_DIR"):  # the whole page, to look at
        page.page.screenshot(path=str(Path(os.environ["NETWEAVE_SCREENSHOT_DIR"]) / "explorer-alerts.png"),
                             full_page=True)
    assert page.errors == []


def test_members_are_coloured_and_highlighted_by_a_custom_attribute(server, analyst_key, page):
    status, body = server.call("PUT", "/v1/attributes/member/grade_band", ADMIN_SECRET,
                               {"type": "enum", "values": ["elementary", "high"], "label": "Grade band"})
    assert status in (200, 201), body
    layout = server.get("/v1/analytics/layout", analyst_key)
    chosen = layout["members"]["id"][:30]
    for n, member_id in enumerate(chosen):
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
        connection.request("PATCH", f"/v1/members/{member_id}", body=json.dumps(
            {"attributes": {"grade_band": "elementary" if n < 20 else "high"}}), headers={
            "Authorization": f"Bearer {ADMIN_SECRET}", "Content-Type": "application/json", "If-Match": "*"})
        assert connection.getresponse().status == 200
        connection.close()
    page.open(server, analyst_key)
    page.page.select_option("#colour-by", "attr:grade_band")
    legend = page.page.locator("#legend").text_content()
    assert "elementary: 20" in legend and "high: 10" in legend and f"{DEMO_MEMBERS - 30} not set" in legend
    page.page.select_option("#highlight-field", "attr:grade_band")
    page.page.select_option("#highlight-value", "high")
    page.page.wait_for_selector("#network[data-highlighted='10']")
    if os.environ.get("NETWEAVE_SCREENSHOT_DIR"):
        page.page.screenshot(path=str(Path(os.environ["NETWEAVE_SCREENSHOT_DIR"]) / "explorer-attribute.png"))
    page.page.select_option("#highlight-field", "role")
    roles = layout["members"]["role"]
    top = max(set(roles), key=lambda role: (roles.count(role), role or ""))
    page.page.select_option("#highlight-value", top)
    page.page.wait_for_selector(f"#network[data-highlighted='{roles.count(top)}']")
    assert page.errors == []


def test_explorer_screenshot_is_not_blank(server, analyst_key, page, tmp_path):
    from PIL import Image, ImageStat

    page.open(server, analyst_key)
    path = tmp_path / "explorer.png"
    page.page.locator("#network").screenshot(path=str(path))
    if os.environ.get("NETWEAVE_SCREENSHOT_DIR"):  # keep a copy to look at (the closing note's screenshot)
        shutil.copy(path, Path(os.environ["NETWEAVE_SCREENSHOT_DIR"]) / "explorer.png")

    image = Image.open(path).convert("RGB")
    colours = image.getcolors(maxcolors=1 << 20)
    assert colours is not None and len(colours) > 50, "a drawing of 300 members has many colours"
    assert max(ImageStat.Stat(image).stddev) > 20, "the canvas is not one flat colour"
    assert page.errors == []


def test_explorer_without_a_key_asks_for_one_and_sends_security_headers(server, page):
    response = page.page.goto(f"{server.base}/explorer")
    page.page.wait_for_selector("body[data-state=needs-key]")
    assert page.page.is_visible("#key-form")
    policy = response.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    assert response.headers["x-content-type-options"] == "nosniff"
    assert page.canvas("drawn") == "0"
    assert page.errors == []


def _shot(page: Page, name: str) -> None:
    """A screenshot of the whole page to look at, when NETWEAVE_SCREENSHOT_DIR is set."""
    if os.environ.get("NETWEAVE_SCREENSHOT_DIR"):
        page.page.screenshot(path=str(Path(os.environ["NETWEAVE_SCREENSHOT_DIR"]) / name))


def test_finding_a_member_by_name_shows_it_with_its_ties_and_suggested_introductions(server, analyst_key, page):
    page.open(server, analyst_key)
    layout = server.get("/v1/analytics/layout", analyst_key)
    names = layout["members"]["name"]
    member = max((i for i in range(len(names)) if names.count(names[i]) == 1),
                 key=lambda i: (layout["members"]["degree"][i], layout["members"]["id"][i]))
    member_id = layout["members"]["id"][member]
    ties = sum(member in (a, b) for a, b in zip(layout["ties"]["source"], layout["ties"]["target"]))
    suggested = [item for item in server.get(f"/v1/members/{member_id}/recommendations", analyst_key, limit=5)["items"]
                 if item["member"]["id"] in layout["members"]["id"]]
    assert ties > 0 and suggested

    asked = []
    page.page.on("request", lambda request: asked.append(request.url) if f"/v1/members/{member_id}" in request.url
                 else None)
    page.page.fill("#search", names[member].upper())   # any case
    page.page.press("#search", "Enter")
    page.page.wait_for_selector("#member-panel[data-state=loaded]")
    assert page.page.get_attribute("#member-panel", "data-member-id") == member_id
    page.page.wait_for_selector(f"#network[data-suggested='{len(suggested)}']")
    page.page.wait_for_timeout(300)
    # One Enter, one fetch of each (its change event and the form's submission both used to fetch).
    assert sorted(url.split("?")[0].rsplit("/", 1)[-1] for url in asked) == [member_id, "recommendations"], asked
    assert int(page.canvas("selected-ties")) == ties
    # The member is centred in the canvas.
    box = page.page.locator("#network").bounding_box()
    scale, left, top = (float(page.canvas(name)) for name in ("scale", "offset-x", "offset-y"))
    assert abs(left + layout["members"]["x"][member] * scale - box["width"] / 2) < 2
    assert abs(top + layout["members"]["y"][member] * scale - box["height"] / 2) < 2
    _shot(page, "explorer-member.png")

    page.page.fill("#search", "nobody is called this")
    page.page.press("#search", "Enter")
    page.page.wait_for_selector("#status.error")
    assert "No member shown is called" in page.page.text_content("#status")
    assert page.errors == []


def test_the_topic_filter_draws_the_members_with_that_topic(server, analyst_key, page):
    layout = server.get("/v1/analytics/layout", analyst_key)
    assert layout["topics"], "the demo's members have topics"
    topic = layout["topics"][0]
    holders, cursor = set(), None
    while True:
        page_of = server.get("/v1/members", analyst_key, topic=topic, limit=100, cursor=cursor)
        holders |= {m["id"] for m in page_of["items"]}
        cursor = page_of["next_cursor"]
        if not cursor:
            break
    filtered = server.get("/v1/analytics/layout", analyst_key, topic=topic.upper())
    assert set(filtered["members"]["id"]) == holders and 0 < len(holders) < DEMO_MEMBERS

    page.open(server, analyst_key)
    page.page.select_option("#filter-topic", topic)
    page.page.wait_for_selector(f"#network[data-drawn='{len(holders)}']")
    page.ready()
    assert page.page.locator("#health-metrics dd .value").first.text_content() == str(len(holders))
    assert page.errors == []


def test_health_metrics_are_explained_and_a_snapshot_can_be_taken_from_the_page(server, analyst_key, page):
    page.open(server, analyst_key)
    explanations = page.page.locator("#health-metrics dd .explain").all_text_contents()
    assert len(explanations) == page.page.locator("#health-metrics dt").count() >= 10
    assert all(len(text) > 15 for text in explanations)
    before = server.get("/v1/analytics/health/snapshots", analyst_key, limit=100)["items"]
    if not before:
        assert "take one below" in page.page.text_content("#trend")

    page.page.fill("#snapshot-label", "browser snapshot")
    page.page.click("#take-snapshot")
    page.page.wait_for_selector("#trend td:has-text('browser snapshot')")
    after = server.get("/v1/analytics/health/snapshots", analyst_key, limit=100)["items"]
    assert [s["label"] for s in after].count("browser snapshot") == 1 and len(after) == len(before) + 1
    assert page.errors == []


def test_the_as_of_field_takes_iso_dates_and_explains_other_forms(server, analyst_key, page):
    page.open(server, analyst_key)
    assert page.page.get_attribute("#filter-as-of", "placeholder") == "yyyy-mm-dd"
    page.page.fill("#filter-as-of", "12/01/2026")
    page.page.press("#filter-as-of", "Enter")
    page.page.dispatch_event("#filter-as-of", "change")
    page.page.wait_for_selector("#status.error")
    assert "yyyy-mm-dd" in page.page.text_content("#status")
    assert page.errors == []


def test_fit_frames_the_drawing_itself_and_an_organization_filter_is_framed_too(server, analyst_key, page):
    page.open(server, analyst_key)
    box = page.page.locator("#network").bounding_box()

    def framed(layout):
        scale, left, top = (float(page.canvas(name)) for name in ("scale", "offset-x", "offset-y"))
        xs = [left + x * scale for x in layout["members"]["x"]]
        ys = [top + y * scale for y in layout["members"]["y"]]
        # Clear of the legend: framed in the canvas left of it, or above it.
        legend = page.page.locator("#legend").bounding_box()
        legend_left, legend_top = legend["x"] - box["x"], legend["y"] - box["y"]
        assert not any(x > legend_left and y > legend_top for x, y in zip(xs, ys)), "a member under the legend"
        width, height = (legend_left, box["height"]) if max(xs) <= legend_left else (box["width"], legend_top)
        assert max(ys) <= height
        # Centred there (dot radii aside), and filling it in one dimension.
        assert abs(min(xs) - (width - max(xs))) < 0.1 * width
        assert abs(min(ys) - (height - max(ys))) < 0.1 * height
        assert max((max(xs) - min(xs)) / width, (max(ys) - min(ys)) / height) > 0.8

    page.page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.page.mouse.wheel(0, 600)      # zoom out, then Fit
    page.page.click("#fit")
    framed(server.get("/v1/analytics/layout", analyst_key))
    _shot(page, "explorer-network.png")

    organizations = server.get("/v1/organizations", analyst_key, limit=100)["items"]
    organization = organizations[0]
    filtered = server.get("/v1/analytics/layout", analyst_key, organization_id=organization["id"])
    page.page.select_option("#filter-organization", organization["id"])
    page.page.wait_for_selector(f"#network[data-drawn='{filtered['members_shown']}']")
    page.page.click("#fit")
    framed(filtered)
    _shot(page, "explorer-organization.png")
    assert page.errors == []


@pytest.fixture(scope="module")
def instructional_coach(server, analyst_key) -> dict[str, str]:
    """A demo member (one whose name no other member has) whose role a CRM sync sets to "Instructional Coach":
    stored as the member_role value instructional_coach, labelled as first spelt."""
    layout = server.get("/v1/analytics/layout", analyst_key)
    names = layout["members"]["name"]
    member = next(i for i in sorted(range(len(names)), key=lambda i: layout["members"]["id"][i])
                  if names.count(names[i]) == 1)
    member_id, name = layout["members"]["id"][member], names[member]
    status, body = server.call("POST", "/v1/sync/members", ADMIN_SECRET, {"source": "crm", "records": [
        {"external_id": "coach-1", "id": member_id, "name": name, "role": "Instructional Coach"}]})
    assert status == 200, body
    assert body["results"][0]["id"] == member_id, body
    vocabulary = server.get("/v1/vocabularies/member_role", analyst_key)
    assert {"value": "instructional_coach", "label": "Instructional Coach"} in [
        {"value": term["value"], "label": term["label"]} for term in vocabulary["values"]]
    # The layout is recomputed in the background; until then the previous one (the old role) is served.
    for _ in range(120):
        layout = server.get("/v1/analytics/layout", analyst_key)
        if layout["members"]["role"][layout["members"]["id"].index(member_id)] == "instructional_coach":
            return {"id": member_id, "name": name}
        time.sleep(1)
    raise AssertionError("the layout never showed the synced role")


def _find(page: Page, name: str) -> None:
    page.page.fill("#search", name)
    page.page.press("#search", "Enter")
    page.page.wait_for_selector("#member-panel[data-state=loaded]")


def _detail(page: Page, term: str) -> str:
    return page.page.locator(f"#member-details dt:text-is('{term}') + dd").text_content()


def test_the_explorer_shows_vocabulary_labels_and_its_role_filter_sends_the_stored_value(
        server, analyst_key, page, instructional_coach):
    labels = {term["value"]: term["label"]
              for term in server.get("/v1/vocabularies/member_role", analyst_key)["values"]}
    layout = server.get("/v1/analytics/layout", analyst_key)
    asked = []
    page.page.on("request", lambda request: asked.append(request.url) if "/v1/" in request.url else None)
    page.open(server, analyst_key)

    _find(page, instructional_coach["name"])
    assert page.page.get_attribute("#member-panel", "data-member-id") == instructional_coach["id"]
    assert _detail(page, "role") == "Instructional Coach"
    # The role filter reads as labels ("Teacher", "District leader": the defaults' labels) in the layout's order.
    options = page.page.locator("#filter-role option").all_text_contents()
    assert options == ["any"] + [labels[role] for role in layout["roles"]]
    assert "Instructional Coach" in options
    # The legend and the highlight's choices, coloured by role: the largest role first, by its label.
    roles = [role for role in layout["members"]["role"] if role]
    largest = min(set(roles), key=lambda role: (-roles.count(role), role))
    page.page.select_option("#colour-by", "role")
    legend = page.page.locator("#legend .row").all_text_contents()
    assert legend[0] == f"{labels[largest]}: {roles.count(largest)}" and "Instructional Coach: 1" in legend
    page.page.select_option("#highlight-field", "role")
    assert "Instructional Coach (1)" in page.page.locator("#highlight-value option").all_text_contents()
    page.page.select_option("#highlight-value", label="Instructional Coach (1)")
    page.page.wait_for_selector("#network[data-highlighted='1']")
    _shot(page, "explorer-labels.png")

    # Chosen by its label, the filter asks for the stored value.
    page.page.select_option("#filter-role", label="Instructional Coach")
    page.page.wait_for_selector("#network[data-drawn='1']")
    page.ready()
    assert any("/v1/analytics/layout?" in url and "role=instructional_coach" in url for url in asked), asked
    # One read of the vocabularies for the page, whatever was clicked and filtered since.
    assert [url for url in asked if "/v1/vocabularies" in url] == [f"{server.base}/v1/vocabularies"]
    assert page.errors == []


def test_without_the_vocabularies_the_explorer_shows_stored_values(server, analyst_key, page, instructional_coach):
    # As for a key the vocabularies refuse: the page still loads, and a role reads as its value.
    vocabularies = f"{server.base}/v1/vocabularies"
    page.page.route(vocabularies, lambda route: route.fulfill(
        status=403, content_type="application/problem+json",
        body=json.dumps({"type": "about:blank", "title": "Forbidden", "status": 403, "detail": "needs scope read"})))
    page.open(server, analyst_key)
    page.page.wait_for_selector("body[data-vocabularies=unavailable]")

    _find(page, instructional_coach["name"])
    assert _detail(page, "role") == "instructional coach"
    assert "instructional coach" in page.page.locator("#filter-role option").all_text_contents()
    assert [source for source in page.error_sources if source != vocabularies] == []
    assert len(page.errors) == len(page.error_sources)      # no uncaught exception


@pytest.mark.parametrize("path", ["/docs", "/explorer", f"/respond/nwr_{'x' * 43}"])
def test_each_page_has_an_icon_of_its_own_and_no_failed_favicon_request(server, page, path):
    page.page.goto(f"{server.base}{path}", wait_until="load")
    assert page.page.get_attribute("link[rel~=icon]", "href").startswith("data:image/svg+xml,")
    # Without an icon of its own a page makes the browser ask for /favicon.ico after the load: a 404 and a
    # console error naming it. (Playwright's request events do not show that request; the console does.)
    page.page.wait_for_timeout(1500)
    # The check-in page's unknown token is refused by its API call; nothing else may fail.
    assert [source for source in page.error_sources if "/v1/respond/" not in source] == []
    assert len(page.errors) == len(page.error_sources)      # no uncaught exception
