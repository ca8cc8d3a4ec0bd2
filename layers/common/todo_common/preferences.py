"""A user's preferences: the IANA time zone their dates are evaluated in (UTC when unset).

One statement each: a read, or an upsert that returns what was stored.
"""

from typing import Any

from psycopg.errors import InvalidParameterValue
from sqlalchemy import case, func, literal, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import DataError
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


class UnknownTimeZone(ValueError):
    """A zone name that Python's zone database has and Postgres's does not (`right/UTC`, `localtime`)."""


def set_timezone(session: Session, user_id: str, timezone: str) -> str:
    """Store the user's zone; Postgres checks the name as it stores it, since every date query of
    theirs will evaluate it there (UnknownTimeZone, and nothing stored, if it does not know it)."""
    checked = case((func.timezone(literal(timezone), func.now()).is_not(None), literal(timezone)))
    statement = (
        insert(UserPreferences)
        .values(user_id=user_id, timezone=checked)
        .on_conflict_do_update(index_elements=["user_id"], set_={"timezone": checked, "updated_at": func.now()})
        .returning(col(UserPreferences.timezone))
    )
    try:
        stored: str = session.execute(statement).scalar_one()
    except DataError as error:
        if isinstance(error.orig, InvalidParameterValue):
            raise UnknownTimeZone(timezone) from None
        raise
    return stored
