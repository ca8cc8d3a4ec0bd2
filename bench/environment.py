"""What every benchmark sets up the same way: the settings of the functions it runs in process,
and tokens for its users."""

import os
import time

import jwt

SECRET_KEY = "bench-secret-key-that-is-at-least-32-bytes-long"


def configure(database_url: str, **settings: str) -> None:
    """Our tokens only (no issuer, audience or JWKS), quiet Powertools, and `settings` on top."""
    os.environ.update(
        DATABASE_URL=database_url,
        SECRET_KEY=SECRET_KEY,
        POWERTOOLS_LOG_LEVEL="WARNING",
        POWERTOOLS_METRICS_DISABLED="true",
        POWERTOOLS_TRACE_DISABLED="true",
        **settings,
    )
    for name in ("JWKS_URL", "JWT_ISSUER", "JWT_AUDIENCE", "BETTER_AUTH_SECRET"):
        os.environ.pop(name, None)


def token_for(user_id: str) -> str:
    return jwt.encode({"sub": user_id, "exp": int(time.time()) + 3600}, SECRET_KEY, algorithm="HS256")
