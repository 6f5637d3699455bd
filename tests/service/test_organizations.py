"""Organizations: CRUD, members, affiliations, delete with and without cascade."""

import uuid

import pytest


def test_organization_round_trip(api):
    created = api.post("/v1/organizations", json={"name": "Math Coaches Network", "kind": "network",
                                                  "region": "east", "topics": ["Math"]})
    assert created.status_code == 201
    org = created.get_json()
    assert (org["name"], org["kind"], org["topics"], org["member_count"]) == ("Math Coaches Network", "network",
                                                                              ["math"], 0)
    fetched = api.get(f"/v1/organizations/{org['id']}")
    assert fetched.get_json() == org and fetched.headers["ETag"] == '"1"'

    patched = api.patch(f"/v1/organizations/{org['id']}", json={"kind": "association", "region": None},
                        headers={"If-Match": '"1"'})
    assert patched.status_code == 200
    assert (patched.get_json()["kind"], patched.get_json()["region"], patched.get_json()["version"]) == (
        "association", None, 2)
    assert api.delete(f"/v1/organizations/{org['id']}", headers={"If-Match": '"2"'}).status_code == 204
    assert api.get(f"/v1/organizations/{org['id']}").status_code == 404


@pytest.mark.parametrize("body, field", [
    ({"kind": "association"}, "name"), ({"name": "X", "kind": 7}, "kind"),
    ({"name": "X", "member_count": 3}, "member_count"), ({"name": "X", "topics": [1]}, "topics.0"),
])
def test_invalid_organization_names_the_field(api, body, field):
    response = api.post("/v1/organizations", json=body)
    assert response.status_code == 422
    assert field in [e["field"] for e in response.get_json()["errors"]]


def test_deleting_an_organization_with_members_needs_cascade(api, new_member, new_organization, new_collaboration):
    org = new_organization()
    ada = new_member("Ada")
    api.put(f"/v1/members/{ada['id']}/affiliations/{org['id']}", json={"role": "board"})
    partnership = new_collaboration(org, ada, kind="partnership")

    refused = api.delete(f"/v1/organizations/{org['id']}", headers={"If-Match": '"1"'})
    assert refused.status_code == 409
    assert refused.get_json()["type"] == "urn:netweave:problem:organization-has-members"
    assert refused.get_json()["members"] == 1
    assert api.get(f"/v1/organizations/{org['id']}").status_code == 200

    removed = api.delete(f"/v1/organizations/{org['id']}?cascade=true", headers={"If-Match": '"1"'})
    assert removed.status_code == 204
    assert api.get(f"/v1/organizations/{org['id']}").status_code == 404
    assert api.get(f"/v1/collaborations/{partnership['id']}").status_code == 404
    member = api.get(f"/v1/members/{ada['id']}").get_json()
    assert member["affiliations"] == []


def test_organization_members_lists_affiliations(api, new_member, new_organization):
    org = new_organization()
    for name, role in (("Grace", "staff"), ("Ada", "member"), ("Alan", "fellow")):
        member = new_member(name)
        put = api.put(f"/v1/members/{member['id']}/affiliations/{org['id']}",
                      json={"role": role, "since": "2021-09-01"})
        assert put.status_code == 201
    page = api.get(f"/v1/organizations/{org['id']}/members?limit=2").get_json()
    assert [(m["name"], m["affiliation"]["role"]) for m in page["items"]] == [("Ada", "member"), ("Alan", "fellow")]
    rest = api.get(f"/v1/organizations/{org['id']}/members?limit=2&cursor={page['next_cursor']}").get_json()
    assert [m["name"] for m in rest["items"]] == ["Grace"] and rest["next_cursor"] is None
    assert api.get(f"/v1/organizations/{org['id']}").get_json()["member_count"] == 3


def test_organization_members_of_unknown_organization_is_404(api):
    assert api.get(f"/v1/organizations/{uuid.uuid4()}/members").status_code == 404


def test_affiliation_put_creates_then_replaces(api, new_member, new_organization):
    org, ada = new_organization(), new_member("Ada")
    path = f"/v1/members/{ada['id']}/affiliations/{org['id']}"
    first = api.put(path, json={"role": "member", "since": "2020-01-01"})
    assert first.status_code == 201
    second = api.put(path, json={"role": "board", "since": "2020-01-01", "until": "2024-06-30"})
    assert second.status_code == 200
    assert second.get_json() == {"member_id": ada["id"], "organization_id": org["id"],
                                 "organization_name": org["name"], "role": "board",
                                 "since": "2020-01-01", "until": "2024-06-30"}
    assert api.get(f"/v1/members/{ada['id']}").get_json()["affiliations"] == [second.get_json()]
    assert api.delete(path).status_code == 204
    assert api.delete(path).status_code == 404
    assert api.get(f"/v1/members/{ada['id']}").get_json()["affiliations"] == []


@pytest.mark.parametrize("body, field", [
    ({"role": ""}, "role"), ({"since": "yesterday"}, "since"),
    ({"since": "2024-01-02", "until": "2024-01-01"}, "until"), ({"org": "x"}, "org"),
])
def test_invalid_affiliation_names_the_field(api, new_member, new_organization, body, field):
    org, ada = new_organization(), new_member()
    response = api.put(f"/v1/members/{ada['id']}/affiliations/{org['id']}", json=body)
    assert response.status_code == 422
    assert field in [e["field"] for e in response.get_json()["errors"]]


def test_affiliation_with_unknown_party_is_404(api, new_member, new_organization):
    org, ada = new_organization(), new_member()
    missing = str(uuid.uuid4())
    assert "organization" in api.put(f"/v1/members/{ada['id']}/affiliations/{missing}", json={}).get_json()["detail"]
    assert "member" in api.put(f"/v1/members/{missing}/affiliations/{org['id']}", json={}).get_json()["detail"]
