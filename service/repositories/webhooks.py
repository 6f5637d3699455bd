"""Webhook endpoints and their deliveries (graph_queries/webhooks.cypher); sending is service/webhooks/delivery.py.

The secret is made here and returned once, at creation and at rotation; it is stored sealed
(service/webhooks/sealing.py) and never shown again.
"""

from __future__ import annotations

import base64
import secrets
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

from neo4j import ManagedTransaction

from service import db
from service.problems import Problem
from service.repositories import fetch_page, locked, not_found
from service.webhooks.sealing import Sealer

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32
DELETE_BATCH = 5_000


def new_secret() -> str:
    """A Standard Webhooks secret: `whsec_` and the base64 of 32 random bytes."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode("ascii")


def create(graph: db.Graph, sealer: Sealer, body: dict[str, Any], *, pii: bool, external_ids: bool,
           created_by: str) -> dict[str, Any]:
    webhook_id, secret = str(uuid.uuid4()), new_secret()

    def work(tx: ManagedTransaction) -> dict[str, Any]:
        db.run(tx, "webhook_create", id=webhook_id, url=body["url"], events=body["events"],
               description=body.get("description"), secret=sealer.seal(secret), pii=pii,
               external_ids=external_ids, created_by=created_by)
        return {**db.run_one(tx, "webhook_get", id=webhook_id)["webhook"], "secret": secret}

    return graph.write(work)


def get(graph: db.Graph, webhook_id: str) -> dict[str, Any]:
    row = graph.read(lambda tx: db.run_one(tx, "webhook_get", id=webhook_id))
    if row is None:
        raise not_found("webhook", webhook_id)
    return row["webhook"]


def list_page(graph: db.Graph, *, limit: int, after: list[str] | None) -> list[dict[str, Any]]:
    return fetch_page(graph, "webhook_list", limit, after)


def update(graph: db.Graph, webhook_id: str, fields: dict[str, Any], expected_version: int | None) -> dict[str, Any]:
    def work(tx: ManagedTransaction) -> dict[str, Any]:
        locked(tx, "webhook_lock", "webhook", webhook_id, expected_version)
        db.run(tx, "webhook_update", id=webhook_id, changes=fields)
        return db.run_one(tx, "webhook_get", id=webhook_id)["webhook"]

    return graph.write(work)


def rotate(graph: db.Graph, sealer: Sealer, webhook_id: str, grace_seconds: int,
           expected_version: int | None) -> dict[str, Any]:
    """A new secret; the old one signs beside it for `grace_seconds`."""
    secret = new_secret()
    until = datetime.now(timezone.utc) + timedelta(seconds=grace_seconds)

    def work(tx: ManagedTransaction) -> dict[str, Any]:
        locked(tx, "webhook_lock", "webhook", webhook_id, expected_version)
        db.run(tx, "webhook_rotate", id=webhook_id, secret=sealer.seal(secret), until=until)
        return {**db.run_one(tx, "webhook_get", id=webhook_id)["webhook"], "secret": secret}

    return graph.write(work)


def delete(graph: db.Graph, webhook_id: str, expected_version: int | None) -> None:
    """Deletes the endpoint (its lock and If-Match first), then its deliveries in batches."""
    def work(tx: ManagedTransaction) -> int:
        locked(tx, "webhook_lock", "webhook", webhook_id, expected_version)
        return db.run_one(tx, "webhook_delete", id=webhook_id, batch=DELETE_BATCH)["deliveries"]

    removed = graph.write(work)
    while removed == DELETE_BATCH:
        removed = graph.write(lambda tx: db.run_one(tx, "webhook_delete", id=webhook_id,
                                                    batch=DELETE_BATCH)["deliveries"])


def deliveries_page(graph: db.Graph, webhook_id: str, *, limit: int, after: list[str] | None) -> list[dict]:
    get(graph, webhook_id)
    rows = fetch_page(graph, "delivery_list", limit, after, webhook_id=webhook_id)
    return [{**row, "item": _attempts(row["item"])} for row in rows]


def delivery(graph: db.Graph, webhook_id: str, delivery_id: str) -> dict[str, Any]:
    row = graph.read(lambda tx: db.run_one(tx, "delivery_get", id=delivery_id, webhook_id=webhook_id))
    if row is None:
        raise not_found("delivery", delivery_id)
    return _attempts(row["delivery"])


def retry(graph: db.Graph, webhook_id: str, delivery_id: str) -> dict[str, Any]:
    """Sends a delivery again: the one under way at once, a past one as a replay (same webhook-id and body)."""
    def work(tx: ManagedTransaction) -> None:
        if db.run_one(tx, "delivery_retry", id=delivery_id, webhook_id=webhook_id) is None:
            raise not_found("delivery", delivery_id)

    state = get(graph, webhook_id)
    if not state["enabled"]:
        raise Problem(409, "the endpoint is disabled; enable it (PATCH enabled: true) and its deliveries resume",
                      slug="webhook-disabled")
    graph.write(work)
    return delivery(graph, webhook_id, delivery_id)


def _attempts(row: dict[str, Any]) -> dict[str, Any]:
    row = dict(row)
    row["attempts"] = row.pop("attempt_list")
    row["replay_requested"] = bool(row.pop("replay", None))
    return row
