"""Check-ins (relationship surveys): definitions, invitations by token, answers, the ties they make, results.

A survey's questions are stored as one JSON document on its node. An invitation holds the SHA-256 of its
token (the token is shown once, when issued), the respondent's draft and submission. Each name generator's
submitted answers become directed NOMINATED relations (one per respondent, question and named member, with
the scales given) and, through the sync code, undirected collaborations of the question's tie kind with
source `survey:<id>` and external id `<question>:<member a>:<member b>`: a revision rewrites the
respondent's nominations and re-derives exactly the ties it touched, never adding a second tie for a pair.

Submitting saves the answers (checked, with write-ins and attribute values) and marks them pending; saves
that arrive together in a process share one transaction (`_SaveBatcher`). The nominations and ties are then
derived in batches (`derive_pending`), as a sync batch writes many records in one transaction: one
submission at a time took about 8 statements for 15 ties. The request that submitted derives every pending
submission before it answers, unless another thread of its process is deriving already (that loop then
takes it too, moments later); a results read derives what is left. A batch reads what its respondents
named before and who names them in one statement and resolves each pair's two sides in Python (a statement
reading every touched pair back cost about as much as the sync write of the ties), writes the ties, then
replaces the nominations.

Members merged into one person (members.merge) bring their check-ins along: `carry_check_ins` and
`derive_carried` make their invitations, answers, nominations, write-ins and ties the survivor's.
"""

from __future__ import annotations

import json
import logging
import secrets
import threading
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Iterable

from marshmallow import ValidationError
from neo4j import ManagedTransaction
from neo4j import exceptions as neo4j_exceptions

from schemas.attributes import dump_value, storage_key
from schemas.members import MemberPatchSchema, MemberSchema
from schemas.surveys import BUILT_IN_ATTRIBUTES, TIE_SCALES
from schemas.vocabularies import slug
from service import db
from service.repositories.api_keys import hash_key
from service.problems import Problem, field_error, flatten_messages
from service.metrics import CHECK_IN_SAVES
from service.repositories import alerts, attributes, changes, fetch_page, locked, not_found, records, sync, vocabularies

log = logging.getLogger(__name__)

TOKEN_PREFIX = "nwr_"
DERIVE_BATCH = 100             # submissions derived in one transaction at most
SAVE_BATCH = 32                # saves (PUT /v1/respond/{token}) written in one transaction at most
_DERIVING = threading.Lock()   # one deriving loop per process at a time
_MAX_ROUNDS = 50               # batches one request derives at most before it answers
ROSTER_LIMIT = 10_000          # names a roster lists at most (a network's members, bounded)
_NO_SEGMENT = {"organization_ids": None, "organization_id": None, "region": None, "role": None, "topic": None}


def new_token() -> str:
    """256 random bits, prefixed so a leaked link is recognisable."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def source_of(survey_id: str) -> str:
    """The `source` of the ties a survey makes (the analytics can be restricted to it)."""
    return f"survey:{survey_id}"


# --- surveys -----------------------------------------------------------------------------------

def create(graph: db.Graph, body: dict[str, Any]) -> dict[str, Any]:
    survey_id = str(uuid.uuid4())

    def work(tx: ManagedTransaction) -> dict[str, Any]:
        props = {"title": body["title"], "closes_at": body["closes_at"],
                 "opens_at": body.get("opens_at") or datetime.now(timezone.utc),
                 "questions": _stored_questions(tx, body["questions"])}
        db.run(tx, "survey_create", id=survey_id, props=db.to_cypher(props))
        return _shaped(db.run_one(tx, "survey_get", ids=[survey_id])["survey"])

    return graph.write(work)


def get(graph: db.Graph, survey_id: str) -> dict[str, Any]:
    row = graph.read(lambda tx: db.run_one(tx, "survey_get", ids=[survey_id]))
    if row is None:
        raise not_found("survey", survey_id)
    return _shaped(row["survey"])


def list_page(graph: db.Graph, *, limit: int, after: list[str] | None, status: str | None) -> list[dict]:
    rows = fetch_page(graph, "survey_list", limit, after, status=status)
    for row in rows:
        row["item"] = _shaped(row["item"])
    return rows


def update(graph: db.Graph, survey_id: str, fields: dict[str, Any], expected_version: int | None) -> dict[str, Any]:
    def work(tx: ManagedTransaction) -> None:
        current = locked(tx, "survey_lock", "survey", survey_id, expected_version)
        if current["closed"]:
            raise Problem(409, f"survey {survey_id} is closed; it no longer changes", slug="survey-closed")
        if current["answered"] and ({"questions", "opens_at"} & set(fields)):
            field = "questions" if "questions" in fields else "opens_at"
            raise Problem(409, f"{field}: someone has answered survey {survey_id}, so its questions and opening "
                               "no longer change (title and closes_at still may)", slug="survey-answered",
                          errors=[{"field": field, "location": "json", "messages": ["the survey has answers"]}])
        opens = fields.get("opens_at", current["opens_at"])
        closes = fields.get("closes_at", current["closes_at"])
        if closes <= opens:
            field = "closes_at" if "closes_at" in fields else "opens_at"
            raise field_error(field, "closes_at must be after opens_at")
        stored = dict(fields)
        if "questions" in stored:
            stored["questions"] = _stored_questions(tx, stored["questions"])
        db.run(tx, "survey_update", id=survey_id, changes=db.to_cypher(stored))

    graph.write(work)
    return get(graph, survey_id)


def close(graph: db.Graph, survey_id: str) -> dict[str, Any]:
    """Closes the survey now (its tokens stop working) and raises the `survey.closed` alert."""

    def work(tx: ManagedTransaction) -> None:
        current = locked(tx, "survey_lock", "survey", survey_id, None)
        if current["closed"]:
            raise Problem(409, f"survey {survey_id} is already closed", slug="survey-closed")
        db.run(tx, "survey_close", id=survey_id)
        _alert_closed(tx, survey_id, "closed")

    graph.write(work)
    return get(graph, survey_id)


def _alert_closed(tx: ManagedTransaction, survey_id: str, how: str) -> None:
    """The `survey.closed` alert: who was invited and who responded; `how` it closed ("closed" by a request,
    "lapsed" when closes_at passed)."""
    invitees = db.run(tx, "survey_invitees", survey_id=survey_id)
    responded = sum(1 for row in invitees if row["status"] == "submitted")
    alerts.emit(tx, "survey.closed", {"survey_id": survey_id, "closed": how, "invited": len(invitees),
                                      "responded": responded, "response_rate": _rate(responded, len(invitees))},
                subject=survey_id)


LAPSED_WITHIN_DAYS = 7     # a survey that lapsed longer ago raises no survey.closed (it is old news)


def alert_lapsed(graph: db.Graph, limit: int = 100) -> int:
    """Raises `survey.closed` once for each survey whose closes_at has passed (within LAPSED_WITHIN_DAYS)
    without a request closing it (the analytics worker calls it every 30 s); how many it raised. Each is
    claimed under the survey's lock, so several workers raise it once between them."""
    raised = 0
    for row in graph.read(lambda tx: db.run(tx, "surveys_lapsed", limit=limit, within_days=LAPSED_WITHIN_DAYS)):

        def work(tx: ManagedTransaction, survey_id: str) -> int:
            locked(tx, "survey_lock", "survey", survey_id, None)
            if db.run_one(tx, "survey_lapsed_claim", id=survey_id) is None:
                return 0
            _alert_closed(tx, survey_id, "lapsed")
            return 1

        raised += graph.write(work, row["id"])
    return raised


def _shaped(survey: dict[str, Any]) -> dict[str, Any]:
    survey = dict(survey)
    survey["questions"] = json.loads(survey["questions"])
    survey.setdefault("closed_at", None)
    return survey


def _stored_questions(tx: ManagedTransaction, questions: list[dict[str, Any]]) -> str:
    """The questions as stored (JSON): tie kinds and segment roles resolved against the vocabularies, attribute
    questions checked against the member fields; a 422 naming `questions.N.field` otherwise."""
    member_attributes = attributes.definitions(tx, "member")
    out = []
    for index, question in enumerate(questions):
        question = dict(question)
        where = f"questions.{index}"
        if question["type"] == "names":
            try:
                question["tie_kind"] = records.prepare(tx, "collaboration", {"kind": question["tie_kind"]},
                                                       creating=False)["kind"]
            except Problem as problem:
                raise field_error(f"{where}.tie_kind", problem.detail.split(": ", 1)[-1]) from None
            roster = dict(question["roster"])
            if "organization_ids" in roster:
                found = {row["id"] for row in db.run(tx, "party_types", ids=roster["organization_ids"])
                         if row["type"] == "organization"}
                missing = [o for o in roster["organization_ids"] if o not in found]
                if missing:
                    raise field_error(f"{where}.roster.organization_ids", f"no organization with id {missing[0]}")
            if "segment" in roster:
                segment = dict(roster["segment"])
                if "role" in segment:
                    segment["role"] = slug(segment["role"])
                if "topic" in segment:
                    segment["topic"] = segment["topic"].lower()
                roster["segment"] = segment
            question["roster"] = roster
        elif question["attribute"] not in BUILT_IN_ATTRIBUTES and question["attribute"] not in member_attributes:
            raise field_error(f"{where}.attribute", "no member attribute of that name (define it first: PUT "
                                                    "/v1/attributes/member/{name}) and not one of "
                                                    + ", ".join(BUILT_IN_ATTRIBUTES))
        out.append(question)
    return json.dumps(out, separators=(",", ":"), default=str)


# --- invitations -------------------------------------------------------------------------------

def invite(graph: db.Graph, survey_id: str, member_ids: list[str], base_url: str) -> dict[str, Any]:
    """A fresh token per member (only its hash is kept), with the page's URL for it, in `member_ids` order."""
    member_ids = list(dict.fromkeys(member_ids))
    tokens = {member_id: new_token() for member_id in member_ids}

    def work(tx: ManagedTransaction) -> dict[str, Any]:
        current = locked(tx, "survey_lock", "survey", survey_id, None)
        if current["closed"]:
            raise Problem(409, f"survey {survey_id} is closed; it takes no more invitations", slug="survey-closed")
        found = {row["id"] for row in db.run(tx, "survey_existing_members", ids=member_ids)}
        for index, member_id in enumerate(member_ids):
            if member_id not in found:
                raise field_error(f"member_ids.{index}", f"no member with id {member_id}")
        db.run(tx, "invitation_issue", survey_id=survey_id,
               rows=[{"member_id": m, "token_hash": hash_key(t)} for m, t in tokens.items()])
        return {"items": [{"member_id": m, "token": t, "url": f"{base_url}/respond/{t}",
                           "expires_at": current["closes_at"]} for m, t in tokens.items()]}

    return graph.write(work)


def invitations(graph: db.Graph, survey_id: str, status: str | None) -> dict[str, Any]:
    get(graph, survey_id)
    rows = graph.read(lambda tx: db.run(tx, "invitation_list", survey_id=survey_id, status=None))
    counts = Counter(row["status"] for row in rows)
    return {"counts": {key: counts.get(key, 0) for key in ("invited", "started", "submitted")} | {"all": len(rows)},
            "items": [row for row in rows if status is None or row["status"] == status]}


# --- answering by token --------------------------------------------------------------------------

def _token_hash(token: str) -> str | None:
    """The hash an invitation is found by, or None for what cannot be a token (no lookup then)."""
    return hash_key(token) if token.startswith(TOKEN_PREFIX) and len(token) <= 100 else None


def _invitation(tx: ManagedTransaction, token: str) -> dict[str, Any]:
    """The invitation behind a token that may answer now, or the problem saying why not."""
    token_hash = _token_hash(token)
    return _usable(db.run_one(tx, "invitation_by_token", token_hash=token_hash) if token_hash else None)


def _usable(row: dict[str, Any] | None) -> dict[str, Any]:
    """An invitation row (invitation, survey, name) that may answer now, its questions parsed; else the problem
    saying why not. Nothing in a problem repeats the token."""
    if row is None:
        raise Problem(404, "this check-in link is not valid: ask for a new one", slug="unknown-token")
    survey = row["survey"]
    now = datetime.now(timezone.utc)
    if survey["closed_at"] is not None:
        raise Problem(410, "this check-in has closed; answers are no longer taken", slug="survey-closed")
    if db.to_native(survey["closes_at"]) <= now:
        raise Problem(410, "this check-in link expired when the check-in closed", slug="token-expired")
    if db.to_native(survey["opens_at"]) > now:
        raise Problem(409, f"this check-in opens at {db.to_native(survey['opens_at']).isoformat()}",
                      slug="survey-not-open", opens_at=db.to_native(survey["opens_at"]).isoformat())
    survey = {**survey, "questions": json.loads(survey["questions"])}
    return {**row, "survey": survey}


def respond_view(graph: db.Graph, token: str) -> dict[str, Any]:
    """What a respondent sees: the survey, their own name, their draft or submission, each name generator's
    roster (names, organization, role; never an email nor anyone else's answers) and each attribute
    question's field as it is on file for them (none of a field marked pii)."""

    def work(tx: ManagedTransaction) -> dict[str, Any]:
        found = _invitation(tx, token)
        invitation, survey = found["invitation"], found["survey"]
        roles = vocabularies.labels(tx, "member_role")
        rosters = {question["id"]: [{**entry, "role_label": roles.get(entry["role"], entry["role"])}
                                    for entry in _roster(tx, question, invitation["member_id"])]
                   for question in survey["questions"] if question["type"] == "names"}
        answers = invitation.get("draft") or invitation.get("submission")
        definitions = attributes.definitions(tx, "member")
        on_file = _on_file(tx, invitation["member_id"], [question["attribute"] for question in survey["questions"]
                                                         if question["type"] == "attribute"], definitions)
        questions = [question if question["type"] == "names"
                     else {**question, "input": _attribute_input(question["attribute"], definitions, on_file)}
                     for question in survey["questions"]]
        return {"survey": {**{key: survey[key] for key in ("id", "title", "opens_at", "closes_at")},
                           "questions": questions},
                "respondent": {"name": found["name"]}, "status": invitation["status"],
                "answers": json.loads(answers) if answers else [], "rosters": rosters}

    return graph.read(work)


_BUILT_IN_INPUTS = {"topics": "tags", "populations": "tags"}


def _attribute_input(name: str, definitions: dict[str, dict[str, Any]], on_file: dict[str, Any]) -> dict[str, Any]:
    """How the page asks an attribute question: the field's type, label, (an enum's) values, whether it is
    personal, and the respondent's value on file (`current`; None when unset or personal)."""
    current = on_file.get(name)
    if name in BUILT_IN_ATTRIBUTES:
        return {"type": _BUILT_IN_INPUTS.get(name, "string"), "label": name.replace("_", " ").capitalize(),
                "values": None, "pii": False, "current": current}
    definition = definitions.get(name) or {"type": "string"}
    return {"type": definition["type"], "label": definition.get("label") or name, "values": definition.get("values"),
            "pii": bool(definition.get("pii")), "current": current}


def _on_file(tx: ManagedTransaction, respondent: str, names: list[str],
             definitions: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The respondent's own values of the fields `names` (attribute questions') by name, dates as ISO text.
    A field marked pii is left out: a link can be forwarded, and its holder sees what the page shows."""
    keys = {name: name if name in BUILT_IN_ATTRIBUTES else storage_key(name) for name in dict.fromkeys(names)
            if name in BUILT_IN_ATTRIBUTES or (name in definitions and not definitions[name]["pii"])}
    row = db.run_one(tx, "respondent_fields", id=respondent, keys=list(keys.values())) if keys else None
    if row is None:
        return {}
    return {name: dump_value(value) for name, value in zip(keys, row["values"])}


def _roster_filter(question: dict[str, Any]) -> dict[str, Any]:
    roster = question["roster"]
    if roster.get("all"):
        return dict(_NO_SEGMENT)
    if "organization_ids" in roster:
        return {**_NO_SEGMENT, "organization_ids": roster["organization_ids"]}
    return {**_NO_SEGMENT, **roster["segment"]}


def _roster(tx: ManagedTransaction, question: dict[str, Any], respondent_id: str) -> list[dict[str, Any]]:
    return db.run(tx, "roster_members", respondent_id=respondent_id, limit=ROSTER_LIMIT, **_roster_filter(question))


def respond(graph: db.Graph, token: str, body: dict[str, Any]) -> dict[str, Any]:
    """Saves a draft or submits; a submission replaces the respondent's earlier one, ties included.

    Saves arriving together in a process share one transaction (_SAVES), as a sync batch shares one among
    its records; each still gets its own answer, problems included. A save with attribute answers (which
    write the member record and may fail on it) or under an Idempotency-Key (whose stored response belongs
    to its own transaction) runs alone."""
    entry = _Save(graph, token, body)
    if db.joins_idempotency() or any("value" in answer for answer in body["answers"]):
        graph.write(_save_alone, entry)
    else:
        _SAVES.run(graph, entry)
    if entry.error is not None:
        raise entry.error
    if body["submit"]:
        derive_pending(graph, wait=False)
    return entry.result


class _Save:
    """One PUT /v1/respond/{token}: what it asks, then its answer or its problem."""

    __slots__ = ("graph", "token", "body", "result", "error", "served", "lead", "bookmarks", "done")

    def __init__(self, graph: db.Graph, token: str, body: dict[str, Any]) -> None:
        self.graph, self.token, self.body = graph, token, body
        self.result: dict[str, Any] | None = None
        self.error: BaseException | None = None
        self.served = self.lead = False
        self.bookmarks = None
        self.done = threading.Event()


class _SaveBatcher:
    """Group commit for check-in saves within a process. The first thread to arrive leads: it takes the
    waiting saves (at most SAVE_BATCH, one per token, of its own database) into one transaction, and goes on
    until its own is served, then hands the lead to the oldest save still waiting. Nothing waits on a timer:
    saves that arrive while a transaction runs make the next batch. A batch that fails is retried save by
    save, so one save's failure is only its own."""

    def __init__(self) -> None:
        self._mutex = threading.Lock()
        self._waiting: list[_Save] = []
        self._leading = False

    def run(self, graph: db.Graph, entry: _Save) -> None:
        with self._mutex:
            self._waiting.append(entry)
            lead, self._leading = not self._leading, True
        if not lead:
            entry.done.wait()
            if not entry.lead:
                if entry.bookmarks is not None:
                    db.advance_bookmarks(entry.bookmarks)
                return
        while not entry.served:
            with self._mutex:
                batch, tokens = [], set()
                for waiting in self._waiting:
                    if waiting.graph is graph and waiting.token not in tokens and len(batch) < SAVE_BATCH:
                        tokens.add(waiting.token)
                        batch.append(waiting)
                taken = {id(waiting) for waiting in batch}
                self._waiting = [waiting for waiting in self._waiting if id(waiting) not in taken]
            applied = False
            try:
                self._apply(graph, batch)
                applied = True
            finally:
                for waiting in batch:
                    if not applied:         # whatever it had found, its transaction did not finish
                        waiting.result, waiting.bookmarks = None, None
                        waiting.error = RuntimeError("the batch of check-in saves this one was in did not finish")
                    waiting.served, waiting.lead = True, False
                    waiting.done.set()
                if entry.served or not applied:     # else it waits for the next batch, still leading
                    with self._mutex:
                        self._waiting = [waiting for waiting in self._waiting if waiting is not entry]
                        if self._waiting:
                            self._waiting[0].lead = True
                            self._waiting[0].done.set()
                        else:
                            self._leading = False

    @staticmethod
    def _apply(graph: db.Graph, batch: list[_Save]) -> None:
        CHECK_IN_SAVES.observe(len(batch))
        committed = batch
        try:
            graph.write_step(_save_all, batch)
        except Exception as exc:    # noqa: BLE001 (each save meets its own failure)
            if len(batch) == 1 or isinstance(exc, _NOT_ONE_SAVES_FAULT):
                # The database is away, or the commit's fate is unknown: saving each alone would wait the
                # retry time once per save, or apply a save that did commit a second time.
                for entry in batch:
                    entry.result, entry.error = None, exc
                return
            committed = []
            for entry in batch:         # one save's fault: each alone, so it stays that save's
                entry.result = entry.error = None
                try:
                    graph.write_step(_save_all, [entry])
                    committed.append(entry)
                except Exception as alone:  # noqa: BLE001
                    entry.result, entry.error = None, alone
        marks = db.current_bookmarks()
        for entry in committed:
            if entry.result is not None:
                entry.bookmarks = marks


# A batch failing on these says nothing about any one save in it.
_NOT_ONE_SAVES_FAULT = (neo4j_exceptions.ServiceUnavailable, neo4j_exceptions.SessionExpired,
                        neo4j_exceptions.IncompleteCommit, neo4j_exceptions.TransientError)


_SAVES = _SaveBatcher()


def _save_alone(tx: ManagedTransaction, entry: _Save) -> None:
    """One save in its own transaction, whose problem rolls it back (an Idempotency-Key's stored response
    then never holds a refused save's answer)."""
    _save_all(tx, [entry])
    if entry.error is not None:
        raise entry.error


def _save_all(tx: ManagedTransaction, entries: list[_Save]) -> None:
    """The saves of `entries` in one transaction: each entry's invitation locked and checked, its answers
    checked (a problem is that entry's alone, found before anything of it is written), then every sound
    entry saved in one statement, with its write-ins and attribute values."""
    hashes = {entry.token: _token_hash(entry.token) for entry in entries}
    found = {row["token_hash"]: row for row in db.run(tx, "invitations_by_token_locked",
                                                     token_hashes=sorted({h for h in hashes.values() if h}))}
    checked, roster_checks = [], []
    for entry in entries:
        entry.result = entry.error = None
        try:
            invitation = _usable(found.get(hashes[entry.token]))
            respondent = invitation["invitation"]["member_id"]
            answers, checks = _checked_answers(invitation["survey"]["questions"], entry.body["answers"], respondent)
        except Problem as problem:
            entry.error = problem
            continue
        for check in checks:
            check["row"]["check"] = len(roster_checks)
            roster_checks.append(check["row"])
        checked.append((entry, invitation, answers, checks))
    listed: dict[int, set[str]] = defaultdict(set)
    if roster_checks:
        for row in db.run(tx, "roster_check", checks=roster_checks):
            listed[row["check"]].add(row["member_id"])
    sound = []
    for entry, invitation, answers, checks in checked:
        try:
            for check in checks:
                for position, member_id in enumerate(check["named"]):
                    if member_id not in listed[check["row"]["check"]]:
                        raise field_error(f"{check['where']}.named.{position}.member_id", "not on this question's list")
        except Problem as problem:
            entry.error = problem
            continue
        sound.append((entry, invitation, answers))
    if not sound:
        return
    keys = {id(entry): f"{invitation['survey']['id']}:{invitation['invitation']['member_id']}"
            for entry, invitation, _ in sound}
    saved = {row["key"]: row["saved_at"] for row in db.run(tx, "invitations_save", rows=[
        {"key": keys[id(entry)], "answers": json.dumps(entry.body["answers"], separators=(",", ":")),
         "submitted": entry.body["submit"]} for entry, _, _ in sound])}
    for entry, invitation, answers in sound:
        nominations = write_ins = 0
        if entry.body["submit"]:
            earlier = invitation["invitation"].get("submission")
            nominations, write_ins = _save_submission(tx, invitation["survey"], invitation["invitation"]["member_id"],
                                                      answers, json.loads(earlier) if earlier else [])
        entry.result = {"status": "submitted" if entry.body["submit"] else "started",
                        "saved_at": saved[keys[id(entry)]], "nominations": nominations, "write_ins": write_ins}


def _checked_answers(questions: list[dict], answers: list[dict],
                     respondent: str) -> tuple[dict[str, dict[str, Any]], list[dict[str, Any]]]:
    """The answers by question id, each checked against its question (a 422 naming `answers.N.field`), and the
    roster checks the named members still need: each a roster_check `row`, with the answer's `where` and its
    `named` ids in order, to name the field of one that is not listed."""
    by_id = {question["id"]: question for question in questions}
    out: dict[str, dict[str, Any]] = {}
    checks = []
    for index, answer in enumerate(answers):
        where = f"answers.{index}"
        question = by_id.get(answer["question_id"])
        if question is None:
            raise field_error(f"{where}.question_id", "no such question in this check-in")
        if answer["question_id"] in out:
            raise field_error(f"{where}.question_id", "answered twice; send one answer per question")
        if question["type"] == "attribute":
            for field in ("named", "write_ins"):
                if field in answer:
                    raise field_error(f"{where}.{field}", "only for a names question")
        else:
            if "value" in answer:
                raise field_error(f"{where}.value", "only for an attribute question")
            named = _check_names(question, answer, respondent, where)
            if named:
                checks.append({"where": where, "named": named, "row": {
                    "respondent_id": respondent, "ids": sorted(set(named)), **_roster_filter(question)}})
        out[answer["question_id"]] = answer
    return out, checks


def _check_names(question: dict, answer: dict, respondent: str, where: str) -> list[str]:
    """The ids an answer names, once its counts, write-ins and scales are checked."""
    named, write_ins = answer.get("named", []), answer.get("write_ins", [])
    if len(named) + len(write_ins) > question["max_names"]:
        raise field_error(f"{where}.named", f"at most {question['max_names']} names, write-ins included")
    if write_ins and not question["allow_write_ins"]:
        raise field_error(f"{where}.write_ins", "this question takes names from its list only")
    scales = {scale["name"]: scale for scale in question["scales"]}
    seen: set[str] = set()
    for position, entry in enumerate(named):
        member_id = entry["member_id"]
        if member_id == respondent:
            raise field_error(f"{where}.named.{position}.member_id", "name others, not yourself")
        if member_id in seen:
            raise field_error(f"{where}.named.{position}.member_id", "named twice")
        seen.add(member_id)
        for name, value in entry["scales"].items():
            scale = scales.get(name)
            if scale is None:
                raise field_error(f"{where}.named.{position}.scales.{name}",
                                  "no such scale in this question" + (f" (it has {', '.join(scales)})" if scales else ""))
            if not isinstance(value, int) or not scale["min"] <= value <= scale["max"]:
                raise field_error(f"{where}.named.{position}.scales.{name}",
                                  f"a whole number from {scale['min']} to {scale['max']}")
    return [entry["member_id"] for entry in named]


def _save_submission(tx: ManagedTransaction, survey: dict, respondent: str, answers: dict[str, dict[str, Any]],
                     earlier: list[dict[str, Any]]) -> tuple[int, int]:
    """What a submission writes at once: its write-ins and attribute values (the `earlier` one's replaced).
    Its nominations and ties follow in `derive_pending`."""
    wrote_in = {answer["question_id"] for answer in earlier if answer.get("write_ins")}
    nominations = write_in_count = 0
    member_fields: dict[str, Any] = {}
    for question in survey["questions"]:
        answer = answers.get(question["id"], {})
        if question["type"] == "attribute":
            if "value" in answer:
                member_fields[question["attribute"]] = answer["value"]
            continue
        nominations += len(answer.get("named", []))
        texts = list(dict.fromkeys(answer.get("write_ins", [])))
        if texts or question["id"] in wrote_in:       # else there is nothing to replace
            db.run(tx, "write_ins_replace", survey_id=survey["id"], question_id=question["id"],
                   respondent_id=respondent, rows=[{"id": str(uuid.uuid4()), "name": text} for text in texts])
        write_in_count += len(texts)
    if member_fields:
        _fill_member_fields(tx, survey["questions"], respondent, member_fields)
    return nominations, write_in_count


def derive_pending(graph: db.Graph, *, wait: bool = True) -> int:
    """Derives the nominations and ties of every pending submission, a batch of one survey's per transaction;
    how many it derived. Each transaction first takes the deriving lock (one node, every process), then reads
    what is pending: two processes never derive the same submission, and a request that waited finds its own
    done. A batch that fails is derived submission by submission; one that fails alone is logged and left with
    its error (its answers stay saved)."""
    derived = 0
    if not _DERIVING.acquire(blocking=wait):
        return 0                    # another thread of this process is deriving: its loop takes this one too
    try:
        for _ in range(_MAX_ROUNDS):
            try:
                count = graph.write(_derive_next, None)
            except Exception:
                log.warning("a batch of check-in submissions failed; deriving them one by one", exc_info=True)
                keys = [row["key"] for row in graph.read(lambda tx: db.run(tx, "pending_submissions", key=None,
                                                                           limit=DERIVE_BATCH))]
                for key in keys:
                    try:
                        graph.write(_derive_next, key)
                    except Exception:
                        _derive_failed(graph, key)
                count = len(keys)
            if count == 0:
                return derived
            derived += count
    finally:
        _DERIVING.release()

    return derived                  # submissions keep arriving: the next request or results read goes on

def _derive_next(tx: ManagedTransaction, key: str | None) -> int:
    """Under the deriving lock: the oldest pending submissions of one survey (or `key`'s alone), derived."""
    db.run(tx, "deriver_lock")
    rows = db.run(tx, "pending_submissions", key=key, limit=DERIVE_BATCH)
    batch = [row for row in rows if row["survey_id"] == rows[0]["survey_id"]] if rows else []
    if batch:
        _derive_batch(tx, batch)
    return len(batch)


def _derive_failed(graph: db.Graph, key: str) -> None:
    log.exception("could not derive the ties of a check-in submission (%s)", key)

    def work(tx: ManagedTransaction) -> None:
        for row in db.run(tx, "pending_submissions", key=key, limit=1):
            db.run(tx, "submissions_derived", done=[{"key": row["key"], "rev": row["rev"]}],
                   error="its ties could not be derived; submit again")

    graph.write(work)


def _derive_batch(tx: ManagedTransaction, batch: list[dict[str, Any]]) -> None:
    """One survey's pending submissions: what the respondents named before and who names them read in one
    statement, the ties of every pair touched written as one sync batch, then every nomination replaced in
    one statement."""
    survey_id = batch[0]["survey_id"]
    questions = {q["id"]: q for q in json.loads(batch[0]["questions"]) if q["type"] == "names"}
    rows = []
    for submission in batch:
        answers = {a["question_id"]: a for a in json.loads(submission["submission"] or "[]")}
        for question_id in questions:
            named = answers.get(question_id, {}).get("named", [])
            rows.append({"respondent_id": submission["respondent_id"], "question_id": question_id,
                         "named": [{"member_id": e["member_id"], "scales": json.dumps(e.get("scales", {}),
                                                                                        sort_keys=True)}
                                   for e in named]})
    respondents = sorted({submission["respondent_id"] for submission in batch})
    named_ids = sorted({entry["member_id"] for row in rows for entry in row["named"]})
    db.run(tx, "submissions_lock", survey_id=survey_id, respondents=respondents, named=named_ids)
    scales_by = {(row["respondent_id"], row["question_id"]): {entry["member_id"]: entry["scales"]
                                                              for entry in row["named"]} for row in rows}
    # A respondent deleted since submitting has no row here: nothing of theirs is written. Each pair's two
    # sides: a batch respondent's from its answer, another member's from the nominations read before the
    # batch replaces any (it replaces only its respondents').
    around = db.run(tx, "nominations_around", survey_id=survey_id,
                    rows=[{**row, "named": [entry["member_id"] for entry in row["named"]]} for row in rows])
    named_now = {(done["respondent_id"], done["question_id"]): set(done["named"]) for done in around}

    def side(source: str, target: str, question_id: str, read: dict[str, str]) -> str | None:
        if (source, question_id) in named_now:
            return scales_by[(source, question_id)][target] if target in named_now[(source, question_id)] else None
        return read.get(source)

    records, seen = [], set()
    for done in around:
        respondent, question_id = done["respondent_id"], done["question_id"]
        incoming = {entry["member_id"]: entry["scales"] for entry in done["incoming"]}
        for other in {*done["before"], *done["named"]}:
            a, b = sorted((respondent, other))
            if (question_id, a, b) in seen:
                continue
            seen.add((question_id, a, b))
            sides = (side(respondent, other, question_id, {}), side(other, respondent, question_id, incoming))
            records.append(_tie_record(questions[question_id], a, b, sides if a == respondent else sides[::-1]))
    # The ties first, the nominations after: with the nominations written first, the sync statement's
    # relationship index seeks (each tie's external key) ran against a transaction state of a thousand new
    # relationships; bench/checkins.py measured 0.36 ms of that statement per tie then, 0.22 ms now.
    _sync_ties(tx, survey_id, records)
    db.run(tx, "nominations_replace_many", survey_id=survey_id, rows=rows)
    db.run(tx, "submissions_derived", done=[{"key": s["key"], "rev": s["rev"]} for s in batch], error=None)


def tie_external_id(question_id: str, one: str, other: str) -> str:
    """A check-in tie's external id in its survey's source: the question, then the pair's ids, smaller first."""
    a, b = sorted((one, other))
    return f"{question_id}:{a}:{b}"


def _tie_record(question: dict, a: str, b: str, sides_json: Iterable[str | None]) -> dict[str, Any]:
    """The sync record of the tie between `a` and `b` (a < b) in a question, from the nominations each way
    (scales as JSON, None when that side named no one): an upsert while either names the other, else a
    tombstone."""
    external_id = tie_external_id(question["id"], a, b)
    sides = [json.loads(text) for text in sides_json if text is not None]
    if not sides:
        return {"external_id": external_id, "deleted": True}
    scales = {scale["name"]: scale for scale in question["scales"]}
    return {"external_id": external_id, "source_external_id": a, "target_external_id": b,
            "kind": question["tie_kind"], **tie_fields(sides, scales)}


def _derive_ties(tx: ManagedTransaction, survey_id: str, question: dict, respondent: str,
                 others: Iterable[str]) -> None:
    """The question's ties between the respondent and `others`, from the nominations both ways: upserted
    while either named the other, deleted when neither does any more."""
    others = sorted(others)
    if others:
        _write_ties(tx, survey_id, question, respondent,
                    db.run(tx, "nomination_pairs", survey_id=survey_id, question_id=question["id"],
                           respondent_id=respondent, others=others))


def _write_ties(tx: ManagedTransaction, survey_id: str, question: dict, respondent: str, pairs: list[dict]) -> None:
    """Upserts or deletes the tie of each pair row (the nominations each way, as nomination_pairs gives them)."""
    if not pairs:
        return
    records = []
    for row in pairs:
        a, b = sorted((respondent, row["member_id"]))
        # out_scales: the respondent's nomination of the other; the record wants a's of b, then b's of a.
        sides = (row["out_scales"], row["in_scales"]) if a == respondent else (row["in_scales"], row["out_scales"])
        records.append(_tie_record(question, a, b, sides))
    _sync_ties(tx, survey_id, records)


def _sync_ties(tx: ManagedTransaction, survey_id: str, records: list[dict[str, Any]]) -> None:
    """Writes tie records (_tie_record's) as one sync batch of the survey's source; `reciprocated`, which sync
    records do not take, goes on as an extra property."""
    if not records:
        return
    reciprocated = {record["external_id"]: {"reciprocated": record.pop("reciprocated")}
                    for record in records if "reciprocated" in record}
    sync.apply_in(tx, "collaborations", source_of(survey_id), records, extra=reciprocated)


def tie_fields(sides: list[dict[str, int]], scales: dict[str, dict]) -> dict[str, Any]:
    """A tie from the one or two nominations of a pair: strength from the frequency scale (the higher side,
    on 1-5), or 1; trust and value the mean of the sides that rated them (on 1-5, rounded half up), else null;
    reciprocated when both named each other."""

    def on_five(name: str, value: int) -> int:
        low, high = scales[name]["min"], scales[name]["max"]
        if low >= 1 and high <= 5:
            return value
        return int(1 + 4 * (value - low) / (high - low) + 0.5)

    def rated(name: str) -> list[int]:
        return [on_five(name, side[name]) for side in sides if name in side and name in scales]

    frequency = rated("frequency")
    out: dict[str, Any] = {"strength": max(frequency) if frequency else 1, "reciprocated": len(sides) == 2}
    for name in ("trust", "value"):
        values = rated(name)
        out[name] = int(sum(values) / len(values) + 0.5) if values else None
    return out


def _fill_member_fields(tx: ManagedTransaction, questions: list[dict], respondent: str,
                        values: dict[str, Any]) -> None:
    """Attribute answers written to the respondent's own member record (built-in fields checked as a PATCH
    checks them, custom ones against their definitions); only the values that differ from the record's."""
    where = {question["attribute"]: f"answers.{index}.value"
             for index, question in enumerate(questions) if question["type"] == "attribute"}
    built_in = {name: value for name, value in values.items() if name in BUILT_IN_ATTRIBUTES}
    try:
        fields = MemberPatchSchema().load(built_in) if built_in else {}
    except ValidationError as exc:
        name = next(iter(flatten_messages(exc.normalized_messages(), "json")))["field"].split(".")[0]
        raise field_error(where.get(name, "answers"), f"not a valid {name}") from None
    custom = {name: value for name, value in values.items() if name not in BUILT_IN_ATTRIBUTES}
    if custom:
        fields["attributes"] = custom
    try:
        stored = db.to_cypher(records.prepare(tx, "member", fields, creating=False))
    except Problem as problem:
        failed = (problem.errors or [{"field": "answers"}])[0]["field"].split(".")[-1]
        raise field_error(where.get(failed, "answers"), problem.detail.split(": ", 1)[-1]) from None
    # A respondent confirming what is on file (the page fills it in) changes nothing: no new version, no
    # entry in the change feed, no webhook.
    changed = db.run_one(tx, "respondent_fields_changed", id=respondent, changes=stored)
    if changed is None or not changed["keys"]:
        return
    db.run(tx, "member_update", id=respondent, changes={key: stored[key] for key in changed["keys"]})
    changes.record(tx, [changes.change("member", respondent, "update")])


# --- write-ins ---------------------------------------------------------------------------------

def write_ins(graph: db.Graph, survey_id: str, status: str | None) -> list[dict[str, Any]]:
    get(graph, survey_id)
    return [row["item"] for row in graph.read(lambda tx: db.run(tx, "write_ins_list", survey_id=survey_id,
                                                                 status=status))]


def match_write_in(graph: db.Graph, survey_id: str, write_in_id: str, body: dict[str, Any]) -> dict[str, Any]:
    """Resolves a write-in to a member (an existing one, or one created from it): the respondent's nomination
    of that member is added and the tie derived, as if they had picked the name from the list."""
    survey = get(graph, survey_id)

    def work(tx: ManagedTransaction) -> dict[str, Any]:
        row = db.run_one(tx, "write_in_lock", id=write_in_id, survey_id=survey_id)
        if row is None:
            raise not_found("write-in", write_in_id)
        write_in = row["write_in"]
        if write_in["status"] != "open":
            raise Problem(409, f"write-in {write_in_id} is already matched to member {write_in['member_id']}",
                          slug="write-in-matched")
        if "member_id" in body:
            member_id = body["member_id"]
            if not db.run(tx, "survey_existing_members", ids=[member_id]):
                raise field_error("member_id", f"no member with id {member_id}")
        else:
            member_id = str(uuid.uuid4())
            props = records.prepare(tx, "member", MemberSchema().load(body["create"]), creating=True)
            db.run(tx, "member_create", id=member_id, props=db.to_cypher(props), email_key=None)
            changes.record(tx, [changes.change("member", member_id, "create", source_of(survey_id))])
        if member_id == write_in["respondent_id"]:
            raise field_error("member_id", "that is the respondent who wrote it in")
        question = next(q for q in survey["questions"] if q["id"] == write_in["question_id"])
        db.run(tx, "submissions_lock", survey_id=survey_id, respondents=[write_in["respondent_id"]],
               named=[member_id])
        db.run(tx, "nomination_add", survey_id=survey_id, question_id=question["id"],
               respondent_id=write_in["respondent_id"], member_id=member_id, scales="{}")
        _derive_ties(tx, survey_id, question, write_in["respondent_id"], [member_id])
        matched = db.run_one(tx, "write_in_matched", id=write_in_id, member_id=member_id)["write_in"]
        respondent = db.run_one(tx, "members_brief", ids=[write_in["respondent_id"]])
        return {**matched, "respondent_name": respondent["name"] if respondent else ""}

    return graph.write(work)


# --- members merged into one -------------------------------------------------------------------

# A merge keeps one invitation per survey for the person: the submitted one first (the later submission of
# two), then one with a draft, then the survivor's own, then that of the member listed first in `from`.
_INVITATION_ORDER = {"submitted": 0, "started": 1, "invited": 2}


@dataclass
class CarriedCheckIns:
    """What carry_check_ins did before the merge proper and left for derive_carried: the change-feed entries
    of the check-in ties it dropped, the new external keys of the ties the merge moves ({id, external_key}),
    and per (survey, question) the members whose tie with the survivor is to be derived again."""

    entries: list[dict[str, Any]]
    rekeyed: list[dict[str, str]]
    pairs: dict[tuple[str, str], set[str]]


def hold_derivations(tx: ManagedTransaction) -> None:
    """Takes the deriving lock, as every derivation does first: a merge takes it before its member locks, so
    no submission is derived while members merge, and one derived after reads its answers as the merge left
    them."""
    db.run(tx, "deriver_lock")


def carry_check_ins(tx: ManagedTransaction, survivor: str, others: list[str]) -> CarriedCheckIns:
    """Makes the check-in data of `others` the survivor's, in the merge's transaction, before the merge proper
    (every member locked, and the deriving lock held: hold_derivations). `others` in the order of `from`.

    - Invitations: one per survey stays, the first by _INVITATION_ORDER, now the survivor's (its token
      answers for the survivor); the others are deleted (their tokens answer 404 `unknown-token`, as a
      replaced token does), and the answers they held are superseded as a revision supersedes them: their
      nominations and open write-ins in that survey go.
    - Stored answers (drafts, submissions) that name a merged member name the survivor: the survivor's own
      invitations, those of surveys still open and those still to derive. A member named twice in one answer
      is named once (the survivor's own entry, else the first listed in `from`); the respondent's own name
      goes.
    - Nominations from or to a merged member are the survivor's. Of two that become one (same survey,
      question and other end) the survivor's own stays, else the one of the member listed first in `from`;
      one between two of the merged members (the survivor's self-nomination) goes.
    - Write-ins written by or matched to a merged member name the survivor.
    - Check-in ties (source `survey:<id>`) of a merged member are to be keyed as the survivor's
      (`<question>:<a>:<b>`, smaller id first), the key a later submission looks for. Where the survivor
      already holds that key, its own tie stays and the other is deleted now (the generic merge keeps
      parallel ties, but a check-in has one tie per pair and question); among merged members' ties the one
      of the member listed first stays.

    derive_carried, after the merge proper, gives the moved ties their keys and derives the survivor's ties
    with everyone touched again."""
    place = {survivor: 0, **{other: index + 1 for index, other in enumerate(others)}}
    superseded = _carry_invitations(tx, survivor, others, place)
    pairs: dict[tuple[str, str], set[str]] = defaultdict(set)
    _carry_nominations(tx, survivor, place, superseded, pairs)
    db.run(tx, "merge_write_ins", survivor=survivor, others=others,
           superseded=[{"survey_id": survey_id, "respondent_id": member_id} for survey_id, member_id in superseded])
    entries, rekeyed = _claim_tie_keys(tx, survivor, others, place, pairs)
    return CarriedCheckIns(entries, rekeyed, dict(pairs))


def derive_carried(tx: ManagedTransaction, survivor: str, carried: CarriedCheckIns) -> None:
    """After the merge proper: the check-in ties it moved keyed as the survivor's (a key set before the move
    went with the tie the move deleted and was refused to the tie it created), then the survivor's ties with
    the members carry_check_ins touched derived from the nominations now in place, as a submission derives
    them (strength, trust, value, `reciprocated`; a pair no one names any more loses its tie)."""
    if carried.rekeyed:
        db.run(tx, "merge_survey_ties_rekey", rows=carried.rekeyed)
    survey_ids = sorted({survey_id for survey_id, _ in carried.pairs})
    if not survey_ids:
        return
    questions = {(row["survey"]["id"], question["id"]): question
                 for row in db.run(tx, "survey_get", ids=survey_ids)
                 for question in json.loads(row["survey"]["questions"]) if question["type"] == "names"}
    for (survey_id, question_id), members in sorted(carried.pairs.items()):
        if (survey_id, question_id) in questions:
            _derive_ties(tx, survey_id, questions[(survey_id, question_id)], survivor, members)


def _carry_invitations(tx: ManagedTransaction, survivor: str, others: list[str],
                       place: dict[str, int]) -> list[tuple[str, str]]:
    """One invitation per survey for the merged members, the survivor's, and the stored answers that name a
    merged member renamed (carry_check_ins); the (survey, member) of every answer superseded."""
    found = defaultdict(list)
    for row in db.run(tx, "merge_invitations_of", members=[survivor, *others]):
        found[row["survey_id"]].append(row)
    dropped, superseded, rewrites = [], [], {}
    for survey_id, held in sorted(found.items()):
        kept, *lost = sorted(held, key=lambda row: _invitation_order(row, place))
        dropped += [row["key"] for row in lost]
        superseded += [(survey_id, row["member_id"]) for row in lost]
        rewrites[kept["key"]] = {**kept, "respondent": survivor}
    for row in db.run(tx, "merge_invitations_naming", ids=others):
        if row["key"] not in rewrites and row["key"] not in dropped:
            rewrites[row["key"]] = {**row, "respondent": row["member_id"]}
    rows = []
    for key, row in rewrites.items():
        draft, submission = (_renamed(row[field], row["respondent"], survivor, place)
                             for field in ("draft", "submission"))
        if (draft, submission, row["member_id"]) != (row["draft"], row["submission"], row["respondent"]):
            rows.append({"key": key, "new_key": f"{row['survey_id']}:{row['respondent']}",
                         "member_id": row["respondent"], "draft": draft, "submission": submission})
    if dropped:     # first: a kept invitation may take a dropped one's key
        db.run(tx, "merge_invitations_drop", keys=dropped)
    if rows:
        db.run(tx, "merge_invitations_rewrite", rows=rows)
    return superseded


def _invitation_order(row: dict[str, Any], place: dict[str, int]) -> tuple:
    submitted = row["submitted_at"].timestamp() if row["status"] == "submitted" and row["submitted_at"] else 0.0
    return _INVITATION_ORDER.get(row["status"], len(_INVITATION_ORDER)), -submitted, place[row["member_id"]]


def _renamed(text: str | None, respondent: str, survivor: str, place: dict[str, int]) -> str | None:
    """Stored answers (JSON) with every merged member named as the survivor: a member named twice in one
    answer once (the entry of the survivor's own, else of the member listed first), the respondent not at
    all. The same text when nothing changes."""
    if not text:
        return text
    answers = json.loads(text)
    changed = False
    for answer in answers:
        chosen: dict[str, tuple[int, dict]] = {}      # keeps the place of a name's first entry
        for entry in answer.get("named") or []:
            named = survivor if entry["member_id"] in place else entry["member_id"]
            rank = place.get(entry["member_id"], 0)
            if named != respondent and (named not in chosen or rank < chosen[named][0]):
                chosen[named] = (rank, {**entry, "member_id": named})
        named_now = [entry for _, entry in chosen.values()]
        if named_now != (answer.get("named") or []):
            answer["named"], changed = named_now, True
    return json.dumps(answers, separators=(",", ":")) if changed else text


def _carry_nominations(tx: ManagedTransaction, survivor: str, place: dict[str, int],
                       superseded: list[tuple[str, str]], pairs: dict[tuple[str, str], set[str]]) -> None:
    """The merged members' nominations made the survivor's, those of superseded answers gone (carry_check_ins);
    each (survey, question) gains the other end of every nomination moved or gone, in `pairs`."""
    gone_respondents = set(superseded)
    contenders: dict[tuple, list[tuple[int, dict]]] = defaultdict(list)
    drops = []
    for row in db.run(tx, "merge_nominations_of", members=list(place)):
        ends = [survivor if member in place else member for member in (row["source"], row["target"])]
        if ends[0] == ends[1] or (row["survey_id"], row["source"]) in gone_respondents:
            drops.append({**row, "to_source": None, "to_target": None})
            continue
        rank = max(place.get(row["source"], 0), place.get(row["target"], 0))
        contenders[(row["survey_id"], row["question_id"], *ends)].append((rank, row))
    moves = []
    for (_, _, to_source, to_target), rows in contenders.items():
        (_, kept), *rest = sorted(rows, key=lambda pair: pair[0])
        drops += [{**row, "to_source": None, "to_target": None} for _, row in rest]
        if (kept["source"], kept["target"]) != (to_source, to_target):
            moves.append({**kept, "to_source": to_source, "to_target": to_target})
    for row in drops + moves:
        other_end = next((m for m in (row["source"], row["target"]) if m not in place), None)
        if other_end is not None:
            pairs[(row["survey_id"], row["question_id"])].add(other_end)
    for rows in (drops, moves):      # the drops first: a move never meets a nomination about to go
        if rows:
            db.run(tx, "merge_nominations_move", rows=rows)


def _claim_tie_keys(tx: ManagedTransaction, survivor: str, others: list[str], place: dict[str, int],
                    pairs: dict[tuple[str, str], set[str]]) -> tuple[list[dict[str, Any]], list[dict[str, str]]]:
    """One check-in tie per survivor's key (carry_check_ins): the others deleted, with their change entries,
    and the new keys of those that stay ({id, external_key}), for derive_carried to set once the merge has
    moved them. Each (survey, question) gains the tie's other end in `pairs`."""
    claims: dict[str, list[tuple[int, dict]]] = defaultdict(list)
    for tie in db.run(tx, "merge_survey_ties_of", others=others):
        ends = [survivor if member in place else member for member in (tie["source_id"], tie["target_id"])]
        prefix = sync.external_key("collaboration", tie["source"], "")
        question_id, *pair = (tie["external_key"] or "").removeprefix(prefix).split(":")
        if ends[0] == ends[1] or not (tie["external_key"] or "").startswith(prefix) \
                or sorted(pair) != sorted((tie["source_id"], tie["target_id"])):
            continue            # between two merged members (the merge drops it), or not a derived tie
        pairs[(tie["source"].removeprefix("survey:"), question_id)].add(ends[1] if ends[0] == survivor else ends[0])
        merged = tie["source_id"] if tie["source_id"] in place else tie["target_id"]
        claims[prefix + tie_external_id(question_id, *ends)].append((place[merged], tie))
    if not claims:
        return [], []
    for tie in db.run(tx, "merge_survey_ties_keyed", keys=sorted(claims)):
        if all(tie["id"] != claimed["id"] for _, claimed in claims[tie["external_key"]]):
            claims[tie["external_key"]].append((0, tie))      # the survivor's own
    dropped, rekeyed = [], []
    for key, ties in claims.items():
        (_, kept), *rest = sorted(ties, key=lambda pair: pair[0])
        dropped += [tie for _, tie in rest]
        if kept["external_key"] != key:
            rekeyed.append({"id": kept["id"], "external_key": key})
    if dropped:
        db.run(tx, "merge_survey_ties_drop", ids=[tie["id"] for tie in dropped])
    return [changes.change("collaboration", tie["id"], "delete", parties=(tie["source_id"], tie["target_id"]))
            for tie in dropped], rekeyed


# --- results -----------------------------------------------------------------------------------

def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _mean(values: list[int]) -> float | None:
    return round(sum(values) / len(values), 4) if values else None


def results(graph: db.Graph, survey_id: str) -> dict[str, Any]:
    survey = get(graph, survey_id)
    derive_pending(graph)      # a submission whose request ended before deriving (a crash) counts now

    def work(tx: ManagedTransaction) -> tuple[list[dict], list[dict], dict[str, str]]:
        return (db.run(tx, "survey_invitees", survey_id=survey_id),
                db.run(tx, "survey_nominations", survey_id=survey_id), vocabularies.labels(tx, "member_role"))

    invitees, nominations, roles = graph.read(work)
    responded = {row["member_id"] for row in invitees if row["status"] == "submitted"}

    def rates(groups: dict[tuple[str | None, str | None], list[dict]], key: str) -> list[dict]:
        out = []
        for (group_id, name), rows in sorted(groups.items(), key=lambda item: (str(item[0][1]), str(item[0][0]))):
            done = sum(1 for row in rows if row["member_id"] in responded)
            out.append({key: group_id, "name": name, "invited": len(rows), "responded": done,
                        "response_rate": _rate(done, len(rows))})
        return out

    by_organization: dict[tuple, list[dict]] = defaultdict(list)
    by_role: dict[tuple, list[dict]] = defaultdict(list)
    organization_of: dict[str, list[dict]] = {}
    for row in invitees:
        organization_of[row["member_id"]] = row["organizations"]
        for organization in row["organizations"] or [{"id": None, "name": None}]:
            by_organization[(organization["id"], organization["name"])].append(row)
        by_role[(row["role"], roles.get(row["role"], row["role"]))].append(row)

    arcs = {(row["source"], row["target"]) for row in nominations}
    reciprocated = sum(1 for a, b in arcs if (b, a) in arcs)
    per_question = Counter(row["question_id"] for row in nominations)
    named_ids = {row["target"] for row in nominations}
    scores: dict[str, dict[str, list[int]]] = {"trust": defaultdict(list), "value": defaultdict(list)}
    everyone: dict[str, list[int]] = {"trust": [], "value": []}
    names = {}
    missing = {row["source"] for row in nominations} - set(organization_of)
    if missing:
        for row in graph.read(lambda tx: db.run(tx, "members_brief", ids=sorted(missing))):
            organization_of[row["member_id"]] = row["organizations"]
    for row in nominations:
        rated = json.loads(row["scales"])
        for name in ("trust", "value"):
            if name in rated:
                everyone[name].append(rated[name])
                for organization in organization_of.get(row["source"]) or []:
                    scores[name][organization["id"]].append(rated[name])
                    names[organization["id"]] = organization["name"]
    return {
        "survey_id": survey_id,
        "invited": len(invitees), "responded": len(responded),
        "response_rate": _rate(len(responded), len(invitees)),
        "response_rate_by_organization": rates(by_organization, "organization_id"),
        "response_rate_by_role": rates(by_role, "role"),
        "nominations": len(nominations),
        "nominations_by_question": [{"question_id": q["id"], "nominations": per_question.get(q["id"], 0)}
                                    for q in survey["questions"] if q["type"] == "names"],
        "reciprocity": _rate(reciprocated, len(arcs)),
        **{name: {"mean": _mean(everyone[name]), "ratings": len(everyone[name]),
                  "by_organization": [{"organization_id": org, "name": names[org], "mean": _mean(values),
                                       "ratings": len(values)}
                                      for org, values in sorted(scores[name].items(), key=lambda i: names[i[0]])]}
           for name in ("trust", "value")},
        "never_named": [{"member_id": row["member_id"], "name": row["name"]}
                        for row in sorted(invitees, key=lambda r: (r["name"], r["member_id"]))
                        if row["member_id"] not in named_ids],
        "computed": {
            "response_rate": "submitted invitations / invitations",
            "reciprocity": "nominations whose named member also named the respondent (in any question) / "
                           "distinct nominations (respondent, named), as networkx.reciprocity on that digraph",
            "trust": "mean of the trust ratings given, in the scale's own units; by the respondent's current "
                     "organizations",
            "value": "as trust, for the value scale",
            "never_named": "invited members no nomination names",
            "ties": f"each nomination is also an undirected collaboration of the question's tie kind with source "
                    f"{source_of(survey_id)}: strength from the frequency scale (or 1), trust and value the mean "
                    f"of both sides' ratings, reciprocated when both named each other",
        },
    }


__all__ = ["create", "get", "list_page", "update", "close", "alert_lapsed", "invite", "invitations", "respond_view",
           "respond", "write_ins", "match_write_in", "results", "tie_fields", "tie_external_id", "source_of",
           "TIE_SCALES", "CarriedCheckIns", "hold_derivations", "carry_check_ins", "derive_carried"]
