"""Read-your-own-writes across requests: a write's response carries the driver's bookmarks in
`X-Neo4j-Bookmark`, and a request that sends them back starts its sessions after that write.

On a single server every read already sees every committed write; on a Neo4j cluster (or Aura)
a read transaction may go to a follower that has not applied the write yet, and the bookmark is
what makes it wait until it has. The header value is opaque to clients: base64url (no padding)
of a JSON list of the driver's bookmark strings, then "." and its seal, an HMAC-SHA256 of that text under
the server's bookmark key (NETWEAVE_BOOKMARK_KEY, else one the database keeps for every API process).

The seal is what keeps a client from making the database wait: a bookmark naming a transaction far in
the future would hold each request that sends it for the server's bookmark timeout, and a few of them
every worker's threads. A value this API did not hand out is refused (400) before any session uses it;
a genuine one a lagging cluster member has not reached within the server's
`db.transaction.bookmark_ready_timeout` (tools/neo4j-local and docker-compose.yml set 5 s) answers 503.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import secrets

import neo4j
from apispec import APISpec, BasePlugin
from flask import Flask, Response, current_app, request

from service import db
from service.web import get_graph
from service.problems import BOOKMARK_HEADER, field_error

HEADER = BOOKMARK_HEADER
# A bookmark names one transaction per database; a handful is already unusual, so anything
# longer than this is not something we handed out.
MAX_HEADER_CHARS = 4096
MAX_BOOKMARKS = 16
MAX_BOOKMARK_CHARS = 512

_BOOKMARK = re.compile(r"[A-Za-z]+:[A-Za-z0-9+/=_-]+")


def encode(bookmarks: neo4j.Bookmarks, key: bytes) -> str:
    """The header value for these bookmarks, sealed with `key` (ASCII, safe in any header)."""
    raw = json.dumps(sorted(bookmarks.raw_values), separators=(",", ":")).encode("ascii")
    payload = base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")
    return f"{payload}.{_seal(payload, key)}"


def _seal(payload: str, key: bytes) -> str:
    digest = hmac.new(key, b"netweave-bookmark:" + payload.encode("ascii"), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def decode(value: str, key: bytes) -> neo4j.Bookmarks:
    """The bookmarks in a header value; a 400 problem naming the header when it is not one we issued."""
    if len(value) > MAX_HEADER_CHARS:
        raise _invalid(f"longer than {MAX_HEADER_CHARS} characters")
    payload, dot, seal = value.rpartition(".")
    if not dot or not value.isascii() or not hmac.compare_digest(seal, _seal(payload, key)):
        raise _invalid("not a bookmark this API handed out (altered, or from another database); send back "
                       "the value of a write's response as it came, or none")
    try:
        text = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)).decode("ascii")
        values = json.loads(text)
    except (binascii.Error, ValueError, RecursionError):  # UnicodeDecodeError, JSONDecodeError are ValueErrors
        raise _invalid("not a bookmark returned by this API (base64url of a JSON list)") from None
    if not isinstance(values, list) or not values or len(values) > MAX_BOOKMARKS:
        raise _invalid(f"must hold a list of 1 to {MAX_BOOKMARKS} bookmarks")
    if not all(_plausible(item) for item in values):
        raise _invalid("holds something that is not a bookmark")
    return neo4j.Bookmarks.from_raw_values(values)


def _plausible(item: object) -> bool:
    # Neo4j 5 bookmarks are "FB:" and base64; the server answers a bare string with an internal error.
    return isinstance(item, str) and len(item) <= MAX_BOOKMARK_CHARS and _BOOKMARK.fullmatch(item) is not None


def _invalid(message: str):
    return field_error(HEADER, message, location="headers", status=400)


def read_header() -> None:
    """Take the client's bookmark for this request's sessions (400 when malformed).

    Called by `auth.requires` once the caller is authenticated, so a request without a valid key gets
    its 401 whatever else it sends, and the key lookup itself never waits on a client's bookmark.
    """
    value = request.headers.get(HEADER)
    if value is not None:
        marks = decode(value.strip(), key())
        _reached(marks)
        (db.current_unit() or db.begin_unit()).bookmarks = marks


def _reached(marks: neo4j.Bookmarks) -> None:
    """Waits once, in an explicit transaction (which the driver never retries), until the database has
    reached `marks`: at most the server's bookmark_ready_timeout, then its BookmarkTimeout answers 503.
    The request's own transactions, managed and retried by the driver, then start without waiting; left
    to them, each retry would wait the timeout again (four times over within NEO4J_RETRY_SECONDS)."""
    graph = get_graph()
    with graph.driver.session(database=graph.database, bookmarks=marks,
                              default_access_mode=neo4j.READ_ACCESS) as session:
        with session.begin_transaction() as tx:
            db.run(tx, "bookmark_reached")


def _begin() -> None:
    db.begin_unit()


def _send_header(response: Response) -> Response:
    unit = db.current_unit()
    if unit is not None and unit.wrote:
        response.headers[HEADER] = encode(unit.bookmarks, key())
    return response


def _end(_error: BaseException | None = None) -> None:
    db.end_unit()


_KEY = "netweave.bookmark_key"


def key() -> bytes:
    """The app's bookmark key: NETWEAVE_BOOKMARK_KEY, else the database's own (made once, the same for
    every API process on that database; a new or wiped database makes a new one, so its bookmarks are
    refused by the other). Read once per process, in a session that starts after no bookmark."""
    found = current_app.extensions.get(_KEY)
    if found is None:
        configured = current_app.config.get("NETWEAVE_BOOKMARK_KEY")
        if configured:
            found = configured.encode("utf-8")
        else:
            graph = get_graph()
            graph.ensure_bootstrapped()
            with graph.driver.session(database=graph.database) as session:
                found = session.execute_write(lambda tx: db.run_one(
                    tx, "bookmark_key", candidate=secrets.token_urlsafe(32))["secret"]).encode("ascii")
        current_app.extensions[_KEY] = found
    return found


def init_app(app: Flask) -> None:
    """Each request is a unit of work of the data layer (service/db.py): it starts after no bookmark
    until the client sends one, and its writes' bookmarks go back in the response's header."""
    app.before_request(_begin)
    app.after_request(_send_header)
    app.teardown_request(_end)


class BookmarkDocs(BasePlugin):
    """Documents the header on every /v1/ operation: accepted on all, returned by the writes."""

    WRITES = frozenset({"post", "put", "patch", "delete"})

    def init_spec(self, spec: APISpec) -> None:
        description = ("Bookmark from a previous write's response: this request's reads start after that "
                       "write (read-your-own-writes on a Neo4j cluster). Opaque; 400 when malformed.")
        spec.components.parameter("Neo4jBookmark", "header", {
            "name": HEADER, "required": False, "schema": {"type": "string", "maxLength": MAX_HEADER_CHARS},
            "description": description,
        })
        spec.components.header("Neo4jBookmark", {
            "schema": {"type": "string"},
            "description": f"Send it back as {HEADER} so a later read sees this write.",
        })

    def operation_helper(self, path: str | None = None, operations: dict | None = None, **kwargs) -> None:
        if not path or not path.startswith("/v1/"):
            return
        for method, operation in (operations or {}).items():
            operation.setdefault("parameters", []).append("Neo4jBookmark")
            if method not in self.WRITES:
                continue
            for code, response in operation.get("responses", {}).items():
                if str(code).startswith("2") and isinstance(response, dict):
                    response.setdefault("headers", {})[HEADER] = "Neo4jBookmark"
