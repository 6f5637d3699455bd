"""Who a piece of work runs for: the API key behind a request, or a webhook endpoint a payload is shaped
for. The response schemas read it to hide personal data and external ids from callers without the
`pii` or `sync` scope. Context-local, and free of any web framework, so the analytics worker shapes
webhook payloads with the same schemas without building an app."""

from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Iterator


@dataclass(frozen=True)
class Caller:
    key_id: str
    name: str
    scopes: frozenset[str]

    def has(self, scope: str) -> bool:
        return scope in self.scopes


_current: ContextVar[Caller | None] = ContextVar("netweave_caller", default=None)


def current() -> Caller | None:
    return _current.get()


def become(caller: Caller | None) -> None:
    """This context now runs for `caller` (the HTTP edge, once a request's key is accepted; None between
    requests)."""
    _current.set(caller)


@contextmanager
def acting_as(caller: Caller) -> Iterator[None]:
    token = _current.set(caller)
    try:
        yield
    finally:
        _current.reset(token)


def sees_pii() -> bool:
    caller = _current.get()
    return caller is not None and caller.has("pii")


def sees_external_ids() -> bool:
    """External ids are a CRM's own keys, and a CRM may use emails as keys: keys that sync see them, and
    keys that may see personal data; read-only keys do not."""
    caller = _current.get()
    return caller is not None and (caller.has("sync") or caller.has("pii"))
