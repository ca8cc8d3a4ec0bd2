"""Configuration from the environment (and a local `.env` file), read once per execution environment."""

import os
import time
from functools import lru_cache
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from sqlalchemy.engine import make_url

from todo_common import snapstart

DEFAULT_LLM_BASE_URL = "https://generativelanguage.googleapis.com/v1beta/openai/"
MIN_SECRET_BYTES = 32  # HS256 keys shorter than the hash output are brute-forceable (RFC 7518 §3.2)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    DATABASE_URL: SecretStr | None = None
    SECRET_KEY: SecretStr | None = None
    # Accepted for existing .env files; HS256 is the only algorithm for SECRET_KEY's tokens, so any
    # other value stops the function at start rather than being silently ignored.
    ALGORITHM: str = "HS256"
    ACCESS_TOKEN_EXPIRE_MINUTES: Annotated[int, Field(ge=1, le=60 * 24 * 30)] = 30
    BETTER_AUTH_SECRET: SecretStr | None = None
    JWKS_URL: str | None = None
    JWT_ISSUER: str | None = None
    JWT_AUDIENCE: str | None = None
    GEMINI_API_KEY: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("GEMINI_API_KEY", "GOOGLE_GEMINI_API_KEY")
    )
    LLM_BASE_URL: str = DEFAULT_LLM_BASE_URL
    LLM_MODEL: str = "gemini-3.6-flash"  # a GA Flash model (the 2.5 models retire on 2026-12-01)
    # A chat message must be answered before API Gateway's 30-second limit (and the Lambda's own).
    CHAT_TIMEOUT_SECONDS: Annotated[float, Field(gt=0, le=28)] = 25.0
    CHAT_MAX_MODEL_CALLS: Annotated[int, Field(ge=1, le=20)] = 6
    CHAT_HISTORY_TURNS: Annotated[int, Field(ge=1, le=100)] = 10
    # The MCP endpoint's public URL (`https://<host>/mcp`): tokens whose `aud` is this URL are
    # accepted there too (what an OAuth authorization server issues to MCP clients, RFC 8707).
    # Unset: the URL is derived from each request.
    MCP_RESOURCE_URL: str | None = None
    # Where MCP clients get tokens (RFC 9728 `authorization_servers`); unset: JWT_ISSUER, if set.
    MCP_AUTHORIZATION_SERVERS: Annotated[list[str], NoDecode] = []
    BCRYPT_ROUNDS: Annotated[int, Field(ge=4, le=31)] = 12
    # Login protection (auth_api.limiter): free failures per account from one address, and per
    # address across accounts; then each further failure blocks for twice as long as the last,
    # from LOGIN_BLOCK_SECONDS up to LOGIN_MAX_BLOCK_SECONDS. Counters lapse after the window.
    LOGIN_FAILURES_PER_ACCOUNT: Annotated[int, Field(ge=1, le=1000)] = 5
    LOGIN_FAILURES_PER_ADDRESS: Annotated[int, Field(ge=1, le=100_000)] = 100
    LOGIN_FAILURE_WINDOW_SECONDS: Annotated[int, Field(ge=1, le=7 * 24 * 3600)] = 900
    LOGIN_BLOCK_SECONDS: Annotated[int, Field(ge=1, le=3600)] = 2
    LOGIN_MAX_BLOCK_SECONDS: Annotated[int, Field(ge=1, le=24 * 3600)] = 900
    # Signups (each costs a bcrypt hash) per source address within the window; past them each
    # further signup blocks the address as a failed login does (the same block lengths).
    SIGNUPS_PER_ADDRESS: Annotated[int, Field(ge=1, le=100_000)] = 20
    SIGNUP_WINDOW_SECONDS: Annotated[int, Field(ge=1, le=7 * 24 * 3600)] = 3600
    # A pooled connection idle for longer than this is pinged before reuse (a frozen Lambda
    # environment may wake up to a connection the server or a NAT has long dropped).
    DB_PING_AFTER_IDLE_SECONDS: Annotated[float, Field(ge=0)] = 30.0
    DB_CONNECT_TIMEOUT_SECONDS: Annotated[int, Field(ge=1, le=60)] = 10
    # A statement still running after this long (waiting on a lock, or slow) is cancelled: the
    # request answers 503 well before the function's timeout (10 s), instead of hanging. 0: never.
    DB_STATEMENT_TIMEOUT_MS: Annotated[int, Field(ge=0, le=600_000)] = 5000

    @field_validator("MCP_AUTHORIZATION_SERVERS", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        return [item.strip() for item in value.split(",") if item.strip()] if isinstance(value, str) else value

    @field_validator("MCP_RESOURCE_URL", "MCP_AUTHORIZATION_SERVERS")
    @classmethod
    def _http_urls(cls, value: str | list[str] | None) -> str | list[str] | None:
        for url in [value] if isinstance(value, str) else value or []:
            parts = urlsplit(url)
            if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
                raise ValueError("must be absolute http(s) URLs without a query or fragment")
        return value

    @field_validator("ALGORITHM")
    @classmethod
    def _only_hs256(cls, value: str) -> str:
        if value != "HS256":
            raise ValueError("only HS256 is supported for tokens signed with SECRET_KEY")
        return value

    @field_validator("SECRET_KEY", "BETTER_AUTH_SECRET")
    @classmethod
    def _strong_secret(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value().encode()) < MIN_SECRET_BYTES:
            raise ValueError(f"must be at least {MIN_SECRET_BYTES} bytes long")
        return value

    @field_validator(
        "DATABASE_URL",
        "SECRET_KEY",
        "BETTER_AUTH_SECRET",
        "JWKS_URL",
        "JWT_ISSUER",
        "JWT_AUDIENCE",
        "GEMINI_API_KEY",
        "MCP_RESOURCE_URL",
        mode="before",
    )
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        return None if value == "" else value


# Secrets that may live in SSM Parameter Store (SecureString): in AWS, `<NAME>_PARAMETER` names the
# parameter; an environment variable `<NAME>` itself wins (local runs, tests).
SECRET_SETTINGS = ("DATABASE_URL", "SECRET_KEY", "BETTER_AUTH_SECRET", "GEMINI_API_KEY")
PARAMETER_MAX_AGE_SECONDS = 300


class MissingParameter(RuntimeError):
    """A secret's SSM parameter could not be read: the function cannot start."""


def secrets_from_parameter_store() -> dict[str, Any]:
    """The secret settings named by `<NAME>_PARAMETER` and not given directly, read from SSM."""
    wanted = {
        name: os.environ[f"{name}_PARAMETER"]
        for name in SECRET_SETTINGS
        if os.environ.get(f"{name}_PARAMETER") and not os.environ.get(name)
    }
    if not wanted:
        return {}
    from aws_lambda_powertools.utilities import parameters  # boto3 comes with the Lambda runtime

    values: dict[str, Any] = {}
    for name, parameter in wanted.items():
        try:
            values[name] = parameters.get_parameter(parameter, decrypt=True, max_age=PARAMETER_MAX_AGE_SECONDS)
        except parameters.exceptions.GetParameterError as exc:
            raise MissingParameter(f"{name}: SSM parameter {parameter!r} could not be read ({exc})") from None
    return values


@lru_cache
def get_settings() -> Settings:
    """The settings of this execution environment, read once at cold start (not per request)."""
    secrets = secrets_from_parameter_store()
    _secrets_read_at[:] = [time.time()] if secrets else []
    return Settings(**secrets)


_secrets_read_at: list[float] = []  # when get_settings read secrets from SSM (empty: it read none)


def refresh_stale_secrets() -> None:
    """After a SnapStart restore: forget secrets read from SSM longer ago than they may be kept
    (they are read again on first use, so a rotated secret is picked up)."""
    if _secrets_read_at and time.time() - _secrets_read_at[0] > PARAMETER_MAX_AGE_SECONDS:
        from aws_lambda_powertools.utilities import parameters

        parameters.clear_caches()  # type: ignore[no-untyped-call]
        get_settings.cache_clear()


snapstart.after_restore(refresh_stale_secrets)


def sqlalchemy_url(database_url: str) -> str:
    """Normalise `postgres://` and `postgresql://` URLs to SQLAlchemy's psycopg 3 dialect.

    The query string (`sslmode`, `channel_binding`, …) passes through to libpq untouched.
    """
    url = make_url(database_url)
    if url.drivername not in ("postgres", "postgresql", "postgresql+psycopg"):
        raise ValueError("DATABASE_URL must be a postgres:// or postgresql:// URL")
    return url.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
