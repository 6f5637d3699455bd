"""The change feed's storage: one Change node per writing transaction, entries as parallel lists.

The HTTP contract (tests/service/test_sync.py) must not see it: a page may end inside a node, filters
apply per entry, and nodes of the earlier one-entry format are rewritten at start-up with their numbers.
"""

from service import db
from service.repositories import changes
from tests.conftest import run_test_query
from tests.service.test_sync import feed, sync


def revision(graph):
    return changes.revision(graph)


def read_all(api, limit, **filters):
    """Every entry after the cursor of the first page, page by page."""
    seen, cursor = [], filters.pop("since", None)
    while True:
        page = feed(api, limit=limit, **filters, **({"since": cursor} if cursor else {}))
        seen.extend(page["items"])
        if not page["items"]:
            return seen
        assert len(page["items"]) <= limit
        cursor = page["next_cursor"]


def test_a_batch_is_one_node_and_pages_end_inside_it(api, graph):
    before = revision(graph)
    sync(api, "organizations", [{"external_id": f"o{i}", "name": f"O{i}"} for i in range(7)], source="crm")
    sync(api, "organizations", [{"external_id": f"o{i}", "name": f"Elsewhere {i}"} for i in range(2)], source="erp")
    nodes = run_test_query(graph, "test_change_nodes", after=before)
    assert [(n["seq"], n["last"]) for n in nodes] == [(before + 1, before + 7), (before + 8, before + 9)]

    since = changes.encode_seq(before + 2)
    items = read_all(api, 3, since=since)
    assert [i["seq"] for i in items] == list(range(before + 3, before + 10)), "no entry skipped or repeated"
    assert [i["action"] for i in items] == ["create"] * 7
    assert items[0]["external_ids"] == ["crm:o2"] and items[-1]["external_ids"] == ["erp:o1"]

    assert [i["seq"] for i in read_all(api, 2, source="erp")] == [before + 8, before + 9]
    assert [i["seq"] for i in read_all(api, 4, exclude_source="crm")] == [before + 8, before + 9]
    assert read_all(api, 4, resource="member") == []


def test_entries_of_one_transaction_keep_their_own_fields(api, graph, new_member, new_organization):
    ada, org = new_member("Ada"), new_organization()
    api.put(f"/v1/members/{ada['id']}/affiliations/{org['id']}", json={})
    tie = api.post("/v1/collaborations", json={"source_id": ada["id"], "target_id": org["id"],
                                               "kind": "project"}).get_json()
    base = revision(graph)
    assert api.delete(f"/v1/members/{ada['id']}", headers={"If-Match": '"1"'}).status_code == 204
    items = feed(api, since=changes.encode_seq(base))["items"]
    assert [(i["resource"], i["id"], i["action"]) for i in items] == [
        ("collaboration", tie["id"], "delete"), ("affiliation", f"{ada['id']}/{org['id']}", "delete"),
        ("member", ada["id"], "delete")]
    entries = graph.read(changes.entries_between, base, revision(graph), 10)
    assert [e["parties"] for e in entries] == [[ada["id"], org["id"]], None, None], "parties kept for analytics"
    assert graph.read(changes.entries_between, base + 1, base + 2, 10) == entries[1:2], "a slice inside a node"


def test_old_one_entry_nodes_are_migrated_and_keep_their_numbers(api, graph):
    legacy = [
        {"resource": "member", "id": "m-1", "action": "create", "source": "hubspot", "external_ids": ["hubspot:a"],
         "parties": None},
        {"resource": "collaboration", "id": "c-1", "action": "delete", "source": "api", "external_ids": [],
         "parties": ["m-1", "m-2"]},
        {"resource": "organization", "id": "o-1", "action": "update", "source": "hubspot",
         "external_ids": ["hubspot:x", "sf:y"], "parties": None},
    ]
    base = run_test_query(graph, "test_legacy_changes", entries=legacy)[0]["base"]
    changes.migrate(graph)
    changes.migrate(graph)  # a second process starting, or a rerun: nothing left to do, nothing broken
    nodes = run_test_query(graph, "test_change_nodes", after=base)
    assert [(n["seq"], n["last"]) for n in nodes] == [(base + 1, base + 1), (base + 2, base + 2),
                                                      (base + 3, base + 3)]
    assert not {"resource", "resource_id", "action", "source", "parties"} & set(nodes[0]["keys"])
    assert graph.read(db.run_one, "change_format")["format"] == 2

    sync(api, "organizations", [{"external_id": "new", "name": "After the upgrade"}], source="crm")
    items = read_all(api, 2, since=changes.encode_seq(base))
    assert [(i["seq"], i["resource"], i["id"], i["action"], i["source"], i["external_ids"]) for i in items[:3]] == [
        (base + 1, "member", "m-1", "create", "hubspot", ["hubspot:a"]),
        (base + 2, "collaboration", "c-1", "delete", "api", []),
        (base + 3, "organization", "o-1", "update", "hubspot", ["hubspot:x", "sf:y"])]
    assert [i["seq"] for i in items] == [base + 1, base + 2, base + 3, base + 4]
    assert [i["seq"] for i in read_all(api, 5, since=changes.encode_seq(base), source="hubspot")] == [
        base + 1, base + 3]
    entries = graph.read(changes.entries_between, base, base + 4, 10)
    assert [e["parties"] for e in entries] == [None, ["m-1", "m-2"], None, None]


def test_retention_reads_nothing_while_the_oldest_entry_is_recent(api, graph):
    sync(api, "organizations", [{"external_id": f"o{i}", "name": f"O{i}"} for i in range(3)])
    assert graph.read(db.run_one, "change_purge_due", days=30)["due"] is False
    assert graph.read(db.run_one, "change_purge_due", days=0)["due"] is True
    assert graph.write(db.run_one, "change_purge", days=0, batch=100)["purged"] == 3
    assert graph.read(db.run_one, "change_purge_due", days=0)["due"] is False, "nothing left to purge"
