"""Webhook deliveries sent by `netweave worker` processes through the Redis queue, to a real receiver that
verifies every signature with the `standardwebhooks` package; and the faults: a worker killed in the middle of
a burst, and Neo4j killed and started again."""

from __future__ import annotations

import os
import signal
import threading
import time

import pytest

from service import create_app
from tests.conftest import ADMIN_SECRET, UNLIMITED, ApiClient
from tests.support import WebhookReceiver

WEBHOOK_KEY = "worker-test-webhook-key-" + "w" * 32
HOOKS = {"NETWEAVE_WEBHOOK_ALLOW_PRIVATE": "127.0.0.1", "NETWEAVE_WEBHOOK_KEY": WEBHOOK_KEY}
FAST = {**HOOKS, "NETWEAVE_WEBHOOK_POLL_SECONDS": "0.1", "NETWEAVE_WEBHOOK_BACKOFF_SECONDS": "0.1",
        "NETWEAVE_WEBHOOK_BACKOFF_MAX_SECONDS": "1", "NETWEAVE_WEBHOOK_TIMEOUT_SECONDS": "2",
        # No analytics of their own in these tests: the default reports would only compete for the CPU.
        "NETWEAVE_WORKER_DEBOUNCE_SECONDS": "3600", "NETWEAVE_WORKER_MAX_DELAY_SECONDS": "3600"}


@pytest.fixture
def receiver():
    server = WebhookReceiver()
    yield server
    server.down()


def _subscribe(api: ApiClient, receiver: WebhookReceiver, events: list[str]) -> dict:
    response = api.post("/v1/webhooks", json={"url": receiver.url, "events": events})
    assert response.status_code == 201, response.get_data(as_text=True)
    receiver.secrets.append(response.get_json()["secret"])
    return response.get_json()


def _wait(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"waited {timeout:.0f} s for {what}"
        time.sleep(0.05)


def test_the_worker_delivers_every_change_through_the_queue(app, api, monkeypatch, receiver, workers):
    for name, value in HOOKS.items():
        monkeypatch.setitem(app.config, name, value)
    app.extensions.pop("netweave.webhook_sealer", None)
    try:
        _delivered_through_the_queue(api, receiver, workers)
    finally:
        app.extensions.pop("netweave.webhook_sealer", None)    # sealed under this test's key


def _delivered_through_the_queue(api, receiver, workers) -> None:
    hook = _subscribe(api, receiver, ["member.*", "alert.*"])
    workers(**FAST)
    written = time.monotonic()
    ada = api.post("/v1/members", json={"name": "Ada"}).get_json()
    _wait(lambda: receiver.types() == ["member.created"], 30, "the first event")
    lag = time.monotonic() - written
    records = [{"external_id": f"m{i}", "name": f"Member {i:04d}"} for i in range(1000)]
    assert api.post("/v1/sync/members", json={"source": "crm", "records": records}).status_code == 200
    assert api.patch(f"/v1/members/{ada['id']}", json={"title": "Coach"},
                     headers={"If-Match": '"1"'}).status_code == 200
    _wait(lambda: len(receiver.events) == 1002, 60, "the sync's events")
    assert receiver.types() == ["member.created"] * 1001 + ["member.updated"]
    assert sorted(e["data"]["name"] for e in receiver.events[1:1001]) == [r["name"] for r in records]
    assert receiver.unverified == 0 and receiver.duplicates_skipped == 0
    assert len(receiver.deliveries) <= 1 + 10 + 1          # grouped: 100 events a delivery at most
    assert lag < 10, lag
    assert api.get(f"/v1/webhooks/{hook['id']}").get_json()["pending"] is None


@pytest.mark.slow
def test_every_acknowledged_write_is_delivered_across_a_killed_worker_and_a_restarted_neo4j(
        own_neo4j, receiver, workers):
    """Writes go on while a worker is SIGKILLed in the middle of a delivery burst and Neo4j is SIGKILLed
    and started again; afterwards every event of every acknowledged write has arrived, once, in order."""
    from service.cli import neo4j_local

    data, running = own_neo4j
    port = int(running.uri.rsplit(":", 1)[1])
    app = create_app({"NEO4J_URI": running.uri, "NETWEAVE_ADMIN_KEY": ADMIN_SECRET, "NEO4J_RETRY_SECONDS": 2.0,
                      "NEO4J_CONNECT_TIMEOUT": 1.0, "NETWEAVE_RATE_LIMITS": UNLIMITED, "TESTING": True, **HOOKS})
    api = ApiClient(app.test_client(), ADMIN_SECRET)
    try:
        _subscribe(api, receiver, ["member.created"])
        env = {**FAST, "NEO4J_URI": running.uri, "NETWEAVE_WEBHOOK_BATCH_EVENTS": "20", "NEO4J_RETRY_SECONDS": "2",
               "NEO4J_CONNECT_TIMEOUT": "1"}
        doomed, survivor = workers(**env), workers(**env)
        acknowledged: list[str] = []

        def writer():
            for batch in range(12):
                records = [{"external_id": f"b{batch}-{i}", "name": f"Member {batch:02d}-{i:03d}"} for i in range(100)]
                headers = {"Idempotency-Key": f"webhook-fault-{batch}"}
                deadline = time.monotonic() + 180
                while time.monotonic() < deadline:
                    response = api.post("/v1/sync/members", json={"source": "crm", "records": records},
                                        headers=headers)
                    if response.status_code == 200:
                        acknowledged.extend(r["name"] for r in records)
                        break
                    assert response.status_code in (409, 503), response.get_data(as_text=True)
                    time.sleep(0.5)
                time.sleep(0.2)

        thread = threading.Thread(target=writer)
        thread.start()
        _wait(lambda: len(receiver.events) >= 100, 60, "the burst to start")
        doomed.send_signal(signal.SIGKILL)
        _wait(lambda: len(receiver.events) >= 400, 90, "the surviving worker to go on")
        os.kill(running.pid, signal.SIGKILL)
        time.sleep(2)
        neo4j_local.start(port=port, data_dir=data)
        thread.join(300)
        assert not thread.is_alive() and len(acknowledged) == 1200
        _wait(lambda: len(receiver.events) >= len(acknowledged), 180, "every acknowledged write's event")
        time.sleep(1)
        names = [event["data"]["name"] for event in receiver.events]
        assert sorted(names) == sorted(acknowledged)                 # each once: none lost, none processed twice
        seqs = [event["seq"] for event in receiver.events]
        assert seqs == sorted(seqs)                                  # in order
        assert receiver.unverified == 0
        assert survivor.poll() is None
    finally:
        app.extensions["netweave.graph"].close()
