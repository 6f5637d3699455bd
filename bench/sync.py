"""Sync throughput: netweave's HTTP sync API under gunicorn vs the raw driver's batched UNWIND ... MERGE.

Each side gets a fresh local Neo4j (same heap and page cache) and writes the same
generated records (members, then collaborations) in batches of 1,000 from the
same number of client threads; records per second and the ratio are printed.

    .venv/bin/python bench/sync.py --members 100000 --collaborations 300000

--statements adds a third side: the API's own upsert statements (service/repositories/sync.py `_upsert`, the
records validated as the API does, in the bench process) sent through the raw driver, without HTTP or the
change feed (the records list no organizations, and no side sends an Idempotency-Key): how far the statements
themselves are from the peer's plain MERGE.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import shutil
import signal
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from neo4j import GraphDatabase

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import graph_queries  # noqa: E402
from bench.common import start_api  # noqa: E402
from service.cli import neo4j_local  # noqa: E402

PEER = graph_queries.load_all(Path(__file__).resolve().parent)
TOPICS = ["math", "literacy", "equity", "sel", "ell", "stem", "leadership", "assessment"]
ADMIN_KEY = "bench-admin-key-0123456789"
BATCH = 1000
# The bench measures throughput, not the per-key request limits (sync: 120 requests a minute by default).
UNLIMITED = json.dumps({family: "10000000/minute" for family in ("read", "write", "sync", "analytics", "admin")})


def generate(members: int, collaborations: int, seed: int = 1):
    rng = random.Random(seed)
    member_records = [{"external_id": f"m{i}", "name": f"Member {i}", "role": rng.choice(["teacher", "coach"]),
                       "region": rng.choice(["north", "south", "east", "west"]),
                       "topics": rng.sample(TOPICS, 2)} for i in range(members)]
    pairs: set[tuple[int, int]] = set()
    while len(pairs) < collaborations:
        a, b = rng.randrange(members), rng.randrange(members)
        if a != b:
            pairs.add((min(a, b), max(a, b)))
    tie_records = [{"external_id": f"c{n}", "source_external_id": f"m{a}", "target_external_id": f"m{b}",
                    "kind": "project", "strength": rng.randint(1, 5)} for n, (a, b) in enumerate(sorted(pairs))]
    return member_records, tie_records


def batches(records):
    return [records[i:i + BATCH] for i in range(0, len(records), BATCH)]


# CPU seconds by process, per side and phase: [client, *servers] (raw: Neo4j; API: Neo4j, gunicorn).
SPLIT: dict[tuple[str, str], list[float]] = {}


def run_parallel(send, chunks, threads: int, servers=(), label=None) -> tuple[float, float]:
    """Wall seconds, and CPU seconds spent by this process and the server processes (with their children)."""
    def sample():
        return [time.process_time(), *(cpu_seconds(pid) for pid in servers)]

    before = sample()
    started = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(send, chunks))
    wall = time.perf_counter() - started
    spent = [after - first for after, first in zip(sample(), before)]
    if label:
        SPLIT[label] = spent
    return wall, sum(spent)


def timed_phases(side: str, send_members, send_ties, members, ties, threads: int, servers,
                 warmup=((), ())) -> dict[str, tuple[float, float]]:
    """One side's run: the untimed warm-up records, then members and collaborations timed (wall, CPU), the
    CPU split by process kept in SPLIT under `side`."""
    run_parallel(send_members, batches(warmup[0]), threads)
    run_parallel(send_ties, batches(warmup[1]), threads)
    return {"members": run_parallel(send_members, batches(members), threads, servers, (side, "members")),
            "collaborations": run_parallel(send_ties, batches(ties), threads, servers, (side, "collaborations"))}


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a live process and its live children (Linux /proc)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return 0.0
    own = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return own + sum(cpu_seconds(int(child)) for child in children)


# --- the raw driver ---------------------------------------------------------------------------

def raw_side(uri: str, neo4j_pid: int, members, ties, threads: int, warmup=((), ())) -> dict[str, tuple[float, float]]:
    with GraphDatabase.driver(uri, auth=None) as driver:
        driver.execute_query(PEER["peer_member_key"].text)

        def write(name, rows):
            def work(tx):
                tx.run(PEER[name].text, rows=rows).consume()
            with driver.session() as session:
                session.execute_write(work)

        def send_members(chunk):
            write("peer_upsert_members", [{"key": f"crm:{r['external_id']}",
                                           "props": {k: v for k, v in r.items() if k != "external_id"}}
                                          for r in chunk])

        def send_ties(chunk):
            write("peer_upsert_collaborations", [{"key": f"crm:{r['external_id']}",
                                                  "source_key": f"crm:{r['source_external_id']}",
                                                  "target_key": f"crm:{r['target_external_id']}",
                                                  "props": {"kind": r["kind"], "strength": r["strength"]}}
                                                 for r in chunk])

        return timed_phases("raw", send_members, send_ties, members, ties, threads, [neo4j_pid], warmup)


# --- the API ------------------------------------------------------------------------------------

def api_side(port: int, servers: list[int], members, ties, threads: int,
             warmup=((), ())) -> dict[str, tuple[float, float]]:
    local = threading.local()

    def post(path: str, chunk) -> None:
        if not hasattr(local, "connection"):
            local.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
        body = json.dumps({"source": "crm", "records": chunk})
        local.connection.request("POST", path, body=body, headers={
            "Authorization": f"Bearer {ADMIN_KEY}", "Content-Type": "application/json"})
        response = local.connection.getresponse()
        payload = response.read()
        if response.status != 200:
            raise RuntimeError(f"{path}: {response.status} {payload[:300]!r}")

    return timed_phases("api", lambda c: post("/v1/sync/members", c), lambda c: post("/v1/sync/collaborations", c),
                        members, ties, threads, servers, warmup)


# --- the API's statements through the raw driver ---------------------------------------------------

def statements_side(uri: str, neo4j_pid: int, members, ties, threads: int,
                    warmup=((), ())) -> dict[str, tuple[float, float]]:
    from service import create_app, db
    from service.repositories import sync as sync_repo

    app = create_app({"NEO4J_URI": uri})   # the API's schema: constraints and indexes
    graph = app.extensions[db.EXTENSION]
    graph.ensure_bootstrapped()
    graph.close()
    with GraphDatabase.driver(uri, auth=None, notifications_disabled_classifications=["UNRECOGNIZED"]) as driver:
        def sender(resource):
            def send(chunk):
                failed, valid = sync_repo._validate(resource, chunk)
                if any(failed) or len(valid) != len(chunk):
                    raise RuntimeError(f"{resource}: records the API would reject: {[f for f in failed if f][:1]}")
                with driver.session(database=graph.database) as session:
                    results = session.execute_write(lambda tx: sync_repo._upsert(tx, resource, "crm", valid))
                if len(results) != len(chunk) or any(r["status"] not in ("created", "updated", "unchanged")
                                                     for r in results):
                    raise RuntimeError(f"{resource}: not every record was written: {results[:1]}")
            return send

        return timed_phases("statements", sender("members"), sender("collaborations"), members, ties, threads,
                            [neo4j_pid], warmup)


def with_neo4j(label: str, heap_mb: int, pagecache_mb: int, body):
    data = Path(tempfile.mkdtemp(prefix=f"netweave-bench-{label}-"))
    running = neo4j_local.start(port=0, data_dir=data, heap_mb=heap_mb, pagecache_mb=pagecache_mb)
    try:
        return body(running.uri, running.pid)
    finally:
        neo4j_local.stop(data)
        shutil.rmtree(data, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--collaborations", type=int, default=300_000)
    parser.add_argument("--threads", type=int, default=2, help="client threads on each side")
    parser.add_argument("--warmup", type=int, default=0, help=(
        "members (and 3x as many ties) each side writes first, untimed, under other external ids: the "
        "figures then leave out a fresh Neo4j's JIT warm-up and first store growth (default 0: a cold start)"))
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--statements", action="store_true",
                        help="also time the API's upsert statements sent by the raw driver (see above)")
    parser.add_argument("--heap-mb", type=int, default=2048)
    parser.add_argument("--pagecache-mb", type=int, default=1024)
    args = parser.parse_args()

    members, ties = generate(args.members, args.collaborations)
    warmup = tuple([{**record, **{key: f"w{record[key]}" for key in ("external_id", "source_external_id",
                                                                       "target_external_id") if key in record}}
                    for record in records]
                   for records in generate(args.warmup, 3 * args.warmup, seed=2)) if args.warmup else ((), ())
    print(f"records: {len(members)} members, {len(ties)} collaborations; batches of {BATCH}; "
          f"{args.threads} client threads; Neo4j heap {args.heap_mb} MB, page cache {args.pagecache_mb} MB; "
          f"untimed warm-up: {args.warmup} members, {3 * args.warmup} collaborations")

    raw = with_neo4j("raw", args.heap_mb, args.pagecache_mb,
                     lambda uri, pid: raw_side(uri, pid, members, ties, args.threads, warmup))

    def api_run(uri, neo4j_pid):
        process, port = start_api(uri, ADMIN_KEY, args.workers,
                                  NETWEAVE_MAX_BODY_BYTES=str(8 * 1024 * 1024), NETWEAVE_RATE_LIMITS=UNLIMITED)
        try:
            return api_side(port, [neo4j_pid, process.pid], members, ties, args.threads, warmup)
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(60)

    api = with_neo4j("api", args.heap_mb, args.pagecache_mb, api_run)
    statements = with_neo4j("statements", args.heap_mb, args.pagecache_mb,
                            lambda uri, pid: statements_side(uri, pid, members, ties, args.threads, warmup)
                            ) if args.statements else None

    print(f"{'phase':<16}{'raw driver rec/s':>18}{'netweave API rec/s':>20}{'ratio':>8}"
          f"{'raw CPU s/1k':>14}{'API CPU s/1k':>14}{'CPU ratio':>11}")
    totals = {"raw": [0.0, 0.0], "api": [0.0, 0.0]}
    for phase, count in (("members", len(members)), ("collaborations", len(ties))):
        (raw_wall, raw_cpu), (api_wall, api_cpu) = raw[phase], api[phase]
        for side, (wall, cpu) in (("raw", raw[phase]), ("api", api[phase])):
            totals[side][0] += wall
            totals[side][1] += cpu
        print(f"{phase:<16}{count / raw_wall:>18,.0f}{count / api_wall:>20,.0f}{raw_wall / api_wall:>8.2f}"
              f"{raw_cpu * 1000 / count:>14.3f}{api_cpu * 1000 / count:>14.3f}{raw_cpu / api_cpu:>11.2f}")
    count = len(members) + len(ties)
    (raw_wall, raw_cpu), (api_wall, api_cpu) = totals["raw"], totals["api"]
    print(f"{'all records':<16}{count / raw_wall:>18,.0f}{count / api_wall:>20,.0f}{raw_wall / api_wall:>8.2f}"
          f"{raw_cpu * 1000 / count:>14.3f}{api_cpu * 1000 / count:>14.3f}{raw_cpu / api_cpu:>11.2f}")
    if statements:
        wall, cpu = (sum(statements[phase][k] for phase in statements) for k in (0, 1))
        print(f"{'statements only':<16}{count / raw_wall:>18,.0f}{count / wall:>20,.0f}{raw_wall / wall:>8.2f}"
              f"{raw_cpu * 1000 / count:>14.3f}{cpu * 1000 / count:>14.3f}{raw_cpu / cpu:>11.2f}"
              "   <- the API's validation and upsert statements, sent by the raw driver, in the API's column")
    print("CPU s/1k by process (client / Neo4j / gunicorn):")
    for phase, count in (("members", len(members)), ("collaborations", len(ties))):
        for side in ("raw", "api", *(("statements",) if statements else ())):
            print(f"  {phase:<16}{side:<11}" + " / ".join(f"{cpu * 1000 / count:.3f}" for cpu in SPLIT[side, phase]))
    print("CPU: seconds of CPU per 1,000 records spent by Neo4j, the API's gunicorn processes and this client "
          "together; on a shared machine their ratio moves less than the wall-clock one")
    print("goal: the API at least 0.70x the raw driver's records per second")


if __name__ == "__main__":
    main()
