"""API keys: 401 without one, 403 without the scope, hashing, revocation, the admin seed."""

import re
import uuid

import pytest

from service import auth
from tests.conftest import ADMIN_SECRET, run_test_query

ANY_ID = str(uuid.uuid4())

# The documented scope of every /v1 operation; a route missing here fails the completeness test.
ROUTE_SCOPES = {
    ("POST", "/v1/members"): "write",
    ("GET", "/v1/members"): "read",
    ("GET", "/v1/members/<member_id>"): "read",
    ("PATCH", "/v1/members/<member_id>"): "write",
    ("DELETE", "/v1/members/<member_id>"): "write",
    ("GET", "/v1/members/<member_id>/collaborators"): "read",
    ("PUT", "/v1/members/<member_id>/affiliations/<organization_id>"): "write",
    ("DELETE", "/v1/members/<member_id>/affiliations/<organization_id>"): "write",
    ("POST", "/v1/organizations"): "write",
    ("GET", "/v1/organizations"): "read",
    ("GET", "/v1/organizations/<organization_id>"): "read",
    ("PATCH", "/v1/organizations/<organization_id>"): "write",
    ("DELETE", "/v1/organizations/<organization_id>"): "write",
    ("GET", "/v1/organizations/<organization_id>/members"): "read",
    ("POST", "/v1/collaborations"): "write",
    ("GET", "/v1/collaborations"): "read",
    ("GET", "/v1/collaborations/<collaboration_id>"): "read",
    ("PATCH", "/v1/collaborations/<collaboration_id>"): "write",
    ("DELETE", "/v1/collaborations/<collaboration_id>"): "write",
    ("POST", "/v1/sync/organizations"): "sync",
    ("POST", "/v1/sync/members"): "sync",
    ("POST", "/v1/sync/collaborations"): "sync",
    ("GET", "/v1/changes"): ("read", "sync"),
    ("GET", "/v1/members/<member_id>/recommendations"): "read",
    ("GET", "/v1/organizations/<organization_id>/recommendations"): "read",
    ("POST", "/v1/introductions"): "write",
    ("GET", "/v1/introductions"): "read",
    ("GET", "/v1/introductions/<introduction_id>"): "read",
    ("PATCH", "/v1/introductions/<introduction_id>"): "write",
    ("POST", "/v1/api-keys"): "admin",
    ("GET", "/v1/api-keys"): "admin",
    ("DELETE", "/v1/api-keys/<key_id>"): "admin",
    ("GET", "/v1/analytics/bridges"): "analytics",
    ("GET", "/v1/analytics/clusters"): "analytics",
    ("GET", "/v1/analytics/clusters/<cluster_id>"): "analytics",
    ("GET", "/v1/analytics/health"): "analytics",
    ("POST", "/v1/analytics/health/snapshots"): "analytics",
    ("GET", "/v1/analytics/health/snapshots"): "analytics",
    ("GET", "/v1/analytics/health/compare"): "analytics",
    ("GET", "/v1/analytics/runs/<run_id>"): "analytics",
    ("GET", "/v1/analytics/layout"): "analytics",
    ("GET", "/v1/analytics/map.svg"): "analytics",
    ("GET", "/v1/analytics/map.png"): "analytics",
}


def _concrete(rule: str) -> str:
    return re.sub(r"<[^>]+>", ANY_ID, rule)


def test_every_v1_route_has_a_documented_scope(app):
    served = {(method, rule.rule) for rule in app.url_map.iter_rules() if rule.rule.startswith("/v1/")
              for method in rule.methods - {"HEAD", "OPTIONS"}}
    assert served == set(ROUTE_SCOPES)


@pytest.mark.parametrize("method, rule", sorted(ROUTE_SCOPES))
def test_route_without_key_is_401(api, method, rule):
    response = api.with_key(None).request(method, _concrete(rule), json={})
    assert response.status_code == 401
    assert response.mimetype == "application/problem+json"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("method, rule", sorted(ROUTE_SCOPES))
def test_route_with_unknown_key_is_401(api, method, rule):
    response = api.with_key("nw_not-a-real-key").request(method, _concrete(rule), json={})
    assert response.status_code == 401


def _accepted(method: str, rule: str) -> tuple[str, ...]:
    scopes = ROUTE_SCOPES[(method, rule)]
    return scopes if isinstance(scopes, tuple) else (scopes,)


@pytest.mark.parametrize("method, rule", sorted(ROUTE_SCOPES))
def test_route_without_its_scope_is_403(api, make_key, method, rule):
    others = [scope for scope in auth.SCOPES if scope not in _accepted(method, rule)]
    response = api.with_key(make_key(*others)).request(method, _concrete(rule), json={})
    assert response.status_code == 403
    problem = response.get_json()
    assert problem["type"] == "urn:netweave:problem:insufficient-scope"
    assert problem["required_scopes"] == list(_accepted(method, rule))


@pytest.mark.parametrize("method, rule", sorted(ROUTE_SCOPES))
def test_route_with_its_scope_gets_past_auth(api, make_key, method, rule):
    for scope in _accepted(method, rule):
        response = api.with_key(make_key(scope)).request(method, _concrete(rule), json={})
        assert response.status_code not in (401, 403)


@pytest.mark.parametrize("header", ["Basic abc", "Bearer", "Bearer  ", ADMIN_SECRET, "Token " + ADMIN_SECRET])
def test_malformed_authorization_is_401(api, header):
    response = api.with_key(None).get("/v1/members", headers={"Authorization": header})
    assert response.status_code == 401


def test_key_created_by_api_works_once_listed_never_shows_secret_and_can_be_revoked(api):
    created = api.post("/v1/api-keys", json={"name": "partner app", "scopes": ["read", "analytics"]})
    assert created.status_code == 201
    key = created.get_json()
    assert key["secret"].startswith("nw_") and key["scopes"] == ["read", "analytics"]
    partner = api.with_key(key["secret"])
    assert partner.get("/v1/members").status_code == 200
    assert partner.post("/v1/members", json={"name": "X"}).status_code == 403

    listed = api.get("/v1/api-keys?limit=100").get_json()["items"]
    assert key["id"] in [item["id"] for item in listed]
    assert all("secret" not in item and "hash" not in item for item in listed)

    assert api.delete(f"/v1/api-keys/{key['id']}").status_code == 204
    assert partner.get("/v1/members").status_code == 401
    revoked = [item for item in api.get("/v1/api-keys").get_json()["items"] if item["id"] == key["id"]]
    assert revoked[0]["revoked_at"] is not None


def test_only_the_hash_of_a_key_is_stored(graph):
    from service.repositories import api_keys

    key = api_keys.create(graph, "probe", ["read"])
    stored = run_test_query(graph, "test_api_key_raw", id=key["id"])[0]["key"]
    assert key["secret"] not in stored.values()
    assert stored["hash"] == auth.hash_key(key["secret"])


@pytest.mark.parametrize("body, field", [
    ({"name": "x", "scopes": []}, "scopes"), ({"name": "x", "scopes": ["root"]}, "scopes.0"),
    ({"scopes": ["read"]}, "name"), ({"name": "x", "scopes": ["read"], "secret": "mine"}, "secret"),
])
def test_invalid_key_request_names_the_field(api, body, field):
    response = api.post("/v1/api-keys", json=body)
    assert response.status_code == 422
    assert field in [e["field"] for e in response.get_json()["errors"]]


def test_revoking_an_unknown_key_is_404(api):
    assert api.delete(f"/v1/api-keys/{uuid.uuid4()}").status_code == 404


def test_short_admin_key_is_refused_at_start_up():
    from service import config

    with pytest.raises(config.ConfigError, match="16"):
        config.load({"NETWEAVE_ADMIN_KEY": "short"}, environ={})
