"""Error handling shared by every function: clients get `{"detail": ...}` JSON with the right status.

- validation errors → 422 (without echoing the input back: it may hold a password or 1 MiB);
- a resource that does not exist *for this user* → 404;
- the database unreachable or timing out → 503 with `Retry-After`;
- anything unexpected → 500 with no internals (the traceback goes to the log, not the client).
"""

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from todo_common.observability import logger

# How long a client should wait before trying again after a 503 of ours.
RETRY_AFTER = {"Retry-After": "5"}

DATABASE_UNAVAILABLE_DETAIL = "Database unavailable, try again shortly"
INTERNAL_ERROR_DETAIL = "Internal server error"

# What the database driver and pool raise when Postgres cannot be reached or does not answer in time.
DATABASE_UNAVAILABLE = (OperationalError, InterfaceError, PoolTimeoutError)


class ErrorBody(BaseModel):
    """What every error answers (its status says which)."""

    detail: str


class ValidationProblem(BaseModel):
    type: str
    loc: list[str | int]
    msg: str


class ValidationErrorBody(BaseModel):
    """422: what is wrong with the input, item by item (never the input itself); or, for a reused
    Idempotency-Key, one sentence."""

    detail: list[ValidationProblem] | str


def documented(description: str, model: type[BaseModel] = ErrorBody) -> dict[str, Any]:
    """An error response for the OpenAPI document."""
    return {"description": description, "model": model}


class NotFoundError(LookupError):
    """A resource that does not exist, or that belongs to another user (the two look the same)."""

    def __init__(self, detail: str = "Not found") -> None:
        super().__init__(detail)
        self.detail = detail


async def _validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
    errors = [{"type": e["type"], "loc": list(e["loc"]), "msg": e["msg"]} for e in exc.errors()]
    return JSONResponse({"detail": errors}, status_code=422)


# FastAPI answers 422 (json_invalid) for malformed JSON but 400 with this text for a body it cannot
# decode at all (not UTF-8, nested too deep): both are a body that is not JSON, so both are 422.
_UNPARSEABLE_BODY = "There was an error parsing the body"


async def _http_exception(request: Request, exc: Exception) -> Response:
    if isinstance(exc, StarletteHTTPException) and exc.status_code == 400 and exc.detail == _UNPARSEABLE_BODY:
        problem = {"type": "json_invalid", "loc": ["body"], "msg": "The body is not valid JSON"}
        return JSONResponse({"detail": [problem]}, status_code=422)
    return await http_exception_handler(request, exc)  # type: ignore[arg-type]


async def _not_found(_: Request, exc: NotFoundError) -> JSONResponse:
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
    # Each handler takes the exception class it is registered for (Starlette types them loosely).
    handlers: dict[Any, Any] = {
        RequestValidationError: _validation_error,
        StarletteHTTPException: _http_exception,
        NotFoundError: _not_found,
        **dict.fromkeys(DATABASE_UNAVAILABLE, _database_unavailable),
    }
    for exc_class, handler in handlers.items():
        app.add_exception_handler(exc_class, handler)
    app.add_middleware(InternalErrorMiddleware)
