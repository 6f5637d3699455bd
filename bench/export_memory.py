"""Export benchmark: peak memory of the streamed export against the naive peer (read everything, build a
networkx graph, write the document into memory), on a large generated network, in the same run.

    .venv/bin/python bench/export_memory.py --uri bolt://127.0.0.1:7687          # 100,000 members, 300,000 ties
    .venv/bin/python bench/export_memory.py --uri ... --members 20000 --ties 60000

The database at --uri must be empty or hold this bench's network (it is loaded once, with the statements of
bench/analytics.cypher). Each measurement runs in a fresh interpreter and reports its peak resident set
(ru_maxrss), so the figures are the process's, not an estimate; "baseline" is the same interpreter with
everything imported and an export opened but not read, so the difference is what streaming costs.
"""

from __future__ import annotations

import argparse
import io
import json
import resource
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

MODES = ("baseline", "stream-graphml", "stream-csv", "stream-json", "peer-graphml")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--uri", required=True)
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--ties", type=int, default=300_000)
    parser.add_argument("--communities", type=int, default=200)
    parser.add_argument("--child", choices=MODES, help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.child:
        print(json.dumps(measure(options.uri, options.child)))
        return
    _load(options)
    figures = {}
    for mode in MODES:
        out = subprocess.run([sys.executable, __file__, "--uri", options.uri, "--child", mode],
                             capture_output=True, text=True, check=True)
        figures[mode] = json.loads(out.stdout.strip().splitlines()[-1])
        print(f"{mode}: {json.dumps(figures[mode])}", flush=True)
    base = figures["baseline"]["max_rss_mb"]
    for mode in MODES[1:]:
        f = figures[mode]
        print(f"{mode:15} {f['bytes'] / 1e6:8.1f} MB document  peak RSS {f['max_rss_mb']:7.1f} MB "
              f"(+{f['max_rss_mb'] - base:6.1f} MB over baseline {base:.1f})  {f['seconds']:6.1f} s")


def _load(options: argparse.Namespace) -> None:
    from bench.analytics import BATCH, Q, _driver, generate
    from service import create_app, db

    app = create_app({"NEO4J_URI": options.uri})
    app.extensions[db.EXTENSION].ensure_bootstrapped()
    app.extensions[db.EXTENSION].close()
    with _driver(options.uri) as driver:
        have = driver.execute_query(Q["bench_count_members"]).records[0]["members"]
        if have:
            print(f"network already loaded: {have:,} members")
            return
        started = time.perf_counter()
        organizations, members, ties = generate(options.members, options.ties, options.communities)
        for name, rows in (("bench_organizations", organizations), ("bench_members", members),
                           ("bench_collaborations", ties)):
            for start in range(0, len(rows), BATCH):
                driver.execute_query(Q[name], rows=rows[start:start + BATCH])
        print(f"loaded {len(members):,} members, {len(ties):,} collaborations in "
              f"{time.perf_counter() - started:.1f} s", flush=True)


def measure(uri: str, mode: str) -> dict:
    from service import create_app, db, exports

    app = create_app({"NEO4J_URI": uri})
    graph = app.extensions[db.EXTENSION]
    started, size = time.perf_counter(), 0
    with app.app_context():
        if mode == "peer-graphml":
            size = _peer(graph)
        else:
            fmt = "graphml" if mode == "baseline" else mode.removeprefix("stream-")
            export = exports.start(graph, exports.Selection(as_of=date.today()), fmt, pii=False)
            if mode == "baseline":
                export.close()
            else:
                size = sum(len(chunk) for chunk in export.chunks())
    graph.close()
    return {"bytes": size, "seconds": round(time.perf_counter() - started, 2),
            "max_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}


def _peer(graph) -> int:
    """The obvious way: every row in a list, a networkx graph with the attributes, the document in memory."""
    import networkx as nx

    from service.exports import Selection

    params = {**Selection(as_of=date.today()).params(), "pii": False}
    members = graph.read(lambda tx: [r.data() for r in tx.run(_text("export_members"), params)])
    ties = graph.read(lambda tx: [r.data() for r in tx.run(_text("export_collaborations"), params)])
    network = nx.MultiGraph()
    for row in members:
        network.add_node(row["id"], label=row["name"], region=row["region"] or "", role=row["role"] or "",
                         topics="; ".join(row["topics"]), cluster_id=row["cluster_id"] or "")
    for row in ties:
        network.add_edge(row["source"], row["target"], key=row["id"], kind=row["kind"], strength=row["strength"])
    buffer = io.BytesIO()
    nx.write_graphml(network, buffer)
    return len(buffer.getvalue())


def _text(name: str) -> str:
    import graph_queries

    return graph_queries.get(name).text


if __name__ == "__main__":
    main()
