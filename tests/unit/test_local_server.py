"""`make dev` serves every function as template.yaml routes it, with the docs of all of them."""

import os
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from localdev.routing import load_routes
from localdev.server import DevServerSettings, TemplateRouter, local_app, prepare_environment
from support.users import User


@pytest.fixture(scope="module")
def client() -> TestClient:
    return TestClient(TemplateRouter(load_routes()))


def test_local_server_routes_requests_to_the_functions(client: TestClient, user: User) -> None:
    headers = {"Authorization": f"Bearer {user.token}"}

    created = client.post(user.tasks_path, json={"title": "local"}, headers=headers)
    listed = client.get(user.tasks_path, headers=headers)

    assert created.status_code == 201
    assert [task["title"] for task in listed.json()] == ["local"]
    assert listed.headers["x-total-count"] == "1"
    assert client.get("/health").json() == {"status": "ok", "database": "ok"}


def test_local_server_answers_unrouted_requests_like_api_gateway(client: TestClient) -> None:
    response = client.post("/health")

    assert response.status_code == 404
    assert response.json() == {"message": "Not Found"}


def test_local_server_documents_every_route(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()

    assert {route.path for route in load_routes()} <= set(spec["paths"])
    # The docs' "Authorize" button: a bearer token, sent with every /api/{user_id}/… call.
    assert spec["components"]["securitySchemes"]["HTTPBearer"] == {
        "type": "http",
        "scheme": "bearer",
        "description": "A JWT from `POST /api/auth/login` or from Better Auth",
    }
    assert spec["paths"]["/api/{user_id}/tasks"]["get"]["security"] == [{"HTTPBearer": []}]
    assert "swagger-ui" in client.get("/docs").text
    assert "POST /mcp" in spec["info"]["description"]  # where MCP clients connect
    assert spec["paths"]["/mcp"]["post"]["security"] == [{"HTTPBearer": []}]


def test_prepare_environment_generates_a_secret_key_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SECRET_KEY")

    prepare_environment(tmp_path, database=False)
    first = os.environ["SECRET_KEY"]
    monkeypatch.delenv("SECRET_KEY")
    prepare_environment(tmp_path, database=False)

    assert os.environ["SECRET_KEY"] == first
    assert len(first) >= 32
    assert (tmp_path / "secret_key").stat().st_mode & 0o777 == 0o600


def test_prepare_environment_keeps_a_given_secret_key(tmp_path: Path) -> None:
    given = os.environ["SECRET_KEY"]

    prepare_environment(tmp_path, database=False)

    assert os.environ["SECRET_KEY"] == given
    assert not (tmp_path / "secret_key").exists()


FRONTEND = "http://localhost:3000"  # AllowedOrigins' default in template.yaml


def test_local_server_answers_cors_preflight_as_the_http_api_does(user: User) -> None:
    client = TestClient(local_app())
    preflight = client.options(
        user.task_path(1),
        headers={
            "Origin": FRONTEND,
            "Access-Control-Request-Method": "PATCH",
            "Access-Control-Request-Headers": "authorization, content-type, if-match",
        },
    )

    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == FRONTEND
    assert "PATCH" in preflight.headers["access-control-allow-methods"]
    assert "if-match" in preflight.headers["access-control-allow-headers"].lower()
    assert preflight.headers["access-control-max-age"] == "600"


def test_local_server_lets_the_frontend_read_what_the_template_exposes(user: User) -> None:
    client = TestClient(local_app())
    headers = {"Authorization": f"Bearer {user.token}", "Origin": FRONTEND}

    listed = client.get(user.tasks_path, headers=headers)
    foreign = client.get(user.tasks_path, headers={**headers, "Origin": "https://evil.example"})

    assert listed.headers["access-control-allow-origin"] == FRONTEND
    assert {"etag", "x-total-count"} <= set(listed.headers["access-control-expose-headers"].lower().split(", "))
    assert "access-control-allow-origin" not in foreign.headers


@pytest.mark.parametrize(("name", "value"), [("PORT", "70000"), ("PORT", "0"), ("DEV_WORKERS", "0")])
def test_the_dev_server_refuses_impossible_settings(monkeypatch: pytest.MonkeyPatch, name: str, value: str) -> None:
    monkeypatch.setenv(name, value)

    with pytest.raises(ValueError, match=name):
        DevServerSettings()
