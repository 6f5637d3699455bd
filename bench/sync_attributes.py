"""Sync of members with five custom attributes each against the same sync without attributes, same run.

One local Neo4j and one gunicorn API; five member attributes are defined (enum, integer, number, boolean,
tags); then rounds alternate a plain batch set and an attribute batch set (new external ids each time, so
every record is a create), so the database's growth falls on both sides alike. Prints records per second of
each side and the time ratio (goal: attributes at most 1.15x the time of the plain sync), each round's ratio,
and the CPU the API and Neo4j spent per 1,000 records on either side.

The peer, in the same run on a Neo4j of its own: the raw driver's batched UNWIND ... MERGE (bench/sync_peer.cypher)
writing the same records, their attributes as five more properties, in the same alternating rounds: what
storing five more properties costs Neo4j itself, whatever the API does.

    .venv/bin/python bench/sync_attributes.py --members 40000 --rounds 40

Many short rounds: on a 2-core machine single rounds range 0.7-1.9x, and whole runs of this command
1.09-1.29x, so one run says little about a difference under 0.1; compare several. Each ratio is printed with
a 95% bootstrap interval over the rounds, which says how far that run can be trusted.
"""

from __future__ import annotations

import argparse
import os
import http.client
import json
import random
import shutil
import signal
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
from neo4j import GraphDatabase  # noqa: E402

import graph_queries  # noqa: E402
from bench.common import cpu_seconds, start_api  # noqa: E402
from service.cli import neo4j_local  # noqa: E402

PEER = graph_queries.load_all(Path(__file__).resolve().parent)

ADMIN_KEY = "bench-admin-key-0123456789"
BATCH = 1000
UNLIMITED = json.dumps({family: "10000000/minute" for family in ("read", "write", "sync", "analytics", "admin")})
DEFINITIONS = {"grade_band": {"type": "enum", "values": ["elementary", "middle", "high"]},
               "years_in_role": {"type": "integer"}, "students_served": {"type": "number"},
               "rural": {"type": "boolean"}, "subjects": {"type": "tags"}}


def records(prefix: str, count: int, with_attributes: bool, rng: random.Random) -> list[dict]:
    out = []
    for i in range(count):
        record = {"external_id": f"{prefix}{i}", "name": f"Member {prefix}{i}", "role": rng.choice(["teacher", "coach"]),
                  "region": rng.choice(["north", "south"]), "topics": ["math"]}
        if with_attributes:
            record["attributes"] = {"grade_band": rng.choice(["elementary", "middle", "high"]),
                                    "years_in_role": rng.randint(0, 30), "students_served": rng.uniform(10, 400),
                                    "rural": rng.random() < 0.3, "subjects": rng.sample(["math", "art", "ela", "sci"], 2)}
        out.append(record)
    return out


def call(connection, method: str, path: str, body: dict) -> None:
    connection.request(method, path, body=json.dumps(body), headers={
        "Authorization": f"Bearer {ADMIN_KEY}", "Content-Type": "application/json"})
    response = connection.getresponse()
    payload = response.read()
    if response.status not in (200, 201):
        raise RuntimeError(f"{path}: {response.status} {payload[:300]!r}")


def timed_sync(connection, batch_records: list[dict]) -> float:
    started = time.perf_counter()
    for start in range(0, len(batch_records), BATCH):
        call(connection, "POST", "/v1/sync/members", {"source": "crm", "records": batch_records[start:start + BATCH]})
    return time.perf_counter() - started


def peer_sync(driver, batch_records: list[dict]) -> float:
    """The raw driver's upsert of `batch_records` (attributes as attr.<name> properties), timed."""
    def rows(chunk):
        return [{"key": f"crm:{r['external_id']}",
                 "props": {**{k: v for k, v in r.items() if k not in ("external_id", "attributes")},
                           **{f"attr.{k}": v for k, v in (r.get("attributes") or {}).items()}}} for r in chunk]

    started = time.perf_counter()
    for start in range(0, len(batch_records), BATCH):
        chunk = rows(batch_records[start:start + BATCH])
        with driver.session() as session:
            session.execute_write(lambda tx: tx.run(PEER["peer_upsert_members"].text, rows=chunk).consume())
    return time.perf_counter() - started


def alternating(sync, rounds: int, per_round: int, rng: random.Random,
                processes: dict[str, int]) -> tuple[list[float], list[float], dict]:
    """Seconds spent on plain and on attribute records in each round (the rounds alternate which goes first),
    and the CPU seconds each of `processes` ({label: pid}) spent on either side, as {(label, side): seconds}."""
    plain, attributed, cpu = [], [], Counter()
    for n in range(rounds):
        sides = [("plain", False), ("attributes", True)]
        for side, with_attributes in (sides if n % 2 == 0 else sides[::-1]):
            batch = records(f"{side[0]}{n}-", per_round, with_attributes, rng)
            before = {label: cpu_seconds(pid) for label, pid in processes.items()}
            seconds = sync(batch)
            for label, pid in processes.items():
                cpu[(label, with_attributes)] += cpu_seconds(pid) - before[label]
            (attributed if with_attributes else plain).append(seconds)
    return plain, attributed, cpu


def interval(none: list[float], five: list[float]) -> tuple[float, float]:
    """A 95% bootstrap interval of the time ratio sum(five) / sum(none), the rounds (each a pair of batches run
    back to back) resampled in pairs (scipy.stats.bootstrap, percentile method). On a 2-core machine single
    rounds range 0.7-1.9x: the interval shows whether a run tells which side of the goal the code is on."""
    from scipy.stats import bootstrap

    found = bootstrap((np.array(none), np.array(five)), lambda a, b, axis=-1: b.sum(axis=axis) / a.sum(axis=axis),
                      paired=True, vectorized=True, method="percentile", n_resamples=10_000,
                      rng=np.random.default_rng(7))
    return float(found.confidence_interval.low), float(found.confidence_interval.high)


def peer_side(args, per_round: int) -> tuple[list[float], list[float], dict]:
    rng = random.Random(1)
    data = Path(tempfile.mkdtemp(prefix="netweave-bench-attributes-peer-"))
    running = neo4j_local.start(port=0, data_dir=data, heap_mb=args.heap_mb, pagecache_mb=args.pagecache_mb)
    try:
        with GraphDatabase.driver(running.uri, auth=None) as driver:
            driver.execute_query(PEER["peer_member_key"].text)
            peer_sync(driver, records("wp", args.warmup, False, rng))
            peer_sync(driver, records("wa", args.warmup, True, rng))
            return alternating(lambda batch: peer_sync(driver, batch), args.rounds, per_round, rng,
                               {"Neo4j": running.pid, "peer client": os.getpid()})
    finally:
        neo4j_local.stop(data)
        shutil.rmtree(data, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=40_000, help="records per side")
    parser.add_argument("--rounds", type=int, default=40)
    # bench/sync.py's defaults: neo4j_local's own (64 MB of page cache, for tests) had the store outgrow the
    # cache during the run, and the side writing more bytes paid for the evictions, by 1.05-1.86x a round.
    parser.add_argument("--heap-mb", type=int, default=2048)
    parser.add_argument("--pagecache-mb", type=int, default=1024)
    parser.add_argument("--warmup", type=int, default=5_000, help="records of each kind written first, untimed")
    args = parser.parse_args()
    if args.rounds < 2:
        parser.error("--rounds: at least 2 (the interval resamples rounds)")
    rng = random.Random(1)
    data = Path(tempfile.mkdtemp(prefix="netweave-bench-attributes-"))
    running = neo4j_local.start(port=0, data_dir=data, heap_mb=args.heap_mb, pagecache_mb=args.pagecache_mb)
    process, port = start_api(running.uri, ADMIN_KEY, 2, NETWEAVE_MAX_BODY_BYTES=str(8 * 1024 * 1024),
                              NETWEAVE_RATE_LIMITS=UNLIMITED)
    try:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
        for name, body in DEFINITIONS.items():
            call(connection, "PUT", f"/v1/attributes/member/{name}", body)
        timed_sync(connection, records("wp", args.warmup, False, rng))
        timed_sync(connection, records("wa", args.warmup, True, rng))
        per_round = args.members // args.rounds
        plain, attributed, cpu = alternating(lambda batch: timed_sync(connection, batch), args.rounds, per_round,
                                             rng, {"Neo4j": running.pid, "API": process.pid})
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(60)
        neo4j_local.stop(data)
        shutil.rmtree(data, ignore_errors=True)
    peer_plain, peer_attributed, peer_cpu = peer_side(args, per_round)
    count = per_round * args.rounds
    print(f"members per side: {count} in batches of {BATCH}, {args.rounds} alternating rounds; "
          f"untimed warm-up {args.warmup} of each; Neo4j heap {args.heap_mb} MB, page cache {args.pagecache_mb} MB")
    print(f"{'':<28}{'no attributes rec/s':>21}{'5 attributes rec/s':>20}{'time ratio':>12}{'95% interval':>15}"
          "   each round's ratio")
    for label, (none, five) in (("netweave API sync", (plain, attributed)),
                                ("raw driver MERGE (peer)", (peer_plain, peer_attributed))):
        rounds = " ".join(f"{b / a:.2f}" for a, b in zip(none, five))
        low, high = interval(none, five)
        print(f"{label:<28}{count / sum(none):>21,.0f}{count / sum(five):>20,.0f}{sum(five) / sum(none):>12.3f}"
              f"{f'{low:.3f}-{high:.3f}':>15}   {rounds}")
    print("CPU ms per 1,000 records, without / with attributes (extra):")
    for side, used in (("API run", cpu), ("peer run", peer_cpu)):
        print(f"  {side}: " + "; ".join(
            f"{label} {used[(label, False)] / count * 1e6:.0f} / {used[(label, True)] / count * 1e6:.0f} "
            f"(+{(used[(label, True)] - used[(label, False)]) / count * 1e6:.0f})"
            for label in dict.fromkeys(label for label, _ in used)))
    print("goal: the API's time ratio at most 1.15; the peer's ratio is what five more properties cost Neo4j")


if __name__ == "__main__":
    main()
