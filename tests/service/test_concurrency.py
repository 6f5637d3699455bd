"""Optimistic concurrency: ETag on GET, If-Match required (428) and checked (412) on PATCH and DELETE."""

import threading

import pytest

from tests.support import run_together


@pytest.fixture
def resources(new_member, new_organization, new_collaboration):
    ada, grace = new_member("Ada"), new_member("Grace")
    return {
        "members": (ada["id"], {"title": "Coach"}),
        "organizations": (new_organization()["id"], {"region": "west"}),
        "collaborations": (new_collaboration(ada, grace)["id"], {"strength": 5}),
    }


@pytest.mark.parametrize("kind", ["members", "organizations", "collaborations"])
def test_patch_and_delete_without_if_match_are_428(api, resources, kind):
    resource_id, change = resources[kind]
    for response in (api.patch(f"/v1/{kind}/{resource_id}", json=change), api.delete(f"/v1/{kind}/{resource_id}")):
        assert response.status_code == 428
        assert response.get_json()["type"] == "urn:netweave:problem:precondition-required"
    assert api.get(f"/v1/{kind}/{resource_id}").get_json()["version"] == 1


@pytest.mark.parametrize("kind", ["members", "organizations", "collaborations"])
@pytest.mark.parametrize("stale_tag", ['"0"', '"2"', 'W/"1"', "1", '"abc"'])
def test_patch_and_delete_with_stale_etag_are_412(api, resources, kind, stale_tag):
    resource_id, change = resources[kind]
    patched = api.patch(f"/v1/{kind}/{resource_id}", json=change, headers={"If-Match": stale_tag})
    deleted = api.delete(f"/v1/{kind}/{resource_id}", headers={"If-Match": stale_tag})
    assert (patched.status_code, deleted.status_code) == (412, 412)
    current = api.get(f"/v1/{kind}/{resource_id}")
    assert current.status_code == 200 and current.headers["ETag"] == '"1"'


@pytest.mark.parametrize("kind", ["members", "organizations", "collaborations"])
def test_etag_from_get_allows_exactly_one_change(api, resources, kind):
    resource_id, change = resources[kind]
    etag = api.get(f"/v1/{kind}/{resource_id}").headers["ETag"]
    first = api.patch(f"/v1/{kind}/{resource_id}", json=change, headers={"If-Match": etag})
    second = api.patch(f"/v1/{kind}/{resource_id}", json=change, headers={"If-Match": etag})
    assert (first.status_code, second.status_code) == (200, 412)
    assert first.headers["ETag"] == '"2"'


def test_concurrent_patches_with_one_etag_let_one_win(app, api, new_member):
    member = new_member()
    results = []
    barrier = threading.Barrier(6)

    def patch(n):
        client = api.with_key(api.secret)
        client.client = app.test_client()
        barrier.wait()
        response = client.patch(f"/v1/members/{member['id']}", json={"title": f"t{n}"}, headers={"If-Match": '"1"'})
        results.append(response.status_code)

    run_together(patch, 6)
    assert sorted(results) == [200, 412, 412, 412, 412, 412]
    assert api.get(f"/v1/members/{member['id']}").get_json()["version"] == 2


@pytest.mark.parametrize("kind", ["members", "organizations", "collaborations"])
def test_invalid_patch_is_422_whatever_if_match_says(api, resources, kind):
    """Found by schemathesis: the ETag was checked before the body, so a malformed change answered 412."""
    resource_id, _ = resources[kind]
    for tag in ('"7"', None):
        headers = {"If-Match": tag} if tag else {}
        response = api.patch(f"/v1/{kind}/{resource_id}", json={"no_such_field": 1}, headers=headers)
        assert response.status_code == 422
        assert "no_such_field" in [error["field"] for error in response.get_json()["errors"]]


@pytest.mark.parametrize("kind", ["members", "organizations", "collaborations"])
def test_if_match_star_changes_whatever_version_is_current(api, resources, kind):
    resource_id, change = resources[kind]
    patched = api.patch(f"/v1/{kind}/{resource_id}", json=change, headers={"If-Match": "*"})
    assert patched.status_code == 200 and patched.headers["ETag"] == '"2"'
    assert api.delete(f"/v1/{kind}/{resource_id}", headers={"If-Match": "*"}).status_code == 204
    assert api.get(f"/v1/{kind}/{resource_id}").status_code == 404


def test_concurrent_puts_of_a_new_affiliation_report_one_creation(app, api, new_member, new_organization):
    """The PUT read whether the tie existed before its MERGE took the lock: up to 4 of 8 racing PUTs said 201."""
    for attempt in range(3):  # a race: each round is a fresh pair
        member, organization = new_member(f"Ada {attempt}"), new_organization(f"North {attempt}")
        path = f"/v1/members/{member['id']}/affiliations/{organization['id']}"
        since = api.get("/v1/changes?resource=affiliation").get_json()["next_cursor"]
        statuses = []
        barrier = threading.Barrier(8)

        def put(n):
            client = api.with_key(api.secret)
            client.client = app.test_client()
            barrier.wait()
            statuses.append(client.put(path, json={"role": "member"}).status_code)

        run_together(put, 8)
        assert sorted(statuses) == [200] * 7 + [201]
        feed = api.get(f"/v1/changes?resource=affiliation&since={since}").get_json()["items"]
        assert sorted(entry["action"] for entry in feed) == ["create"] + ["update"] * 7
