"""Configuration: defaults, then the environment, then a mapping given to create_app."""

from __future__ import annotations

import os
from typing import Any, Mapping

DEFAULTS: dict[str, Any] = {
    "NEO4J_URI": "bolt://127.0.0.1:7687",
    "NEO4J_USER": None,
    "NEO4J_PASSWORD": None,
    "NEO4J_DATABASE": "neo4j",
    # How long the driver keeps retrying a transaction (and waits for a connection)
    # before the request answers 503: short, so no worker hangs on a dead database.
    "NEO4J_RETRY_SECONDS": 5.0,
    "NEO4J_CONNECT_TIMEOUT": 3.0,
    "NETWEAVE_ADMIN_KEY": None,
    "NETWEAVE_RETRY_AFTER_SECONDS": 5,
    "NETWEAVE_MAX_BODY_BYTES": 1_048_576,
    "NETWEAVE_IDEMPOTENCY_TTL_SECONDS": 86_400,
    # How long a claimed key counts as "still running" before a retry may take it over.
    "NETWEAVE_IDEMPOTENCY_LEASE_SECONDS": 10,
    "NETWEAVE_CHANGE_RETENTION_DAYS": 30,
    "NETWEAVE_RECOMMENDATION_WEIGHTS": None,  # a mapping strategy -> feature -> weight; None: the defaults
    # Longest a Cypher transaction may run before Neo4j stops it and the request answers 503: below
    # gunicorn's worker timeout, so a slow query never gets a worker killed.
    "NETWEAVE_QUERY_TIMEOUT_SECONDS": 30.0,
    "NETWEAVE_RATE_LIMITS": None,  # a mapping family -> limit ("600/minute"); None: service.limits' defaults
    "REDIS_URL": None,  # rate-limit counts shared by every worker; process memory when unset
    # The analytics job queue (a Redis URL; service/analytics/queue.py): analytics run in `netweave worker`.
    # Unset: each web worker computes them on a background thread of its own (one process, development).
    "NETWEAVE_QUEUE_URL": None,
    "NETWEAVE_CORS_ORIGINS": None,  # comma-separated origins allowed to call from a browser; none by default
    "NETWEAVE_METRICS_ALLOW": "127.0.0.1,::1",  # networks /metrics answers to
    "NETWEAVE_KEY_ROTATION_GRACE_SECONDS": 86_400,  # how long a rotated key keeps working by default
    # How long a worker trusts an API key it looked up (0: look it up on every request). A revocation
    # through another worker takes effect within this time; through the same worker at once.
    "NETWEAVE_KEY_CACHE_SECONDS": 5.0,
    "NETWEAVE_LOG_LEVEL": "INFO",
    # How a member written without a known external id finds its person: "email" (one person, one member)
    # or "none" (always a new member); a sync request may choose for itself with `match_on`.
    "NETWEAVE_MEMBER_MATCH_ON": "email",
    # The key sealing X-Neo4j-Bookmark values (32+ characters, the same for every API process); unset: a key
    # the database keeps (service/bookmarks.py).
    "NETWEAVE_BOOKMARK_KEY": None,
}

# Environment variables read at start-up, with the type each is parsed to.
_ENVIRONMENT: dict[str, type] = {
    "NEO4J_URI": str,
    "NEO4J_USER": str,
    "NEO4J_PASSWORD": str,
    "NEO4J_DATABASE": str,
    "NEO4J_RETRY_SECONDS": float,
    "NEO4J_CONNECT_TIMEOUT": float,
    "NETWEAVE_ADMIN_KEY": str,
    "NETWEAVE_RETRY_AFTER_SECONDS": int,
    "NETWEAVE_MAX_BODY_BYTES": int,
    "NETWEAVE_IDEMPOTENCY_TTL_SECONDS": int,
    "NETWEAVE_IDEMPOTENCY_LEASE_SECONDS": int,
    "NETWEAVE_CHANGE_RETENTION_DAYS": int,
    "NETWEAVE_RECOMMENDATION_WEIGHTS": str,
    "NETWEAVE_QUERY_TIMEOUT_SECONDS": float,
    "NETWEAVE_RATE_LIMITS": str,
    "REDIS_URL": str,
    "NETWEAVE_QUEUE_URL": str,
    "NETWEAVE_CORS_ORIGINS": str,
    "NETWEAVE_METRICS_ALLOW": str,
    "NETWEAVE_KEY_ROTATION_GRACE_SECONDS": int,
    "NETWEAVE_KEY_CACHE_SECONDS": float,
    "NETWEAVE_LOG_LEVEL": str,
    "NETWEAVE_MEMBER_MATCH_ON": str,
    "NETWEAVE_BOOKMARK_KEY": str,
}

ADMIN_KEY_MIN_LENGTH = 16


class ConfigError(ValueError):
    """A setting has a value the service cannot run with."""


def load(overrides: Mapping[str, Any] | None = None, environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Layer defaults, the environment and `overrides`, then check the result."""
    environ = os.environ if environ is None else environ
    config = dict(DEFAULTS)
    for name, kind in _ENVIRONMENT.items():
        if environ.get(name):
            try:
                config[name] = kind(environ[name])
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

    from service.recommendations import DEFAULT_WEIGHTS

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
    """Parse the settings of service.limits, .security and .observability in place."""
    from service import limits, observability, security

    try:
        config["NETWEAVE_RATE_LIMITS"] = limits.rate_limits(config["NETWEAVE_RATE_LIMITS"])
        config["NETWEAVE_CORS_ORIGINS"] = security.origins(config["NETWEAVE_CORS_ORIGINS"])
        config["NETWEAVE_METRICS_ALLOW"] = observability.metrics_networks(config["NETWEAVE_METRICS_ALLOW"])
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    if config["NETWEAVE_KEY_CACHE_SECONDS"] < 0:
        raise ConfigError("NETWEAVE_KEY_CACHE_SECONDS must be zero (no cache) or positive")
    if config["NETWEAVE_MEMBER_MATCH_ON"] not in ("email", "none"):
        raise ConfigError("NETWEAVE_MEMBER_MATCH_ON must be email or none")
    if config["NETWEAVE_BOOKMARK_KEY"] is not None and len(config["NETWEAVE_BOOKMARK_KEY"]) < 32:
        raise ConfigError("NETWEAVE_BOOKMARK_KEY must have at least 32 characters")
    if config["NETWEAVE_QUERY_TIMEOUT_SECONDS"] <= 0:
        raise ConfigError("NETWEAVE_QUERY_TIMEOUT_SECONDS must be positive")


def _check(config: Mapping[str, Any]) -> None:
    admin_key = config.get("NETWEAVE_ADMIN_KEY")
    if admin_key is not None and len(admin_key) < ADMIN_KEY_MIN_LENGTH:
        raise ConfigError(f"NETWEAVE_ADMIN_KEY must have at least {ADMIN_KEY_MIN_LENGTH} characters")
    if bool(config.get("NEO4J_USER")) != bool(config.get("NEO4J_PASSWORD")):
        raise ConfigError("NEO4J_USER and NEO4J_PASSWORD go together: set both or neither")
