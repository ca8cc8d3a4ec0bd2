"""Idempotency keys for the POSTs that create something (the IETF httpapi draft, Stripe's semantics).

- A retry with the same `Idempotency-Key` and the same request gets the first response again, with
  `Idempotent-Replayed: true`; nothing is created twice, however many retries race.
- The same key with a different request → 422; while the first request still runs → 409.
- Keys belong to one user and live 24 hours. Requests that record a key also delete a few expired
  ones (any user's, oldest first, on the expiry index), so no scheduler is needed.

Powertools' idempotency utility is not used: its persistence layer writes an in-progress record and
then the result, two round trips beside the work itself, where task creation records its key in the
very statement that inserts the task.
"""

import hashlib
import json
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, Any

from fastapi import Header, HTTPException, status
from sqlalchemy import ColumnElement, Delete, and_, delete, func, not_, or_, select, tuple_, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlmodel import Session, col

from todo_common.models import IdempotencyKey

KEY_LIFETIME = timedelta(hours=24)
# A request still running after this long has died with its Lambda (the longest runs 29 s): a retry takes over.
LEASE = timedelta(seconds=60)
REPLAYED_HEADER = "Idempotent-Replayed"
PURGE_BATCH = 10  # expired keys deleted by each request that records one
# Printable ASCII, no space at either end.
KEY_PATTERN = r"^[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?$"

IdempotencyKeyHeader = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        max_length=255,
        pattern=KEY_PATTERN,
        description="Send the same key when retrying: the request takes effect once, and a retry gets the first "
        "response (`Idempotent-Replayed: true`). Up to 255 printable characters, kept 24 hours.",
    ),
]


@dataclass(frozen=True)
class KeyedRequest:
    """A request that carries an idempotency key, and what identifies the request itself."""

    key: str
    fingerprint: str


def keyed(key: str | None, route: str, body: Any) -> KeyedRequest | None:
    """The keyed request, or None without a key. `body` is the request as validated, so that two
    encodings of the same request (key order, spacing) are the same request."""
    if key is None:
        return None
    canonical = json.dumps([route, body], sort_keys=True, separators=(",", ":"), default=str)
    return KeyedRequest(key, hashlib.sha256(canonical.encode()).hexdigest())


def is_key(user_id: str, request: KeyedRequest) -> ColumnElement[bool]:
    return and_(col(IdempotencyKey.user_id) == user_id, col(IdempotencyKey.key) == request.key)


def live(user_id: str, request: KeyedRequest) -> ColumnElement[bool]:
    return and_(is_key(user_id, request), col(IdempotencyKey.expires_at) > func.now())


def expiry() -> ColumnElement[Any]:
    return func.now() + KEY_LIFETIME


def purge_expired(user_id: str, request: KeyedRequest) -> Delete:
    """Delete a few expired keys, never this request's own (a statement that records it would race)."""
    stale = (
        select(col(IdempotencyKey.user_id), col(IdempotencyKey.key))
        .where(col(IdempotencyKey.expires_at) <= func.now(), not_(is_key(user_id, request)))
        .order_by(col(IdempotencyKey.expires_at))
        .limit(PURGE_BATCH)
        .with_for_update(skip_locked=True)
    )
    return delete(IdempotencyKey).where(tuple_(col(IdempotencyKey.user_id), col(IdempotencyKey.key)).in_(stale))


def delete_if_expired(user_id: str, request: KeyedRequest) -> Delete:
    return delete(IdempotencyKey).where(is_key(user_id, request), col(IdempotencyKey.expires_at) <= func.now())


def check_same_request(request: KeyedRequest, stored_fingerprint: str) -> None:
    if stored_fingerprint != request.fingerprint:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT, "This Idempotency-Key was used with a different request"
        )


def _in_progress() -> HTTPException:
    return HTTPException(
        status.HTTP_409_CONFLICT,
        "A request with this Idempotency-Key is still running; retry when it has finished",
        headers={"Retry-After": "1"},
    )


@dataclass(frozen=True)
class StoredResponse:
    status_code: int
    body: Any


def claim(session: Session, user_id: str, request: KeyedRequest) -> StoredResponse | None:
    """Claim the key for a request that takes several statements (a chat turn): None when this
    request is to run; the stored response when one with the key has finished (replay it); 409 while
    one still runs; 422 when the key was used for another request.

    An expired key, or one whose request has outlived the lease (its Lambda died), is taken over.
    """
    table = IdempotencyKey.__table__  # type: ignore[attr-defined]
    fresh = pg_insert(table).values(
        user_id=user_id, key=request.key, fingerprint=request.fingerprint, expires_at=expiry()
    )
    taken_over = or_(
        table.c.expires_at <= func.now(),
        and_(table.c.status_code.is_(None), table.c.created_at < func.now() - LEASE),
    )
    claimed = session.execute(
        fresh.on_conflict_do_update(
            index_elements=[table.c.user_id, table.c.key],
            set_={
                "fingerprint": fresh.excluded.fingerprint,
                "status_code": None,
                "response": None,
                "created_at": func.now(),
                "expires_at": fresh.excluded.expires_at,
            },
            where=taken_over,
        ).returning(table.c.key)
    ).first()
    if claimed is not None:
        return None
    stored = session.execute(
        select(col(IdempotencyKey.fingerprint), col(IdempotencyKey.status_code), col(IdempotencyKey.response)).where(
            is_key(user_id, request)
        )
    ).one()
    check_same_request(request, stored.fingerprint)
    if stored.status_code is None:
        raise _in_progress()
    return StoredResponse(stored.status_code, stored.response)


def finish(session: Session, user_id: str, request: KeyedRequest, status_code: int, body: Any) -> None:
    """Store the response that retries with the key will get."""
    session.execute(
        update(IdempotencyKey).where(is_key(user_id, request)).values(status_code=status_code, response=body)
    )


def release(session: Session, user_id: str, request: KeyedRequest) -> None:
    """Give the key up (the request had no effect): a retry runs as if it were the first."""
    session.execute(delete(IdempotencyKey).where(is_key(user_id, request), col(IdempotencyKey.status_code).is_(None)))
