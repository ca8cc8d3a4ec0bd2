"""The caller's preferences: the time zone that their task dates are evaluated in."""

from fastapi import APIRouter
from fastapi.exceptions import RequestValidationError
from pydantic import Field
from sqlmodel import SQLModel

from todo_common import preferences
from todo_common.db import SessionDep
from todo_common.models import IANA_ZONE_PROBLEM, StrictInput, TimeZoneName
from todo_common.security import OWNER_RESPONSES, OwnerId

router = APIRouter(prefix="/api/{user_id}/preferences", tags=["preferences"], responses=OWNER_RESPONSES)


class Preferences(SQLModel):
    timezone: str = Field(examples=["Europe/Berlin"])


class PreferencesUpdate(StrictInput):
    timezone: TimeZoneName = Field(examples=["America/New_York"])


@router.get("", response_model=Preferences)
async def get_preferences(owner: OwnerId, session: SessionDep) -> Preferences:
    """The caller's time zone (`UTC` until they set one)."""
    return Preferences(timezone=preferences.get_timezone(session, owner))


@router.put("", response_model=Preferences)
async def put_preferences(owner: OwnerId, session: SessionDep, data: PreferencesUpdate) -> Preferences:
    """Set the caller's IANA time zone (`Europe/Berlin`): "today", "overdue" and date filters use it."""
    try:
        return Preferences(timezone=preferences.set_timezone(session, owner, data.timezone))
    except preferences.UnknownTimeZone:  # answered as the name's own validation would be
        problem = {"type": "value_error", "loc": ("body", "timezone"), "msg": f"Value error, {IANA_ZONE_PROBLEM}"}
        raise RequestValidationError([problem]) from None
