"""Keyset cursors: every row exactly once, in order, even while rows are being added."""

import pytest


def _walk(api, path: str, limit: int, on_page=None) -> list[dict]:
    seen, cursor, pages = [], None, 0
    while True:
        query = f"limit={limit}" + (f"&cursor={cursor}" if cursor else "")
        response = api.get(f"{path}?{query}")
        assert response.status_code == 200, response.get_data(as_text=True)
        body = response.get_json()
        assert len(body["items"]) <= limit
        seen.extend(body["items"])
        pages += 1
        if on_page:
            on_page(pages)
        cursor = body["next_cursor"]
        if cursor is None:
            return seen


def test_member_pages_visit_every_row_once_while_rows_are_added(api, new_member):
    names = [f"Member {i:03d}" for i in range(45)]
    originals = {new_member(name)["id"] for name in names}
    added = []

    def add_rows(page_number):
        # New members land before and after the cursor; neither may disturb the walk.
        added.append(new_member(f"AAA early {page_number}")["id"])
        added.append(new_member(f"ZZZ late {page_number}")["id"])

    seen = _walk(api, "/v1/members", limit=7, on_page=add_rows)
    seen_ids = [item["id"] for item in seen]
    assert len(seen_ids) == len(set(seen_ids)), "a row was visited twice"
    assert originals <= set(seen_ids), "a row that existed before the walk was skipped"
    keys = [(item["name"].lower(), item["id"]) for item in seen]
    assert keys == sorted(keys)


def test_same_names_are_ordered_by_id_and_not_lost(api, new_member):
    ids = {new_member("Same Name")["id"] for _ in range(9)}
    seen = _walk(api, "/v1/members", limit=2)
    assert [item["id"] for item in seen] == sorted(ids)


def test_collaboration_pages_visit_every_row_once_while_rows_are_added(api, new_member, new_collaboration):
    ada, grace = new_member("Ada"), new_member("Grace")
    originals = {new_collaboration(ada, grace, note=f"n{i}")["id"] for i in range(23)}
    seen = _walk(api, "/v1/collaborations", limit=5,
                 on_page=lambda _: new_collaboration(grace, ada, kind="event"))
    seen_ids = [item["id"] for item in seen]
    assert len(seen_ids) == len(set(seen_ids))
    assert originals <= set(seen_ids)


def test_organization_pages(api, new_organization):
    ids = {new_organization(f"Org {i}")["id"] for i in range(11)}
    assert {item["id"] for item in _walk(api, "/v1/organizations", limit=4)} == ids


def test_default_page_is_twenty(api, new_organization):
    for i in range(21):
        new_organization(f"Org {i:02d}")
    body = api.get("/v1/organizations").get_json()
    assert len(body["items"]) == 20 and body["next_cursor"]


@pytest.mark.parametrize("cursor", ["abc", "W10", "WyJhIl0", "eyJhIjoxfQ", "WzEsMl0"])
def test_foreign_cursor_is_a_problem_naming_cursor(api, cursor):
    response = api.get(f"/v1/members?cursor={cursor}")
    assert response.status_code == 422
    assert response.get_json()["errors"][0] == {"field": "cursor", "location": "query",
                                                "messages": ["not a cursor this list returned"]}
