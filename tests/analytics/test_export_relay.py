"""Exports of the whole graph written by `netweave worker` and relayed by the web tier through Redis
(service/exports/relay.py): the web app writes no export itself, the file is the one the web tier would
have written, personal data only with `pii`, and the relay's flow control, abandonment and cut-short ends
on a real Redis."""

from __future__ import annotations

import io
import signal
import threading
import time
from pathlib import Path

import networkx as nx
import pytest
import redis

from service import exports
from service.exports import relay
from service.problems import Problem
from service.analytics.queue import EXPORT_QUEUE_NAME
from tests.analytics.test_worker import _answered, _load_demo, _load_karate, _wait_for
from tests.support import stop


def _graphml(response) -> nx.Graph:
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    return nx.read_graphml(io.BytesIO(response.get_data()))


def _shape(graph: nx.Graph) -> tuple[dict, set]:
    """Nodes with their attributes (less the analytics and layout columns, whose sources differ by where
    the export was written) and ties by their ends and kind."""
    varying = {"cluster_id", "betweenness", "articulation_point", "cluster_name", "x", "y", "size", "color"}
    nodes = {node: {k: v for k, v in data.items() if k not in varying} for node, data in graph.nodes(data=True)}
    ties = {(min(u, v), max(u, v), data["kind"], data["id"]) for u, v, data in graph.edges(data=True)}
    return nodes, ties


def test_exports_are_written_by_the_worker_and_relayed_by_the_web_tier(web, workers, make_key, monkeypatch):
    api = web(NETWEAVE_EXPORT_START_SECONDS=1)
    _load_karate(api)
    assert api.post("/v1/members", json={"name": "Referee", "email": "karate@example.org"}).status_code == 201
    # The web tier's own export, for comparison, before any worker runs.
    expected = _shape(_graphml(web(NETWEAVE_EXPORTS_IN_WORKER=0).get("/v1/export?format=graphml")))
    assert len(expected[0]) == 35 and len(expected[1]) == 78

    # No worker: the request says why, and when to come back.
    refused = api.get("/v1/export?format=graphml")
    assert refused.status_code == 503 and refused.mimetype == "application/problem+json"
    assert refused.get_json()["type"].endswith("export-not-started") and refused.headers["Retry-After"]

    # From here on this process cannot write an export: whatever comes back was written by the worker.
    def not_here(*args, **kwargs):
        raise AssertionError("the web tier opened an export")

    monkeypatch.setattr(exports.Export, "open", not_here)
    worker = workers()
    relaying = web()
    # Once the worker has answered bridges (and clusters with them) at this revision, it holds them, and
    # its exports carry them as computed: the web tier, holding no projection, could only say stored.
    _answered(relaying, "/v1/analytics/bridges?limit=3")
    response = relaying.get("/v1/export?format=graphml")
    assert _shape(_graphml(response)) == expected
    assert response.mimetype == "application/graphml+xml"
    assert response.headers["Content-Disposition"].startswith('attachment; filename="netweave-')
    assert response.headers["Netweave-Analytics"].startswith(
        "cluster_id=computed; betweenness=computed; articulation_point=computed")
    assert response.headers["Netweave-Layout"].startswith("source=")
    for fmt, media_type in (("gexf", "application/gexf+xml"), ("json", "application/json"),
                            ("csv", "application/zip")):
        other = relaying.get(f"/v1/export?format={fmt}")
        assert other.status_code == 200 and other.mimetype == media_type and len(other.get_data()) > 1000

    # The worker runs at nice 0 here (`--nice 0`); the threads that wrote the exports run at the lowest priority.
    assert _thread_nice_values(worker.pid) >= {0, 19}

    # Personal data only with `pii`: the flag travels with the job.
    def text(key: str) -> str:
        answer = relaying.with_key(key).get("/v1/export?format=graphml")
        assert answer.status_code == 200
        return answer.get_data(as_text=True)

    assert "karate@example.org" not in text(make_key("analytics"))
    assert "karate@example.org" in text(make_key("analytics", "pii"))
    # A bad format is refused with 422 naming the field, as without a queue.
    bad = relaying.get("/v1/export?format=pdf")
    assert bad.status_code == 422 and bad.get_json()["errors"][0]["field"] == "format"


def _thread_nice_values(pid: int) -> set[int]:
    """The nice value of each thread of process `pid` (field 19 of /proc/<pid>/task/<tid>/stat)."""
    values = set()
    for stat in Path(f"/proc/{pid}/task").glob("*/stat"):
        fields = stat.read_text().rsplit(")", 1)[1].split()
        values.add(int(fields[16]))
    return values


def test_analytics_compute_is_computed_by_the_worker_writing_the_export(web, workers):
    api = web()
    _load_karate(api)
    first = workers()
    # A past date's graph: never written back onto members, so only a worker holding or computing its
    # analytics can fill the columns.
    query = "/v1/export?format=graphml&analytics=compute&as_of=2020-01-01"
    assert _answered(api, query).headers["Netweave-Analytics"].startswith("cluster_id=computed")
    # A fresh worker holds nothing: the question is answered from the stored report, and the worker writing
    # the export computes the analytics itself.
    stop(first)
    workers()
    response = api.get(query)
    assert response.headers["Netweave-Analytics"].startswith(
        "cluster_id=computed; betweenness=computed; articulation_point=computed")
    assert all("cluster_id" in data for _, data in _graphml(response).nodes(data=True))
    cached = api.get(query.replace("compute", "cached"))
    assert cached.headers["Netweave-Analytics"].startswith("cluster_id=computed"), "and holds them since"


@pytest.fixture
def client(redis_server):
    connection = redis.Redis.from_url(redis_server.url)
    yield connection
    connection.close()


def _write(writer: relay.Writer, chunks: int, outcome: dict) -> threading.Thread:
    def run():
        try:
            writer.head({"media_type": "text/plain"})
            for number in range(chunks):
                writer.data(b"%d;" % number)
            writer.end()
            outcome["ended"] = True
        except relay.Abandoned as error:
            outcome["abandoned"] = (str(error), time.monotonic())

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def test_a_writer_waits_for_its_reader_and_the_reader_gets_every_chunk_in_order(client):
    writer = relay.Writer(client, "in-order", stall_seconds=30)
    assert writer.take()
    assert not relay.Writer(client, "in-order", stall_seconds=30).take(), "an export is taken once"
    outcome: dict = {}
    thread = _write(writer, 200, outcome)
    frames, _, _ = relay.keys("in-order")
    # Nobody reads yet: the writer stops at the buffer's bound instead of filling Redis.
    _wait_for(lambda: client.llen(frames) >= relay.BUFFERED, 10, "the buffer to fill")
    time.sleep(0.3)
    assert client.llen(frames) == relay.BUFFERED and "ended" not in outcome
    assert client.ttl(frames) > 0, "the frames expire if nobody ever reads them"
    head = client.blpop([frames], timeout=5)[1]
    assert head.startswith(relay.HEAD)
    relayed = relay.Relayed(client, client, "in-order", {}, stall_seconds=10)
    assert b"".join(relayed.chunks()) == b"".join(b"%d;" % n for n in range(200))
    thread.join(10)
    assert outcome == {"ended": True}
    relayed.close()
    assert not client.exists(frames) and not client.exists(relay.keys("in-order")[1]), "a whole export leaves nothing"


def test_a_writer_stops_when_its_request_leaves_or_stops_reading(client):
    writer = relay.Writer(client, "left", stall_seconds=30)
    assert writer.take()
    outcome: dict = {}
    thread = _write(writer, 10_000, outcome)
    frames, gone, _ = relay.keys("left")
    _wait_for(lambda: client.llen(frames) >= relay.BUFFERED, 10, "the buffer to fill")
    client.lpop(frames)                                     # the head
    relayed = relay.Relayed(client, client, "left", {}, stall_seconds=10)
    chunks = relayed.chunks()
    assert [next(chunks) for _ in range(3)] == [b"0;", b"1;", b"2;"]
    left = time.monotonic()
    relayed.close()                                         # the client hung up mid-file
    thread.join(10)
    assert "abandoned" in outcome and outcome["abandoned"][1] - left < 2
    assert client.exists(gone) and not client.exists(frames)
    # A message delivered again, or taken after its request gave up, writes nothing.
    assert not relay.Writer(client, "left", stall_seconds=30).take()
    late = relay.Writer(client, "given-up", stall_seconds=30)
    client.set(relay.keys("given-up")[1], 1)
    assert not late.take()

    # A request that stops reading without a word: the writer gives up after its stall time.
    silent = relay.Writer(client, "silent", stall_seconds=1)
    assert silent.take()
    outcome = {}
    started = time.monotonic()
    _write(silent, 10_000, outcome).join(15)
    assert "read nothing" in outcome["abandoned"][0] and outcome["abandoned"][1] - started >= 1


def test_a_relay_whose_worker_goes_silent_or_fails_is_cut_short_not_ended(client):
    frames, _, _ = relay.keys("cut")
    client.rpush(frames, relay.DATA + b"<graphml>")
    relayed = relay.Relayed(client, client, "cut", {}, stall_seconds=1)
    chunks = relayed.chunks()
    assert next(chunks) == b"<graphml>"
    started = time.monotonic()
    with pytest.raises(relay.Cut, match="nothing from its worker"):
        next(chunks)
    assert time.monotonic() - started >= 0.9
    relayed.close()

    client.rpush(frames, relay.DATA + b"<graphml>", relay.FAILED + b'{"detail": "ServiceUnavailable: gone"}')
    failed = relay.Relayed(client, client, "cut", {}, stall_seconds=10).chunks()
    assert next(failed) == b"<graphml>"
    with pytest.raises(relay.Cut, match="ServiceUnavailable"):
        next(failed)

    # A chunk lost on the way (the list expired or was evicted) is found at the end, not served as whole.
    client.delete(frames)
    client.rpush(frames, relay.DATA + b"<graphml>", relay.END + b'{"chunks": 2}')
    lost = relay.Relayed(client, client, "cut", {}, stall_seconds=10).chunks()
    assert next(lost) == b"<graphml>"
    with pytest.raises(relay.Cut, match="1 of its 2 chunks arrived"):
        next(lost)


def test_a_stopping_worker_cuts_its_exports_at_once_and_a_slow_reader_is_served(client):
    stopping = threading.Event()
    writer = relay.Writer(client, "stopping", stall_seconds=30, stopping=stopping)
    assert writer.take()
    writer.head({})
    writer.data(b"first")
    stopping.set()
    with pytest.raises(relay.Stopped):
        writer.data(b"second")
    frames, _, _ = relay.keys("stopping")
    client.lpop(frames)
    chunks = relay.Relayed(client, client, "stopping", {}, stall_seconds=30).chunks()
    assert next(chunks) == b"first"
    started = time.monotonic()
    with pytest.raises(relay.Cut, match="the worker writing it stopped"):
        next(chunks)
    assert time.monotonic() - started < 1, "cut at once, not after the stall time"

    # A reader slower than the stall time per buffer, but reading: served to the end.
    slow = relay.Writer(client, "slow", stall_seconds=1)
    assert slow.take()
    outcome: dict = {}
    thread = _write(slow, 3 * relay.BUFFERED, outcome)
    reader = relay.Relayed(client, client, "slow", {}, stall_seconds=10)
    client.blpop([relay.keys("slow")[0]], timeout=5)          # the head
    received = []
    for chunk in reader.chunks():
        received.append(chunk)
        time.sleep(0.1)     # 16 chunks (what the writer waits for) take 1.6 s, over its 1 s stall time
    thread.join(10)
    assert outcome == {"ended": True} and len(received) == 3 * relay.BUFFERED


def _requested(client, writes, **options):
    """relay.request with a `send` that hands the job to `writes` (a worker's part, on a thread)."""
    sent, threads = [], []

    def send(job):
        sent.append(job)
        threads.append(threading.Thread(target=writes, args=(job,), daemon=True))
        threads[-1].start()

    try:
        return relay.request(client, client, send, {"format": "graphml"}, retry_after=7, **options), sent
    finally:
        for thread in threads:
            thread.join(10)


def test_a_problem_before_the_first_byte_reaches_the_request_whole(client):
    def fails(job):
        writer = relay.Writer(client, job["export_id"], job["stall_seconds"])
        assert writer.take()
        writer.head(relay.problem_head(Problem(503, "the graph database is unreachable; retry later",
                                               slug="database-unavailable", headers={"Retry-After": "7"},
                                               errors=[{"field": "X-Neo4j-Bookmark", "location": "headers",
                                                        "messages": ["not reached yet"]}])))

    with pytest.raises(Problem) as raised:
        _requested(client, fails, start_seconds=5, stall_seconds=5)
    problem = raised.value
    assert (problem.status, problem.slug, problem.headers) == (503, "database-unavailable", {"Retry-After": "7"})
    assert problem.errors[0]["field"] == "X-Neo4j-Bookmark"


def test_an_export_given_up_on_is_dropped_by_the_worker_that_takes_it_later(client):
    sent = []
    with pytest.raises(Problem) as raised:
        relay.request(client, client, sent.append, {"format": "graphml"}, start_seconds=0.5, stall_seconds=5,
                      retry_after=7)
    assert raised.value.status == 503 and raised.value.slug == "export-not-started"
    assert raised.value.headers == {"Retry-After": "7"}
    late = relay.Writer(client, sent[0]["export_id"], stall_seconds=5)
    assert not late.take(), "nobody waits for it any more"
    assert not client.exists(relay.keys(sent[0]["export_id"])[0]), "and it wrote nothing"


@pytest.mark.slow
def test_an_export_whose_worker_dies_is_cut_short_and_never_run_again(web, workers, graph, redis_server):
    api = web(NETWEAVE_EXPORT_STALL_SECONDS=5)
    _load_demo(graph, 3000)     # a GraphML of more chunks than the relay buffers
    quiet = {"NETWEAVE_WORKER_DEBOUNCE_SECONDS": "3600", "NETWEAVE_WORKER_MAX_DELAY_SECONDS": "3600"}
    doomed = workers(**quiet)
    response = api.get("/v1/export?format=graphml", buffered=False)
    assert response.status_code == 200
    store = redis.Redis.from_url(redis_server.url)
    try:
        chunks = iter(response.response)
        assert next(chunks).startswith(b"<?xml")
        export_id = store.keys(relay.KEY + "*:taken")[0].decode()[len(relay.KEY):-len(":taken")]
        frames = relay.keys(export_id)[0]
        _wait_for(lambda: store.llen(frames) >= relay.BUFFERED - 1, 30, "the worker to wait for its reader")
        doomed.send_signal(signal.SIGKILL)
        doomed.wait(10)
        # What was buffered still arrives, then nothing: the response is cut, not ended as if whole.
        started, received = time.monotonic(), 0
        with pytest.raises(relay.Cut, match="nothing from its worker"):
            for chunk in chunks:
                received += len(chunk)
        assert received > 0 and time.monotonic() - started >= 4
        # The broker hands the dead worker's message to a new worker, which finds the export taken and drops it
        # (the response is closed only afterwards, so no gone mark is what stops it).
        workers(**quiet)
        _wait_for(lambda: store.hlen(f"dramatiq:{EXPORT_QUEUE_NAME}.msgs") == 0, 60, "the message to be redelivered and done")
        assert not store.exists(frames), "the export was not written a second time"
    finally:
        response.close()
        store.close()


@pytest.mark.slow
def test_a_client_hanging_up_mid_export_stops_the_worker_writing_it(web, workers, graph, redis_server):
    api = web(NETWEAVE_EXPORT_STALL_SECONDS=30)
    _load_demo(graph, 3000)     # a GraphML of more chunks than the relay buffers
    workers(NETWEAVE_WORKER_DEBOUNCE_SECONDS="3600", NETWEAVE_WORKER_MAX_DELAY_SECONDS="3600",
            NETWEAVE_WORKER_EXPORT_THREADS="1")
    store = redis.Redis.from_url(redis_server.url)
    try:
        response = api.get("/v1/export?format=graphml", buffered=False)
        assert response.status_code == 200
        assert next(iter(response.response)).startswith(b"<?xml")
        export_id = store.keys(relay.KEY + "*:taken")[0].decode()[len(relay.KEY):-len(":taken")]
        frames, gone, _ = relay.keys(export_id)
        _wait_for(lambda: store.llen(frames) >= relay.BUFFERED - 1, 30, "the worker to wait for its reader")
        response.close()        # the client hangs up: gunicorn (here the test client) closes the response
        assert store.exists(gone) and not store.exists(frames)
        time.sleep(1.5)
        assert not store.exists(frames), "the worker wrote on after its client left"
        # Its one export thread is free again at once, not after the 30 s stall time.
        started = time.monotonic()
        again = api.get("/v1/export?format=json")
        assert again.status_code == 200 and len(again.get_data()) > 100_000
        assert time.monotonic() - started < 20
    finally:
        store.close()
