"""`make dev`: every function of template.yaml behind one local port, on the embedded Postgres.

- `DATABASE_URL` unset → an embedded Postgres keeps its data under `.data/postgres`;
- `SECRET_KEY` unset → one is generated once and kept in `.data/secret_key`;
- migrations are applied, then each request goes to the app of the function that template.yaml
  routes it to; `/docs` shows the OpenAPI docs of all of them together.
"""

import importlib
import os
import secrets
import signal
import sys
from pathlib import Path
from typing import Annotated, Any

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

from localdev import ROOT
from localdev.database import migrate, start_embedded_postgres
from localdev.routing import Route, load_cors, load_routes, resolve

DATA = ROOT / ".data"


class DevServerSettings(BaseSettings):
    """`make dev`'s own settings (the functions' are todo_common.settings)."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    PORT: Annotated[int, Field(ge=1, le=65535)] = 8000
    # Like Lambda, a worker serves one request at a time; several serve requests side by side.
    DEV_WORKERS: Annotated[int, Field(ge=1, le=64)] = 4


def prepare_environment(data: Path = DATA, *, database: bool = True) -> None:
    """Fill in SECRET_KEY (and DATABASE_URL) for local runs when neither the environment nor .env sets them."""
    from todo_common.settings import Settings

    settings = Settings()
    if settings.SECRET_KEY is None:
        key_file = data / "secret_key"
        if not key_file.exists():
            data.mkdir(parents=True, exist_ok=True)
            key_file.write_text(secrets.token_urlsafe(48))
            key_file.chmod(0o600)
        os.environ["SECRET_KEY"] = key_file.read_text().strip()
    if database and settings.DATABASE_URL is None:
        os.environ["DATABASE_URL"] = start_embedded_postgres(data / "postgres")


def _function_app(route: Route) -> ASGIApp:
    """The ASGI app behind a Lambda handler `pkg.module.handler`: `pkg.module.app`."""
    module = importlib.import_module(route.handler.rsplit(".", 1)[0])
    app: ASGIApp = module.app
    return app


class TemplateRouter:
    """Routes each request as API Gateway would route it to the functions of template.yaml."""

    def __init__(self, routes: list[Route]) -> None:
        self.routes = routes
        self.apps = {route.function: _function_app(route) for route in routes}
        self.docs = _docs_app([app for app in self.apps.values() if isinstance(app, FastAPI)])

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        resolved = resolve(self.routes, scope["method"], scope["path"])
        if resolved is not None:
            await self.apps[resolved[0].function](scope, receive, send)
        elif scope["path"] in ("/docs", "/openapi.json"):
            await self.docs(scope, receive, send)
        else:  # what API Gateway answers for a request no route matches
            await JSONResponse({"message": "Not Found"}, status_code=404)(scope, receive, send)


def _docs_app(apps: list[FastAPI]) -> FastAPI:
    description = "Every function of template.yaml on one port. MCP clients connect to `POST /mcp` with a bearer token."
    docs = FastAPI(title="Todo API", description=description, version="1.0.0", docs_url=None, openapi_url=None)
    spec: dict[str, Any] = {}

    @docs.get("/openapi.json", include_in_schema=False)
    def openapi() -> dict[str, Any]:
        if not spec:
            spec.update(docs.openapi())
            for app in apps:
                part = app.openapi()
                spec.setdefault("paths", {}).update(part.get("paths", {}))
                for section, entries in part.get("components", {}).items():
                    spec.setdefault("components", {}).setdefault(section, {}).update(entries)
        return spec

    @docs.get("/docs", include_in_schema=False)
    def swagger() -> HTMLResponse:
        return get_swagger_ui_html(openapi_url="/openapi.json", title="Todo API")

    return docs


def local_app() -> ASGIApp:
    """Every function behind one port, with CORS exactly as the HTTP API answers it."""
    cors = load_cors()
    return CORSMiddleware(
        TemplateRouter(load_routes()),
        allow_origins=cors.allow_origins,
        allow_headers=cors.allow_headers,
        allow_methods=cors.allow_methods,
        expose_headers=cors.expose_headers,
        max_age=cors.max_age,
    )


def main() -> None:
    import uvicorn

    # uvicorn re-raises SIGTERM after shutting down; as an exit, atexit still stops the embedded Postgres.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    prepare_environment()
    from todo_common.settings import get_settings

    settings = get_settings()
    assert settings.DATABASE_URL is not None
    migrate(settings.DATABASE_URL.get_secret_value())
    server = DevServerSettings()
    origin = f"http://127.0.0.1:{server.PORT}"
    print(f"Todo API on {origin}  (docs: {origin}/docs, MCP: {origin}/mcp)")
    # Like Lambda, a worker serves one request at a time on its own database connection; several
    # workers serve requests side by side, so a slow chat turn or a lock wait stalls only its own.
    uvicorn.run(
        "localdev.server:local_app",
        factory=True,
        workers=server.DEV_WORKERS,
        host="127.0.0.1",
        port=server.PORT,
        log_level="info",
    )


if __name__ == "__main__":
    main()
