"""CRM sync: per-record answers, unchanged writes nothing, tombstones, atomic batches, the change feed."""

import time
import uuid

import pytest

from tests.conftest import run_test_query
from tests.support import run_together


def sync(api, resource, records, source="hubspot", query="", **kwargs):
    return api.post(f"/v1/sync/{resource}{query}", json={"source": source, "records": records}, **kwargs)


def feed(api, **params):
    query = "&".join(f"{k}={v}" for k, v in {"limit": 1000, **params}.items())
    response = api.get(f"/v1/changes?{query}")
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


@pytest.fixture
def organizations(api):
    response = sync(api, "organizations", [{"external_id": "o1", "name": "North District", "kind": "district"},
                                           {"external_id": "o2", "name": "Coaches Network", "kind": "network"}])
    assert response.status_code == 200
    return {r["external_id"]: r["id"] for r in response.get_json()["results"]}


def test_mixed_batch_stores_the_good_and_reports_each_bad_by_index(api, organizations):
    members = sync(api, "members", [
        {"external_id": "m1", "name": "Ann", "email": "ann@example.org", "organizations": ["o1"]},
        {"external_id": "m2", "name": "Ben", "email": "not-an-email"},
        {"external_id": "m3", "name": "Cid", "organizations": ["o1", "o-unknown"]},
        {"name": "No external id"},
        {"external_id": "m5", "name": "Dee", "organizations": ["o2"]},
    ])
    assert members.status_code == 207
    body = members.get_json()
    assert [r["index"] for r in body["results"]] == [0, 1, 2, 3, 4]
    assert [r["status"] for r in body["results"]] == ["created", "error", "error", "error", "created"]
    failing = {r["index"]: [e["field"] for e in r["error"]["errors"]] for r in body["results"] if r["error"]}
    assert failing == {1: ["email"], 2: ["organizations.1"], 3: ["external_id"]}
    assert body["summary"] == {"created": 2, "updated": 0, "unchanged": 0, "deleted": 0, "detached": 0, "error": 3}

    ties = sync(api, "collaborations", [
        {"external_id": "c1", "source_external_id": "m1", "target_external_id": "m5", "kind": "project"},
        {"external_id": "c2", "source_external_id": "m1", "target_external_id": "m5", "kind": "project",
         "strength": 9},
        {"external_id": "c3", "source_external_id": "m1", "target_external_id": "o2", "kind": "partnership"},
    ])
    assert ties.status_code == 207
    results = ties.get_json()["results"]
    assert [r["status"] for r in results] == ["created", "error", "created"]
    assert results[1]["error"]["errors"][0]["field"] == "strength"
    names = sorted(m["name"] for m in api.get("/v1/members").get_json()["items"])
    assert names == ["Ann", "Dee"]
    ann = next(m for m in api.get("/v1/members").get_json()["items"] if m["name"] == "Ann")
    assert [a["organization_id"] for a in ann["affiliations"]] == [organizations["o1"]]


def test_unchanged_record_writes_nothing(api, organizations):
    record = {"external_id": "m1", "name": "Ann", "topics": ["math"], "organizations": ["o1"]}
    first = sync(api, "members", [record]).get_json()["results"][0]
    before = feed(api)
    again = sync(api, "members", [record]).get_json()["results"][0]
    assert (again["status"], again["id"]) == ("unchanged", first["id"])
    assert api.get(f"/v1/members/{first['id']}").get_json()["version"] == 1
    assert feed(api)["items"] == before["items"]

    changed = sync(api, "members", [{**record, "title": "Coach"}]).get_json()["results"][0]
    assert changed["status"] == "updated"
    assert api.get(f"/v1/members/{first['id']}").get_json()["version"] == 2
    last = feed(api)["items"][-1]
    assert (last["resource"], last["id"], last["action"], last["source"], last["external_ids"]) == (
        "member", first["id"], "update", "hubspot", ["hubspot:m1"])


def test_tombstone_then_recreate_is_a_new_node_and_the_feed_shows_both(api, organizations):
    created = sync(api, "members", [{"external_id": "m1", "name": "Ann", "organizations": ["o1"]}])
    old_id = created.get_json()["results"][0]["id"]
    gone = sync(api, "members", [{"external_id": "m1", "deleted": True}]).get_json()["results"][0]
    assert (gone["status"], gone["id"]) == ("deleted", old_id)
    assert api.get(f"/v1/members/{old_id}").status_code == 404
    again = sync(api, "members", [{"external_id": "m1", "deleted": True}]).get_json()["results"][0]
    assert again["status"] == "unchanged"
    reborn = sync(api, "members", [{"external_id": "m1", "name": "Ann"}]).get_json()["results"][0]
    assert reborn["status"] == "created" and reborn["id"] != old_id

    entries = [(e["resource"], e["id"], e["action"]) for e in feed(api, resource="member")["items"]]
    assert entries == [("member", old_id, "create"), ("member", old_id, "delete"), ("member", reborn["id"], "create")]
    affiliation_deletes = [e for e in feed(api, resource="affiliation")["items"] if e["action"] == "delete"]
    assert [e["id"] for e in affiliation_deletes] == [f"{old_id}/{organizations['o1']}"]


def test_member_tombstone_removes_its_ties(api, organizations):
    sync(api, "members", [{"external_id": "m1", "name": "Ann"}, {"external_id": "m2", "name": "Ben"}])
    tie = sync(api, "collaborations", [{"external_id": "c1", "source_external_id": "m1",
                                        "target_external_id": "m2", "kind": "mentoring"}]).get_json()["results"][0]
    sync(api, "members", [{"external_id": "m1", "deleted": True}])
    assert api.get(f"/v1/collaborations/{tie['id']}").status_code == 404
    deletes = [e for e in feed(api, resource="collaboration")["items"] if e["action"] == "delete"]
    assert [e["id"] for e in deletes] == [tie["id"]]


def test_collaboration_synced_twice_is_one_tie(api, organizations):
    sync(api, "members", [{"external_id": "m1", "name": "Ann"}, {"external_id": "m2", "name": "Ben"}])
    record = {"external_id": "c1", "source_external_id": "m1", "target_external_id": "m2", "kind": "project",
              "strength": 2}
    first = sync(api, "collaborations", [record]).get_json()["results"][0]
    second = sync(api, "collaborations", [record]).get_json()["results"][0]
    third = sync(api, "collaborations", [{**record, "strength": 4}]).get_json()["results"][0]
    assert (first["status"], second["status"], third["status"]) == ("created", "unchanged", "updated")
    assert first["id"] == second["id"] == third["id"]
    items = api.get("/v1/collaborations").get_json()["items"]
    assert [(i["id"], i["strength"], i["source"]) for i in items] == [(first["id"], 4, "hubspot")]


def test_moving_a_synced_collaboration_is_refused(api, organizations):
    sync(api, "members", [{"external_id": f"m{i}", "name": f"M{i}"} for i in range(3)])
    record = {"external_id": "c1", "source_external_id": "m0", "target_external_id": "m1", "kind": "project"}
    sync(api, "collaborations", [record])
    moved = sync(api, "collaborations", [{**record, "target_external_id": "m2"}])
    assert moved.status_code == 207
    assert moved.get_json()["results"][0]["error"]["errors"][0]["field"] == "target_external_id"


def test_node_may_carry_external_ids_from_several_systems(api):
    ann = sync(api, "members", [{"external_id": "003A", "name": "Ann"}], source="salesforce")
    ann_id = ann.get_json()["results"][0]["id"]
    linked = sync(api, "members", [{"external_id": "77", "name": "Ann", "id": ann_id}], source="hubspot")
    assert linked.get_json()["results"][0] == {"index": 0, "external_id": "77", "status": "updated", "id": ann_id,
                                               "error": None}
    hubspot_update = sync(api, "members", [{"external_id": "77", "name": "Ann B."}], source="hubspot")
    assert hubspot_update.get_json()["results"][0]["id"] == ann_id
    assert [m["name"] for m in api.get("/v1/members").get_json()["items"]] == ["Ann B."]
    unknown = sync(api, "members", [{"external_id": "78", "name": "X", "id": str(uuid.uuid4())}], source="hubspot")
    assert unknown.get_json()["results"][0]["error"]["errors"][0]["field"] == "id"


def test_atomic_batch_is_all_or_nothing(api, organizations):
    records = [{"external_id": "m1", "name": "Ann"}, {"external_id": "m2", "name": "Ben", "organizations": ["nope"]}]
    rejected = sync(api, "members", records, query="?atomic=true")
    assert rejected.status_code == 400
    problem = rejected.get_json()
    assert problem["type"] == "urn:netweave:problem:sync-batch-rejected"
    assert [(r["index"], r["error"]["errors"][0]["field"]) for r in problem["results"]] == [(1, "organizations.0")]
    assert api.get("/v1/members").get_json()["items"] == []
    accepted = sync(api, "members", records[:1], query="?atomic=true")
    assert accepted.status_code == 200


def test_more_than_a_thousand_records_is_413(api):
    records = [{"external_id": f"m{i}", "name": f"M{i}"} for i in range(1001)]
    response = sync(api, "members", records)
    assert response.status_code == 413 and response.mimetype == "application/problem+json"
    assert api.get("/v1/members").get_json()["items"] == []


@pytest.mark.parametrize("body, field", [
    ({"records": [{"external_id": "x", "name": "X"}]}, "source"),
    ({"source": "Hub Spot", "records": [{"external_id": "x", "name": "X"}]}, "source"),
    ({"source": "hubspot", "records": []}, "records"),
    ({"source": "hubspot", "records": "x"}, "records"),
    ({"source": "hubspot", "records": [], "extra": 1}, "extra"),
])
def test_bad_envelope_is_422(api, body, field):
    response = api.post("/v1/sync/members", json=body)
    assert response.status_code == 422
    assert field in [e["field"] for e in response.get_json()["errors"]]


def test_duplicate_external_id_in_one_batch_applies_the_last(api):
    response = sync(api, "organizations", [{"external_id": "o1", "name": "First"},
                                           {"external_id": "o1", "name": "Second"}])
    results = response.get_json()["results"]
    assert response.status_code == 207 and [r["status"] for r in results] == ["error", "created"]
    assert [o["name"] for o in api.get("/v1/organizations").get_json()["items"]] == ["Second"]


def test_sync_needs_the_sync_scope(api, make_key):
    writer = api.with_key(make_key("write", "read"))
    assert sync(writer, "members", [{"external_id": "m", "name": "M"}]).status_code == 403


def test_sync_replays_with_the_same_idempotency_key(api):
    records = [{"external_id": "o1", "name": "North"}]
    first = sync(api, "organizations", records, headers={"Idempotency-Key": "batch-1"})
    second = sync(api, "organizations", records, headers={"Idempotency-Key": "batch-1"})
    assert first.data == second.data and first.get_json()["results"][0]["status"] == "created"
    assert second.headers["Idempotent-Replayed"] == "true"


def test_concurrent_upserts_of_overlapping_external_ids_leave_one_node_each(app, api, graph):
    keys = [f"m{i}" for i in range(10)]
    errors = []

    def worker(n):
        client = app.test_client()
        records = [{"external_id": k, "name": f"Name {k}", "title": f"t{n}"} for k in keys[n % 3:] + keys[:n % 3]]
        response = client.post("/v1/sync/members", json={"source": "crm", "records": records},
                               headers={"Authorization": f"Bearer {api.secret}"})
        if response.status_code != 200:
            errors.append(response.get_data(as_text=True))

    run_together(worker, 20)
    assert errors == []
    counts = run_test_query(graph, "test_members_by_external_key", keys=[f"member:crm:{k}" for k in keys])
    assert {row["key"]: row["members"] for row in counts} == {f"member:crm:{k}": 1 for k in keys}
    assert len(api.get("/v1/members?limit=100").get_json()["items"]) == 10


# --- the change feed ------------------------------------------------------------------------------

def test_feed_lists_every_kind_of_change_in_commit_order(api, new_member, new_organization, new_collaboration):
    ada, org = new_member("Ada"), new_organization()
    api.put(f"/v1/members/{ada['id']}/affiliations/{org['id']}", json={})
    tie = new_collaboration(ada, org, kind="partnership")
    api.patch(f"/v1/members/{ada['id']}", json={"title": "Coach"}, headers={"If-Match": '"1"'})
    api.delete(f"/v1/members/{ada['id']}", headers={"If-Match": '"2"'})
    items = feed(api)["items"]
    assert [item["seq"] for item in items] == sorted(item["seq"] for item in items)
    assert len({item["seq"] for item in items}) == len(items)
    assert [(i["resource"], i["action"]) for i in items] == [
        ("member", "create"), ("organization", "create"), ("affiliation", "create"), ("collaboration", "create"),
        ("member", "update"), ("collaboration", "delete"), ("affiliation", "delete"), ("member", "delete")]
    assert items[3]["id"] == tie["id"] and items[2]["id"] == f"{ada['id']}/{org['id']}"


def test_feed_pages_by_cursor_and_filters_by_source(api):
    sync(api, "organizations", [{"external_id": f"o{i}", "name": f"O{i}"} for i in range(5)], source="hubspot")
    sync(api, "organizations", [{"external_id": f"o{i}", "name": f"O{i}"} for i in range(3)], source="salesforce")
    api.post("/v1/organizations", json={"name": "By hand"})
    seen, cursor = [], None
    while True:
        page = feed(api, limit=3, **({"since": cursor} if cursor else {}))
        seen.extend(page["items"])
        if not page["items"]:
            break
        cursor = page["next_cursor"]
    assert [i["seq"] for i in seen] == list(range(seen[0]["seq"], seen[0]["seq"] + 9))
    assert feed(api, since=cursor)["next_cursor"] == cursor, "an empty page keeps the cursor to poll with"
    assert {i["source"] for i in feed(api, exclude_source="hubspot")["items"]} == {"salesforce", "api"}
    assert len(feed(api, source="salesforce")["items"]) == 3


def test_every_entry_carries_its_commit_time_on_every_page(api):
    """The entries of one write share its commit time, which the feed reads once per write and gives to each:
    pages starting inside a write, the whole feed and a filtered read (which reads it with every entry)
    agree on every entry's `at`, and three writes have three."""
    sync(api, "organizations", [{"external_id": f"o{i}", "name": f"O{i}"} for i in range(5)], source="hubspot")
    time.sleep(0.02)
    api.post("/v1/organizations", json={"name": "By hand"})
    time.sleep(0.02)
    sync(api, "organizations", [{"external_id": f"o{i}", "name": f"O{i}"} for i in range(4)], source="salesforce")
    whole = feed(api)["items"]
    paged, cursor = [], None
    while True:
        page = feed(api, limit=3, **({"since": cursor} if cursor else {}))
        if not page["items"]:
            break
        paged.extend(page["items"])
        cursor = page["next_cursor"]
    filtered = feed(api, resource="organization")["items"]
    assert len(whole) == 10 and all(item["at"] for item in whole)
    assert [(i["seq"], i["at"]) for i in paged] == [(i["seq"], i["at"]) for i in whole] == \
        [(i["seq"], i["at"]) for i in filtered]
    assert [len({i["at"] for i in whole[a:b]}) for a, b in ((0, 5), (5, 6), (6, 10), (0, 10))] == [1, 1, 1, 3]


def test_feed_rejects_a_foreign_cursor(api):
    response = api.get("/v1/changes?since=garbage")
    assert response.status_code == 422 and response.get_json()["errors"][0]["field"] == "since"


def test_feed_cursor_older_than_retention_is_410(app, api, graph):
    from service.repositories import changes as changes_repo

    sync(api, "organizations", [{"external_id": f"o{i}", "name": f"O{i}"} for i in range(3)])
    cursor = feed(api)["items"][0]["seq"]
    # Retention of 0 days removes everything already written.
    purged = graph.write(lambda tx: changes_repo.db.run_one(tx, "change_purge", days=0, batch=100))["purged"]
    assert purged == 3
    gone = api.get(f"/v1/changes?since={changes_repo.encode_seq(cursor)}")
    assert gone.status_code == 410 and gone.get_json()["type"] == "urn:netweave:problem:cursor-expired"
    sync(api, "organizations", [{"external_id": "o9", "name": "After the purge"}])
    fresh = feed(api)
    assert [i["external_ids"] for i in fresh["items"]] == [["hubspot:o9"]], "no cursor: from the oldest kept"


def test_feed_scope(api, make_key):
    assert api.with_key(make_key("sync")).get("/v1/changes").status_code == 200
    assert api.with_key(make_key("read")).get("/v1/changes").status_code == 200
    assert api.with_key(make_key("write")).get("/v1/changes").status_code == 403


def test_the_feed_shows_external_ids_only_to_keys_that_sync_or_see_personal_data(api, make_key):
    """A CRM that keys contacts by email leaked them to every read-only key through the feed."""
    sync(api, "members", [{"external_id": "ada@example.org", "name": "Ada"}], source="crm")
    seen = {}
    for scopes in (("read",), ("read", "pii"), ("sync",)):
        items = api.with_key(make_key(*scopes)).get("/v1/changes").get_json()["items"]
        seen[scopes] = [entry["external_ids"] for entry in items if entry["resource"] == "member"]
    assert seen == {("read",): [[]], ("read", "pii"): [["crm:ada@example.org"]], ("sync",): [["crm:ada@example.org"]]}
