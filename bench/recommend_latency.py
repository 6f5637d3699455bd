"""Latency of member recommendations under load: 16 concurrent clients against gunicorn for 60 s,
beside the floor, a bare common-neighbour Cypher query from the raw driver with the same concurrency.

Needs a Neo4j holding the generated network; `bench/analytics.py --keep` leaves one running:

    .venv/bin/python bench/analytics.py --keep        # 100,000 members / 1,000,000 ties, Neo4j left up
    .venv/bin/python bench/recommend_latency.py --uri bolt://127.0.0.1:PORT
"""

from __future__ import annotations

import argparse
import http.client
import random
import signal
import statistics
import sys
import threading
import time
from pathlib import Path

from neo4j import GraphDatabase

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import graph_queries  # noqa: E402
from bench.common import start_api  # noqa: E402

PEER = graph_queries.load_all(Path(__file__).resolve().parent)
ADMIN = "bench-admin-key-0123456789"


def hammer(call, ids: list[str], clients: int, seconds: float) -> dict[str, float]:
    """`clients` threads calling `call(id)` in a loop for `seconds`; latencies in ms."""
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def client(n: int) -> None:
        rng = random.Random(n)
        local: list[float] = []
        state: dict = {}
        while time.monotonic() < deadline:
            started = time.perf_counter()
            try:
                call(rng.choice(ids), state)
            except Exception:  # counted, and the loop goes on: a bench reports errors, it does not stop
                with lock:
                    errors[0] += 1
                continue
            local.append((time.perf_counter() - started) * 1000)
        with lock:
            latencies.extend(local)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    latencies.sort()
    return {"requests": len(latencies), "errors": errors[0], "rps": len(latencies) / seconds,
            "p50": statistics.median(latencies), "p99": latencies[int(len(latencies) * 0.99) - 1]}


def api_call(port: int):
    def call(member_id: str, state: dict) -> None:
        if "connection" not in state:
            state["connection"] = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        state["connection"].request("GET", f"/v1/members/{member_id}/recommendations?limit=10",
                                    headers={"Authorization": f"Bearer {ADMIN}"})
        response = state["connection"].getresponse()
        response.read()
        if response.status != 200:
            raise RuntimeError(response.status)
    return call


def raw_call(driver):
    text = PEER["peer_common_neighbours"].text

    def call(member_id: str, state: dict) -> None:
        driver.execute_query(text, id=member_id, routing_="r")
    return call


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--uri", required=True, help="bolt URI of a Neo4j holding the generated network")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=8, help="gunicorn threads per worker")
    args = parser.parse_args()

    with GraphDatabase.driver(args.uri, auth=None, max_connection_pool_size=args.clients * 2) as driver:
        ids = [r["id"] for r in driver.execute_query(PEER["peer_sample_members"].text, limit=2000).records]
        print(f"{len(ids)} members to ask about; {args.clients} clients for {args.seconds:.0f} s each side")
        floor = hammer(raw_call(driver), ids, args.clients, args.seconds)
    process, port = start_api(args.uri, ADMIN, args.workers, NETWEAVE_THREADS=str(args.threads))
    try:
        hammer(api_call(port), ids, args.clients, 5)  # warm-up: query plans, connection pools
        api = hammer(api_call(port), ids, args.clients, args.seconds)
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(60)
    print(f"{'':<34}{'p50 ms':>9}{'p99 ms':>9}{'req/s':>9}{'errors':>8}")
    for name, figures in (("raw driver, common neighbours", floor), ("netweave recommendations", api)):
        print(f"{name:<34}{figures['p50']:>9.1f}{figures['p99']:>9.1f}{figures['rps']:>9.0f}{figures['errors']:>8}")
    print(f"API / floor: p99 x{api['p99'] / floor['p99']:.2f}, throughput x{api['rps'] / floor['rps']:.2f}; "
          "goal: p99 under 50 ms and at least 300 req/s")


if __name__ == "__main__":
    main()
