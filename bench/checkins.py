"""Check-in submissions against sync for the same number of ties, same run.

One local Neo4j and one gunicorn API (2 workers). 2,000 members are synced; then, in alternating order:
- check-ins: a survey with one name generator (trust and frequency scales), 2,000 invitations, and every
  invitee submits 15 names through PUT /v1/respond/{token}, from 16 clients at once;
- sync: the same number of ties (2,000 x 15) as collaborations through POST /v1/sync/collaborations in
  batches of 1,000, from 1 client and from 2 (the faster is the peer; 16 clients of 1,000-record batches
  make sync itself answer 503 database-busy on two cores).
Each side starts from the members alone (the previous side's ties are removed first). Every side runs once a
round (--rounds, the order reversed each round) and its best run counts: the first side of a cold JVM pays for
compiling Cypher's generated code.

Prints ties per second of each side and the ratio (goal: check-ins at least 0.5x of sync). With --drafts, a
third side saves the same 2,000 answers as drafts (`submit: false`): the same requests, but no nominations or
ties written from them. Its ratio is what the check-in side would reach if writing and deriving the nominations
and ties cost nothing.

    .venv/bin/python bench/checkins.py --members 2000 --names 15 --clients 16
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
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import cpu_seconds, print_time_split, query_seconds, start_api  # noqa: E402
from service.cli import neo4j_local  # noqa: E402

ADMIN_KEY = "bench-admin-key-0123456789"
BATCH = 1000
FAMILIES = ("read", "write", "sync", "analytics", "admin", "respond", "unauthenticated")
UNLIMITED = json.dumps({family: "100000000/minute" for family in FAMILIES})


def call(port: int, method: str, path: str, body: dict | None = None, key: str | None = ADMIN_KEY) -> dict:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    headers = {"Content-Type": "application/json", **({"Authorization": f"Bearer {key}"} if key else {})}
    try:
        connection.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
        response = connection.getresponse()
        payload = response.read()
    finally:
        connection.close()
    if response.status not in (200, 201, 204):
        raise RuntimeError(f"{method} {path.split('/respond/')[0]}: {response.status} {payload[:300]!r}")
    return json.loads(payload) if payload else {}


def choices(ids: list[str], names: int, seed: int) -> dict[str, list[str]]:
    rng = random.Random(seed)
    return {member: rng.sample([other for other in ids if other != member], names) for member in ids}


def run_checkins(port: int, ids: list[str], picks: dict[str, list[str]], clients: int, submit: bool = True) -> float:
    survey = call(port, "POST", "/v1/surveys", {
        "title": "Bench check-in", "closes_at": (datetime.now(timezone.utc) + timedelta(days=1)).isoformat(),
        "questions": [{"id": "advice", "type": "names", "prompt": "Who do you go to for advice?",
                       "tie_kind": "advice", "roster": {"all": True}, "max_names": 15,
                       "scales": [{"name": "trust", "min": 1, "max": 4}, {"name": "frequency", "min": 1, "max": 5}]}]})
    items = call(port, "POST", f"/v1/surveys/{survey['id']}/invitations", {"member_ids": ids})["items"]
    rng = random.Random(5)
    bodies = [(item["token"], {"submit": submit, "answers": [{"question_id": "advice", "named": [
        {"member_id": other, "scales": {"trust": rng.randint(1, 4), "frequency": rng.randint(1, 5)}}
        for other in picks[item["member_id"]]]}]}) for item in items]
    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(lambda pair: call(port, "PUT", f"/v1/respond/{pair[0]}", pair[1], key=None), bodies))
    # Every tie written: the results read derives whatever a concurrent request left pending.
    results = call(port, "GET", f"/v1/surveys/{survey['id']}/results")
    elapsed = time.perf_counter() - started
    expected = sum(len(body["answers"][0]["named"]) for _, body in bodies) if submit else 0
    assert results["nominations"] == expected, results["nominations"]
    return elapsed


def run_sync(port: int, external: dict[str, str], picks: dict[str, list[str]], clients: int, tag: str) -> float:
    records = [{"external_id": f"{tag}-{a}-{b}", "source_external_id": external[a], "target_external_id": external[b],
                "kind": "advice", "strength": 3, "trust": 3} for a, others in picks.items() for b in others]
    batches = [records[start:start + BATCH] for start in range(0, len(records), BATCH)]
    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(lambda batch: call(port, "POST", "/v1/sync/collaborations",
                                         {"source": "crm", "records": batch}), batches))
    return time.perf_counter() - started


def remove_ties(uri: str) -> None:
    import neo4j

    with neo4j.GraphDatabase.driver(uri) as driver:
        for statement in ("MATCH ()-[c:COLLABORATES_WITH]->() CALL (c) { DELETE c } IN TRANSACTIONS OF 5000 ROWS",
                          "MATCH ()-[n:NOMINATED]->() CALL (n) { DELETE n } IN TRANSACTIONS OF 5000 ROWS",
                          "MATCH (x:ExternalId) WHERE x.key STARTS WITH 'collaboration:' "
                          "CALL (x) { DETACH DELETE x } IN TRANSACTIONS OF 5000 ROWS"):
            with driver.session() as session:
                session.run(statement).consume()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--members", type=int, default=2000)
    parser.add_argument("--names", type=int, default=15)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=2, help="each side's best of this many runs counts")
    parser.add_argument("--drafts", action="store_true",
                        help="also time the same answers saved as drafts: the requests without deriving ties")
    parser.add_argument("--heap-mb", type=int, default=2048, help="Neo4j's, as bench/sync.py gives it")
    parser.add_argument("--pagecache-mb", type=int, default=1024)
    args = parser.parse_args()
    data = Path(tempfile.mkdtemp(prefix="netweave-bench-checkins-"))
    running = neo4j_local.start(port=0, data_dir=data, heap_mb=args.heap_mb, pagecache_mb=args.pagecache_mb)
    process = None
    try:
        process, port = start_api(running.uri, ADMIN_KEY, args.workers, NETWEAVE_RATE_LIMITS=UNLIMITED,
                                  NETWEAVE_MAX_BODY_BYTES=str(16 * 1024 * 1024))
        external, ids = {}, []
        for start in range(0, args.members, BATCH):
            records = [{"external_id": f"m{i}", "name": f"Member {i:05d}"}
                       for i in range(start, min(args.members, start + BATCH))]
            for record, result in zip(records, call(port, "POST", "/v1/sync/members",
                                                    {"source": "crm", "records": records})["results"]):
                external[result["id"]] = record["external_id"]
                ids.append(result["id"])
        picks = choices(ids, args.names, 11)
        ties = args.members * args.names
        times: dict[str, float] = {}
        splits: dict[str, tuple[dict, dict]] = {}
        cpu: dict[str, dict[str, float]] = {}     # the best run's CPU seconds of each process, by side
        # The first side of a cold JVM pays for compiling Cypher's generated code (the C2 compiler thread took
        # a core for half a minute): every side runs once per round, in an order reversed each round, and the
        # best of the rounds counts.
        order = ["checkins", "sync-1", "sync-2", *(["drafts"] if args.drafts else [])]
        for round_ in range(args.rounds):
            for side in (order if round_ % 2 == 0 else order[::-1]):
                remove_ties(running.uri)
                before = query_seconds(port)
                used = {label: cpu_seconds(pid) for label, pid in (("API", process.pid), ("Neo4j", running.pid))}
                if side in ("checkins", "drafts"):
                    elapsed = run_checkins(port, ids, picks, args.clients, submit=side == "checkins")
                else:
                    elapsed = run_sync(port, external, picks, int(side.split("-")[1]), f"{side}-{round_}")
                if elapsed < times.get(side, float("inf")):
                    splits[side] = (before, query_seconds(port))
                    cpu[side] = {label: cpu_seconds(pid) - used[label]
                                 for label, pid in (("API", process.pid), ("Neo4j", running.pid))}
                times[side] = min(times.get(side, float("inf")), elapsed)
                what = "names saved" if side == "drafts" else "ties"
                print(f"round {round_ + 1} {side:>9}: {ties} {what} in {elapsed:.1f} s = {ties / elapsed:.0f} {what}/s",
                      flush=True)
        peer = min(times["sync-1"], times["sync-2"])
        ratio = peer / times["checkins"]
        peer_side = min(("sync-1", "sync-2"), key=times.__getitem__)
        for side in ("checkins", peer_side):
            print(f"where the best {side} run's time went (summed over threads, so more than the wall time):")
            print_time_split(*splits[side])
            print(f"  CPU: {', '.join(f'{label} {seconds:.1f} s' for label, seconds in cpu[side].items())} "
                  f"({times[side]:.1f} s of wall time, 2 cores)")
        if args.drafts:
            used = ", ".join(f"{label} {seconds:.1f} s" for label, seconds in cpu["drafts"].items())
            print(f"drafts: CPU {used} ({times['drafts']:.1f} s of wall time); drafts ({args.clients} clients, the "
                  f"same requests, no ties derived) / sync: {peer / times['drafts']:.3f}x")
        print(f"check-ins ({args.clients} clients) / sync (the faster of 1 and 2 clients) throughput: {ratio:.3f}x "
              "(goal >= 0.5x)")
    finally:
        if process is not None:
            process.send_signal(signal.SIGTERM)
            process.wait(30)
        neo4j_local.stop(data)
        shutil.rmtree(data, ignore_errors=True)


if __name__ == "__main__":
    main()
