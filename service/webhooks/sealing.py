"""Secrets netweave must use again, not only check: a webhook endpoint's signing secret.

An API key is stored as its hash, since a key is only ever compared. A signing secret is used to sign
every delivery, so a hash will not do; it is stored encrypted (Fernet: AES-128-CBC with an HMAC-SHA256
tag, from the `cryptography` package) under a key derived from NETWEAVE_WEBHOOK_KEY. A copy of the
database alone then reveals no secret. Without that setting, the key is one the database keeps (made
once, like the bookmark key): secrets are still not stored in the clear, but a copy of the whole
database holds both, so deployments should set it (the README says so, and the worker logs it).
"""

from __future__ import annotations

import base64
import hashlib
import secrets as random_secrets

from cryptography.fernet import Fernet, InvalidToken

from service import db

_CONTEXT = b"netweave-webhook-secrets:"


class Sealer:
    def __init__(self, key: bytes):
        self._fernet = Fernet(base64.urlsafe_b64encode(hashlib.sha256(_CONTEXT + key).digest()))

    def seal(self, secret: str) -> str:
        return self._fernet.encrypt(secret.encode("utf-8")).decode("ascii")

    def open(self, sealed: str) -> str:
        try:
            return self._fernet.decrypt(sealed.encode("ascii")).decode("utf-8")
        except InvalidToken:
            raise ValueError("a webhook secret sealed under another key (was NETWEAVE_WEBHOOK_KEY changed?)") from None


def sealer(graph: db.Graph, configured: str | None) -> Sealer:
    """The deployment's sealer: NETWEAVE_WEBHOOK_KEY, else the database's own key."""
    if configured:
        return Sealer(configured.encode("utf-8"))
    with graph.driver.session(database=graph.database) as session:
        key = session.execute_write(lambda tx: db.run_one(
            tx, "webhook_sealing_key", candidate=random_secrets.token_urlsafe(32))["secret"])
    return Sealer(key.encode("ascii"))
