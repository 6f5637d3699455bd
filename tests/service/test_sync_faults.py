"""A large sync survives Neo4j being killed in the middle: retries with the same Idempotency-Key
end with every record there exactly once and a change feed without gaps."""

import os
import signal
import tempfile
import threading
import time
from pathlib import Path

import pytest

from service import create_app, neo4j_local
from tests.conftest import ADMIN_SECRET

BATCHES, BATCH_SIZE = 6, 1000


@pytest.fixture
def own_neo4j():
    """A Neo4j of this test's own, on a fixed port, so it can be killed and started again."""
    data = Path(tempfile.mkdtemp(prefix="netweave-fault-"))
    running = neo4j_local.start(port=0, data_dir=data)
    yield data, running
    neo4j_local.stop(data)


def _send_until_answered(client, batch_number, log):
    records = [{"external_id": f"m{batch_number}-{i}", "name": f"Member {batch_number}-{i}",
                "topics": ["literacy"]} for i in range(BATCH_SIZE)]
    headers = {"Authorization": f"Bearer {ADMIN_SECRET}", "Idempotency-Key": f"import-batch-{batch_number}"}
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        response = client.post("/v1/sync/members", json={"source": "crm", "records": records}, headers=headers)
        log.append((batch_number, response.status_code))
        if response.status_code == 200:
            return response.get_json()
        assert response.status_code in (409, 503), response.get_data(as_text=True)
        time.sleep(0.5)
    raise AssertionError(f"batch {batch_number} never got an answer")


def test_sync_survives_neo4j_killed_mid_import(own_neo4j):
    data, running = own_neo4j
    app = create_app({"NEO4J_URI": running.uri, "NETWEAVE_ADMIN_KEY": ADMIN_SECRET, "NEO4J_RETRY_SECONDS": 2.0,
                      "NEO4J_CONNECT_TIMEOUT": 1.0, "NETWEAVE_IDEMPOTENCY_LEASE_SECONDS": 5, "TESTING": True})
    client = app.test_client()
    port = int(running.uri.rsplit(":", 1)[1])
    log: list[tuple[int, int]] = []
    answers: dict[int, dict] = {}

    def importer():
        for number in range(BATCHES):
            answers[number] = _send_until_answered(client, number, log)

    thread = threading.Thread(target=importer)
    thread.start()
    while len(answers) < 2:
        time.sleep(0.05)
    time.sleep(0.3)  # inside the third batch
    os.kill(running.pid, signal.SIGKILL)
    time.sleep(1)
    neo4j_local.start(port=port, data_dir=data)
    thread.join(300)
    try:
        assert not thread.is_alive()
        assert any(status != 200 for _, status in log), "the kill did not hit a request"
        assert sorted(answers) == list(range(BATCHES))
        headers = {"Authorization": f"Bearer {ADMIN_SECRET}"}
        seen, cursor = [], None
        while True:
            page = client.get("/v1/changes?limit=1000" + (f"&since={cursor}" if cursor else ""),
                              headers=headers).get_json()
            if not page["items"]:
                break
            seen.extend(page["items"])
            cursor = page["next_cursor"]
        seqs = [item["seq"] for item in seen]
        assert seqs == list(range(1, len(seqs) + 1)), "the change feed has a gap or a repeat"
        creates = [item["external_ids"][0] for item in seen if item["action"] == "create"]
        expected = {f"crm:m{b}-{i}" for b in range(BATCHES) for i in range(BATCH_SIZE)}
        assert sorted(creates) == sorted(expected), "a record is missing or was created twice"
        total = 0
        cursor = None
        while True:
            page = client.get("/v1/members?limit=100" + (f"&cursor={cursor}" if cursor else ""),
                              headers=headers).get_json()
            total += len(page["items"])
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert total == BATCHES * BATCH_SIZE
    finally:
        app.extensions["netweave.graph"].close()
