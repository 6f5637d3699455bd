"""Configuration: defaults, then the environment, then a mapping given to create_app."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Mapping

from service.webhooks import outbound


@dataclass(frozen=True)
class Setting:
    """One setting: its default, the type its environment variable is parsed to, and for numbers the
    bounds a value is clamped to (the analytics engine's; None: unbounded)."""

    default: Any
    kind: type
    low: float | None = None
    high: float | None = None


# Every setting, declared once: read from the environment at start-up (parsed to its kind), then from the
# mapping given to create_app. The analytics engine's settings (service/analytics/engine.py) are here too.
SETTINGS: dict[str, Setting] = {
    "NEO4J_URI": Setting("bolt://127.0.0.1:7687", str),
    "NEO4J_USER": Setting(None, str),
    "NEO4J_PASSWORD": Setting(None, str),
    "NEO4J_DATABASE": Setting("neo4j", str),
    # How long the driver keeps retrying a transaction (and waits for a connection)
    # before the request answers 503: short, so no worker hangs on a dead database.
    "NEO4J_RETRY_SECONDS": Setting(5.0, float),
    "NEO4J_CONNECT_TIMEOUT": Setting(3.0, float),
    "NETWEAVE_ADMIN_KEY": Setting(None, str),
    "NETWEAVE_RETRY_AFTER_SECONDS": Setting(5, int),
    "NETWEAVE_MAX_BODY_BYTES": Setting(1_048_576, int),
    "NETWEAVE_IDEMPOTENCY_TTL_SECONDS": Setting(86_400, int),
    # An Idempotency-Key claim's lease, renewed while its request runs (service/web/idempotency.py).
    "NETWEAVE_IDEMPOTENCY_LEASE_SECONDS": Setting(10, int),
    "NETWEAVE_CHANGE_RETENTION_DAYS": Setting(30, int),
    # The largest activity whose participants count as tied (analytics with include=activities, the shared
    # activities of recommendations); an activity_size_cap query parameter overrides it per request.
    "NETWEAVE_ACTIVITY_SIZE_CAP": Setting(50, int),
    "NETWEAVE_RECOMMENDATION_WEIGHTS": Setting(None, str),  # a mapping strategy -> feature -> weight; None: the defaults
    # Member recommendation answers each API process keeps for the revision they were computed at (0: none).
    "NETWEAVE_RECOMMENDATION_CACHE_ENTRIES": Setting(5000, int, 0, 1_000_000),
    # With a job queue, answers also kept in its Redis for every API process, at most this many (0: none).
    "NETWEAVE_RECOMMENDATION_SHARED_ENTRIES": Setting(20000, int, 0, 1_000_000),
    # After writes settle and the default reports are stored, the worker recomputes this many of the newest
    # shared answers the graph has moved past, so the answers computed most recently are ready again (0: none).
    "NETWEAVE_RECOMMENDATION_REFRESH": Setting(500, int, 0, 100_000),
    # Longest a Cypher transaction may run before Neo4j stops it and the request answers 503: below
    # gunicorn's worker timeout, so a slow query never gets a worker killed.
    "NETWEAVE_QUERY_TIMEOUT_SECONDS": Setting(30.0, float),
    "NETWEAVE_RATE_LIMITS": Setting(None, str),  # a mapping family -> limit ("600/minute"); None: service.web.limits' defaults
    "REDIS_URL": Setting(None, str),  # rate-limit counts shared by every worker; process memory when unset
    # The analytics job queue (a Redis URL; service/analytics/queue.py): analytics run in `netweave worker`.
    # Unset: each web worker computes them on a background thread of its own (one process, development).
    "NETWEAVE_QUEUE_URL": Setting(None, str),
    "NETWEAVE_CORS_ORIGINS": Setting(None, str),  # comma-separated origins allowed to call from a browser; none by default
    "NETWEAVE_METRICS_ALLOW": Setting("127.0.0.1,::1", str),  # networks /metrics answers to
    "NETWEAVE_KEY_ROTATION_GRACE_SECONDS": Setting(86_400, int),  # how long a rotated key keeps working by default
    # How long a worker trusts an API key it looked up (0: look it up on every request). A revocation
    # through another worker takes effect within this time; through the same worker at once.
    "NETWEAVE_KEY_CACHE_SECONDS": Setting(5.0, float),
    "NETWEAVE_LOG_LEVEL": Setting("INFO", str),
    # How a member written without a known external id finds its person: "email" (one person, one member)
    # or "none" (always a new member); a sync request may choose for itself with `match_on`.
    "NETWEAVE_MEMBER_MATCH_ON": Setting("email", str),
    # The key sealing X-Neo4j-Bookmark values (32+ characters, the same for every API process); unset: a key
    # the database keeps (service/web/bookmarks.py).
    "NETWEAVE_BOOKMARK_KEY": Setting(None, str),
    # --- the analytics engine and worker (service/analytics/engine.py reads these, clamped to the bounds)
    "NETWEAVE_ANALYTICS_EXACT_BETWEENNESS_MAX": Setting(2000, int, 3, 50_000),
    # Above the exact limit, betweenness comes from sampled sources: as many as BUDGET tie visits pay for
    # (one search per source visits every tie), at least SAMPLES; each score's bound holds with probability
    # 1 - DELTA. Up to KADABRA_MAX vertices (0: never) KADABRA estimates instead, within EPSILON
    # (service/analytics/bridges.py says why sources are the default).
    "NETWEAVE_ANALYTICS_BETWEENNESS_BUDGET": Setting(64_000_000, int, 1, 10_000_000_000),
    "NETWEAVE_ANALYTICS_BETWEENNESS_SAMPLES": Setting(64, int, 16, 4096),
    "NETWEAVE_ANALYTICS_KADABRA_MAX": Setting(0, int, 0, 1_000_000),
    "NETWEAVE_ANALYTICS_BETWEENNESS_EPSILON": Setting(0.01, float, 0.001, 0.1),
    "NETWEAVE_ANALYTICS_BETWEENNESS_DELTA": Setting(0.1, float, 0.001, 0.5),
    "NETWEAVE_ANALYTICS_PATH_SAMPLES": Setting(200, int, 16, 5000),
    "NETWEAVE_ANALYTICS_SEED": Setting(42, int, 0, 2**31 - 1),
    "NETWEAVE_ANALYTICS_SYNC_SECONDS": Setting(25.0, float, 0.0, 50.0),
    # With a queue, how long the request that enqueued a job, when it has an earlier report to serve (marked
    # stale), waits for the fresh one (service/analytics/asking.py).
    "NETWEAVE_ANALYTICS_QUEUE_WAIT_SECONDS": Setting(0.5, float, 0.0, 50.0),
    "NETWEAVE_ANALYTICS_CACHE_ENTRIES": Setting(64, int, 4, 1024),
    "NETWEAVE_ANALYTICS_PROJECTION_ENTRIES": Setting(2, int, 1, 16),
    # 1: a projection is patched from the previous one by the change feed (service/analytics/live.py); 0: read whole.
    "NETWEAVE_ANALYTICS_LIVE_PROJECTION": Setting(1, int, 0, 1),
    # A patched projection replaces the scope's snapshot on disk when the file is this many seconds old
    # (service/analytics/snapshots.py); one read whole always does.
    "NETWEAVE_ANALYTICS_SNAPSHOT_SECONDS": Setting(300.0, float, 0.0, 86_400.0),
    # Where projections are kept on disk for fresh workers ("off": nowhere); None: snapshots.default_directory().
    "NETWEAVE_ANALYTICS_SNAPSHOT_DIR": Setting(None, str),
    "NETWEAVE_ANALYTICS_RUN_TIMEOUT": Setting(3600.0, float, 60.0, 86_400.0),
    # An answer computed less than this many seconds ago is served, marked stale, instead of recomputing for
    # a newer revision: under a steady stream of writes every call would otherwise recompute (0: always do).
    "NETWEAVE_ANALYTICS_MIN_INTERVAL": Setting(15.0, float, 0.0, 3600.0),
    # Above this many members the explorer and the pictures draw one bubble per cluster.
    "NETWEAVE_LAYOUT_MAX_MEMBERS": Setting(5000, int, 10, 20_000),
    # Segments (GET /v1/analytics/segments) smaller than this are pooled into "other": the default of the
    # request's min_size and the lowest it may ask for, so a report cannot single out a handful of people.
    "NETWEAVE_SEGMENT_MIN_SIZE": Setting(5, int, 1, 1000),
    # The job queue (service/analytics/queue.py): a worker silent this long is taken for dead, and its
    # unfinished jobs go back on the queue when maintenance runs, which each queue command starts with this
    # chance in a million.
    "NETWEAVE_QUEUE_HEARTBEAT_SECONDS": Setting(30.0, float, 1.0, 3600.0),
    "NETWEAVE_QUEUE_MAINTENANCE_CHANCE": Setting(20_000, int, 1, 1_000_000),
    # `netweave worker` recomputes the default reports once the graph has had no write for this long, or at
    # the latest this long after the first write it has not seen yet (service/analytics/worker.py).
    "NETWEAVE_WORKER_DEBOUNCE_SECONDS": Setting(5.0, float, 0.0, 3600.0),
    "NETWEAVE_WORKER_MAX_DELAY_SECONDS": Setting(60.0, float, 0.0, 86_400.0),
    # Exports of the whole graph (GET /v1/export, service/exports/relay.py). With a queue and 1, `netweave
    # worker` writes them and the web tier relays the bytes; 0: the web tier writes them itself.
    "NETWEAVE_EXPORTS_IN_WORKER": Setting(1, int, 0, 1),
    # How long an export request waits for a worker to start writing before it answers 503, and how long
    # either side waits on the other mid-export (no chunk coming, none read) before it gives up.
    "NETWEAVE_EXPORT_START_SECONDS": Setting(30.0, float, 1.0, 600.0),
    "NETWEAVE_EXPORT_STALL_SECONDS": Setting(120.0, float, 5.0, 600.0),
    # Exports one `netweave worker` writes at once, on threads of their own beside the analytics job.
    "NETWEAVE_WORKER_EXPORT_THREADS": Setting(2, int, 1, 32),
    # The nice value (CPU priority, 19 the lowest) of those threads: the lowest by default, so that an export,
    # a bulk download, runs on what requests and analytics leave over (bench/export_load.py).
    "NETWEAVE_WORKER_EXPORT_NICE": Setting(19, int, 0, 19),
    # Without a queue: 1, a recommendation request that finds no ranking model, or one the network has
    # outgrown (service/recommending/ranking.py: due), starts its training on the app's analytics thread; 0, only
    # GET /v1/analytics/ranking trains. With a queue, `netweave worker` trains after writes either way.
    "NETWEAVE_RANKING_AUTO_TRAIN": Setting(1, int, 0, 1),
    # --- webhooks (service/webhooks/delivery.py, service/webhooks/outbound.py)
    # The key webhook signing secrets are sealed under (32+ characters); unset: a key the database keeps.
    "NETWEAVE_WEBHOOK_KEY": Setting(None, str),
    # Addresses or networks (comma-separated) webhooks may call although private or loopback; they may use http.
    "NETWEAVE_WEBHOOK_ALLOW_PRIVATE": Setting(None, str),
    "NETWEAVE_WEBHOOK_TIMEOUT_SECONDS": Setting(10.0, float, 0.5, 60.0),  # one call, connect to last byte
    "NETWEAVE_WEBHOOK_MAX_RESPONSE_BYTES": Setting(65_536, int, 0, 1_048_576),
    "NETWEAVE_WEBHOOK_BATCH_EVENTS": Setting(100, int, 1, 1000),  # events in one delivery at most
    "NETWEAVE_WEBHOOK_BATCH_BYTES": Setting(262_144, int, 4096, 4_194_304),
    # A refused delivery waits this long, doubling per failure up to the maximum (with jitter); an endpoint
    # that kept refusing for GIVE_UP seconds is disabled.
    "NETWEAVE_WEBHOOK_BACKOFF_SECONDS": Setting(5.0, float, 0.01, 3600.0),
    "NETWEAVE_WEBHOOK_BACKOFF_MAX_SECONDS": Setting(3600.0, float, 0.01, 86_400.0),
    "NETWEAVE_WEBHOOK_GIVE_UP_SECONDS": Setting(86_400.0, float, 1.0, 30 * 86_400.0),
    "NETWEAVE_WEBHOOK_ROTATION_GRACE_SECONDS": Setting(86_400, int, 0, 30 * 86_400),
    "NETWEAVE_WEBHOOK_DELIVERY_RETENTION_DAYS": Setting(7, int, 1, 365),
    # How often `netweave worker` looks for endpoints with something to send.
    "NETWEAVE_WEBHOOK_POLL_SECONDS": Setting(0.5, float, 0.05, 60.0),
}

DEFAULTS: dict[str, Any] = {name: setting.default for name, setting in SETTINGS.items()}


def bounded(config: Mapping[str, Any], name: str) -> Any:
    """A numeric setting's value from `config` (else its default), clamped to its bounds."""
    setting = SETTINGS[name]
    value = setting.kind(config.get(name, setting.default))
    if setting.low is not None:
        value = max(value, setting.kind(setting.low))
    if setting.high is not None:
        value = min(value, setting.kind(setting.high))
    return value

ADMIN_KEY_MIN_LENGTH = 16


class ConfigError(ValueError):
    """A setting has a value the service cannot run with."""


def load(overrides: Mapping[str, Any] | None = None, environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Layer defaults, the environment and `overrides`, then check the result."""
    environ = os.environ if environ is None else environ
    config = dict(DEFAULTS)
    for name, setting in SETTINGS.items():
        if environ.get(name):
            try:
                config[name] = setting.kind(environ[name])
            except ValueError as exc:
                raise ConfigError(f"{name}: {exc}") from None
    config.update(overrides or {})
    config["NETWEAVE_RECOMMENDATION_WEIGHTS"] = _weights(config["NETWEAVE_RECOMMENDATION_WEIGHTS"])
    _hardening(config)
    _check(config)
    return config


def _weights(overrides: Mapping[str, Mapping[str, float]] | str | None) -> dict[str, dict[str, float]]:
    """The default recommendation weights with the given ones (a mapping, or JSON from the environment) on top."""
    import json

    from service.recommending.recommendations import DEFAULT_WEIGHTS

    if isinstance(overrides, str):
        try:
            overrides = json.loads(overrides)
        except ValueError as exc:
            raise ConfigError(f"NETWEAVE_RECOMMENDATION_WEIGHTS: not JSON: {exc}") from None
    weights = {strategy: dict(values) for strategy, values in DEFAULT_WEIGHTS.items()}
    for strategy, values in (overrides or {}).items():
        if strategy not in weights or not isinstance(values, Mapping):
            raise ConfigError(f"NETWEAVE_RECOMMENDATION_WEIGHTS: unknown strategy {strategy!r}")
        for feature, weight in values.items():
            if feature not in weights[strategy] or not isinstance(weight, (int, float)):
                raise ConfigError(f"NETWEAVE_RECOMMENDATION_WEIGHTS: {strategy}.{feature} must be a known "
                                  "feature with a number")
            weights[strategy][feature] = float(weight)
    return weights


def _hardening(config: dict[str, Any]) -> None:
    """Parse the settings of service.web.limits, .security and .observability in place."""
    from service.web import limits, observability, security

    try:
        config["NETWEAVE_RATE_LIMITS"] = limits.rate_limits(config["NETWEAVE_RATE_LIMITS"])
        config["NETWEAVE_CORS_ORIGINS"] = security.origins(config["NETWEAVE_CORS_ORIGINS"])
        config["NETWEAVE_METRICS_ALLOW"] = observability.metrics_networks(config["NETWEAVE_METRICS_ALLOW"])
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    if config["NETWEAVE_KEY_CACHE_SECONDS"] < 0:
        raise ConfigError("NETWEAVE_KEY_CACHE_SECONDS must be zero (no cache) or positive")
    # Any case, as gunicorn takes it ("info"); logging itself wants upper case, so a worker given "warning"
    # would die at start.
    config["NETWEAVE_LOG_LEVEL"] = str(config["NETWEAVE_LOG_LEVEL"]).upper()
    if config["NETWEAVE_LOG_LEVEL"] not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
        raise ConfigError("NETWEAVE_LOG_LEVEL must be one of debug, info, warning, error, critical")
    if config["NETWEAVE_MEMBER_MATCH_ON"] not in ("email", "none"):
        raise ConfigError("NETWEAVE_MEMBER_MATCH_ON must be email or none")
    if config["NETWEAVE_BOOKMARK_KEY"] is not None and len(config["NETWEAVE_BOOKMARK_KEY"]) < 32:
        raise ConfigError("NETWEAVE_BOOKMARK_KEY must have at least 32 characters")
    if config["NETWEAVE_WEBHOOK_KEY"] is not None and len(config["NETWEAVE_WEBHOOK_KEY"]) < 32:
        raise ConfigError("NETWEAVE_WEBHOOK_KEY must have at least 32 characters")
    try:
        outbound.allow_list(config["NETWEAVE_WEBHOOK_ALLOW_PRIVATE"])
    except ValueError as error:
        raise ConfigError(f"NETWEAVE_WEBHOOK_ALLOW_PRIVATE: {error}") from None
    if not 2 <= config["NETWEAVE_ACTIVITY_SIZE_CAP"] <= 10_000:
        raise ConfigError("NETWEAVE_ACTIVITY_SIZE_CAP must be 2-10000 participants")
    if config["NETWEAVE_QUERY_TIMEOUT_SECONDS"] <= 0:
        raise ConfigError("NETWEAVE_QUERY_TIMEOUT_SECONDS must be positive")


def _check(config: Mapping[str, Any]) -> None:
    admin_key = config.get("NETWEAVE_ADMIN_KEY")
    if admin_key is not None and len(admin_key) < ADMIN_KEY_MIN_LENGTH:
        raise ConfigError(f"NETWEAVE_ADMIN_KEY must have at least {ADMIN_KEY_MIN_LENGTH} characters")
    if bool(config.get("NEO4J_USER")) != bool(config.get("NEO4J_PASSWORD")):
        raise ConfigError("NEO4J_USER and NEO4J_PASSWORD go together: set both or neither")
