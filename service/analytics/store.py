"""Analytics reports and background runs kept in Neo4j, so every API worker sees them.

Each gunicorn worker has its own engine and in-memory cache; without a shared record, a client polling
`GET /v1/analytics/runs/{id}` would get 404 from every worker but the one computing, and each worker would
recompute the same answer. The store keeps one report per set of arguments (the latest revision) and
every run's status. A failure to reach the store never fails an answer: the worker's own cache still works.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from collections import OrderedDict
from datetime import date, datetime, timedelta, timezone
from typing import Any

from service import db
from service.repositories import analytics_state

log = logging.getLogger(__name__)

# The reports this process read last, decoded: key -> (stored_at, report). Reports are never changed in
# place (a new one gets a new stored_at), and callers copy before they mark one (engine.marked).
_DECODED: OrderedDict[str, tuple[Any, dict]] = OrderedDict()
_DECODED_ENTRIES = 16
_DECODED_LOCK = threading.Lock()

# Dates and datetimes survive the JSON round trip (the response schemas dump them as the computing worker would).
_DATE, _DATETIME = "$date", "$datetime"


# The shape of the stored reports. Raise it when a report gains or loses a field: every key changes, so a
# report of the old shape is never served (fresh or stale) by the code that expects the new one.
# 2: cluster names in the clusters and layout reports.
# 3: cluster colours and the palette in the layout report; members packed anew (components in their own
#    shape, the members with no ties in one grid block).
# 4: `computed.ties` (how ties were derived: collaborations, and co-participation with include=activities).
REPORT_FORMAT = 4


def key_of(value: Any) -> str:
    """A stable text key for a tuple of arguments (dates, frozen dataclasses and numbers in it)."""
    return hashlib.sha256(repr((REPORT_FORMAT, value)).encode()).hexdigest()


def encode(report: dict) -> str:
    return json.dumps(report, default=_tag, separators=(",", ":"), sort_keys=True)


def decode(text: str) -> dict:
    return json.loads(text, object_hook=_untag)


def _tag(value: Any) -> Any:
    if isinstance(value, datetime):
        return {_DATETIME: value.isoformat()}
    if isinstance(value, date):
        return {_DATE: value.isoformat()}
    if hasattr(value, "to_native"):        # a neo4j temporal that escaped conversion
        return _tag(value.to_native())
    raise TypeError(f"cannot store a {type(value).__name__} in an analytics report")


def _untag(obj: dict) -> Any:
    if len(obj) == 1:
        if _DATETIME in obj:
            return datetime.fromisoformat(obj[_DATETIME])
        if _DATE in obj:
            return date.fromisoformat(obj[_DATE])
    return obj


class SharedStore:
    """Reports and runs in the database behind `graph`; `run_timeout` bounds how long a run that never
    finished (its worker died) still counts as running."""

    def __init__(self, graph: db.Graph, run_timeout: float):
        self.graph = graph
        self.run_timeout = run_timeout

    def report(self, key: str) -> tuple[int, dict, float] | None:
        """(revision, report, when it was stored as epoch seconds) for these arguments, or None. The last
        reports read are kept decoded in this process: a report read again (a page of a long list) costs
        one small read, not its whole body."""
        held = _DECODED.get(key)
        row = self._quietly(lambda: analytics_state.report(self.graph, key, held[0] if held else None))
        if row is None:
            return None
        stored_at = row["stored_at"]     # as the driver gives it (nanoseconds kept): the token sent back
        with _DECODED_LOCK:
            if row["body"] is None and held is not None:
                report = held[1]
                if key in _DECODED:
                    _DECODED.move_to_end(key)
            else:
                report = decode(row["body"])
                _DECODED[key] = (stored_at, report)
                while len(_DECODED) > _DECODED_ENTRIES:
                    _DECODED.popitem(last=False)
        return row["revision"], report, db.to_native(stored_at).timestamp()

    def save(self, key: str, kind: str, revision: int, report: dict, *, strict: bool = False) -> None:
        """Stores the report (unless one of a later revision is there); `strict` raises when it cannot."""
        body = encode(report)

        def put():
            return analytics_state.save_report(self.graph, key, kind, revision, body)

        put() if strict else self._quietly(put)

    def start(self, run_id: str, key: str, kind: str, started_at: datetime) -> None:
        self._quietly(lambda: analytics_state.start_run(self.graph, run_id, key, kind, started_at))

    def finish(self, run_id: str, status: str, finished_at: datetime, error: str | None) -> None:
        self._quietly(lambda: analytics_state.finish_run(self.graph, run_id, status, finished_at, error))

    def queued(self, run_id: str, key: str, kind: str) -> None:
        self._quietly(lambda: analytics_state.queue_run(self.graph, run_id, key, kind))

    def attempt(self, run_id: str, key: str, kind: str, worker: str) -> int:
        """Marks the run running on `worker`; the attempt's number (raises when the database fails: the
        worker's job then fails, and the queue's redelivery or the next ask tries again)."""
        return analytics_state.attempt_run(self.graph, run_id, key, kind, worker)

    def run(self, run_id: str) -> dict | None:
        return self._quietly(lambda: analytics_state.run(self.graph, run_id))

    def active(self, key: str) -> dict | None:
        """A run of another worker still computing these arguments at this revision, or None."""
        since = datetime.now(timezone.utc) - timedelta(seconds=self.run_timeout)
        return self._quietly(lambda: analytics_state.active_run(self.graph, key, since))

    @staticmethod
    def _quietly(work):
        try:
            return work()
        except Exception:   # the store is an optimization across workers; the answer must not depend on it
            log.warning("analytics store unavailable", exc_info=True)
            return None
