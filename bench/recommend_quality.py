"""Link prediction quality of member recommendations: hide 10% of ties, ask for each affected member's
top 10, and score precision@10 and recall@10 against a random baseline and common-neighbour counting.

Networks: Zachary's karate club, Les Miserables (networkx), and the generated demo education network.
Each is loaded through the API (in-process Flask client) into a fresh local Neo4j; the analytics
clusters are computed first when that endpoint exists, so `balanced` gets its bridging signal.

    .venv/bin/python bench/recommend_quality.py [karate|miserables|demo ...]
"""

from __future__ import annotations

import random
import shutil
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

import networkx as nx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from service import create_app, neo4j_local  # noqa: E402
from service.analytics.engine import get_engine  # noqa: E402
from service.demo import generate_demo_network  # noqa: E402

ADMIN = "bench-admin-key-0123456789"
K = 10
HIDE = 0.10
SEED = 42
UNLIMITED = {family: "10000000/minute" for family in ("read", "write", "sync", "analytics", "admin")}


def networks() -> dict[str, tuple[nx.Graph, dict]]:
    demo = generate_demo_network(seed=7, members=300)
    graph, attributes = nx.Graph(), {}
    for member in demo.members:
        graph.add_node(member["key"])
        attributes[member["key"]] = {"topics": member["topics"], "region": member["region"],
                                     "role": member["role"]}
    member_keys = set(graph)
    for tie in demo.collaborations:
        if tie["source_key"] in member_keys and tie["target_key"] in member_keys:
            graph.add_edge(tie["source_key"], tie["target_key"])
    return {"karate club": (nx.karate_club_graph(), {}),
            "les miserables": (nx.les_miserables_graph(), {}),
            "demo education network": (graph, attributes)}


def split(graph: nx.Graph) -> tuple[nx.Graph, list[tuple]]:
    rng = random.Random(SEED)
    edges = sorted(graph.edges(), key=repr)
    hidden = rng.sample(edges, max(1, int(len(edges) * HIDE)))
    train = graph.copy()
    train.remove_edges_from(hidden)
    return train, hidden


def load(client, train: nx.Graph, attributes: dict) -> dict:
    headers = {"Authorization": f"Bearer {ADMIN}"}
    ids = {}
    for node in train.nodes():
        body = {"name": str(node)[:200], **attributes.get(node, {})}
        ids[node] = _ok(client.post("/v1/members", json=body, headers=headers), 201)["id"]
    for a, b in train.edges():
        _ok(client.post("/v1/collaborations", json={"source_id": ids[a], "target_id": ids[b], "kind": "project"},
                        headers=headers), 201)
    if "/v1/analytics/clusters" in {rule.rule for rule in client.application.url_map.iter_rules()}:
        assert client.get("/v1/analytics/clusters", headers=headers).status_code == 200
        # Cluster ids are written back after the answer: ask only once they are all on the members.
        get_engine(client.application).wait_idle(timeout=600)
    return ids


def _ok(response, status: int = 200) -> dict:
    """The body of an answer with the expected status; anything else stops the bench (a refused write would
    silently leave the API a different network from the one the baselines see)."""
    if response.status_code != status:
        raise RuntimeError(f"{response.request.method} {response.request.path}: {response.status_code} "
                           f"{response.get_data(as_text=True)[:300]}")
    return response.get_json()


def score(predictions: dict, hidden_by_node: dict) -> tuple[float, float]:
    hits = total_predicted = total_hidden = 0
    for node, truth in hidden_by_node.items():
        predicted = predictions.get(node, [])[:K]
        hits += len(set(predicted) & truth)
        total_predicted += K
        total_hidden += len(truth)
    return hits / total_predicted, hits / total_hidden


def common_neighbours(train: nx.Graph, node) -> list:
    scores = defaultdict(int)
    for friend in train[node]:
        for candidate in train[friend]:
            if candidate != node and not train.has_edge(node, candidate):
                scores[candidate] += 1
    return [c for c, _ in sorted(scores.items(), key=lambda kv: (-kv[1], repr(kv[0])))]


def random_baseline(train: nx.Graph, node, rng: random.Random) -> list:
    pool = [n for n in train if n != node and not train.has_edge(node, n)]
    return rng.sample(pool, min(K, len(pool)))


def evaluate(name: str, graph: nx.Graph, attributes: dict) -> None:
    train, hidden = split(graph)
    hidden_by_node: dict = defaultdict(set)
    for a, b in hidden:
        hidden_by_node[a].add(b)
        hidden_by_node[b].add(a)
    data = Path(tempfile.mkdtemp(prefix="netweave-quality-"))
    running = neo4j_local.start(port=0, data_dir=data)
    # The bench writes and asks faster than the default per-key rate limits allow.
    app = create_app({"NEO4J_URI": running.uri, "NETWEAVE_ADMIN_KEY": ADMIN, "NETWEAVE_RATE_LIMITS": UNLIMITED})
    try:
        client = app.test_client()
        ids = load(client, train, attributes)
        node_of = {v: k for k, v in ids.items()}
        rng = random.Random(SEED)
        results = {"random": {n: random_baseline(train, n, rng) for n in hidden_by_node},
                   "common neighbours": {n: common_neighbours(train, n) for n in hidden_by_node}}
        for strategy in ("balanced", "close_triangles", "shared_interests"):
            results[f"api {strategy}"] = {}
            for node in hidden_by_node:
                body = _ok(client.get(f"/v1/members/{ids[node]}/recommendations?limit={K}&strategy={strategy}",
                                      headers={"Authorization": f"Bearer {ADMIN}"}))
                results[f"api {strategy}"][node] = [node_of[item["member"]["id"]] for item in body["items"]]
        print(f"\n{name}: {graph.number_of_nodes()} members, {graph.number_of_edges()} ties, "
              f"{len(hidden)} hidden, {len(hidden_by_node)} members asked")
        print(f"  {'method':<24}{'precision@10':>14}{'recall@10':>12}")
        for method, predictions in results.items():
            precision, recall = score(predictions, hidden_by_node)
            print(f"  {method:<24}{precision:>14.3f}{recall:>12.3f}")
    finally:
        app.extensions["netweave.graph"].close()
        neo4j_local.stop(data)
        shutil.rmtree(data, ignore_errors=True)


def main() -> None:
    only = sys.argv[1:]     # network names (or a word of them) to run; all when none
    print(f"hide {HIDE:.0%} of ties (seed {SEED}); top {K} per member whose tie was hidden")
    for name, (graph, attributes) in networks().items():
        if not only or any(word in name for word in only):
            evaluate(name, graph, attributes)


if __name__ == "__main__":
    main()
