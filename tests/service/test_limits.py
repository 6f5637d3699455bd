"""Limits (OWASP API4): rate limits per key and family, bounded inputs, bounded traversals, and a
transaction timeout that answers 503 instead of holding a worker."""

import re
import time
import uuid

import pytest

import graph_queries
from service import config, create_app, db
from tests.conftest import ADMIN_SECRET, TEST_QUERIES
from tests.support import RedisServer


@pytest.fixture
def limited_app(neo4j_settings):
    """An app of its own (its own counters) with three reads and two writes a minute per key."""
    app = create_app({**neo4j_settings, "NETWEAVE_ADMIN_KEY": ADMIN_SECRET, "TESTING": True,
                      "NETWEAVE_RATE_LIMITS": {"read": "3/minute", "write": "2/minute"}})
    yield app
    app.extensions[db.EXTENSION].close()


def _get(client, secret, path="/v1/members"):
    return client.get(path, headers={"Authorization": f"Bearer {secret}"})


def test_reads_over_the_limit_get_429_problem_with_retry_after(limited_app, graph):
    client = limited_app.test_client()
    answers = [_get(client, ADMIN_SECRET) for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert [a.headers["RateLimit"].split(", ")[1] for a in answers[:3]] == [
        "remaining=2", "remaining=1", "remaining=0"]
    assert answers[0].headers["RateLimit-Policy"] == "3;w=60"
    refused = answers[3]
    assert refused.mimetype == "application/problem+json"
    problem = refused.get_json()
    assert problem["type"] == "urn:netweave:problem:rate-limited" and problem["status"] == 429
    assert problem["family"] == "read"
    assert 1 <= int(refused.headers["Retry-After"]) <= 60


def test_each_key_has_its_own_count(limited_app, make_key):
    client = limited_app.test_client()
    for _ in range(3):
        _get(client, ADMIN_SECRET)
    assert _get(client, ADMIN_SECRET).status_code == 429
    assert _get(client, make_key("read")).status_code == 200


def test_families_count_apart(limited_app):
    client = limited_app.test_client()
    for _ in range(3):
        _get(client, ADMIN_SECRET)
    assert _get(client, ADMIN_SECRET).status_code == 429
    created = client.post("/v1/members", json={"name": "Ada"}, headers={"Authorization": f"Bearer {ADMIN_SECRET}"})
    assert created.status_code == 201
    assert created.headers["RateLimit-Policy"] == "2;w=60"


def test_health_and_metrics_are_never_limited(limited_app):
    client = limited_app.test_client()
    assert all(client.get("/healthz").status_code == 200 for _ in range(10))
    assert all(client.get("/metrics").status_code == 200 for _ in range(5))


def test_requests_without_a_key_are_counted_by_address(limited_app):
    client = limited_app.test_client()
    statuses = [client.get("/v1/members").status_code for _ in range(4)]
    assert statuses == [401, 401, 401, 429]


@pytest.mark.parametrize("limits, message", [({"everything": "1/second"}, "unknown family"),
                                             ({"read": "lots"}, "is not a limit"),
                                             ("{not json", "not JSON")])
def test_bad_rate_limit_settings_stop_start_up(limits, message):
    with pytest.raises(config.ConfigError, match=message):
        config.load({"NETWEAVE_RATE_LIMITS": limits}, environ={})


def test_rate_limits_come_from_the_environment_as_json():
    loaded = config.load(environ={"NETWEAVE_RATE_LIMITS": '{"sync": "10/minute"}'})
    assert loaded["NETWEAVE_RATE_LIMITS"]["sync"] == "10/minute"
    assert loaded["NETWEAVE_RATE_LIMITS"]["read"] == "1200/minute"


# --- bounded inputs -------------------------------------------------------------------------------

def _resolve(spec, schema):
    while "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def _unbounded(spec, schema, path, seen):
    """Paths of arrays without maxItems and free strings without maxLength in a request schema."""
    schema = _resolve(spec, schema)
    if id(schema) in seen:
        return []
    seen.add(id(schema))
    found = []
    kind = schema.get("type")
    kinds = kind if isinstance(kind, list) else [kind]
    if "array" in kinds:
        if "maxItems" not in schema:
            found.append(path)
        found += _unbounded(spec, schema.get("items", {}), path + "[]", seen)
    if "string" in kinds and not ({"maxLength", "enum", "format", "pattern"} & set(schema)):
        found.append(path)
    for name, sub in schema.get("properties", {}).items():
        if not sub.get("readOnly"):
            found += _unbounded(spec, sub, f"{path}.{name}", seen)
    return found


def test_every_list_argument_and_request_array_is_bounded(app):
    spec = app.extensions["netweave.api"].spec.to_dict()
    unbounded = []
    for route, operations in spec["paths"].items():
        for method, operation in operations.items():
            if method not in ("get", "post", "put", "patch", "delete"):
                continue
            for parameter in operation.get("parameters", []):
                schema = parameter.get("schema", {})
                if schema.get("type") == "integer" and parameter["name"] == "limit" and "maximum" not in schema:
                    unbounded.append(f"{method} {route} ?limit")
            body = operation.get("requestBody", {}).get("content", {}).get("application/json", {})
            if body:
                unbounded += [f"{method} {route} {p}" for p in _unbounded(spec, body["schema"], "body", set())]
    assert unbounded == []


def test_no_statement_has_an_unbounded_variable_length_pattern():
    # [*], [*2..] and [:T*] walk as far as the graph goes: a traversal must name its upper bound.
    open_ended = re.compile(r"\[[^\]]*\*\s*(\d+\s*\.\.\s*)?\]")
    offenders = [name for name, query in graph_queries.load_all().items() if open_ended.search(query.text)]
    assert offenders == []


# --- the transaction timeout ----------------------------------------------------------------------

def test_query_over_the_timeout_answers_503_with_retry_after(neo4j_settings):
    app = create_app({**neo4j_settings, "NETWEAVE_ADMIN_KEY": ADMIN_SECRET, "TESTING": True,
                      "NETWEAVE_QUERY_TIMEOUT_SECONDS": 2.0})
    slow = TEST_QUERIES["test_slow_statement"].text

    def count_through():
        graph = app.extensions[db.EXTENSION]
        return {"rows": graph.read(lambda tx: [r.data() for r in tx.run(slow, {"rows": 10 ** 10})])}

    app.add_url_rule("/test/slow", view_func=count_through)
    try:
        started = time.monotonic()
        response = app.test_client().get("/test/slow")
        took = time.monotonic() - started
        assert response.status_code == 503 and response.mimetype == "application/problem+json"
        assert response.get_json()["type"] == "urn:netweave:problem:query-timeout"
        assert response.headers["Retry-After"].isdigit()
        assert took < 30, f"the statement held the request {took:.1f} s"
    finally:
        app.extensions[db.EXTENSION].close()


# --- one count across workers: Redis storage -----------------------------------------------------

@pytest.fixture
def redis_url(tmp_path):
    server = RedisServer(tmp_path)
    yield server.url
    server.stop()


def test_with_redis_two_workers_share_one_count_per_key(neo4j_settings, redis_url, make_key):
    """Two apps (two gunicorn workers) on the same Redis: a key's reads are counted once across both."""
    settings = {**neo4j_settings, "NETWEAVE_ADMIN_KEY": ADMIN_SECRET, "TESTING": True, "REDIS_URL": redis_url,
                "NETWEAVE_RATE_LIMITS": {"read": "3/minute"}}
    first, second = create_app(settings), create_app(settings)
    try:
        secret = make_key("read")
        one, two = first.test_client(), second.test_client()
        statuses = [_get(one, secret).status_code, _get(two, secret).status_code, _get(one, secret).status_code,
                    _get(two, secret).status_code]
        assert statuses == [200, 200, 200, 429]       # in memory, each worker would have allowed 3
        assert _get(one, make_key("read")).status_code == 200   # another key has its own count
    finally:
        for app in (first, second):
            app.extensions[db.EXTENSION].close()


def _invented_key_statuses(get, count: int) -> list[int]:
    return [get(f"nw_made_up_{uuid.uuid4().hex}") for _ in range(count)]


def test_invented_keys_are_limited_per_address_before_any_lookup(neo4j_settings):
    """A new made-up bearer per request escapes the per-key buckets; the failures count per address, and
    past the `unauthenticated` limit the address gets 429 without a database lookup. A key this worker
    knows keeps working."""
    app = create_app({**neo4j_settings, "NETWEAVE_ADMIN_KEY": ADMIN_SECRET, "TESTING": True,
                      "NETWEAVE_RATE_LIMITS": {"unauthenticated": "5/minute"}})
    try:
        client = app.test_client()
        assert _get(client, ADMIN_SECRET).status_code == 200          # known (cached) from here on
        graph = app.extensions[db.EXTENSION]
        lookups_before = _lookups(graph)
        statuses = _invented_key_statuses(lambda key: _get(client, key).status_code, 12)
        lookups = _lookups(graph) - lookups_before
        refused = _get(client, "nw_made_up_once_more")
        assert statuses == [401] * 5 + [429] * 7
        assert lookups == 5, f"{lookups} key lookups reached the database"
        problem = refused.get_json()
        assert problem["family"] == "unauthenticated" and 1 <= int(refused.headers["Retry-After"]) <= 60
        assert _get(client, ADMIN_SECRET).status_code == 200
    finally:
        app.extensions[db.EXTENSION].close()


def _lookups(graph) -> int:
    """How many times the key lookup statement ran, from the app's query metrics."""
    from prometheus_client import REGISTRY

    value = REGISTRY.get_sample_value("netweave_neo4j_query_duration_seconds_count", {"query": "api_key_by_hash"})
    return int(value or 0)
