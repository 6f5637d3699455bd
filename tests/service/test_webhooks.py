"""Webhooks: endpoints, the URL rules, and deliveries to a real HTTP receiver on 127.0.0.1 that verifies
every signature with the `standardwebhooks` package. Deliveries are sent here by service/webhooks/delivery.py's
Deliverer in the test process (what `netweave worker` runs per queue message); the queue and worker
processes around it are tested in tests/analytics/test_webhook_worker.py."""

from __future__ import annotations

import json
import socket
import threading
import time

import pytest

from service import db
from service.webhooks import outbound
from service.webhooks.delivery import Deliverer, DeliverySettings, listens
from service.webhooks.sealing import Sealer, sealer
from tests.conftest import run_test_query
from tests.support import WebhookReceiver

WEBHOOK_KEY = "test-webhook-key-" + "k" * 32
LOCAL = "127.0.0.1"


@pytest.fixture
def hooks_app(app, monkeypatch):
    """The session app with webhooks to 127.0.0.1 allowed and a sealing key of its own."""
    monkeypatch.setitem(app.config, "NETWEAVE_WEBHOOK_ALLOW_PRIVATE", LOCAL)
    monkeypatch.setitem(app.config, "NETWEAVE_WEBHOOK_KEY", WEBHOOK_KEY)
    app.extensions.pop("netweave.webhook_sealer", None)
    yield app
    app.extensions.pop("netweave.webhook_sealer", None)


@pytest.fixture
def receiver():
    server = WebhookReceiver(slow_seconds=1.5)
    yield server
    try:
        server.down()
    except Exception:
        pass


@pytest.fixture
def deliverer(graph):
    """deliverer(**settings) -> the Deliverer `netweave worker` runs, with fast backoff for tests."""
    def make(**overrides) -> Deliverer:
        settings = {"allow": outbound.allow_list(LOCAL), "timeout": 1.0, "max_response_bytes": 65_536,
                    "batch_events": 100, "batch_bytes": 262_144, "backoff_seconds": 0.05,
                    "backoff_max_seconds": 0.2, "give_up_seconds": 3600.0, "retention_days": 7, **overrides}
        return Deliverer(graph, DeliverySettings(**settings), sealer(graph, WEBHOOK_KEY))

    return make


def subscribe(api, receiver, events=("*",), **body):
    response = api.post("/v1/webhooks", json={"url": receiver.url, "events": list(events), **body})
    assert response.status_code == 201, response.get_data(as_text=True)
    hook = response.get_json()
    receiver.secrets.append(hook["secret"])
    return hook


def drain(deliverer: Deliverer, timeout: float = 30.0) -> None:
    """Sends until no endpoint has anything waiting (waiting out backoffs), as the worker's polls would."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        due = deliverer.due()
        if not due and not _waiting(deliverer.graph):
            return
        for webhook_id in due:
            deliverer.run(webhook_id, 5.0)
        time.sleep(0.02)
    raise AssertionError("deliveries still waiting after the timeout")


def _waiting(graph) -> bool:
    """An enabled endpoint holding a delivery under way (perhaps in backoff)."""
    rows = graph.read(lambda tx: list(tx.run("MATCH (w:Webhook) WHERE w.enabled AND w.pending IS NOT NULL "
                                             "RETURN count(w) AS n")))
    return rows[0]["n"] > 0


# --- endpoints ------------------------------------------------------------------------------------------

def test_the_secret_is_shown_once_and_stored_sealed(hooks_app, api, receiver, graph):
    hook = subscribe(api, receiver, ["member.*", "alert.*"], description="CRM")
    assert hook["secret"].startswith("whsec_") and len(hook["secret"]) > 40
    assert hook["enabled"] is True and hook["pii"] is True and hook["events"] == ["member.*", "alert.*"]
    shown = api.get(f"/v1/webhooks/{hook['id']}")
    assert shown.status_code == 200 and "secret" not in shown.get_json()
    assert shown.headers["ETag"] == '"1"'
    assert [item["id"] for item in api.get("/v1/webhooks").get_json()["items"]] == [hook["id"]]
    stored = graph.read(lambda tx: tx.run("MATCH (w:Webhook {id: $id}) RETURN w.secret AS s", id=hook["id"]).single())
    assert hook["secret"] not in stored["s"] and hook["secret"][6:] not in stored["s"]
    assert Sealer(WEBHOOK_KEY.encode()).open(stored["s"]) == hook["secret"]
    with pytest.raises(ValueError):
        Sealer(b"another key of thirty-two characters").open(stored["s"])


def test_only_admin_keys_manage_webhooks(hooks_app, api, make_key, receiver):
    for scopes in (("read",), ("write", "sync", "pii", "analytics")):
        other = api.with_key(make_key(*scopes))
        assert other.post("/v1/webhooks", json={"url": receiver.url, "events": ["*"]}).status_code == 403
        assert other.get("/v1/webhooks").status_code == 403
    assert api.with_key(None).get("/v1/webhooks").status_code == 401


@pytest.mark.parametrize("url, reason", [
    ("http://example.org/hooks", "https"),
    ("https://127.0.0.1/hooks", "loopback"),
    ("https://10.1.2.3/hooks", "private"),
    ("https://169.254.169.254/latest/meta-data", "link-local"),
    ("https://[::1]/hooks", "loopback"),
    ("https://[::ffff:10.0.0.1]/hooks", "private"),
    ("https://user:pw@example.org/hooks", "credentials"),
    ("ftp://example.org/hooks", "https"),
    ("https:///nohost", "host"),
])
def test_urls_refused_at_creation_name_the_field(app, api, url, reason):
    response = api.post("/v1/webhooks", json={"url": url, "events": ["*"]})
    assert response.status_code == 422, url
    problem = response.get_json()
    assert response.mimetype == "application/problem+json"
    assert problem["errors"][0]["field"] == "url" and reason in problem["errors"][0]["messages"][0]


def test_the_allow_list_lets_listed_addresses_use_http(hooks_app, api, receiver):
    assert api.post("/v1/webhooks", json={"url": receiver.url, "events": ["*"]}).status_code == 201
    # Listed addresses only: another private one is still refused.
    refused = api.post("/v1/webhooks", json={"url": "http://10.0.0.7/hooks", "events": ["*"]})
    assert refused.status_code == 422 and refused.get_json()["errors"][0]["field"] == "url"


@pytest.mark.parametrize("events, field", [
    ([], "events"), (["member.renamed"], "events.0"), (["*", "member.created", "nope"], "events.2"),
    (["member.*", "member.*"], "events"), (["introduction.deleted"], "events.0"), ("member.*", "events")])
def test_event_patterns_are_checked(hooks_app, api, receiver, events, field):
    response = api.post("/v1/webhooks", json={"url": receiver.url, "events": events})
    assert response.status_code == 422
    assert response.get_json()["errors"][0]["field"] == field


def test_patterns_match_as_documented():
    assert listens(["*"], "alert.silo") and listens(["member.*"], "member.deleted")
    assert not listens(["member.*"], "membership.created") and not listens(["member.created"], "member.updated")
    assert listens(["alert.*"], "alert.cut_point.new") and not listens(["alert.*"], "member.created")


def test_update_and_delete_take_if_match(hooks_app, api, receiver, graph):
    hook = subscribe(api, receiver)
    path = f"/v1/webhooks/{hook['id']}"
    assert api.patch(path, json={"events": ["member.*"]}).status_code == 428
    assert api.patch(path, json={"events": ["member.*"]}, headers={"If-Match": '"7"'}).status_code == 412
    changed = api.patch(path, json={"events": ["member.*"], "description": "only members"},
                        headers={"If-Match": '"1"'})
    assert changed.status_code == 200 and changed.get_json()["events"] == ["member.*"]
    assert changed.headers["ETag"] == '"2"'
    bad = api.patch(path, json={"url": "http://10.9.9.9/"}, headers={"If-Match": '"2"'})
    assert bad.status_code == 422 and bad.get_json()["errors"][0]["field"] == "url"
    assert api.patch(path, json={}, headers={"If-Match": '"2"'}).status_code == 422
    assert api.delete(path).status_code == 428
    assert api.delete(path, headers={"If-Match": '"2"'}).status_code == 204
    assert api.get(path).status_code == 404
    assert api.get("/v1/webhooks/00000000-0000-4000-8000-000000000000/deliveries").status_code == 404


# --- deliveries -----------------------------------------------------------------------------------------

def test_each_change_arrives_once_as_its_event(hooks_app, api, receiver, deliverer, new_member, new_organization):
    subscribe(api, receiver)
    ada, bo = new_member("Ada", email="ada@example.org"), new_member("Bo")
    org = new_organization("Riverside")
    assert api.patch(f"/v1/members/{ada['id']}", json={"title": "Coach"},
                     headers={"If-Match": '"1"'}).status_code == 200
    assert api.put(f"/v1/members/{ada['id']}/affiliations/{org['id']}", json={"role": "staff"}).status_code == 201
    assert api.put(f"/v1/members/{ada['id']}/affiliations/{org['id']}", json={"role": "lead"}).status_code == 200
    tie = api.post("/v1/collaborations", json={"source_id": ada["id"], "target_id": bo["id"], "kind": "project"})
    assert api.patch(f"/v1/collaborations/{tie.get_json()['id']}", json={"strength": 3},
                     headers={"If-Match": '"1"'}).status_code == 200
    assert api.patch(f"/v1/organizations/{org['id']}", json={"region": "North"},
                     headers={"If-Match": '"1"'}).status_code == 200
    carl = new_member("Carl")
    intro = api.post("/v1/introductions", json={"member_ids": [bo["id"], carl["id"]]})
    assert intro.status_code == 201, intro.get_data(as_text=True)
    assert api.patch(f"/v1/introductions/{intro.get_json()['id']}", json={"status": "accepted"},
                     headers={"If-Match": '"1"'}).status_code == 200
    assert api.delete(f"/v1/members/{ada['id']}/affiliations/{org['id']}").status_code == 204
    assert api.delete(f"/v1/collaborations/{tie.get_json()['id']}", headers={"If-Match": '"2"'}).status_code == 204
    assert api.delete(f"/v1/organizations/{org['id']}", headers={"If-Match": '"2"'}).status_code == 204
    assert api.delete(f"/v1/members/{ada['id']}", headers={"If-Match": '"2"'}).status_code == 204
    drain(deliverer())
    assert receiver.types() == [
        "member.created", "member.created", "organization.created", "member.updated", "affiliation.created",
        "affiliation.updated", "collaboration.created", "collaboration.updated", "organization.updated",
        "member.created", "introduction.created", "collaboration.created", "introduction.updated",
        "affiliation.deleted", "collaboration.deleted", "organization.deleted", "member.deleted"]
    feed = api.get("/v1/changes").get_json()["items"]
    assert [event["seq"] for event in receiver.events] == [entry["seq"] for entry in feed]
    assert len({event["id"] for event in receiver.events}) == len(receiver.events)
    assert receiver.unverified == 0 and receiver.duplicates_skipped == 0
    # Payloads are the resources as they are when the delivery is made: Ada is gone by then.
    first = receiver.events[0]
    assert first["data"] == {"id": ada["id"]} and first["current"] is False
    deleted = receiver.events[-1]
    assert deleted["data"] == {"id": ada["id"]} and deleted["current"] is True
    bo_created = receiver.events[1]
    assert bo_created["data"]["name"] == "Bo" and bo_created["current"] is True
    assert bo_created["data"]["version"] == 1 and bo_created["source"] == "api"


def test_an_endpoint_made_without_pii_gets_no_personal_data(hooks_app, api, make_key, receiver, deliverer,
                                                              new_member):
    admin_only = api.with_key(make_key("admin"))
    hook = subscribe(admin_only, receiver, ["member.*"])
    assert hook["pii"] is False
    with_pii = WebhookReceiver()
    try:
        assert subscribe(api, with_pii, ["member.*"])["pii"] is True
        new_member("Ada", email="ada@example.org")
        drain(deliverer())
    finally:
        with_pii.down()
    (event,) = receiver.events
    assert event["data"]["name"] == "Ada" and "email" not in event["data"]
    (seen,) = with_pii.events
    assert seen["data"]["email"] == "ada@example.org"


def test_a_sync_of_a_thousand_records_arrives_in_a_few_grouped_deliveries(hooks_app, api, receiver, deliverer):
    hook = subscribe(api, receiver, ["member.created"])
    records = [{"external_id": f"m{i}", "name": f"Member {i:04d}"} for i in range(1000)]
    assert api.post("/v1/sync/members", json={"source": "crm", "records": records}).status_code == 200
    drain(deliverer(batch_events=100))
    assert len(receiver.deliveries) == 10
    assert receiver.types() == ["member.created"] * 1000
    assert sorted(event["data"]["name"] for event in receiver.events) == [r["name"] for r in records]
    seqs = [event["seq"] for event in receiver.events]
    assert seqs == sorted(seqs) and len(set(seqs)) == 1000
    listed = api.get(f"/v1/webhooks/{hook['id']}/deliveries?limit=100").get_json()["items"]
    assert len(listed) == 10 and {d["event_count"] for d in listed} == {100}
    assert all(d["status"] == "delivered" and d["attempts"][0]["status_code"] == 204 for d in listed)


def test_a_size_cap_splits_deliveries_and_events_it_does_not_listen_to_move_the_cursor(
        hooks_app, api, receiver, deliverer, new_member, new_organization):
    hook = subscribe(api, receiver, ["organization.created"])
    for i in range(5):
        new_member(f"M{i}")
    new_organization("Only this one")
    drain(deliverer(batch_bytes=4096))
    assert receiver.types() == ["organization.created"]
    state = api.get(f"/v1/webhooks/{hook['id']}").get_json()
    assert state["cursor"] == api.get("/v1/changes").get_json()["items"][-1]["seq"] and state["pending"] is None
    receiver.events.clear()
    records = [{"external_id": f"o{i}", "name": f"Org {i:02d} " + "x" * 190} for i in range(12)]
    assert api.post("/v1/sync/organizations", json={"source": "crm", "records": records}).status_code == 200
    before = len(receiver.deliveries)
    drain(deliverer(batch_bytes=1500))
    assert receiver.types() == ["organization.created"] * 12
    assert sorted(event["data"]["name"] for event in receiver.events) == [r["name"] for r in records]
    sizes = [len(json.dumps(event, separators=(",", ":"))) for event in receiver.events]
    assert 500 < min(sizes) and max(sizes) < 1500
    # Each delivery's events fit in 1,500 bytes (its envelope aside), so no more than two of these a delivery.
    assert len(receiver.deliveries) - before >= 6
    assert all(d["bytes"] < 1500 + 400 for d in receiver.deliveries[before:])


def test_a_receiver_down_then_failing_then_slow_gets_every_event_once_in_order(
        hooks_app, api, receiver, deliverer, new_member):
    hook = subscribe(api, receiver, ["member.*"])
    receiver.down()
    names = [f"Member {i}" for i in range(6)]
    sender = deliverer(batch_events=2)
    new_member(names[0])
    new_member(names[1])
    sender.run(hook["id"], 2.0)                                      # refused: connection refused
    receiver.up()
    receiver.answers = ["500", "timeout", "500"]
    for name in names[2:]:
        new_member(name)
    drain(sender)
    assert [event["data"]["name"] for event in receiver.events] == names
    # The slow answer's call was processed when its handler woke (perhaps after the resend): once.
    deadline = time.monotonic() + 5
    while receiver.duplicates_skipped == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert receiver.duplicates_skipped == 1
    assert [event["data"]["name"] for event in receiver.events] == names
    assert receiver.unverified == 0
    first = api.get(f"/v1/webhooks/{hook['id']}/deliveries?limit=10").get_json()["items"][-1]
    assert [a["status_code"] for a in first["attempts"]] == [None, 500, None, 500, 204]
    assert "refused" in first["attempts"][0]["error"].lower() or "connection" in first["attempts"][0]["error"].lower()
    assert "within" in first["attempts"][2]["error"]
    state = api.get(f"/v1/webhooks/{hook['id']}").get_json()
    assert state["failures"] == 0 and state["failing_since"] is None and state["enabled"] is True


def test_redirects_are_not_followed(hooks_app, api, receiver, deliverer, new_member):
    hook = subscribe(api, receiver, ["member.*"])
    receiver.answers = ["redirect"]
    new_member("Ada")
    drain(deliverer())
    (delivery,) = api.get(f"/v1/webhooks/{hook['id']}/deliveries").get_json()["items"]
    assert [a["status_code"] for a in delivery["attempts"]] == [307, 204]
    assert delivery["attempts"][0]["error"] == "redirects are not followed"
    assert receiver.types() == ["member.created"]


def _resolving(monkeypatch, name: str, *addresses: str) -> None:
    """Makes `name` resolve to `addresses` (every other name as before), as a DNS answer would."""
    real = socket.getaddrinfo

    def fake(host, port, *args, **kwargs):
        if host != name:
            return real(host, port, *args, **kwargs)
        return [(socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port))
                for a in addresses]

    monkeypatch.setattr(socket, "getaddrinfo", fake)


def test_a_name_resolving_to_a_private_address_is_refused_at_delivery(app, receiver, monkeypatch):
    for addresses in (("127.0.0.1",), ("10.1.2.3",), ("169.254.169.254",), ("::1",), ("fd00::1",),
                      ("93.184.216.34", "127.0.0.1")):           # one private address among public ones is enough
        _resolving(monkeypatch, "hooks.example.test", *addresses)
        outcome = outbound.post(f"https://hooks.example.test:{receiver.port}/hooks", b"{}", {}, allow=(),
                                timeout=1.0, max_response_bytes=100)
        assert not outcome.ok and outcome.status is None, addresses
        assert "private, link-local or reserved address" in outcome.error, (addresses, outcome.error)
    assert receiver.deliveries == []
    assert not outbound.public(outbound.ipaddress.ip_address("::ffff:169.254.169.254"))
    assert not outbound.public(outbound.ipaddress.ip_address("2002:a9fe:a9fe::"))     # 6to4 of 169.254.169.254
    assert not outbound.public(outbound.ipaddress.ip_address("100.64.0.1"))           # shared address space
    assert outbound.public(outbound.ipaddress.ip_address("8.8.8.8"))


def test_the_call_goes_to_the_address_that_was_checked_under_the_hosts_name(app, receiver, monkeypatch):
    """The name is resolved once, checked, and the connection made to that address: a second lookup (DNS
    rebinding) has no say. The request keeps the name in Host."""
    _resolving(monkeypatch, "hooks.example.test", "127.0.0.1")
    lookups = []
    resolved = socket.getaddrinfo
    monkeypatch.setattr(socket, "getaddrinfo", lambda host, *a, **k: (lookups.append(host), resolved(host, *a, **k))[1])
    outcome = outbound.post(f"http://hooks.example.test:{receiver.port}/hooks", b"{}", {},
                            allow=outbound.allow_list("127.0.0.1"), timeout=2.0, max_response_bytes=100)
    assert outcome.status == 401          # the receiver answered (no secret it knows signed this)
    assert [host for host in lookups if outbound.literal(host) is None] == ["hooks.example.test"]  # once
    assert receiver.deliveries[-1]["host"] == f"hooks.example.test:{receiver.port}"


@pytest.mark.parametrize("url", ["https://127.1/hooks", "https://2130706433/hooks", "https://0x7f000001/hooks",
                                 "https://[2002:a9fe:a9fe::]/latest"])
def test_numeric_and_tunnelled_forms_of_private_addresses_are_refused_at_creation(app, api, url):
    response = api.post("/v1/webhooks", json={"url": url, "events": ["*"]})
    assert response.status_code == 422 and response.get_json()["errors"][0]["field"] == "url"


def test_a_rotated_secret_signs_beside_the_old_one_for_the_grace_period(
        hooks_app, api, receiver, deliverer, new_member):
    hook = subscribe(api, receiver, ["member.*"])
    old = hook["secret"]
    rotated = api.post(f"/v1/webhooks/{hook['id']}/rotate", json={"grace_seconds": 3600})
    assert rotated.status_code == 200
    new = rotated.get_json()["secret"]
    assert new != old and new.startswith("whsec_") and rotated.get_json()["previous_secret_until"]
    receiver.secrets = [old, new]
    new_member("Ada")
    drain(deliverer())
    assert receiver.deliveries[-1]["verified"] == [old, new]       # a receiver knowing either one verifies
    ended = api.post(f"/v1/webhooks/{hook['id']}/rotate", json={"grace_seconds": 0}).get_json()
    receiver.secrets = [new, ended["secret"]]
    new_member("Bo")
    drain(deliverer())
    assert receiver.deliveries[-1]["verified"] == [ended["secret"]]  # the grace is over: only the newest signs
    assert len(receiver.deliveries[-1]["signature"].split(" ")) == 1


def test_an_endpoint_failing_too_long_is_disabled_with_an_alert_and_resumes_when_enabled(
        hooks_app, api, receiver, deliverer, new_member, graph):
    hook = subscribe(api, receiver, ["member.*"])
    receiver.answers = ["500"] * 1000
    new_member("Ada")
    sender = deliverer(give_up_seconds=1.0)
    deadline = time.monotonic() + 20
    while api.get(f"/v1/webhooks/{hook['id']}").get_json()["enabled"] and time.monotonic() < deadline:
        sender.run(hook["id"], 1.0)
        time.sleep(0.05)
    state = api.get(f"/v1/webhooks/{hook['id']}").get_json()
    assert state["enabled"] is False and "500" in state["disabled_reason"]
    alerts = graph.read(lambda tx: [dict(r) for r in tx.run(
        "MATCH (a:Alert {kind: 'webhook.disabled'}) RETURN a.subject AS subject")])
    assert alerts == [{"subject": hook["id"]}]
    assert sender.due() == []                                       # disabled: nothing is sent
    (failed,) = api.get(f"/v1/webhooks/{hook['id']}/deliveries").get_json()["items"]
    assert failed["status"] == "failed"
    assert api.post(f"/v1/webhooks/{hook['id']}/deliveries/{failed['id']}/retry").status_code == 409
    receiver.answers = []
    version = state["version"]
    resumed = api.patch(f"/v1/webhooks/{hook['id']}", json={"enabled": True}, headers={"If-Match": f'"{version}"'})
    assert resumed.status_code == 200 and resumed.get_json()["failures"] == 0
    drain(sender)
    assert receiver.types() == ["member.created"]


def test_a_past_delivery_is_replayed_with_its_own_id(hooks_app, api, receiver, deliverer, new_member):
    hook = subscribe(api, receiver, ["member.*"])
    new_member("Ada")
    drain(deliverer())
    (delivery,) = api.get(f"/v1/webhooks/{hook['id']}/deliveries").get_json()["items"]
    retried = api.post(f"/v1/webhooks/{hook['id']}/deliveries/{delivery['id']}/retry")
    assert retried.status_code == 202 and retried.get_json()["replay_requested"] is True
    drain(deliverer())
    assert [d["id"] for d in receiver.deliveries] == [delivery["id"], delivery["id"]]
    assert receiver.duplicates_skipped == 1 and receiver.types() == ["member.created"]
    again = api.get(f"/v1/webhooks/{hook['id']}/deliveries/{delivery['id']}").get_json()
    assert len(again["attempts"]) == 2 and again["replay_requested"] is False
    missing = api.post(f"/v1/webhooks/{hook['id']}/deliveries/00000000-0000-4000-8000-000000000000/retry")
    assert missing.status_code == 404


def test_a_new_endpoint_hears_only_of_what_comes_after_it(hooks_app, api, receiver, deliverer, new_member):
    new_member("Before")
    subscribe(api, receiver, ["member.*"])
    new_member("After")
    drain(deliverer())
    assert [event["data"]["name"] for event in receiver.events] == ["After"]


def test_deleting_an_endpoint_removes_its_deliveries(hooks_app, api, receiver, deliverer, new_member, graph):
    hook = subscribe(api, receiver, ["member.*"])
    new_member("Ada")
    drain(deliverer())
    assert api.delete(f"/v1/webhooks/{hook['id']}", headers={"If-Match": '"1"'}).status_code == 204
    left = graph.read(lambda tx: tx.run("MATCH (d:WebhookDelivery) RETURN count(d) AS n").single()["n"])
    assert left == 0


def test_alerts_are_delivered_to_endpoints_that_listen_to_them(hooks_app, api, receiver, deliverer, graph,
                                                              new_member):
    from service.repositories import alerts

    subscribe(api, receiver, ["alert.silo", "member.created"])
    new_member("Ada")
    graph.write(lambda tx: alerts.emit(tx, "broker.inactive", {"member_id": "x"}, subject="x"))
    graph.write(lambda tx: alerts.emit(tx, "silo", {"cluster_id": "c1", "ei_index": -0.9}, subject="c1"))
    drain(deliverer())
    assert receiver.types() == ["alert.silo", "member.created"]      # alerts never wait behind a long sync
    silo = receiver.events[0]
    assert silo["data"] == {"cluster_id": "c1", "ei_index": -0.9} and silo["subject"] == "c1"
    assert silo["id"].startswith("alt_")


def test_a_retried_create_or_rotation_applies_once_and_shows_the_secret_once(hooks_app, api, receiver, graph):
    body = {"url": receiver.url, "events": ["*"]}
    first = api.post("/v1/webhooks", json=body, headers={"Idempotency-Key": "create-hook-1"})
    again = api.post("/v1/webhooks", json=body, headers={"Idempotency-Key": "create-hook-1"})
    assert first.status_code == again.status_code == 201
    assert first.get_json()["secret"].startswith("whsec_") and "secret" not in again.get_json()
    assert again.get_json()["id"] == first.get_json()["id"] and again.headers["ETag"] == '"1"'
    assert len(api.get("/v1/webhooks").get_json()["items"]) == 1
    stored = graph.read(lambda tx: tx.run("MATCH (r:IdempotencyRecord) RETURN r.body AS body").value())
    assert stored and all(first.get_json()["secret"] not in (text or "") for text in stored)
    path = f"/v1/webhooks/{first.get_json()['id']}/rotate"
    rotated = api.post(path, json={"grace_seconds": 60}, headers={"Idempotency-Key": "rotate-1"})
    replayed = api.post(path, json={"grace_seconds": 60}, headers={"Idempotency-Key": "rotate-1"})
    assert rotated.status_code == replayed.status_code == 200 and "secret" not in replayed.get_json()
    assert rotated.get_json()["version"] == replayed.get_json()["version"] == 2
    assert api.get(f"/v1/webhooks/{first.get_json()['id']}").get_json()["version"] == 2


def test_two_runs_on_one_endpoint_at_once_send_each_event_once(hooks_app, api, receiver, deliverer):
    """What a lost endpoint lock allows (a run paused past the lock's expiry, a Redis failover): two senders
    at once. A delivery is made only from the cursor it was read at, so no event goes out under two ids."""
    subscribe(api, receiver, ["member.created"])
    records = [{"external_id": f"m{i}", "name": f"Member {i:03d}"} for i in range(300)]
    assert api.post("/v1/sync/members", json={"source": "crm", "records": records}).status_code == 200
    senders = [deliverer(batch_events=7) for _ in range(3)]
    threads = [threading.Thread(target=drain, args=(sender,)) for sender in senders]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    names = [event["data"]["name"] for event in receiver.events]
    assert sorted(names) == [r["name"] for r in records]           # each once, processed once
    seqs = [event["seq"] for event in receiver.events]
    assert seqs == sorted(seqs)                                    # in order
    made = api.get(f"/v1/webhooks/{receiver.secrets and _only_hook(api)}/deliveries?limit=100").get_json()["items"]
    assert sum(d["event_count"] for d in made) == 300 and all(d["status"] == "delivered" for d in made)


def _only_hook(api) -> str:
    (hook,) = api.get("/v1/webhooks").get_json()["items"]
    return hook["id"]


def test_a_batch_read_before_another_run_sent_it_is_not_stored_again(hooks_app, api, receiver, deliverer,
                                                                     new_member):
    hook = subscribe(api, receiver, ["member.*"])
    first, second = deliverer(), deliverer()
    new_member("Ada")
    store = second._store

    def late_store(webhook, batch, from_cursor):
        new_member("Bo")
        first.run(hook["id"], 5.0)                  # sends Ada and Bo, accepted, while `second` holds Ada
        return store(webhook, batch, from_cursor)

    second._store = late_store
    second.run(hook["id"], 5.0)
    drain(deliverer())
    assert [event["data"]["name"] for event in receiver.events] == ["Ada", "Bo"]


def test_a_long_pass_over_unwanted_entries_renews_the_lock_and_minds_the_budget(
        hooks_app, api, receiver, deliverer, new_member, monkeypatch):
    from service.webhooks import delivery as delivery_module

    hook = subscribe(api, receiver, ["alert.*"])
    for i in range(40):
        new_member(f"M{i}")
    monkeypatch.setattr(delivery_module, "SCAN", 5)
    sender = deliverer(batch_events=5)
    keeps, passes = [], []
    original = sender._pass
    sender._pass = lambda *args: (passes.append(args), original(*args))[1]
    sender.run(hook["id"], 60.0, keep=lambda: keeps.append(1))
    assert len(passes) == 8 and len(keeps) > len(passes)          # one renewal before each look
    passes.clear()
    for i in range(40):
        new_member(f"N{i}")
    sender.run(hook["id"], 0.0, keep=lambda: keeps.append(1))
    assert passes == []                                           # no time left: nothing scanned


def test_entries_removed_by_retention_before_a_paused_endpoint_got_them_arrive_as_a_gap(
        hooks_app, api, receiver, deliverer, new_member, graph):
    hook = subscribe(api, receiver, ["member.*"])
    assert api.patch(f"/v1/webhooks/{hook['id']}", json={"enabled": False}, headers={"If-Match": '"1"'}).status_code == 200
    new_member("Ada")
    new_member("Bo")
    head = api.get("/v1/changes").get_json()["items"][-1]["seq"]
    # Retention removed the feed up to Bo while the endpoint was paused (as change_purge records it).
    graph.write(lambda tx: tx.run("MATCH (c:Counter {name: 'changes'}) SET c.purged_through = $seq", seq=head).consume())
    try:
        assert api.patch(f"/v1/webhooks/{hook['id']}", json={"enabled": True},
                         headers={"If-Match": '"2"'}).status_code == 200
        new_member("Cy")
        drain(deliverer())
    finally:
        graph.write(lambda tx: tx.run("MATCH (c:Counter {name: 'changes'}) REMOVE c.purged_through").consume())
    assert receiver.types() == ["feed.gap", "member.created"]
    gap = receiver.events[0]["data"]
    assert gap["missed_to_seq"] == head and gap["missed_from_seq"] == hook["cursor"] + 1
    assert receiver.events[1]["data"]["name"] == "Cy"


def test_an_enabled_endpoint_holds_the_feed_entries_it_has_not_been_sent(hooks_app, api, receiver, new_member,
                                                                         graph):
    from service.repositories import changes

    new_member("Ada")                                     # before the endpoint: retention may take it
    hook = subscribe(api, receiver, ["member.*"])
    new_member("Bo")                                      # not sent yet: the endpoint holds it
    graph.write(lambda tx: tx.run("MATCH (c:Change) SET c.at = datetime() - duration({days: 400})").consume())
    try:
        removed = graph.write(lambda tx: db.run_one(tx, "change_purge", days=30, batch=1000)["purged"])
        assert removed == 1
        after = api.get(f"/v1/changes?since={changes.encode_seq(hook['cursor'])}").get_json()["items"]
        assert [entry["seq"] for entry in after] == [hook["cursor"] + 1]
    finally:
        graph.write(lambda tx: tx.run("MATCH (c:Counter {name: 'changes'}) REMOVE c.purged_through").consume())


def _post_to_a_dripping_receiver(scheme: str, answer) -> tuple[outbound.Outcome, list[bytes]]:
    """(the outcome of a delivery call with a 1 s cap to a raw-socket receiver on 127.0.0.1, what the
    receiver read first): `answer(connection, stop)` sends the receiver's side slowly, for up to 8 s or until
    `stop` is set; the caller hanging up ends it."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    stop = threading.Event()
    received = []

    def serve():
        connection, _ = server.accept()
        with connection:
            received.append(connection.recv(65536))
            try:
                answer(connection, stop)
            except OSError:
                pass                             # the caller hung up: what is expected

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        outcome = outbound.post(f"{scheme}://127.0.0.1:{server.getsockname()[1]}/hooks", b"{}", {},
                                allow=outbound.allow_list("127.0.0.1"), timeout=1.0, max_response_bytes=100_000)
    finally:
        stop.set()
        thread.join(10)
        server.close()
    return outcome, received


def _drip(connection, stop: threading.Event, first: bytes, each: bytes, last: bytes = b"") -> None:
    """Sends `first`, then `each` every 0.2 s for 8 s (until `stop`), then `last`."""
    deadline = time.monotonic() + 8
    connection.sendall(first)
    while time.monotonic() < deadline and not stop.is_set():
        connection.sendall(each)
        time.sleep(0.2)
    connection.sendall(last)


def test_an_endpoint_dripping_its_answer_is_cut_off_at_the_time_cap(app):
    """Headers sent a byte every 0.2 s keep each read under the read timeout; the call still ends at the cap
    (1 s here), not when the endpoint is done (8 s)."""
    outcome, _ = _post_to_a_dripping_receiver("http", lambda connection, stop: _drip(
        connection, stop, b"HTTP/1.1 200 OK\r\n", b"X-Drip: x\r\n", b"Content-Length: 0\r\n\r\n"))
    assert not outcome.ok and outcome.error == "no whole answer within 1 s", outcome
    assert outcome.seconds < 2.5, outcome


def test_an_endpoint_dripping_its_tls_handshake_is_cut_off_at_the_time_cap(app):
    """A receiver that answers the TLS ClientHello with a handshake record a byte every 0.2 s keeps each read
    of the handshake under the read timeout; the call still ends at the cap (1 s here), not after 8 s. Two
    things hold it there: the deadline timer shuts the TCP socket down, and CPython's ssl module bounds a
    whole handshake by the socket's timeout (with the timer removed, this call ends at 1.03 s with urllib3's
    "no answer"), so either failure is the expected one."""
    # A handshake record of 16 KiB is announced, then comes a byte at a time.
    outcome, hello = _post_to_a_dripping_receiver("https", lambda connection, stop: _drip(
        connection, stop, b"\x16\x03\x03\x40\x00", b"\x02"))
    assert hello and hello[0][:1] == b"\x16", hello     # the caller did start a TLS handshake
    assert not outcome.ok and outcome.error in ("no whole answer within 1 s", "no answer within 1 s"), outcome
    assert outcome.seconds < 2.5, outcome
