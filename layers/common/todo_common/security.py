"""FastAPI dependencies that authenticate the caller and check that a path is theirs."""

from functools import lru_cache
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Path, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from todo_common import snapstart
from todo_common.errors import RETRY_AFTER, documented
from todo_common.observability import logger
from todo_common.settings import get_settings
from todo_common.tokens import InvalidToken, KeysUnavailable, Principal, TokenVerifier

_bearer = HTTPBearer(auto_error=False, description="A JWT from `POST /api/auth/login` or from Better Auth")
BearerCredentials = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


@lru_cache
def get_verifier() -> TokenVerifier:
    """The verifier of this execution environment (its JWKS cache lives as long as it does)."""
    return TokenVerifier.from_settings(get_settings())


# The JWKS cache is timed on the monotonic clock, which a restored snapshot does not continue.
snapstart.after_restore(get_verifier.cache_clear)


def authenticate(
    credentials: HTTPAuthorizationCredentials | None, verifier: TokenVerifier, challenge: str = ""
) -> Principal:
    """Who the bearer token says the caller is: else 401 with `WWW-Authenticate: Bearer`, or 503
    while the signing keys cannot be fetched. `challenge` adds parameters to that header."""
    if credentials is None:
        raise _unauthorized("Not authenticated", challenge)
    try:
        return verifier.verify(credentials.credentials)
    except InvalidToken as exc:
        logger.info("Token refused", extra={"reason": str(exc)})
        raise _unauthorized("Invalid or expired token", 'error="invalid_token"', challenge) from None
    except KeysUnavailable:
        logger.warning("Token signing keys unavailable")
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE, "Cannot verify tokens right now", headers=RETRY_AFTER
        ) from None


def _unauthorized(detail: str, *parameters: str) -> HTTPException:
    challenge = ", ".join(parameter for parameter in parameters if parameter)
    header = f"Bearer {challenge}" if challenge else "Bearer"
    return HTTPException(status.HTTP_401_UNAUTHORIZED, detail, headers={"WWW-Authenticate": header})


async def current_principal(credentials: BearerCredentials) -> Principal:
    return authenticate(credentials, get_verifier())


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


async def path_owner(user_id: Annotated[str, Path()], principal: CurrentPrincipal) -> str:
    """The `{user_id}` of the path, once it is known to be the caller's own (else 403)."""
    if user_id != principal.user_id:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "You can only access your own resources")
    return user_id


OwnerId = Annotated[str, Depends(path_owner)]

# What any authenticated route may answer before it does anything, for the OpenAPI document.
AUTHENTICATED_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: documented("No valid bearer token (`WWW-Authenticate: Bearer`)"),
    503: documented("The database or the token issuer's keys cannot be reached now (`Retry-After`)"),
}
OWNER_RESPONSES: dict[int | str, dict[str, Any]] = {
    **AUTHENTICATED_RESPONSES,
    403: documented("The path's `{user_id}` is not the token's user"),
}
