"""from_rows: the statement's rows to an igraph projection, with ties named by party id or by node id."""

from __future__ import annotations

import pytest

from service.analytics.projection import from_rows


def _row(party_id: str, node: int, ties: list, strengths: list) -> list:
    return [party_id, "member", None, None, [], [], ties, strengths, None, node]


@pytest.mark.parametrize("by_node", [True, False], ids=["by-node", "by-id"])
def test_parallel_ties_sum_and_self_ties_and_strangers_are_dropped(by_node):
    def name(node_and_id: tuple) -> object:
        return node_and_id[0] if by_node else node_and_id[1]

    a, b, c, stranger = (907, "a"), (12, "b"), (55, "c"), (400, "gone")
    rows = [
        _row("a", 907, [name(b), name(b), name(a)], [2, 3, 5]),
        # b-a stored the other way: the same tie. The stranger's node id sorts next to a's (907), so a tie
        # kept by mistake would land on a-b.
        _row("b", 12, [name(a), name(c), name(stranger)], [1, 4, 1]),
        _row("c", 55, [], []),
        _row("d", 3, [], []),                              # an isolate
    ]
    projection = from_rows(rows, by_node=by_node)
    ties = {frozenset((projection.ids[e.source], projection.ids[e.target])): e["weight"]
            for e in projection.graph.es}
    assert ties == {frozenset("ab"): 6, frozenset("bc"): 4}
    assert projection.graph.vcount() == 4 and projection.index == {"a": 0, "b": 1, "c": 2, "d": 3}


def test_no_parties_no_ties():
    for by_node in (True, False):
        projection = from_rows([], by_node=by_node)
        assert projection.graph.vcount() == 0 and projection.graph.ecount() == 0
