"""Which approximate betweenness ranks the top brokers as networkx's exact betweenness does, at what cost.

    .venv/bin/python bench/betweenness.py                                  # 10,000 members: quality
    .venv/bin/python bench/betweenness.py --members 100000 --ties 1000000 --no-exact --no-lfr  # cost at scale

On generated networks (no Neo4j): the bench's planted communities (bench/analytics.py's generator) and an
LFR benchmark graph (power-law degrees and community sizes, networkx's generator), it times, in the same
run, networkx's exact betweenness (the reference), igraph's exact one, igraph's source sampling (what
service/analytics/bridges.py did: 256 sources, and fewer), and NetworKit's estimators: EstimateBetweenness
(the same source sampling, in parallel), ApproxBetweenness (Riondato-Kornaropoulos: every score within
epsilon of the exact one with probability 1 - delta) and KadabraBetweenness (adaptive sampling with the same
guarantee, and a top-k mode). For each it prints seconds and how many of the exact top 10 it ranks in its
own top 10. Needs networkit (the `bench` extra).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.analytics import SEED, generate  # noqa: E402

TOP = 10


def main() -> None:
    options = _options()
    networks = {"planted": _planted(options.members, options.ties)}
    if options.lfr:
        networks["lfr"] = _lfr(options.members, options.ties)
    for name, (n, edges) in networks.items():
        print(f"\n{name}: {n} members, {len(edges)} ties")
        _compare(n, edges, options)


def _options() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=10_000)
    parser.add_argument("--ties", type=int, default=30_000)
    parser.add_argument("--no-exact", action="store_true", help="skip the exact references (large networks)")
    parser.add_argument("--no-lfr", dest="lfr", action="store_false", help="only the planted-community network")
    parser.add_argument("--threads", type=int, default=0, help="NetworKit threads (0: all cores)")
    return parser.parse_args()


def _planted(members: int, ties: int) -> tuple[int, list[tuple[int, int]]]:
    _, rows, tie_rows = generate(members, ties, max(2, members // 500))
    index = {row["id"]: i for i, row in enumerate(rows)}
    pairs = {tuple(sorted((index[t["a"]], index[t["b"]]))) for t in tie_rows if t["ended_on"] is None}
    return members, sorted(pairs)


def _lfr(members: int, ties: int) -> tuple[int, list[tuple[int, int]]]:
    import networkx as nx

    graph = nx.LFR_benchmark_graph(members, tau1=2.5, tau2=1.5, mu=0.1, average_degree=2 * ties / members,
                                   max_degree=members // 20, min_community=20, max_community=members // 10,
                                   seed=SEED, max_iters=1000)
    return members, sorted(tuple(sorted(edge)) for edge in graph.edges())


def _timed(work):
    started = time.perf_counter()
    result = work()
    return time.perf_counter() - started, np.asarray(result, dtype=float)


def _top(scores: np.ndarray) -> set[int]:
    order = sorted(range(len(scores)), key=lambda v: (-scores[v], v))
    return {v for v in order[:TOP] if scores[v] > 0}


def _compare(n: int, edges: list[tuple[int, int]], options: argparse.Namespace) -> None:
    import igraph
    import networkit as nk

    nk.setNumberOfThreads(options.threads or nk.getMaxNumberOfThreads())
    nk.setSeed(SEED, False)
    ig = igraph.Graph(n=n, edges=edges)
    nkg = nk.Graph(n)
    for a, b in edges:
        nkg.addEdge(a, b)
    scale = 2.0 / ((n - 1) * (n - 2))
    runs: dict[str, tuple[float, np.ndarray]] = {}
    if not options.no_exact:
        import networkx as nx
        graph = nx.Graph()
        graph.add_nodes_from(range(n))
        graph.add_edges_from(edges)
        runs["networkx exact"] = _timed(lambda: [v for _, v in sorted(nx.betweenness_centrality(graph).items())])
        runs["igraph exact"] = _timed(lambda: np.asarray(ig.betweenness(directed=False)) * scale)
    rng = np.random.default_rng(SEED)
    for k in (2048, 1024, 256, 64, 32):
        sources = sorted(rng.choice(n, size=min(k, n), replace=False).tolist())
        runs[f"igraph {k} sources"] = _timed(
            lambda s=sources: np.asarray(ig.betweenness(directed=False, sources=s)) * (n / len(s)) * scale)
        runs[f"networkit Estimate {k}"] = _timed(
            lambda k=k: _run(nk.centrality.EstimateBetweenness(nkg, k, True, True)))
    for epsilon in (0.01, 0.005):
        if not options.no_exact:    # Riondato-Kornaropoulos: minutes already at 10,000 members
            runs[f"networkit Approx eps={epsilon}"] = _timed(
                lambda e=epsilon: _run(nk.centrality.ApproxBetweenness(nkg, epsilon=e, delta=0.1)))
        runs[f"networkit Kadabra eps={epsilon}"] = _timed(
            lambda e=epsilon: _run(nk.centrality.KadabraBetweenness(nkg, e, 0.1, True)))
        runs[f"networkit Kadabra top-{TOP} eps={epsilon}"] = _timed(
            lambda e=epsilon: _kadabra_top(nk, nkg, n, e))
    reference = runs.get("networkx exact")
    exact_top = _top(reference[1]) if reference else None
    print(f"{'method':34} {'seconds':>9}  top-{TOP} overlap with networkx exact")
    for name, (seconds, scores) in runs.items():
        overlap = f"{len(_top(scores) & exact_top)}/{len(exact_top)}" if exact_top else "-"
        print(f"{name:34} {seconds:9.2f}  {overlap}")


def _run(algorithm) -> list[float]:
    algorithm.run()
    return algorithm.scores()


def _kadabra_top(nk, graph, n: int, epsilon: float) -> list[float]:
    """Kadabra's top-k mode ranks only the k best: the others score 0 here."""
    algorithm = nk.centrality.KadabraBetweenness(graph, epsilon, 0.1, True, TOP)
    algorithm.run()
    scores = [0.0] * n
    for vertex, score in algorithm.ranking()[:TOP]:
        scores[vertex] = score
    return scores


if __name__ == "__main__":
    main()
