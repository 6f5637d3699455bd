"""Input that Python parses but nothing downstream can hold: each is a 4xx problem naming what is wrong
(or, in a sync batch, one failed record), never a 500."""

from __future__ import annotations

import base64
import json

import pytest

JSON = {"Content-Type": "application/json"}
SURROGATE = "a\\ud800b"  # as spelled in a JSON document: the escape of a lone surrogate


def _cursor(sort_key) -> str:
    return base64.urlsafe_b64encode(json.dumps(sort_key).encode()).decode().rstrip("=")


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


BY_NAME = ["/v1/members", "/v1/organizations", "/v1/members/{m}/collaborators", "/v1/organizations/{o}/members",
           "/v1/analytics/clusters/{c}"]
BY_CREATION = ["/v1/collaborations", "/v1/introductions", "/v1/api-keys", "/v1/analytics/health/snapshots"]
ODD_CURSORS = {
    "a lone surrogate": "WyJcdWQ4MDAiLCAieCJd",  # ["\ud800", "x"]
    "numbers": _cursor([1, 2]),
    "nesting": base64.urlsafe_b64encode(b"[" * 1400).decode(),
}
# What is a fine name is no creation time: these lists read the first part with Cypher's datetime().
ODD_TIME_CURSORS = {
    "wrong types": _cursor(["a", "b"]),
    "a month 13": _cursor(["2025-13-01T00:00:00Z", "x"]),
    "non-ASCII digits": _cursor(["\u0662\u0660\u0662\u0665-01-01T00:00:00Z", "x"]),
    "an offset past 18 hours": _cursor(["2025-01-01T00:00:00+19:00", "x"]),
}


@pytest.mark.parametrize("path, cursor", [
    pytest.param(path, cursor, id=f"{path} {kind}")
    for paths, cursors in ((BY_NAME + BY_CREATION, ODD_CURSORS), (BY_CREATION, ODD_TIME_CURSORS))
    for path in paths for kind, cursor in cursors.items()])
def test_a_cursor_that_is_not_one_of_ours_is_422_on_every_list(api, parties, path, cursor):
    ada, _, org = parties
    response = api.get(path.format(m=ada["id"], o=org["id"], c="0f6c3f52-8d53-4c07-93a1-5a0e4fd7c2b1")
                       + f"?cursor={cursor}")
    _assert_names(response, 422, "cursor")


def test_a_cursor_each_list_returned_still_works(api, new_member, new_collaboration):
    ada, grace, ann = new_member("Ada"), new_member("Grace"), new_member("Ann")
    new_collaboration(ada, grace), new_collaboration(ada, ann)
    for path in ("/v1/members", "/v1/collaborations"):
        first = api.get(f"{path}?limit=1").get_json()
        second = api.get(f"{path}?limit=1&cursor={first['next_cursor']}")
        assert second.status_code == 200 and second.get_json()["items"][0]["id"] != first["items"][0]["id"]


@pytest.mark.parametrize("since", [_cursor(["²"]), _cursor([str(2**63 - 1)]), _cursor(["9" * 19]), _cursor([7]),
                                   _cursor(["-1"]), "WyJcdWQ4MDAiXQ"])
def test_changes_since_an_odd_value_is_422_naming_since(api, since):
    _assert_names(api.get(f"/v1/changes?since={since}"), 422, "since")


def test_changes_since_a_position_still_works(api, new_member):
    new_member()
    since = api.get("/v1/changes").get_json()["next_cursor"]
    new_member("Grace")
    assert [c["action"] for c in api.get(f"/v1/changes?since={since}").get_json()["items"]] == ["create"]


@pytest.mark.parametrize("tag", ['"²"', '"١"', '"' + "9" * 30 + '"'])
def test_if_match_that_names_no_version_of_ours_is_412(api, new_member, tag):
    """A syntactically valid entity tag (RFC 9110: obs-text is allowed) that matches no ETag: 412, as for "abc"."""
    member = new_member()
    response = api.patch(f"/v1/members/{member['id']}", json={"title": "x"}, headers={"If-Match": tag})
    assert response.status_code == 412 and response.mimetype == "application/problem+json"
    assert api.get(f"/v1/members/{member['id']}").get_json()["version"] == 1
