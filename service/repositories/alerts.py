"""Network alerts: appended in the transaction that finds them, numbered in commit order, read after a
position (the webhook deliveries) or newest first (the API); the thresholds that decide them; the baseline
each default report is compared with (service/analytics/alerting.py)."""

from __future__ import annotations

import dataclasses
import json
import uuid
from typing import Any

from neo4j import ManagedTransaction

from service import db
from service.analytics.alerting import Thresholds
from service.repositories import fetch_page, locked

# What an alert may say it is: the network alerts, and the webhook deliveries' own.
KINDS = ("cut_point.new", "broker.inactive", "silo", "health.changed", "survey.closed", "webhook.disabled")
DEFAULTS = dataclasses.asdict(Thresholds())


def emit(tx: ManagedTransaction, kind: str, data: dict, *, subject: str | None = None) -> int:
    """Appends an alert in `tx`; its seq. `data` is stored as JSON and must hold no personal data (ids and
    names are fine, emails are not)."""
    return db.run_one(tx, "alert_emit", id=str(uuid.uuid4()), kind=kind, subject=subject,
                      data=json.dumps(data, separators=(",", ":"), sort_keys=True))["seq"]


def after(tx: ManagedTransaction, after: int, limit: int) -> list[dict[str, Any]]:
    """The alerts numbered after `after`, at most `limit`, in seq order."""
    return [_decoded(row["alert"]) for row in db.run(tx, "alert_after", after=after, limit=limit)]


def revision(tx: ManagedTransaction) -> int:
    """The seq of the last alert (0 before any)."""
    return db.run_one(tx, "alert_revision")["revision"]


def list_page(graph: db.Graph, *, limit: int, after: list[str] | None, kind: str | None = None) -> list[dict]:
    """One page of alerts, newest first (rows with `item` and `sort_key`, one more than `limit`)."""
    rows = fetch_page(graph, "alert_list", limit, after, kind=kind)
    return [{**row, "item": _decoded(row["item"])} for row in rows]


def _decoded(alert: dict[str, Any]) -> dict[str, Any]:
    return {**alert, "data": json.loads(alert["data"])}


# --- thresholds ------------------------------------------------------------------------------------

def settings(graph: db.Graph) -> dict[str, Any]:
    """The thresholds with their version (0 and no updated_at until the first PUT)."""
    return graph.read(_settings)


def put_settings(graph: db.Graph, values: dict[str, Any], expected_version: int | None) -> dict[str, Any]:
    """Sets every threshold when If-Match names the current version (None: any)."""
    def work(tx: ManagedTransaction) -> dict[str, Any]:
        locked(tx, "alert_settings_lock", "alert settings", "alerts", expected_version)
        return db.run_one(tx, "alert_settings_put", values=values)["settings"]

    return graph.write(work)


def thresholds(tx: ManagedTransaction) -> Thresholds:
    stored = _settings(tx)
    return Thresholds(**{name: stored[name] for name in DEFAULTS})


def _settings(tx: ManagedTransaction) -> dict[str, Any]:
    row = db.run_one(tx, "alert_settings_get")
    stored = {name: value for name, value in (row["settings"] if row else {}).items() if value is not None}
    return {**DEFAULTS, "version": 0, "updated_at": None, **stored}


# --- the baseline of each default question ---------------------------------------------------------

def baseline(tx: ManagedTransaction, question: str) -> dict | None:
    """Locks the question's baseline until `tx` ends; the digest it holds (None before the first report)."""
    row = db.run_one(tx, "alert_baseline_lock", question=question)
    return None if row["digest"] is None else json.loads(row["digest"])


def keep_baseline(tx: ManagedTransaction, question: str, revision: int, digest: str) -> None:
    db.run(tx, "alert_baseline_put", question=question, revision=revision, digest=digest)
