"""Introductions: suggested, then accepted (a collaboration of kind `introduction`) or declined."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from neo4j import ManagedTransaction

from service import db
from service.problems import Problem, field_error
from service.repositories import changes, fetch_page, locked, read_one


def create(graph: db.Graph, member_ids: list[str], note: str | None) -> dict[str, Any]:
    introduction_id = str(uuid.uuid4())

    def work(tx: ManagedTransaction) -> dict[str, Any]:
        state = db.run_one(tx, "introduction_pair_state", member_ids=member_ids)
        for position, member in enumerate(state["members"]):
            if not member["found"]:
                raise field_error(f"member_ids.{position}", f"no member with id {member['id']}")
        if state["tied"]:
            raise Problem(409, "these members already collaborate", slug="already-collaborating")
        if state["introduction_id"]:
            raise Problem(409, f"these members were already introduced ({state['introduction_id']})",
                          slug="already-introduced", introduction_id=state["introduction_id"])
        db.run(tx, "introduction_create", id=introduction_id, member_ids=member_ids, note=note)
        changes.record(tx, [changes.change("introduction", introduction_id, "create")])
        return db.run_one(tx, "introduction_get", ids=[introduction_id])["introduction"]

    return graph.write(work)


def get(graph: db.Graph, introduction_id: str) -> dict[str, Any]:
    return read_one(graph, "introduction_get", "introduction", "introduction", introduction_id)


def list_page(graph: db.Graph, *, limit: int, after: list[str] | None, status: str | None = None,
              member_id: str | None = None) -> list[dict[str, Any]]:
    return fetch_page(graph, "introduction_list", limit, after, status=status, member_id=member_id)


def decide(graph: db.Graph, introduction_id: str, status: str, note: str | None,
           expected_version: int | None) -> dict[str, Any]:
    """Accept (the two members now collaborate) or decline (never suggest the pair again)."""

    def work(tx: ManagedTransaction) -> None:
        current = locked(tx, "introduction_lock", "introduction", introduction_id, expected_version)
        if current["status"] != "suggested":
            raise Problem(409, f"the introduction is already {current['status']}", slug="introduction-decided")
        collaboration_id = None
        if status == "accepted":
            collaboration_id = str(uuid.uuid4())
            source_id, target_id = current["member_ids"]
            db.run(tx, "collaboration_create", id=collaboration_id, source_id=source_id, target_id=target_id,
                   props=db.to_cypher({"kind": "introduction", "strength": 1, "started_on": date.today(),
                                       "source": "introduction"}))
            changes.record(tx, [changes.change("collaboration", collaboration_id, "create", "introduction",
                                               parties=(source_id, target_id))])
        db.run(tx, "introduction_decide", id=introduction_id, status=status, note=note,
               collaboration_id=collaboration_id)
        changes.record(tx, [changes.change("introduction", introduction_id, "update")])

    graph.write(work)
    return get(graph, introduction_id)
