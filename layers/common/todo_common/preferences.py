"""A user's preferences: the IANA time zone their dates are evaluated in (UTC when unset).

One statement each: a read, or an upsert that returns what was stored.
"""

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import Session, col

from todo_common.models import UserPreferences

DEFAULT_TIMEZONE = "UTC"


def timezone_of(user_id: str) -> Any:
    """The user's time zone as an SQL expression, to read along with another statement."""
    stored = select(col(UserPreferences.timezone)).where(col(UserPreferences.user_id) == user_id)
    return func.coalesce(stored.scalar_subquery(), DEFAULT_TIMEZONE)


def get_timezone(session: Session, user_id: str) -> str:
    zone: str = session.execute(select(timezone_of(user_id))).scalar_one()
    return zone


def set_timezone(session: Session, user_id: str, timezone: str) -> str:
    statement = (
        insert(UserPreferences)
        .values(user_id=user_id, timezone=timezone)
        .on_conflict_do_update(index_elements=["user_id"], set_={"timezone": timezone, "updated_at": func.now()})
        .returning(col(UserPreferences.timezone))
    )
    stored: str = session.execute(statement).scalar_one()
    return stored
