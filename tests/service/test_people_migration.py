"""A database written before vocabularies, custom attributes and email keys starts under today's code with its
data intact and upgraded."""

from __future__ import annotations

from service import db
from service.repositories import vocabularies
from tests.conftest import run_test_query

ADA, ADA_R = "a0000000-0000-4000-8000-000000000002", "a0000000-0000-4000-8000-000000000003"


def start_as_today(graph) -> None:
    """What start-up does to a database: the schema and its migrations, then the vocabularies."""
    db.apply_schema(graph)
    vocabularies.seed(graph)


def test_an_old_database_keeps_its_data_and_gains_keys_vocabularies_and_shape(api, graph):
    run_test_query(graph, "test_drop_vocabularies")
    run_test_query(graph, "test_old_shape_network")
    start_as_today(graph)
    start_as_today(graph)  # start-up again: nothing changes twice

    ada = api.get(f"/v1/members/{ADA}").get_json()
    assert (ada["name"], ada["role"], ada["topics"], ada["version"]) == ("Ada", "coach", ["literacy"], 3)
    assert ada["affiliations"][0]["role"] == "staff" and ada["attributes"] == {}
    synced = api.get(f"/v1/members/{ADA_R}").get_json()
    assert (synced["topics"], synced["populations"], synced["discoverable"]) == ([], [], True)
    tie = api.get("/v1/collaborations/a0000000-0000-4000-8000-000000000004").get_json()
    assert (tie["kind"], tie["strength"]) == ("mentoring", 4)
    assert "coach" in [v["value"] for v in api.get("/v1/vocabularies/member_role").get_json()["values"]]

    raw = {row["member"]["id"]: row["member"] for row in
           (run_test_query(graph, "test_member_exists_raw", id=i)[0] for i in (ADA, ADA_R))}
    assert raw[ADA]["email_key"] == "ada@example.org"  # the oldest of one email holds the key
    assert "email_key" not in raw[ADA_R]
    groups = api.get("/v1/members/duplicates").get_json()["items"]
    assert [(g["reason"], sorted(m["id"] for m in g["members"])) for g in groups] == [("email", sorted([ADA, ADA_R]))]

    # a new record with that email finds the member holding it
    response = api.post("/v1/sync/members", json={"source": "salesforce", "records": [
        {"external_id": "003", "name": "Ada", "email": "ADA@example.org"}]})
    assert response.get_json()["results"][0]["id"] == ADA
    merged = api.post(f"/v1/members/{ADA}/merge", json={"from": [ADA_R]})
    assert merged.status_code == 200
    assert api.get("/v1/members/duplicates").get_json()["items"] == []


def test_an_old_database_marks_what_no_source_names_as_made_through_the_api(api, graph):
    """Members and organizations written before the mark, and named by no external id, were made through the
    API: a source attaching to them later detaches on its tombstone instead of deleting them."""
    run_test_query(graph, "test_old_shape_network")
    start_as_today(graph)
    start_as_today(graph)
    organization = "a0000000-0000-4000-8000-000000000001"

    def attach_then_delete(resource, netweave_id):
        attached = {"external_id": "c1", "name": "Named", "id": netweave_id}
        for record in (attached, {"external_id": "c1", "deleted": True}):
            response = api.post(f"/v1/sync/{resource}", json={"source": "crm", "records": [record]})
            assert response.status_code == 200, response.get_data(as_text=True)
        return response.get_json()["results"][0]

    held = [attach_then_delete(resource, id_) for resource, id_ in (("members", ADA), ("organizations", organization))]
    assert [(r["status"], r["held_by"]) for r in held] == [("detached", ["api"]), ("detached", ["api"])]
    assert api.get(f"/v1/members/{ADA}").status_code == 200
    assert api.get(f"/v1/organizations/{organization}").status_code == 200
    # hubspot alone names the other member: its tombstone deletes it, as before
    gone = api.post("/v1/sync/members", json={"source": "hubspot", "records": [{"external_id": "h1", "deleted": True}]})
    assert gone.get_json()["results"][0]["status"] == "deleted"
    assert api.get(f"/v1/members/{ADA_R}").status_code == 404
