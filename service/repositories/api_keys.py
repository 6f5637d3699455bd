"""API keys: created with a secret shown once, listed, revoked."""

from __future__ import annotations

import uuid
from typing import Any

from service import auth, db
from service.repositories import fetch_page, not_found


def create(graph: db.Graph, name: str, scopes: list[str]) -> dict[str, Any]:
    secret = auth.new_secret()
    key_id = str(uuid.uuid4())
    scopes = [scope for scope in auth.SCOPES if scope in set(scopes)]
    row = graph.write(lambda tx: db.run_one(tx, "api_key_create", id=key_id, name=name, scopes=scopes,
                                            hash=auth.hash_key(secret)))
    return {**row["key"], "secret": secret}


def list_page(graph: db.Graph, *, limit: int, after: list[str] | None) -> list[dict[str, Any]]:
    return fetch_page(graph, "api_key_list", limit, after)


def revoke(graph: db.Graph, key_id: str) -> None:
    if graph.write(lambda tx: db.run_one(tx, "api_key_revoke", id=key_id)) is None:
        raise not_found("API key", key_id)
