"""The lean sync path: the fast record loader, the direct response document, ties keyed by their own
external key (and the migration of the old ExternalId tie nodes), and a race between two creators of a tie."""

import datetime
import threading

from hypothesis import event, given, settings
from hypothesis import strategies as st
from marshmallow import Schema, ValidationError

from bench.sync import generate
from schemas.fast import FastLoader
from schemas.sync import RECORD_SCHEMAS, SyncResponseSchema
from service import db
from service.repositories import sync as sync_repository
from tests.conftest import run_test_query
from tests.support import run_together
from tests.service.test_sync import sync

# Values each field takes (some changed on the way: padded text, upper-case or repeated tags, 3.0 as a
# strength), and values it refuses (blank, control characters, too long, wrong type, null...). A record is
# drawn from good values, then maybe one field is spoilt or an unknown key added.
_TEXT = ["Ann", "  Ann  ", "Ben\u00a0", "o1", "m2", " m1 "]
_BAD_TEXT = ["", "   ", "\x1c", "a" * 201, 5, None, ["Ann"]]
_GOOD = {
    "external_id": _TEXT, "name": _TEXT, "title": _TEXT + [None], "region": _TEXT + [None],
    "note": _TEXT + [None], "deleted": [False],
    "id": ["3f2b8c1e-8a4b-4c5e-9d6f-0a1b2c3d4e5f", "3F2B8C1E8A4B4C5E9D6F0A1B2C3D4E5F"],
    "email": ["ann@example.org", None], "role": ["teacher", "coach", None], "kind": ["kind"],  # replaced per resource
    "discoverable": [True, False], "organizations": [["o1"], ["o1", "o2"], [" o1 ", "o1"], []],
    "topics": [["Math", "math", " equity "], [], ["ell"]], "populations": [["ELL"], []],
    "source_external_id": ["m1", " m1 ", "o1"], "target_external_id": ["m2", "o2 "],
    "strength": [1, 3, 5, 3.0], "started_on": ["2024-01-31", None], "ended_on": ["2024-06-30", None],
    "attributes": [{}, {"grade_band": "middle", "years": 4}, {"home": None}],
    "trust": [1, 5, 3.0, None], "value": [2, None],
    "starts_on": ["2024-01-31", None], "ends_on": ["2024-06-30", None],
    "organization_external_id": ["o1", " o1 ", None],
    "participants": [[], [{"member_external_id": "m1"}],
                     [{"member_external_id": " m1 ", "role": "facilitator"}, {"member_external_id": "m2"}]],
}
_BAD = {
    **{name: _BAD_TEXT for name in ("external_id", "name", "source_external_id", "target_external_id")},
    **{name: _BAD_TEXT[:4] for name in ("title", "region", "note")},
    "deleted": [True, "yes", None], "id": ["not-a-uuid", None, 7], "email": ["not-an-email", " a@b.org", 3],
    "role": ["", 7, "x" * 101], "kind": ["", None, 7],
    "attributes": [{"Bad Name": 1}, "grade_band", [1], None], "discoverable": ["yes", None, 1],
    "organizations": [[""], "o1", None, ["o"] * 51], "topics": [[""], "math", [7], ["x"] * 31, ["t"] * 31],
    "populations": [None, ["a" * 61]], "strength": [2.5, 9, 0, "3", True, None],
    "started_on": ["2023-02-30", 20240131, "2025-01-01"], "ended_on": ["yesterday", "2023-12-31"],
    "trust": [0, 6, 2.5, "3", True], "value": [9, "high"],
    "starts_on": ["2023-02-30", 20240131, "2025-01-01"], "ends_on": ["yesterday", "2023-12-31"],
    "organization_external_id": _BAD_TEXT[:4],
    "participants": [None, "m1", [{"member_external_id": ""}], [{"member_external_id": "m1"}] * 2,
                     [{"member_external_id": "m1", "role": "host"}], [{"member_external_id": "m1"}] * 1001],
}


def _record(resource):
    names = list(RECORD_SCHEMAS[resource]().load_fields)
    needed = ("external_id", *RECORD_SCHEMAS[resource].REQUIRED_UNLESS_DELETED)
    kinds = {"collaborations": ["project", "mentoring"], "activities": ["convening", "Cohort"]}
    good = {**_GOOD, "kind": kinds.get(resource, ["district", "network"])}
    required = {name: st.sampled_from(good[name]) for name in needed}
    optional = {name: st.sampled_from(good[name]) for name in names if name not in needed}

    @st.composite
    def record(draw):
        raw = draw(st.fixed_dictionaries(required, optional=optional))
        spoil = draw(st.sampled_from([*[None] * len(names), "unknown", *names]))
        if spoil == "unknown":
            raw["unknown"] = 1
        elif spoil is not None:
            raw[spoil] = draw(st.sampled_from(_BAD[spoil]))
        return raw

    return record()


def _schema_load(schema, raw):
    try:
        return schema.load(raw)
    except ValidationError:
        return None


@settings(max_examples=400, deadline=None, derandomize=True)
@given(data=st.data(), resource=st.sampled_from(sorted(RECORD_SCHEMAS)))
def test_fast_loader_accepts_only_what_the_schema_loads_and_loads_it_the_same(data, resource):
    raw = data.draw(_record(resource))
    schema = RECORD_SCHEMAS[resource]()
    fast = FastLoader(schema).load(raw)
    expected = _schema_load(RECORD_SCHEMAS[resource](), raw)
    event(f"{resource}: schema {'loads' if expected is not None else 'refuses'}, fast path "
          f"{'takes' if fast is not None else 'declines'}")
    if fast is not None:
        assert fast == expected
    else:
        # Declining a record makes the schema load it: never wrong, but it must stay the exception.
        assert expected is None


def test_fast_loader_takes_ordinary_records():
    members, ties = generate(50, 100)
    for resource, records in (("members", members), ("collaborations", ties)):
        loader = FastLoader(RECORD_SCHEMAS[resource]())
        for record in records:
            assert loader.load(record) == RECORD_SCHEMAS[resource]().load(record)


def test_response_document_is_the_one_the_schema_declares():
    results = [{"index": 0, "external_id": "a", "status": "created", "id": "1", "error": None},
               sync_repository._failed(1, {"external_id": "b"}, [{"field": "name", "location": "json",
                                                                  "messages": ["bad"]}]),
               {"index": 2, "external_id": "c", "status": "detached", "id": "2", "error": None,
                "held_by": ["api", "crm"]},
               sync_repository._email_taken({"index": 3, "id": "3", "holder": "4"}, {"external_id": "d"})]
    results[1]["error"]["extra_member"] = "kept out, as marshmallow does"
    outcome = {"results": results, "summary": {"created": 1, "updated": 0, "unchanged": 0, "deleted": 0,
                                               "detached": 1, "error": 2}}
    assert SyncResponseSchema().dump(outcome) == Schema.dump(SyncResponseSchema(), outcome)


def test_a_synced_tie_carries_its_external_key(api, graph):
    sync(api, "members", [{"external_id": "m1", "name": "Ann"}, {"external_id": "m2", "name": "Ben"}])
    tie = sync(api, "collaborations", [{"external_id": "c1", "source_external_id": "m1", "target_external_id": "m2",
                                        "kind": "project"}]).get_json()["results"][0]
    assert run_test_query(graph, "test_tie_external_keys") == [
        {"id": tie["id"], "external_key": "collaboration:hubspot:c1"}]
    assert run_test_query(graph, "test_legacy_tie_handles") == [{"handles": 0}]


def test_unknown_party_is_reported_by_field_and_nothing_is_written(api):
    sync(api, "members", [{"external_id": "m1", "name": "Ann"}])
    response = sync(api, "collaborations", [
        {"external_id": "c1", "source_external_id": "m1", "target_external_id": "nobody", "kind": "project"},
        {"external_id": "c2", "source_external_id": "ghost", "target_external_id": "m1", "kind": "project"}])
    assert response.status_code == 207
    fields = [[e["field"] for e in r["error"]["errors"]] for r in response.get_json()["results"]]
    assert fields == [["target_external_id"], ["source_external_id"]]
    assert api.get("/v1/collaborations").get_json()["items"] == []


def test_schema_bootstrap_moves_old_tie_external_ids_onto_the_ties(app, api, graph):
    """A database synced before ties carried their key: ExternalId {tie_id} nodes, ties without a key."""
    sync(api, "members", [{"external_id": "m1", "name": "Ann"}, {"external_id": "m2", "name": "Ben"},
                          {"external_id": "m3", "name": "Cid"}])
    records = [{"external_id": "c1", "source_external_id": "m1", "target_external_id": "m2", "kind": "project",
                "strength": 2},
               {"external_id": "c2", "source_external_id": "m2", "target_external_id": "m3", "kind": "event"}]
    first = sync(api, "collaborations", records).get_json()["results"]
    ids = [result["id"] for result in first]
    run_test_query(graph, "test_make_legacy_tie_handles", keys=["collaboration:hubspot:c1",
                                                                "collaboration:hubspot:c2", "collaboration:hubspot:gone"])
    assert run_test_query(graph, "test_legacy_tie_handles") == [{"handles": 3}]
    assert run_test_query(graph, "test_tie_external_keys") == []

    db.apply_schema(graph)
    db.apply_schema(graph)  # idempotent: a second start-up finds nothing to move

    keys = {row["id"]: row["external_key"] for row in run_test_query(graph, "test_tie_external_keys")}
    assert keys == {ids[0]: "collaboration:hubspot:c1", ids[1]: "collaboration:hubspot:c2"}
    assert run_test_query(graph, "test_legacy_tie_handles") == [{"handles": 0}]
    again = sync(api, "collaborations", [records[0], {**records[1], "strength": 5}]).get_json()["results"]
    assert [(r["id"], r["status"]) for r in again] == [(ids[0], "unchanged"), (ids[1], "updated")]
    assert len(api.get("/v1/collaborations").get_json()["items"]) == 2


def test_two_integrations_creating_one_tie_both_ways_at_once_leave_one_tie(app, api, graph):
    """Both see no tie and create it in opposite directions: the constraint refuses the second, whose
    retry then finds the tie. Every answer is 200 and names the one tie."""
    sync(api, "members", [{"external_id": f"m{i}", "name": f"M{i}"} for i in range(20)], source="crm")
    answers, errors = [], []
    barrier = threading.Barrier(2)

    def worker(n):
        client = app.test_client()
        records = [{"external_id": f"c{i}", "source_external_id": f"m{i if n == 0 else i + 1}",
                    "target_external_id": f"m{i + 1 if n == 0 else i}", "kind": "project"} for i in range(19)]
        barrier.wait()
        response = client.post("/v1/sync/collaborations", json={"source": "crm", "records": records},
                               headers={"Authorization": f"Bearer {api.secret}"})
        (answers if response.status_code == 200 else errors).append(response.get_json())

    run_together(worker, 2)
    assert errors == []
    first, second = ([r["id"] for r in answer["results"]] for answer in answers)
    assert first == second
    assert run_test_query(graph, "test_count_collaborations", id=None) == [{"ties": 19}]


def test_tie_dates_round_trip_through_the_lean_path(api):
    day = datetime.date(2024, 1, 31)
    sync(api, "members", [{"external_id": "m1", "name": "Ann"}, {"external_id": "m2", "name": "Ben"}])
    result = sync(api, "collaborations", [{"external_id": "c1", "source_external_id": "m1",
                                           "target_external_id": "m2", "kind": "project",
                                           "started_on": day.isoformat()}]).get_json()["results"][0]
    assert api.get(f"/v1/collaborations/{result['id']}").get_json()["started_on"] == day.isoformat()


def test_parties_resolve_by_member_key_then_organization_key_then_netweave_id(api):
    both = "shared-7"  # the external id of a member and of an organization of the same source
    member = sync(api, "members", [{"external_id": both, "name": "Ann"}]).get_json()["results"][0]["id"]
    organizations = sync(api, "organizations", [{"external_id": both, "name": "North"},
                                                {"external_id": "o9", "name": "South"}]).get_json()["results"]
    other = sync(api, "members", [{"external_id": "m8", "name": "Ben"}]).get_json()["results"][0]["id"]
    response = sync(api, "collaborations", [
        {"external_id": "c1", "source_external_id": both, "target_external_id": "o9", "kind": "partnership"},
        {"external_id": "c2", "source_external_id": organizations[0]["id"], "target_external_id": other,
         "kind": "project"}])
    assert response.status_code == 200, response.get_json()
    ties = {t["id"]: t for t in api.get("/v1/collaborations").get_json()["items"]}
    first, second = (ties[r["id"]] for r in response.get_json()["results"])
    assert {first["source_id"], first["target_id"]} == {member, organizations[1]["id"]}
    assert {second["source_id"], second["target_id"]} == {organizations[0]["id"], other}


def test_atomic_batch_with_an_unknown_party_writes_nothing(api):
    sync(api, "members", [{"external_id": "m1", "name": "Ann"}, {"external_id": "m2", "name": "Ben"}])
    response = sync(api, "collaborations", [
        {"external_id": "c1", "source_external_id": "m1", "target_external_id": "m2", "kind": "project"},
        {"external_id": "c2", "source_external_id": "m1", "target_external_id": "nobody", "kind": "project"}],
        query="?atomic=true")
    assert response.status_code == 400
    assert [r["index"] for r in response.get_json()["results"]] == [1]
    assert api.get("/v1/collaborations").get_json()["items"] == []


def test_gunicorn_workers_freeze_the_app_and_collect_young_objects_less_often(monkeypatch, tmp_path):
    import gc
    import runpy
    from pathlib import Path

    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))  # the file sets it up when unset
    conf = runpy.run_path(str(Path(__file__).resolve().parents[2] / "service" / "gunicorn.conf.py"))
    threshold = gc.get_threshold()
    try:
        conf["post_worker_init"](None)
        assert gc.get_threshold()[0] == 10_000 and gc.get_threshold()[1:] == threshold[1:]
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
        gc.set_threshold(*threshold)
