"""How the in-process analytics grow with the network: memory of the projection a worker holds and the
time of the igraph algorithms, at several sizes, for docs/scaling.md's 10x and 100x calculation.

    .venv/bin/python bench/scaling_memory.py                       # 10k/100k, 20k/200k, 50k/500k
    .venv/bin/python bench/scaling_memory.py --sizes 100000:1000000

No Neo4j: rows shaped like the `analytics_projection` statement's (the generator of bench/analytics.py)
go through the same `from_rows`, Leiden and bridge code the API runs. Each size runs in a fresh
process so its resident memory is its own; the peer is the per-tie fit across sizes, printed with
the extrapolation to 10x and 100x of the largest size measured.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

DEFAULT_SIZES = "10000:100000,20000:200000,50000:500000"


def rss_bytes() -> int:
    with open(f"/proc/{os.getpid()}/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def rows_like_the_projection(members: int, ties: int) -> list[tuple]:
    from bench.analytics import generate

    _, member_rows, tie_rows = generate(members, ties, max(members // 100, 2))
    # Ties name the other party by a node id, as the statement's do (ids spread out like Neo4j's).
    node = {row["id"]: 3 * i + 11 for i, row in enumerate(member_rows)}
    outgoing: dict[str, list] = {row["id"]: [] for row in member_rows}
    for tie in tie_rows:
        if tie["ended_on"] is None:
            outgoing[tie["a"]].append((node[tie["b"]], tie["strength"]))
    return [(row["id"], "member", row["region"], row["role"], row["topics"], [row["organization_id"]],
             [b for b, _ in outgoing[row["id"]]], [s for _, s in outgoing[row["id"]]], None, node[row["id"]])
            for row in member_rows]


def measure(members: int, ties: int) -> dict:
    """One size, in this process: resident memory at each stage and the algorithms' seconds.

    `held` is what a worker holds at the end of the read: the result rows and the projection built
    from them (the driver's records weigh more than these tuples, so the API's figure is higher).
    """
    from service.analytics import bridges, clusters
    from service.analytics.projection import from_rows

    base = rss_bytes()
    rows = rows_like_the_projection(members, ties)
    gc.collect()
    with_rows = rss_bytes()
    started = time.perf_counter()
    projection = from_rows(rows, by_node=True)
    build = time.perf_counter() - started
    with_projection = rss_bytes()
    started = time.perf_counter()
    clusters.leiden(projection, resolution=1.0, seed=42)
    leiden = time.perf_counter() - started
    started = time.perf_counter()
    tree = bridges.block_cut_tree(projection)
    bridge_ties = bridges.bridge_ties(projection)
    cut = time.perf_counter() - started
    return {"members": members, "ties": projection.graph.ecount(), "base": base,
            "rows": with_rows - base, "projection": with_projection - with_rows,
            "held": with_projection - base,
            "build_s": build, "leiden_s": leiden, "bridges_s": cut,
            "articulation_points": len(tree.cut_node) if tree else 0, "bridge_ties": len(bridge_ties)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default=DEFAULT_SIZES, help="members:ties,members:ties,...")
    parser.add_argument("--one", help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.one:
        members, ties = map(int, options.one.split(":"))
        print(json.dumps(measure(members, ties)))
        return
    results = []
    for size in options.sizes.split(","):
        out = subprocess.run([sys.executable, __file__, "--one", size], capture_output=True, text=True, check=True)
        results.append(json.loads(out.stdout.strip().splitlines()[-1]))
    report(results)


def report(results: list[dict]) -> None:
    mb = 1024 ** 2
    print(f"{'members':>9s}{'ties':>10s}{'rows MB':>9s}{'proj MB':>9s}{'held MB':>9s}"
          f"{'build s':>9s}{'leiden s':>9s}{'bridges s':>10s}")
    for r in results:
        print(f"{r['members']:9d}{r['ties']:10d}{r['rows'] / mb:9.0f}{r['projection'] / mb:9.0f}{r['held'] / mb:9.0f}"
              f"{r['build_s']:9.2f}{r['leiden_s']:9.2f}{r['bridges_s']:10.2f}")
    # Memory and time grow with ties (members are a tenth of them here): fit bytes and seconds per tie.
    total_ties = sum(r["ties"] for r in results)
    per_tie = {key: sum(r[key] for r in results) / total_ties for key in ("rows", "projection", "held")}
    seconds = {key: sum(r[key] for r in results) / total_ties for key in ("build_s", "leiden_s", "bridges_s")}
    print("per tie: " + ", ".join(f"{k} {v:.0f} B" for k, v in per_tie.items())
          + "; " + ", ".join(f"{k} {v * 1e6:.2f} us" for k, v in seconds.items()))
    largest = max(results, key=lambda r: r["ties"])
    for factor in (10, 100):
        ties = largest["ties"] * factor
        print(f"{factor:>4d}x of {largest['ties']:,} ties ({ties:,}): rows + projection {per_tie['held'] * ties / 1024**3:.1f} GB "
              f"per worker, build+leiden+bridges ~{sum(seconds.values()) * ties:.0f} s (linear fit; "
              "Leiden and Neo4j's read grow slightly faster than linear)")


if __name__ == "__main__":
    main()
