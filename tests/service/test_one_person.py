"""One person, one member: email matching on sync and create, the duplicates list, and merges."""

from __future__ import annotations

from tests.conftest import run_test_query


def sync_members(api, source, records, **body):
    response = api.post("/v1/sync/members", json={"source": source, "records": records, **body})
    assert response.status_code in (200, 207), response.get_data(as_text=True)
    return response.get_json()["results"]


def test_a_person_synced_from_two_sources_with_one_email_is_one_member(api):
    [first] = sync_members(api, "hubspot", [{"external_id": "h1", "name": "Ada Reyes", "email": "Ada@Example.org"}])
    [second] = sync_members(api, "salesforce", [{"external_id": "003x", "name": "Ada Reyes",
                                                 "email": "ADA@example.org", "title": "Coach"}])
    assert second["id"] == first["id"]
    assert second["matched"] == "email" and second["status"] == "updated"
    assert "matched" not in first
    members = api.get("/v1/members").get_json()["items"]
    assert [m["id"] for m in members] == [first["id"]]
    assert members[0]["title"] == "Coach"
    # the second system's id now names the same member
    [again] = sync_members(api, "salesforce", [{"external_id": "003x", "name": "Ada Reyes", "email": "ADA@example.org",
                                                "title": "Coach"}])
    assert again["status"] == "unchanged" and "matched" not in again


def test_records_of_one_batch_with_one_email_make_one_member(api):
    results = sync_members(api, "csv", [{"external_id": "1", "name": "Bo", "email": "bo@example.org"},
                                        {"external_id": "2", "name": "Bo L.", "email": "BO@example.org"},
                                        {"external_id": "3", "name": "Cy", "email": "cy@example.org"}])
    assert results[0]["id"] == results[1]["id"] != results[2]["id"]
    assert [r["status"] for r in results] == ["created", "updated", "created"]
    assert results[1]["matched"] == "email"
    assert len(api.get("/v1/members").get_json()["items"]) == 2


def test_an_email_with_surrounding_space_is_the_address_it_holds(api, new_member):
    """A CRM export's "  ada@example.ORG " is ada@example.org: matched, and stored trimmed, on sync and on POST;
    space inside an address is still refused."""
    ada = new_member("Ada", email="ada@example.org")
    [synced] = sync_members(api, "hubspot", [{"external_id": "HS-9", "name": "Ada", "email": "  ada@example.ORG \t"}])
    assert synced["status"] in ("updated", "unchanged") and synced["id"] == ada["id"]
    assert synced["matched"] == "email"
    posted = api.post("/v1/members", json={"name": "Bo", "email": " bo@example.org "})
    assert posted.status_code == 201 and posted.get_json()["email"] == "bo@example.org"
    again = api.post("/v1/members", json={"name": "Bo R.", "email": "BO@example.org\n"})
    assert again.status_code == 200 and again.get_json()["id"] == posted.get_json()["id"]
    refused = api.post("/v1/members", json={"name": "Cy", "email": "cy @example.org"})
    assert refused.status_code == 422
    assert [e["field"] for e in refused.get_json()["errors"]] == ["email"]
    [bad] = sync_members(api, "hubspot", [{"external_id": "HS-10", "name": "Cy", "email": "   "}])
    assert bad["status"] == "error" and [e["field"] for e in bad["error"]["errors"]] == ["email"]


def test_matching_can_be_turned_off_per_request(api):
    sync_members(api, "a", [{"external_id": "1", "name": "Di", "email": "di@example.org"}])
    [other] = sync_members(api, "b", [{"external_id": "1", "name": "Di", "email": "di@example.org"}], match_on=[])
    assert other["status"] == "created"
    assert len(api.get("/v1/members").get_json()["items"]) == 2
    groups = api.get("/v1/members/duplicates").get_json()
    assert [g["reason"] for g in groups["items"]] == ["email"] and groups["truncated"] is False
    assert groups["items"][0]["size"] == 2


def test_a_post_with_a_known_email_answers_the_existing_member(api, new_member):
    ada = new_member("Ada", email="ada@example.org")
    again = api.post("/v1/members", json={"name": "Ada R.", "email": "ADA@example.org"})
    assert again.status_code == 200
    assert again.get_json()["id"] == ada["id"] and again.get_json()["matched"] == "email"
    assert again.get_json()["name"] == "Ada"
    forced = api.post("/v1/members?match_on=none", json={"name": "Ada R.", "email": "ada@example.org"})
    assert forced.status_code == 201 and forced.get_json()["id"] != ada["id"]


def test_a_patch_to_another_members_email_is_a_conflict_pointing_at_merge(api, new_member):
    ada, bo = new_member("Ada", email="ada@example.org"), new_member("Bo", email="bo@example.org")
    response = api.patch(f"/v1/members/{bo['id']}", json={"email": "Ada@example.org"}, headers={"If-Match": "*"})
    assert response.status_code == 409
    assert response.get_json()["member_id"] == ada["id"]
    assert "merge" in response.get_json()["detail"]
    moved = api.patch(f"/v1/members/{ada['id']}", json={"email": "ada@new.example.org"}, headers={"If-Match": "*"})
    assert moved.status_code == 200
    assert api.patch(f"/v1/members/{bo['id']}", json={"email": "ada@example.org"}, headers={"If-Match": "*"}).status_code == 200


def test_duplicates_list_same_names_in_one_organization_without_emails_for_readers(api, new_member, new_organization,
                                                                                  make_key):
    org = new_organization("North District")
    for index, name in enumerate(("Eve Moss", "eve moss", "Finn")):
        member = new_member(name, email=f"person{index}@example.org")
        api.put(f"/v1/members/{member['id']}/affiliations/{org['id']}", json={})
    new_member("Eve Moss")  # no organization: not named a duplicate by name
    groups = api.with_key(make_key("read")).get("/v1/members/duplicates").get_json()["items"]
    assert [(g["reason"], g["size"]) for g in groups] == [("name_in_organization", 2)]
    assert {m["name"] for m in groups[0]["members"]} == {"Eve Moss", "eve moss"}
    assert all("email" not in m and m["organizations"] == ["North District"] for m in groups[0]["members"])


def test_duplicates_compare_names_as_people_write_them(api, new_member, new_organization):
    """Two systems rarely spell a name alike: doubled spaces, accents and hyphens do not make another person."""
    org, other = new_organization("Lincoln High"), new_organization("Other")
    people = [new_member(name) for name in ("Jordan  Lée", "jordan lee", "Jordan-Lee", "Jordan Leed", "JORDAN LEE")]
    for member in people[:4]:
        api.put(f"/v1/members/{member['id']}/affiliations/{org['id']}", json={})
    api.put(f"/v1/members/{people[4]['id']}/affiliations/{other['id']}", json={})  # another organization
    groups = api.get("/v1/members/duplicates").get_json()["items"]
    assert [(g["reason"], g["size"]) for g in groups] == [("name_in_organization", 3)]
    assert [m["id"] for m in groups[0]["members"]] == [p["id"] for p in people[:3]]   # the oldest first
    assert groups[0]["members"][0] == {"id": people[0]["id"], "name": "Jordan  Lée", "email": None,
                                       "organizations": ["Lincoln High"]}


def test_a_merge_keeps_every_tie_and_tells_integrations(api, new_member, new_organization):
    org_a, org_b = new_organization("A"), new_organization("B")
    keep = new_member("Ada", topics=["literacy"], role="coach")
    dup = new_member("Ada Reyes", topics=["math"], title="Coach", region="north")
    [synced] = sync_members(api, "crm", [{"external_id": "c-9", "name": "Ada", "email": "ada.r@example.org"}],
                            match_on=[])
    friend, other, stranger = new_member("Bea"), new_member("Cal"), new_member("Dee")
    api.put(f"/v1/members/{keep['id']}/affiliations/{org_a['id']}", json={"role": "staff"})
    api.put(f"/v1/members/{dup['id']}/affiliations/{org_a['id']}", json={"role": "board"})
    api.put(f"/v1/members/{dup['id']}/affiliations/{org_b['id']}", json={})

    def tie(a, b, **fields):
        body = {"source_id": a["id"], "target_id": b["id"], "kind": "project", **fields}
        return api.post("/v1/collaborations", json=body).get_json()

    kept_tie = tie(keep, friend, strength=2)
    parallel = tie(friend, dup, strength=3)         # becomes a second tie keep-friend: both stay (summed in analytics)
    moved = tie(dup, other)
    inner = tie(dup, keep)                            # between two merged members: goes
    intro = api.post("/v1/introductions", json={"member_ids": [dup["id"], stranger["id"]]})
    assert intro.status_code == 201, intro.get_data(as_text=True)
    since = api.get("/v1/changes?limit=1000").get_json()["next_cursor"]

    response = api.post(f"/v1/members/{keep['id']}/merge", json={"from": [dup["id"], synced["id"]]},
                        headers={"Idempotency-Key": "merge-ada"})
    assert response.status_code == 200, response.get_data(as_text=True)
    merged = response.get_json()
    assert merged["id"] == keep["id"]
    assert (merged["name"], merged["title"], merged["region"], merged["role"]) == ("Ada", "Coach", "north", "coach")
    assert merged["topics"] == ["literacy", "math"] and merged["email"] == "ada.r@example.org"
    assert {(a["organization_name"], a["role"]) for a in merged["affiliations"]} == {("A", "staff"), ("B", "member")}
    assert api.get(f"/v1/members/{dup['id']}").status_code == 404
    ties = {c["id"]: {c["source_id"], c["target_id"]} for c in api.get(f"/v1/collaborations?party_id={keep['id']}").get_json()["items"]}
    assert ties == {kept_tie["id"]: {keep["id"], friend["id"]}, parallel["id"]: {friend["id"], keep["id"]},
                    moved["id"]: {keep["id"], other["id"]}}
    assert api.get(f"/v1/collaborations/{inner['id']}").status_code == 404
    introduced = api.get(f"/v1/introductions/{intro.get_json()['id']}").get_json()["members"]
    assert {m["id"] for m in introduced} == {keep["id"], stranger["id"]}
    # the synced record's external id follows the person
    [resynced] = sync_members(api, "crm", [{"external_id": "c-9", "name": "Ada", "email": "ada.r@example.org"}])
    assert resynced["id"] == keep["id"]

    feed = api.get(f"/v1/changes?since={since}&limit=100").get_json()["items"]
    tombstones = {item["id"]: item["merged_into"] for item in feed if item["resource"] == "member" and item["action"] == "delete"}
    assert tombstones == {dup["id"]: keep["id"], synced["id"]: keep["id"]}
    # External ids as every other feed entry writes them: source:external id.
    [tombstone] = [item for item in feed if item["id"] == synced["id"] and item["action"] == "delete"]
    assert tombstone["external_ids"] == ["crm:c-9"]
    assert ("collaboration", inner["id"], "delete") in {(i["resource"], i["id"], i["action"]) for i in feed}
    assert ("collaboration", moved["id"], "update") in {(i["resource"], i["id"], i["action"]) for i in feed}

    replay = api.post(f"/v1/members/{keep['id']}/merge", json={"from": [dup["id"], synced["id"]]},
                      headers={"Idempotency-Key": "merge-ada"})
    assert replay.status_code == 200 and replay.headers.get("Idempotent-Replayed") == "true"
    assert api.get(f"/v1/changes?since={since}&limit=100").get_json()["items"] == feed


def test_a_merge_names_what_is_wrong(api, new_member):
    ada = new_member("Ada")
    assert api.post(f"/v1/members/{ada['id']}/merge", json={"from": [ada["id"]]}).get_json()["errors"][0]["field"] == "from"
    missing = api.post(f"/v1/members/{ada['id']}/merge", json={"from": ["6f1c4a4e-0000-4000-8000-000000000000"]})
    assert missing.status_code == 422 and missing.get_json()["errors"][0]["field"] == "from.0"
    assert api.get(f"/v1/members/{ada['id']}").status_code == 200


def test_a_sync_update_to_an_email_another_member_holds_fails_that_record_only(api):
    """Updates of known external ids stored a taken email on two more members: three members, one email."""
    sync_members(api, "crm", [{"external_id": f"C-00{n}", "name": name, "email": email} for n, name, email in (
        (1, "Jordan Lee", "jordan.lee@lincoln.k12.us"), (4, "Jo Lee", "jo@lincoln.k12.us"),
        (5, "J. Lee", "jl@lincoln.k12.us"), (6, "Kim Park", "kim@lincoln.k12.us"))])
    jordan = api.get("/v1/members?q=jordan").get_json()["items"][0]["id"]
    response = api.post("/v1/sync/members", json={"source": "crm", "records": [
        {"external_id": "C-004", "name": "Jo Lee", "email": "jordan.lee@lincoln.k12.us", "title": "Coach"},
        {"external_id": "C-005", "name": "J. Lee", "email": " Jordan.Lee@lincoln.k12.us"},
        {"external_id": "C-006", "name": "Kim Park", "email": "kim@lincoln.k12.us", "title": "Principal"}]})
    assert response.status_code == 207
    body = response.get_json()
    assert [r["status"] for r in body["results"]] == ["error", "error", "updated"]
    assert body["summary"]["error"] == 2 and body["summary"]["updated"] == 1
    for result in body["results"][:2]:
        error = result["error"]
        assert (error["status"], error["type"], error["member_id"]) == (
            409, "urn:netweave:problem:member-email-taken", jordan)
        assert [e["field"] for e in error["errors"]] == ["email"] and jordan in error["detail"]
    emails = {m["name"]: (m["email"], m["title"]) for m in api.get("/v1/members").get_json()["items"]}
    assert emails == {"Jordan Lee": ("jordan.lee@lincoln.k12.us", None), "Jo Lee": ("jo@lincoln.k12.us", None),
                      "J. Lee": ("jl@lincoln.k12.us", None), "Kim Park": ("kim@lincoln.k12.us", "Principal")}
    assert api.get("/v1/members/duplicates").get_json()["items"] == []


def test_two_records_of_one_batch_giving_one_email_to_two_members_keep_the_first(api):
    [ann, bea] = sync_members(api, "crm", [{"external_id": "a", "name": "Ann"}, {"external_id": "b", "name": "Bea"}])
    results = sync_members(api, "crm", [{"external_id": "a", "name": "Ann", "email": "shared@example.org"},
                                        {"external_id": "b", "name": "Bea", "email": "SHARED@example.org"}])
    assert [r["status"] for r in results] == ["updated", "error"]
    assert results[1]["id"] == bea["id"] and results[1]["error"]["member_id"] == ann["id"]
    assert api.get(f"/v1/members/{bea['id']}").get_json()["email"] is None
    assert api.get("/v1/members/duplicates").get_json()["items"] == []


def test_a_record_linking_a_member_by_id_to_a_taken_email_attaches_nothing(api, graph, new_member):
    ada, bo = new_member("Ada", email="ada@example.org"), new_member("Bo", email="bo@example.org")
    [refused] = sync_members(api, "hubspot", [{"external_id": "h-1", "id": bo["id"], "name": "Bo",
                                               "email": "ada@example.org"}])
    assert (refused["status"], refused["error"]["member_id"]) == ("error", ada["id"])
    assert run_test_query(graph, "test_members_by_external_key", keys=["member:hubspot:h-1"]) == [
        {"key": "member:hubspot:h-1", "members": 0}]
    assert api.get(f"/v1/members/{bo['id']}").get_json()["version"] == 1
    rejected = api.post("/v1/sync/members?atomic=true", json={"source": "hubspot", "records": [
        {"external_id": "h-2", "name": "Cy"}, {"external_id": "h-1", "id": bo["id"], "name": "Bo",
                                              "email": "ada@example.org"}]})
    assert rejected.status_code == 400
    assert [r["error"]["errors"][0]["field"] for r in rejected.get_json()["results"]] == ["email"]
    assert len(api.get("/v1/members").get_json()["items"]) == 2


def test_a_member_stored_with_a_shared_email_keeps_it_on_the_next_sync(api):
    """Two members with one email (matching turned off) are listed as duplicates; syncing either again as it is
    is not refused."""
    sync_members(api, "a", [{"external_id": "1", "name": "Di", "email": "di@example.org"}])
    sync_members(api, "b", [{"external_id": "1", "name": "Di", "email": "di@example.org"}], match_on=[])
    [again] = sync_members(api, "b", [{"external_id": "1", "name": "Di M.", "email": "DI@example.org"}])
    assert again["status"] == "updated"
