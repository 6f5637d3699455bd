"""Members: the people of the network. One person is one member: a write whose email matches a member's
attaches to it (unless the deployment or the request says otherwise), duplicates already stored are listed,
and members found to be one person are merged."""

from __future__ import annotations

import re
import unicodedata
import uuid
from typing import Any

from neo4j import ManagedTransaction
from neo4j.exceptions import ConstraintError

from service import db
from service.problems import Problem, field_error
from service.repositories import attributes, changes, fetch_page, locked, not_found, read_one, records

_CONFLICT_RETRIES = 3
MAX_MERGE = 20


def email_key(email: str | None) -> str | None:
    """The key one person's email is matched by: trimmed and lower-case."""
    return email.strip().lower() if email else None


def create(graph: db.Graph, props: dict[str, Any], match_email: bool = True) -> dict[str, Any]:
    """A new member, or (matching by email) the member who already has this email, marked `matched`."""
    member_id = str(uuid.uuid4())

    def work(tx: ManagedTransaction) -> dict[str, Any]:
        stored = records.prepare(tx, "member", props, creating=True)
        key = email_key(stored.get("email"))
        if key and match_email:
            found = db.run_one(tx, "member_by_email_key", key=key)
            if found is not None:
                return {**attributes.shape(found["member"], attributes.definitions(tx, "member")), "matched": "email"}
        member = db.run_one(tx, "member_create", id=member_id, props=db.to_cypher(stored), email_key=key)["member"]
        changes.record(tx, [changes.change("member", member_id, "create")])
        return attributes.shape(member, attributes.definitions(tx, "member"))

    return _retrying_conflicts(graph, work)


def _retrying_conflicts(graph: db.Graph, work):
    """Run `work` again when a concurrent write took the same email key first: this time it matches."""
    for attempt in range(_CONFLICT_RETRIES + 1):
        try:
            return graph.write(work)
        except ConstraintError:
            if attempt == _CONFLICT_RETRIES:
                raise
    raise AssertionError("unreachable")


def get(graph: db.Graph, member_id: str) -> dict[str, Any]:
    return read_one(graph, "member_get", "member", "member", member_id)


def list_page(graph: db.Graph, *, limit: int, after: list[str] | None, organization_id: str | None = None,
              region: str | None = None, role: str | None = None, topic: str | None = None,
              q: str | None = None, attr: dict[str, str] | None = None,
              personal: bool = False) -> list[dict[str, Any]]:
    return fetch_page(graph, "member_list", limit, after, target="member", attribute_filters=attr, personal=personal,
                      organization_id=organization_id, region=region, role=role, topic=topic and topic.lower(),
                      q=q and q.lower())


def update(graph: db.Graph, member_id: str, fields: dict[str, Any], expected_version: int | None) -> dict[str, Any]:
    def work(tx: ManagedTransaction) -> None:
        locked(tx, "member_lock", "member", member_id, expected_version)
        stored = records.prepare(tx, "member", fields, creating=False)
        if "email" in stored:
            stored["email_key"] = key = email_key(stored["email"])
            holder = db.run_one(tx, "member_by_email_key", key=key) if key else None
            if holder is not None and holder["member"]["id"] != member_id:
                raise Problem(409, email_taken(holder["member"]["id"]), slug="member-email-taken",
                              member_id=holder["member"]["id"])
        db.run(tx, "member_update", id=member_id, changes=db.to_cypher(stored))
        changes.record(tx, [changes.change("member", member_id, "update")])

    _retrying_conflicts(graph, work)
    return get(graph, member_id)


def email_taken(holder_id: str) -> str:
    """Why an email cannot go to a second member (PATCH's 409 member-email-taken, and a sync record's)."""
    return (f"member {holder_id} already has this email: one person is one member, so merge the two "
            f"(POST /v1/members/{holder_id}/merge)")


def delete(graph: db.Graph, member_id: str, expected_version: int | None) -> None:
    def work(tx: ManagedTransaction) -> None:
        locked(tx, "member_lock", "member", member_id, expected_version)
        gone = db.run_one(tx, "member_delete", id=member_id)
        changes.record(tx, [
            *(changes.change("collaboration", c, "delete", parties=(a, b)) for c, a, b in gone["collaborations"]),
            *(changes.change("affiliation", changes.affiliation_id(member_id, o), "delete")
              for o in gone["organizations"]),
            changes.change("member", member_id, "delete", external_ids=gone["external_ids"]),
        ])

    graph.write(work)


def require(graph: db.Graph, member_id: str) -> None:
    if graph.read(lambda tx: db.run_one(tx, "member_exists", id=member_id)) is None:
        raise not_found("member", member_id)


def collaborators_page(graph: db.Graph, member_id: str, *, limit: int, after: list[str] | None) -> list[dict]:
    require(graph, member_id)
    return fetch_page(graph, "member_collaborators", limit, after, id=member_id)


# --- one person, one member ----------------------------------------------------------------------

_NOT_LETTERS = re.compile(r"[\W_]+")


def person_name_key(name: str | None) -> str:
    """A name as duplicates compares it: "Jordan  Lée", "jordan lee" and "Jordan-Lee" are one name (accents,
    case, spaces and punctuation between the words aside)."""
    decomposed = unicodedata.normalize("NFKD", name or "")
    letters = "".join(c for c in decomposed if not unicodedata.combining(c))
    return _NOT_LETTERS.sub(" ", letters.casefold()).strip()


def duplicates(graph: db.Graph, limit: int) -> dict[str, Any]:
    """Groups of members that are likely one person: the same email, then the same name (person_name_key) in
    one organization; at most `limit`, in that order (emails by address, names by name and organization)."""
    def work(tx: ManagedTransaction) -> list[dict[str, Any]]:
        found = [("email", row["ids"]) for row in db.run(tx, "member_duplicates", limit=limit + 1)]
        if len(found) <= limit:
            named: dict[tuple[str, str], list[str]] = {}
            for row in db.run(tx, "member_names_in_organizations"):
                key = person_name_key(row["name"])
                if key:
                    named.setdefault((key, row["organization"]), []).append(row["id"])
            found += [("name_in_organization", ids)
                      for _, ids in sorted(item for item in named.items() if len(item[1]) > 1)][:limit + 1 - len(found)]
        shown = {row["member"]["id"]: row["member"] for row in db.run(
            tx, "member_duplicate_details", ids=sorted({i for _, ids in found for i in ids[:20]}))}
        return [{"reason": reason, "size": len(ids), "members": [shown[i] for i in ids[:20]]} for reason, ids in found]

    rows = graph.read(work)
    return {"items": rows[:limit], "truncated": len(rows) > limit}


def merge(graph: db.Graph, survivor_id: str, others: list[str]) -> dict[str, Any]:
    """Fold `others` into the survivor in one transaction: external ids, affiliations, collaborations and
    introductions move to it (a tie between two of the merged members goes), empty fields are filled from
    the others, and each other leaves a tombstone pointing at the survivor in the change feed. Their
    check-in invitations, answers, nominations, write-ins and check-in ties become the survivor's too, one
    per survey, question and pair (surveys.carry_check_ins says which one stays)."""
    # Imported here: surveys reaches this module through sync, which needs email_key from it.
    from service.repositories import surveys

    if survivor_id in others:
        raise field_error("from", "lists the member merged into")
    if len(set(others)) != len(others):
        raise field_error("from", "lists a member twice")

    def work(tx: ManagedTransaction) -> dict[str, Any]:
        surveys.hold_derivations(tx)
        locked(tx, "member_lock", "member", survivor_id, None)
        for index, other in enumerate(others):
            if db.run_one(tx, "member_lock", id=other) is None:
                raise field_error(f"from.{index}", f"no member with id {other}")
        carried = surveys.carry_check_ins(tx, survivor_id, others)
        moved = db.run_one(tx, "member_merge", survivor=survivor_id, others=others)
        entries = list(carried.entries)
        entries += [changes.change("collaboration", c, "delete", parties=(a, b)) for c, a, b in moved["dropped"]]
        entries += [changes.change("collaboration", c, "update", parties=(a, b)) for c, a, b in moved["moved"]]
        entries += [changes.change("affiliation", changes.affiliation_id(m, o), "delete")
                    for m, o in moved["affiliations_gone"]]
        entries += [changes.change("affiliation", changes.affiliation_id(survivor_id, o), "create")
                    for o in moved["affiliations_new"]]
        entries += [changes.change("member", other, "delete", external_ids=ids, merged_into=survivor_id)
                    for other, ids in moved["tombstones"]]
        entries.append(changes.change("member", survivor_id, "update"))
        db.run(tx, "member_email_keys", rows=[{"id": survivor_id, "email_key": moved["email_key"]}])
        changes.record(tx, entries)
        surveys.derive_carried(tx, survivor_id, carried)     # its ties' entries follow the merge's
        member = db.run_one(tx, "member_get", ids=[survivor_id])["member"]
        return attributes.shape(member, attributes.definitions(tx, "member"))

    return graph.write(work)
