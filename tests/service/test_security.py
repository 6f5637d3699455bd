"""Security headers, CORS for allow-listed origins only, and API key expiry and rotation."""

import time
from datetime import datetime, timedelta, timezone

import pytest

from service import config, create_app, db
from tests.conftest import ADMIN_SECRET, UNLIMITED

ORIGIN = "https://partner.example.org"


def test_data_answers_carry_security_headers_and_no_store(api, new_member):
    member = new_member(email="ada@example.org")
    response = api.get(f"/v1/members/{member['id']}")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["Content-Security-Policy"] == "default-src 'none'; frame-ancestors 'none'"
    assert response.headers["Cache-Control"] == "no-store"
    assert "Authorization" in response.headers["Vary"]


def test_errors_on_data_routes_are_not_stored_either(api):
    response = api.with_key(None).get("/v1/members")
    assert response.status_code == 401 and response.headers["Cache-Control"] == "no-store"


def test_html_docs_get_a_policy_that_lets_them_load_only_their_own_assets(client):
    response = client.get("/docs")
    assert response.mimetype == "text/html"
    policy = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert response.headers["X-Frame-Options"] == "DENY"


def test_docs_run_no_inline_script_and_their_policy_allows_none(client):
    """The README says the docs load their own assets only; the policy allowed 'unsafe-inline' scripts."""
    import re

    response = client.get("/docs")
    [script_src] = [part.strip() for part in response.headers["Content-Security-Policy"].split(";")
                    if part.strip().startswith("script-src")]
    assert script_src == "script-src 'self'"
    page = response.get_data(as_text=True)
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", page, re.S)
    assert scripts and all(re.search(r'src="/docs/assets/[\w.-]+\.js"', attrs) and not body.strip()
                           for attrs, body in scripts)
    for attrs, _ in scripts:
        src = re.search(r'src="([^"]+)"', attrs).group(1)
        with client.get(src) as served:  # a file streamed from disk: closed here
            assert served.status_code == 200 and served.mimetype == "text/javascript", src
    assert b"SwaggerUIBundle(" in client.get("/docs/assets/netweave-docs.js").data


def test_no_origin_is_allowed_by_default(api):
    response = api.get("/v1/members", headers={"Origin": ORIGIN})
    assert response.status_code == 200
    assert "Access-Control-Allow-Origin" not in response.headers
    preflight = api.with_key(None).request("OPTIONS", "/v1/members", headers={
        "Origin": ORIGIN, "Access-Control-Request-Method": "POST"})
    assert preflight.status_code == 403 and preflight.mimetype == "application/problem+json"
    assert "Access-Control-Allow-Origin" not in preflight.headers


@pytest.fixture
def cors_app(neo4j_settings):
    app = create_app({**neo4j_settings, "NETWEAVE_ADMIN_KEY": ADMIN_SECRET, "TESTING": True,
                      "NETWEAVE_RATE_LIMITS": UNLIMITED, "NETWEAVE_CORS_ORIGINS": f"{ORIGIN}, https://other.example"})
    yield app
    app.extensions[db.EXTENSION].close()


def test_an_allowed_origin_gets_cors_headers(cors_app, graph):
    client = cors_app.test_client()
    response = client.get("/v1/members", headers={"Origin": ORIGIN, "Authorization": f"Bearer {ADMIN_SECRET}"})
    assert response.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert "X-Request-ID" in response.headers["Access-Control-Expose-Headers"]
    assert "Origin" in response.headers["Vary"]
    preflight = client.options("/v1/members", headers={
        "Origin": ORIGIN, "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, content-type, idempotency-key"})
    assert preflight.status_code == 204
    assert preflight.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert "POST" in preflight.headers["Access-Control-Allow-Methods"]
    assert "Idempotency-Key" in preflight.headers["Access-Control-Allow-Headers"]


def test_an_origin_not_listed_gets_none(cors_app, graph):
    client = cors_app.test_client()
    response = client.get("/v1/members", headers={"Origin": "https://evil.example",
                                                  "Authorization": f"Bearer {ADMIN_SECRET}"})
    assert response.status_code == 200 and "Access-Control-Allow-Origin" not in response.headers


@pytest.mark.parametrize("origins", ["*", "partner.example.org"])
def test_a_wildcard_or_a_bare_host_is_not_an_origin(origins):
    with pytest.raises(config.ConfigError, match="NETWEAVE_CORS_ORIGINS"):
        config.load({"NETWEAVE_CORS_ORIGINS": origins}, environ={})


# --- key expiry and rotation ----------------------------------------------------------------------

def _create_key(api, **fields):
    response = api.post("/v1/api-keys", json={"name": "partner app", "scopes": ["read", "pii"], **fields})
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.get_json()


def test_a_key_is_refused_after_its_expiry_with_the_reason(api):
    expires = datetime.now(timezone.utc) + timedelta(seconds=2)
    key = _create_key(api, expires_at=expires.isoformat())
    assert key["expires_at"] is not None
    assert api.with_key(key["secret"]).get("/v1/members").status_code == 200
    time.sleep(max(0.0, (expires - datetime.now(timezone.utc)).total_seconds()) + 0.2)
    refused = api.with_key(key["secret"]).get("/v1/members")
    assert refused.status_code == 401 and refused.mimetype == "application/problem+json"
    problem = refused.get_json()
    assert problem["type"] == "urn:netweave:problem:key-expired" and "expired" in problem["detail"]


def test_an_expiry_in_the_past_is_422_naming_the_field(api):
    response = api.post("/v1/api-keys", json={"name": "late", "scopes": ["read"],
                                              "expires_at": "2020-01-01T00:00:00+00:00"})
    assert response.status_code == 422
    assert [error["field"] for error in response.get_json()["errors"]] == ["expires_at"]


def test_rotation_gives_a_successor_with_the_same_scopes_and_a_grace_period(api):
    old = _create_key(api)
    started = datetime.now(timezone.utc)
    response = api.post(f"/v1/api-keys/{old['id']}/rotate", json={"grace_seconds": 3600})
    assert response.status_code == 201
    new = response.get_json()
    assert new["id"] != old["id"] and new["secret"] != old["secret"]
    assert new["scopes"] == old["scopes"] and new["name"] == old["name"] and new["expires_at"] is None
    previous = new["previous"]
    assert previous["id"] == old["id"] and previous["successor_id"] == new["id"]
    grace_end = datetime.fromisoformat(previous["expires_at"])
    assert timedelta(minutes=59) < grace_end - started < timedelta(minutes=61)
    # Both work during the grace period; the old one has the successor on record.
    assert api.with_key(old["secret"]).get("/v1/members").status_code == 200
    assert api.with_key(new["secret"]).get("/v1/members").status_code == 200
    listed = {item["id"]: item for item in api.get("/v1/api-keys?limit=100").get_json()["items"]}
    assert listed[old["id"]]["successor_id"] == new["id"]


def test_rotation_with_no_grace_ends_the_old_key_now(api):
    old = _create_key(api)
    new = api.post(f"/v1/api-keys/{old['id']}/rotate", json={"grace_seconds": 0}).get_json()
    assert api.with_key(old["secret"]).get("/v1/members").status_code == 401
    assert api.with_key(new["secret"]).get("/v1/members").status_code == 200


def test_rotation_without_a_body_uses_the_configured_grace(api, app):
    old = _create_key(api)
    response = api.post(f"/v1/api-keys/{old['id']}/rotate", json={})
    assert response.status_code == 201
    remaining = datetime.fromisoformat(response.get_json()["previous"]["expires_at"]) - datetime.now(timezone.utc)
    grace = app.config["NETWEAVE_KEY_ROTATION_GRACE_SECONDS"]
    assert grace - 60 < remaining.total_seconds() <= grace


def test_a_key_rotates_once_then_its_successor_does(api):
    old = _create_key(api)
    new = api.post(f"/v1/api-keys/{old['id']}/rotate", json={}).get_json()
    again = api.post(f"/v1/api-keys/{old['id']}/rotate", json={})
    assert again.status_code == 409 and "already rotated" in again.get_json()["detail"]
    assert api.post(f"/v1/api-keys/{new['id']}/rotate", json={}).status_code == 201


def test_a_revoked_key_cannot_be_rotated_and_an_unknown_one_is_404(api):
    old = _create_key(api)
    assert api.delete(f"/v1/api-keys/{old['id']}").status_code == 204
    refused = api.post(f"/v1/api-keys/{old['id']}/rotate", json={})
    assert refused.status_code == 409 and "revoked" in refused.get_json()["detail"]
    missing = api.post("/v1/api-keys/00000000-0000-4000-8000-000000000000/rotate", json={})
    assert missing.status_code == 404


def test_the_start_up_admin_key_is_not_rotated_through_the_api(api):
    """NETWEAVE_ADMIN_KEY makes it current at every start (found by schemathesis, which rotated it with no grace)."""
    from service.web import auth

    refused = api.post(f"/v1/api-keys/{auth.BOOTSTRAP_KEY_ID}/rotate", json={"grace_seconds": 0})
    assert refused.status_code == 409 and "NETWEAVE_ADMIN_KEY" in refused.get_json()["detail"]
    assert api.get("/v1/api-keys").status_code == 200          # still the admin key it was


@pytest.mark.parametrize("grace", [2.5, 2.5890419884777833e-42, "60", True])
def test_grace_seconds_is_a_whole_number(api, grace):
    old = _create_key(api)
    refused = api.post(f"/v1/api-keys/{old['id']}/rotate", json={"grace_seconds": grace})
    assert refused.status_code == 422 and refused.get_json()["errors"][0]["field"] == "grace_seconds"
