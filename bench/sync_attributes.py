"""Sync of members with five custom attributes each against the same sync without attributes, same run.

One local Neo4j and one gunicorn API; five member attributes are defined (enum, integer, number, boolean,
tags); then rounds alternate a plain batch set and an attribute batch set (new external ids each time, so
every record is a create), so the database's growth falls on both sides alike. Prints records per second of
each side and the time ratio (goal: attributes at most 1.15x the time of the plain sync).

    .venv/bin/python bench/sync_attributes.py --members 20000 --rounds 4
"""

from __future__ import annotations

import argparse
import http.client
import json
import random
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import start_api  # noqa: E402
from service import neo4j_local  # noqa: E402

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=20_000, help="records per side")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--warmup", type=int, default=5_000, help="records of each kind written first, untimed")
    args = parser.parse_args()
    rng = random.Random(1)
    data = Path(tempfile.mkdtemp(prefix="netweave-bench-attributes-"))
    running = neo4j_local.start(port=0, data_dir=data)
    process, port = start_api(running.uri, ADMIN_KEY, 2, NETWEAVE_MAX_BODY_BYTES=str(8 * 1024 * 1024),
                              NETWEAVE_RATE_LIMITS=UNLIMITED)
    try:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
        for name, body in DEFINITIONS.items():
            call(connection, "PUT", f"/v1/attributes/member/{name}", body)
        timed_sync(connection, records("wp", args.warmup, False, rng))
        timed_sync(connection, records("wa", args.warmup, True, rng))
        per_round = args.members // args.rounds
        plain = attributed = 0.0
        for n in range(args.rounds):
            sides = [("plain", False), ("attributes", True)]
            for side, with_attributes in (sides if n % 2 == 0 else sides[::-1]):
                seconds = timed_sync(connection, records(f"{side[0]}{n}-", per_round, with_attributes, rng))
                if with_attributes:
                    attributed += seconds
                else:
                    plain += seconds
        count = per_round * args.rounds
        print(f"members per side: {count} in batches of {BATCH}, {args.rounds} alternating rounds; "
              f"untimed warm-up {args.warmup} of each")
        print(f"{'side':<28}{'rec/s':>10}{'seconds':>10}")
        print(f"{'sync, no attributes':<28}{count / plain:>10,.0f}{plain:>10.2f}")
        print(f"{'sync, 5 custom attributes':<28}{count / attributed:>10,.0f}{attributed:>10.2f}")
        print(f"time ratio (attributes / none): {attributed / plain:.3f}   goal: at most 1.15")
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(60)
        neo4j_local.stop(data)
        shutil.rmtree(data, ignore_errors=True)


if __name__ == "__main__":
    main()
