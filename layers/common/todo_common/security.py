"""FastAPI dependencies that authenticate the caller and check that a path is theirs."""

from functools import lru_cache
from typing import Annotated

from fastapi import Depends, HTTPException, Path, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from todo_common.observability import logger
from todo_common.settings import get_settings
from todo_common.tokens import InvalidToken, KeysUnavailable, Principal, TokenVerifier

_bearer = HTTPBearer(auto_error=False, description="A JWT from `POST /api/auth/login` or from Better Auth")


@lru_cache
def get_verifier() -> TokenVerifier:
    """The verifier of this execution environment (its JWKS cache lives as long as it does)."""
    return TokenVerifier.from_settings(get_settings())


async def current_principal(
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    if credentials is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "Not authenticated", headers={"WWW-Authenticate": "Bearer"})
    try:
        return get_verifier().verify(credentials.credentials)
    except InvalidToken as exc:
        logger.info("Token refused", extra={"reason": str(exc)})
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "Invalid or expired token",
            headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
        ) from None
    except KeysUnavailable:
        logger.warning("Token signing keys unavailable")
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE, "Cannot verify tokens right now", headers={"Retry-After": "5"}
        ) from None


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


async def path_owner(user_id: Annotated[str, Path()], principal: CurrentPrincipal) -> str:
    """The `{user_id}` of the path, once it is known to be the caller's own (else 403)."""
    if user_id != principal.user_id:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "You can only access your own resources")
    return user_id


OwnerId = Annotated[str, Depends(path_owner)]
