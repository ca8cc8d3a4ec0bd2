"""Signup, login, and who the caller is. (Async routes: see tasks_api.routes for why.)"""

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Request, status
from pydantic import AfterValidator, Field, StringConstraints
from sqlmodel import SQLModel

from auth_api import limiter, passwords, users
from todo_common.db import SessionDep
from todo_common.errors import documented
from todo_common.models import StrictInput, UserPublic, UtcDatetime, clean_text
from todo_common.security import AUTHENTICATED_RESPONSES, CurrentPrincipal
from todo_common.settings import get_settings
from todo_common.tokens import issue_access_token

router = APIRouter(
    prefix="/api/auth",
    tags=["auth"],
    responses={503: documented("The database cannot be reached now (`Retry-After`)")},
)

_BAD_CREDENTIALS = HTTPException(
    status.HTTP_401_UNAUTHORIZED, "Incorrect email or password", headers={"WWW-Authenticate": "Bearer"}
)


class Credentials(StrictInput):
    # Plain strings: the rules are checked by the route, which answers 400 naming the rule broken.
    email: str = Field(max_length=1000)
    password: str = Field(max_length=1000)


DisplayName = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200), AfterValidator(clean_text)]


class Signup(Credentials):
    name: DisplayName | None = None


class AccessToken(SQLModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 - the OAuth 2 token type, not a secret
    expires_in: int
    user_id: str


class Identity(SQLModel):
    id: str
    email: str | None
    created_at: UtcDatetime | None


def _too_many(detail: str, retry_after: int) -> HTTPException:
    return HTTPException(status.HTTP_429_TOO_MANY_REQUESTS, detail, headers={"Retry-After": str(retry_after)})


def _source_address(request: Request) -> str:
    """API Gateway's sourceIp (Mangum's client), or the local socket's: never a header a client sets."""
    return (request.client.host if request.client else None) or ""


_RETRY_AFTER = {"Retry-After": {"description": "Seconds until the next attempt is checked"}}


@router.post(
    "/signup",
    status_code=status.HTTP_201_CREATED,
    response_model=UserPublic,
    responses={
        400: {"description": "Invalid email or weak password"},
        409: {"description": "Email taken"},
        429: {"description": "Too many signups from this address", "headers": _RETRY_AFTER},
    },
)
async def signup(data: Signup, session: SessionDep, request: Request) -> Any:
    settings = get_settings()
    try:
        email = users.normalise_email(data.email)
    except users.InvalidEmail as exc:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, str(exc)) from None
    if problem := passwords.password_problem(data.password):
        raise HTTPException(status.HTTP_400_BAD_REQUEST, problem)
    # Counted once the request is valid, and refused before the password is hashed.
    if (retry_after := limiter.count_signup(session, settings, _source_address(request))) is not None:
        raise _too_many("Too many signups from this address; try again later", retry_after)
    password_hash = passwords.hash_password(data.password, settings.BCRYPT_ROUNDS)
    user = users.create_user(session, email, password_hash, name=data.name)
    if user is None:
        raise HTTPException(status.HTTP_409_CONFLICT, "An account with this email already exists")
    return user


@router.post(
    "/login",
    response_model=AccessToken,
    responses={
        401: {"description": "Incorrect email or password"},
        429: {
            "description": "Too many failed logins for this account from this address, or from this address",
            "headers": _RETRY_AFTER,
        },
    },
)
async def login(data: Credentials, session: SessionDep, request: Request) -> AccessToken:
    settings = get_settings()
    try:
        email = counted_as = users.normalise_email(data.email)
    except users.InvalidEmail:  # no account has it: counted and answered like an unknown one
        email, counted_as = "", data.email.strip().lower()
    keys = limiter.keys_for(settings, counted_as, _source_address(request))
    attempt = limiter.look_up(session, email, keys)
    if attempt.retry_after is not None:  # refused before the password is checked: no bcrypt
        raise _too_many("Too many failed logins; try again later", attempt.retry_after)
    user = attempt.user
    # Checked before anything else is decided, so an unknown email costs a bcrypt check too.
    valid = passwords.verify_password(data.password, user.password_hash if user else None, settings.BCRYPT_ROUNDS)
    if user is None or not valid:
        limiter.record_failure(session, settings, keys)
        raise _BAD_CREDENTIALS
    if attempt.pair_counted:
        limiter.reset_pair(session, keys)
    token, lifetime = issue_access_token(settings, user.id, user.email)
    return AccessToken(access_token=token, expires_in=lifetime, user_id=user.id)


@router.get("/me", response_model=Identity, responses=AUTHENTICATED_RESPONSES)
async def me(principal: CurrentPrincipal, session: SessionDep) -> Identity:
    """The caller's account; for a Better Auth user we have no row for, what their token says."""
    user = users.find_user(session, principal.user_id)
    if user is not None:
        return Identity(id=user.id, email=user.email, created_at=user.created_at)
    created = principal.claims.get("createdAt")
    return Identity(id=principal.user_id, email=principal.email, created_at=_parse_time(created))


def _parse_time(value: object) -> datetime | None:
    """A token's ISO 8601 instant (UTC unless it says otherwise); None for anything else, or for a
    year so far out that it could not be answered in UTC."""
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    if not 2 <= parsed.year <= 9998:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
