"""`netweave import`: CSV and JSON lines through the sync upsert, error report, resumable runs."""

import csv
import json

import pytest
from click.testing import CliRunner

from service import cli
from tests.conftest import ADMIN_SECRET

MEMBERS_CSV = """Contact ID,Full Name,Email,Role,Focus Areas,Org IDs
c1,Ann Reyes,ann@example.org,teacher,math; equity,o1
c2,Ben Okafor,not-an-email,coach,literacy,o1
c3,Cid Park,cid@example.org,principal,,o2
c4,Dee Lin,dee@example.org,wizard,math,
c5,Eve Moss,eve@example.org,coach,sel;math,o1;o2
"""
MAPPING = """columns:
  Contact ID: external_id
  Full Name: name
  Email: email
  Role: role
  Focus Areas: topics
  Org IDs: organizations
separator: ";"
"""


@pytest.fixture
def cli_env(neo4j_settings, graph):
    return {**{k: v for k, v in neo4j_settings.items() if v}, "NETWEAVE_ADMIN_KEY": ADMIN_SECRET}


@pytest.fixture
def files(tmp_path):
    (tmp_path / "orgs.jsonl").write_text('{"external_id": "o1", "name": "North"}\n'
                                         '{"external_id": "o2", "name": "South", "kind": "district"}\n')
    (tmp_path / "members.csv").write_text(MEMBERS_CSV)
    (tmp_path / "map.yaml").write_text(MAPPING)
    return tmp_path


def _import(env, *args):
    result = CliRunner(env=env).invoke(cli.main, ["import", *map(str, args), "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_import_reports_rejected_rows_and_stores_the_rest(cli_env, files, api):
    orgs = _import(cli_env, files / "orgs.jsonl", "--resource", "organizations", "--source", "crm")
    assert (orgs["created"], orgs["complete"]) == (2, True)
    summary = _import(cli_env, files / "members.csv", "--resource", "members", "--source", "crm",
                      "--map", files / "map.yaml", "--batch-size", "2")
    assert (summary["created"], summary["error"], summary["rows_done"]) == (3, 2, 5)
    with open(summary["errors_file"], newline="") as handle:
        rejected = list(csv.DictReader(handle))
    assert [(r["row"], r["external_id"], r["fields"]) for r in rejected] == [("2", "c2", "email"), ("4", "c4", "role")]
    members = {m["name"]: m for m in api.get("/v1/members").get_json()["items"]}
    assert sorted(members) == ["Ann Reyes", "Cid Park", "Eve Moss"]
    assert members["Ann Reyes"]["topics"] == ["math", "equity"]
    assert sorted(a["organization_name"] for a in members["Eve Moss"]["affiliations"]) == ["North", "South"]


def test_interrupted_import_resumes_without_duplicates(cli_env, files, api):
    _import(cli_env, files / "orgs.jsonl", "--resource", "organizations", "--source", "crm")
    args = [files / "members.csv", "--resource", "members", "--source", "crm", "--map", files / "map.yaml",
            "--batch-size", "2"]
    partial = _import(cli_env, *args, "--max-batches", "1")
    assert (partial["rows_done"], partial["complete"]) == (2, False)
    assert len(api.get("/v1/members").get_json()["items"]) == 1
    resumed = _import(cli_env, *args)
    assert (resumed["resumed_after"], resumed["rows_done"], resumed["complete"]) == (2, 5, True)
    assert resumed["created"] == 2, "rows of the first run are not sent again"
    again = _import(cli_env, *args, "--restart")
    assert (again["created"], again["unchanged"], again["error"]) == (0, 3, 2)
    assert len(api.get("/v1/members").get_json()["items"]) == 3


def test_import_rejects_a_bad_source_and_mapping(cli_env, files):
    runner = CliRunner(env=cli_env)
    bad_source = runner.invoke(cli.main, ["import", str(files / "orgs.jsonl"), "--resource", "organizations",
                                          "--source", "Hub Spot"])
    assert bad_source.exit_code == 2 and "--source" in bad_source.output
    (files / "bad.yaml").write_text("- just\n- a list\n")
    bad_map = runner.invoke(cli.main, ["import", str(files / "members.csv"), "--resource", "members",
                                       "--source", "crm", "--map", str(files / "bad.yaml")])
    assert bad_map.exit_code == 2 and "columns" in bad_map.output


def test_a_lone_surrogate_in_a_json_line_fails_that_row_only(cli_env, tmp_path, api):
    """JSON lines are parsed by the importer, not the API's body parser: the schemas' text check refuses it."""
    (tmp_path / "orgs.jsonl").write_text('{"external_id": "o1", "name": "North"}\n'
                                         '{"external_id": "o2", "name": "So\\ud800uth", "region": "x\\udfff"}\n')
    summary = _import(cli_env, tmp_path / "orgs.jsonl", "--resource", "organizations", "--source", "crm")
    assert (summary["created"], summary["error"]) == (1, 1)
    with open(summary["errors_file"], newline="") as handle:
        assert [(r["row"], r["fields"]) for r in csv.DictReader(handle)] == [("2", "name region")]
    assert [o["name"] for o in api.get("/v1/organizations").get_json()["items"]] == ["North"]
