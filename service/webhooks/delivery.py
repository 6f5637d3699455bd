"""Webhook deliveries: turning the change feed and the alerts into signed calls, on the workers.

**Where events come from.** The change feed is written in the same transaction as each change
(service/repositories/changes.py), and alerts likewise (service/repositories/alerts.py), so the feed is
the outbox: an endpoint keeps a cursor into each stream, in Neo4j, and nothing a write committed can be
missed across a restart of the API, the workers or Neo4j.

**How they go out.** A delivery holds the next events of one stream an endpoint listens to, up to
`batch_events` events and `batch_bytes` bytes: a sync of 1,000 records makes about ten calls, not 1,000.
Its body is fixed when it is made (the resources as the API showed them then; stored compressed), and
every attempt sends that body under the same `webhook-id`, so a receiver that deduplicates on it processes
each event once.
The next delivery is made only once the endpoint accepted this one (a 2xx): each endpoint's events
arrive in order. A refused attempt waits with exponential backoff and jitter; an endpoint that kept
refusing for `give_up_seconds` (a day) is disabled, and an alert (`webhook.disabled`) says so.

**The signature** is Standard Webhooks' (the `standardwebhooks` package): `webhook-id`,
`webhook-timestamp`, and `webhook-signature` = `v1,` base64 HMAC-SHA256 of `id.timestamp.body` under the
endpoint's secret; for a while after a rotation, under the previous secret too (space-separated).

**Who sends.** `netweave worker` polls for endpoints with something to send and puts one message per
endpoint on the `netweave-webhooks` queue (service/analytics/queue.py); whichever worker takes it holds
the endpoint's lock in Redis while it sends. Nothing is sent on a web request.
"""

from __future__ import annotations

import json
import logging
import random
import time
import threading
import uuid
import zlib
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Mapping

from neo4j import ManagedTransaction
from standardwebhooks import Webhook as Signer

from service import callers, db
from service.callers import Caller
from service.webhooks import outbound
from service.webhooks.sealing import Sealer

log = logging.getLogger(__name__)

ACTION_EVENTS = {"create": "created", "update": "updated", "delete": "deleted"}
RESOURCE_EVENTS = {"member": ("created", "updated", "deleted"), "organization": ("created", "updated", "deleted"),
                   "collaboration": ("created", "updated", "deleted"), "affiliation": ("created", "updated", "deleted"),
                   "introduction": ("created", "updated")}
# Entries of a stream read per look when building a delivery (most may be events the endpoint ignores).
SCAN = 1_000
PURGE_BATCH = 1_000


def event_type(resource: str, action: str) -> str:
    return f"{resource}.{ACTION_EVENTS[action]}"


def listens(patterns: list[str], type_: str) -> bool:
    """Whether an endpoint subscribed to `patterns` (`*`, `member.*`, `alert.*`, `member.updated`) gets `type_`."""
    return any(pattern == "*" or pattern == type_ or (pattern.endswith(".*") and type_.startswith(pattern[:-1]))
               for pattern in patterns)


@dataclass(frozen=True)
class DeliverySettings:
    allow: tuple[outbound.Network, ...]
    timeout: float
    max_response_bytes: int
    batch_events: int
    batch_bytes: int
    backoff_seconds: float
    backoff_max_seconds: float
    give_up_seconds: float
    retention_days: int

    @classmethod
    def load(cls, config: Mapping[str, Any]) -> "DeliverySettings":
        from service.config import bounded

        return cls(allow=outbound.allow_list(config.get("NETWEAVE_WEBHOOK_ALLOW_PRIVATE")),
                   timeout=bounded(config, "NETWEAVE_WEBHOOK_TIMEOUT_SECONDS"),
                   max_response_bytes=bounded(config, "NETWEAVE_WEBHOOK_MAX_RESPONSE_BYTES"),
                   batch_events=bounded(config, "NETWEAVE_WEBHOOK_BATCH_EVENTS"),
                   batch_bytes=bounded(config, "NETWEAVE_WEBHOOK_BATCH_BYTES"),
                   backoff_seconds=bounded(config, "NETWEAVE_WEBHOOK_BACKOFF_SECONDS"),
                   backoff_max_seconds=bounded(config, "NETWEAVE_WEBHOOK_BACKOFF_MAX_SECONDS"),
                   give_up_seconds=bounded(config, "NETWEAVE_WEBHOOK_GIVE_UP_SECONDS"),
                   retention_days=bounded(config, "NETWEAVE_WEBHOOK_DELIVERY_RETENTION_DAYS"))

    def backoff(self, failures: int) -> float:
        """Seconds before the next attempt after `failures` refused ones: doubling from `backoff_seconds`
        up to `backoff_max_seconds`, with jitter (a random half of it), so endpoints that failed together
        are not all tried again together."""
        ceiling = min(self.backoff_max_seconds, self.backoff_seconds * 2 ** max(0, failures - 1))
        return ceiling * (0.5 + random.random() / 2)


# --- what an event carries ----------------------------------------------------------------------------

def _schemas() -> dict[str, Any]:
    from schemas.activities import ActivitySchema
    from schemas.collaborations import CollaborationSchema
    from schemas.members import AffiliationSchema, MemberSchema
    from schemas.organizations import OrganizationSchema
    from schemas.recommendations import IntroductionSchema

    return {"member": ("member_get", "member", MemberSchema()),
            "organization": ("organization_get", "organization", OrganizationSchema()),
            "collaboration": ("collaboration_get", "collaboration", CollaborationSchema()),
            "introduction": ("introduction_get", "introduction", IntroductionSchema()),
            "affiliation": ("webhook_affiliation", "affiliation", AffiliationSchema()),
            "activity": ("activity_get", "activity", ActivitySchema())}


class Shaper:
    def __init__(self, webhook: Mapping[str, Any]):
        scopes = {"read"} | ({"pii"} if webhook.get("pii") else set()) | (
            {"sync"} if webhook.get("external_ids") else set())
        self.caller = Caller(key_id=f"webhook:{webhook['id']}", name="webhook", scopes=frozenset(scopes))
        self.schemas = _schemas()

    def resources(self, tx: ManagedTransaction, entries: list[dict]) -> list[dict | None]:
        """Each change entry's resource as it is now (None once gone), shaped for this endpoint: one
        statement per kind of resource for the whole delivery."""
        from service.repositories import attributes

        wanted: dict[str, set[str]] = {}
        for entry in entries:
            if entry["action"] != "delete":
                wanted.setdefault(entry["resource"], set()).add(entry["id"])
        found: dict[tuple[str, str], dict] = {}
        for resource, ids in wanted.items():
            query, column, _ = self.schemas[resource]
            if resource == "affiliation":
                for id_ in ids:
                    member_id, _, organization_id = id_.partition("/")
                    row = db.run_one(tx, query, member_id=member_id, organization_id=organization_id)
                    if row is not None:
                        found[resource, id_] = row[column]
                continue
            definitions = attributes.definitions(tx, resource) if resource in attributes.TARGETS else None
            for row in db.run(tx, query, ids=list(ids)):
                value = row[column]
                found[resource, value["id"]] = value if definitions is None else attributes.shape(value, definitions)
        # The response schemas hide personal data by the caller's scopes: acting as the endpoint shapes each
        # payload as the API would show it to that endpoint's creator.
        with callers.acting_as(self.caller):
            return [None if (entry["action"] == "delete" or (entry["resource"], entry["id"]) not in found)
                    else self.schemas[entry["resource"]][2].dump(found[entry["resource"], entry["id"]])
                    for entry in entries]

    def sees_external_ids(self) -> bool:
        return self.caller.has("sync") or self.caller.has("pii")


def _iso(value: Any) -> str | None:
    if value is None:
        return None
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def change_events(shaper: Shaper, tx: ManagedTransaction, entries: list[dict]) -> list[dict]:
    events = []
    for entry, resource in zip(entries, shaper.resources(tx, entries)):
        data: dict[str, Any] = resource if resource is not None else {"id": entry["id"]}
        event = {"id": f"chg_{entry['seq']}", "type": event_type(entry["resource"], entry["action"]),
                 "seq": entry["seq"], "occurred_at": _iso(entry["at"]), "source": entry["source"],
                 "current": resource is not None or entry["action"] == "delete", "data": data}
        if entry["action"] == "delete":
            if entry.get("merged_into"):
                event["merged_into"] = entry["merged_into"]
            if shaper.sees_external_ids():
                event["external_ids"] = entry["external_ids"]
        events.append(event)
    return events


def alert_events(entries: list[dict]) -> list[dict]:
    return [{"id": f"alt_{entry['id']}", "type": f"alert.{entry['kind']}", "seq": entry["seq"],
             "occurred_at": _iso(entry["at"]), "subject": entry.get("subject"), "data": entry["data"]}
            for entry in entries]


# --- the delivery loop --------------------------------------------------------------------------------

@dataclass
class Batch:
    stream: str
    events: list[dict]
    last_seq: int          # the stream position the delivery covers (events it passed over included)


class Deliverer:
    """Sends the deliveries of one endpoint at a time (the caller holds that endpoint's lock)."""

    def __init__(self, graph: db.Graph, settings: DeliverySettings, sealer: Sealer,
                 clock: Callable[[], float] = time.monotonic):
        self.graph = graph
        self.settings = settings
        self.sealer = sealer
        self.clock = clock
        # Per thread (the worker sends from two): the delivery this thread just made, with its body.
        self._local = threading.local()

    def due(self) -> list[str]:
        return [row["id"] for row in self.graph.read(lambda tx: db.run(tx, "webhook_due"))]

    def run(self, webhook_id: str, budget_seconds: float, keep: Callable[[], Any] | None = None) -> int:
        """Sends what the endpoint has waiting, for up to `budget_seconds`; returns the attempts made.
        `keep` is called before each step (the worker renews the endpoint's lock with it; it raises when
        the lock was lost, which ends the run). Two runs on one endpoint at once (a lock lost to a pause
        or a Redis failover) stay correct: a delivery is made only from the cursor it was read at, so at
        worst the one under way is sent twice under its own webhook-id."""
        deadline, attempts = self.clock() + budget_seconds, 0
        step = keep or (lambda: None)
        while self.clock() < deadline:
            step()
            state = self.graph.read(lambda tx: db.run_one(tx, "webhook_state", id=webhook_id))
            if state is None:
                return attempts
            webhook, now = state["webhook"], state["now"]
            if not webhook["enabled"] or (webhook.get("next_attempt_at") and webhook["next_attempt_at"] > now):
                return attempts
            if webhook.get("replays"):
                for replay in self.graph.read(lambda tx: db.run(tx, "delivery_replays", webhook_id=webhook_id,
                                                                 limit=10)):
                    step()
                    attempts += 1
                    self._attempt(webhook, replay["id"], now)
            delivery_id = webhook.get("pending") or self._make(webhook, state, step, deadline)
            if delivery_id is None:
                return attempts
            step()
            attempts += 1
            if not self._attempt(webhook, delivery_id, now):
                return attempts
        return attempts

    def purge(self) -> int:
        """Removes finished deliveries past retention, in batches; how many went."""
        before = datetime.now(timezone.utc) - timedelta(days=self.settings.retention_days)
        total = 0
        while True:
            purged = self.graph.write(lambda tx: db.run_one(
                tx, "delivery_purge", before=before, batch=PURGE_BATCH)["purged"])
            total += purged
            if purged < PURGE_BATCH:
                return total

    # -- making a delivery

    def _make(self, webhook: dict, state: dict, step: Callable[[], Any], deadline: float) -> str | None:
        """The next delivery of the endpoint (stored, and made the one under way), or None when neither
        stream has an event it listens to (cursors move past the entries it does not listen to) or the run's
        time is up. Alerts first: they are few, and must not wait behind a long sync."""
        if webhook["cursor"] < state["changes_floor"]:
            return self._store(webhook, self._gap(webhook["cursor"], state["changes_floor"]), webhook["cursor"])
        for stream, cursor, head in (("alerts", webhook["alert_cursor"], state["alerts_head"]),
                                     ("changes", webhook["cursor"], state["changes_head"])):
            while cursor < head:
                if self.clock() >= deadline:
                    return None
                step()
                batch = self.graph.read(self._collect, webhook, stream, cursor)
                if batch.events:
                    return self._store(webhook, batch, cursor)
                if batch.last_seq <= cursor or not self._pass(webhook["id"], stream, cursor, batch.last_seq):
                    break       # nothing further, or another run moved the cursor: the next look starts over
                cursor = batch.last_seq
        return None

    @staticmethod
    def _gap(cursor: int, floor: int) -> Batch:
        """The one event an endpoint gets for change-feed entries removed by retention before it was sent
        them (it was disabled or paused past NETWEAVE_CHANGE_RETENTION_DAYS; an enabled endpoint holds the
        entries it has not been sent): whatever it listens to, so it knows to read the lists again."""
        log.warning("webhook: change feed entries %d..%d were removed by retention before they were sent",
                    cursor + 1, floor)
        return Batch("changes", [{"id": f"gap_{cursor}_{floor}", "type": "feed.gap", "seq": floor,
                                  "occurred_at": _iso(datetime.now(timezone.utc)),
                                  "data": {"missed_from_seq": cursor + 1, "missed_to_seq": floor,
                                           "resync": "read the lists again, then follow GET /v1/changes"}}],
                     floor)

    def _collect(self, tx: ManagedTransaction, webhook: dict, stream: str, cursor: int) -> Batch:
        from service.repositories import alerts, changes

        patterns, limit = webhook["events"], self.settings.batch_events
        entries: list[dict] = []
        wanted: list[dict] = []
        # Pages of the stream until the delivery is full or SCAN entries were looked at: most of the time the
        # first page is the delivery; an endpoint listening to a few kinds may pass over many entries.
        while len(wanted) < limit and len(entries) < SCAN:
            after = entries[-1]["seq"] if entries else cursor
            if stream == "changes":
                page = changes.page(tx, after, limit)
                wanted += [entry for entry in page if listens(patterns, event_type(entry["resource"], entry["action"]))]
            else:
                page = alerts.after(tx, after, limit)
                wanted += [entry for entry in page if listens(patterns, f"alert.{entry['kind']}")]
            entries += page
            if len(page) < limit:
                break
        if not entries:
            return Batch(stream, [], cursor)
        wanted = wanted[:limit]
        events = change_events(Shaper(webhook), tx, wanted) if stream == "changes" else alert_events(wanted)
        kept, size = [], 0
        for event in events:
            size += len(json.dumps(event, separators=(",", ":"), default=str)) + 1
            if kept and size > self.settings.batch_bytes:
                break
            kept.append(event)
        full = len(kept) < len(events) or len(wanted) == limit
        last = kept[-1]["seq"] if kept and full else entries[-1]["seq"]
        return Batch(stream, kept, last)

    def _store(self, webhook: dict, batch: Batch, from_cursor: int) -> str | None:
        delivery_id = str(uuid.uuid4())
        body = json.dumps({"type": "netweave.events", "timestamp": _iso(datetime.now(timezone.utc)),
                           "data": {"webhook_id": webhook["id"], "stream": batch.stream, "events": batch.events}},
                          separators=(",", ":"), default=str)
        types = sorted({event["type"] for event in batch.events})
        row = self.graph.write(lambda tx: db.run_one(
            tx, "delivery_create", id=delivery_id, webhook_id=webhook["id"], stream=batch.stream,
            first_seq=batch.events[0]["seq"], last_seq=batch.last_seq, event_count=len(batch.events),
            event_types=types, body=zlib.compress(body.encode("utf-8"), 1), from_cursor=from_cursor))
        # No row: another run made the endpoint's next delivery, or moved its cursor, first; the next look
        # sends what is under way.
        if row is None:
            return None
        self._local.made = (delivery_id, body)      # its first attempt need not read the body back
        return row["id"]

    def _pass(self, webhook_id: str, stream: str, from_cursor: int, seq: int) -> bool:
        """Moves the stream's cursor from `from_cursor` to `seq`; False when another run moved it first."""
        return bool(self.graph.write(lambda tx: db.run(tx, "webhook_pass", id=webhook_id, stream=stream,
                                                        from_cursor=from_cursor, seq=seq)))

    # -- sending one

    def _attempt(self, webhook: dict, delivery_id: str, now: datetime) -> bool:
        """One attempt at a delivery, recorded; True when the endpoint accepted it."""
        made, self._local.made = getattr(self._local, "made", None), None
        if made is not None and made[0] == delivery_id:
            body = made[1]
        else:
            row = self.graph.read(lambda tx: db.run_one(tx, "delivery_body", id=delivery_id,
                                                        webhook_id=webhook["id"]))
            if row is None:
                return False
            body = zlib.decompress(row["delivery"]["body"]).decode("utf-8")
        outcome = outbound.post(webhook["url"], body.encode("utf-8"), self.headers(webhook, delivery_id, body),
                                allow=self.settings.allow, timeout=self.settings.timeout,
                                max_response_bytes=self.settings.max_response_bytes)
        failing_since = webhook.get("failing_since")
        give_up = (not outcome.ok and failing_since is not None
                   and (now - failing_since).total_seconds() >= self.settings.give_up_seconds)
        last = f"HTTP {outcome.status}" if outcome.status is not None else "no answer"
        disable = f"every delivery failed for {self.settings.give_up_seconds:g} s; last: {last}" if give_up else None
        # The backoff counts from the end of the call (a timeout may have taken longer than the first backoff).
        next_at = None if outcome.ok else datetime.now(timezone.utc) + timedelta(
            seconds=self.settings.backoff(webhook["failures"] + 1))

        def work(tx: ManagedTransaction) -> dict:
            result = db.run_one(tx, "delivery_attempted", id=delivery_id, webhook_id=webhook["id"], ok=outcome.ok,
                                code=outcome.status, error=outcome.error, seconds=outcome.seconds,
                                next_attempt_at=next_at, disable=disable)
            if result is not None and result["disabled_now"]:       # once, by the attempt that disabled it
                from service.repositories import alerts

                # Neither the URL (it may hold a token) nor the error text (it may name internal addresses):
                # any `read` key lists alerts. GET /v1/webhooks/{id} (admin) has the details.
                alerts.emit(tx, "webhook.disabled", {"webhook_id": webhook["id"], "last_answer": last,
                                                     "failing_seconds": self.settings.give_up_seconds},
                            subject=webhook["id"])
            return result

        self.graph.write(work)
        if not outcome.ok:
            log.info("webhook %s: delivery %s refused (%s)", webhook["id"], delivery_id,
                     outcome.error or outcome.status)
            # The backoff lives in the endpoint's state; a replay's failure leaves the endpoint as it was.
        return outcome.ok

    def headers(self, webhook: dict, delivery_id: str, body: str) -> dict[str, str]:
        sent_at = datetime.now(timezone.utc)
        signatures = [Signer(self.sealer.open(webhook["secret"])).sign(delivery_id, sent_at, body)]
        previous_until = webhook.get("previous_secret_until")
        if webhook.get("previous_secret") and previous_until is not None and previous_until > sent_at:
            signatures.append(Signer(self.sealer.open(webhook["previous_secret"])).sign(delivery_id, sent_at, body))
        return {"webhook-id": delivery_id, "webhook-timestamp": str(int(sent_at.timestamp())),
                "webhook-signature": " ".join(signatures), "content-type": "application/json",
                "user-agent": "netweave-webhooks"}
