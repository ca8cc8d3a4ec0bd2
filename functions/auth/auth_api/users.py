"""Accounts: email rules and the users table."""

import uuid

from email_validator import EmailNotValidError, validate_email
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import Session

from todo_common.models import User

MAX_EMAIL_LENGTH = 254


class InvalidEmail(ValueError):
    pass


def normalise_email(email: str) -> str:
    """The address trimmed and lower-cased, once it is known to be a valid one (else InvalidEmail)."""
    candidate = email.strip()
    if not candidate or len(candidate) > MAX_EMAIL_LENGTH:
        raise InvalidEmail("Email must be a valid address of at most 254 characters")
    try:
        validated = validate_email(candidate, check_deliverability=False)
    except EmailNotValidError as exc:
        raise InvalidEmail(f"Email is not valid: {exc}") from None
    return validated.normalized.lower()


def create_user(session: Session, email: str, password_hash: str, name: str | None = None) -> User | None:
    """Insert a user; None when the email is taken. One statement: the unique index on lower(email)
    decides between simultaneous signups, so exactly one of them gets the account."""
    statement = (
        insert(User)
        .values(id=str(uuid.uuid4()), email=email, password_hash=password_hash, name=name or None)
        .on_conflict_do_nothing()
        .returning(User)
    )
    user: User | None = session.scalars(statement).one_or_none()
    return user


def find_user(session: Session, user_id: str) -> User | None:
    return session.get(User, user_id)
