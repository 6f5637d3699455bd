"""API keys: 401 without one, 403 without the scope, hashing, revocation, the admin seed."""

import re
import time
import uuid

import pytest

from service import db
from service.web import auth
from tests.conftest import ADMIN_SECRET, run_test_query

ANY_ID = str(uuid.uuid4())

# The documented scope of every /v1 operation; a route missing here fails the completeness test.
ROUTE_SCOPES = {
    ("POST", "/v1/members"): "write",
    ("GET", "/v1/members"): "read",
    ("GET", "/v1/members/<member:member_id>"): "read",
    ("PATCH", "/v1/members/<member:member_id>"): "write",
    ("DELETE", "/v1/members/<member:member_id>"): "write",
    ("GET", "/v1/members/<member_id>/collaborators"): "read",
    ("GET", "/v1/members/<member_id>/network"): "read",
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
    ("POST", "/v1/api-keys/<key_id>/rotate"): "admin",
    ("GET", "/v1/analytics/bridges"): "analytics",
    ("GET", "/v1/analytics/clusters"): "analytics",
    ("GET", "/v1/analytics/clusters/<cluster_id>"): "analytics",
    ("GET", "/v1/analytics/health"): "analytics",
    ("POST", "/v1/analytics/health/snapshots"): "analytics",
    ("GET", "/v1/analytics/health/snapshots"): "analytics",
    ("GET", "/v1/analytics/health/compare"): "analytics",
    ("GET", "/v1/analytics/segments"): "analytics",
    ("GET", "/v1/analytics/reach"): "analytics",
    ("GET", "/v1/analytics/ranking"): "analytics",
    ("GET", "/v1/analytics/runs/<run_id>"): "analytics",
    ("GET", "/v1/export"): "analytics",
    ("POST", "/v1/activities"): "write",
    ("GET", "/v1/activities"): "read",
    ("GET", "/v1/activities/<activity_id>"): "read",
    ("PATCH", "/v1/activities/<activity_id>"): "write",
    ("DELETE", "/v1/activities/<activity_id>"): "write",
    ("PUT", "/v1/activities/<activity_id>/participants"): "write",
    ("GET", "/v1/activities/<activity_id>/participants"): "read",
    ("POST", "/v1/sync/activities"): "sync",
    ("POST", "/v1/surveys"): "write",
    ("GET", "/v1/surveys"): "read",
    ("GET", "/v1/surveys/<survey_id>"): "read",
    ("PATCH", "/v1/surveys/<survey_id>"): "write",
    ("POST", "/v1/surveys/<survey_id>/close"): "write",
    ("POST", "/v1/surveys/<survey_id>/invitations"): "write",
    ("GET", "/v1/surveys/<survey_id>/invitations"): "read",
    ("GET", "/v1/surveys/<survey_id>/results"): ("analytics", "read"),
    ("GET", "/v1/surveys/<survey_id>/write-ins"): "read",
    ("POST", "/v1/surveys/<survey_id>/write-ins/<write_in_id>"): "admin",
    ("GET", "/v1/analytics/layout"): "analytics",
    ("GET", "/v1/analytics/map.svg"): "analytics",
    ("GET", "/v1/analytics/map.png"): "analytics",
    ("GET", "/v1/members/duplicates"): "read",
    ("POST", "/v1/members/<member_id>/merge"): "write",
    ("GET", "/v1/vocabularies"): "read",
    ("GET", "/v1/vocabularies/<name>"): "read",
    ("PUT", "/v1/vocabularies/<name>"): "admin",
    ("POST", "/v1/vocabularies/<name>/merge"): "admin",
    ("GET", "/v1/attributes"): "read",
    ("GET", "/v1/attributes/<target>/<name>"): "read",
    ("PUT", "/v1/attributes/<target>/<name>"): "admin",
    ("DELETE", "/v1/attributes/<target>/<name>"): "admin",
    ("GET", "/v1/alerts"): "read",
    ("GET", "/v1/alerts/settings"): ("read", "admin"),
    ("PUT", "/v1/alerts/settings"): "admin",
    ("POST", "/v1/webhooks"): "admin",
    ("GET", "/v1/webhooks"): "admin",
    ("GET", "/v1/webhooks/<webhook_id>"): "admin",
    ("PATCH", "/v1/webhooks/<webhook_id>"): "admin",
    ("DELETE", "/v1/webhooks/<webhook_id>"): "admin",
    ("POST", "/v1/webhooks/<webhook_id>/rotate"): "admin",
    ("GET", "/v1/webhooks/<webhook_id>/deliveries"): "admin",
    ("GET", "/v1/webhooks/<webhook_id>/deliveries/<delivery_id>"): "admin",
    ("POST", "/v1/webhooks/<webhook_id>/deliveries/<delivery_id>/retry"): "admin",
}


# Routes that answer without a key: probes, the API document and its viewer. Nothing here holds data.
PUBLIC_ROUTES = {
    ("GET", "/healthz"),
    ("GET", "/readyz"),
    ("GET", "/openapi.yaml"),
    ("GET", "/openapi.json"),
    ("GET", "/docs"),
    ("GET", "/docs/assets/<path:filename>"),
    ("GET", "/static/<path:filename>"),
    ("GET", "/explorer"),                      # a static page: its data calls need a key
    ("GET", "/explorer/assets/<name>"),
    ("GET", "/metrics"),                       # no key, but only to NETWEAVE_METRICS_ALLOW (tested apart)
    ("GET", "/respond/<token>"),               # the hosted check-in page: static; its calls carry the token
    ("GET", "/respond/assets/<name>"),
}
# Answering a check-in: no key, the invitation's token in the path is the credential (tests/service/test_surveys.py).
TOKEN_ROUTES = {("GET", "/v1/respond/<token>"), ("PUT", "/v1/respond/<token>")}
PUBLIC_EXAMPLES = {"/respond/<token>": "/respond/nwr_not-a-real-token",
                   "/respond/assets/<name>": "/respond/assets/respond.js",
                   "/docs/assets/<path:filename>": "/docs/assets/swagger-ui.css",
                   "/static/<path:filename>": "/static/no-such-file.css",
                   "/explorer/assets/<name>": "/explorer/assets/explorer.js"}

# The operations whose answers hold members (so, with `pii`, their emails); every other answer never does.
# Recommendations name candidates without their email even for `pii` keys (the candidate row omits it).
SHOWS_MEMBERS = {
    ("POST", "/v1/members"),
    ("GET", "/v1/members"),
    ("GET", "/v1/members/<member:member_id>"),
    ("PATCH", "/v1/members/<member:member_id>"),
    ("GET", "/v1/members/<member_id>/network"),
    ("GET", "/v1/organizations/<organization_id>/members"),
    ("GET", "/v1/analytics/bridges"),
    ("GET", "/v1/analytics/clusters"),
    ("GET", "/v1/analytics/clusters/<cluster_id>"),
    ("GET", "/v1/analytics/reach"),
    ("GET", "/v1/export"),
}


def _concrete(rule: str) -> str:
    return re.sub(r"<[^>]+>", ANY_ID, rule)  # <converter:name> too


def test_every_route_is_in_the_authorization_matrix(app):
    """A new route fails here until it is given a scope (ROUTE_SCOPES) or declared public (PUBLIC_ROUTES)."""
    served = {(method, rule.rule) for rule in app.url_map.iter_rules()
              for method in rule.methods - {"HEAD", "OPTIONS"}}
    assert not set(ROUTE_SCOPES) & PUBLIC_ROUTES
    known = set(ROUTE_SCOPES) | PUBLIC_ROUTES | TOKEN_ROUTES
    assert served == known, f"not in the matrix: {sorted(served - known)}; gone: {sorted(known - served)}"
    assert SHOWS_MEMBERS <= set(ROUTE_SCOPES)


@pytest.mark.parametrize("method, rule", sorted(PUBLIC_ROUTES))
def test_public_route_answers_without_a_key(client, method, rule):
    with client.open(PUBLIC_EXAMPLES.get(rule, rule), method=method) as response:
        assert response.status_code == (404 if rule.startswith("/static/") else 200)


@pytest.mark.parametrize("method, rule", sorted(TOKEN_ROUTES))
def test_token_route_without_a_valid_token_is_404_whatever_the_key(api, method, rule):
    for caller in (api.with_key(None), api):
        response = caller.request(method, rule.replace("<token>", "nwr_" + "a" * 43),
                                  json={"answers": [], "submit": False})
        assert response.status_code == 404 and response.mimetype == "application/problem+json"


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


# --- personal data: emails only for keys with `pii` -------------------------------------------

EMAILS = {"Ada": "ada@example.org", "Grace": "grace@example.org", "Linus": "linus@example.org",
          "Margaret": "margaret@example.org"}


@pytest.fixture
def network(api, new_member, new_organization, new_collaboration):
    """Members with emails in one organization, Ada-Grace-Linus tied in a line (Ada's recommendation: Linus),
    Margaret untied and introduced to Linus."""
    ada, grace, linus, margaret = (new_member(name, email=email, topics=["math"]) for name, email in EMAILS.items())
    organization = new_organization(topics=["math"])
    for member in (ada, grace, linus):
        api.put(f"/v1/members/{member['id']}/affiliations/{organization['id']}", json={"role": "member"})
    collaboration = new_collaboration(ada, grace)
    new_collaboration(grace, linus)
    introduction = api.post("/v1/introductions", json={"member_ids": [margaret["id"], linus["id"]]}).get_json()
    clusters = api.get("/v1/analytics/clusters").get_json()
    survey = api.post("/v1/surveys", json={"title": "Check-in", "closes_at": "2100-01-01T00:00:00Z", "questions": [
        {"id": "advice", "type": "names", "prompt": "Who?", "tie_kind": "advice", "roster": {"all": True}}]}).get_json()
    token = api.post(f"/v1/surveys/{survey['id']}/invitations",
                     json={"member_ids": [ada["id"], grace["id"]]}).get_json()["items"][0]["token"]
    answered = api.with_key(None).put(f"/v1/respond/{token}", json={"submit": True, "answers": [
        {"question_id": "advice", "named": [{"member_id": grace["id"]}], "write_ins": ["Someone"]}]})
    assert answered.status_code == 200
    return {"survey_id": survey["id"], "write_in_id": ANY_ID, "activity_id": ANY_ID,"member_id": ada["id"], "organization_id": organization["id"], "collaboration_id": collaboration["id"],
            "introduction_id": introduction["id"], "key_id": auth.BOOTSTRAP_KEY_ID,
            "cluster_id": clusters["clusters"][0]["id"], "run_id": ANY_ID, "name": "member_role", "target": "member",
            "webhook_id": ANY_ID, "delivery_id": ANY_ID}


def _path(rule: str, ids: dict[str, str]) -> str:
    path = re.sub(r"<(?:[^:>]+:)?([^>]+)>", lambda m: ids[m.group(1)], rule)
    query = {"/compare": "?from=2000-01-01&to=2100-01-01", "/v1/export": "?format=json", "/segments": "?by=region"}
    return path + next((q for suffix, q in query.items() if rule.endswith(suffix)), "")


def _with_and_without_pii(make_key, method, rule):
    scopes = _accepted(method, rule)
    return make_key(*scopes), make_key(*scopes, "pii")


@pytest.mark.parametrize("rule", sorted(rule for method, rule in ROUTE_SCOPES if method == "GET"))
def test_reads_show_emails_only_to_keys_with_pii(api, make_key, network, rule):
    plain, with_pii = _with_and_without_pii(make_key, "GET", rule)
    without = api.with_key(plain).get(_path(rule, network))
    shown = api.with_key(with_pii).get(_path(rule, network))
    assert without.status_code == shown.status_code and without.status_code in (200, 404)
    assert not any(email.encode() in without.get_data() for email in EMAILS.values())   # bytes: pictures too
    if ("GET", rule) in SHOWS_MEMBERS:
        assert shown.status_code == 200
        assert any(email.encode() in shown.get_data() for email in EMAILS.values()), rule


def test_writes_show_the_email_only_to_keys_with_pii(api, make_key):
    plain, with_pii = _with_and_without_pii(make_key, "POST", "/v1/members")
    created = api.with_key(plain).post("/v1/members", json={"name": "Ada", "email": "ada@example.org"})
    assert created.status_code == 201 and "email" not in created.get_json()
    member_id = created.get_json()["id"]
    patched = api.with_key(plain).patch(f"/v1/members/{member_id}", json={"title": "Coach"},
                                        headers={"If-Match": created.headers["ETag"]})
    assert patched.status_code == 200 and "email" not in patched.get_json()
    shown = api.with_key(with_pii).patch(f"/v1/members/{member_id}", json={"title": "Principal"},
                                         headers={"If-Match": patched.headers["ETag"]})
    assert shown.get_json()["email"] == "ada@example.org"
    assert api.with_key(with_pii).post("/v1/members", json={"name": "Grace", "email": "grace@example.org"}
                                       ).get_json()["email"] == "grace@example.org"


def test_a_key_revoked_by_another_worker_stops_within_the_cache_time(app, api, graph, monkeypatch):
    """Workers keep live keys for NETWEAVE_KEY_CACHE_SECONDS: a revocation they did not make reaches them then."""
    from service.repositories import api_keys

    key = api_keys.create(graph, "partner app", ["read"])
    partner = api.with_key(key["secret"])
    assert partner.get("/v1/members").status_code == 200          # looked up, now cached by this worker
    graph.write(lambda tx: db.run_one(tx, "api_key_revoke", id=key["id"]))   # as another worker would
    assert partner.get("/v1/members").status_code == 200, "still trusted within the cache time"
    monkeypatch.setattr(app.extensions["netweave.key_cache"], "ttl", 0.2)
    time.sleep(0.25)
    assert partner.get("/v1/members").status_code == 401


def test_key_cache_seconds_is_checked_at_start_up():
    from service import config

    assert config.load({"NETWEAVE_KEY_CACHE_SECONDS": 0}, environ={})["NETWEAVE_KEY_CACHE_SECONDS"] == 0
    with pytest.raises(config.ConfigError, match="NETWEAVE_KEY_CACHE_SECONDS"):
        config.load({}, environ={"NETWEAVE_KEY_CACHE_SECONDS": "-1"})
