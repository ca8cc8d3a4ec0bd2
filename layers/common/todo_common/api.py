"""Builds a function's FastAPI app: routers, error handling and request-body rules in one place."""

from collections.abc import Sequence
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from todo_common.errors import ErrorBody, ValidationErrorBody, install_error_handlers

MAX_BODY_BYTES = 1024 * 1024
_BODY_METHODS = {"POST", "PUT", "PATCH"}


def is_json(content_type: str) -> bool:
    """Whether a Content-Type names JSON (application/json or application/*+json)."""
    media_type = content_type.split(";", 1)[0].strip().lower()
    return media_type == "application/json" or (media_type.startswith("application/") and media_type.endswith("+json"))


class RequestBodyGuard:
    """Refuse bodies over 1 MiB (413) and bodies not declared as JSON (415) before any route runs."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in _BODY_METHODS:
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
            await _reject(413, "Request body is larger than 1 MiB", scope, receive, send)
            return
        body = bytearray()
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            if len(body) > MAX_BODY_BYTES:
                await _reject(413, "Request body is larger than 1 MiB", scope, receive, send)
                return
            if not message.get("more_body", False):
                break
        if body and not is_json(headers.get("content-type", "")):
            await _reject(415, "Content-Type must be application/json", scope, receive, send)
            return

        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": bytes(body), "more_body": False}

        await self.app(scope, replay, send)


async def _reject(status: int, detail: str, scope: Scope, receive: Receive, send: Send) -> None:
    await JSONResponse({"detail": detail}, status_code=status)(scope, receive, send)


def create_app(title: str, routers: Sequence[APIRouter], description: str = "") -> FastAPI:
    app = FastAPI(title=title, description=description, version="1.0.0")
    for router in routers:
        app.include_router(router)
    install_error_handlers(app)
    app.add_middleware(RequestBodyGuard)
    _document_request_errors(app)
    return app


def _document_request_errors(app: FastAPI) -> None:
    """Put in the OpenAPI document what the body guard and the validation handler answer, which
    FastAPI cannot see: 413 and 415 wherever there is a body, and 422 as this API writes it."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        spec = generate()
        schemas = spec.setdefault("components", {}).setdefault("schemas", {})
        for model in (ErrorBody, ValidationErrorBody):
            schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
            schemas.update(schema.pop("$defs", {}))
            schemas[model.__name__] = schema
        for operation in (op for path in spec.get("paths", {}).values() for op in path.values()):
            responses = operation["responses"]
            if "requestBody" in operation:
                responses.setdefault("413", _error_response("The body is larger than 1 MiB", ErrorBody))
                responses.setdefault("415", _error_response("The body is not JSON", ErrorBody))
            if "422" in responses:
                responses["422"] = _error_response("Invalid input", ValidationErrorBody)
        return spec

    app.openapi = openapi  # type: ignore[method-assign]


def _error_response(description: str, model: type[BaseModel]) -> dict[str, Any]:
    schema = {"$ref": f"#/components/schemas/{model.__name__}"}
    return {"description": description, "content": {"application/json": {"schema": schema}}}
