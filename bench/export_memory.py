"""Export benchmark: peak memory of the streamed export against the naive peer (read everything, build a
networkx graph, write the document into memory), on a large generated network, in the same run.

    .venv/bin/python bench/export_memory.py --uri bolt://127.0.0.1:7687          # 100,000 members, 300,000 ties
    .venv/bin/python bench/export_memory.py --uri ... --members 20000 --ties 60000

The database at --uri must be empty or hold this bench's network (it is loaded once, with the statements of
bench/analytics.cypher). Each measurement runs in a fresh interpreter where a thread samples the resident
set (/proc/self/statm) every 20 ms; "before" is the RSS once everything is imported and the export is
opened, "peak" the largest sample while it is read and written. (Not ru_maxrss: a child started with
fork+exec inherits its parent's peak, which would hide everything below it.)
"""

from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys
import threading
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

MODES = ("baseline", "stream-graphml", "stream-csv", "stream-json", "peer-graphml")
PAGE = os.sysconf("SC_PAGE_SIZE")


class RssSampler(threading.Thread):
    """The largest resident set seen, sampled every 20 ms until stopped."""

    def __init__(self):
        super().__init__(daemon=True)
        self.peak, self._done = rss_mb(), threading.Event()

    def run(self) -> None:
        while not self._done.wait(0.02):
            self.peak = max(self.peak, rss_mb())

    def stop(self) -> float:
        self._done.set()
        self.join()
        return max(self.peak, rss_mb())


def rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * PAGE / 2**20


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
    for mode in MODES[1:]:
        f = figures[mode]
        print(f"{mode:15} {f['bytes'] / 1e6:8.1f} MB document  RSS {f['rss_before_mb']:6.1f} MB before, "
              f"peak {f['rss_peak_mb']:7.1f} MB (+{f['rss_peak_mb'] - f['rss_before_mb']:7.1f} MB)  "
              f"{f['seconds']:6.1f} s")


def _load(options: argparse.Namespace) -> None:
    """The generated network of bench/analytics.py (same generator and loader), once per database."""
    from bench.analytics import load_if_empty

    load_if_empty(options.uri, options)


def measure(uri: str, mode: str) -> dict:
    from service import create_app, db
    from service import exports

    import networkx  # noqa: F401  (the peer's import, so every mode starts from the same interpreter)

    app = create_app({"NEO4J_URI": uri})
    graph = app.extensions[db.EXTENSION]
    size = 0
    with app.app_context():
        fmt = "graphml" if mode in ("baseline", "peer-graphml") else mode.removeprefix("stream-")
        export = exports.start(graph, exports.Selection(as_of=date.today()), fmt, pii=False)
        before, sampler, started = rss_mb(), RssSampler(), time.perf_counter()
        sampler.start()
        if mode == "peer-graphml":
            export.close()
            size = _peer(graph)
        elif mode == "baseline":
            export.close()
        else:
            size = sum(len(chunk) for chunk in export.chunks())
        seconds, peak = time.perf_counter() - started, sampler.stop()
    graph.close()
    return {"bytes": size, "seconds": round(seconds, 2), "rss_before_mb": round(before, 1),
            "rss_peak_mb": round(peak, 1)}


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
        for tie in row["ties"]:
            network.add_edge(row["source"], tie[1], key=tie[0], kind=tie[2], strength=tie[3])
    buffer = io.BytesIO()
    nx.write_graphml(network, buffer)
    return len(buffer.getvalue())


def _text(name: str) -> str:
    import graph_queries

    return graph_queries.get(name).text


if __name__ == "__main__":
    main()
