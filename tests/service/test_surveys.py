"""Check-ins: defining a survey, inviting members, answering by token, the ties and the results."""

from __future__ import annotations

import json
import logging
import random
from collections import defaultdict
from datetime import datetime, timedelta, timezone

import networkx as nx
import pytest

SCALES = [{"name": "trust", "min": 1, "max": 4, "labels": ["low", "some", "high", "complete"]},
          {"name": "value", "min": 1, "max": 5}, {"name": "frequency", "min": 1, "max": 5}]


def _later(**delta) -> str:
    return (datetime.now(timezone.utc) + timedelta(**delta)).isoformat()


def _survey(api, **changes) -> dict:
    body = {"title": "Spring check-in", "closes_at": _later(days=30), "questions": [
        {"id": "advice", "type": "names", "prompt": "Who do you go to for advice about math teaching?",
         "tie_kind": "advice", "roster": {"all": True}, "max_names": 15, "scales": SCALES},
        {"id": "region", "type": "attribute", "attribute": "region"}], **changes}
    response = api.post("/v1/surveys", json=body)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def _invite(api, survey, members) -> dict[str, str]:
    response = api.post(f"/v1/surveys/{survey['id']}/invitations", json={"member_ids": [m["id"] for m in members]})
    assert response.status_code == 201, response.get_json()
    items = response.get_json()["items"]
    assert [item["member_id"] for item in items] == [m["id"] for m in members]
    assert all(item["url"].endswith(f"/respond/{item['token']}") for item in items)
    return {item["member_id"]: item["token"] for item in items}


def _answer(client, token, answers, submit=True):
    return client.put(f"/v1/respond/{token}", json={"answers": answers, "submit": submit})


@pytest.fixture
def people(api):
    """30 members with emails in two organizations, with roles (synced: two requests, not sixty)."""
    synced = api.post("/v1/sync/organizations", json={"source": "crm", "records": [
        {"external_id": "north", "name": "North District"}, {"external_id": "south", "name": "South District"}]})
    orgs = [{"id": result["id"], "name": name}
            for result, name in zip(synced.get_json()["results"], ("North District", "South District"))]
    records = [{"external_id": f"m{i}", "name": f"Member {i:02d}", "email": f"member{i}@example.org",
                "role": "coach" if i % 3 == 0 else "teacher", "organizations": ["north" if i % 2 == 0 else "south"]}
               for i in range(30)]
    response = api.post("/v1/sync/members", json={"source": "crm", "records": records})
    assert response.status_code == 200, response.get_json()
    members = [{"id": result["id"], "name": record["name"], "organization": orgs[i % 2]}
               for i, (result, record) in enumerate(zip(response.get_json()["results"], records))]
    return orgs, members


def test_check_in_end_to_end_results_match_counts_made_here(api, client, people):
    orgs, members = people
    survey = _survey(api)
    assert survey["status"] == "open" and survey["questions"][0]["tie_kind"] == "advice"
    tokens = _invite(api, survey, members)
    rng = random.Random(7)
    respondents = members[:20]
    nominations = {}                                  # (a, b) -> scales
    by_id = {m["id"]: m for m in members}
    for member in respondents:
        others = [m for m in members if m is not member]
        named = []
        for other in rng.sample(others, rng.randint(0, 8)):
            scales = {"trust": rng.randint(1, 4), "value": rng.randint(1, 5), "frequency": rng.randint(1, 5)}
            if rng.random() < 0.2:
                del scales["trust"]
            named.append({"member_id": other["id"], "scales": scales})
            nominations[(member["id"], other["id"])] = scales
        response = _answer(client, tokens[member["id"]],
                           [{"question_id": "advice", "named": named}, {"question_id": "region", "value": "west"}])
        assert response.status_code == 200, response.get_json()
        assert response.get_json()["status"] == "submitted" and response.get_json()["nominations"] == len(named)

    results = api.get(f"/v1/surveys/{survey['id']}/results").get_json()
    assert (results["invited"], results["responded"]) == (30, 20)
    assert results["response_rate"] == pytest.approx(20 / 30, abs=1e-4)
    assert results["nominations"] == len(nominations)
    assert results["nominations_by_question"] == [{"question_id": "advice", "nominations": len(nominations)}]
    digraph = nx.DiGraph(list(nominations))
    assert results["reciprocity"] == pytest.approx(nx.reciprocity(digraph), abs=1e-4)
    trust = [s["trust"] for s in nominations.values() if "trust" in s]
    assert results["trust"]["mean"] == pytest.approx(sum(trust) / len(trust), abs=1e-4)
    assert results["trust"]["ratings"] == len(trust)
    for entry in results["trust"]["by_organization"]:
        own = [s["trust"] for (a, _), s in nominations.items() if "trust" in s
               and by_id[a]["organization"]["id"] == entry["organization_id"]]
        assert entry["mean"] == pytest.approx(sum(own) / len(own), abs=1e-4)
    for entry in results["response_rate_by_organization"]:
        invited = [m for m in members if m["organization"]["id"] == entry["organization_id"]]
        done = [m for m in invited if m in respondents]
        assert (entry["invited"], entry["responded"]) == (len(invited), len(done))
    named_ids = {b for _, b in nominations}
    assert {m["member_id"] for m in results["never_named"]} == {m["id"] for m in members} - named_ids

    _assert_ties(api, survey["id"], nominations)
    # The attribute question filled the respondents' own field.
    assert api.get(f"/v1/members/{respondents[0]['id']}").get_json()["region"] == "west"
    status = api.get(f"/v1/surveys/{survey['id']}/invitations").get_json()
    assert status["counts"] == {"invited": 10, "started": 0, "submitted": 20, "all": 30}
    reminders = api.get(f"/v1/surveys/{survey['id']}/invitations?status=invited").get_json()["items"]
    assert {row["member_id"] for row in reminders} == {m["id"] for m in members[20:]}


def _assert_ties(api, survey_id: str, nominations: dict[tuple[str, str], dict]) -> None:
    """The survey's ties: one undirected collaboration per named pair, with strength, trust and reciprocity."""
    ties = _survey_ties(api, survey_id)
    pairs = defaultdict(list)
    for (a, b), scales in nominations.items():
        pairs[frozenset((a, b))].append(scales)
    assert set(ties) == set(pairs)
    for pair, sides in pairs.items():
        tie = ties[pair]
        assert tie["kind"] == "advice" and tie["reciprocated"] == (len(sides) == 2)
        assert tie["strength"] == max(s["frequency"] for s in sides)
        trusts = [s["trust"] for s in sides if "trust" in s]
        assert tie["trust"] == (int(sum(trusts) / len(trusts) + 0.5) if trusts else None)


def test_submissions_derived_in_one_batch_make_the_ties_each_pair_makes(api, client, people):
    """Respondents who name one another, derived together (the process's deriving loop held until the results
    read), then revised together: each pair's tie comes from both sides' latest answers."""
    from service.repositories import surveys

    _, members = people
    survey = _survey(api)
    respondents = members[:8]
    tokens = _invite(api, survey, respondents)
    rng = random.Random(3)
    for revision in range(2):
        nominations = {}
        with surveys._DERIVING:                       # submitting requests find it held: they leave it pending
            for member in respondents:
                named = []
                for other in rng.sample([m for m in members[:12] if m is not member], rng.randint(1, 6)):
                    scales = {"trust": rng.randint(1, 4), "frequency": rng.randint(1, 5)}
                    named.append({"member_id": other["id"], "scales": scales})
                    nominations[(member["id"], other["id"])] = scales
                assert _answer(client, tokens[member["id"]], [{"question_id": "advice", "named": named}]).status_code \
                    == 200
        pending = api.get(f"/v1/surveys/{survey['id']}/invitations").get_json()
        assert pending["counts"]["submitted"] == len(respondents)
        results = api.get(f"/v1/surveys/{survey['id']}/results").get_json()   # derives the batch
        assert results["nominations"] == len(nominations)
        assert any((b, a) in nominations for a, b in nominations), "no pair named each other: nothing tested"
        _assert_ties(api, survey["id"], nominations)


def _survey_ties(api, survey_id) -> dict[frozenset, dict]:
    ties, cursor = {}, None
    while True:
        page = api.get("/v1/collaborations?limit=100" + (f"&cursor={cursor}" if cursor else "")).get_json()
        for tie in page["items"]:
            if tie["source"] == f"survey:{survey_id}":
                key = frozenset((tie["source_id"], tie["target_id"]))
                assert key not in ties, "a pair has two ties"
                ties[key] = tie
        cursor = page["next_cursor"]
        if not cursor:
            return ties


def test_a_revision_replaces_the_earlier_answer_and_its_ties(api, client, people):
    _, members = people
    survey = _survey(api)
    a, b, c, d = members[:4]
    tokens = _invite(api, survey, [a, b, c])
    named = lambda *ms, f=3: [{"member_id": m["id"], "scales": {"frequency": f}} for m in ms]  # noqa: E731
    assert _answer(client, tokens[a["id"]], [{"question_id": "advice", "named": named(b, c)}]).status_code == 200
    assert _answer(client, tokens[b["id"]], [{"question_id": "advice", "named": named(a, f=5)}]).status_code == 200
    ties = _survey_ties(api, survey["id"])
    assert ties[frozenset((a["id"], b["id"]))]["reciprocated"] is True
    assert ties[frozenset((a["id"], b["id"]))]["strength"] == 5
    version = ties[frozenset((a["id"], b["id"]))]["version"]
    # a now names b (rated lower) and d instead of c: a-c goes, a-d comes, a-b stays one tie.
    assert _answer(client, tokens[a["id"]], [{"question_id": "advice", "named": named(b, d, f=1)}]).status_code == 200
    ties = _survey_ties(api, survey["id"])
    assert set(ties) == {frozenset((a["id"], b["id"])), frozenset((a["id"], d["id"]))}
    ab = ties[frozenset((a["id"], b["id"]))]
    assert ab["reciprocated"] is True and ab["strength"] == 5 and ab["version"] == version
    results = api.get(f"/v1/surveys/{survey['id']}/results").get_json()
    assert results["nominations"] == 3 and results["responded"] == 2
    # Sending the same revision again changes nothing.
    before = api.get("/v1/changes?limit=100").get_json()["items"]
    assert _answer(client, tokens[a["id"]], [{"question_id": "advice", "named": named(b, d, f=1)}]).status_code == 200
    assert api.get("/v1/changes?limit=100").get_json()["items"] == before


def test_a_draft_is_kept_and_shown_back_until_submitted(api, client, people):
    _, members = people
    survey = _survey(api)
    tokens = _invite(api, survey, members[:2])
    token = tokens[members[0]["id"]]
    draft = [{"question_id": "advice", "named": [{"member_id": members[1]["id"], "scales": {"trust": 2}}],
              "write_ins": ["Someone New"]}]
    saved = _answer(client, token, draft, submit=False)
    assert saved.status_code == 200 and saved.get_json()["status"] == "started"
    view = client.get(f"/v1/respond/{token}").get_json()
    assert view["status"] == "started" and view["answers"] == draft
    assert _survey_ties(api, survey["id"]) == {}
    assert api.get(f"/v1/surveys/{survey['id']}/invitations").get_json()["counts"]["started"] == 1
    # Questions no longer change once someone has answered; the title and closing time still may.
    etag = api.get(f"/v1/surveys/{survey['id']}").headers["ETag"]
    refused = api.patch(f"/v1/surveys/{survey['id']}", json={"questions": survey["questions"][:1]},
                        headers={"If-Match": etag})
    assert refused.status_code == 409 and refused.get_json()["errors"][0]["field"] == "questions"
    moved = api.patch(f"/v1/surveys/{survey['id']}", json={"closes_at": _later(days=60)}, headers={"If-Match": etag})
    assert moved.status_code == 200


def test_the_token_shows_names_only_and_its_own_survey(api, client, people):
    _, members = people
    survey, other = _survey(api), _survey(api, title="Other check-in")
    tokens = _invite(api, survey, members[:3])
    other_tokens = _invite(api, other, members[:1])
    first, second = members[0], members[1]
    answer = [{"question_id": "advice", "named": [{"member_id": members[2]["id"], "scales": {"trust": 4}}]}]
    assert _answer(client, tokens[second["id"]], answer).status_code == 200
    response = client.get(f"/v1/respond/{tokens[first['id']]}")
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    assert "@example.org" not in text and "email" not in text
    view = response.get_json()
    assert view["survey"]["id"] == survey["id"] and view["respondent"] == {"name": first["name"]}
    assert view["answers"] == []                                     # not the other respondent's
    roster = view["rosters"]["advice"]
    assert first["id"] not in {row["member_id"] for row in roster} and len(roster) == 29
    assert set(roster[0]) == {"member_id", "name", "organization", "role", "role_label"}
    # A token answers its own survey only: the other survey's token sees that survey, and question ids of
    # another survey are refused.
    assert client.get(f"/v1/respond/{other_tokens[first['id']]}").get_json()["survey"]["id"] == other["id"]
    wrong = _answer(client, tokens[first["id"]], [{"question_id": "elsewhere", "named": []}])
    assert wrong.status_code == 422 and wrong.get_json()["errors"][0]["field"] == "answers.0.question_id"


ON_FILE_QUESTIONS = [{"id": "band", "type": "attribute", "attribute": "grade_band"},
                     {"id": "phone", "type": "attribute", "attribute": "home_phone"},
                     {"id": "certified", "type": "attribute", "attribute": "certified_on"},
                     {"id": "region", "type": "attribute", "attribute": "region"},
                     {"id": "topics", "type": "attribute", "attribute": "topics"}]


@pytest.fixture
def on_file(api):
    """Two members synced with a grade band, a personal phone number, a date, a region and topics."""
    for name, body in {"grade_band": {"type": "enum", "values": ["Elementary", "Middle", "High"]},
                       "home_phone": {"type": "string", "pii": True},
                       "certified_on": {"type": "date"}}.items():
        assert api.put(f"/v1/attributes/member/{name}", json=body).status_code == 201
    response = api.post("/v1/sync/members", json={"source": "crm", "records": [
        {"external_id": "ana", "name": "Ana Diaz", "region": "north coast", "topics": ["Math", "science"],
         "attributes": {"grade_band": "middle", "home_phone": "555-0100", "certified_on": "2019-06-01"}},
        {"external_id": "ben", "name": "Ben Osei", "region": "inland",
         "attributes": {"grade_band": "High", "home_phone": "555-0199"}}]})
    assert response.status_code == 200, response.get_json()
    return [{"id": result["id"]} for result in response.get_json()["results"]]


def _inputs(view) -> dict[str, dict]:
    return {question["id"]: question["input"] for question in view["survey"]["questions"]}


def test_an_attribute_question_shows_the_respondents_own_value_on_file_never_a_personal_one(api, client, on_file):
    ana, ben = on_file
    survey = _survey(api, questions=ON_FILE_QUESTIONS)
    tokens = _invite(api, survey, [ana, ben])
    response = client.get(f"/v1/respond/{tokens[ana['id']]}")
    inputs = _inputs(response.get_json())
    assert {key: entry["current"] for key, entry in inputs.items()} == {
        "band": "Middle", "phone": None, "certified": "2019-06-01", "region": "north coast",
        "topics": ["math", "science"]}
    assert inputs["phone"]["pii"] is True and inputs["band"]["pii"] is False and inputs["region"]["pii"] is False
    assert "555-01" not in response.get_data(as_text=True)
    # Another member's token shows that member's values, and nothing of Ana's.
    response = client.get(f"/v1/respond/{tokens[ben['id']]}")
    assert {key: entry["current"] for key, entry in _inputs(response.get_json()).items()} == {
        "band": "High", "phone": None, "certified": None, "region": "inland", "topics": []}
    text = response.get_data(as_text=True)
    assert "north coast" not in text and "2019-06-01" not in text and "555-01" not in text
    # A saved draft comes back as the draft, beside the value on file (which a draft does not change).
    draft = [{"question_id": "band", "value": "High"}]
    assert _answer(client, tokens[ana["id"]], draft, submit=False).status_code == 200
    view = client.get(f"/v1/respond/{tokens[ana['id']]}").get_json()
    assert view["answers"] == draft and _inputs(view)["band"]["current"] == "Middle"
    assert api.get(f"/v1/members/{ana['id']}").get_json()["attributes"]["grade_band"] == "Middle"


def test_submitting_the_values_on_file_unchanged_writes_nothing_and_a_change_is_written(api, client, on_file):
    ana, _ = on_file
    survey = _survey(api, questions=ON_FILE_QUESTIONS)
    token = _invite(api, survey, [ana])[ana["id"]]
    inputs = _inputs(client.get(f"/v1/respond/{token}").get_json())
    before = api.get(f"/v1/members/{ana['id']}").get_json()
    feed = api.get("/v1/changes?limit=1000").get_json()["items"]
    # What the page sends when nothing is touched: each value on file, none for the personal field.
    confirmed = [{"question_id": key, "value": entry["current"]} for key, entry in inputs.items()
                 if entry["current"] is not None]
    assert len(confirmed) == 4
    assert _answer(client, token, confirmed).status_code == 200
    assert api.get(f"/v1/members/{ana['id']}").get_json() == before
    assert before["attributes"] == {"grade_band": "Middle", "home_phone": "555-0100", "certified_on": "2019-06-01"}
    assert api.get("/v1/changes?limit=1000").get_json()["items"] == feed
    # One value corrected: that one is written, once; the others stay as they were.
    corrected = [answer if answer["question_id"] != "region" else {**answer, "value": "west"} for answer in confirmed]
    assert _answer(client, token, corrected).status_code == 200
    after = api.get(f"/v1/members/{ana['id']}").get_json()
    assert (after["region"], after["version"]) == ("west", before["version"] + 1)
    assert after["attributes"] == before["attributes"] and after["topics"] == before["topics"]
    updates = [item for item in api.get("/v1/changes?limit=1000").get_json()["items"]
               if item not in feed and item["resource"] == "member"]
    assert [(item["id"], item["action"]) for item in updates] == [(ana["id"], "update")]


@pytest.mark.parametrize("token", ["nwr_" + "x" * 43, "not-a-token", "nwr_"])
def test_an_unknown_token_is_a_clear_404(client, token):
    response = client.get(f"/v1/respond/{token}")
    assert response.status_code == 404 and response.mimetype == "application/problem+json"
    assert response.get_json()["type"].endswith("unknown-token")
    assert token not in response.get_data(as_text=True)


def test_closed_expired_and_replaced_tokens_are_refused(api, client, people, graph):
    _, members = people
    survey = _survey(api, opens_at=_later(hours=-2))
    tokens = _invite(api, survey, members[:3])
    answer = [{"question_id": "advice", "named": [{"member_id": members[1]["id"]}]}]
    assert _answer(client, tokens[members[0]["id"]], answer).status_code == 200
    # Invited again: the new token works, the old one no longer does; the answer stays.
    old = tokens[members[0]["id"]]
    new = _invite(api, survey, members[:1])[members[0]["id"]]
    assert client.get(f"/v1/respond/{old}").status_code == 404
    assert client.get(f"/v1/respond/{new}").get_json()["status"] == "submitted"
    # Past closes_at: expired.
    etag = api.get(f"/v1/surveys/{survey['id']}").headers["ETag"]
    assert api.patch(f"/v1/surveys/{survey['id']}", json={"closes_at": _later(hours=-1)},
                     headers={"If-Match": etag}).status_code == 200
    expired = client.put(f"/v1/respond/{new}", json={"answers": answer, "submit": True})
    assert expired.status_code == 410 and expired.get_json()["type"].endswith("token-expired")
    # Closed by hand: closed.
    survey2 = _survey(api)
    token = _invite(api, survey2, members[:2])[members[0]["id"]]
    assert _answer(client, token, answer).status_code == 200
    closed = api.post(f"/v1/surveys/{survey2['id']}/close")
    assert closed.status_code == 200 and closed.get_json()["status"] == "closed"
    refused = _answer(client, token, answer)
    assert refused.status_code == 410 and refused.get_json()["type"].endswith("survey-closed")
    assert api.post(f"/v1/surveys/{survey2['id']}/close").status_code == 409
    assert api.post(f"/v1/surveys/{survey2['id']}/invitations", json={"member_ids": [members[2]["id"]]}).status_code == 409
    alert = api.get("/v1/alerts?kind=survey.closed").get_json()["items"][0]
    assert alert["subject"] == survey2["id"] and alert["data"]["responded"] == 1 and alert["data"]["invited"] == 2
    assert alert["data"]["closed"] == "closed"
    # The one whose closes_at passed raises survey.closed too, once, however many workers poll.
    from service.repositories import surveys

    assert [surveys.alert_lapsed(graph), surveys.alert_lapsed(graph)] == [1, 0]
    raised = api.get("/v1/alerts?kind=survey.closed").get_json()["items"]
    assert [(a["subject"], a["data"]["closed"]) for a in raised] == [(survey["id"], "lapsed"),
                                                                      (survey2["id"], "closed")]
    assert (raised[0]["data"]["invited"], raised[0]["data"]["responded"]) == (3, 1)


def test_tokens_never_reach_the_logs(api, client, people, caplog):
    _, members = people
    survey = _survey(api)
    tokens = _invite(api, survey, members[:2])
    token = tokens[members[0]["id"]]
    with caplog.at_level(logging.DEBUG):
        client.get(f"/v1/respond/{token}")
        _answer(client, token, [{"question_id": "advice", "named": [{"member_id": members[1]["id"]}]}])
        _answer(client, token, [{"question_id": "advice", "named": [{"member_id": "bad"}]}])
        client.get(f"/respond/{token}").close()            # a file response: closed, or it warns
    logged = [str(vars(record)) for record in caplog.records]
    assert sum("/v1/respond/<token>" in line for line in logged) == 3, "the requests were not logged as expected"
    assert not [line for line in logged if token[4:] in line]


@pytest.mark.parametrize("answers, field", [
    ([{"question_id": "advice", "named": [{"member_id": "MEMBER1", "scales": {"trust": 5}}]}],
     "answers.0.named.0.scales.trust"),
    ([{"question_id": "advice", "named": [{"member_id": "MEMBER1", "scales": {"mood": 1}}]}],
     "answers.0.named.0.scales.mood"),
    ([{"question_id": "advice", "named": [{"member_id": "SELF"}]}], "answers.0.named.0.member_id"),
    ([{"question_id": "advice", "named": [{"member_id": "MEMBER1"}, {"member_id": "MEMBER1"}]}],
     "answers.0.named.1.member_id"),
    ([{"question_id": "advice", "named": [{"member_id": "00000000-0000-4000-8000-000000000000"}]}],
     "answers.0.named.0.member_id"),
    ([{"question_id": "advice", "value": "x"}], "answers.0.value"),
    ([{"question_id": "region", "named": []}], "answers.0.named"),
    ([{"question_id": "advice"}, {"question_id": "advice"}], "answers.1.question_id"),
    ([{"question_id": "advice", "named": [], "extra": 1}], "answers.0.extra"),
])
def test_a_bad_answer_names_its_field_and_saves_nothing(api, client, people, answers, field):
    _, members = people
    survey = _survey(api)
    token = _invite(api, survey, members[:2])[members[0]["id"]]
    ids = {"MEMBER1": members[1]["id"], "SELF": members[0]["id"]}
    for answer in answers:
        for entry in answer.get("named", []):
            entry["member_id"] = ids.get(entry["member_id"], entry["member_id"])
    response = _answer(client, token, answers)
    assert response.status_code == 422, response.get_json()
    assert field in [e["field"] for e in response.get_json()["errors"]]
    assert client.get(f"/v1/respond/{token}").get_json()["status"] == "invited"


def test_a_roster_of_some_organizations_lists_only_their_members(api, client, people):
    orgs, members = people
    survey = _survey(api, questions=[{"id": "north", "type": "names", "prompt": "Who in the North?",
                                      "tie_kind": "advice", "roster": {"organization_ids": [orgs[0]["id"]]}}])
    token = _invite(api, survey, members[:1])[members[0]["id"]]
    roster = client.get(f"/v1/respond/{token}").get_json()["rosters"]["north"]
    north = {m["id"] for m in members if m["organization"]["id"] == orgs[0]["id"]} - {members[0]["id"]}
    assert {row["member_id"] for row in roster} == north
    south = next(m for m in members if m["organization"]["id"] == orgs[1]["id"])
    refused = _answer(client, token, [{"question_id": "north", "named": [{"member_id": south["id"]}]}])
    assert refused.status_code == 422 and refused.get_json()["errors"][0]["field"] == "answers.0.named.0.member_id"


@pytest.mark.parametrize("change, field", [
    ({"title": " "}, "title"), ({"closes_at": "2020-01-01T00:00:00"}, "closes_at"),
    ({"opens_at": "2031-01-01T00:00:00Z", "closes_at": "2030-01-01T00:00:00Z"}, "closes_at"),
    ({"questions": []}, "questions"),
    ({"questions": [{"id": "a", "type": "names", "prompt": "?", "tie_kind": "advice"}]}, "questions.0.roster"),
    ({"questions": [{"id": "a", "type": "names", "prompt": "?", "tie_kind": "advice", "roster": {}}]},
     "questions.0.roster._schema"),
    ({"questions": [{"id": "a", "type": "names", "prompt": "?", "tie_kind": "advice", "roster": {"all": True},
                     "scales": [{"name": "trust", "min": 3, "max": 2}]}]}, "questions.0.scales.0.max"),
    ({"questions": [{"id": "a", "type": "attribute", "attribute": "shoe_size"}]}, "questions.0.attribute"),
    ({"questions": [{"id": "a", "type": "attribute", "attribute": "region"},
                    {"id": "a", "type": "attribute", "attribute": "title"}]}, "questions.1.id"),
    ({"questions": [{"id": "a", "type": "names", "prompt": "?", "tie_kind": "advice",
                     "roster": {"organization_ids": ["00000000-0000-4000-8000-000000000000"]}}]},
     "questions.0.roster.organization_ids"),
    ({"questions": [{"id": "a", "type": "names", "prompt": "?", "tie_kind": "advice", "roster": {"all": True},
                     "max_names": 0}]}, "questions.0.max_names"),
])
def test_a_bad_survey_names_its_field(api, change, field):
    body = {"title": "Check-in", "closes_at": _later(days=3), "questions": [
        {"id": "q", "type": "attribute", "attribute": "region"}], **change}
    response = api.post("/v1/surveys", json=body)
    assert response.status_code == 422, response.get_json()
    assert field in [e["field"] for e in response.get_json()["errors"]]
    assert api.get("/v1/surveys").get_json()["items"] == []


def test_write_ins_are_listed_and_matched_into_ties(api, client, people):
    _, members = people
    survey = _survey(api)
    token = _invite(api, survey, members[:1])[members[0]["id"]]
    assert _answer(client, token, [{"question_id": "advice", "named": [], "write_ins": ["Dana Q", "Eli R"]}]
                   ).get_json()["write_ins"] == 2
    listed = api.get(f"/v1/surveys/{survey['id']}/write-ins").get_json()["items"]
    assert sorted(w["name"] for w in listed) == ["Dana Q", "Eli R"] and {w["status"] for w in listed} == {"open"}
    dana = next(w for w in listed if w["name"] == "Dana Q")
    eli = next(w for w in listed if w["name"] == "Eli R")
    matched = api.post(f"/v1/surveys/{survey['id']}/write-ins/{dana['id']}", json={"member_id": members[5]["id"]})
    assert matched.status_code == 200 and matched.get_json()["member_id"] == members[5]["id"]
    created = api.post(f"/v1/surveys/{survey['id']}/write-ins/{eli['id']}", json={"create": {"name": "Eli R"}})
    assert created.status_code == 200
    eli_id = created.get_json()["member_id"]
    assert api.get(f"/v1/members/{eli_id}").get_json()["name"] == "Eli R"
    assert set(_survey_ties(api, survey["id"])) == {frozenset((members[0]["id"], members[5]["id"])),
                                                     frozenset((members[0]["id"], eli_id))}
    again = api.post(f"/v1/surveys/{survey['id']}/write-ins/{dana['id']}", json={"member_id": members[6]["id"]})
    assert again.status_code == 409
    assert api.get(f"/v1/surveys/{survey['id']}/results").get_json()["nominations"] == 2


def test_invitation_tokens_are_shown_once(api, people):
    _, members = people
    survey = _survey(api)
    headers = {"Idempotency-Key": "invite-once"}
    body = {"member_ids": [members[0]["id"]]}
    first = api.post(f"/v1/surveys/{survey['id']}/invitations", json=body, headers=headers)
    again = api.post(f"/v1/surveys/{survey['id']}/invitations", json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert "token" in first.get_json()["items"][0]
    assert again.get_json()["items"] == [{"member_id": members[0]["id"],
                                          "expires_at": first.get_json()["items"][0]["expires_at"]}]
    bad = api.post(f"/v1/surveys/{survey['id']}/invitations",
                   json={"member_ids": [members[0]["id"], "00000000-0000-4000-8000-000000000000"]})
    assert bad.status_code == 422 and bad.get_json()["errors"][0]["field"] == "member_ids.1"


def test_the_analytics_can_keep_to_one_check_ins_ties(api, client, people, new_collaboration):
    """source=survey:<id>: health, clusters and bridges over that check-in's ties alone (every member stays a
    vertex), computed apart from the whole network's."""
    _, members = people
    survey = _survey(api)
    tokens = _invite(api, survey, members[:4])
    for a, named in ((0, [1, 2]), (3, [1])):                 # ties 0-1, 0-2, 3-1
        named = [{"member_id": members[b]["id"]} for b in named]
        assert _answer(client, tokens[members[a]["id"]], [{"question_id": "advice", "named": named}]).status_code == 200
    new_collaboration({"id": members[5]["id"]}, {"id": members[6]["id"]})      # another source's tie
    source = f"survey:{survey['id']}"
    whole = api.get("/v1/analytics/health").get_json()
    only = api.get(f"/v1/analytics/health?source={source}").get_json()
    assert (whole["metrics"]["ties"], only["metrics"]["ties"]) == (4, 3), (whole["computed"], only["computed"])
    assert only["metrics"]["members"] == whole["metrics"]["members"] == 30
    assert only["computed"]["parameters"]["source"] == source
    bridges = api.get(f"/v1/analytics/bridges?source={source}&min_cut_off=1").get_json()
    assert len(bridges["bridge_ties"]) == 3                       # a path 2-0-1-3: every tie is a bridge
    clusters = api.get(f"/v1/analytics/clusters?source={source}").get_json()
    assert clusters["computed"]["parameters"]["source"] == source
    assert api.get("/v1/analytics/health?source=%20").status_code == 422
    # The export of that check-in: its ties alone, every member a node, analytics of that graph.
    import io

    exported = api.get("/v1/export", query_string={"format": "graphml", "source": source, "analytics": "compute"})
    assert exported.status_code == 200, exported.get_data(as_text=True)[:300]
    assert exported.headers["Netweave-Analytics"].startswith("cluster_id=computed; betweenness=computed")
    drawn = nx.read_graphml(io.BytesIO(exported.get_data()))
    assert drawn.number_of_nodes() == 30
    assert {frozenset(edge) for edge in drawn.edges()} == {frozenset((members[a]["id"], members[b]["id"]))
                                                          for a, b in ((0, 1), (0, 2), (3, 1))}
    assert {node for node, data in drawn.nodes(data=True) if data.get("articulation_point")} == \
        {members[0]["id"], members[1]["id"]}
    whole_export = nx.read_graphml(io.BytesIO(api.get("/v1/export?format=graphml").get_data()))
    assert whole_export.number_of_edges() == 4


def _largest_save_batch() -> float:
    """The largest bucket bound the saves-per-transaction histogram has a sample at or below, so far."""
    from service.metrics import CHECK_IN_SAVES

    buckets = {sample.labels["le"]: sample.value for metric in CHECK_IN_SAVES.collect() for sample in metric.samples
               if sample.name.endswith("_bucket")}
    counts = sorted((float(bound), value) for bound, value in buckets.items())
    reached = [bound for (bound, value), (_, before) in zip(counts, [(0, 0.0)] + counts) if value > before]
    return reached[-1] if reached else 0.0


def test_saves_arriving_together_share_a_transaction_and_each_gets_its_own_answer(app, api, people):
    """16 threads at once: sound submissions and drafts, a name not on the roster, a token that is no token and
    one token twice. Each answer is the one a lone request would get; what a refused one sent is not saved."""
    import threading

    _, members = people
    survey = _survey(api)
    tokens = _invite(api, survey, members[:14])
    respondents = members[:14]
    outsider = "00000000-0000-4000-8000-000000000000"
    plans = []                       # (token, answers, submit, expected status)
    for index, member in enumerate(respondents[:12]):
        named = [{"member_id": other["id"], "scales": {"trust": 1 + index % 4}}
                 for other in members if other["id"] != member["id"]][index % 5: index % 5 + 3]
        plans.append((tokens[member["id"]], [{"question_id": "advice", "named": named}], index % 3 != 0, 200))
    plans.append((tokens[respondents[12]["id"]], [{"question_id": "advice", "named": [{"member_id": outsider}]}],
                  True, 422))
    plans.append(("nwr_" + "x" * 43, [{"question_id": "advice", "named": []}], True, 404))
    twice = tokens[respondents[13]["id"]]
    plans += [(twice, [{"question_id": "advice", "named": [{"member_id": members[20]["id"], "scales": {}}]}], True,
               200)] * 2
    barrier = threading.Barrier(len(plans))
    answers: list = [None] * len(plans)

    def put(slot: int) -> None:
        token, body, submit, _ = plans[slot]
        client = app.test_client()
        barrier.wait()
        answers[slot] = client.put(f"/v1/respond/{token}", json={"answers": body, "submit": submit})

    threads = [threading.Thread(target=put, args=(slot,)) for slot in range(len(plans))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert [answer.status_code for answer in answers] == [plan[3] for plan in plans], \
        [answer.get_json() for answer in answers]
    assert _largest_save_batch() > 1, "the saves never shared a transaction"
    assert answers[12].get_json()["errors"][0]["field"] == "answers.0.named.0.member_id"
    assert answers[13].get_json()["type"] == "urn:netweave:problem:unknown-token", answers[13].get_json()
    client = app.test_client()
    for (token, body, submit, status), answer in zip(plans, answers):
        if status != 200:
            continue
        assert answer.get_json()["status"] == ("submitted" if submit else "started")
        assert answer.get_json()["nominations"] == (len(body[0]["named"]) if submit else 0)
        view = client.get(f"/v1/respond/{token}").get_json()
        assert view["answers"] == body and view["status"] == ("submitted" if submit else "started")
    assert client.get(f"/v1/respond/{tokens[respondents[12]['id']]}").get_json()["status"] == "invited"
    results = api.get(f"/v1/surveys/{survey['id']}/results").get_json()
    submitted = [plan for plan in plans[:12] if plan[2]] + [plans[14]]
    assert results["responded"] == len(submitted)
    assert results["nominations"] == sum(len(plan[1][0]["named"]) for plan in submitted)


def test_two_check_ins_are_compared_through_health_snapshots(api, client, people):
    """A snapshot of each check-in's ties (source=survey:<id>), then health/compare between them: the second
    check-in's network, grown, shows in the changes."""
    _, members = people
    made = []
    for pairs in (((0, [1]), (2, [3])), ((0, [1, 2]), (2, [3]), (4, [0, 5]))):
        survey = _survey(api)
        tokens = _invite(api, survey, members[:6])
        for a, named in pairs:
            answer = [{"question_id": "advice", "named": [{"member_id": members[b]["id"]} for b in named]}]
            assert _answer(client, tokens[members[a]["id"]], answer).status_code == 200
        source = f"survey:{survey['id']}"
        response = api.post("/v1/analytics/health/snapshots", json={"label": f"check-in {len(made) + 1}",
                                                                    "source": source})
        assert response.status_code == 201, response.get_json()
        snapshot = response.get_json()
        assert snapshot["scope"]["source"] == source
        assert snapshot["metrics"]["ties"] == sum(len(named) for _, named in pairs)
        made.append(snapshot)
    compared = api.get(f"/v1/analytics/health/compare?from={made[0]['id']}&to={made[1]['id']}").get_json()
    ties = next(change for change in compared["changes"] if change["metric"] == "ties")
    assert (ties["from"], ties["to"], ties["delta"]) == (2, 5, 3)
    assert (compared["from"]["scope"]["source"], compared["to"]["scope"]["source"]) == \
        (made[0]["scope"]["source"], made[1]["scope"]["source"])
    today = api.get("/v1/analytics/health/compare", query_string={
        "from": made[0]["as_of"], "to": made[1]["as_of"], "source": made[1]["scope"]["source"]}).get_json()
    assert today["to"]["metrics"]["ties"] == 5 and today["to"]["scope"]["source"] == made[1]["scope"]["source"]
    assert api.post("/v1/analytics/health/snapshots", json={"label": "x", "source": " "}).status_code == 422


def test_a_survey_that_lapsed_long_ago_raises_no_alert(api, graph):
    """A check-in that passed closes_at over LAPSED_WITHIN_DAYS days before any worker looked is old news."""
    from service.repositories import surveys

    survey = _survey(api, opens_at=_later(days=-30))
    etag = api.get(f"/v1/surveys/{survey['id']}").headers["ETag"]
    assert api.patch(f"/v1/surveys/{survey['id']}", json={"closes_at": _later(days=-(surveys.LAPSED_WITHIN_DAYS + 1))},
                     headers={"If-Match": etag}).status_code == 200
    assert surveys.alert_lapsed(graph) == 0
    assert api.get("/v1/alerts?kind=survey.closed").get_json()["items"] == []


# --- members merged into one (POST /v1/members/{id}/merge) ---------------------------------------------

def _merge(api, survivor, *others):
    response = api.post(f"/v1/members/{survivor['id']}/merge", json={"from": [m["id"] for m in others]})
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def _check_ins(graph) -> dict:
    from tests.conftest import run_test_query

    return run_test_query(graph, "test_check_in_state")[0]


def _named(*members, **scales) -> list[dict]:
    return [{"member_id": m["id"], "scales": dict(scales)} for m in members]


def _arcs(graph, survey_id) -> list[tuple[str, str]]:
    """The survey's nominations as (respondent, named), sorted, duplicates kept."""
    return sorted((n[2], n[3]) for n in _check_ins(graph)["nominations"] if n[0] == survey_id)


def _tie_key(survey_id, one, other) -> str:
    a, b = sorted((one["id"], other["id"]))
    return f"collaboration:survey:{survey_id}:advice:{a}:{b}"


def test_a_merged_respondents_token_answers_for_the_survivor_and_a_revision_replaces_her_nominations(
        api, client, people, graph):
    _, members = people
    dup, keep, b, c, d = members[:5]
    survey = _survey(api)
    tokens = _invite(api, survey, [dup, b])
    assert _answer(client, tokens[dup["id"]], [{"question_id": "advice", "named": _named(b, c, frequency=3)}]
                   ).status_code == 200
    assert _answer(client, tokens[b["id"]], [{"question_id": "advice", "named": _named(dup, frequency=5)}]
                   ).status_code == 200
    tie_with_b = _survey_ties(api, survey["id"])[frozenset((dup["id"], b["id"]))]["id"]

    _merge(api, keep, dup)

    view = client.get(f"/v1/respond/{tokens[dup['id']]}")
    assert view.status_code == 200, view.get_json()
    assert view.get_json()["respondent"] == {"name": keep["name"]} and view.get_json()["status"] == "submitted"
    assert [e["member_id"] for e in view.get_json()["answers"][0]["named"]] == [b["id"], c["id"]]
    # b's stored answer names the survivor now, so b's page shows her among the chosen names.
    b_view = client.get(f"/v1/respond/{tokens[b['id']]}").get_json()
    assert [e["member_id"] for e in b_view["answers"][0]["named"]] == [keep["id"]]
    assert _arcs(graph, survey["id"]) == sorted([(keep["id"], b["id"]), (keep["id"], c["id"]), (b["id"], keep["id"])])
    ties = _survey_ties(api, survey["id"])
    assert set(ties) == {frozenset((keep["id"], b["id"])), frozenset((keep["id"], c["id"]))}
    assert ties[frozenset((keep["id"], b["id"]))]["id"] == tie_with_b
    assert ties[frozenset((keep["id"], b["id"]))]["reciprocated"] is True
    assert sorted(t[0] for t in _check_ins(graph)["ties"]) == sorted([_tie_key(survey["id"], keep, b),
                                                                     _tie_key(survey["id"], keep, c)])

    # Her revision through the old token replaces what she named; b's names the survivor again: one tie a pair.
    assert _answer(client, tokens[dup["id"]], [{"question_id": "advice", "named": _named(b, d, frequency=1)}]
                   ).status_code == 200
    assert _answer(client, tokens[b["id"]], [{"question_id": "advice", "named": _named(keep, frequency=2)}]
                   ).status_code == 200
    assert _arcs(graph, survey["id"]) == sorted([(keep["id"], b["id"]), (keep["id"], d["id"]), (b["id"], keep["id"])])
    ties = _survey_ties(api, survey["id"])
    assert set(ties) == {frozenset((keep["id"], b["id"])), frozenset((keep["id"], d["id"]))}
    assert ties[frozenset((keep["id"], b["id"]))]["id"] == tie_with_b
    with_b = ties[frozenset((keep["id"], b["id"]))]
    assert (with_b["strength"], with_b["reciprocated"]) == (2, True)
    assert len(_check_ins(graph)["ties"]) == 2
    results = api.get(f"/v1/surveys/{survey['id']}/results").get_json()
    assert (results["invited"], results["responded"], results["nominations"]) == (2, 2, 3)


def test_a_member_named_by_two_respondents_is_named_as_the_survivor_after_a_merge(api, client, people, graph):
    _, members = people
    r1, r2, dup, keep = members[:4]
    survey = _survey(api)
    tokens = _invite(api, survey, [r1, r2, keep])
    r1_answer = [{"question_id": "advice", "named": _named(dup, trust=2, frequency=2) + _named(keep, trust=4,
                                                                                                frequency=4)}]
    assert _answer(client, tokens[r1["id"]], r1_answer).status_code == 200
    assert _answer(client, tokens[r2["id"]], [{"question_id": "advice", "named": _named(dup, frequency=3)}]
                   ).status_code == 200
    assert _answer(client, tokens[keep["id"]], [{"question_id": "advice", "named": _named(r2, frequency=1)}]
                   ).status_code == 200
    before = _survey_ties(api, survey["id"])
    assert before[frozenset((keep["id"], r2["id"]))]["reciprocated"] is False
    since = api.get("/v1/changes?limit=1000").get_json()["next_cursor"]

    _merge(api, keep, dup)

    # r1 named both: the survivor's own nomination (and its scales) stays; r2 and the survivor now name each other.
    assert _arcs(graph, survey["id"]) == sorted([(r1["id"], keep["id"]), (r2["id"], keep["id"]),
                                                 (keep["id"], r2["id"])])
    scales = {(n[2], n[3]): json.loads(n[4]) for n in _check_ins(graph)["nominations"]}
    assert scales[(r1["id"], keep["id"])] == {"trust": 4, "frequency": 4}
    ties = _survey_ties(api, survey["id"])
    assert set(ties) == {frozenset((r1["id"], keep["id"])), frozenset((r2["id"], keep["id"]))}
    r1_tie, r2_tie = ties[frozenset((r1["id"], keep["id"]))], ties[frozenset((r2["id"], keep["id"]))]
    assert r1_tie["id"] == before[frozenset((r1["id"], keep["id"]))]["id"]
    assert (r1_tie["strength"], r1_tie["trust"], r1_tie["reciprocated"]) == (4, 4, False)
    assert r2_tie["id"] == before[frozenset((keep["id"], r2["id"]))]["id"]
    assert (r2_tie["strength"], r2_tie["reciprocated"]) == (3, True)
    feed = api.get(f"/v1/changes?since={since}&limit=100").get_json()["items"]
    deleted = {i["id"] for i in feed if i["resource"] == "collaboration" and i["action"] == "delete"}
    assert deleted == {before[frozenset((r1["id"], dup["id"]))]["id"], before[frozenset((r2["id"], dup["id"]))]["id"]}
    # r1's stored answer names the survivor once, with the survivor's own scales, where the first name was.
    view = client.get(f"/v1/respond/{tokens[r1['id']]}").get_json()
    assert view["answers"][0]["named"] == _named(keep, trust=4, frequency=4)

    results = api.get(f"/v1/surveys/{survey['id']}/results").get_json()
    assert (results["invited"], results["responded"], results["nominations"]) == (3, 3, 3)
    assert results["reciprocity"] == pytest.approx(2 / 3, abs=1e-4)
    assert [m["member_id"] for m in results["never_named"]] == [r1["id"]]


def test_of_two_duplicates_named_by_one_respondent_the_first_listed_in_from_keeps_the_tie(
        api, client, people, graph):
    _, members = people
    r, first, second, keep = members[:4]
    survey = _survey(api)
    token = _invite(api, survey, [r])[r["id"]]
    answer = [{"question_id": "advice", "named": _named(second, frequency=2) + _named(first, frequency=5)}]
    assert _answer(client, token, answer).status_code == 200
    before = _survey_ties(api, survey["id"])

    _merge(api, keep, first, second)

    assert _arcs(graph, survey["id"]) == [(r["id"], keep["id"])]
    [tie] = _survey_ties(api, survey["id"]).values()
    assert tie["id"] == before[frozenset((r["id"], first["id"]))]["id"] and tie["strength"] == 5
    assert [t[0] for t in _check_ins(graph)["ties"]] == [_tie_key(survey["id"], r, keep)]
    assert client.get(f"/v1/respond/{token}").get_json()["answers"][0]["named"] == _named(keep, frequency=5)


def test_two_invitations_of_one_person_keep_the_later_submission_and_the_other_token_is_unknown(
        api, client, people, graph):
    _, members = people
    dup, keep, b, c = members[:4]
    spring, autumn = _survey(api), _survey(api, title="Autumn check-in")
    spring_tokens, autumn_tokens = _invite(api, spring, [dup, keep]), _invite(api, autumn, [dup, keep])
    for tokens, member, named in ((spring_tokens, keep, b), (spring_tokens, dup, c), (autumn_tokens, keep, b)):
        assert _answer(client, tokens[member["id"]], [{"question_id": "advice", "named": _named(named)}]
                       ).status_code == 200
    assert _answer(client, autumn_tokens[dup["id"]], [{"question_id": "advice", "named": _named(c)}],
                   submit=False).status_code == 200

    _merge(api, keep, dup)

    # Spring: both submitted, the later (the duplicate's) stays and answers for the survivor.
    lost = client.get(f"/v1/respond/{spring_tokens[keep['id']]}")
    assert lost.status_code == 404 and lost.mimetype == "application/problem+json"
    assert lost.get_json()["type"] == "urn:netweave:problem:unknown-token"
    refused = _answer(client, spring_tokens[keep["id"]], [{"question_id": "advice", "named": _named(b)}])
    assert refused.status_code == 404 and refused.get_json()["type"] == "urn:netweave:problem:unknown-token"
    view = client.get(f"/v1/respond/{spring_tokens[dup['id']]}").get_json()
    assert view["respondent"] == {"name": keep["name"]}
    assert view["status"] == "submitted" and view["answers"][0]["named"] == _named(c)
    assert _arcs(graph, spring["id"]) == [(keep["id"], c["id"])]
    assert set(_survey_ties(api, spring["id"])) == {frozenset((keep["id"], c["id"]))}
    listed = api.get(f"/v1/surveys/{spring['id']}/invitations").get_json()
    assert [(i["member_id"], i["status"]) for i in listed["items"]] == [(keep["id"], "submitted")]
    # Autumn: a submission beats a draft; the draft's token is unknown now.
    assert client.get(f"/v1/respond/{autumn_tokens[dup['id']]}").status_code == 404
    view = client.get(f"/v1/respond/{autumn_tokens[keep['id']]}").get_json()
    assert view["status"] == "submitted" and view["answers"][0]["named"] == _named(b)
    assert _arcs(graph, autumn["id"]) == [(keep["id"], b["id"])]
    assert set(_survey_ties(api, autumn["id"])) == {frozenset((keep["id"], b["id"]))}
    assert [key for key, *_ in _check_ins(graph)["invitations"]] == sorted([f"{spring['id']}:{keep['id']}",
                                                                            f"{autumn['id']}:{keep['id']}"])


def test_a_write_in_matched_to_a_merged_member_names_the_survivor(api, client, people, graph):
    _, members = people
    r1, dup, keep = members[:3]
    survey = _survey(api)
    tokens = _invite(api, survey, [r1, dup])
    assert _answer(client, tokens[r1["id"]], [{"question_id": "advice", "named": [], "write_ins": ["Dana Q"]}]
                   ).status_code == 200
    assert _answer(client, tokens[dup["id"]], [{"question_id": "advice", "named": [], "write_ins": ["Eli R"]}]
                   ).status_code == 200
    listed = {w["name"]: w for w in api.get(f"/v1/surveys/{survey['id']}/write-ins").get_json()["items"]}
    matched = api.post(f"/v1/surveys/{survey['id']}/write-ins/{listed['Dana Q']['id']}", json={"member_id": dup["id"]})
    assert matched.status_code == 200

    _merge(api, keep, dup)

    listed = {w["name"]: w for w in api.get(f"/v1/surveys/{survey['id']}/write-ins").get_json()["items"]}
    assert (listed["Dana Q"]["status"], listed["Dana Q"]["member_id"]) == ("matched", keep["id"])
    assert (listed["Eli R"]["respondent_id"], listed["Eli R"]["respondent_name"]) == (keep["id"], keep["name"])
    assert _arcs(graph, survey["id"]) == [(r1["id"], keep["id"])]
    assert [t[0] for t in _check_ins(graph)["ties"]] == [_tie_key(survey["id"], r1, keep)]
    # The survivor's open write-in is matched like any other: the pair is named both ways, one tie.
    matched = api.post(f"/v1/surveys/{survey['id']}/write-ins/{listed['Eli R']['id']}", json={"member_id": r1["id"]})
    assert matched.status_code == 200, matched.get_json()
    ties = _survey_ties(api, survey["id"])
    assert set(ties) == {frozenset((r1["id"], keep["id"]))}
    assert ties[frozenset((r1["id"], keep["id"]))]["reciprocated"] is True


def test_submissions_still_to_derive_when_members_merge_name_the_survivor(api, client, people, graph):
    """Answers saved before a merge and derived after it: one naming the duplicate names the survivor, and the
    duplicate's own naming the survivor makes no self-nomination."""
    from service.repositories import surveys

    _, members = people
    r, dup, keep, b = members[:4]
    survey = _survey(api)
    tokens = _invite(api, survey, [r, dup])
    with surveys._DERIVING:                       # the submitting requests leave their derivation pending
        assert _answer(client, tokens[r["id"]], [{"question_id": "advice", "named": _named(dup)}]).status_code == 200
        assert _answer(client, tokens[dup["id"]], [{"question_id": "advice", "named": _named(keep, b)}]
                       ).status_code == 200
        assert _check_ins(graph)["nominations"] == []
        _merge(api, keep, dup)

    results = api.get(f"/v1/surveys/{survey['id']}/results").get_json()      # derives them
    assert results["nominations"] == 2
    assert _arcs(graph, survey["id"]) == sorted([(r["id"], keep["id"]), (keep["id"], b["id"])])
    assert set(_survey_ties(api, survey["id"])) == {frozenset((r["id"], keep["id"])), frozenset((keep["id"], b["id"]))}


def test_a_failed_merge_leaves_the_check_ins_as_they_were(api, client, people, graph, monkeypatch):
    _, members = people
    r1, dup, keep = members[:3]
    survey = _survey(api)
    tokens = _invite(api, survey, [r1, dup, keep])
    assert _answer(client, tokens[r1["id"]], [{"question_id": "advice", "named": _named(dup, keep),
                                               "write_ins": ["Dana Q"]}]).status_code == 200
    assert _answer(client, tokens[dup["id"]], [{"question_id": "advice", "named": _named(r1)}]).status_code == 200
    [write_in] = api.get(f"/v1/surveys/{survey['id']}/write-ins").get_json()["items"]
    assert api.post(f"/v1/surveys/{survey['id']}/write-ins/{write_in['id']}", json={"member_id": dup["id"]}
                    ).status_code == 200
    before = _check_ins(graph)
    assert before["nominations"] and before["invitations"] and before["write_ins"] and before["ties"]

    failed = api.post(f"/v1/members/{keep['id']}/merge",
                      json={"from": [dup["id"], "6f1c4a4e-0000-4000-8000-000000000000"]})
    assert failed.status_code == 422 and failed.get_json()["errors"][0]["field"] == "from.1"

    assert _check_ins(graph) == before
    # A merge that fails after it has carried the check-ins (the last step, deriving the ties, raising) rolls
    # all of it back with the rest of the merge.
    from service.repositories import surveys

    def fail_after_carrying(*args, **kwargs):
        raise RuntimeError("the merge failed after carrying the check-ins")

    monkeypatch.setattr(surveys, "derive_carried", fail_after_carrying)
    crashed = api.post(f"/v1/members/{keep['id']}/merge", json={"from": [dup["id"]]})
    assert crashed.status_code == 500 and crashed.mimetype == "application/problem+json"
    assert _check_ins(graph) == before
    assert client.get(f"/v1/respond/{tokens[dup['id']]}").get_json()["respondent"] == {"name": dup["name"]}
    assert client.get(f"/v1/respond/{tokens[keep['id']]}").get_json()["status"] == "invited"
    assert api.get(f"/v1/members/{dup['id']}").status_code == 200


def test_rosters_and_results_name_a_role_as_its_vocabulary_labels_it(api, client):
    """A network's own role ("Instructional Coach", stored instructional_coach) reads as its label on the
    respondent's roster and in the results by role; the value stays beside it."""
    synced = api.post("/v1/sync/members", json={"source": "crm", "records": [
        {"external_id": "a", "name": "Ana", "role": "Instructional Coach"},
        {"external_id": "b", "name": "Ben", "role": "teacher"}, {"external_id": "c", "name": "Cy"}]})
    assert synced.status_code == 200
    ana, ben, cy = (result["id"] for result in synced.get_json()["results"])
    survey = _survey(api)
    tokens = _invite(api, survey, [{"id": ana}, {"id": ben}, {"id": cy}])
    roster = client.get(f"/v1/respond/{tokens[cy]}").get_json()["rosters"]["advice"]
    assert [(row["name"], row["role"], row["role_label"]) for row in roster] == [
        ("Ana", "instructional_coach", "Instructional Coach"), ("Ben", "teacher", "Teacher")]
    assert _answer(client, tokens[ana], [{"question_id": "advice", "named": [{"member_id": ben}]}]).status_code == 200
    by_role = api.get(f"/v1/surveys/{survey['id']}/results").get_json()["response_rate_by_role"]
    assert [(row["role"], row["name"], row["invited"], row["responded"]) for row in by_role] == [
        ("instructional_coach", "Instructional Coach", 1, 1), (None, None, 1, 0), ("teacher", "Teacher", 1, 0)]
