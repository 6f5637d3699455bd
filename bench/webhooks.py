"""Sync throughput with a webhook endpoint subscribed to every event against the same sync without one,
same run, and the delivery lag.

One local Neo4j, one gunicorn API (2 workers), a redis-server and one `netweave worker` that sends the
deliveries, and a receiver in this process on 127.0.0.1 that verifies every signature (standardwebhooks)
and notes when each event arrived. Rounds alternate between the two sides (which goes first alternates
too); a round "with" creates an endpoint subscribed to `*` and, after its sync, waits until every event
arrived before the endpoint is deleted, so no delivery of one round runs during the next. Each record is a
create (new external ids every round).

Prints records per second of each side, the ratio (goal: with webhooks at least 0.85x of without), and
the delivery lag per event (receive time minus the change's commit time, `occurred_at`): p50, p99, max.

Both paths are warmed up before the timed rounds, untimed: a sync (--warmup records), then a sync with an
endpoint whose events are all delivered (--delivery-warmup records). Without the second, the rounds "with"
also paid for the JVM compiling the delivery's statements, which a running deployment has done long
before: on a fresh Neo4j, delivering 5,000 events cost 10.7 s of Neo4j CPU the first time, then 5.0, 2.7,
2.2, 1.6 and 1.3 s (the same sync: 7.1 s, then 2.8 down to 1.3 s), read from /proc in a scratch run of
Deliverer.run after each 5,000-record sync. `--delivery-warmup 0` leaves it out to show that cost.

    .venv/bin/python bench/webhooks.py --members 20000 --rounds 4
"""

from __future__ import annotations

import argparse
import http.client
import json
import shutil
import signal
import statistics
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import start_api, start_queue  # noqa: E402
from service.cli import neo4j_local  # noqa: E402
from tests.support import WebhookReceiver  # noqa: E402

ADMIN_KEY = "bench-admin-key-0123456789"
WEBHOOK_KEY = "bench-webhook-key-" + "b" * 32
BATCH = 1000
UNLIMITED = json.dumps({family: "10000000/minute" for family in ("read", "write", "sync", "analytics", "admin")})


def call(connection, method: str, path: str, body: dict | None = None, headers: dict | None = None) -> dict:
    connection.request(method, path, body=json.dumps(body) if body is not None else None, headers={
        "Authorization": f"Bearer {ADMIN_KEY}", "Content-Type": "application/json", **(headers or {})})
    response = connection.getresponse()
    payload = response.read()
    if response.status not in (200, 201, 204):
        raise RuntimeError(f"{path}: {response.status} {payload[:300]!r}")
    return json.loads(payload) if payload else {}


def timed_sync(connection, prefix: str, count: int) -> float:
    records = [{"external_id": f"{prefix}{i}", "name": f"Member {prefix}{i}", "region": "north",
                "topics": ["math"]} for i in range(count)]
    started = time.perf_counter()
    for start in range(0, count, BATCH):
        call(connection, "POST", "/v1/sync/members", {"source": "crm", "records": records[start:start + BATCH]})
    return time.perf_counter() - started


def with_endpoint(connection, port: int, receiver: WebhookReceiver, prefix: str, count: int):
    """(seconds of a sync of `count` records made while an endpoint on `*` is subscribed, a new connection):
    the endpoint is created first and deleted once every event of the sync has arrived."""
    # A fresh connection after each wait: gunicorn closes an idle keep-alive one after seconds.
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    hook = call(connection, "POST", "/v1/webhooks", {"url": receiver.url, "events": ["*"]})
    receiver.secrets = [hook["secret"]]
    expected = len(receiver.events) + count
    seconds = timed_sync(connection, prefix, count)
    deadline = time.monotonic() + 600
    while len(receiver.events) < expected and time.monotonic() < deadline:
        time.sleep(0.1)
    if len(receiver.events) < expected:
        raise RuntimeError(f"only {len(receiver.events)} of {expected} events arrived")
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    call(connection, "DELETE", f"/v1/webhooks/{hook['id']}", headers={"If-Match": '"1"'})
    return seconds, connection


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=20_000, help="records per side")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--warmup", type=int, default=5_000, help="records written first, untimed")
    parser.add_argument("--delivery-warmup", type=int, default=20_000,
                        help="records then written with an endpoint subscribed, untimed, every event delivered")
    args = parser.parse_args()
    data = Path(tempfile.mkdtemp(prefix="netweave-bench-webhooks-"))
    running = neo4j_local.start(port=0, data_dir=data)
    hooks = {"NETWEAVE_WEBHOOK_ALLOW_PRIVATE": "127.0.0.1", "NETWEAVE_WEBHOOK_KEY": WEBHOOK_KEY,
             "NETWEAVE_WEBHOOK_POLL_SECONDS": "0.2", "NETWEAVE_RATE_LIMITS": UNLIMITED,
             "NETWEAVE_WORKER_DEBOUNCE_SECONDS": "3600", "NETWEAVE_WORKER_MAX_DELAY_SECONDS": "3600"}
    queue, url = start_queue(data, running.uri, ADMIN_KEY, 1, **hooks)
    process, port = start_api(running.uri, ADMIN_KEY, 2, NETWEAVE_MAX_BODY_BYTES=str(8 * 1024 * 1024),
                              NETWEAVE_QUEUE_URL=url, **hooks)
    receiver = WebhookReceiver()
    seconds = {"without": 0.0, "with": 0.0}
    try:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
        timed_sync(connection, "warm-", args.warmup)
        if args.delivery_warmup:
            _, connection = with_endpoint(connection, port, receiver, "warm-with-", args.delivery_warmup)
            receiver.events.clear()
            receiver.arrivals.clear()
        per_round = args.members // args.rounds
        for n in range(args.rounds):
            sides = ["without", "with"] if n % 2 == 0 else ["with", "without"]
            for side in sides:
                if side == "without":
                    seconds[side] += timed_sync(connection, f"{side}{n}-", per_round)
                    continue
                took, connection = with_endpoint(connection, port, receiver, f"{side}{n}-", per_round)
                seconds[side] += took
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(60)
        for child in reversed(queue):
            child.send_signal(signal.SIGTERM)
            child.wait(60)
        neo4j_local.stop(data)
        shutil.rmtree(data, ignore_errors=True)
    count = per_round * args.rounds
    lags = sorted(arrived - datetime.fromisoformat(event["occurred_at"]).timestamp()
                  for event, arrived in zip(receiver.events, receiver.arrivals))
    print(f"members per side: {count} in batches of {BATCH}, {args.rounds} alternating rounds; untimed warm-up "
          f"{args.warmup}, then {args.delivery_warmup} with an endpoint; "
          "1 netweave worker sends the deliveries")
    print(f"{'':<34}{'rec/s':>10}")
    print(f"{'sync without webhooks':<34}{count / seconds['without']:>10,.0f}")
    print(f"{'sync with an endpoint on *':<34}{count / seconds['with']:>10,.0f}")
    print(f"throughput ratio (with / without): {seconds['without'] / seconds['with']:.3f} (goal >= 0.85)")
    print(f"events delivered: {len(receiver.events)}, signatures refused: {receiver.unverified}, "
          f"deliveries processed twice: {receiver.duplicates_skipped}")
    print(f"delivery lag per event: p50 {statistics.median(lags):.2f} s, p99 {lags[int(0.99 * (len(lags) - 1))]:.2f} s, "
          f"max {lags[-1]:.2f} s")


if __name__ == "__main__":
    main()
