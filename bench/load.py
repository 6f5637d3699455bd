"""Mixed load against gunicorn + a local Neo4j + analytics workers, with the analytics family and without it.

32 client threads (keep-alive connections) send a mix of reads, searches, single writes, sync
batches, recommendations and analytics for --minutes against `netweave serve` over a fresh local
Neo4j seeded with the demo network. By default the analytics run in `netweave worker` processes
behind a redis-server of the run's own (NETWEAVE_QUEUE_URL); --inline computes them in the web
workers instead, as without a queue. The same mix runs with the analytics family and without it (the
peer), --minutes each, split into --rounds rounds per side in mirrored order (without, with, with,
without), since the writes grow the graph all along and a side run wholly second would meet a larger one.
The run prints, per side: requests/s and p50/p99 per endpoint family, the CPU seconds the API, Neo4j and
each analytics worker spent, and the statements and routes the API spent most time in; then each
analytics worker's resident memory (now and at its peak) and the ratios the goals are set on. It checks:
no 5xx (or, with --outage, 503 only, only while Neo4j is down or just after, and none once the API has
recovered), and that every write the API acknowledged (2xx) is there at the end, checked against the
client's own log.

    .venv/bin/python bench/load.py --minutes 3                          # both sides, demo network
    .venv/bin/python bench/load.py --minutes 3 --members 20000          # a 20,000-member network
    .venv/bin/python bench/load.py --minutes 5 --outage 20 --sides with # Neo4j SIGKILLed for 20 s

Exit status 1 when a check fails (goals missed are printed, not failed: they are figures to report).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import (cpu_seconds, memory, print_time_split, query_seconds, start_api, start_queue,  # noqa: E402
                          tear_down, verdict)
from service.cli import neo4j_local  # noqa: E402

ADMIN_KEY = "bench-load-admin-key-0123456789"
AUTH = {"Authorization": f"Bearer {ADMIN_KEY}"}
UNLIMITED = json.dumps({family: "10000000/minute" for family in ("read", "write", "sync", "analytics", "admin")})
TOPICS = ["math", "literacy", "equity", "sel", "ell", "stem", "leadership", "assessment"]
SYNC_BATCH = 50
# After Neo4j answers Bolt again, how long the API may still answer 503 (pooled connections found
# dead, the driver's retry budget, the 5 s Retry-After of a client) before that counts as not recovered.
RECOVERY_GRACE_SECONDS = 15.0


@dataclass
class Sample:
    family: str
    status: int
    started: float
    seconds: float


class Client:
    """One keep-alive connection; reconnects after a dropped one (which counts as status 0)."""

    def __init__(self, port: int):
        self.port = port
        self.connection: http.client.HTTPConnection | None = None

    def call(self, method: str, path: str, body=None, headers=None) -> tuple[int, bytes]:
        payload = json.dumps(body).encode() if body is not None else None
        all_headers = {**AUTH, **({"Content-Type": "application/json"} if payload else {}), **(headers or {})}
        for attempt in (1, 2):
            if self.connection is None:
                self.connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
            try:
                self.connection.request(method, path, body=payload, headers=all_headers)
                response = self.connection.getresponse()
                return response.status, response.read()
            except (OSError, http.client.HTTPException):
                self.connection.close()
                self.connection = None
                if attempt == 2:
                    return 0, b""
        return 0, b""


class Workload:
    """The mix; every acknowledged write goes into `acknowledged` (member ids), under a lock."""

    MIX = [("read", 30), ("search", 15), ("write", 10), ("sync", 8), ("recommend", 12), ("analytics", 5)]

    def __init__(self, member_ids: list[str], organization_ids: list[str], skip: frozenset[str] = frozenset()):
        self.member_ids = member_ids
        self.organization_ids = organization_ids
        self.acknowledged: set[str] = set()
        self.lock = threading.Lock()
        mix = [(name, weight) for name, weight in self.MIX if name not in skip]
        self.families = [name for name, _ in mix]
        self.weights = [weight for _, weight in mix]

    def one(self, client: Client, rng: random.Random) -> tuple[str, int]:
        family = rng.choices(self.families, self.weights)[0]
        return family, getattr(self, family)(client, rng)

    def read(self, client, rng):
        choice = rng.random()
        member = rng.choice(self.member_ids)
        if choice < 0.4:
            return client.call("GET", f"/v1/members/{member}")[0]
        if choice < 0.6:
            return client.call("GET", f"/v1/members/{member}/collaborators")[0]
        if choice < 0.8:
            return client.call("GET", f"/v1/organizations/{rng.choice(self.organization_ids)}")[0]
        return client.call("GET", "/v1/members?limit=50")[0]

    def search(self, client, rng):
        if rng.random() < 0.5:
            return client.call("GET", f"/v1/members?q={rng.choice('aeinorst')}{rng.choice('aeinorst')}&limit=20")[0]
        return client.call("GET", f"/v1/members?topic={rng.choice(TOPICS)}&limit=20")[0]

    def write(self, client, rng):
        status, body = client.call("POST", "/v1/members", {
            "name": f"Load {uuid.uuid4().hex[:10]}", "role": "teacher", "topics": rng.sample(TOPICS, 2)},
            headers={"Idempotency-Key": uuid.uuid4().hex})
        if status == 201:
            self._ack([json.loads(body)["id"]])
        return status

    def sync(self, client, rng):
        batch = uuid.uuid4().hex[:12]
        records = [{"external_id": f"{batch}-{i}", "name": f"Synced {batch}-{i}", "topics": rng.sample(TOPICS, 2),
                    "region": rng.choice(["north", "south", "east", "west"])} for i in range(SYNC_BATCH)]
        status, body = client.call("POST", "/v1/sync/members", {"source": "loadtest", "records": records},
                                   headers={"Idempotency-Key": f"load-{batch}"})
        if status in (200, 207):
            self._ack([row["id"] for row in json.loads(body)["results"] if row["status"] in ("created", "updated")])
        return status

    def recommend(self, client, rng):
        return client.call("GET", f"/v1/members/{rng.choice(self.member_ids)}/recommendations?limit=5")[0]

    def analytics(self, client, rng):
        path = rng.choice(["/v1/analytics/health", "/v1/analytics/bridges?limit=5", "/v1/analytics/clusters?limit=5"])
        return client.call("GET", path)[0]

    def _ack(self, ids: list[str]) -> None:
        with self.lock:
            self.acknowledged.update(ids)


def _ids(port: int, path: str) -> list[str]:
    client, ids, cursor = Client(port), [], None
    while True:
        status, body = client.call("GET", path + (f"&cursor={cursor}" if cursor else ""))
        assert status == 200, (status, body[:200])
        page = json.loads(body)
        ids += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            return ids


# With an outage, the load goes on at least this long after Neo4j is back, to see the recovery.
AFTER_OUTAGE_SECONDS = 30.0


def run_load(port: int, workload: Workload, seconds: float, clients: int, window: dict | None) -> list[Sample]:
    samples: list[Sample] = []
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def going_on() -> bool:
        now = time.monotonic()
        if window is not None and ("up" not in window or now < window["up"] + AFTER_OUTAGE_SECONDS):
            return True
        return now < deadline

    def client_loop(number: int) -> None:
        rng, client, mine = random.Random(number), Client(port), []
        while going_on():
            started = time.monotonic()
            family, status = workload.one(client, rng)
            mine.append(Sample(family, status, started, time.monotonic() - started))
            if status == 503:
                time.sleep(0.5)  # what a client that honours Retry-After roughly does, without idling 5 s
        with lock:
            samples.extend(mine)

    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(client_loop, range(clients)))
    return samples


def outage(running: neo4j_local.Running, data: Path, after: float, seconds: float, window: dict) -> None:
    """SIGKILL Neo4j `after` seconds into the run, start it again `seconds` later (same port and data)."""
    time.sleep(after)
    window["down"] = time.monotonic()
    os.kill(running.pid, signal.SIGKILL)
    time.sleep(seconds)
    port = int(running.uri.rsplit(":", 1)[1])
    window["restarting"] = time.monotonic()
    neo4j_local.start(port=port, data_dir=data, log=lambda line: None, heap_mb=1024, pagecache_mb=256)
    window["up"] = time.monotonic()


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] if ordered else float("nan")


def report(samples: list[Sample], seconds: float) -> None:
    by_family: dict[str, list[Sample]] = defaultdict(list)
    for sample in samples:
        by_family[sample.family].append(sample)
    print(f"{'family':<10} {'requests':>8} {'req/s':>7} {'p50 ms':>8} {'p99 ms':>8}  statuses")
    for family in sorted(by_family):
        rows = by_family[family]
        ok = [s.seconds * 1000 for s in rows if 200 <= s.status < 300]
        statuses = defaultdict(int)
        for s in rows:
            statuses[s.status] += 1
        print(f"{family:<10} {len(rows):>8} {len(rows) / seconds:>7.1f} {percentile(ok, 0.5):>8.1f} "
              f"{percentile(ok, 0.99):>8.1f}  {dict(sorted(statuses.items()))}")
    print(f"{'all':<10} {len(samples):>8} {len(samples) / seconds:>7.1f}")


def check(samples: list[Sample], window: dict | None) -> list[str]:
    """Failures: any 5xx (or dropped connection) outside the outage, anything but 503 inside it."""
    failures = []
    unexpected = [s for s in samples if s.status >= 500 or s.status == 0 or s.status in (400, 401, 403, 404, 422)]
    if window is None:
        if unexpected:
            failures.append(f"{len(unexpected)} failed answers without an outage: "
                            f"{sorted({(s.family, s.status) for s in unexpected})}")
        return failures
    recovered_by = window["up"] + RECOVERY_GRACE_SECONDS
    inside = [s for s in unexpected if window["down"] - 1 <= s.started + s.seconds and s.started <= recovered_by]
    outside = [s for s in unexpected if s not in inside]
    not_503 = [s for s in inside if s.status != 503]
    if outside:
        failures.append(f"{len(outside)} failed answers outside the outage: "
                        f"{sorted({(s.family, s.status) for s in outside})}")
    if not_503:
        failures.append(f"{len(not_503)} answers other than 503 during the outage: "
                        f"{sorted({(s.family, s.status) for s in not_503})}")
    after = [s for s in samples if s.started > window["up"]]
    first_ok = min((s.started for s in after if 200 <= s.status < 300), default=None)
    print(f"outage: Neo4j killed for {window['restarting'] - window['down']:.1f} s, answering again "
          f"{window['up'] - window['down']:.1f} s after the kill; 503s during it: "
          f"{sum(1 for s in inside if s.status == 503)}; first 2xx {first_ok - window['up']:.1f} s after Neo4j "
          f"answered" if first_ok else "outage: no successful answer after Neo4j returned")
    if first_ok is None:
        failures.append("no request succeeded after Neo4j returned")
    return failures


def verify_acknowledged(port: int, ids: set[str], threads: int = 8) -> list[str]:
    def present(member_id: str) -> bool:
        return Client(port).call("GET", f"/v1/members/{member_id}")[0] == 200

    with ThreadPoolExecutor(threads) as pool:
        missing = [member_id for member_id, ok in zip(sorted(ids), pool.map(present, sorted(ids))) if not ok]
    print(f"acknowledged writes: {len(ids)}, missing at the end: {len(missing)}")
    return [f"{len(missing)} acknowledged members are missing: {missing[:5]}"] if missing else []


# The goals (issue: analytics in their own worker processes): with analytics in the mix, the p99 of these
# families at most 1.25x their p99 without, and throughput at least 0.85x.
P99_FAMILIES = ("read", "write", "sync", "recommend")
P99_GOAL, THROUGHPUT_GOAL = 1.25, 0.85


def compare(without: list[Sample], with_: list[Sample], seconds_without: float, seconds_with: float) -> None:
    """Both sides' p99 per family and throughput, and the ratios (with / without)."""
    print(f"{'family':<10} {'p99 without':>12} {'p99 with':>10} {'ratio':>7}  goal")
    for family in P99_FAMILIES:
        before = percentile([s.seconds * 1000 for s in without if s.family == family and 200 <= s.status < 300], 0.99)
        after = percentile([s.seconds * 1000 for s in with_ if s.family == family and 200 <= s.status < 300], 0.99)
        ratio = after / before if before else float("nan")
        print(f"{family:<10} {before:>12.1f} {after:>10.1f} {ratio:>7.2f}  <= {P99_GOAL} "
              f"{'met' if ratio <= P99_GOAL else 'MISSED'}")
    rate_without, rate_with = len(without) / seconds_without, len(with_) / seconds_with
    ratio = rate_with / rate_without
    print(f"{'req/s':<10} {rate_without:>12.1f} {rate_with:>10.1f} {ratio:>7.2f}  >= {THROUGHPUT_GOAL} "
          f"{'met' if ratio >= THROUGHPUT_GOAL else 'MISSED'}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=3.0, help="per side")
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--analytics-workers", type=int, default=1, help="`netweave worker` processes")
    parser.add_argument("--inline", action="store_true", help="no queue: analytics in the web workers")
    parser.add_argument("--members", type=int, default=1000, help="demo network size before the load")
    parser.add_argument("--warmup", type=float, default=30.0, help="seconds of the whole mix before timing")
    parser.add_argument("--sides", choices=["both", "with", "without"], default="both",
                        help="with or without the analytics family, or both in turn (without first)")
    parser.add_argument("--outage", type=float, default=0.0, metavar="SECONDS",
                        help="SIGKILL Neo4j for this long in the middle of each side (0: no outage)")
    parser.add_argument("--rounds", type=int, default=2,
                        help="rounds per side, in mirrored order (without, with, with, without, ...); 1 with --outage")
    parser.add_argument("--top", type=int, default=12, help="statements and routes listed per side by time spent")
    parser.add_argument("--skip", action="append", default=[], choices=[name for name, _ in Workload.MIX],
                        help="leave a family out of the mix (to see what it costs the others)")
    args = parser.parse_args()
    seconds = args.minutes * 60

    data = Path(tempfile.mkdtemp(prefix="netweave-load-"))
    running = neo4j_local.start(port=0, data_dir=data, log=lambda line: None, heap_mb=1024, pagecache_mb=256)
    process, helpers, failures = None, [], []
    try:
        seed_network(running.uri, args.members)
        queue = {}
        if not args.inline:
            helpers, url = start_queue(data, running.uri, ADMIN_KEY, args.analytics_workers)
            queue = {"NETWEAVE_QUEUE_URL": url}
        process, port = start_api(running.uri, ADMIN_KEY, args.workers, NETWEAVE_RATE_LIMITS=UNLIMITED,
                                  NEO4J_RETRY_SECONDS="2", NEO4J_CONNECT_TIMEOUT="1", **queue)
        members, organizations = _ids(port, "/v1/members?limit=100"), _ids(port, "/v1/organizations?limit=100")
        sides = {"both": ["without", "with"], "with": ["with"], "without": ["without"]}[args.sides]
        print(f"load: {args.clients} clients for {seconds:.0f} s per side against {args.workers} gunicorn "
              f"workers; analytics {'in the web workers' if args.inline else f'in {args.analytics_workers} worker process(es)'}; "
              f"{len(members)} members to start; outage {args.outage:.0f} s")
        acknowledged = set()
        if args.warmup:
            # Connections, caches and the worker's first projection warm up before either side is timed.
            warm = Workload(members, organizations, frozenset(args.skip))
            run_load(port, warm, args.warmup, args.clients, None)
            acknowledged |= warm.acknowledged
        # Each side's minutes are split into rounds run in mirrored order (without, with, with, without):
        # the writes and syncs grow the graph all along (by about 15,000 members a minute on the demo
        # network: `--minutes 1` acknowledged 35,767 in 2.5 minutes of load), so a side run wholly second
        # would meet a larger graph and slower searches.
        rounds = 1 if args.outage or len(sides) == 1 else args.rounds
        order = [side for number in range(rounds) for side in (sides if number % 2 == 0 else sides[::-1])]
        parts = {"API (gunicorn)": process.pid, "Neo4j": running.pid,
                 **{f"analytics worker {helper.pid}": helper.pid for helper in helpers[1:]}}
        results = {side: [] for side in sides}
        elapsed = {side: 0.0 for side in sides}
        cpu = {side: defaultdict(float) for side in sides}
        spent = {side: {} for side in sides}
        windows = {}
        for side in order:
            skip = frozenset(args.skip) | ({"analytics"} if side == "without" else frozenset())
            workload = Workload(members, organizations, skip)
            part = seconds / rounds
            window, killer = None, None
            if args.outage:
                window = windows[side] = {}
                killer = threading.Thread(target=outage, args=(running, data, (part - args.outage) / 2,
                                                               args.outage, window))
                killer.start()
            cpu_before = {name: cpu_seconds(pid) for name, pid in parts.items()}
            statements_before = query_seconds(port)
            started = time.monotonic()
            results[side] += run_load(port, workload, part, args.clients, window)
            elapsed[side] += time.monotonic() - started
            for name, pid in parts.items():
                cpu[side][name] += cpu_seconds(pid) - cpu_before[name]
            for name, (after_seconds, after_count) in query_seconds(port).items():
                before_seconds, before_count = statements_before.get(name, (0.0, 0))
                total = spent[side].get(name, (0.0, 0))
                spent[side][name] = (total[0] + after_seconds - before_seconds, total[1] + after_count - before_count)
            if killer:
                killer.join()
            acknowledged |= workload.acknowledged
        for side in sides:
            print(f"--- {side} the analytics family ({elapsed[side]:.0f} s in {rounds} round(s))")
            report(results[side], elapsed[side])
            print("CPU seconds in this side: " + ", ".join(f"{name} {total:.0f}" for name, total in cpu[side].items()))
            print("where the API's time went (statements, transactions, routes; summed over its workers):")
            print_time_split({}, spent[side], top=args.top)
            failures += check(results[side], windows.get(side))
        for helper in helpers[1:]:
            current, peak = memory(helper.pid)
            print(f"analytics worker {helper.pid}: RSS {current / 1024**2:.0f} MB, peak {peak / 1024**2:.0f} MB")
        if len(sides) == 2:
            print("--- with / without")
            compare(results["without"], results["with"], elapsed["without"], elapsed["with"])
        failures += verify_acknowledged(port, acknowledged)
    finally:
        tear_down(([process] if process is not None else []) + list(reversed(helpers)), data)
    return verdict(failures)


DEMO_MAX_MEMBERS = 5000   # what `netweave seed --demo` generates at most


def seed_network(uri: str, members: int) -> None:
    """The demo network of `members` (up to DEMO_MAX_MEMBERS), else the synthetic one below."""
    if members <= DEMO_MAX_MEMBERS:
        env = {**os.environ, "NEO4J_URI": uri, "NETWEAVE_ADMIN_KEY": ADMIN_KEY}
        subprocess.run([str(ROOT / ".venv" / "bin" / "netweave"), "seed", "--demo", "--members", str(members)],
                       env=env, check=True, stdout=subprocess.DEVNULL)
    else:
        synthetic(uri, members)


def synthetic(uri: str, members: int) -> None:
    """Above the demo generator's size: bench/analytics.py's network with planted communities, 10 ties a member."""
    from bench import analytics as analytics_bench

    options = argparse.Namespace(members=members, ties=members * 10, communities=max(members // 500, 2))
    analytics_bench.load_if_empty(uri, options)


if __name__ == "__main__":
    sys.exit(main())
