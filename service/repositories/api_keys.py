"""API keys: created with a secret shown once, listed, revoked."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from service import auth, db
from service.errors import Problem
from service.repositories import fetch_page, not_found


def create(graph: db.Graph, name: str, scopes: list[str], expires_at: datetime | None = None) -> dict[str, Any]:
    secret = auth.new_secret()
    key_id = str(uuid.uuid4())
    scopes = [scope for scope in auth.SCOPES if scope in set(scopes)]
    row = graph.write(lambda tx: db.run_one(tx, "api_key_create", id=key_id, name=name, scopes=scopes,
                                            hash=auth.hash_key(secret), expires_at=expires_at))
    return {**row["key"], "secret": secret}


def rotate(graph: db.Graph, key_id: str, grace_seconds: int) -> dict[str, Any]:
    """A successor with the same name and scopes (its secret shown once); the old key expires after the grace.

    The start-up admin key is not rotated here: NETWEAVE_ADMIN_KEY makes it current again at every start,
    so a successor would silently live beside it. Rotate it by changing that setting.
    """
    if key_id == auth.BOOTSTRAP_KEY_ID:
        raise Problem(409, "the start-up admin key comes from NETWEAVE_ADMIN_KEY and is made current at every "
                           "start: rotate it by changing that setting", slug="key-not-rotatable")
    secret = auth.new_secret()
    row = graph.write(lambda tx: db.run_one(tx, "api_key_rotate", id=key_id, new_id=str(uuid.uuid4()),
                                            hash=auth.hash_key(secret), grace_seconds=grace_seconds))
    auth.forget_cached_keys()
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
    auth.forget_cached_keys()
    if revoked is None:
        raise not_found("API key", key_id)
