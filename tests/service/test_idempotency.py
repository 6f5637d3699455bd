"""Idempotency-Key on POST: replayed byte for byte, 422 for another body, 409 while running, per API key."""

import threading

import pytest


CREATES = {
    "/v1/members": lambda ids: {"name": "Ada", "email": "ada@example.org", "topics": ["math"]},
    "/v1/organizations": lambda ids: {"name": "District 9", "kind": "district"},
    "/v1/collaborations": lambda ids: {"source_id": ids[0], "target_id": ids[1], "kind": "project"},
}


@pytest.fixture
def parties(new_member):
    return [new_member("P1")["id"], new_member("P2")["id"]]


@pytest.mark.parametrize("path", sorted(CREATES))
def test_same_key_same_body_replays_the_first_response_and_writes_once(api, parties, path):
    body = CREATES[path](parties)
    first = api.post(path, json=body, headers={"Idempotency-Key": "k-1"})
    second = api.post(path, json=body, headers={"Idempotency-Key": "k-1"})
    assert first.status_code == 201
    assert (second.status_code, second.data) == (first.status_code, first.data)
    assert second.headers["ETag"] == first.headers["ETag"]
    assert second.headers["Location"] == first.headers["Location"]
    assert second.headers["Idempotent-Replayed"] == "true"
    listed = api.get(path + "?limit=100").get_json()["items"]
    assert [item["id"] for item in listed].count(first.get_json()["id"]) == 1
    assert len(listed) == (3 if path == "/v1/members" else 1)


def test_replay_after_a_delete_answers_the_first_201_and_creates_nothing(api):
    """What schemathesis' stateful phase met: the key stands for the first outcome, not for a new member."""
    body, headers = {"name": "Ada"}, {"Idempotency-Key": "k-deleted"}
    first = api.post("/v1/members", json=body, headers=headers)
    member_id = first.get_json()["id"]
    assert api.delete(f"/v1/members/{member_id}", headers={"If-Match": first.headers["ETag"]}).status_code == 204
    again = api.post("/v1/members", json=body, headers=headers)
    assert (again.status_code, again.data, again.headers["Idempotent-Replayed"]) == (201, first.data, "true")
    assert api.get(f"/v1/members/{member_id}").status_code == 404
    assert api.get("/v1/members").get_json()["items"] == []


def test_without_a_key_each_post_creates(api):
    for _ in range(2):
        assert api.post("/v1/organizations", json={"name": "Twice"}).status_code == 201
    assert len(api.get("/v1/organizations").get_json()["items"]) == 2


def test_same_key_other_body_is_422(api):
    assert api.post("/v1/organizations", json={"name": "A"}, headers={"Idempotency-Key": "k"}).status_code == 201
    reused = api.post("/v1/organizations", json={"name": "B"}, headers={"Idempotency-Key": "k"})
    assert reused.status_code == 422
    assert reused.get_json()["type"] == "urn:netweave:problem:idempotency-key-reused"
    assert [o["name"] for o in api.get("/v1/organizations").get_json()["items"]] == ["A"]


def test_keys_are_scoped_to_the_api_key(api, make_key):
    other = api.with_key(make_key("write", "read"))
    first = api.post("/v1/organizations", json={"name": "A"}, headers={"Idempotency-Key": "shared"})
    second = other.post("/v1/organizations", json={"name": "A"}, headers={"Idempotency-Key": "shared"})
    assert first.status_code == second.status_code == 201
    assert first.get_json()["id"] != second.get_json()["id"]


def test_failed_request_does_not_burn_the_key(api):
    bad = api.post("/v1/members", json={"name": "A", "email": "nope"}, headers={"Idempotency-Key": "k2"})
    assert bad.status_code == 422
    # the same key with the corrected body runs, since nothing was applied the first time
    good = api.post("/v1/members", json={"name": "A", "email": "a@example.org"}, headers={"Idempotency-Key": "k2"})
    assert good.status_code == 201


def test_same_key_while_the_first_runs_is_409(app, api, graph, monkeypatch):
    from service.repositories import organizations

    started, release = threading.Event(), threading.Event()
    real_create = organizations.create

    def slow_create(graph_, props):
        started.set()
        release.wait(10)
        return real_create(graph_, props)

    monkeypatch.setattr(organizations, "create", slow_create)
    results = {}

    def first():
        client = app.test_client()
        results["first"] = client.post("/v1/organizations", json={"name": "Slow"},
                                       headers={"Idempotency-Key": "busy", "Authorization": f"Bearer {api.secret}"})

    thread = threading.Thread(target=first)
    thread.start()
    assert started.wait(10)
    concurrent = api.post("/v1/organizations", json={"name": "Slow"}, headers={"Idempotency-Key": "busy"})
    release.set()
    thread.join(10)
    assert concurrent.status_code == 409
    assert concurrent.get_json()["type"] == "urn:netweave:problem:idempotency-key-in-use"
    assert results["first"].status_code == 201
    replay = api.post("/v1/organizations", json={"name": "Slow"}, headers={"Idempotency-Key": "busy"})
    assert replay.data == results["first"].data


def test_empty_overlong_or_non_ascii_key_is_400(api):
    # The document's pattern (visible ASCII, no surrounding space) is what the API enforces.
    for key in (" ", "k" * 256, "tab\tinside", "caf\u00e9"):
        response = api.post("/v1/organizations", json={"name": "A"}, headers={"Idempotency-Key": key})
        assert response.status_code == 400
    assert api.get("/v1/organizations").get_json()["items"] == []


def test_key_with_inner_spaces_is_accepted(api):
    first = api.post("/v1/organizations", json={"name": "A"}, headers={"Idempotency-Key": "batch 7 / row 3"})
    again = api.post("/v1/organizations", json={"name": "A"}, headers={"Idempotency-Key": "batch 7 / row 3"})
    assert first.status_code == again.status_code == 201
    assert first.get_json()["id"] == again.get_json()["id"]


def test_a_health_snapshot_with_a_reused_key_is_stored_once(api, new_member):
    new_member("Ada")
    body = {"label": "term start"}
    first = api.post("/v1/analytics/health/snapshots", json=body, headers={"Idempotency-Key": "snap-1"})
    second = api.post("/v1/analytics/health/snapshots", json=body, headers={"Idempotency-Key": "snap-1"})
    assert first.status_code == 201
    assert (second.status_code, second.data, second.headers["Idempotent-Replayed"]) == (201, first.data, "true")
    assert [s["id"] for s in api.get("/v1/analytics/health/snapshots").get_json()["items"]] == [first.get_json()["id"]]
    other = api.post("/v1/analytics/health/snapshots", json={"label": "term end"}, headers={"Idempotency-Key": "snap-1"})
    assert other.status_code == 422 and other.get_json()["type"] == "urn:netweave:problem:idempotency-key-reused"
