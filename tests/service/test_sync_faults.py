"""A large sync survives Neo4j being killed in the middle: retries with the same Idempotency-Key
end with every record there exactly once and a change feed without gaps, and under gunicorn they get
their keys back within seconds of Neo4j answering again."""

import http.client
import json
import os
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import neo4j
import pytest

from bench.common import free_port as _free_port
from service import create_app
from service.cli import neo4j_local
from tests.conftest import ADMIN_SECRET, TEST_QUERIES, UNLIMITED
from tests.support import stop

ROOT = Path(__file__).resolve().parents[2]

BATCHES, BATCH_SIZE = 6, 1000


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


def _call(port: int, method: str, path: str, body: dict | None = None, headers: dict | None = None,
          timeout: float = 60) -> int:
    """The status of one request to `netweave serve` on `port` (0 when the connection failed)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        payload = json.dumps(body).encode() if body is not None else None
        connection.request(method, path, body=payload, headers={
            "Authorization": f"Bearer {ADMIN_SECRET}", **({"Content-Type": "application/json"} if payload else {}),
            **(headers or {})})
        return connection.getresponse().status
    except OSError:
        return 0
    finally:
        connection.close()


def test_under_gunicorn_a_crash_frees_its_idempotency_keys_within_seconds_of_neo4j_coming_back(own_neo4j, tmp_path):
    """Sync batches are in flight under their Idempotency-Keys when Neo4j is killed. The requests end in
    errors without releasing their claims; once Neo4j is back, every retry takes its key over within one
    lease (10 s, renewed only while a request runs) of /readyz answering 200, and every record is there
    exactly once."""
    data, running = own_neo4j
    neo4j_port, port = int(running.uri.rsplit(":", 1)[1]), _free_port()
    env = {**os.environ, "NEO4J_URI": running.uri, "NETWEAVE_ADMIN_KEY": ADMIN_SECRET, "NEO4J_RETRY_SECONDS": "2",
           "NEO4J_CONNECT_TIMEOUT": "1", "NETWEAVE_RATE_LIMITS": json.dumps(UNLIMITED), "NETWEAVE_WORKERS": "2",
           "NETWEAVE_THREADS": "4", "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    env.pop("NETWEAVE_IDEMPOTENCY_LEASE_SECONDS", None)
    with (tmp_path / "gunicorn.log").open("wb") as sink:
        process = subprocess.Popen([sys.executable, "-c", "from service.cli.main import main; main()", "serve",
                                    "--port", str(port)], env=env, stdout=sink, stderr=subprocess.STDOUT, cwd=ROOT)
    try:
        _wait_for(lambda: _call(port, "GET", "/readyz", timeout=5) == 200, 90, "netweave serve did not start")
        batches = 4

        def send(number: int) -> int:
            records = [{"external_id": f"k{number}-{i}", "name": f"Member {number}-{i}"} for i in range(BATCH_SIZE)]
            return _call(port, "POST", "/v1/sync/members", {"source": "crm", "records": records},
                         {"Idempotency-Key": f"crash-batch-{number}"})

        with ThreadPoolExecutor(batches) as pool:
            first = [pool.submit(send, number) for number in range(batches)]
            time.sleep(0.5)                          # every batch has claimed its key and is writing
            os.kill(running.pid, signal.SIGKILL)
            first = [future.result() for future in first]
        assert any(status != 200 for status in first), f"the kill hit no request: {first}"
        neo4j_local.start(port=neo4j_port, data_dir=data)
        _wait_for(lambda: _call(port, "GET", "/readyz", timeout=5) == 200, 120, "the API never became ready")
        ready = time.monotonic()
        done, statuses = {}, []

        def retry(number: int) -> None:
            status = send(number)
            statuses.append(status)
            assert status in (200, 409, 503, 0), status
            if status == 200:
                done[number] = time.monotonic() - ready

        # The retries go out together, as the batches did: one key's wait is not counted into the next's.
        while len(done) < batches and time.monotonic() - ready < 60:
            with ThreadPoolExecutor(batches) as pool:
                list(pool.map(retry, [number for number in range(batches) if number not in done]))
            time.sleep(0.5)
        assert sorted(done) == list(range(batches)), f"keys still locked 60 s after /readyz: {statuses}"
        # One lease (10 s) at most before a retry takes its key over, plus the batch's own writing before its
        # answer: up to 11 s for four batches at once on a database just recovered, while the suite's other
        # process loads both cores (21 s in all was seen there). Keys held for minutes are what this catches.
        assert max(done.values()) <= 30, f"a retry waited {max(done.values()):.1f} s after /readyz: {statuses}"
        keys = [f"member:crm:k{number}-{i}" for number in range(batches) for i in range(BATCH_SIZE)]
        with neo4j.GraphDatabase.driver(running.uri) as driver:
            rows, _, _ = driver.execute_query(TEST_QUERIES["test_members_by_external_key"].text, keys=keys)
        counts = {row["key"]: row["members"] for row in rows}
        wrong = {key: count for key, count in counts.items() if count != 1}
        assert not wrong, f"{len(wrong)} records missing or doubled, e.g. {sorted(wrong.items())[:5]}; {statuses}"
    finally:
        stop(process)


def _wait_for(condition, seconds: float, message: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, message
        time.sleep(0.3)
