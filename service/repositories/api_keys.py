"""API keys: created with a secret shown once, listed, rotated, revoked; stored as hashes. The API
workers' key caches are the HTTP edge's: its views forget them after a rotation or a revocation."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import datetime
from typing import Any

from schemas.keys import SCOPES
from service import db
from service.problems import Problem
from service.repositories import fetch_page, not_found

# A fixed UUID, so the seeded key can be listed and revoked like any other (until the next start).
BOOTSTRAP_KEY_ID = str(uuid.uuid5(uuid.NAMESPACE_URL, "netweave:bootstrap-admin-key"))
_KEY_PREFIX = "nw_"


def hash_key(secret: str) -> str:
    """What is stored of a key (or a check-in token): its SHA-256, never the secret."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def new_secret() -> str:
    """A fresh key: 256 random bits, prefixed so leaked keys are recognisable in scanners."""
    return _KEY_PREFIX + secrets.token_urlsafe(32)


def seed_admin(graph: db.Graph, secret: str | None) -> None:
    """Make NETWEAVE_ADMIN_KEY a valid key with every scope (replacing the previous seed). Run when a
    process first reaches the database, before any of its API workers has cached a key."""
    if not secret:
        return
    with graph.driver.session(database=graph.database) as session:
        session.execute_write(
            lambda tx: db.run(tx, "api_key_seed", id=BOOTSTRAP_KEY_ID, name="admin (NETWEAVE_ADMIN_KEY)",
                              hash=hash_key(secret), scopes=list(SCOPES))
        )


def create(graph: db.Graph, name: str, scopes: list[str], expires_at: datetime | None = None) -> dict[str, Any]:
    secret = new_secret()
    key_id = str(uuid.uuid4())
    scopes = [scope for scope in SCOPES if scope in set(scopes)]
    row = graph.write(lambda tx: db.run_one(tx, "api_key_create", id=key_id, name=name, scopes=scopes,
                                            hash=hash_key(secret), expires_at=expires_at))
    return {**row["key"], "secret": secret}


def rotate(graph: db.Graph, key_id: str, grace_seconds: int) -> dict[str, Any]:
    """A successor with the same name and scopes (its secret shown once); the old key expires after the grace.

    The start-up admin key is not rotated here: NETWEAVE_ADMIN_KEY makes it current again at every start,
    so a successor would silently live beside it. Rotate it by changing that setting.
    """
    if key_id == BOOTSTRAP_KEY_ID:
        raise Problem(409, "the start-up admin key comes from NETWEAVE_ADMIN_KEY and is made current at every "
                           "start: rotate it by changing that setting", slug="key-not-rotatable")
    secret = new_secret()
    row = graph.write(lambda tx: db.run_one(tx, "api_key_rotate", id=key_id, new_id=str(uuid.uuid4()),
                                            hash=hash_key(secret), grace_seconds=grace_seconds))
    if row is None:
        raise not_found("API key", key_id)
    if row["state"] != "live":
        why = {"revoked": "it is revoked", "expired": "it has expired",
               "rotated": "it was already rotated; rotate its successor instead"}[row["state"]]
        raise Problem(409, f"API key {key_id} cannot be rotated: {why}", slug="key-not-rotatable")
    return {**row["key"], "secret": secret, "previous": row["previous"]}


def list_page(graph: db.Graph, *, limit: int, after: list[str] | None) -> list[dict[str, Any]]:
    return fetch_page(graph, "api_key_list", limit, after)


def revoke(graph: db.Graph, key_id: str) -> None:
    revoked = graph.write(lambda tx: db.run_one(tx, "api_key_revoke", id=key_id))
    if revoked is None:
        raise not_found("API key", key_id)
