"""Hostile-input fuzzing: every operation of openapi.yaml gets the inputs an outside probe sends, and must
answer without a 5xx, every error as RFC 9457 problem+json.

schemathesis (test_schemathesis.py) draws values from the document's schemas; the inputs here are the
ones no schema describes and a JSON parser or a driver chokes on: lone surrogates, integers past 4,300
digits, JSON nested a thousand deep, NaN, control characters, cursors and bookmarks that decode to the
wrong types, odd If-Match and Idempotency-Key values, invalid UTF-8. A request starts valid (on a small
network made for it, so every path id exists) and has one place spoilt, so that a value which passes
validation still travels on to the database; or every place of one kind at once.

Two tests. The sweep sends every input class to every operation, in each query parameter, body field and
sync record field on its own, and in the headers, path ids and whole body: about 4,500 requests,
deterministic, a minute or two in CI. The random test draws spoilt requests with hypothesis, a few per
operation by default; for a longer run (before a release, or on a schedule):

    NETWEAVE_FUZZ_EXAMPLES=500 NETWEAVE_FUZZ_SEED=random .venv/bin/pytest -q tests/contract/test_hostile_fuzz.py

(NETWEAVE_FUZZ_SEED=random draws new cases on each run; a failure prints the request to reproduce.)
"""

from __future__ import annotations

import base64
import json
import os
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schemas.sync import RECORD_SCHEMAS

SPEC = yaml.safe_load((Path(__file__).resolve().parents[2] / "openapi.yaml").read_text(encoding="utf-8"))
EXAMPLES = int(os.environ.get("NETWEAVE_FUZZ_EXAMPLES", "5"))
DERANDOMIZE = os.environ.get("NETWEAVE_FUZZ_SEED", "fixed") != "random"
PROBLEM = "application/problem+json"


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


# The input classes, each as it can be spelt in each kind of place: JSON values as spelt in a document
# (json.dumps cannot spell most of them), query values percent-encoded where a URL cannot carry the bytes.
CLASSES: dict[str, dict[str, list[str]]] = {
    "lone surrogate": {"json": ['"a\\ud800b"', '"ann@example\\udc00.org"', '["\\udfff"]', '{"\\ud800": "x"}'],
                       "query": ["%ED%A0%80", _b64(b'["\\ud800", "x"]'), _b64(b'["\\ud800"]')]},
    "control character": {"json": ['"Ctl\\u000bVt"', '"\\u0000"', '["\\u001b[0m"]', '"\\u0085\\u001c"'],
                          "query": ["%00", "Ctl%0BVt", "%1B"]},
    "deep nesting": {"json": ["[" * 1000 + "]" * 1000, '{"a":' * 1000 + "1" + "}" * 1000],
                     "query": [_b64(b"[" * 1400)]},
    "long integer": {"json": ["1" * 5000, "-" + "9" * 4301], "query": ["1" * 5000, _b64(b'["' + b"9" * 5000 + b'"]')]},
    "not finite": {"json": ["NaN", "1e999", "-Infinity"], "query": ["NaN", "1e999", _b64(b"[1e999]")]},
    "past 64 bits": {"json": ["9223372036854775808", "-9223372036854775809"],
                     "query": ["9223372036854775808", _b64(b'["9223372036854775807"]'), "-1"]},
    "wrong type": {"json": ["true", "[]", "{}", "null", "2.5"],
                   "query": [_b64(b'["a", "b"]'), _b64(b"[1, 2]"), _b64(b'["\xc2\xb2"]'), "%C2%B2", "%D9%A2",
                             _b64(b'["2025-13-01T00:00:00Z", "x"]'), "2025-02-30", "0000-01-01", "99999-01-01"]},
    "oversized": {"json": ['"' + "x" * 5000 + '"', "[" + ",".join(['"t"'] * 5000) + "]"], "query": ["x" * 3000]},
    "not UTF-8": {"query": ["%FF", "%C0%80", _b64(b"\xff\xfe")]},
}
# Whole bodies that are not the JSON of any object.
HOSTILE_BODIES = [b"[" * 1000 + b"]" * 1000, b'{"a":' * 1000 + b"1" + b"}" * 1000, b"\xff\xfe\x00", b"\xef\xbb\xbf{}",
                  b"NaN", b"1" * 5000, b'"\\ud800"', b"", b"{", b"null", b"[]"]
HOSTILE_HEADERS = {
    "If-Match": ['"\xb2"', '"' + "9" * 40 + '"', 'W/"1"', '"-1"', "*, *", '"1", "2"', '"', "\x7f", "x" * 5000],
    "Idempotency-Key": ["\xb2", "k\x7f", "x" * 300, " k ", "k\tk"],
    "X-Request-ID": ["\xb2" * 20, "x" * 5000, "a\x7fbcdefgh"],
    "X-Neo4j-Bookmark": [_b64(b"[" * 3000), _b64(b'["FB:' + b"A" * 400 + b'"]'), _b64(b'["\\ud800"]'),
                         _b64(b"[1e999]"), _b64(b'["FB:kcwQv535V/MRT16nIdvRp1I8fsp/////kA=="]'), "\xb2", "=" * 10],
}
BAD_IDS = ["not-a-uuid", "%ED%A0%80", "%00", "0" * 5000, "00000000-0000-0000-0000-000000000000", "%2E%2E", "%FF"]
# Values shaped as cursors (base64 of JSON) go to the parameters that decode them; the sweep spares the rest.
CURSORS = {"cursor", "since"}
ENCODED_CURSORS = {value for spelt in CLASSES.values() for value in spelt.get("query", []) if value.startswith("W")}
HOSTILE_JSON = [value for spelt in CLASSES.values() for value in spelt.get("json", [])]
HOSTILE_QUERY = [value for spelt in CLASSES.values() for value in spelt.get("query", [])]


def _operations() -> list[tuple[str, str, dict]]:
    return [(path, method, operation) for path, item in SPEC["paths"].items() if path.startswith("/v1/")
            for method, operation in item.items() if method in ("get", "post", "put", "patch", "delete")]


def _resolve(node: dict, section: str) -> dict:
    return SPEC["components"][section][node["$ref"].rsplit("/", 1)[-1]] if "$ref" in node else node


def _parameters(operation: dict, where: str) -> list[str]:
    return [p["name"] for p in (_resolve(p, "parameters") for p in operation.get("parameters", [])) if p["in"] == where]


def _body_fields(operation: dict) -> list[str]:
    content = operation.get("requestBody", {}).get("content", {}).get("application/json")
    if content is None:
        return []
    schema = _resolve(content["schema"], "schemas")
    return [name for name, field in schema.get("properties", {}).items() if not field.get("readOnly")]


@pytest.fixture
def world(api, new_member, new_organization, new_collaboration, make_key):
    """A small network whose ids make valid requests: every path id names something that exists."""
    ada, grace, cy, org = new_member("Ada", region="north"), new_member("Grace"), new_member("Cy"), \
        new_organization("North")
    api.put(f"/v1/members/{ada['id']}/affiliations/{org['id']}", json={})
    tie = new_collaboration(ada, grace)
    introduction = api.post("/v1/introductions", json={"member_ids": [ada["id"], cy["id"]]}).get_json()
    key = api.post("/v1/api-keys", json={"name": "fuzzed", "scopes": ["read"]}).get_json()
    api.post("/v1/sync/organizations", json={"source": "crm", "records": [{"external_id": "o1", "name": "Fuzz Org"}]})
    webhook = api.post("/v1/webhooks", json={"url": "https://example.org/hooks", "events": ["*"]}).get_json()
    activity = api.post("/v1/activities", json={"name": "Spring Convening", "kind": "convening"}).get_json()
    question = {"id": "advice", "type": "names", "prompt": "Who?", "tie_kind": "advice", "roster": {"all": True},
                "scales": [{"name": "trust", "min": 1, "max": 4}]}
    survey = api.post("/v1/surveys", json={"title": "Fuzz check-in", "closes_at": "2100-01-01T00:00:00Z",
                                           "questions": [question]}).get_json()
    tokens = api.post(f"/v1/surveys/{survey['id']}/invitations",
                      json={"member_ids": [ada["id"], grace["id"]]}).get_json()["items"]
    api.with_key(None).put(f"/v1/respond/{tokens[0]['token']}", json={"submit": True, "answers": [
        {"question_id": "advice", "named": [], "write_ins": ["Someone"]}]})
    write_in = api.get(f"/v1/surveys/{survey['id']}/write-ins").get_json()["items"][0]
    ids = {"activity_id": activity["id"], "survey_id": survey["id"], "write_in_id": write_in["id"],
           "token": tokens[1]["token"],
           "webhook_id": webhook["id"], "delivery_id": str(uuid.uuid4()), "member_id": ada["id"], "organization_id": org["id"], "collaboration_id": tie["id"],
           "introduction_id": introduction["id"], "key_id": key["id"], "cluster_id": str(uuid.uuid4()),
           "run_id": str(uuid.uuid4()), "name": "member_role", "target": "member"}
    records = {
        "members": {"external_id": "m1", "name": "Fuzz", "organizations": ["o1"]},
        "organizations": {"external_id": "o1", "name": "Fuzz Org"},
        "collaborations": {"external_id": "t1", "source_external_id": ada["id"], "target_external_id": grace["id"],
                           "kind": "project"},
        "activities": {"external_id": "a1", "name": "Fuzz Workshop", "kind": "workshop",
                       "participants": [{"member_external_id": ada["id"]}]},
    }
    bodies = {
        ("post", "/v1/members"): {"name": "Fuzz"},
        ("patch", "/v1/members/{member_id}"): {"title": "x"},
        ("put", "/v1/members/{member_id}/affiliations/{organization_id}"): {"role": "member"},
        ("post", "/v1/organizations"): {"name": "Fuzz Org"},
        ("patch", "/v1/organizations/{organization_id}"): {"region": "x"},
        ("post", "/v1/collaborations"): {"source_id": ada["id"], "target_id": grace["id"], "kind": "project"},
        ("patch", "/v1/collaborations/{collaboration_id}"): {"strength": 2},
        ("post", "/v1/introductions"): {"member_ids": [grace["id"], cy["id"]]},
        ("patch", "/v1/introductions/{introduction_id}"): {"status": "declined"},
        ("post", "/v1/api-keys"): {"name": "k", "scopes": ["read"]},
        ("post", "/v1/api-keys/{key_id}/rotate"): {"grace_seconds": 60},
        ("post", "/v1/analytics/health/snapshots"): {"label": "s"},
        ("post", "/v1/webhooks"): {"url": "https://example.org/other", "events": ["member.*"]},
        ("patch", "/v1/webhooks/{webhook_id}"): {"description": "x"},
        ("post", "/v1/webhooks/{webhook_id}/rotate"): {"grace_seconds": 60},
        ("post", "/v1/activities"): {"name": "Fuzz Workshop", "kind": "workshop"},
        ("patch", "/v1/activities/{activity_id}"): {"name": "Renamed"},
        ("put", "/v1/activities/{activity_id}/participants"): {"participants": [{"member_id": ada["id"]}]},
        ("post", "/v1/surveys"): {"title": "Fuzz", "closes_at": "2100-01-01T00:00:00Z", "questions": [question]},
        ("patch", "/v1/surveys/{survey_id}"): {"title": "Renamed"},
        ("post", "/v1/surveys/{survey_id}/invitations"): {"member_ids": [cy["id"]]},
        ("post", "/v1/surveys/{survey_id}/write-ins/{write_in_id}"): {"member_id": cy["id"]},
        ("put", "/v1/respond/{token}"): {"submit": True, "answers": [
            {"question_id": "advice", "named": [{"member_id": ada["id"], "scales": {"trust": 3}}]}]},
        **{("post", f"/v1/sync/{resource}"): {"source": "crm", "records": [record]}
           for resource, record in records.items()},
    }
    return {"ids": ids, "bodies": bodies}


def _places(path: str, operation: dict) -> list[tuple[str, str]]:
    """(kind, name) of every place of the request a hostile value may go."""
    places = [("path", name) for name in _parameters(operation, "path")]
    places += [("query", name) for name in _parameters(operation, "query")]
    places += [("header", name) for name in HOSTILE_HEADERS]
    if "requestBody" in operation:
        places += [("body", name) for name in _body_fields(operation)] + [("whole body", "")]
        if path.startswith("/v1/sync/"):
            places += [("record", name) for name in RECORD_SCHEMAS[path.rsplit("/", 1)[-1]]().load_fields]
    return places


def spoilt(path: str, method: str, operation: dict, world: dict, spoils: dict[tuple[str, str], Any]):
    """(url, headers, body bytes or None): the operation's valid request with `spoils` ((kind, name) -> value)."""
    ids, query, headers = dict(world["ids"]), {}, {"If-Match": "*"}
    body = {name: json.dumps(value) for name, value in world["bodies"].get((method, path), {}).items()}
    record = None
    if path.startswith("/v1/sync/"):
        record = {name: json.dumps(value) for name, value in json.loads(body.pop("records"))[0].items()}
    whole_body = None
    for (kind, name), value in spoils.items():
        if kind == "whole body":
            whole_body = value
        else:
            {"path": ids, "query": query, "header": headers, "body": body, "record": record}[kind][name] = value
    url = path.format(**{name: quote(value, safe="%") for name, value in ids.items()})
    if query:
        url += "?" + "&".join(f"{name}={value}" for name, value in query.items())
    if "requestBody" not in operation:
        return url, headers, None
    if whole_body is None:
        if record is not None:
            body["records"] = "[" + _object(record) + "]"
        whole_body = _object(body).encode("utf-8")
    return url, headers, whole_body


def _object(members: dict[str, str]) -> str:
    return "{" + ", ".join(f"{json.dumps(name)}: {value}" for name, value in members.items()) + "}"


def sweep(path: str, operation: dict):
    """Every input class in every place: each query parameter, body field and record field on its own (so the
    other places stay valid and the value goes as far as it can); headers and path ids all at once."""
    places = _places(path, operation)
    by_kind = {kind: [name for k, name in places if k == kind] for kind in ("path", "query", "header")}
    for spelt in CLASSES.values():
        for value in spelt.get("json", []):
            for kind, name in places:
                if kind in ("body", "record"):
                    yield {(kind, name): value}
        for value in spelt.get("query", []):
            for name in by_kind["query"]:
                if name in CURSORS or value not in ENCODED_CURSORS:
                    yield {("query", name): value}
    for n in range(max(len(values) for values in HOSTILE_HEADERS.values())):
        yield {("header", name): values[n % len(values)] for name, values in HOSTILE_HEADERS.items()}
    for value in BAD_IDS:
        if by_kind["path"]:
            yield {("path", name): value for name in by_kind["path"]}
    if "requestBody" in operation:
        for value in HOSTILE_BODIES:
            yield {("whole body", ""): value}


@st.composite
def spoilt_requests(draw, path: str, method: str, operation: dict, world: dict):
    """A valid request for the operation with one place spoilt, or (one time in ten) every place."""
    places = _places(path, operation)
    chosen = places if draw(st.integers(0, 9)) == 0 else [draw(st.sampled_from(places))]
    values = {"path": BAD_IDS, "query": HOSTILE_QUERY, "body": HOSTILE_JSON, "record": HOSTILE_JSON,
              "whole body": HOSTILE_BODIES}
    return spoilt(path, method, operation, world, {
        (kind, name): draw(st.sampled_from(HOSTILE_HEADERS[name] if kind == "header" else values[kind]))
        for kind, name in chosen})


def _send(api, method: str, request: tuple):
    url, headers, body = request
    extra = {"data": body, "content_type": "application/json"} if body is not None else {}
    return api.request(method.upper(), url, headers=headers, **extra)


def _assert_answered(response, request: Any) -> None:
    assert response.status_code < 500, (request, response.status_code, response.get_data(as_text=True)[:500])
    if response.status_code >= 400:
        assert response.mimetype == PROBLEM, (request, response.status_code, response.mimetype)
        problem = response.get_json()
        assert {"type", "title", "status", "detail"} <= set(problem) and problem["status"] == response.status_code, \
            (request, problem)


OPERATIONS = [pytest.param(*op, id=f"{op[1].upper()} {op[0]}") for op in _operations()]


@pytest.mark.parametrize("path, method, operation", OPERATIONS)
def test_every_input_class_on_every_operation_is_answered_never_a_server_error(api, world, path, method,
                                                                                operation):
    failures = []
    for spoils in sweep(path, operation):
        request = spoilt(path, method, operation, world, spoils)
        try:
            _assert_answered(_send(api, method, request), request)
        except AssertionError as failure:
            failures.append(str(failure)[:600])
    assert not failures, f"{len(failures)} requests failed, the first:\n" + "\n".join(failures[:5])


@pytest.mark.parametrize("path, method, operation", OPERATIONS)
def test_random_hostile_requests_are_answered_never_a_server_error(api, world, path, method, operation):
    @settings(max_examples=EXAMPLES, deadline=None, derandomize=DERANDOMIZE, database=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                     HealthCheck.data_too_large])
    @given(request=spoilt_requests(path, method, operation, world))
    def attempt(request):
        _assert_answered(_send(api, method, request), request)

    attempt()
