"""Opaque cursors for keyset pagination: where a page ended, bound to the query that made it.

A cursor is URL-safe base64 of `[sort key, task id, binding]`; the binding is a digest of the
filters, sort and order, so a cursor is refused with any other query. Cursors are not signed:
they can only narrow the caller's own tasks (ownership never comes from them), so a forged one
gains nothing that a query could not ask for.
"""

import base64
import binascii
import hashlib
import json
from datetime import datetime
from typing import Any, Literal

from todo_common.models import BIGINT_MAX, clean_text

MAX_CURSOR_LENGTH = 600
# What a sort key is in SQL: a timestamptz, text (titles), or a bigint (ids) or integer (priority
# ranks), whose range bounds what a cursor may hold.
KeyKind = Literal["instant", "text", "bigint", "integer"]
_INTEGER_LIMITS = {"bigint": BIGINT_MAX, "integer": 2**31 - 1}


class InvalidCursor(ValueError):
    """A cursor that is malformed, or that was made for another query (→ 400)."""


def binding(query: dict[str, Any]) -> str:
    """A short digest of the query's filters, sort and order (what a cursor is valid for)."""
    canonical = json.dumps(query, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def encode(key: Any, task_id: int, bound: str) -> str:
    plain = key.isoformat() if isinstance(key, datetime) else key
    payload = json.dumps([plain, task_id, bound], separators=(",", ":"))
    return base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")


def decode(cursor: str, bound: str, kind: KeyKind) -> tuple[Any, int]:
    """The sort key and task id a cursor holds; InvalidCursor unless it is well formed, of this
    sort's kind, and bound to this query."""
    try:
        payload = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise InvalidCursor("cursor is not one this API made") from None
    if not isinstance(payload, list) or len(payload) != 3:
        raise InvalidCursor("cursor is not one this API made")
    key, task_id, made_for = payload
    if made_for != bound:
        raise InvalidCursor("cursor belongs to a list with other filters, sort or order")
    if not _is_int(task_id) or not 1 <= task_id <= BIGINT_MAX:
        raise InvalidCursor("cursor is not one this API made")
    return _key(key, kind), task_id


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _key(key: object, kind: KeyKind) -> Any:
    if key is None:  # the page ended among tasks without a key (undated, no priority)
        return None
    try:
        if kind == "instant" and isinstance(key, str):
            instant = datetime.fromisoformat(key)
            if instant.tzinfo is not None:
                return instant
        elif kind == "text" and isinstance(key, str):
            return clean_text(key)
        elif kind in _INTEGER_LIMITS and _is_int(key) and abs(key) <= _INTEGER_LIMITS[kind]:  # type: ignore[arg-type]
            return key
    except ValueError:
        pass
    raise InvalidCursor("cursor is not one this API made")
