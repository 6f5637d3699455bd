"""Ego networks: a member, the members within one or two steps of it, and the ties among them all.

Read with two bounded statements at request time (graph_queries/ego.cypher), not from the analytics
projection, so it needs no analytics run and is as fresh as the database. The member's own reach numbers
are the analytics' (GET /v1/analytics/reach) computed from the same walk.
"""

from __future__ import annotations

from datetime import date

from neo4j import ManagedTransaction

from service import db
from service.repositories import not_found
from service.repositories.analytics import today


def ego_network(graph: db.Graph, member_id: str, *, depth: int = 1, limit: int = 100,
                as_of: date | None = None) -> dict:
    """The member, up to `limit` others within `depth` steps (collaborators by summed strength, then members
    two steps away by mutual collaborators), and the ties among all of them; 404 without such a member."""
    as_of = as_of or today()

    def work(tx: ManagedTransaction) -> dict | None:
        walk = db.run_one(tx, "ego_alters", id=member_id, as_of=as_of, limit=limit)
        if walk is None:
            return None
        first = walk["first"]
        second = walk["second"][:limit - len(first)] if depth == 2 else []
        ids = [member_id, *(other for other, _ in first), *(other for other, _ in second)]
        members = {row["member"]["id"]: row["member"] for row in db.run(tx, "analytics_members_by_ids", ids=ids)}
        return {"walk": walk, "first": first, "second": second, "members": members,
                "ties": db.run(tx, "ego_ties", ids=ids, as_of=as_of),
                "network": db.run_one(tx, "analytics_party_counts")["members"]}

    read = graph.read(work)
    if read is None:
        raise not_found("member", member_id)
    walk, members = read["walk"], read["members"]
    alters = ([{"member": members[other], "distance": 1, "strength": strength, "mutual_contacts": None}
               for other, strength in read["first"]] +
              [{"member": members[other], "distance": 2, "strength": None, "mutual_contacts": mutual}
               for other, mutual in read["second"]])
    total = walk["degree"] + (walk["second_total"] if depth == 2 else 0)
    return {"member": members[member_id], "depth": depth, "as_of": as_of, "limit": limit, "alters": alters,
            "alters_total": total, "truncated": total > len(alters), "ties": read["ties"],
            **_reach(walk["degree"], walk["degree"] + walk["second_total"], read["network"])}


def _reach(degree: int, within_two: int, members: int) -> dict:
    """The member's reach numbers, as service/analytics/reach.py defines them."""
    share = within_two / (members - 1) if members > 1 else 0.0
    return {"degree": degree, "two_step_reach": within_two, "reach": share,
            "reach_efficiency": share / degree if degree else None}
