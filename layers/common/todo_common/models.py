"""Tables and the API's request/response schemas.

Validation lives here once: the REST routes and the chat tools accept the same shapes.
"""

import unicodedata
from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal, Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    PlainSerializer,
    Strict,
    StringConstraints,
    model_validator,
)
from pydantic.json_schema import SkipJsonSchema
from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    String,
    Text,
    false,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlmodel import Field, SQLModel

BIGINT_MAX = 2**63 - 1
TITLE_MAX_LENGTH = 200
DESCRIPTION_MAX_LENGTH = 1000


def clean_text(value: str) -> str:
    """Reject text Postgres cannot store: NUL characters and lone UTF-16 surrogates."""
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    try:
        value.encode()
    except UnicodeEncodeError:
        raise ValueError("must be valid Unicode text") from None
    return value


def single_line(value: str) -> str:
    """Reject control characters (tabs and line breaks included) inside a one-line text, such as a title."""
    if any(unicodedata.category(character) == "Cc" for character in value):
        raise ValueError("must not contain control characters")
    return value


def _utc_iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


# Trimmed of Unicode white space first (what is left is what is measured and stored).
Title = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=TITLE_MAX_LENGTH),
    AfterValidator(clean_text),
    AfterValidator(single_line),
]
Description = Annotated[str, StringConstraints(max_length=DESCRIPTION_MAX_LENGTH), AfterValidator(clean_text)]
SearchText = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=TITLE_MAX_LENGTH), AfterValidator(clean_text)
]
TaskId = Annotated[int, Field(ge=1, le=BIGINT_MAX)]
UtcDatetime = Annotated[datetime, PlainSerializer(_utc_iso, return_type=str)]
Priority = Literal["low", "medium", "high"]


# Due days and instants stay within these years: shifted by any zone's offset, or by the day a due
# day lasts, they remain readable as Python datetimes (years 1 to 9999).
EARLIEST_DUE_YEAR, LATEST_DUE_YEAR = 1000, 9998
_DATE_FORMAT = "must be a date as YYYY-MM-DD"
_INSTANT_FORMAT = "must be a date-time as YYYY-MM-DDTHH:MM:SS with its offset"


def _iso_date(value: object) -> object:
    """A day as ISO 8601 text only: pydantic would also take a number (or "0") as a Unix time."""
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:  # its message repeats the input
            raise ValueError(_DATE_FORMAT) from None
    if isinstance(value, date):
        return value
    raise ValueError(_DATE_FORMAT)


def _iso_instant(value: object) -> object:
    """A date-time as ISO 8601 text only (not a number of seconds since 1970)."""
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            raise ValueError(_INSTANT_FORMAT) from None
    if isinstance(value, datetime):
        return value
    raise ValueError(_INSTANT_FORMAT)


def _in_due_years[When: date](value: When) -> When:
    if not EARLIEST_DUE_YEAR <= value.year <= LATEST_DUE_YEAR:
        raise ValueError(f"must be in the years {EARLIEST_DUE_YEAR} to {LATEST_DUE_YEAR}")
    return value


# Dates arrive as ISO strings, which the strict input models would otherwise refuse.
DueDate = Annotated[date, Strict(False), BeforeValidator(_iso_date), AfterValidator(_in_due_years)]
DueInstant = Annotated[AwareDatetime, Strict(False), BeforeValidator(_iso_instant), AfterValidator(_in_due_years)]
TAG_MAX_LENGTH = 40
MAX_TAGS = 20


def _unique(tags: list[str]) -> list[str]:
    return list(dict.fromkeys(tags))


def _tag_length(tag: str) -> str:
    """Measured once in lower case: lower-casing can lengthen a text ("İ" is two characters)."""
    if not 1 <= len(tag) <= TAG_MAX_LENGTH:
        raise ValueError(f"must be 1 to {TAG_MAX_LENGTH} characters")
    return tag


# Labels compare without case: kept trimmed and in lower case, each once, in the order given.
Tag = Annotated[
    str,
    StringConstraints(strip_whitespace=True, to_lower=True, min_length=1, max_length=TAG_MAX_LENGTH),
    AfterValidator(clean_text),
    AfterValidator(single_line),
    AfterValidator(_tag_length),
]
Tags = Annotated[list[Tag], Field(max_length=MAX_TAGS), AfterValidator(_unique)]


def _identity_column() -> Column[int]:
    return Column(BigInteger, Identity(always=True), primary_key=True)


def _timestamp_column() -> Column[datetime]:
    return Column(DateTime(timezone=True), nullable=False, server_default=func.now())


class User(SQLModel, table=True):
    __tablename__ = "users"
    __table_args__ = (Index("uq_users_email_lower", func.lower(Column("email", Text)), unique=True),)

    id: str = Field(sa_column=Column(Text, primary_key=True))
    email: str = Field(sa_column=Column(Text, nullable=False))
    password_hash: str = Field(sa_column=Column(Text, nullable=False))
    name: str | None = Field(default=None, sa_column=Column(Text))
    created_at: datetime = Field(sa_column=_timestamp_column())


class UserPublic(SQLModel):
    id: str
    email: str
    created_at: UtcDatetime


class Task(SQLModel, table=True):
    __tablename__ = "tasks"
    __table_args__ = (
        # The per-user list in its default order reads this index; lookups by id use the primary key.
        Index("ix_tasks_user_id_created_at_id", "user_id", "created_at", "id"),
        Index("ix_tasks_tags", "tags", postgresql_using="gin"),
        # Overdue lists read these: pending, dated tasks only, so they stay small.
        *(
            Index(
                f"ix_tasks_pending_{due}",
                "user_id",
                due,
                postgresql_where=text(f"completed IS FALSE AND {due} IS NOT NULL"),
            )
            for due in ("due_date", "due_at")
        ),
        CheckConstraint("due_date IS NULL OR due_at IS NULL", name="ck_tasks_one_due"),
        CheckConstraint("priority IN ('low', 'medium', 'high')", name="ck_tasks_priority"),
    )

    id: int = Field(sa_column=_identity_column())
    user_id: str = Field(sa_column=Column(Text, nullable=False))
    title: str = Field(sa_column=Column(String(TITLE_MAX_LENGTH), nullable=False))
    description: str | None = Field(default=None, sa_column=Column(String(DESCRIPTION_MAX_LENGTH)))
    completed: bool = Field(default=False, sa_column=Column(Boolean, nullable=False, server_default=false()))
    created_at: datetime = Field(sa_column=_timestamp_column())
    updated_at: datetime = Field(sa_column=_timestamp_column())
    # Every change adds one: the task's ETag, so that a client can edit without losing another's edit.
    version: int = Field(default=1, sa_column=Column(BigInteger, nullable=False, server_default=text("1")))
    # A deadline day (no time: it never shifts with time zones), or an instant; never both.
    due_date: date | None = Field(default=None, sa_column=Column(Date))
    due_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    priority: str | None = Field(default=None, sa_column=Column(Text))
    tags: list[str] = Field(
        default_factory=list, sa_column=Column(ARRAY(Text), nullable=False, server_default=text("'{}'"))
    )


class Conversation(SQLModel, table=True):
    __tablename__ = "conversations"
    # The user's conversations, newest first.
    __table_args__ = (Index("ix_conversations_user_id_updated_at", "user_id", "updated_at"),)

    id: int = Field(sa_column=_identity_column())
    user_id: str = Field(sa_column=Column(Text, nullable=False))
    title: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(sa_column=_timestamp_column())
    updated_at: datetime = Field(sa_column=_timestamp_column())


class Message(SQLModel, table=True):
    """One entry of a conversation: the user's message, a tool call that ran, or the assistant's reply."""

    __tablename__ = "messages"
    __table_args__ = (Index("ix_messages_conversation_id_id", "conversation_id", "id"),)

    id: int = Field(sa_column=_identity_column())
    conversation_id: int = Field(
        sa_column=Column(BigInteger, ForeignKey("conversations.id", ondelete="CASCADE"), nullable=False)
    )
    user_id: str = Field(sa_column=Column(Text, nullable=False))
    role: str = Field(sa_column=Column(Text, nullable=False))  # user | tool | assistant
    content: str | None = Field(default=None, sa_column=Column(Text))
    tool_calls: list[dict[str, Any]] | None = Field(default=None, sa_column=Column(JSONB))
    # The user message this tool call or reply answers (None on user messages, and on old rows).
    turn_id: int | None = Field(default=None, sa_column=Column(BigInteger))
    created_at: datetime = Field(sa_column=_timestamp_column())


class IdempotencyKey(SQLModel, table=True):
    """A request sent with an `Idempotency-Key`, and its response once it has one; kept 24 hours."""

    __tablename__ = "idempotency_keys"
    # Expired keys are found (and deleted, a few at a time) by their expiry.
    __table_args__ = (Index("ix_idempotency_keys_expires_at", "expires_at"),)

    user_id: str = Field(sa_column=Column(Text, primary_key=True))
    key: str = Field(sa_column=Column(Text, primary_key=True))
    fingerprint: str = Field(sa_column=Column(Text, nullable=False))  # of the request: method, path, body
    status_code: int | None = Field(default=None, sa_column=Column(Integer))  # None while the request runs
    response: Any = Field(default=None, sa_column=Column(JSONB))
    created_at: datetime = Field(sa_column=_timestamp_column())
    expires_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class LoginFailures(SQLModel, table=True):
    """The auth function's counters: failed logins per account and source address together and per
    address alone, and signups per address (`failures` counts either).

    `key` is an HMAC of what is counted (no email or address is stored). A row expires a window
    (LOGIN_FAILURE_WINDOW_SECONDS, SIGNUP_WINDOW_SECONDS) after its last count, or when its block
    ends, if later.
    """

    __tablename__ = "login_failures"
    # Expired rows are found (and deleted, a few at a time) by their expiry.
    __table_args__ = (Index("ix_login_failures_expires_at", "expires_at"),)

    key: str = Field(sa_column=Column(Text, primary_key=True))
    failures: int = Field(sa_column=Column(Integer, nullable=False))
    blocked_until: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    expires_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class UserPreferences(SQLModel, table=True):
    """A user's settings, keyed by user id (Better Auth's users have no row of ours)."""

    __tablename__ = "user_preferences"

    user_id: str = Field(sa_column=Column(Text, primary_key=True))
    timezone: str = Field(sa_column=Column(Text, nullable=False))
    updated_at: datetime = Field(sa_column=_timestamp_column())


IANA_ZONE_PROBLEM = "must be an IANA time zone name, such as Europe/Berlin"


def iana_zone(name: str) -> str:
    """An IANA time zone name that this system knows (`Europe/Berlin`, `UTC`)."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(IANA_ZONE_PROBLEM) from None
    return name


TimeZoneName = Annotated[str, StringConstraints(min_length=1, max_length=64), AfterValidator(iana_zone)]


class StrictInput(SQLModel):
    # Strict: "yes" is not a boolean and 1 is not a title. Unknown fields (such as `id` or
    # `user_id` in a round-tripped task) are ignored; ownership never comes from the body.
    model_config = ConfigDict(strict=True)  # type: ignore[assignment]  # SQLModelConfig extends ConfigDict


class TaskCreate(StrictInput):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"title": "Buy groceries", "description": "Milk, eggs, bread"},
                {"title": "Call mom", "due_date": "2026-11-24", "priority": "high", "tags": ["family"]},
                {"title": "Submit the report", "due_at": "2026-11-24T17:00:00+01:00", "tags": ["work", "q4"]},
            ]
        }
    )

    title: Title
    description: Description | None = None
    completed: bool = False
    due_date: DueDate | None = Field(default=None, description="A deadline day: `2026-11-24`")
    due_at: DueInstant | None = Field(
        default=None, description="A deadline instant with its offset: `2026-11-24T17:00:00+01:00`"
    )
    priority: Priority | None = None
    tags: Tags = []

    @model_validator(mode="after")
    def _one_due(self) -> Self:
        _check_one_due(self)
        return self


class TaskReplace(TaskCreate):
    """PUT: the whole task; what is left out goes back to its default."""


class TaskPatch(StrictInput):
    """PATCH: only the fields that are sent change (`null` clears description, due and priority; a
    due date replaces a due instant and the other way round)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"completed": True},
                {"due_date": "2026-11-27", "priority": "low"},
                {"title": "Call mom and dad", "tags": ["family", "weekend"]},
            ]
        }
    )

    # None only as "not sent": the schema does not offer null for title, completed and tags.
    title: Title | SkipJsonSchema[None] = None
    description: Description | None = None
    completed: bool | SkipJsonSchema[None] = None
    due_date: DueDate | None = None
    due_at: DueInstant | None = None
    priority: Priority | None = None
    tags: Tags | SkipJsonSchema[None] = None

    @model_validator(mode="after")
    def _required_fields_not_null(self) -> Self:
        for name in ("title", "completed", "tags"):
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{name} cannot be null")
        _check_one_due(self)
        return self

    def changes(self) -> dict[str, Any]:
        """The columns to set: what was sent, and the other kind of due cleared when one is set."""
        values = self.model_dump(exclude_unset=True)
        for given, other in (("due_date", "due_at"), ("due_at", "due_date")):
            if values.get(given) is not None:
                values.setdefault(other, None)
        return values


def _check_one_due(task: "TaskCreate | TaskPatch") -> None:
    if task.due_date is not None and task.due_at is not None:
        raise ValueError("give due_date (a day) or due_at (an instant), not both")


class TaskCompletion(StrictInput):
    completed: bool


class TaskPublic(BaseModel):
    # A plain pydantic model: SQLModel's validation took ten times as long for a page of tasks.
    # (FastAPI drops null values from examples in the document, so the examples hold none.)
    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "examples": [
                {
                    "id": 42,
                    "user_id": "4f1c2b9e-8d7a-4e3b-9c1d-2a5b6c7d8e9f",
                    "title": "Call mom",
                    "description": "About the holidays",
                    "completed": False,
                    "created_at": "2026-11-23T09:15:00Z",
                    "updated_at": "2026-11-23T09:15:00Z",
                    "version": 1,
                    "due_date": "2026-11-24",
                    "priority": "high",
                    "tags": ["family"],
                }
            ]
        },
    )

    id: int
    user_id: str
    title: str
    description: str | None
    completed: bool
    created_at: UtcDatetime
    updated_at: UtcDatetime
    version: int = Field(description="Goes up by one with every change; the task's ETag is this number, quoted")
    due_date: date | None = None
    due_at: UtcDatetime | None = None
    priority: Priority | None = None
    tags: list[str] = []
