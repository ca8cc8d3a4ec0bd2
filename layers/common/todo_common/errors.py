"""Error handling shared by every function: clients get `{"detail": ...}` JSON with the right status.

- validation errors → 422 (without echoing the input back: it may hold a password or 1 MiB);
- a resource that does not exist *for this user* → 404;
- the database unreachable or timing out → 503 with `Retry-After`;
- anything unexpected → 500 with no internals (the traceback goes to the log, not the client).
"""

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from todo_common.observability import logger

# How long a client should wait before trying again after a 503 of ours.
RETRY_AFTER = {"Retry-After": "5"}

DATABASE_UNAVAILABLE_DETAIL = "Database unavailable, try again shortly"
INTERNAL_ERROR_DETAIL = "Internal server error"

# What the database driver and pool raise when Postgres cannot be reached or does not answer in time.
DATABASE_UNAVAILABLE = (OperationalError, InterfaceError, PoolTimeoutError)


class NotFoundError(LookupError):
    """A resource that does not exist, or that belongs to another user (the two look the same)."""

    def __init__(self, detail: str = "Not found") -> None:
        super().__init__(detail)
        self.detail = detail


async def _validation_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [{"type": e["type"], "loc": list(e["loc"]), "msg": e["msg"]} for e in exc.errors()]
    return JSONResponse({"detail": errors}, status_code=422)


async def _not_found(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, NotFoundError)
    return JSONResponse({"detail": exc.detail}, status_code=404)


async def _database_unavailable(_: Request, exc: Exception) -> JSONResponse:
    logger.warning("Database unavailable", extra={"error": type(exc.__cause__ or exc).__name__})
    return JSONResponse({"detail": DATABASE_UNAVAILABLE_DETAIL}, status_code=503, headers=RETRY_AFTER)


class InternalErrorMiddleware:
    """Turn an unhandled exception into a JSON 500 that reveals nothing, and log it once."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception:
            logger.exception("Unhandled error", extra={"method": scope["method"], "path": scope["path"]})
            if started:
                raise
            await JSONResponse({"detail": INTERNAL_ERROR_DETAIL}, status_code=500)(scope, receive, send)


def install_error_handlers(app: FastAPI) -> None:
    handlers: dict[Any, Any] = {
        RequestValidationError: _validation_error,
        NotFoundError: _not_found,
        **dict.fromkeys(DATABASE_UNAVAILABLE, _database_unavailable),
    }
    for exc_class, handler in handlers.items():
        app.add_exception_handler(exc_class, handler)
    app.add_middleware(InternalErrorMiddleware)
