"""A source's tombstone says that source no longer holds a member or organization: it detaches the source's
external id, and deletes the record only when no other source (nor the API) holds it."""

from __future__ import annotations

from tests.conftest import run_test_query
from tests.support import run_together


def sync(api, resource, source, records, **body):
    response = api.post(f"/v1/sync/{resource}", json={"source": source, "records": records, **body})
    assert response.status_code in (200, 207), response.get_data(as_text=True)
    return response.get_json()


def feed_since(api, cursor):
    return api.get(f"/v1/changes?since={cursor}&limit=1000").get_json()["items"]


def cursor(api):
    return api.get("/v1/changes?limit=1000").get_json()["next_cursor"]


def entries(items, resource=None):
    return [(i["resource"], i["id"], i["action"], i["source"], i["external_ids"]) for i in items
            if resource is None or i["resource"] == resource]


def test_a_tombstone_detaches_a_member_other_sources_hold_and_keeps_its_ties(api, new_member, new_collaboration):
    """The reported case: crm and hubspot joined by email, sis merged in; sis's delete erased the person."""
    sync(api, "organizations", "sis", [{"external_id": "school-1", "name": "Lincoln Elementary"}])
    sync(api, "organizations", "crm", [{"external_id": "acct-1", "name": "Lincoln District"}])
    [crm] = sync(api, "members", "crm", [{"external_id": "C-002", "name": "Jordan Lee",
                                          "email": "jordan@lincoln.k12.us", "organizations": ["acct-1"]}])["results"]
    [hubspot] = sync(api, "members", "hubspot", [{"external_id": "hs-78", "name": "Jordan Lee",
                                                  "email": "jordan@lincoln.k12.us"}])["results"]
    [sis] = sync(api, "members", "sis", [{"external_id": "s-1", "name": "J. Lee",
                                          "organizations": ["school-1"]}])["results"]
    assert hubspot["id"] == crm["id"] and hubspot["matched"] == "email" and sis["id"] != crm["id"]
    merged = api.post(f"/v1/members/{crm['id']}/merge", json={"from": [sis["id"]]})
    assert merged.status_code == 200, merged.get_data(as_text=True)
    ties = [new_collaboration({"id": crm["id"]}, new_member(f"Peer {n}"))["id"] for n in range(3)]
    version = api.get(f"/v1/members/{crm['id']}").get_json()["version"]
    since = cursor(api)

    answer = sync(api, "members", "sis", [{"external_id": "s-1", "deleted": True}])
    assert answer["results"] == [{"index": 0, "external_id": "s-1", "status": "detached", "id": crm["id"],
                                  "error": None, "held_by": ["crm", "hubspot"]}]
    assert answer["summary"] == {"created": 0, "updated": 0, "unchanged": 0, "deleted": 0, "detached": 1,
                                 "error": 0}
    member = api.get(f"/v1/members/{crm['id']}")
    assert member.status_code == 200 and member.get_json()["version"] == version + 1
    # the affiliation sis gave goes with sis's hold; crm's stays, and so do the ties
    assert [a["organization_name"] for a in member.get_json()["affiliations"]] == ["Lincoln District"]
    assert sorted(c["id"] for c in api.get(f"/v1/collaborations?party_id={crm['id']}").get_json()["items"]) == \
        sorted(ties)
    school = api.get("/v1/organizations?q=lincoln elementary").get_json()["items"][0]["id"]
    assert entries(feed_since(api, since)) == [
        ("affiliation", f"{crm['id']}/{school}", "delete", "sis", []),
        ("member", crm["id"], "update", "sis", ["sis:s-1"])]

    # crm still names its person; sis sending the person again finds her by email
    [again] = sync(api, "members", "crm", [{"external_id": "C-002", "name": "Jordan Lee",
                                            "email": "jordan@lincoln.k12.us", "organizations": ["acct-1"]}])["results"]
    assert (again["status"], again["id"]) == ("unchanged", crm["id"])
    [back] = sync(api, "members", "sis", [{"external_id": "s-2", "name": "Jordan Lee",
                                           "email": "JORDAN@lincoln.k12.us"}])["results"]
    assert (back["id"], back["matched"]) == (crm["id"], "email")

    # the last source to let go deletes the member, with its ties, as before
    [first] = sync(api, "members", "hubspot", [{"external_id": "hs-78", "deleted": True}])["results"]
    [second] = sync(api, "members", "sis", [{"external_id": "s-2", "deleted": True}])["results"]
    assert (first["status"], first["held_by"], second["held_by"]) == ("detached", ["crm", "sis"], ["crm"])
    since = cursor(api)
    [last] = sync(api, "members", "crm", [{"external_id": "C-002", "deleted": True}])["results"]
    assert (last["status"], last["id"], "held_by" in last) == ("deleted", crm["id"], False)
    assert api.get(f"/v1/members/{crm['id']}").status_code == 404
    gone = feed_since(api, since)
    assert entries(gone, "member") == [("member", crm["id"], "delete", "crm", ["crm:C-002"])]
    assert sorted(i["id"] for i in gone if i["resource"] == "collaboration") == sorted(ties)


def test_a_member_made_through_the_api_is_detached_never_deleted_by_a_source(api, graph, new_member):
    """A source that found a member by email did not make it: its delete leaves the API's member in place."""
    ada = new_member("Ada Reyes", email="ada@example.org")
    [matched] = sync(api, "members", "crm", [{"external_id": "c-1", "name": "Ada Reyes",
                                              "email": "ada@example.org"}])["results"]
    assert matched["id"] == ada["id"]
    [gone] = sync(api, "members", "crm", [{"external_id": "c-1", "deleted": True}])["results"]
    assert (gone["status"], gone["id"], gone["held_by"]) == ("detached", ada["id"], ["api"])
    assert api.get(f"/v1/members/{ada['id']}").status_code == 200
    assert run_test_query(graph, "test_members_by_external_key", keys=["member:crm:c-1"]) == [
        {"key": "member:crm:c-1", "members": 0}]
    # the same tombstone again names nothing
    [again] = sync(api, "members", "crm", [{"external_id": "c-1", "deleted": True}])["results"]
    assert (again["status"], again["id"]) == ("unchanged", None)


def test_a_merge_keeps_the_api_hold_of_a_member_merged_in(api, new_member):
    [synced] = sync(api, "members", "crm", [{"external_id": "c-1", "name": "Bo"}])["results"]
    by_hand = new_member("Bo Lind", title="Coach")
    assert api.post(f"/v1/members/{synced['id']}/merge", json={"from": [by_hand["id"]]}).status_code == 200
    [gone] = sync(api, "members", "crm", [{"external_id": "c-1", "deleted": True}])["results"]
    assert (gone["status"], gone["held_by"]) == ("detached", ["api"])
    assert api.get(f"/v1/members/{synced['id']}").get_json()["title"] == "Coach"


def test_two_ids_of_one_source_on_one_member_go_together_or_one_by_one(api):
    one, two = sync(api, "members", "csv", [{"external_id": "1", "name": "Cy", "email": "cy@example.org"},
                                            {"external_id": "2", "name": "Cy", "email": "cy@example.org"}])["results"]
    assert one["id"] == two["id"]
    [detached] = sync(api, "members", "csv", [{"external_id": "1", "deleted": True}])["results"]
    assert (detached["status"], detached["held_by"]) == ("detached", ["csv"])
    sync(api, "members", "csv", [{"external_id": "3", "name": "Cy", "email": "cy@example.org"}])
    since = cursor(api)
    answer = sync(api, "members", "csv", [{"external_id": "2", "deleted": True}, {"external_id": "9", "deleted": True},
                                          {"external_id": "3", "deleted": True}])
    assert [(r["status"], r["id"]) for r in answer["results"]] == [
        ("deleted", one["id"]), ("unchanged", None), ("deleted", one["id"])]
    assert answer["summary"]["deleted"] == 2 and answer["summary"]["unchanged"] == 1
    [entry] = feed_since(api, since)
    assert (entry["action"], sorted(entry["external_ids"])) == ("delete", ["csv:2", "csv:3"])


def test_a_tombstone_detaches_an_organization_another_source_or_the_api_holds(api, new_organization):
    [crm] = sync(api, "organizations", "crm", [{"external_id": "a-1", "name": "North District"}])["results"]
    [linked] = sync(api, "organizations", "hubspot", [{"external_id": "h-1", "name": "North District",
                                                       "id": crm["id"]}])["results"]
    assert linked["id"] == crm["id"]
    [member] = sync(api, "members", "hubspot", [{"external_id": "m-1", "name": "Di", "organizations": ["h-1"]}])[
        "results"]
    since = cursor(api)
    answer = sync(api, "organizations", "hubspot", [{"external_id": "h-1", "deleted": True}])
    assert answer["results"][0] == {
        "index": 0, "external_id": "h-1", "status": "detached", "id": crm["id"], "error": None, "held_by": ["crm"]}
    assert answer["summary"]["detached"] == 1
    organization = api.get(f"/v1/organizations/{crm['id']}").get_json()
    assert (organization["version"], organization["member_count"]) == (3, 1)
    assert entries(feed_since(api, since)) == [("organization", crm["id"], "update", "hubspot", ["hubspot:h-1"])]
    assert api.get(f"/v1/members/{member['id']}").status_code == 200
    [gone] = sync(api, "organizations", "crm", [{"external_id": "a-1", "deleted": True}])["results"]
    assert gone["status"] == "deleted" and api.get(f"/v1/organizations/{crm['id']}").status_code == 404

    made = new_organization("By Hand")
    sync(api, "organizations", "crm", [{"external_id": "a-2", "name": "By Hand", "id": made["id"]}])
    [kept] = sync(api, "organizations", "crm", [{"external_id": "a-2", "deleted": True}])["results"]
    assert (kept["status"], kept["held_by"]) == ("detached", ["api"])
    assert api.get(f"/v1/organizations/{made['id']}").status_code == 200


def test_two_sources_letting_go_of_their_members_at_once_leave_no_member_held_by_none(app, api):
    """Each tombstone batch reads what else holds its members under their lock: run together, one of the two
    deletes each member, instead of both detaching and leaving it held by no one."""
    people = [{"name": f"Person {n}", "email": f"p{n}@example.org"} for n in range(40)]
    for source in ("crm", "hubspot"):
        sync(api, "members", source, [{"external_id": f"{source}-{n}", **p} for n, p in enumerate(people)])
    assert len(api.get("/v1/members?limit=100").get_json()["items"]) == 40
    statuses = {}

    def let_go(n):
        source = ("crm", "hubspot")[n]
        response = app.test_client().post("/v1/sync/members", headers={"Authorization": f"Bearer {api.secret}"},
                                          json={"source": source, "records": [
                                              {"external_id": f"{source}-{k}", "deleted": True} for k in range(40)]})
        statuses[source] = response.get_json()["summary"]

    run_together(let_go, 2)
    assert api.get("/v1/members?limit=100").get_json()["items"] == []
    assert statuses["crm"]["deleted"] + statuses["hubspot"]["deleted"] == 40
    assert statuses["crm"]["detached"] + statuses["hubspot"]["detached"] == 40
