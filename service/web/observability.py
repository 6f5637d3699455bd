"""Observability: JSON log lines (one per request), X-Request-ID, and Prometheus metrics at /metrics.

No personal data leaves in a log line: the request line logs the route template (never the path or
query string), the key's name (never its secret), and every line passes a scrubber that masks
anything shaped like an email address, whichever library wrote it. Metrics count every gunicorn
worker: gunicorn.conf.py sets PROMETHEUS_MULTIPROC_DIR before the workers start, and /metrics then
aggregates the files every worker writes there.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import os
import re
import sys
import time
import uuid
from datetime import datetime, timezone
from typing import Iterable

from flask import Blueprint, Flask, Response, current_app, g, has_request_context, request
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Histogram, generate_latest
from prometheus_client import REGISTRY, multiprocess

from service.problems import Problem
from service import callers
from service.metrics import SECONDS

log = logging.getLogger("netweave.request")

REQUEST_ID_HEADER = "X-Request-ID"
_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{8,128}")
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
_STANDARD_RECORD_FIELDS = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}

REQUEST_SECONDS = Histogram("netweave_http_request_duration_seconds", "Time to answer an HTTP request",
                            ["method", "route", "status"], buckets=SECONDS)


# --- logs -------------------------------------------------------------------------------------------

def scrub(text: str) -> str:
    """The text with anything shaped like an email address masked."""
    return _EMAIL.sub("<email>", text)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, the record's extra fields; scrubbed."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update({key: value for key, value in vars(record).items() if key not in _STANDARD_RECORD_FIELDS})
        if "request_id" not in entry and has_request_context():
            # Whatever logged it (the error handler's traceback, the driver, a library) inside a request: the
            # client's X-Request-ID then finds its line.
            entry["request_id"] = request_id()
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return scrub(json.dumps(entry, default=str))


def configure_logging(level: str) -> None:
    """Send every log record to stderr as a JSON line (once per process; other handlers are kept)."""
    root = logging.getLogger()
    root.setLevel(level.upper())
    if any(isinstance(handler.formatter, JsonFormatter) for handler in root.handlers):
        return  # gunicorn.conf.py set it up already, or an earlier app in this process did
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root.addHandler(handler)


# --- requests ---------------------------------------------------------------------------------------

def request_id() -> str:
    """The request's id: the caller's X-Request-ID when it is a plain token (8-128 of [A-Za-z0-9._:-])."""
    return g.get("request_id") or "-"


def _start_request() -> None:
    g.request_started = time.perf_counter()
    offered = request.headers.get(REQUEST_ID_HEADER, "")
    g.request_id = offered if _REQUEST_ID.fullmatch(offered) else uuid.uuid4().hex


# Metric labels come from a known set, so a client cannot grow /metrics with what it sends: a method
# outside this set counts as `other`, and every path no route matches as `<unmatched>`.
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


_CONVERTER = re.compile(r"<[^:<>]+:([^<>]+)>")


def _route() -> str:
    # The template (/v1/members/<member_id>), never the path: paths and query strings may carry data. A
    # converter's name (<member:member_id>) is how the route matches, not which route it is: left out.
    return _CONVERTER.sub(r"<\1>", request.url_rule.rule) if request.url_rule is not None else "<unmatched>"


def _method() -> str:
    return request.method if request.method in _METHODS else "other"


def _finish_request(response: Response) -> Response:
    response.headers[REQUEST_ID_HEADER] = request_id()
    started = g.get("request_started")
    if started is None:
        return response
    seconds = time.perf_counter() - started
    route = _route()
    REQUEST_SECONDS.labels(_method(), route, str(response.status_code)).observe(seconds)
    caller = callers.current()
    log.info("request", extra={
        "request_id": request_id(), "method": _method(), "route": route, "status": response.status_code,
        "duration_ms": round(seconds * 1000, 2), "key_id": caller.key_id if caller else None,
        "key_name": caller.name if caller else None,
    })
    return response


# --- metrics ----------------------------------------------------------------------------------------

metrics_blp = Blueprint("metrics", __name__)


def _allowed(address: str | None, networks: Iterable[ipaddress.IPv4Network | ipaddress.IPv6Network]) -> bool:
    try:
        ip = ipaddress.ip_address(address or "")
    except ValueError:
        return False
    return any(ip in network for network in networks)


@metrics_blp.get("/metrics")
def metrics():
    """Prometheus metrics of every worker; only for clients in NETWEAVE_METRICS_ALLOW (loopback by default)."""
    if not _allowed(request.remote_addr, current_app.config["NETWEAVE_METRICS_ALLOW"]):
        raise Problem(403, "metrics are served only to the networks in NETWEAVE_METRICS_ALLOW",
                      slug="metrics-forbidden")
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = REGISTRY
    # content_type, not mimetype: CONTENT_TYPE_LATEST already names its charset, and mimetype adds another.
    return Response(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)


def metrics_networks(value: str | Iterable[str]) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    """NETWEAVE_METRICS_ALLOW (comma-separated addresses or CIDR networks) as networks."""
    items = value.split(",") if isinstance(value, str) else list(value)
    return [ipaddress.ip_network(item.strip(), strict=False) for item in items if item.strip()]


def init_app(app: Flask) -> None:
    configure_logging(app.config["NETWEAVE_LOG_LEVEL"])
    app.before_request(_start_request)
    app.after_request(_finish_request)
    app.register_blueprint(metrics_blp)
