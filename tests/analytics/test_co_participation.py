"""Co-participation ties (service/analytics/activities.py): Newman's collaboration weighting, checked against
networkx.bipartite on activities stored in Neo4j, the size cap, and the sum with collaboration strengths."""

from __future__ import annotations

import random

import networkx as nx
import pytest
from networkx.algorithms import bipartite

from service.analytics.activities import co_participation
from service.repositories import analytics, changes

CAP = 10


def _ties(projection) -> dict[frozenset, float]:
    return {frozenset((projection.ids[e.source], projection.ids[e.target])): e["weight"]
            for e in projection.graph.es}


def _activity(api, name: str, members: list[dict], **fields) -> dict:
    created = api.post("/v1/activities", json={"name": name, "kind": "workshop", **fields})
    assert created.status_code == 201, created.get_data(as_text=True)
    activity = created.get_json()
    body = {"participants": [{"member_id": m["id"]} for m in members]}
    assert api.put(f"/v1/activities/{activity['id']}/participants", json=body).status_code == 200
    return activity


def _projection(graph, engine, cap: int):
    scope = analytics.Scope(analytics.today(), False, cap)
    return analytics._projection(engine, graph, changes.revision(graph), scope)[1]


def test_co_participation_weights_equal_networkx_collaboration_projection(api, graph, engine, new_member):
    rng = random.Random(20240412)
    members = [new_member(f"Member {i:02d}") for i in range(16)]
    # Sizes from a pair to above the cap; overlapping memberships so pairs share several activities.
    sizes = [2, 2, 3, 3, 4, 5, 6, 8, CAP, CAP + 1, 14]
    chosen = [rng.sample(members, size) for size in sizes]
    for number, people in enumerate(chosen):
        _activity(api, f"Activity {number}", people)

    network = nx.Graph()
    network.add_nodes_from((m["id"] for m in members), bipartite=0)
    for number, people in enumerate(chosen):
        if len(people) <= CAP:      # what the cap leaves: the reference projects only these
            network.add_node(f"activity-{number}", bipartite=1)
            network.add_edges_from((m["id"], f"activity-{number}") for m in people)
    expected = bipartite.collaboration_weighted_projected_graph(network, [m["id"] for m in members])

    projection = _projection(graph, engine, CAP)
    found = _ties(projection)
    assert set(found) == {frozenset(edge) for edge in expected.edges}
    for u, v, data in expected.edges(data=True):
        assert found[frozenset((u, v))] == pytest.approx(data["weight"]), (u, v)
    assert projection.ties["activities"] == {"size_cap": CAP, "counted": 9, "skipped_over_cap": 2,
                                             "weighting": "1/(n-1) per shared activity of n participants",
                                             "pairs": expected.number_of_edges()}


def test_an_activity_over_the_cap_adds_no_ties(api, graph, engine, new_member):
    crowd = [new_member(f"Attendee {i}") for i in range(5)]
    _activity(api, "Big Conference", crowd)
    assert _ties(_projection(graph, engine, 4)) == {}
    assert _projection(graph, engine, 4).ties["activities"]["skipped_over_cap"] == 1
    assert len(_ties(_projection(graph, engine, 5))) == 10       # at the cap: every pair, 1/4 each
    assert list(_ties(_projection(graph, engine, 5)).values()) == [pytest.approx(0.25)] * 10


def test_co_participation_sums_with_collaboration_strength(api, graph, engine, new_member, new_collaboration):
    ada, grace, alan = new_member("Ada"), new_member("Grace"), new_member("Alan")
    new_collaboration(ada, grace, strength=4)
    _activity(api, "Spring Math Convening", [ada, grace, alan])
    _activity(api, "Coaching Cohort", [ada, grace])
    ties = _ties(_projection(graph, engine, CAP))
    assert ties == {frozenset((ada["id"], grace["id"])): pytest.approx(4 + 0.5 + 1.0),
                    frozenset((ada["id"], alan["id"])): pytest.approx(0.5),
                    frozenset((grace["id"], alan["id"])): pytest.approx(0.5)}
    collaborations_only = analytics._projection(engine, graph, changes.revision(graph),
                                                analytics.Scope(analytics.today(), False))[1]
    assert _ties(collaborations_only) == {frozenset((ada["id"], grace["id"])): 4}


def test_activities_starting_after_as_of_add_no_ties(api, graph, engine, new_member):
    ada, grace = new_member("Ada"), new_member("Grace")
    _activity(api, "Next Year's Convening", [ada, grace], starts_on="2999-01-01")
    assert _ties(_projection(graph, engine, CAP)) == {}


def test_weighting_without_a_database():
    found = co_participation([["a1", 3, ["x", "y", "z"]], ["a2", 2, ["x", "y"]], ["a3", 1, ["x"]],
                              ["a4", 60, []]], cap=50)
    assert found.weights == {("x", "y"): pytest.approx(1.5), ("x", "z"): pytest.approx(0.5),
                             ("y", "z"): pytest.approx(0.5)}
    assert (found.counted, found.skipped) == (2, 1)
