"""Cursors of keyset pagination: opaque to clients (base64url of the JSON sort key), checked against the
shape of the list's sort key before any part reaches a statement. Used by the data layer (the change feed)
and the HTTP edge alike."""

from __future__ import annotations

import base64
import binascii
import datetime
import json
import re
from typing import Any, Sequence

from schemas.common import is_unicode_text
from service.problems import field_error


def encode_cursor(sort_key: Sequence[Any]) -> str:
    raw = json.dumps(list(sort_key), separators=(",", ":")).encode("utf-8")
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


# The shape of a sort key: what each part is. A cursor is checked against it before any part reaches a
# statement, so a part of the wrong kind (a name where `datetime()` expects a time, a lone surrogate the
# driver cannot encode, a number past Neo4j's 64 bits) is the client's 422, not the database's error.
BY_NAME = ("text", "text")                  # (name_key, id)
BY_CREATION = ("timestamp", "text")         # (created_at as Neo4j writes it, id)
BY_SEQ = ("seq",)                           # the change feed's position

_TIMESTAMP = re.compile(r"(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d)(?::(\d\d)(?:\.\d{1,9})?)?"
                        r"(?:Z|[+-](\d\d):(\d\d))", re.ASCII)
_SEQ = re.compile(r"[0-9]{1,18}")            # below 2**63 with room to add to it


def _cursor_text(part: Any) -> bool:
    return isinstance(part, str) and is_unicode_text(part)


def _cursor_timestamp(part: Any) -> bool:
    match = _TIMESTAMP.fullmatch(part) if isinstance(part, str) else None
    if match is None:
        return False
    year, month, day, hour, minute, second, offset_hours, offset_minutes = (int(g or 0) for g in match.groups())
    try:
        datetime.datetime(year, month, day, hour, minute, second)
    except ValueError:
        return False
    return offset_minutes < 60 and (offset_hours, offset_minutes) <= (18, 0)


def _cursor_seq(part: Any) -> bool:
    return isinstance(part, str) and _SEQ.fullmatch(part) is not None


_CURSOR_PARTS = {"text": _cursor_text, "timestamp": _cursor_timestamp, "seq": _cursor_seq}


def decode_cursor(cursor: str | None, shape: Sequence[str], field: str = "cursor") -> list[Any] | None:
    """The sort key a cursor stands for, or a 422 naming `field` when it is not one of ours of this `shape`."""
    if cursor is None:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        key = json.loads(raw)
    except (binascii.Error, ValueError, RecursionError):  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        key = None
    if not (isinstance(key, list) and len(key) == len(shape)
            and all(_CURSOR_PARTS[kind](part) for kind, part in zip(shape, key))):
        raise field_error(field, "not a cursor this list returned", location="query")
    return key
