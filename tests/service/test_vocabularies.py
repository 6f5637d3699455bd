"""Vocabularies: a network's own roles and kinds, open by default, closable, mergeable."""

from __future__ import annotations

import pytest

ADVICE = {"external_id": "t1", "source_external_id": "m1", "target_external_id": "m2", "kind": "Advice"}


def sync(api, resource, records, **body):
    response = api.post(f"/v1/sync/{resource}", json={"source": "crm", "records": records, **body})
    assert response.status_code in (200, 207), response.get_data(as_text=True)
    return response.get_json()


def vocabulary(api, name):
    response = api.get(f"/v1/vocabularies/{name}")
    assert response.status_code == 200
    return response


def values(api, name):
    return [item["value"] for item in vocabulary(api, name).get_json()["values"]]


def test_every_vocabulary_starts_open_with_the_defaults(api):
    listed = api.get("/v1/vocabularies").get_json()["items"]
    assert {item["name"]: item["policy"] for item in listed} == {
        "affiliation_role": "open", "collaboration_kind": "open", "member_role": "open", "organization_kind": "open",
        "activity_kind": "open"}
    assert "co-facilitation" in values(api, "collaboration_kind")
    assert vocabulary(api, "member_role").get_json()["values"][3] == {
        "value": "assistant_principal", "label": "Assistant principal", "description": None}


def test_an_open_vocabulary_grows_and_reports_the_new_value(api):
    outcome = sync(api, "members", [
        {"external_id": "m1", "name": "Ana", "role": "Instructional Coach"},
        {"external_id": "m2", "name": "Ben", "role": "instructional coach"},
        {"external_id": "m3", "name": "Cy", "role": "Teacher"}])
    assert [r["status"] for r in outcome["results"]] == ["created"] * 3
    assert outcome["results"][0]["new_values"] == {"role": "instructional_coach"}
    assert outcome["results"][1]["new_values"] == {"role": "instructional_coach"}  # new to the network in this batch
    assert "new_values" not in outcome["results"][2]
    member = api.get(f"/v1/members/{outcome['results'][1]['id']}").get_json()
    assert member["role"] == "instructional_coach"
    added = [item for item in vocabulary(api, "member_role").get_json()["values"]
             if item["value"] == "instructional_coach"]
    assert added == [{"value": "instructional_coach", "label": "Instructional Coach", "description": None}]
    again = sync(api, "members", [{"external_id": "m4", "name": "Di", "role": "Instructional coach"}])
    assert "new_values" not in again["results"][0]


def test_tie_kinds_of_the_network_are_accepted_by_sync_and_post(api, new_member):
    sync(api, "members", [{"external_id": "m1", "name": "Ana"}, {"external_id": "m2", "name": "Ben"}])
    outcome = sync(api, "collaborations", [ADVICE])
    assert outcome["results"][0]["status"] == "created"
    assert outcome["results"][0]["new_values"] == {"kind": "advice"}
    a, b = new_member("A"), new_member("B")
    response = api.post("/v1/collaborations", json={"source_id": a["id"], "target_id": b["id"], "kind": "Co-Teaching"})
    assert response.status_code == 201
    assert response.get_json()["kind"] == "co-teaching"
    listed = api.get("/v1/collaborations?kind=Co-Teaching").get_json()["items"]
    assert [item["id"] for item in listed] == [response.get_json()["id"]]


def test_a_closed_vocabulary_refuses_naming_the_field_and_the_allowed_values(api, new_member):
    current = vocabulary(api, "member_role")
    body = {"policy": "closed", "values": [{"value": "teacher"}, {"value": "Coach", "label": "Coach"},
                                           {"value": "paraprofessional", "description": "classroom aide"}]}
    response = api.put("/v1/vocabularies/member_role", json=body, headers={"If-Match": current.headers["ETag"]})
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json()["policy"] == "closed"
    assert values(api, "member_role") == ["teacher", "coach", "paraprofessional"]

    refused = api.post("/v1/members", json={"name": "Ed", "role": "principal"})
    assert refused.status_code == 422
    problem = refused.get_json()
    assert refused.content_type == "application/problem+json"
    assert problem["errors"][0]["field"] == "role"
    assert problem["allowed"] == ["teacher", "coach", "paraprofessional"]
    assert api.post("/v1/members", json={"name": "Ed", "role": "Paraprofessional"}).status_code == 201

    outcome = sync(api, "members", [{"external_id": "x1", "name": "Fay", "role": "janitor"},
                                    {"external_id": "x2", "name": "Gus", "role": "coach"}])
    assert [r["status"] for r in outcome["results"]] == ["error", "created"]
    error = outcome["results"][0]["error"]
    assert error["errors"][0]["field"] == "role"
    assert "allowed: teacher, coach, paraprofessional" in error["errors"][0]["messages"][0]
    assert "janitor" not in values(api, "member_role")


def test_a_vocabulary_put_needs_if_match_and_keeps_values_in_use(api, new_member):
    new_member(role="coach")
    body = {"policy": "open", "values": [{"value": "teacher"}]}
    assert api.put("/v1/vocabularies/member_role", json=body).status_code == 428
    stale = api.put("/v1/vocabularies/member_role", json=body, headers={"If-Match": '"999"'})
    assert stale.status_code == 412
    etag = vocabulary(api, "member_role").headers["ETag"]
    in_use = api.put("/v1/vocabularies/member_role", json=body, headers={"If-Match": etag})
    assert in_use.status_code == 409
    assert in_use.get_json()["in_use"] == {"coach": 1}
    duplicate = {"policy": "open", "values": [{"value": "Coach"}, {"value": "coach "}]}
    assert api.put("/v1/vocabularies/member_role", json=duplicate, headers={"If-Match": etag}).status_code == 422
    assert api.get("/v1/vocabularies/colours").status_code == 404


def test_vocabulary_changes_need_the_admin_scope(api, make_key):
    writer = api.with_key(make_key("read", "write"))
    body = {"policy": "closed", "values": [{"value": "teacher"}]}
    assert writer.put("/v1/vocabularies/member_role", json=body, headers={"If-Match": "*"}).status_code == 403
    assert writer.post("/v1/vocabularies/member_role/merge", json={"from": ["coach"], "into": "teacher"}).status_code == 403
    assert writer.get("/v1/vocabularies/member_role").status_code == 200


def test_a_merge_rewrites_the_graph_and_feeds_the_change_feed(api, new_member, new_organization):
    people = [new_member(f"P{i}", role=role) for i, role in enumerate(["coach", "Coach ", "mentor", "teacher"])]
    org = new_organization()
    api.put(f"/v1/members/{people[0]['id']}/affiliations/{org['id']}", json={"role": "Volunteer"})
    since = api.get("/v1/changes?limit=1000").get_json()["next_cursor"]

    response = api.post("/v1/vocabularies/member_role/merge", json={"from": ["coach", "Mentor"], "into": "Instructional Coach"},
                        headers={"Idempotency-Key": "merge-1"})
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json().get("rewritten") == 3, response.get_json()
    roles = [api.get(f"/v1/members/{p['id']}").get_json()["role"] for p in people]
    assert roles == ["instructional_coach"] * 3 + ["teacher"]
    assert "coach" not in values(api, "member_role") and "mentor" not in values(api, "member_role")
    assert "instructional_coach" in values(api, "member_role")
    feed = api.get(f"/v1/changes?since={since}&resource=member").get_json()["items"]
    assert sorted(item["id"] for item in feed) == sorted(p["id"] for p in people[:3])
    assert {item["action"] for item in feed} == {"update"}

    replay = api.post("/v1/vocabularies/member_role/merge", json={"from": ["coach", "Mentor"], "into": "Instructional Coach"},
                      headers={"Idempotency-Key": "merge-1"})
    assert replay.headers.get("Idempotent-Replayed") == "true"
    assert replay.get_json() == response.get_json()

    affiliation = api.post("/v1/vocabularies/affiliation_role/merge", json={"from": ["volunteer"], "into": "member"})
    assert affiliation.get_json()["rewritten"] == 1
    assert api.get(f"/v1/members/{people[0]['id']}").get_json()["affiliations"][0]["role"] == "member"


def test_a_closed_vocabulary_merges_only_into_its_own_values(api, new_member):
    etag = vocabulary(api, "organization_kind").headers["ETag"]
    body = {"policy": "closed", "values": [{"value": "school"}, {"value": "district"}]}
    assert api.put("/v1/vocabularies/organization_kind", json=body, headers={"If-Match": etag}).status_code == 200
    refused = api.post("/v1/vocabularies/organization_kind/merge", json={"from": ["school"], "into": "campus"})
    assert refused.status_code == 422
    assert refused.get_json()["errors"][0]["field"] == "into"


def test_a_merge_of_values_the_vocabulary_does_not_list_is_refused_and_changes_nothing(api, new_member):
    """A misspelt merge used to answer 200 with rewritten 0 and bump the version, as if it had worked."""
    new_member("P", role="coach")
    before = vocabulary(api, "member_role").get_json()
    typo = api.post("/v1/vocabularies/member_role/merge", json={"from": ["coach", "caoch"], "into": "teacher"})
    assert typo.status_code == 422 and typo.content_type == "application/problem+json"
    assert typo.get_json()["errors"][0]["field"] == "from"
    assert "not values of member_role: caoch" in typo.get_json()["errors"][0]["messages"][0]
    itself = api.post("/v1/vocabularies/member_role/merge", json={"from": ["Teacher"], "into": "teacher"})
    assert itself.status_code == 422 and itself.get_json()["errors"][0]["field"] == "from"
    assert vocabulary(api, "member_role").get_json() == before
    assert [m["role"] for m in api.get("/v1/members").get_json()["items"]] == ["coach"]


def test_a_value_the_graph_holds_but_the_vocabulary_does_not_list_can_be_merged_away(api, graph, new_member):
    """Roles written before the vocabulary listed them are cleaned up by a merge, not refused as typos."""
    from tests.conftest import run_test_query

    member = new_member("Old Data", role="teacher")
    run_test_query(graph, "test_set_member_role", id=member["id"], role="instructional_coach")
    assert "instructional_coach" not in values(api, "member_role")
    merged = api.post("/v1/vocabularies/member_role/merge", json={"from": ["Instructional Coach"], "into": "coach"})
    assert merged.status_code == 200, merged.get_data(as_text=True)
    assert merged.get_json()["rewritten"] == 1
    assert api.get(f"/v1/members/{member['id']}").get_json()["role"] == "coach"


@pytest.mark.parametrize("raw, value", [("Instructional Coach", "instructional_coach"), ("  PhD student ", "phd_student"),
                                        ("co-facilitation", "co-facilitation"), ("K-12 Teacher", "k-12_teacher"),
                                        ("Éducatrice", "éducatrice"), ("!!!", "!!!")])
def test_values_are_normalised_as_a_bounded_slug(raw, value):
    from schemas.vocabularies import slug

    assert slug(raw) == value
    assert len(slug("x" * 500)) == 60


def test_spellings_of_one_word_are_one_term_and_a_filter_finds_it_in_any_of_them(api):
    """CRM exports spell a word several ways: with a hyphen, a space or an underscore between its parts. The
    first spelling stored is the term; the others resolve to it (not reported as new), on sync as on POST, in
    one batch as across batches, and a list filter finds the ties whatever spelling it is given."""
    sync(api, "members", [{"external_id": f"m{n}", "name": f"M{n}"} for n in range(1, 6)])
    first = sync(api, "collaborations", [
        {"external_id": "t1", "source_external_id": "m1", "target_external_id": "m2", "kind": "Co-Teaching"},
        {"external_id": "t2", "source_external_id": "m2", "target_external_id": "m3", "kind": "co teaching"}])
    assert [r["new_values"] for r in first["results"]] == [{"kind": "co-teaching"}] * 2
    later = sync(api, "collaborations", [
        {"external_id": "t3", "source_external_id": "m3", "target_external_id": "m4", "kind": "Co_Teaching"},
        {"external_id": "t4", "source_external_id": "m4", "target_external_id": "m5", "kind": " CO - teaching "}])
    assert [r["status"] for r in later["results"]] == ["created"] * 2
    assert all("new_values" not in r for r in later["results"])
    # Default terms are words too: "Co Facilitation" is the listed co-facilitation.
    default = sync(api, "collaborations", [
        {"external_id": "t5", "source_external_id": "m1", "target_external_id": "m5", "kind": "Co Facilitation"}])
    assert "new_values" not in default["results"][0]
    kinds = values(api, "collaboration_kind")
    assert "co-teaching" in kinds and not {"co_teaching", "co_-_teaching", "co_facilitation"} & set(kinds)
    ties = {item["external_ids"][0]["external_id"] if item.get("external_ids") else item["id"]: item["kind"]
            for item in api.get("/v1/collaborations?limit=100").get_json()["items"]}
    assert sorted(ties.values()) == ["co-facilitation"] + ["co-teaching"] * 4
    for spelling in ("Co Teaching", "co_teaching", "CO-TEACHING"):
        listed = api.get("/v1/collaborations", query_string={"kind": spelling, "limit": 100}).get_json()["items"]
        assert len(listed) == 4, spelling
    assert api.get("/v1/collaborations", query_string={"kind": "co teachings"}).get_json()["items"] == []
    # A merge names the word in any spelling too.
    merged = api.post("/v1/vocabularies/collaboration_kind/merge", json={"from": ["Co Teaching"], "into": "Co Facilitation"})
    assert merged.status_code == 200, merged.get_data(as_text=True)
    assert merged.get_json()["rewritten"] == 4
    assert "co-teaching" not in values(api, "collaboration_kind")
    assert sorted(t["kind"] for t in api.get("/v1/collaborations?limit=100").get_json()["items"]) == ["co-facilitation"] * 5


def test_a_role_filter_in_a_body_reads_any_spelling_of_the_word(api, new_member):
    """Filters also come in bodies (a health snapshot's scope): "Co Teacher" there is the listed co-teacher."""
    for name in ("A", "B", "C"):
        new_member(name, role="co-teacher")
    new_member("D", role="principal")
    response = api.post("/v1/analytics/health/snapshots", json={"label": "co-teachers", "role": "Co Teacher"})
    assert response.status_code == 201, response.get_data(as_text=True)
    snapshot = response.get_json()
    assert snapshot["scope"]["role"] == "co-teacher"
    assert snapshot["metrics"]["members"] == 3
