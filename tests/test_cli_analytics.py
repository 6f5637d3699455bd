"""`netweave export` and `netweave analytics ...`: the same answers as the API, readable tables, `--json`,
and progress as a bar on a terminal and plain lines elsewhere."""

from __future__ import annotations

import io
import json
import re

import networkx as nx
import pytest
from click.testing import CliRunner

from service.cli import main as cli, demo, seeding
from service.cli.progress import Progress
from tests.conftest import ADMIN_SECRET


@pytest.fixture
def runner(neo4j_settings, graph) -> CliRunner:
    env = {key: value for key, value in neo4j_settings.items() if value}
    return CliRunner(env={**env, "NETWEAVE_ADMIN_KEY": ADMIN_SECRET})


@pytest.fixture
def demo_network(graph):
    network = demo.generate_demo_network(seed=3, members=60)
    seeding.load(graph, network, 3)
    return network


def _invoke(runner: CliRunner, *args: str):
    result = runner.invoke(cli.main, list(args))
    assert result.exit_code == 0, result.output
    return result


def _node_data(graph: nx.Graph) -> dict[str, dict]:
    return {node: data for node, data in graph.nodes(data=True)}


def _edge_data(graph: nx.Graph) -> dict[str, dict]:
    return {data["id"]: {**data, "ends": frozenset((u, v))} for u, v, data in graph.edges(data=True)}


def test_export_writes_what_the_api_streams(runner, api, demo_network, tmp_path):
    target = tmp_path / "network.graphml"
    result = _invoke(runner, "export", "--format", "graphml", "-o", str(target), "--include", "organizations",
                     "--pii")
    from_cli = nx.read_graphml(target)
    from_api = nx.read_graphml(io.BytesIO(api.get("/v1/export?format=graphml&include=organizations").get_data()))
    assert _node_data(from_cli) == _node_data(from_api)
    assert _edge_data(from_cli) == _edge_data(from_api)
    assert from_cli.number_of_nodes() == len(demo_network.members) + len(demo_network.organizations)
    assert any("email" in data for data in _node_data(from_cli).values())
    assert f"wrote {target}" in result.stdout
    assert "export: done" in result.stderr, "plain progress lines when not on a terminal"
    assert not list(tmp_path.glob("*.partial"))


def test_export_json_summary_counts_and_no_email_without_pii(runner, demo_network, tmp_path):
    target = tmp_path / "kumu.json"
    summary = json.loads(_invoke(runner, "export", "--format", "json", "-o", str(target), "--json").stdout)
    blueprint = json.loads(target.read_text())
    assert summary["members"] == len(blueprint["elements"]) == len(demo_network.members)
    assert summary["collaborations"] == len(blueprint["connections"]) and summary["bytes"] == target.stat().st_size
    assert not any("email" in element for element in blueprint["elements"])


def test_export_to_standard_output_keeps_the_summary_apart(runner, demo_network):
    result = _invoke(runner, "export", "--format", "json", "-o", "-", "--json")
    blueprint = json.loads(result.stdout)
    assert len(blueprint["elements"]) == len(demo_network.members)
    summary = json.loads([line for line in result.stderr.splitlines() if line.startswith("{")][-1])
    assert summary["members"] == len(demo_network.members) and summary["file"] == "-"


def test_export_compute_gives_every_member_its_analytics(runner, demo_network, tmp_path):
    target = tmp_path / "net.gexf"
    summary = json.loads(_invoke(runner, "export", "--format", "gexf", "-o", str(target), "--analytics", "compute",
                                 "--json").stdout)
    assert summary["analytics"] == {"cluster_id": "computed", "betweenness": "computed",
                                    "articulation_point": "computed"}
    nodes = nx.read_gexf(target).nodes(data=True)
    assert all({"cluster_id", "betweenness", "articulation_point"} <= set(data) for _, data in nodes)


def test_export_rejects_bad_options_naming_them(runner, tmp_path):
    result = runner.invoke(cli.main, ["export", "--format", "json", "-o", str(tmp_path / "x"), "--as-of", "soon",
                                      "--role", " "])
    assert result.exit_code == 2
    assert "--as-of" in result.output and "--role" in result.output
    assert not (tmp_path / "x").exists()


def test_analytics_health_prints_the_api_metrics(runner, api, demo_network):
    from_api = api.get("/v1/analytics/health?region=north").get_json()
    as_json = json.loads(_invoke(runner, "analytics", "health", "--region", "north", "--json").stdout)
    assert as_json["metrics"] == from_api["metrics"] and as_json["scope"]["region"] == "north"
    text = _invoke(runner, "analytics", "health", "--region", "north").stdout
    assert "region north" in text
    assert re.search(rf"^members\s+{from_api['metrics']['members']}$", text, re.M)
    assert re.search(rf"^density\s+{from_api['metrics']['density']:.4f}$", text, re.M)


def test_analytics_bridges_lists_the_top_brokers(runner, api, demo_network):
    from_api = api.get("/v1/analytics/bridges?limit=3").get_json()
    text = _invoke(runner, "analytics", "bridges", "--limit", "3").stdout
    for broker in from_api["brokers"]:
        assert re.search(rf"^{re.escape(broker['member']['name'])}\s.*{broker['betweenness']:.4f}", text, re.M)
    assert f"Articulation points ({from_api['articulation_points_total']}" in text
    assert f"Bridge ties ({from_api['bridge_ties_total']}, {from_api['pendant_ties_total']} pendant" in text
    assert from_api["bridge_ties"], "the demo's satellite team hangs on a bridge tie"
    for tie in from_api["bridge_ties"][:3]:
        assert re.search(rf"^{re.escape(tie['source']['name'])}\s+{re.escape(tie['target']['name'])}\s+"
                         rf"{tie['cut_off']}\s+{tie['clusters_joined']}\s*$", text, re.M)
    as_json = json.loads(_invoke(runner, "analytics", "bridges", "--limit", "3", "--json").stdout)
    assert [b["member"]["id"] for b in as_json["brokers"]] == [b["member"]["id"] for b in from_api["brokers"]]


def test_analytics_clusters_table_and_json(runner, api, demo_network):
    from_api = api.get("/v1/analytics/clusters?limit=5").get_json()
    text = _invoke(runner, "analytics", "clusters", "--limit", "5").stdout
    assert f"Clusters: {from_api['clusters_total']}, modularity {from_api['modularity']:.4f}" in text
    for cluster in from_api["clusters"]:
        assert re.search(rf"^{cluster['id'][:8]}\s+{re.escape(cluster['name'])}\s+{cluster['size']}\s", text, re.M)
    as_json = json.loads(_invoke(runner, "analytics", "clusters", "--limit", "5", "--json").stdout)
    assert [c["id"] for c in as_json["clusters"]] == [c["id"] for c in from_api["clusters"]]


def test_analytics_run_computes_writes_back_and_reports_progress(runner, api, demo_network):
    result = _invoke(runner, "analytics", "run", "--json")
    summary = json.loads(result.stdout)
    assert summary["written_back"] and summary["health"]["members"] == len(demo_network.members)
    assert "[1/4]" in result.stderr and "[4/4]" in result.stderr and "analytics run: done" in result.stderr
    members = api.get("/v1/members?limit=100").get_json()["items"]
    assert all(member.get("cluster_id") and "betweenness" in member for member in members)
    top = summary["brokers"][0]
    assert api.get(f"/v1/members/{top['id']}").get_json()["betweenness"] == pytest.approx(top["betweenness"])


def test_seed_and_import_show_progress_lines(runner, tmp_path):
    seeded = _invoke(runner, "seed", "--demo", "--members", "40")
    assert re.search(r"^seed: \d+/\d+ \(100%\)$", seeded.stderr, re.M)
    data = tmp_path / "orgs.csv"
    data.write_text("external_id,name\n" + "".join(f"o{i},Org {i}\n" for i in range(30)))
    imported = _invoke(runner, "import", str(data), "--resource", "organizations", "--source", "sheet",
                       "--batch-size", "10")
    assert re.findall(r"^import: (\d+)/30", imported.stderr, re.M)[-1] == "30"


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_draws_a_bar_on_a_terminal_and_lines_elsewhere():
    terminal, pipe = _Terminal(), io.StringIO()
    for stream in (terminal, pipe):
        with Progress("export", 200, stream=stream) as progress:
            for _ in range(4):
                progress.advance(50)
    assert "[" in terminal.getvalue() and "#" in terminal.getvalue() and "200/200" in terminal.getvalue()
    assert pipe.getvalue().splitlines()[-1].startswith("export: done, 200 in")
    assert "200/200 (100%)" in pipe.getvalue() and "#" not in pipe.getvalue()
