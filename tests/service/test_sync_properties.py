"""Properties of sync on the real Neo4j: applying a batch twice equals once, order does not matter."""

import random

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import ADMIN_SECRET, run_test_query
from service.web import auth
from service.repositories import changes

ORG_KEYS = ["o1", "o2", "o3"]
MEMBER_KEYS = [f"m{i}" for i in range(6)]
PROPERTY_SETTINGS = settings(max_examples=15, deadline=None, derandomize=True,
                             suppress_health_check=[HealthCheck.function_scoped_fixture])

member_records = st.lists(
    st.fixed_dictionaries({
        "external_id": st.sampled_from(MEMBER_KEYS),
        "name": st.sampled_from(["Ann", "Ben", "Cid", "Dee"]),
        "role": st.sampled_from(["teacher", "coach", None]),
        "topics": st.lists(st.sampled_from(["math", "literacy", "equity"]), max_size=2, unique=True),
        "organizations": st.lists(st.sampled_from(ORG_KEYS), max_size=2, unique=True),
    }),
    min_size=1, max_size=8, unique_by=lambda record: record["external_id"],
)
tie_records = st.lists(
    st.fixed_dictionaries({
        "external_id": st.sampled_from([f"c{i}" for i in range(5)]),
        "source_external_id": st.sampled_from(MEMBER_KEYS[:3]),
        "target_external_id": st.sampled_from(MEMBER_KEYS[3:] + ORG_KEYS),
        "kind": st.sampled_from(["project", "mentoring"]),
        "strength": st.integers(1, 5),
    }),
    max_size=5, unique_by=lambda record: record["external_id"],
)


def _reset(graph):
    run_test_query(graph, "test_clean_graph", keep_key_id=auth.BOOTSTRAP_KEY_ID)


def _apply(client, resource, records):
    response = client.post(f"/v1/sync/{resource}", json={"source": "crm", "records": records},
                           headers={"Authorization": f"Bearer {ADMIN_SECRET}"})
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def _load(client, members, ties):
    _apply(client, "organizations", [{"external_id": key, "name": key.upper()} for key in ORG_KEYS])
    for record in members:
        _apply(client, "members", [record])
    all_members = [{"external_id": key, "name": "Filler"} for key in MEMBER_KEYS]
    existing = {record["external_id"] for record in members}
    missing = [record for record in all_members if record["external_id"] not in existing]
    if missing:
        _apply(client, "members", missing)
    if ties:
        _apply(client, "collaborations", ties)


def _fingerprint(graph):
    row = run_test_query(graph, "test_graph_fingerprint")[0]
    return {key: sorted(map(repr, value)) if isinstance(value, list) else value for key, value in row.items()}


@PROPERTY_SETTINGS
@given(members=member_records, ties=tie_records)
def test_applying_a_batch_twice_equals_applying_it_once(client, graph, members, ties):
    _reset(graph)
    _load(client, members, ties)
    once = _fingerprint(graph)
    revision = changes.revision(graph)
    second = [_apply(client, resource, records) for resource, records in
              (("members", members), ("collaborations", ties)) if records]
    assert _fingerprint(graph) == once
    assert all(result["status"] == "unchanged" for outcome in second for result in outcome["results"])
    assert changes.revision(graph) == revision, "a no-op sync wrote a change"


@PROPERTY_SETTINGS
@given(members=member_records, ties=tie_records, seed=st.integers(0, 2**16))
def test_the_same_upserts_in_any_order_give_the_same_graph(client, graph, members, ties, seed):
    _reset(graph)
    _load(client, members, ties)
    in_order = _fingerprint(graph)
    shuffled_members, shuffled_ties = members[:], ties[:]
    random.Random(seed).shuffle(shuffled_members)
    random.Random(seed + 1).shuffle(shuffled_ties)
    _reset(graph)
    _load(client, shuffled_members, shuffled_ties)
    assert _fingerprint(graph) == in_order


@PROPERTY_SETTINGS
@given(members=member_records)
def test_tombstone_then_recreate_gives_new_nodes_and_both_in_the_feed(client, graph, members):
    _reset(graph)
    _load(client, members, [])
    keys = [record["external_id"] for record in members]
    deleted = _apply(client, "members", [{"external_id": key, "deleted": True} for key in keys])
    old_ids = {r["external_id"]: r["id"] for r in deleted["results"]}
    recreated = _apply(client, "members", members)
    for result in recreated["results"]:
        assert result["status"] == "created" and result["id"] != old_ids[result["external_id"]]
    feed = client.get("/v1/changes?limit=1000&resource=member",
                      headers={"Authorization": f"Bearer {ADMIN_SECRET}"}).get_json()["items"]
    actions = {(item["id"], item["action"]) for item in feed}
    for result in recreated["results"]:
        assert (old_ids[result["external_id"]], "delete") in actions
        assert (result["id"], "create") in actions
