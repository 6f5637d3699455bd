"""The hosted check-in page in real headless Chromium (Playwright, Debian's /usr/bin/chromium), served by the
test app on a thread, over the test Neo4j: answering with the keyboard, drafts, submission, and a roster of
2,000 names that filters within one animation frame.

The end-to-end check of the issue lives here: 30 members invited, 17 answer through the token routes and
3 through the page, and the results are compared with counts made in this test (networkx for reciprocity).
"""

from __future__ import annotations

import os
import random
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Iterator

import networkx as nx
import pytest
from werkzeug.serving import make_server

# `browser`: the explorer's fixture (one headless Chromium per module), used here as it is there.
from tests.test_explorer_browser import CHROMIUM, TIMEOUT_MS, browser  # noqa: F401

pytestmark = pytest.mark.skipif(not CHROMIUM.exists() and not os.environ.get("CI"),
                                reason="no /usr/bin/chromium (make test installs it; CI never skips)")

ROSTER = 2000
FRAME_MS = 1000 / 60
SCALES = [{"name": "trust", "min": 1, "max": 4, "labels": ["low", "some", "high", "complete"]},
          {"name": "frequency", "min": 1, "max": 5}]


@pytest.fixture(scope="module")
def base_url(app) -> Iterator[str]:
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()


@pytest.fixture
def open_page(browser):
    contexts, errors = [], []

    def open_(url: str, **options):
        context = browser.new_context(**{"viewport": {"width": 900, "height": 1000}, **options})
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(url)
        return page

    yield open_, errors
    for context in contexts:
        context.close()


def _members(api, count: int) -> list[dict]:
    """`count` members (with emails, in two organizations) through sync, as a CRM would bring them."""
    orgs = api.post("/v1/sync/organizations", json={"source": "crm", "records": [
        {"external_id": "north", "name": "North District"}, {"external_id": "south", "name": "South District"}]})
    assert orgs.status_code == 200
    ids = []
    for start in range(0, count, 1000):
        records = [{"external_id": f"m{i}", "name": f"Member {i:04d}", "email": f"m{i}@example.org",
                    "role": "Instructional Coach" if i % 4 == 0 else "teacher",    # a network's own role
                    "organizations": ["north" if i % 2 else "south"]}
                   for i in range(start, min(count, start + 1000))]
        response = api.post("/v1/sync/members", json={"source": "crm", "records": records})
        assert response.status_code == 200, response.get_json()
        ids += [result["id"] for result in response.get_json()["results"]]
    return [{"id": member_id, "name": f"Member {i:04d}"} for i, member_id in enumerate(ids)]


def _survey(api) -> dict:
    response = api.post("/v1/surveys", json={
        "title": "Spring math check-in", "closes_at": (datetime.now(timezone.utc) + timedelta(days=14)).isoformat(),
        "questions": [{"id": "advice", "type": "names", "prompt": "Who do you go to for advice about teaching math?",
                       "tie_kind": "advice", "roster": {"all": True}, "max_names": 15, "scales": SCALES},
                      {"id": "region", "type": "attribute", "attribute": "region"}]})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def _answer_on_the_page(page, picks: list[tuple[str, int]], write_in: str | None = None) -> None:
    """Names each member by typing and Enter, rates trust with the keyboard, then submits."""
    search = page.get_by_label("Search names")
    for name, trust in picks:
        search.click()
        page.keyboard.type(name)
        page.wait_for_selector(f"#q0-results button:has-text('{name}')")
        page.keyboard.press("Enter")                    # the first match is added; focus moves to its first scale
        for _ in range(trust - 1):
            page.keyboard.press("ArrowRight")           # a radio group: arrows move and choose
        if trust == 1:
            page.keyboard.press("Space")
    if write_in:
        page.get_by_label("Someone not on the list? Write their name").fill(write_in)
        page.keyboard.press("Enter")
    page.locator("#q1-value").fill("coastal")
    page.get_by_role("button", name="Submit").click()
    page.wait_for_selector("#done:not([hidden])")


def test_check_in_through_the_api_and_the_page_matches_counts_made_here(api, client, base_url, open_page):
    open_, errors = open_page
    members = _members(api, 200)
    survey = _survey(api)
    invited = members[:30]
    issued = api.post(f"/v1/surveys/{survey['id']}/invitations", json={"member_ids": [m["id"] for m in invited]})
    tokens = {item["member_id"]: item["url"] for item in issued.get_json()["items"]}
    rng = random.Random(3)
    nominations: dict[tuple[str, str], dict] = {}
    for member in invited[:17]:                         # through the token routes
        named = []
        for other in rng.sample([m for m in members if m is not member], rng.randint(1, 6)):
            scales = {"trust": rng.randint(1, 4), "frequency": rng.randint(1, 5)}
            named.append({"member_id": other["id"], "scales": scales})
            nominations[(member["id"], other["id"])] = scales
        token = tokens[member["id"]].rsplit("/", 1)[1]
        response = client.put(f"/v1/respond/{token}", json={"answers": [{"question_id": "advice", "named": named}],
                                                            "submit": True})
        assert response.status_code == 200, response.get_json()
    for member in invited[17:20]:                       # through the page, with the keyboard
        picks = [(other["name"], rng.randint(1, 4)) for other in rng.sample(invited[:17], 2)]
        page = open_(tokens[member["id"]].replace("http://localhost", base_url))
        page.wait_for_selector("#form:not([hidden])")
        _answer_on_the_page(page, picks)
        by_name = {m["name"]: m["id"] for m in members}
        for name, trust in picks:
            nominations[(member["id"], by_name[name])] = {"trust": trust}
    assert not errors, errors

    results = api.get(f"/v1/surveys/{survey['id']}/results").get_json()
    assert (results["invited"], results["responded"]) == (30, 20)
    assert results["response_rate"] == pytest.approx(20 / 30, abs=1e-4)
    assert results["nominations"] == len(nominations)
    assert results["reciprocity"] == pytest.approx(nx.reciprocity(nx.DiGraph(list(nominations))), abs=1e-4)
    trust = [scales["trust"] for scales in nominations.values()]
    assert results["trust"]["mean"] == pytest.approx(sum(trust) / len(trust), abs=1e-4)
    assert api.get(f"/v1/members/{invited[18]['id']}").get_json()["region"] == "coastal"


def test_the_page_keeps_a_draft_filters_2000_names_within_a_frame_and_labels_every_field(api, base_url,
                                                                                           open_page):
    open_, errors = open_page
    members = _members(api, ROSTER + 1)
    survey = _survey(api)
    item = api.post(f"/v1/surveys/{survey['id']}/invitations",
                    json={"member_ids": [members[0]["id"]]}).get_json()["items"][0]
    url = f"{base_url}/respond/{item['token']}"
    page = open_(url, viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)   # a phone
    page.wait_for_selector("#form:not([hidden])")
    assert "@example.org" not in page.content()
    # Every field has a label a screen reader reads; the search is the first stop of the keyboard.
    unlabeled = page.evaluate("""() => [...document.querySelectorAll('input, select')]
        .filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label')).map(e => e.id || e.name)""")
    assert unlabeled == []
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "q0-search"

    # Filtering: each keystroke's input handler, timed in the page, against one frame at 60 Hz. The word is
    # typed five times and each keystroke keeps its best time: the suite's other process shares the two
    # cores, and a time slice lost to it is not the page's.
    timings = page.evaluate("""(text) => {
        const input = document.getElementById('q0-search'); const best = [];
        for (let round = 0; round < 5; round++) {
            for (let i = 1; i <= text.length; i++) {
                input.value = text.slice(0, i);
                const t0 = performance.now(); input.dispatchEvent(new Event('input'));
                best[i - 1] = Math.min(best[i - 1] ?? Infinity, performance.now() - t0);
            }
            input.value = ''; input.dispatchEvent(new Event('input'));
        }
        return best; }""", "member 19")
    print(f"filter over {ROSTER} names, per keystroke (ms): {[round(t, 2) for t in timings]}")
    assert max(timings) < FRAME_MS, timings
    page.get_by_label("Search names").fill("ember 0")
    assert page.locator("#q0-count").inner_text().startswith("999 match")      # 0001-0999 (0000 is answering)
    # A role shows, and is found, as its vocabulary labels it (stored as instructional_coach).
    page.get_by_label("Search names").fill("Instructional coach")
    assert page.locator("#q0-count").inner_text().startswith("500 match")      # 0004, 0008, ... 2000
    assert "South District · Instructional Coach" in page.locator("#q0-results button").first.inner_text()
    page.get_by_label("Search names").fill("Member 1234")
    page.locator("#q0-results button").first.click()
    page.get_by_text("high", exact=True).first.click()
    page.get_by_role("button", name="Save draft").click()
    page.wait_for_selector("#status:has-text('Draft saved at')")

    again = open_(url)
    again.wait_for_selector("#form:not([hidden])")
    assert again.locator("ol.chosen li .who").all_inner_texts() == ["Member 1234"]
    assert again.locator("input[type=radio]:checked + label").all_inner_texts() == ["high"]
    assert "draft is restored" in again.locator("#status").inner_text()
    if os.environ.get("NETWEAVE_SCREENSHOT_DIR"):
        page.screenshot(path=str(Path(os.environ["NETWEAVE_SCREENSHOT_DIR"]) / "respond-phone.png"), full_page=True)
        again.screenshot(path=str(Path(os.environ["NETWEAVE_SCREENSHOT_DIR"]) / "respond.png"), full_page=True)
    assert not errors, errors


def test_attribute_inputs_show_the_value_on_file_and_submitting_them_untouched_keeps_it(api, base_url, open_page):
    open_, errors = open_page
    for name, body in {"grade_band": {"type": "enum", "values": ["Elementary", "Middle", "High"],
                                      "label": "Grade band"},
                       "certified_on": {"type": "date"}, "subjects": {"type": "tags"}, "rural": {"type": "boolean"},
                       "years_in_role": {"type": "integer"}, "home_phone": {"type": "string", "pii": True}}.items():
        assert api.put(f"/v1/attributes/member/{name}", json=body).status_code == 201
    synced = api.post("/v1/sync/members", json={"source": "crm", "records": [
        {"external_id": f"m{i}", "name": f"Member {i}", "region": "north coast", "attributes": {
            "grade_band": "Middle", "certified_on": "2019-06-01", "subjects": ["math", "science"], "rural": False,
            "years_in_role": 4, "home_phone": "555-0100"}} for i in range(2)]})
    assert synced.status_code == 200, synced.get_json()
    ana, ben = (result["id"] for result in synced.get_json()["results"])
    questions = ["grade_band", "certified_on", "subjects", "rural", "years_in_role", "home_phone", "region"]
    survey = api.post("/v1/surveys", json={
        "title": "Your details", "closes_at": (datetime.now(timezone.utc) + timedelta(days=14)).isoformat(),
        "questions": [{"id": name, "type": "attribute", "attribute": name} for name in questions]}).get_json()
    urls = {item["member_id"]: item["url"].replace("http://localhost", base_url) for item in api.post(
        f"/v1/surveys/{survey['id']}/invitations", json={"member_ids": [ana, ben]}).get_json()["items"]}
    before = api.get(f"/v1/members/{ana}").get_json()

    page = open_(urls[ana])
    page.wait_for_selector("#form:not([hidden])")
    shown = [page.locator(f"#q{index}-value").input_value() for index in range(len(questions))]
    assert shown == ["Middle", "2019-06-01", "math, science", "false", "4", "", "north coast"]
    assert page.get_by_label("Grade band").input_value() == "Middle"
    assert page.locator("#q0-value-on-file").inner_text() == ("On file for you: Middle. Keep it, or change it if it "
                                                             "is out of date.")
    assert "On file for you: No." in page.locator("#q3-value-on-file").inner_text()
    assert "not shown here, as it is personal" in page.locator("#q5-value-on-file").inner_text()
    assert page.locator("#q0-value").get_attribute("aria-describedby") == "q0-value-on-file"
    assert "555-0100" not in page.content()
    if os.environ.get("NETWEAVE_SCREENSHOT_DIR"):
        page.screenshot(path=str(Path(os.environ["NETWEAVE_SCREENSHOT_DIR"]) / "respond-on-file.png"), full_page=True)
    page.get_by_role("button", name="Submit").click()
    page.wait_for_selector("#done:not([hidden])")
    after = api.get(f"/v1/members/{ana}").get_json()
    assert after["attributes"] == before["attributes"] and after["attributes"]["home_phone"] == "555-0100"
    assert (after["region"], after["version"]) == ("north coast", before["version"])

    # A saved draft answer is what the page shows, not the value on file.
    token = urls[ben].rsplit("/", 1)[1]
    assert api.put(f"/v1/respond/{token}", json={"answers": [{"question_id": "grade_band", "value": "High"}]}
                   ).status_code == 200
    again = open_(urls[ben])
    again.wait_for_selector("#form:not([hidden])")
    assert again.locator("#q0-value").input_value() == "High"
    assert "On file for you: Middle." in again.locator("#q0-value-on-file").inner_text()
    assert again.locator("#q6-value").input_value() == "north coast"
    assert not errors, errors


def test_the_page_says_clearly_when_a_link_cannot_be_used(base_url, open_page, api):
    open_, errors = open_page
    page = open_(f"{base_url}/respond/nwr_{'x' * 43}")
    page.wait_for_selector("#problem:not([hidden])")
    assert "not valid" in page.locator("#problem").inner_text()
    assert page.locator("#title").inner_text() == "This check-in link cannot be used"
