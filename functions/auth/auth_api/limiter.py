"""Login and signup protection: failed logins counted in Postgres, per account and source address
together and per address alone; past a threshold each further failure blocks the pair (or the
address) for twice as long as the last (OWASP's exponential backoff). Signups are counted per
address in the same way, each of them: each costs a bcrypt hash, and accounts in bulk are spam.

- The owner logging in from elsewhere is not blocked by an attacker's failures on their account
  (the pair is blocked, not the account); an address failing across many accounts is slowed as a
  whole (credential stuffing).
- A blocked attempt is answered before the password is checked: it costs no bcrypt.
- Unknown emails count exactly like wrong passwords, so the limiter tells nothing about which
  emails have accounts.
- Counting costs no round trip of its own on the way in (the check rides with the user lookup)
  and one on a failure; a success resets the pair's counter in the same way, only if it has one.
  A signup's check and count are one statement, before the password is hashed.
- What is counted is stored as an HMAC: no email or address is kept.
"""

import hashlib
import hmac
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import Select, case, delete, func, literal, select, true
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import Session, col

from todo_common.models import LoginFailures, User
from todo_common.settings import Settings

PURGE_BATCH = 20  # expired counters deleted with each failure


@dataclass(frozen=True)
class Keys:
    """The two counters a login attempt touches."""

    pair: str  # this account from this address
    address: str  # this address, whatever the account


def _digest(settings: Settings, *parts: str) -> str:
    secret = settings.SECRET_KEY.get_secret_value().encode() if settings.SECRET_KEY else b""
    return hmac.new(secret, "\x00".join(parts).encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()


def keys_for(settings: Settings, email: str, address: str) -> Keys:
    return Keys(pair=_digest(settings, "pair", email, address), address=_digest(settings, "address", address))


def signup_key(settings: Settings, address: str) -> str:
    return _digest(settings, "signup", address)


@dataclass(frozen=True)
class Attempt:
    user: User | None
    retry_after: int | None  # seconds until the block ends; None: not blocked
    pair_counted: bool  # whether the pair has a counter (a success then resets it)


def look_up(session: Session, email: str, keys: Keys) -> Attempt:
    """The user with this email and whether this attempt is blocked, in one statement."""
    blocked_until = (
        select(func.max(col(LoginFailures.blocked_until)))
        .where(col(LoginFailures.key).in_([keys.pair, keys.address]), col(LoginFailures.blocked_until) > func.now())
        .scalar_subquery()
    )
    retry_after = _seconds_until(blocked_until)
    pair_counted = select(col(LoginFailures.key)).where(col(LoginFailures.key) == keys.pair).exists()
    user = select(User).where(func.lower(col(User.email)) == email).subquery()
    statement: Select[Any] = select(user, retry_after.label("retry_after"), pair_counted.label("pair_counted"))
    statement = statement.select_from(select(literal(1)).subquery()).outerjoin(user, true())
    row = session.execute(statement).one()
    values = row._asdict()
    found = User.model_validate({name: values[name] for name in User.model_fields}) if values["id"] else None
    return Attempt(found, _retry_after(values["retry_after"]), values["pair_counted"])


def count_signup(session: Session, settings: Settings, address: str) -> int | None:
    """Count a signup from this address unless the address is blocked, in one statement: the
    seconds until its block ends (the signup is refused, and not counted), or None."""
    key = signup_key(settings, address)
    window = timedelta(seconds=settings.SIGNUP_WINDOW_SECONDS)
    counted = _counted(key, settings.SIGNUPS_PER_ADDRESS, window, settings, unless_blocked=True).cte("counted")
    # Every part of one statement sees the table as it was before it: the block found here is the
    # one that stopped the count above, never one this signup started.
    blocked_until = (
        select(col(LoginFailures.blocked_until))
        .where(col(LoginFailures.key) == key, col(LoginFailures.blocked_until) > func.now())
        .scalar_subquery()
    )
    retry = session.execute(select(_seconds_until(blocked_until)).add_cte(counted).add_cte(_purged())).scalar()
    return _retry_after(retry)


def _seconds_until(instant: Any) -> Any:
    return func.ceil(func.extract("epoch", instant - func.now()))


def _retry_after(seconds: Any) -> int | None:
    return None if seconds is None else max(1, int(seconds))


def record_failure(session: Session, settings: Settings, keys: Keys) -> None:
    """Count a failure on both counters (atomically: parallel failures are all counted), block
    past the thresholds, and delete a few expired counters; one statement."""
    window = timedelta(seconds=settings.LOGIN_FAILURE_WINDOW_SECONDS)
    counted = [
        _counted(keys.pair, settings.LOGIN_FAILURES_PER_ACCOUNT, window, settings).cte("pair"),
        _counted(keys.address, settings.LOGIN_FAILURES_PER_ADDRESS, window, settings).cte("address"),
    ]
    pair, address = counted
    session.execute(select(pair.c.key).union_all(select(address.c.key)).add_cte(_purged()))


def _purged() -> Any:
    """Delete a few expired counters, oldest first (a CTE for the statement that counts)."""
    expired = (
        select(col(LoginFailures.key))
        .where(col(LoginFailures.expires_at) < func.now())
        .order_by(col(LoginFailures.expires_at))
        .limit(PURGE_BATCH)
    )
    return delete(LoginFailures).where(col(LoginFailures.key).in_(expired.scalar_subquery())).cte("purged")


def _counted(key: str, free: int, window: timedelta, settings: Settings, *, unless_blocked: bool = False) -> Any:
    """Upsert one counter: one more (starting over once it has lapsed), and its block. With
    `unless_blocked`, a counter whose block has not ended is left as it is."""
    table = LoginFailures.__table__  # type: ignore[attr-defined]
    count = case((table.c.expires_at < func.now(), 1), else_=table.c.failures + 1)
    blocked_until = _blocked_until(count, free, settings)
    first = insert(LoginFailures).values(
        key=key, failures=1, blocked_until=_blocked_until(literal(1), free, settings), expires_at=func.now() + window
    )
    not_blocked = table.c.blocked_until.is_(None) | (table.c.blocked_until <= func.now())
    return first.on_conflict_do_update(
        index_elements=["key"],
        set_={
            "failures": count,
            "blocked_until": blocked_until,
            "expires_at": func.greatest(func.now() + window, blocked_until),
        },
        where=not_blocked if unless_blocked else None,
    ).returning(table.c.key)


def _blocked_until(count: Any, free: int, settings: Settings) -> Any:
    """None before `free` failures; from then on, now + base·2^(failures - free), capped."""
    seconds = func.least(
        settings.LOGIN_BLOCK_SECONDS * func.power(2, func.least(count - free, 30)), settings.LOGIN_MAX_BLOCK_SECONDS
    )
    return case((count >= free, func.now() + func.make_interval(0, 0, 0, 0, 0, 0, seconds)), else_=None)


def reset_pair(session: Session, keys: Keys) -> None:
    """A success: the account's counter for this address starts over (the address's does not)."""
    session.execute(delete(LoginFailures).where(col(LoginFailures.key) == keys.pair))
