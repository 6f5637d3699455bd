"""`netweave import`: CSV and JSON lines through the sync upsert, error report, resumable runs."""

import csv
import json

import pytest
from click.testing import CliRunner

from service.cli import main as cli
from tests.conftest import ADMIN_SECRET

MEMBERS_CSV = """Contact ID,Full Name,Email,Role,Focus Areas,Org IDs
c1,Ann Reyes,ann@example.org,teacher,math; equity,o1
c2,Ben Okafor,not-an-email,coach,literacy,o1
c3,Cid Park,cid@example.org,principal,,o2
c4,Dee Lin,dee@example.org,wizardwizardwizardwizardwizardwizardwizardwizardwizardwizardwizardwizardwizardwizardwizardwizardwizard,math,
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


def _import(env, *args, exit_code=0):
    result = CliRunner(env=env).invoke(cli.main, ["import", *map(str, args), "--json"])
    assert result.exit_code == exit_code, result.output
    return json.loads(result.stdout.strip().splitlines()[-1])


def _refused(env, *args, exit_code=1) -> str:
    """The one line a refused import prints (no traceback, nothing on standard output)."""
    result = CliRunner(env=env).invoke(cli.main, ["import", *map(str, args)])
    assert result.exit_code == exit_code, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    lines = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert len(lines) == 1 and "Traceback" not in result.output, result.output
    return lines[0]


def test_import_reports_rejected_rows_and_stores_the_rest(cli_env, files, api):
    orgs = _import(cli_env, files / "orgs.jsonl", "--resource", "organizations", "--source", "crm")
    assert (orgs["created"], orgs["complete"]) == (2, True)
    summary = _import(cli_env, files / "members.csv", "--resource", "members", "--source", "crm",
                      "--map", files / "map.yaml", "--batch-size", "2", exit_code=1)
    assert (summary["created"], summary["error"], summary["rows_done"]) == (3, 2, 5)
    with open(summary["errors_file"], newline="") as handle:
        rejected = list(csv.DictReader(handle))
    # Lines as the file counts them: the header is line 1.
    assert [(r["line"], r["external_id"], r["fields"]) for r in rejected] == [("3", "c2", "email"), ("5", "c4", "role")]
    assert rejected[1]["detail"].startswith("line 5: role: Length must be between 1 and 100")
    members = {m["name"]: m for m in api.get("/v1/members").get_json()["items"]}
    assert sorted(members) == ["Ann Reyes", "Cid Park", "Eve Moss"]
    assert members["Ann Reyes"]["topics"] == ["math", "equity"]
    assert sorted(a["organization_name"] for a in members["Eve Moss"]["affiliations"]) == ["North", "South"]


def test_interrupted_import_resumes_without_duplicates(cli_env, files, api):
    _import(cli_env, files / "orgs.jsonl", "--resource", "organizations", "--source", "crm")
    args = [files / "members.csv", "--resource", "members", "--source", "crm", "--map", files / "map.yaml",
            "--batch-size", "2"]
    partial = _import(cli_env, *args, "--max-batches", "1", exit_code=1)
    assert (partial["rows_done"], partial["complete"]) == (2, False)
    assert len(api.get("/v1/members").get_json()["items"]) == 1
    resumed = _import(cli_env, *args, exit_code=1)
    assert (resumed["resumed_after"], resumed["rows_done"], resumed["complete"]) == (2, 5, True)
    assert resumed["created"] == 2, "rows of the first run are not sent again"
    again = _import(cli_env, *args, "--restart", exit_code=1)
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


def _members(api) -> dict[str, dict]:
    return {m["name"]: m for m in api.get("/v1/members?limit=100").get_json()["items"]}


def test_import_exits_0_when_every_row_is_stored(cli_env, files, api):
    (files / "good.csv").write_text("external_id,name\nm1,Ann Reyes\nm2,Ben Okafor\n")
    summary = _import(cli_env, files / "good.csv", "--resource", "members", "--source", "crm")
    assert (summary["created"], summary["error"], summary["errors_file"]) == (2, 0, None)


def test_import_counts_tombstones_that_only_detach_the_source(cli_env, tmp_path, api, new_member):
    """A row deleting a person another system (here the API) still holds detaches the source's id: counted apart."""
    ada = new_member("Ada Reyes", email="ada@example.org")
    (tmp_path / "people.jsonl").write_text('{"external_id": "c1", "name": "Ada Reyes", "email": "ada@example.org"}\n'
                                           '{"external_id": "c2", "name": "Bo Lind"}\n')
    _import(cli_env, tmp_path / "people.jsonl", "--resource", "members", "--source", "crm")
    (tmp_path / "gone.jsonl").write_text('{"external_id": "c1", "deleted": true}\n'
                                         '{"external_id": "c2", "deleted": true}\n')
    summary = _import(cli_env, tmp_path / "gone.jsonl", "--resource", "members", "--source", "crm")
    assert (summary["detached"], summary["deleted"], summary["error"]) == (1, 1, 0)
    assert list(_members(api)) == ["Ada Reyes"] and _members(api)["Ada Reyes"]["id"] == ada["id"]


def test_a_latin1_file_is_refused_naming_the_line_until_its_encoding_is_given(cli_env, tmp_path, api):
    data = tmp_path / "latin1.csv"
    data.write_bytes("external_id,name\nm1,Ann Reyes\nm2,José Núñez\n".encode("latin-1"))
    line = _refused(cli_env, data, "--resource", "members", "--source", "crm")
    assert "latin1.csv, line 3: not utf-8 text (byte 0xE9" in line and "--encoding" in line
    assert _members(api) == {}, "nothing is written from a file that cannot be read"
    summary = _import(cli_env, data, "--resource", "members", "--source", "crm", "--encoding", "latin-1")
    assert summary["created"] == 2
    assert "José Núñez" in _members(api)


def test_a_utf8_file_with_a_byte_order_mark_reads_its_first_column(cli_env, tmp_path, api):
    data = tmp_path / "excel.csv"
    data.write_bytes(b"\xef\xbb\xbfexternal_id,name\r\nm1,Ann Reyes\r\n")
    assert _import(cli_env, data, "--resource", "members", "--source", "crm")["created"] == 1


def test_an_unknown_encoding_is_a_usage_error(cli_env, files):
    line = _refused(cli_env, files / "members.csv", "--resource", "members", "--source", "crm",
                    "--encoding", "klingon", exit_code=2)
    assert "unknown encoding 'klingon'" in line


def test_an_unclosed_quote_is_refused_naming_its_line_and_swallows_nothing(cli_env, tmp_path, api):
    data = tmp_path / "quote.csv"
    data.write_text('external_id,name,email\nm1,Ann Reyes,ann@example.org\nm2,"Ben Okafor,ben@example.org\n'
                    'm3,Cid Park,cid@example.org\n')
    line = _refused(cli_env, data, "--resource", "members", "--source", "crm")
    assert "quote.csv, line 3: a quoted field opened on this line is never closed" in line
    assert _members(api) == {}


def test_a_quote_closed_in_a_later_row_is_refused_naming_the_line_it_opened(cli_env, tmp_path, api):
    data = tmp_path / "quote.csv"
    data.write_text('external_id,name,email\nm1,"Ann Reyes,ann@example.org\nm2,Ben Okafor,ben@example.org\n'
                    'm3,"Cid Park",cid@example.org\n')
    line = _refused(cli_env, data, "--resource", "members", "--source", "crm")
    assert "quote.csv, line 2: badly quoted field" in line and "noticed on line 4" in line
    assert _members(api) == {}


def test_a_row_with_more_fields_than_the_header_is_refused_naming_its_line(cli_env, tmp_path, api):
    data = tmp_path / "wide.csv"
    data.write_text("external_id,name\nm1,Ann Reyes\nm2,Okafor, Ben\n")
    line = _refused(cli_env, data, "--resource", "members", "--source", "crm")
    assert "wide.csv, line 3: 3 fields where the header has 2 (delimiter ',')" in line
    assert _members(api) == {}


SEMICOLONS = """Contact ID;Full Name;Focus Areas
c1;Reyes, Ann;math, equity
c2;"Okafor; Ben";literacy
"""


def test_a_semicolon_separated_file_is_sniffed(cli_env, tmp_path, api):
    (tmp_path / "semi.csv").write_text(SEMICOLONS)
    (tmp_path / "map.yaml").write_text("columns: {Contact ID: external_id, Full Name: name, Focus Areas: topics}\n"
                                       "separator: ','\n")
    summary = _import(cli_env, tmp_path / "semi.csv", "--resource", "members", "--source", "crm",
                      "--map", tmp_path / "map.yaml")
    assert (summary["created"], summary["delimiter"]) == (2, ";")
    members = _members(api)
    assert members["Reyes, Ann"]["topics"] == ["math", "equity"] and "Okafor; Ben" in members


def test_a_file_read_with_the_wrong_delimiter_gets_a_hint(cli_env, tmp_path, api):
    (tmp_path / "semi.csv").write_text("external_id;name\nm1;Ann Reyes\n")
    line = _refused(cli_env, tmp_path / "semi.csv", "--resource", "members", "--source", "crm",
                    "--delimiter", ",")
    assert "line 1: column 'external_id;name' is not a field of members records" in line
    assert "separated by ';': pass --delimiter" in line


def test_rows_are_numbered_as_the_file_counts_lines_with_multi_line_fields(cli_env, tmp_path, api):
    (tmp_path / "people.jsonl").write_text('{"external_id": "a", "name": "Ann"}\n{"external_id": "b", "name": "Ben"}\n')
    _import(cli_env, tmp_path / "people.jsonl", "--resource", "members", "--source", "crm")
    (tmp_path / "ties.csv").write_text(
        "external_id,source_external_id,target_external_id,kind,note\n"       # line 1
        't1,a,b,project,"planned in May,\n'                                    # line 2
        'run in June"\n'                                                       # line 3
        "t2,a,b,,\n"                                                           # line 4: no kind
        "\n"                                                                   # line 5: blank
        "t3,a,b,project,\n"                                                    # line 6
        "t3,a,b,mentoring,\n")                                                 # line 7: t3 again
    summary = _import(cli_env, tmp_path / "ties.csv", "--resource", "collaborations", "--source", "crm",
                      exit_code=1)
    assert (summary["created"], summary["error"], summary["rows_done"]) == (2, 2, 4)
    with open(summary["errors_file"], newline="") as handle:
        rejected = {row["line"]: row for row in csv.DictReader(handle)}
    assert sorted(rejected) == ["4", "6"]
    assert rejected["4"]["detail"].startswith("line 4: kind:")
    assert rejected["6"]["detail"] == "line 6: external_id: appears again on line 7; only the last one is applied"
    notes = [c["note"] for c in api.get("/v1/collaborations?limit=10").get_json()["items"]]
    assert "planned in May,\nrun in June" in notes


def test_unreadable_json_lines_are_rejected_by_line_and_the_rest_stored(cli_env, tmp_path, api):
    (tmp_path / "people.jsonl").write_text('{"external_id": "a", "name": "Ann"}\n\n{"external_id": "b", "name":\n'
                                           '[1, 2]\n{"external_id": "c", "name": "Cid"}\n')
    summary = _import(cli_env, tmp_path / "people.jsonl", "--resource", "members", "--source", "crm", exit_code=1)
    assert (summary["created"], summary["error"]) == (2, 2)
    with open(summary["errors_file"], newline="") as handle:
        details = [row["detail"] for row in csv.DictReader(handle)]
    assert details[0].startswith("line 3: not valid JSON") and details[1].startswith("line 4: a JSON list")


def test_a_malformed_mapping_yaml_is_one_line_naming_its_line(cli_env, files):
    (files / "broken.yaml").write_text("columns:\n  Contact ID: external_id\n  Full Name: [name\nseparator: ';'\n")
    line = _refused(cli_env, files / "members.csv", "--resource", "members", "--source", "crm",
                    "--map", files / "broken.yaml", exit_code=2)
    assert "--map" in line and "broken.yaml, line 4: not valid YAML" in line


def test_a_mapping_to_an_unknown_field_is_refused_naming_it(cli_env, files):
    (files / "typo.yaml").write_text("columns: {Contact ID: external_id, Full Name: name, Email: emial}\n")
    line = _refused(cli_env, files / "members.csv", "--resource", "members", "--source", "crm",
                    "--map", files / "typo.yaml", exit_code=2)
    assert "column 'Email' maps to 'emial', which is not a field of members records" in line


def test_an_unmapped_column_is_refused_unless_the_mapping_drops_it(cli_env, tmp_path, api):
    (tmp_path / "extra.csv").write_text("external_id,name,Owner\nm1,Ann Reyes,sales\n")
    line = _refused(cli_env, tmp_path / "extra.csv", "--resource", "members", "--source", "crm")
    assert "line 1: column 'Owner' is not a field of members records" in line and "Owner: ~" in line
    (tmp_path / "drop.yaml").write_text("columns: {Owner: ~}\n")
    summary = _import(cli_env, tmp_path / "extra.csv", "--resource", "members", "--source", "crm",
                      "--map", tmp_path / "drop.yaml")
    assert summary["created"] == 1


@pytest.mark.parametrize("content, message", [
    ("", "empty.csv: the file is empty; a CSV file starts with a header line"),
    ("external_id,name,name\nm1,Ann,Ann\n", "empty.csv, line 1: column 'name' appears twice (columns 2 and 3)"),
    ("external_id,,name\nm1,x,Ann\n", "empty.csv, line 1: column 2 of the header has no name"),
])
def test_a_header_that_cannot_name_fields_is_refused(cli_env, tmp_path, content, message):
    (tmp_path / "empty.csv").write_text(content)
    line = _refused(cli_env, tmp_path / "empty.csv", "--resource", "members", "--source", "crm")
    assert line.startswith(f"Error: {message}")


def test_a_lone_surrogate_in_a_json_line_fails_that_row_only(cli_env, tmp_path, api):
    """JSON lines are parsed by the importer, not the API's body parser: the schemas' text check refuses it."""
    (tmp_path / "orgs.jsonl").write_text('{"external_id": "o1", "name": "North"}\n'
                                         '{"external_id": "o2", "name": "So\\ud800uth", "region": "x\\udfff"}\n')
    summary = _import(cli_env, tmp_path / "orgs.jsonl", "--resource", "organizations", "--source", "crm",
                      exit_code=1)
    assert (summary["created"], summary["error"]) == (1, 1)
    with open(summary["errors_file"], newline="") as handle:
        assert [(r["line"], r["fields"]) for r in csv.DictReader(handle)] == [("2", "name region")]
    assert [o["name"] for o in api.get("/v1/organizations").get_json()["items"]] == ["North"]


CRM_WITH_FIELDS = """Contact ID,Full Name,Grade Band,Years in Role,Caseload,Rural,Started,Subjects
c1,Ann Reyes,Elementary,4,120.5,Yes,2021-09-01,math; Science
c2,Ben Okafor,middle, 12 ,80,no,,literacy
c3,Cid Park,high,four,,maybe,2020-13-01,
"""
CRM_FIELD_MAP = """columns:
  Contact ID: external_id
  Full Name: name
  Grade Band: attributes.grade_band
  Years in Role: attributes.years_in_role
  Caseload: attributes.caseload
  Rural: attributes.rural
  Started: attributes.started_on
  Subjects: attributes.subjects
separator: ";"
"""


def _define_crm_fields(api) -> None:
    for name, body in {"grade_band": {"type": "enum", "values": ["Elementary", "Middle", "High"]},
                       "years_in_role": {"type": "integer"}, "caseload": {"type": "number"},
                       "rural": {"type": "boolean"}, "started_on": {"type": "date"},
                       "subjects": {"type": "tags"}}.items():
        assert api.put(f"/v1/attributes/member/{name}", json=body).status_code in (200, 201)


def test_csv_columns_fill_custom_attributes_read_as_their_types(cli_env, tmp_path, api):
    """A CSV holds text: a column mapped to attributes.NAME is read as the attribute's type (integer, number,
    boolean as yes/no, date, tags split by the separator); text that is not of the type rejects its row, named
    by line and attribute, and the other rows are stored."""
    _define_crm_fields(api)
    (tmp_path / "crm.csv").write_text(CRM_WITH_FIELDS)
    (tmp_path / "map.yaml").write_text(CRM_FIELD_MAP)
    summary = _import(cli_env, tmp_path / "crm.csv", "--resource", "members", "--source", "crm",
                      "--map", tmp_path / "map.yaml", exit_code=1)
    assert (summary["created"], summary["error"]) == (2, 1)
    members = {m["name"]: m["attributes"] for m in api.get("/v1/members").get_json()["items"]}
    assert members["Ann Reyes"] == {"grade_band": "Elementary", "years_in_role": 4, "caseload": 120.5, "rural": True,
                                    "started_on": "2021-09-01", "subjects": ["math", "science"]}
    # Empty cells leave a field unset; padding around a number is not part of it.
    assert members["Ben Okafor"] == {"grade_band": "Middle", "years_in_role": 12, "caseload": 80, "rural": False,
                                     "subjects": ["literacy"]}
    assert "Cid Park" not in members
    with open(summary["errors_file"], newline="") as handle:
        (rejected,) = list(csv.DictReader(handle))
    assert rejected["line"] == "4"
    assert set(rejected["fields"].split()) == {"attributes.years_in_role", "attributes.rural",
                                               "attributes.started_on"}
    assert "attributes.years_in_role: Not a valid integer." in rejected["detail"]


def test_a_header_naming_attributes_fills_them_without_a_mapping(cli_env, tmp_path, api):
    _define_crm_fields(api)
    (tmp_path / "plain.csv").write_text("external_id,name,attributes.years_in_role,attributes.subjects\n"
                                        "m1,Ann Reyes,7,math;art\n")
    assert _import(cli_env, tmp_path / "plain.csv", "--resource", "members", "--source", "crm")["created"] == 1
    (member,) = api.get("/v1/members").get_json()["items"]
    assert member["attributes"] == {"years_in_role": 7, "subjects": ["math", "art"]}


def test_a_column_filling_an_undefined_or_misnamed_attribute_is_refused_before_anything_is_written(
        cli_env, tmp_path, api):
    _define_crm_fields(api)
    (tmp_path / "crm.csv").write_text("external_id,name,Mentor\nm1,Ann Reyes,yes\n")
    (tmp_path / "undefined.yaml").write_text("columns: {Mentor: attributes.mentor}\n")
    line = _refused(cli_env, tmp_path / "crm.csv", "--resource", "members", "--source", "crm",
                    "--map", tmp_path / "undefined.yaml", exit_code=2)
    assert "column 'Mentor' fills the member attribute 'mentor', which is not defined" in line
    assert "PUT /v1/attributes/member/mentor" in line and "defined: caseload, grade_band, rural" in line
    (tmp_path / "misnamed.yaml").write_text("columns: {Mentor: attributes.Mentor-Name}\n")
    line = _refused(cli_env, tmp_path / "crm.csv", "--resource", "members", "--source", "crm",
                    "--map", tmp_path / "misnamed.yaml", exit_code=2)
    assert "column 'Mentor' maps to 'attributes.Mentor-Name', which is no custom attribute" in line
    assert api.get("/v1/members").get_json()["items"] == []


def test_a_file_imported_completely_is_not_sent_again_unless_restarted(cli_env, tmp_path, api):
    """A rerun after a complete import used to report 'error 0' and exit 0 while the rows it had rejected were
    never stored. It now imports nothing (sending the file again could undo corrections made since), says how
    many rows were rejected then and exits 1; --restart sends it again and retries them."""
    current = api.get("/v1/vocabularies/member_role")
    closed = {"policy": "closed", "values": [{"value": "teacher"}, {"value": "coach"}]}
    assert api.put("/v1/vocabularies/member_role", json=closed,
                   headers={"If-Match": current.headers["ETag"]}).status_code == 200
    (tmp_path / "roles.csv").write_text("external_id,name,role\nm1,Ann Reyes,teacher\nm2,Ben Okafor,Paraprofessional\n")
    args = [tmp_path / "roles.csv", "--resource", "members", "--source", "crm"]
    first = _import(cli_env, *args, exit_code=1)
    assert (first["created"], first["error"], first["imported_before"], first["new_values"]) == (1, 1, False, {})
    current = api.get("/v1/vocabularies/member_role")
    assert api.put("/v1/vocabularies/member_role", json={**closed, "policy": "open"},
                   headers={"If-Match": current.headers["ETag"]}).status_code == 200
    again = _import(cli_env, *args, exit_code=1)
    assert (again["created"], again["unchanged"], again["error"]) == (0, 0, 0)
    assert (again["imported_before"], again["rejected_before"]) == (True, 1)
    shown = CliRunner(env=cli_env).invoke(cli.main, ["import", *map(str, args)])
    assert shown.exit_code == 1 and "imported completely before (1 rows rejected then" in shown.output
    assert "--restart imports it again" in shown.output
    assert [m["role"] for m in api.get("/v1/members").get_json()["items"]] == ["teacher"]
    restarted = _import(cli_env, *args, "--restart")
    assert (restarted["created"], restarted["unchanged"], restarted["error"]) == (1, 1, 0)
    assert restarted["new_values"] == {"role": ["paraprofessional"]}
    assert sorted(m["role"] for m in api.get("/v1/members").get_json()["items"]) == ["paraprofessional", "teacher"]
