"""What whole-graph exports cost the partner apps' requests: written by the API itself, or written by
`netweave worker` and relayed by the API (service/exports/relay.py).

One local Neo4j with a network of --members (the demo network up to 5,000, else bench/analytics.py's
planted one with 10 ties a member), a redis-server of the run's own and one `netweave worker`, and two
APIs on them (gunicorn, --workers each, both with the queue): one with NETWEAVE_EXPORTS_IN_WORKER=0 (the
peer: it writes exports itself, as before), one relaying them from the worker. Three sides, each --seconds
in all, split into --rounds rounds in mirrored order:

- `alone`: bench/load.py's read mix (reads, searches, recommendations; no writes, so every side meets the
  same graph) from --clients clients;
- `api`: the same mix plus --exporters clients each downloading a GraphML export of the whole graph every
  --interval seconds (back to back when one takes longer), all against the API that writes them;
- `worker`: the same against the API that relays them.

It prints, per side, the mix's requests/s and p50/p99 per family, the exports finished (mean seconds and
MB/s), and the CPU seconds of each API, Neo4j and the worker; then each export side's p99 and throughput
against `alone`. The goal, issue 15's for analytics applied to exports: with exports going on, the mix's
p99 at most 1.25x and its throughput at least 0.85x of the mix alone.

    .venv/bin/python bench/export_load.py --members 20000 --seconds 120
"""

from __future__ import annotations

import argparse
import http.client
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import cpu_seconds, start_api, start_queue, tear_down, verdict  # noqa: E402
from bench.load import (ADMIN_KEY, AUTH, P99_FAMILIES, UNLIMITED, Workload, _ids, percentile,  # noqa: E402
                        report, run_load, seed_network)
from service.cli import neo4j_local  # noqa: E402

P99_GOAL, THROUGHPUT_GOAL = 1.25, 0.85
MIX_SKIP = frozenset({"write", "sync", "analytics"})


def export_loop(port: int, deadline: float, done: list[tuple[float, int]], failures: list[str],
                interval: float = 0.0) -> None:
    """Downloads whole-graph GraphML exports, one every `interval` seconds (or back to back once one takes
    longer, and with 0), the first at once, the last begun before `deadline`: (seconds, bytes) of each."""
    begun, next_start = False, time.monotonic()
    while not begun or time.monotonic() < deadline:
        wait = next_start - time.monotonic()
        if begun and time.monotonic() + max(wait, 0.0) >= deadline:
            return
        time.sleep(max(wait, 0.0))
        begun, next_start = True, time.monotonic() + interval
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=900)
        started, size = time.monotonic(), 0
        try:
            connection.request("GET", "/v1/export?format=graphml", headers=AUTH)
            response = connection.getresponse()
            while chunk := response.read(1 << 16):
                size += len(chunk)
            if response.status != 200:
                failures.append(f"export answered {response.status}")
                time.sleep(1)
                continue
        except (OSError, http.client.HTTPException) as error:
            failures.append(f"export failed: {type(error).__name__}: {error}")
            continue
        finally:
            connection.close()
        done.append((time.monotonic() - started, size))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--members", type=int, default=20_000)
    parser.add_argument("--seconds", type=float, default=120.0, help="per side, over all its rounds")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--clients", type=int, default=16, help="clients of the read mix")
    parser.add_argument("--exporters", type=int, default=2, help="clients downloading exports")
    parser.add_argument("--interval", type=float, default=20.0,
                        help="seconds between the starts of one exporter's exports (0: back to back); a fixed "
                             "rate gives both sides the same export work, whichever writes exports faster")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers of each API")
    args = parser.parse_args()

    data = Path(tempfile.mkdtemp(prefix="netweave-export-load-"))
    running = neo4j_local.start(port=0, data_dir=data, log=lambda line: None, heap_mb=1024, pagecache_mb=512)
    apis, helpers, failures = {}, [], []
    try:
        seed_network(running.uri, args.members)
        helpers, url = start_queue(data, running.uri, ADMIN_KEY, 1)
        for name, in_worker in (("api", "0"), ("worker", "1")):
            apis[name] = start_api(running.uri, ADMIN_KEY, args.workers, NETWEAVE_RATE_LIMITS=UNLIMITED,
                                   NETWEAVE_QUEUE_URL=url, NETWEAVE_EXPORTS_IN_WORKER=in_worker)
        port = apis["worker"][1]
        members, organizations = _ids(port, "/v1/members?limit=100"), _ids(port, "/v1/organizations?limit=100")
        # One export each way first: the worker's projection, the page cache and both APIs warm up.
        for name in ("api", "worker"):
            export_loop(apis[name][1], 0.0, [], failures)
        print(f"export load: {args.members} members; mix of {args.clients} clients, {args.exporters} exporters "
              f"(an export each every {args.interval:.0f} s); "
              f"{args.workers} gunicorn workers per API; {args.seconds:.0f} s per side in {args.rounds} round(s)")
        sides = ["alone", "api", "worker"]
        order = [side for number in range(args.rounds) for side in (sides if number % 2 == 0 else sides[::-1])]
        parts = {"API writing exports": apis["api"][0].pid, "API relaying exports": apis["worker"][0].pid,
                 "Neo4j": running.pid, "worker": helpers[1].pid}
        samples = {side: [] for side in sides}
        exported = {side: [] for side in sides}
        elapsed = {side: 0.0 for side in sides}
        cpu = {side: defaultdict(float) for side in sides}
        part = args.seconds / args.rounds
        for side in order:
            target = apis["worker" if side == "alone" else side][1]
            cpu_before = {name: cpu_seconds(pid) for name, pid in parts.items()}
            started = time.monotonic()
            exporters = [] if side == "alone" else [
                threading.Thread(target=export_loop, args=(target, started + part, exported[side], failures,
                                                           args.interval))
                for _ in range(args.exporters)]
            for thread in exporters:
                thread.start()
            samples[side] += run_load(target, Workload(members, organizations, MIX_SKIP), part, args.clients, None)
            for thread in exporters:
                thread.join()
            elapsed[side] += time.monotonic() - started
            for name, pid in parts.items():
                cpu[side][name] += cpu_seconds(pid) - cpu_before[name]
        for side in sides:
            print(f"--- {side} ({elapsed[side]:.0f} s)")
            report(samples[side], elapsed[side])
            if exported[side]:
                seconds = sum(s for s, _ in exported[side]) / len(exported[side])
                megabytes = sum(b for _, b in exported[side]) / len(exported[side]) / 1e6
                print(f"exports finished: {len(exported[side])}, {seconds:.1f} s and {megabytes:.1f} MB each "
                      f"({megabytes / seconds:.1f} MB/s per export)")
            print("CPU seconds: " + ", ".join(f"{name} {total:.0f}" for name, total in cpu[side].items()))
            errors = [s for s in samples[side] if s.status >= 500 or s.status == 0]
            if errors:
                failures.append(f"{side}: {len(errors)} requests of the mix answered 5xx or dropped")
        print(f"--- against the mix alone (goals: p99 <= {P99_GOAL}x, throughput >= {THROUGHPUT_GOAL}x)")
        print(f"{'family':<10} {'alone p99':>10} {'api p99':>9} {'ratio':>6} {'worker p99':>11} {'ratio':>6}")
        families = [family for family in P99_FAMILIES if family not in MIX_SKIP] + ["search"]
        p99 = {side: {family: percentile([s.seconds * 1000 for s in samples[side]
                                          if s.family == family and 200 <= s.status < 300], 0.99)
                      for family in families} for side in sides}
        for family in families:
            alone = p99["alone"][family]
            print(f"{family:<10} {alone:>10.1f} {p99['api'][family]:>9.1f} {p99['api'][family] / alone:>6.2f} "
                  f"{p99['worker'][family]:>11.1f} {p99['worker'][family] / alone:>6.2f}")
        rate = {side: len(samples[side]) / elapsed[side] for side in sides}
        print(f"throughput: alone {rate['alone']:.1f} req/s, api {rate['api']:.1f} ({rate['api'] / rate['alone']:.2f}x), "
              f"worker {rate['worker']:.1f} ({rate['worker'] / rate['alone']:.2f}x)")
    finally:
        tear_down([process for process, _ in apis.values()] + list(reversed(helpers)), data)
    return verdict(failures)


if __name__ == "__main__":
    sys.exit(main())
