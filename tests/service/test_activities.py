"""Shared activities: CRUD, participants, sync by external id, co-participation ties in the analytics and
shared activities as a recommendation's reason."""

from __future__ import annotations

import uuid

import pytest


@pytest.fixture
def new_activity(api):
    def create(name: str = "Spring Math Convening", **fields):
        response = api.post("/v1/activities", json={"name": name, "kind": "convening", **fields})
        assert response.status_code == 201, response.get_data(as_text=True)
        return response.get_json()

    return create


def put_participants(api, activity, members, role="participant", **kwargs):
    body = {"participants": [{"member_id": m["id"], "role": role} for m in members]}
    return api.put(f"/v1/activities/{activity['id']}/participants", json=body, **kwargs)


def changes_of(api, resource="activity"):
    return [item for item in api.get("/v1/changes?limit=1000").get_json()["items"] if item["resource"] == resource]


# --- CRUD -------------------------------------------------------------------------------------------

def test_activity_round_trip(api, new_organization):
    host = new_organization("Math Teachers Association")
    created = api.post("/v1/activities", json={"name": "Spring Math Convening", "kind": "Convening",
                                               "starts_on": "2024-04-12", "ends_on": "2024-04-13",
                                               "organization_id": host["id"]})
    assert created.status_code == 201, created.get_data(as_text=True)
    activity = created.get_json()
    assert (activity["kind"], activity["organization_id"], activity["participant_count"], activity["version"]) == (
        "convening", host["id"], 0, 1)
    assert created.headers["ETag"] == '"1"'
    assert created.headers["Location"].endswith(f"/v1/activities/{activity['id']}")
    assert api.get(f"/v1/activities/{activity['id']}").get_json() == activity

    patched = api.patch(f"/v1/activities/{activity['id']}", json={"name": "Spring Math Convening 2024",
                                                                  "organization_id": None},
                        headers={"If-Match": created.headers["ETag"]})
    assert patched.status_code == 200, patched.get_data(as_text=True)
    assert (patched.get_json()["name"], patched.get_json()["organization_id"], patched.get_json()["version"]) == (
        "Spring Math Convening 2024", None, 2)
    assert api.patch(f"/v1/activities/{activity['id']}", json={"name": "x"},
                     headers={"If-Match": '"1"'}).status_code == 412
    assert api.delete(f"/v1/activities/{activity['id']}", headers={"If-Match": '"2"'}).status_code == 204
    assert api.get(f"/v1/activities/{activity['id']}").status_code == 404
    assert [c["action"] for c in changes_of(api)] == ["create", "update", "delete"]


def test_activities_are_listed_by_cursor_and_filtered(api, new_activity, new_member, new_organization):
    host = new_organization()
    first, second = new_activity("Cohort A", kind="cohort", organization_id=host["id"]), new_activity("Workshop B")
    third = new_activity("Committee C", kind="committee")
    ada = new_member("Ada")
    assert put_participants(api, third, [ada]).status_code == 200
    page = api.get("/v1/activities?limit=2").get_json()
    assert [item["id"] for item in page["items"]] == [first["id"], second["id"]]
    rest = api.get(f"/v1/activities?limit=2&cursor={page['next_cursor']}").get_json()
    assert [item["id"] for item in rest["items"]] == [third["id"]] and rest["next_cursor"] is None
    assert [i["id"] for i in api.get("/v1/activities?kind=Cohort").get_json()["items"]] == [first["id"]]
    assert [i["id"] for i in api.get(f"/v1/activities?organization_id={host['id']}").get_json()["items"]] == [
        first["id"]]
    assert [i["id"] for i in api.get(f"/v1/activities?member_id={ada['id']}").get_json()["items"]] == [third["id"]]


@pytest.mark.parametrize("change, field", [
    ({"name": "  "}, "name"), ({"name": None}, "name"), ({"kind": None}, "kind"),
    ({"starts_on": "2024-05-02", "ends_on": "2024-05-01"}, "ends_on"), ({"starts_on": "spring"}, "starts_on"),
    ({"organization_id": "abc"}, "organization_id"), ({"colour": "red"}, "colour"), ({"id": "x"}, "id"),
    ({"participant_count": 3}, "participant_count"),
])
def test_invalid_activity_names_the_field(api, change, field):
    response = api.post("/v1/activities", json={"name": "Spring Math Convening", "kind": "convening", **change})
    assert response.status_code == 422
    assert response.headers["Content-Type"] == "application/problem+json"
    assert field in [e["field"] for e in response.get_json()["errors"]]
    assert api.get("/v1/activities").get_json()["items"] == []


def test_activity_with_unknown_organization_names_the_field(api):
    response = api.post("/v1/activities", json={"name": "Convening", "kind": "convening",
                                                "organization_id": str(uuid.uuid4())})
    assert response.status_code == 422 and response.get_json()["errors"][0]["field"] == "organization_id"
    assert api.get("/v1/activities").get_json()["items"] == []


def test_activity_kind_is_a_vocabulary_term(api):
    values = [item["value"] for item in api.get("/v1/vocabularies/activity_kind").get_json()["values"]]
    assert values == ["convening", "workshop", "cohort", "committee"]
    response = api.post("/v1/activities", json={"name": "Reading Circle", "kind": "Reading circle"})
    assert response.status_code == 201 and response.get_json()["kind"] == "reading_circle"
    closed = api.put("/v1/vocabularies/activity_kind", json={"policy": "closed", "values": [
        {"value": v} for v in (*values, "reading_circle")]}, headers={"If-Match": "*"})
    assert closed.status_code == 200, closed.get_data(as_text=True)
    refused = api.post("/v1/activities", json={"name": "Book Club", "kind": "club"})
    assert refused.status_code == 422 and refused.get_json()["errors"][0]["field"] == "kind"


def test_scopes_read_for_reads_and_write_for_writes(api, make_key, new_activity):
    activity = new_activity()
    reader = api.with_key(make_key("read"))
    assert reader.get(f"/v1/activities/{activity['id']}").status_code == 200
    assert reader.get(f"/v1/activities/{activity['id']}/participants").status_code == 200
    assert reader.post("/v1/activities", json={"name": "x", "kind": "cohort"}).status_code == 403
    assert reader.put(f"/v1/activities/{activity['id']}/participants", json={"participants": []}).status_code == 403
    assert api.with_key(make_key("write")).get("/v1/activities").status_code == 403


def test_post_with_the_same_idempotency_key_creates_one_activity(api):
    headers = {"Idempotency-Key": "activity-once"}
    body = {"name": "Spring Math Convening", "kind": "convening"}
    first, again = api.post("/v1/activities", json=body, headers=headers), api.post("/v1/activities", json=body,
                                                                                    headers=headers)
    assert (first.status_code, again.status_code) == (201, 201)
    assert first.get_json()["id"] == again.get_json()["id"]
    assert len(api.get("/v1/activities").get_json()["items"]) == 1


# --- participants -----------------------------------------------------------------------------------

def test_put_participants_replaces_the_set(api, new_activity, new_member):
    activity = new_activity()
    ada, grace, alan = new_member("Ada"), new_member("Grace"), new_member("Alan")
    first = api.put(f"/v1/activities/{activity['id']}/participants", json={"participants": [
        {"member_id": ada["id"], "role": " Facilitator"}, {"member_id": grace["id"]}]})  # read as every word is
    assert first.status_code == 200, first.get_data(as_text=True)
    assert first.get_json()["participants"] == [
        {"member_id": ada["id"], "name": "Ada", "role": "facilitator"},
        {"member_id": grace["id"], "name": "Grace", "role": "participant"}]
    assert first.headers["ETag"] == '"2"'
    assert api.get(f"/v1/activities/{activity['id']}").get_json()["participant_count"] == 2

    again = put_participants(api, activity, [grace, alan])
    assert [p["name"] for p in again.get_json()["participants"]] == ["Alan", "Grace"]
    listed = api.get(f"/v1/activities/{activity['id']}/participants?limit=1").get_json()
    assert [p["name"] for p in listed["items"]] == ["Alan"]
    rest = api.get(f"/v1/activities/{activity['id']}/participants?limit=1&cursor={listed['next_cursor']}").get_json()
    assert [p["name"] for p in rest["items"]] == ["Grace"] and rest["next_cursor"] is None

    before = len(changes_of(api))
    same = put_participants(api, activity, [grace, alan])
    assert same.status_code == 200 and same.headers["ETag"] == again.headers["ETag"]
    assert len(changes_of(api)) == before


def test_put_participants_with_an_unknown_member_names_the_field(api, new_activity, new_member):
    activity, ada = new_activity(), new_member("Ada")
    body = {"participants": [{"member_id": ada["id"]}, {"member_id": str(uuid.uuid4())}]}
    response = api.put(f"/v1/activities/{activity['id']}/participants", json=body)
    assert response.status_code == 422
    assert response.get_json()["errors"][0]["field"] == "participants.1.member_id"
    assert api.get(f"/v1/activities/{activity['id']}/participants").get_json()["items"] == []


@pytest.mark.parametrize("participants, field", [
    ([{"member_id": "not-a-uuid"}], "participants.0.member_id"),
    ([{"member_id": "00000000-0000-4000-8000-000000000001", "role": "host"}], "participants.0.role"),
    ([{"member_id": "00000000-0000-4000-8000-000000000001"}] * 2, "participants.1.member_id"),
    ([{"member_id": str(uuid.UUID(int=i, version=4))} for i in range(1001)], "participants"),
])
def test_invalid_participants_name_the_field(api, new_activity, participants, field):
    activity = new_activity()
    response = api.put(f"/v1/activities/{activity['id']}/participants", json={"participants": participants})
    assert response.status_code == 422
    assert field in [e["field"] for e in response.get_json()["errors"]]


def test_participants_of_a_missing_activity_are_404(api):
    missing = str(uuid.uuid4())
    assert api.get(f"/v1/activities/{missing}/participants").status_code == 404
    assert api.put(f"/v1/activities/{missing}/participants", json={"participants": []}).status_code == 404


def test_put_participants_honours_if_match(api, new_activity, new_member):
    activity, ada = new_activity(), new_member("Ada")
    assert put_participants(api, activity, [ada], headers={"If-Match": '"7"'}).status_code == 412
    assert put_participants(api, activity, [ada], headers={"If-Match": '"1"'}).status_code == 200


# --- sync by external id ------------------------------------------------------------------------------

def sync(api, resource, records, source="hubspot", **kwargs):
    return api.post(f"/v1/sync/{resource}", json={"source": source, "records": records}, **kwargs)


@pytest.fixture
def synced_people(api):
    orgs = sync(api, "organizations", [{"external_id": "o1", "name": "Math Teachers Association"}])
    members = sync(api, "members", [{"external_id": f"m{i}", "name": name}
                                    for i, name in enumerate(("Ann", "Ben", "Cid", "Dee"), start=1)])
    assert (orgs.status_code, members.status_code) == (200, 200)
    ids = {r["external_id"]: r["id"] for r in [*orgs.get_json()["results"], *members.get_json()["results"]]}
    return ids


ACTIVITY_BATCH = [
    {"external_id": "a1", "name": "Spring Math Convening", "kind": "convening", "starts_on": "2024-04-12",
     "organization_external_id": "o1",
     "participants": [{"member_external_id": "m1", "role": "Facilitator"}, {"member_external_id": "m2"},
                      {"member_external_id": "m3"}]},
    {"external_id": "a2", "name": "Coaching Cohort", "kind": "cohort", "participants": []},
]


def test_sync_activities_by_external_id_is_idempotent(api, synced_people):
    first = sync(api, "activities", ACTIVITY_BATCH)
    assert first.status_code == 200, first.get_data(as_text=True)
    assert first.get_json()["summary"] == {"created": 2, "updated": 0, "unchanged": 0, "deleted": 0, "detached": 0,
        "error": 0}
    a1 = first.get_json()["results"][0]["id"]
    stored = api.get(f"/v1/activities/{a1}").get_json()
    assert (stored["organization_id"], stored["participant_count"], stored["version"]) == (
        synced_people["o1"], 3, 1)
    participants = api.get(f"/v1/activities/{a1}/participants").get_json()["items"]
    assert [(p["name"], p["role"]) for p in participants] == [("Ann", "facilitator"), ("Ben", "participant"),
                                                              ("Cid", "participant")]
    entries = len(api.get("/v1/changes?limit=1000").get_json()["items"])

    again = sync(api, "activities", ACTIVITY_BATCH)
    assert again.status_code == 200
    assert again.get_json()["summary"] == {"created": 0, "updated": 0, "unchanged": 2, "deleted": 0, "detached": 0,
        "error": 0}
    assert [r["id"] for r in again.get_json()["results"]] == [r["id"] for r in first.get_json()["results"]]
    assert api.get(f"/v1/activities/{a1}").get_json()["version"] == 1
    assert len(api.get("/v1/changes?limit=1000").get_json()["items"]) == entries


def test_sync_changing_only_participants_updates_the_activity_once(api, synced_people):
    sync(api, "activities", ACTIVITY_BATCH)
    changed = [{**ACTIVITY_BATCH[0], "participants": [{"member_external_id": "m1", "role": "participant"},
                                                      {"member_external_id": synced_people["m4"]}]}]
    response = sync(api, "activities", changed)
    assert response.get_json()["results"][0]["status"] == "updated"
    a1 = response.get_json()["results"][0]["id"]
    assert api.get(f"/v1/activities/{a1}").get_json()["version"] == 2
    assert [(p["name"], p["role"]) for p in api.get(f"/v1/activities/{a1}/participants").get_json()["items"]] == [
        ("Ann", "participant"), ("Dee", "participant")]
    updates = [c for c in changes_of(api) if c["id"] == a1 and c["action"] == "update"]
    assert len(updates) == 1 and updates[0]["external_ids"] == ["hubspot:a1"]
    assert sync(api, "activities", changed).get_json()["results"][0]["status"] == "unchanged"


def test_sync_activity_with_unknown_references_names_each_field(api, synced_people):
    response = sync(api, "activities", [
        {"external_id": "a1", "name": "Convening", "kind": "convening", "organization_external_id": "o9",
         "participants": [{"member_external_id": "m1"}, {"member_external_id": "m9"}]},
        {"external_id": "a2", "name": "Workshop", "kind": "workshop", "participants": [
            {"member_external_id": "m1"}, {"member_external_id": "m1"}]},
        {"external_id": "a3", "name": "Cohort", "kind": "cohort"},
    ])
    assert response.status_code == 207
    results = response.get_json()["results"]
    assert [r["status"] for r in results] == ["error", "error", "created"]
    assert [e["field"] for e in results[0]["error"]["errors"]] == ["organization_external_id",
                                                                  "participants.1.member_external_id"]
    assert [e["field"] for e in results[1]["error"]["errors"]] == ["participants.1.member_external_id"]


def test_sync_activity_tombstone_deletes_it(api, synced_people):
    created = sync(api, "activities", ACTIVITY_BATCH).get_json()["results"][0]["id"]
    gone = sync(api, "activities", [{"external_id": "a1", "deleted": True}])
    assert gone.get_json()["results"][0] == {"index": 0, "external_id": "a1", "status": "deleted", "id": created,
                                             "error": None}
    assert api.get(f"/v1/activities/{created}").status_code == 404
    assert sync(api, "activities", [{"external_id": "a1", "deleted": True}]).get_json()["results"][0][
        "status"] == "unchanged"
    deletion = [c for c in changes_of(api) if c["id"] == created and c["action"] == "delete"]
    assert len(deletion) == 1 and deletion[0]["external_ids"] == ["hubspot:a1"]


# --- analytics: include=activities ------------------------------------------------------------------

def analytics(api, path, **params):
    query = "&".join(f"{k}={v}" for k, v in params.items())
    response = api.get(f"/v1/analytics/{path}?{query}")
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def test_include_activities_adds_co_participation_ties_and_says_how(api, new_activity, new_member):
    people = [new_member(name) for name in ("Ann", "Ben", "Cid", "Dee")]
    put_participants(api, new_activity("Spring Math Convening"), people)
    put_participants(api, new_activity("Coaching Cohort", kind="cohort"), people[:2])

    plain = analytics(api, "health")
    assert plain["metrics"]["ties"] == 0
    assert plain["computed"]["ties"]["derived_from"] == ["collaborations"]
    assert plain["computed"]["ties"]["activities"] is None

    tied = analytics(api, "health", include="activities")
    assert tied["metrics"]["ties"] == 6 and tied["metrics"]["components"] == 1
    assert tied["computed"]["ties"]["derived_from"] == ["collaborations", "activities"]
    assert tied["computed"]["ties"]["activities"] == {"size_cap": 50, "counted": 2, "skipped_over_cap": 0,
                                                      "weighting": "1/(n-1) per shared activity of n participants",
                                                      "pairs": 6}
    assert "co-participation in 2 activities" in tied["computed"]["ties"]["description"]
    assert tied["computed"]["parameters"]["activity_size_cap"] == 50

    capped = analytics(api, "health", include="activities", activity_size_cap=3)
    assert capped["metrics"]["ties"] == 1       # only the cohort's pair: the convening of 4 is over the cap
    assert capped["computed"]["ties"]["activities"]["skipped_over_cap"] == 1
    assert "activities over 3 participants skipped: 1" in capped["computed"]["ties"]["description"]
    # Results with and without activities are cached apart.
    assert analytics(api, "health")["metrics"]["ties"] == 0
    assert analytics(api, "health", include="activities")["metrics"]["ties"] == 6

    for path in ("clusters", "bridges"):
        report = analytics(api, path, include="activities")
        assert report["computed"]["ties"]["activities"]["counted"] == 2, path
        assert report["computed"]["parameters"]["include"] == ["activities"]
    both = analytics(api, "clusters", include="organizations,activities")
    assert both["computed"]["parameters"]["include"] == ["organizations", "activities"]
    assert analytics(api, "clusters")["clusters_total"] == 4
    # Co-participation ties the four together. One cluster, or {Ann, Ben} and {Cid, Dee}: both partitions
    # have modularity exactly 0 here (Ann-Ben 4/3, the other five pairs 1/3), so Leiden may return either.
    assert analytics(api, "clusters", include="activities")["clusters_total"] in (1, 2)


@pytest.mark.parametrize("path, query, field", [
    ("health", "activity_size_cap=10", "activity_size_cap"),
    ("clusters", "include=activities&activity_size_cap=1", "activity_size_cap"),
    ("health", "include=organizations", "include"),
    ("bridges", "include=friends", "include"),
])
def test_analytics_activity_arguments_are_checked(api, path, query, field):
    response = api.get(f"/v1/analytics/{path}?{query}")
    assert response.status_code == 422
    assert field in [e["field"] for e in response.get_json()["errors"]]


# --- recommendations ----------------------------------------------------------------------------------

def test_a_shared_activity_is_a_recommendation_reason(api, new_activity, new_member, new_collaboration):
    ada, grace, alan, kay = (new_member(name) for name in ("Ada", "Grace", "Alan", "Kay"))
    new_collaboration(ada, alan)
    new_collaboration(alan, kay)            # kay: a friend of a friend, sharing no activity
    put_participants(api, new_activity("Spring Math Convening"), [ada, grace, kay])
    put_participants(api, new_activity("Coaching Cohort", kind="cohort"), [ada, grace])

    response = api.get(f"/v1/members/{ada['id']}/recommendations")
    assert response.status_code == 200, response.get_data(as_text=True)
    items = {item["member"]["name"]: item for item in response.get_json()["items"]}
    assert set(items) == {"Grace", "Kay"}   # grace comes only from the activities; alan is already a tie
    shared = [r for r in items["Grace"]["reasons"] if r["type"] == "shared_activity"]
    # 1/(3-1) + 1/(2-1) of co-participation, times the hand-set balanced weight 0.3.
    assert shared == [{"type": "shared_activity", "count": 2, "activities": shared[0]["activities"],
                       "text": shared[0]["text"], "contribution": 0.45}]
    assert shared[0]["text"] in ("you both attended Spring Math Convening and 1 other activity",
                                 "you both attended Coaching Cohort and 1 other activity")
    assert items["Grace"]["features"]["activities"] == pytest.approx(0.5 + 1.0)
    kay_shared = [r for r in items["Kay"]["reasons"] if r["type"] == "shared_activity"]
    assert kay_shared[0]["text"] == "you both attended Spring Math Convening"
    assert items["Kay"]["score"] > 0


def test_activities_over_the_cap_give_no_recommendation_reason(api, new_activity, new_member):
    people = [new_member(f"Attendee {i:02d}") for i in range(51)]
    put_participants(api, new_activity("Big Conference"), people)
    response = api.get(f"/v1/members/{people[0]['id']}/recommendations")
    assert response.status_code == 200
    assert response.get_json()["items"] == []


def test_a_member_merge_keeps_the_participations(api, new_activity, new_member):
    keep, dup, other = new_member("Ada"), new_member("Ada L."), new_member("Grace")
    convening, cohort = new_activity(), new_activity("Coaching Cohort", kind="cohort")
    put_participants(api, convening, [dup, other], role="facilitator")
    put_participants(api, cohort, [keep, dup])
    merged = api.post(f"/v1/members/{keep['id']}/merge", json={"from": [dup["id"]]})
    assert merged.status_code == 200, merged.get_data(as_text=True)
    listed = api.get(f"/v1/activities/{convening['id']}/participants").get_json()["items"]
    assert [(p["member_id"], p["role"]) for p in listed] == [(keep["id"], "facilitator"), (other["id"], "facilitator")]
    assert [p["member_id"] for p in api.get(f"/v1/activities/{cohort['id']}/participants").get_json()["items"]] == [
        keep["id"]]
