"""Input that Python parses but nothing downstream can hold: each is a 4xx problem naming what is wrong
(or, in a sync batch, one failed record), never a 500."""

from __future__ import annotations

import json

import pytest

JSON = {"Content-Type": "application/json"}
SURROGATE = "a\\ud800b"  # as spelled in a JSON document: the escape of a lone surrogate


def _raw(document: dict, **spelled: str) -> str:
    """`document` as JSON with the given fields spelled verbatim (escapes and oversized numbers included)."""
    text = json.dumps(document)[:-1]
    for name, value in spelled.items():
        text += f'{", " if document else ""}"{name}": {value}'
        document = True
    return text + "}"


def _assert_names(response, status: int, field: str) -> None:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    named = [error["field"] for error in response.get_json()["errors"]]
    assert field in named or f"{field}.0" in named, named


@pytest.fixture
def parties(new_member, new_organization):
    return new_member("Ada"), new_member("Grace"), new_organization()


def _writes(parties) -> list[tuple[str, str, dict, str]]:
    """(method, path, a valid body, a stored text field of it) for each JSON operation that stores text."""
    ada, grace, org = parties
    tie = {"source_id": ada["id"], "target_id": grace["id"], "kind": "project"}
    return [
        ("POST", "/v1/members", {"name": "Ann"}, "name"),
        ("POST", "/v1/members", {"name": "Ann"}, "title"),
        ("POST", "/v1/members", {"name": "Ann"}, "region"),
        ("PATCH", f"/v1/members/{ada['id']}", {}, "name"),
        ("POST", "/v1/organizations", {"name": "North"}, "region"),
        ("POST", "/v1/collaborations", tie, "note"),
        ("POST", "/v1/collaborations", tie, "source"),
        ("POST", "/v1/api-keys", {"scopes": ["read"]}, "name"),
        ("POST", "/v1/analytics/health/snapshots", {}, "label"),
        ("POST", "/v1/introductions", {"member_ids": [ada["id"], grace["id"]]}, "note"),
    ]


def test_a_lone_surrogate_in_any_stored_string_is_422_naming_the_field(api, parties):
    for method, path, body, field in _writes(parties):
        response = api.request(method, path, data=_raw(body, **{field: f'"{SURROGATE}"'}),
                               headers={**JSON, "If-Match": "*"})
        _assert_names(response, 422, field)
    for field in ("email", "topics"):
        value = f'"{SURROGATE}@example.org"' if field == "email" else f'["{SURROGATE}"]'
        _assert_names(api.post("/v1/members", data=_raw({"name": "Ann"}, **{field: value}), headers=JSON), 422, field)
    assert sorted(m["name"] for m in api.get("/v1/members").get_json()["items"]) == ["Ada", "Grace"]


@pytest.mark.parametrize("field", ["external_id", "name", "email", "topics"])
def test_a_lone_surrogate_in_a_sync_record_fails_that_record_only(api, field):
    value = f'["{SURROGATE}"]' if field == "topics" else f'"{SURROGATE}"'
    bad = _raw({"external_id": "c2", "name": "Ben"}, **{field: value})
    body = '{"source": "crm", "records": [{"external_id": "c1", "name": "Ann"}, ' + bad + "]}"
    response = api.post("/v1/sync/members", data=body, headers=JSON)
    assert response.status_code == 207, response.get_data(as_text=True)
    first, second = response.get_json()["results"]
    assert first["status"] == "created" and second["status"] == "error"
    assert [error["field"] for error in second["error"]["errors"]] in ([field], [f"{field}.0"])
    atomic = api.post("/v1/sync/members?atomic=true", data=body, headers=JSON)
    assert atomic.status_code == 400 and atomic.mimetype == "application/problem+json"


def test_a_lone_surrogate_in_a_key_names_no_field_but_is_refused(api):
    response = api.post("/v1/members", data='{"name": "Ann", "\\udc00": 1}', headers=JSON)
    assert response.status_code == 422
    assert response.get_json()["errors"][0] == {"field": "\\udc00", "location": "json", "messages": ["Unknown field."]}


def test_a_valid_surrogate_pair_is_a_character_and_is_stored(api):
    response = api.post("/v1/members", data='{"name": "Ann \\ud83d\\ude00"}', headers=JSON)
    assert response.status_code == 201 and response.get_json()["name"] == "Ann \U0001F600"


@pytest.mark.parametrize("method, path", [
    ("POST", "/v1/members"), ("POST", "/v1/organizations"), ("POST", "/v1/collaborations"),
    ("POST", "/v1/sync/members"), ("POST", "/v1/api-keys"), ("POST", "/v1/introductions"),
    ("POST", "/v1/analytics/health/snapshots"), ("PATCH", "/v1/members/{m}"), ("PUT", "/v1/members/{m}/affiliations/{o}"),
])
@pytest.mark.parametrize("shape", ["array", "object"])
def test_json_nested_1000_deep_is_400_naming_the_body(api, parties, method, path, shape):
    ada, _, org = parties
    deep = "[" * 1000 + "]" * 1000 if shape == "array" else '{"a":' * 1000 + "1" + "}" * 1000
    response = api.request(method, path.format(m=ada["id"], o=org["id"]), data=deep,
                           headers={**JSON, "If-Match": "*"})
    _assert_names(response, 400, "_schema")
    assert response.get_json()["errors"][0]["messages"] == ["nested too deeply"]


def test_an_integer_over_4300_digits_is_422_naming_the_field(api, parties):
    ada, grace, _ = parties
    body = _raw({"source_id": ada["id"], "target_id": grace["id"], "kind": "project"}, strength="1" * 5000)
    _assert_names(api.post("/v1/collaborations", data=body, headers=JSON), 422, "strength")
    record = _raw({"external_id": "t1", "source_external_id": ada["id"], "target_external_id": grace["id"],
                   "kind": "project"}, strength="-" + "9" * 4301)
    synced = api.post("/v1/sync/collaborations", data='{"source": "crm", "records": [' + record + "]}",
                      headers=JSON)
    assert synced.status_code == 207
    assert [e["field"] for e in synced.get_json()["results"][0]["error"]["errors"]] == ["strength"]
    assert api.get("/v1/collaborations").get_json()["items"] == []


def test_nan_and_infinity_are_not_json(api, parties):
    ada, grace, _ = parties
    for constant in ("NaN", "Infinity", "-Infinity"):
        body = _raw({"source_id": ada["id"], "target_id": grace["id"], "kind": "project"}, strength=constant)
        _assert_names(api.post("/v1/collaborations", data=body, headers=JSON), 400, "_schema")
