"""Analytics benchmark: clusters and bridges through the HTTP API against (a) the raw driver + igraph in one
script and (b) networkx, on a generated network with planted communities, in the same run.

    .venv/bin/python bench/analytics.py                       # 100,000 members, 1,000,000 collaborations
    .venv/bin/python bench/analytics.py --members 20000 --ties 200000

It starts its own Neo4j (tools/neo4j-local, with a larger heap and page cache than `netweave neo4j start`
gives) in --data, loads the network there once (batched UNWIND through the raw driver), serves the API with
`netweave serve --workers 1` (the analytics cache is per worker), prints every figure and the ratios
against the goals, and stops what it started (--keep leaves Neo4j and its data for the next run).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from datetime import date, timedelta
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import graph_queries  # noqa: E402
from bench.common import free_port, memory, start_queue  # noqa: E402
from schemas.members import MEMBER_ROLES  # noqa: E402

BENCH_QUERIES = graph_queries.parse((Path(__file__).parent / "analytics.cypher").read_text(), "analytics.cypher")
Q = {query.name: query.text for query in BENCH_QUERIES}
ADMIN_KEY = "bench-admin-key-" + uuid.uuid4().hex
SEED = 42
BATCH = 10_000


def main() -> None:
    options = _options()
    neo4j = Neo4j(Path(options.data), options.pagecache, options.heap)
    uri = neo4j.start()
    try:
        load_if_empty(uri, options)
        figures = {"projection": tune_projection(uri) if not options.skip_tuning else {}}
        print("projection read:", json.dumps(figures["projection"]), flush=True)
        figures["a"] = raw_igraph(uri)
        print("(a):", json.dumps({k: v for k, v in figures["a"].items() if k != "edge_list"}), flush=True)
        figures["api"] = through_api(uri, options.rounds, not options.inline)
        print("API:", json.dumps({name: {k: v for k, v in f.items() if k != "body"}
                                  for name, f in figures["api"].items()}, default=str), flush=True)
        figures["b"] = with_networkx(figures["a"]["edge_list"], options.nx_sources)
        if options.brokers_members:
            figures["brokers"] = top_brokers(options.brokers_members, options.brokers_ties)
        report(figures, options)
    finally:
        if not options.keep:
            neo4j.stop()


def _options() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--ties", type=int, default=1_000_000)
    parser.add_argument("--communities", type=int, default=200)
    parser.add_argument("--data", default="/tmp/nw-bench-neo4j", help="Neo4j data directory of the bench")
    parser.add_argument("--pagecache", type=int, default=2 * 1024**3, help="page cache bytes")
    parser.add_argument("--heap", default="3g", help="Neo4j JVM heap (-Xmx)")
    parser.add_argument("--nx-sources", type=int, default=16,
                        help="networkx betweenness sources actually run (extrapolated to the service's source count)")
    parser.add_argument("--rounds", type=int, default=3, help="writes, each followed by a timed answer")
    parser.add_argument("--inline", action="store_true",
                        help="analytics in the web worker (no queue), as without NETWEAVE_QUEUE_URL")
    parser.add_argument("--brokers-members", type=int, default=10_000,
                        help="size of the network the top-10 brokers are checked on against networkx's exact "
                             "betweenness (0: skip)")
    parser.add_argument("--brokers-ties", type=int, default=30_000)
    parser.add_argument("--keep", action="store_true", help="leave Neo4j running and its data in place")
    parser.add_argument("--skip-tuning", action="store_true", help="do not time the projection's variants")
    return parser.parse_args()


# --- the dedicated Neo4j ---------------------------------------------------------------------------

class Neo4j:
    """tools/neo4j-local with a bigger heap and page cache, left running with --keep."""

    def __init__(self, data_dir: Path, pagecache: int, heap: str):
        self.data_dir, self.pagecache, self.heap = data_dir.resolve(), pagecache, heap

    def start(self) -> str:
        from service.cli import neo4j_local

        heap_mb = int(self.heap.rstrip("gG")) * 1024 if self.heap.lower().endswith("g") else int(self.heap.rstrip("mM"))
        return neo4j_local.start(port=0, data_dir=self.data_dir, timeout=300, heap_mb=heap_mb,
                                 pagecache_mb=self.pagecache // (1024 * 1024)).uri

    def stop(self) -> None:
        from service.cli import neo4j_local

        neo4j_local.stop(self.data_dir)


def _driver(uri: str):
    from neo4j import GraphDatabase

    # As the app's driver: optional properties that no node has yet are expected, not worth a warning; nor is
    # the projection's id() (deprecated as a lasting key, used inside one transaction).
    return GraphDatabase.driver(uri, auth=None, notifications_disabled_classifications=["UNRECOGNIZED", "DEPRECATION"])


# --- the generated network -------------------------------------------------------------------------

def load_if_empty(uri: str, options: argparse.Namespace) -> None:
    from service import create_app, db

    app = create_app({"NEO4J_URI": uri})          # applies the schema (constraints the loader relies on)
    app.extensions[db.EXTENSION].ensure_bootstrapped()
    app.extensions[db.EXTENSION].close()
    with _driver(uri) as driver:
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
              f"{time.perf_counter() - started:.1f} s")


def generate(members: int, ties: int, communities: int) -> tuple[list, list, list]:
    """Planted communities: 90% of ties inside a member's community; one organization per community."""
    rng = np.random.default_rng(SEED)
    regions = [f"region-{r}" for r in range(10)]
    topics = [f"topic-{t}" for t in range(40)]
    community = rng.integers(0, communities, members)
    org_ids = [str(uuid.UUID(int=int(rng.integers(0, 2**62)) << 64 | c)) for c in range(communities)]
    organizations = [{"id": org_ids[c], "name": f"Organization {c}", "region": regions[c % 10]}
                     for c in range(communities)]
    ids = [str(uuid.UUID(int=int(rng.integers(0, 2**62)) << 64 | i)) for i in range(members)]
    member_rows = [{"id": ids[i], "name": f"Member {i}", "region": regions[int(community[i]) % 10],
                    "role": MEMBER_ROLES[i % len(MEMBER_ROLES)], "organization_id": org_ids[int(community[i])],
                    "topics": [topics[(int(community[i]) + k) % 40] for k in range(2)]} for i in range(members)]
    return organizations, member_rows, _ties(rng, community, ids, ties, communities)


def _ties(rng, community: np.ndarray, ids: list[str], ties: int, communities: int) -> list[dict]:
    order = np.argsort(community, kind="stable")
    starts = np.searchsorted(community[order], np.arange(communities + 1))
    a = rng.integers(0, len(ids), ties * 2)
    inside = rng.random(ties * 2) < 0.9
    c = community[a]
    offset = rng.integers(0, 2**31, ties * 2) % np.maximum(starts[c + 1] - starts[c], 1)
    b = np.where(inside, order[starts[c] + offset], rng.integers(0, len(ids), ties * 2))
    keep = a != b
    a, b = a[keep][:ties], b[keep][:ties]
    strength = rng.integers(1, 6, ties)
    ended = rng.random(ties) < 0.03
    past = (date.today() - timedelta(days=400)).isoformat()
    return [{"id": str(uuid.uuid4()), "a": ids[x], "b": ids[y], "strength": int(s),
             "ended_on": date.fromisoformat(past) if e else None}
            for x, y, s, e in zip(a.tolist(), b.tolist(), strength.tolist(), ended.tolist())]


# --- the projection: record shape, fetch size, the Rust extension ---------------------------------

PROJECTION_VARIANTS = {
    "chunks (the API's)": "records of 1,000 parties, ties by internal node id, whole result at once",
    "chunks, fetch 10": "the same, fetched 10 records (10,000 parties) at a time",
    "party rows": "a record per party, ties by uuid (the statement before the chunked read), whole result at once",
    "party rows as dicts": "the same, each record made a dict",
    "edge-rows": "a record per tie (a, b, strength), no isolates or attributes",
}


def tune_projection(uri: str) -> dict:
    """Times reading the projection several ways, each in a fresh interpreter (with and without neo4j-rust-ext)."""
    results = {}
    for rust in (True, False):
        for variant in PROJECTION_VARIANTS:
            out = subprocess.run([sys.executable, __file__, "--read-projection", uri, variant, str(int(rust))],
                                 capture_output=True, text=True, check=True)
            results[f"{variant}{'' if rust else ' (no rust ext)'}"] = json.loads(out.stdout.strip().splitlines()[-1])
    return results


def _read_projection_variant(uri: str, variant: str, rust: bool) -> None:
    if not rust:
        sys.modules["neo4j._rust"] = None  # the driver falls back to its pure-Python packstream
    import neo4j

    from service.repositories.analytics import PROJECTION_CHUNK

    params = {"as_of": date.today(), "organizations": False, "chunk": PROJECTION_CHUNK, "source": None}
    fetch_size = 10 if variant == "chunks, fetch 10" else -1
    chunks = variant.startswith("chunks")
    text = (graph_queries.get("analytics_projection").text if chunks
            else Q["bench_projection_edges"] if variant == "edge-rows" else Q["bench_projection_party_rows"])
    with _driver(uri) as driver:
        timings = []
        for _ in range(3):
            started = time.perf_counter()
            with driver.session(default_access_mode=neo4j.READ_ACCESS, fetch_size=fetch_size) as session:
                rows = session.execute_read(
                    lambda tx: [party for record in tx.run(text, params) for party in record[0]] if chunks
                    else [r.data() for r in tx.run(text, params)] if variant.endswith("dicts")
                    else list(tx.run(text, params)))
            timings.append(time.perf_counter() - started)
    print(json.dumps({"seconds": min(timings), "rows": len(rows)}))


# --- (a) raw driver + igraph ----------------------------------------------------------------------

def raw_igraph(uri: str) -> dict:
    """The same projection statement read with the raw driver, igraph run directly: the floor for the API."""
    import igraph as ig
    import neo4j

    from service.repositories.analytics import PROJECTION_CHUNK

    text = graph_queries.get("analytics_projection").text
    params = {"as_of": date.today(), "organizations": False, "chunk": PROJECTION_CHUNK, "source": None}
    with _driver(uri) as driver:
        def read():
            started = time.perf_counter()
            with driver.session(default_access_mode=neo4j.READ_ACCESS, fetch_size=-1) as session:
                rows = session.execute_read(
                    lambda tx: [party for record in tx.run(text, params) for party in record[0]])
            index = {row[9]: i for i, row in enumerate(rows)}   # ties name parties by internal node id
            edges, weights = [], []
            for i, row in enumerate(rows):
                for other, strength in zip(row[6], row[7]):
                    edges.append((i, index[other]))
                    weights.append(strength)
            graph = ig.Graph(n=len(rows), edges=edges)
            graph.es["weight"] = weights
            graph.simplify(combine_edges={"weight": "sum"})
            return graph, time.perf_counter() - started

        graph, read_clusters = read()
        started = time.perf_counter()
        ig.set_random_number_generator(random.Random(SEED))
        leiden = graph.community_leiden(objective_function="modularity", weights="weight", n_iterations=-1)
        clusters = read_clusters + time.perf_counter() - started
        graph, read_bridges = read()
        started = time.perf_counter()
        graph.community_leiden(objective_function="modularity", weights="weight", n_iterations=-1)
        sources = random.Random(SEED).sample(range(graph.vcount()), _service_sources(graph.vcount(), graph.ecount()))
        graph.betweenness(directed=False, sources=sources)
        graph.biconnected_components(return_articulation_points=True)
        graph.bridges()
        bridges = read_bridges + time.perf_counter() - started
    return {"clusters": clusters, "bridges": bridges, "read": min(read_clusters, read_bridges),
            "modularity": graph.modularity(leiden.membership, weights="weight"),
            "vertices": graph.vcount(), "ties": graph.ecount(),
            "edge_list": (graph.vcount(), graph.get_edgelist(), graph.es["weight"])}


# --- the HTTP API -----------------------------------------------------------------------------------

class Api:
    """`netweave serve --workers 1`; with `queue`, a redis-server and one `netweave worker` computing the
    analytics (it recomputes nothing on its own during the run: every answer timed is one asked for)."""

    def __init__(self, uri: str, snapshots: Path, queue: bool):
        self.port = free_port()
        env = {"NETWEAVE_WORKER_TIMEOUT": "900", "NETWEAVE_LOG_LEVEL": "warning",
               # polling a run is many requests: no rate limit measures anything here
               "NETWEAVE_RATE_LIMITS": json.dumps({family: "1000000/minute" for family in (
                   "read", "write", "sync", "analytics", "admin", "unauthenticated")}),
               # every answer after a write is computed for the new revision, never served stale
               "NETWEAVE_ANALYTICS_MIN_INTERVAL": "0",
               # projection snapshots of this run only (empty at first: the first worker reads the graph)
               "NETWEAVE_ANALYTICS_SNAPSHOT_DIR": str(snapshots)}
        self.helpers: list[subprocess.Popen] = []
        if queue:
            self.helpers, url = start_queue(snapshots, uri, ADMIN_KEY, 1, NETWEAVE_WORKER_DEBOUNCE_SECONDS="3600",
                                            NETWEAVE_WORKER_MAX_DELAY_SECONDS="86400", **env)
            env["NETWEAVE_QUEUE_URL"] = url
        self.process = subprocess.Popen([str(ROOT / ".venv" / "bin" / "netweave"), "serve", "--port", str(self.port),
                                         "--workers", "1"],
                                        env={**os.environ, "NEO4J_URI": uri, "NETWEAVE_ADMIN_KEY": ADMIN_KEY, **env},
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if self.get("/healthz", auth=False)[0] == 200:
                    return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError("the API did not start")

    def get(self, path: str, auth: bool = True) -> tuple[int, dict]:
        request = urllib.request.Request(f"http://127.0.0.1:{self.port}{path}",
                                         headers={"Authorization": f"Bearer {ADMIN_KEY}"} if auth else {})
        with urllib.request.urlopen(request, timeout=900) as response:
            return response.status, json.loads(response.read() or b"{}")

    def post(self, path: str, body: dict) -> dict:
        request = urllib.request.Request(f"http://127.0.0.1:{self.port}{path}", data=json.dumps(body).encode(),
                                         method="POST", headers={"Authorization": f"Bearer {ADMIN_KEY}",
                                                                 "Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=60) as response:
            return json.loads(response.read())

    def answer(self, path: str) -> tuple[float, dict]:
        """Seconds until the endpoint answers 200 with a fresh result, following a 202 run (or the run behind
        an answer marked stale) to its end."""
        started = time.perf_counter()
        status, body = self.get(path)
        while status == 202 or body["computed"]["stale"]:
            run_id = body["id"] if status == 202 else body["computed"]["run_id"]
            run = self.get(f"/v1/analytics/runs/{run_id}")[1]
            while run["status"] in ("queued", "running"):
                time.sleep(0.1)
                run = self.get(f"/v1/analytics/runs/{run_id}")[1]
            if run["status"] == "failed":
                raise RuntimeError(f"analytics run failed: {run['error']}")
            status, body = self.get(path)
        return time.perf_counter() - started, body

    def web_rss(self) -> tuple[int, int]:
        """(VmRSS, VmHWM) in bytes of the gunicorn worker (the master's one child)."""
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == self.process.pid:
                    return memory(int(stat.parent.name))
            except (OSError, IndexError, ValueError):
                continue
        return 0, 0

    def analytics_rss(self) -> tuple[int, int]:
        """(VmRSS, VmHWM) of the analytics worker, or of the web worker when analytics run there."""
        return memory(self.helpers[1].pid) if self.helpers else self.web_rss()

    def stop(self) -> None:
        for process in [self.process, *reversed(self.helpers)]:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=60)


def through_api(uri: str, rounds: int, queue: bool) -> dict:
    """Per endpoint, in a fresh worker with no projection snapshot: cold (the first answer: the whole
    projection is read), cached, then `rounds` times "after a write" (one new collaboration through the API,
    then the answer for the new revision, which patches the projection from the change feed), and the
    worker's peak memory. Then a second fresh worker, after one more write: cold from the snapshot the
    first worker saved (loaded from disk and patched by the feed instead of read over Bolt). With `queue` the
    worker is `netweave worker` and the web worker's memory is measured too."""
    figures = {}
    for name, path in (("clusters", "/v1/analytics/clusters?limit=20"),
                       ("bridges", "/v1/analytics/bridges?limit=20")):
        with tempfile.TemporaryDirectory(prefix="netweave-bench-snapshots-") as snapshots:
            api = Api(uri, Path(snapshots), queue)
            try:
                members = [m["id"] for m in api.get("/v1/members?limit=50")[1]["items"]]  # the first request connects
                rng = random.Random(SEED)
                # A new revision first, so no report stored by an earlier run (shared through Neo4j) answers.
                a, b = rng.sample(members, 2)
                api.post("/v1/collaborations", {"source_id": a, "target_id": b, "kind": "project", "strength": 3})
                cold, body = api.answer(path)
                assert body["computed"]["projection"]["read"] == "whole", body["computed"]
                cached = [api.answer(path)[0] for _ in range(7)]
                after_write, computed = [], []
                for round_ in range(rounds + 1):
                    time.sleep(15)      # the previous answer's write-back and snapshot (analytics thread) end
                    a, b = rng.sample(members, 2)
                    api.post("/v1/collaborations", {"source_id": a, "target_id": b, "kind": "project", "strength": 3})
                    seconds, written = api.answer(path)
                    computed.append({k: written["computed"][k] for k in ("revision", "seconds", "projection")})
                    if round_:          # the first round also pays for the cold answer's first write-back
                        after_write.append(seconds)
                figures[name] = {"cold": cold, "cached": statistics.median(cached), "computed": body["computed"],
                                 "after_write": after_write, "after_write_computed": computed,
                                 "peak_rss": api.analytics_rss()[1], "web_rss": api.web_rss(), "body": body}
                time.sleep(15)      # its last write-back ends before the next worker is timed, as between rounds
            finally:
                api.stop()
            api = Api(uri, Path(snapshots), queue)
            try:
                a, b = rng.sample(members, 2)
                api.post("/v1/collaborations", {"source_id": a, "target_id": b, "kind": "project", "strength": 3})
                seconds, answer = api.answer(path)
                figures[name].update(snapshot_cold=seconds, snapshot_peak_rss=api.analytics_rss()[1],
                                     snapshot_computed={k: answer["computed"][k]
                                                        for k in ("revision", "seconds", "projection")})
            finally:
                api.stop()
    return figures


# --- (b) networkx --------------------------------------------------------------------------------------

def with_networkx(edge_list: tuple, sources: int) -> dict:
    import networkx as nx

    n, edges, weights = edge_list
    started = time.perf_counter()
    graph = nx.Graph()
    graph.add_nodes_from(range(n))
    graph.add_weighted_edges_from((a, b, w) for (a, b), w in zip(edges, weights))
    build = time.perf_counter() - started
    started = time.perf_counter()
    communities = nx.community.louvain_communities(graph, weight="weight", seed=SEED)
    louvain = time.perf_counter() - started
    modularity = nx.community.modularity(graph, communities, weight="weight")
    started = time.perf_counter()
    list(nx.bridges(graph))
    list(nx.articulation_points(graph))
    cuts = time.perf_counter() - started
    started = time.perf_counter()
    nx.betweenness_centrality(graph, k=sources, seed=SEED)
    scaled_to = _service_sources(n, graph.number_of_edges())
    betweenness = (time.perf_counter() - started) * scaled_to / sources
    return {"build": build, "louvain": louvain, "cuts": cuts, "betweenness_extrapolated": betweenness,
            "sources_run": sources, "sources_scaled_to": scaled_to, "modularity": modularity,
            "clusters": build + louvain, "bridges": build + louvain + cuts + betweenness}


def _service_sources(vertices: int, ties: int) -> int:
    """As many sources as the service's default betweenness budget samples on a graph of this size (the
    same algorithm as the API's; service/analytics/bridges.py)."""
    from service.analytics import bridges as bridges_module
    from service.analytics.engine import Settings

    settings = Settings.load({}, environ={})
    return bridges_module.source_count(vertices, ties, settings.betweenness_samples, settings.betweenness_budget)


# --- the top brokers against networkx's exact betweenness --------------------------------------------

def top_brokers(members: int, ties: int) -> dict:
    """How many of networkx's exact top-10 betweenness the service's own betweenness (as its default
    settings run it: sampled above NETWEAVE_ANALYTICS_EXACT_BETWEENNESS_MAX members) ranks in its top 10, on
    a network of the generator above small enough for networkx's exact Brandes."""
    import igraph
    import networkx as nx

    from service.analytics import bridges as bridges_module
    from service.analytics.engine import Settings
    from service.analytics.projection import Projection

    _, rows, tie_rows = generate(members, ties, max(2, members // 500))
    index = {row["id"]: i for i, row in enumerate(rows)}
    edges = sorted({tuple(sorted((index[t["a"]], index[t["b"]]))) for t in tie_rows})
    settings = Settings.load({})
    projection = Projection([row["id"] for row in rows], ["member"] * members, [None] * members, [None] * members,
                            [[]] * members, [[]] * members, igraph.Graph(n=members, edges=edges))
    started = time.perf_counter()
    ours = bridges_module.betweenness(projection, exact_max=settings.exact_betweenness_max,
                                      kadabra_max=settings.kadabra_max, epsilon=settings.betweenness_epsilon,
                                      delta=settings.betweenness_delta, samples=settings.betweenness_samples,
                                      budget=settings.betweenness_budget, seed=settings.seed)
    ours_seconds = time.perf_counter() - started
    graph = nx.Graph()
    graph.add_nodes_from(range(members))
    graph.add_edges_from(edges)
    started = time.perf_counter()
    exact = nx.betweenness_centrality(graph)
    exact_seconds = time.perf_counter() - started

    def top(scores) -> list[int]:
        return sorted(range(members), key=lambda v: (-scores[v], v))[:10]

    ours_top, exact_top = top(ours.scores), top([exact[v] for v in range(members)])
    return {"members": members, "ties": len(edges), "overlap": len(set(ours_top) & set(exact_top)),
            "ours_seconds": ours_seconds, "networkx_seconds": exact_seconds, "exact": ours.exact,
            "sample_size": ours.sample_size, "method": ours.method,
            "largest_error": max(abs(ours.scores[v] - exact[v]) for v in range(members))}


# --- the report -------------------------------------------------------------------------------------------

def report(figures: dict, options: argparse.Namespace) -> None:
    a, api, b = figures["a"], figures["api"], figures["b"]
    print(f"\nnetwork: {a['vertices']:,} members, {a['ties']:,} ties (connected pairs) from "
          f"{options.ties:,} generated collaborations, {options.communities} planted communities")
    print("\nprojection read (best of 3, seconds):")
    for variant, result in figures["projection"].items():
        print(f"  {variant:36s} {result['seconds']:7.2f}  ({result['rows']:,} rows)")
    print(f"\nmodularity: API {api['clusters']['body']['modularity']:.4f}  (a) igraph {a['modularity']:.4f}  "
          f"(b) networkx Louvain {b['modularity']:.4f}")
    print(f"networkx: build {b['build']:.1f} s, Louvain {b['louvain']:.1f} s, bridges+articulation "
          f"{b['cuts']:.1f} s, betweenness {b['betweenness_extrapolated']:.1f} s "
          f"(ran {b['sources_run']} sources, scaled to the service's {b['sources_scaled_to']})")
    print(f"\n{'':10s}{'API cold':>10s}{'(a) raw':>10s}{'(b) nx':>10s}{'API/(a)':>9s}{'(b)/API':>9s}"
          f"{'after write':>13s}{'(b)/that':>10s}{'cached ms':>11s}{'peak RSS':>10s}")
    for name in ("clusters", "bridges"):
        cold, cached, rss = api[name]["cold"], api[name]["cached"], api[name]["peak_rss"]
        written = statistics.median(api[name]["after_write"]) if api[name]["after_write"] else float("nan")
        print(f"{name:10s}{cold:10.2f}{a[name]:10.2f}{b[name]:10.1f}{cold / a[name]:9.2f}{b[name] / cold:9.1f}"
              f"{written:13.2f}{b[name] / written:10.1f}{cached * 1000:11.1f}{rss / 1024**2:9.0f}M")
        print(f"{'':10s}after each write: {', '.join(f'{t:.2f} s' for t in api[name]['after_write'])} "
              f"")
        for computed in api[name]["after_write_computed"]:
            print(f"{'':12s}{json.dumps(computed)}")
        snapshot = api[name]["snapshot_cold"]
        print(f"{'':10s}fresh worker from the snapshot: {snapshot:.2f} s = {snapshot / a[name]:.2f}x (a), "
              f"{b[name] / snapshot:.1f}x faster than (b), peak {api[name]['snapshot_peak_rss'] / 1024**2:.0f}M  "
              f"{json.dumps(api[name]['snapshot_computed'])}")
    print("\n'API cold' is a fresh worker's first answer with no snapshot on disk (the whole projection read "
          "over Bolt);\n'after write' is the median answer for a new revision after one write through the API "
          "(the projection\npatched from the change feed); 'fresh worker from the snapshot' is a new worker's "
          "first answer after one\nmore write, starting from the projection the first worker saved to disk.")
    print("\ngoals: API cold <= 1.5x (a); >= 15x faster than (b); cached < 50 ms; worker peak < 1.5 GB")
    ratio = api["bridges"]["cold"] / api["clusters"]["cold"]
    print(f"bridges cold / clusters cold: {api['bridges']['cold']:.2f} / {api['clusters']['cold']:.2f} s = "
          f"{ratio:.2f}  (goal <= 2: {'met' if ratio <= 2 else 'MISSED'})")
    for name in ("clusters", "bridges"):
        current, peak = api[name]["web_rss"]
        where = "analytics worker" if not options.inline else "web worker (analytics inline)"
        print(f"{name}: web worker RSS {current / 1024**2:.0f} MB (peak {peak / 1024**2:.0f} MB; goal < 250 MB: "
              f"{'met' if current < 250 * 1024**2 else 'MISSED'}), {where} peak {api[name]['peak_rss'] / 1024**2:.0f} MB")
    brokers = figures.get("brokers")
    if brokers:
        print(f"top-10 brokers on {brokers['members']:,} members / {brokers['ties']:,} ties: {brokers['overlap']}/10 "
              f"of networkx's exact top 10 (goal >= 8: {'met' if brokers['overlap'] >= 8 else 'MISSED'}); "
              f"ours {brokers['ours_seconds']:.2f} s ({'exact' if brokers['exact'] else 'approximate'}"
              f"{', ' + str(brokers['method']) if brokers['method'] else ''}), networkx exact "
              f"{brokers['networkx_seconds']:.0f} s; largest score error {brokers['largest_error']:.2e}")
    print("bridges computed:", json.dumps({k: api["bridges"]["computed"][k]
                                          for k in ("exact", "sample_size", "revision", "seconds")}))


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "--read-projection":
        _read_projection_variant(sys.argv[2], sys.argv[3], sys.argv[4] == "1")
    else:
        main()
