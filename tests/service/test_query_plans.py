"""The plans Neo4j picks for the statements every partner app calls most: a page of members must be read
from the member_name_key index in (name_key, id) order and stop at the page's end, never read and sort
every member (a label scan made each page cost 240-270 ms at 100,000 members)."""

from __future__ import annotations

import pytest

import graph_queries

PAGE = {"after": None, "region": None, "role": None, "topic": None, "q": None, "organization_id": None,
        "attribute_filters": [], "limit": 50}


def _operators(plan) -> list[str]:
    found = [plan["operatorType"].split("@")[0]]
    for child in plan.get("children", []):
        found += _operators(child)
    return found


def _plan(graph, name: str, params: dict) -> list[str]:
    text = graph_queries.get(name).text
    return graph.read(lambda tx: _operators(tx.run("EXPLAIN " + text, params).consume().plan))


@pytest.mark.parametrize("params", [PAGE, {**PAGE, "after": ["ada", "0000"]}, {**PAGE, "q": "ad"},
                                    {**PAGE, "topic": "math", "region": "north"}],
                         ids=["first page", "after a cursor", "search", "filters"])
def test_a_page_of_members_is_read_in_index_order_not_sorted(graph, params):
    operators = _plan(graph, "member_list", params)
    assert "NodeIndexSeek" in operators or "NodeIndexSeekByRange" in operators, operators
    assert "NodeByLabelScan" not in operators and "Top" not in operators, operators
