"""What `make build` produces runs the way Lambda runs it, and answers as the source tree does.

An x86_64 variant of the template is built (this machine cannot run arm64 wheels) with the real
`make build`. Each built function then runs in a fresh Python 3.12 process with no site-packages:
only its build folder and the layer's python/ folder on the path, bytecode writing off, real
API Gateway v2.0 events, the test database. Nothing in the build folder may change.
"""

import json
import os
import sys
from pathlib import Path
from typing import Any

import pytest

from conftest import Database
from localdev.x86_build import build_x86_64
from support.auth import AUDIENCE, ISSUER, SECRET_KEY, hs256_token, new_user_id
from support.events import call, http_event
from support.fake_llm import ScriptedModel, text
from support.lambda_runner import run_in_fresh_process
from support.mcp_messages import ACCEPT, HANDSHAKE_VERSION

ROOT = Path(__file__).resolve().parents[2]
RUNNER = ROOT / "tests/support/lambda_runner.py"
FUNCTIONS = {
    "AuthFunction": "auth_api",
    "ChatFunction": "chat_api",
    "McpFunction": "mcp_api",
    "TasksFunction": "tasks_api",
}
PYTHON = getattr(sys, "_base_executable", sys.executable)  # the interpreter itself, not the venv


@pytest.fixture(scope="session")
def build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_x86_64(tmp_path_factory.mktemp("sam"))


def _files(folder: Path) -> dict[str, float]:
    return {str(p.relative_to(folder)): p.stat().st_mtime for p in folder.rglob("*")}


def run_built(build: Path, function: str, handler: str, events: list[dict[str, Any]], env: dict[str, str]) -> Any:
    path = os.pathsep.join([str(build / function), str(build / "CommonLayer" / "python")])
    environment = {"PATH": os.environ["PATH"], "PYTHONPATH": path, "PYTHONDONTWRITEBYTECODE": "1", **env}
    before = _files(build)
    run = run_in_fresh_process(handler, events, environment, build.parent, python=[PYTHON, "-S"])
    assert _files(build) == before  # read-only code: nothing written, nothing compiled
    return run


@pytest.fixture
def env(database: Database) -> dict[str, str]:
    return {
        "DATABASE_URL": database.url,
        "SECRET_KEY": SECRET_KEY,
        "JWT_ISSUER": ISSUER,
        "JWT_AUDIENCE": AUDIENCE,
        "BCRYPT_ROUNDS": "4",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_METRICS_NAMESPACE": "TodoApiBuild",
    }


def test_functions_ship_only_their_own_package(build: Path) -> None:
    # Every dependency comes once, from the layer: nothing is installed twice.
    shipped = {function: sorted(p.name for p in (build / function).iterdir()) for function in FUNCTIONS}

    assert shipped == {function: [package] for function, package in FUNCTIONS.items()}


def test_build_ships_compiled_bytecode(build: Path) -> None:
    for module in ("TasksFunction/tasks_api/app", "AuthFunction/auth_api/app", "CommonLayer/python/todo_common/db"):
        folder, name = (build / module).parent, (build / module).name
        assert (folder / "__pycache__" / f"{name}.cpython-312.pyc").is_file(), module
    assert list((build / "CommonLayer/python/fastapi").glob("__pycache__/*.cpython-312.pyc"))


def test_built_tasks_function_answers_like_the_source(build: Path, env: dict[str, str]) -> None:
    user_id = new_user_id()
    token = hs256_token(user_id)
    requests = [
        http_event("GET", "/health")[0],
        http_event("POST", f"/api/{user_id}/tasks", token=token, json_body={"title": "built"})[0],
        http_event("GET", f"/api/{user_id}/tasks", token=token)[0],
        http_event("GET", f"/api/{user_id}/tasks/abc", token=token)[0],
        http_event("GET", f"/api/{new_user_id()}/tasks", token=token)[0],
        http_event("PUT", f"/api/{user_id}/preferences", token=token, json_body={"timezone": "Pacific/Kiritimati"})[0],
        http_event("GET", f"/api/{user_id}/tasks", token=token, query={"overdue": "true", "sort": "due"})[0],
    ]

    run = run_built(build, "TasksFunction", "tasks_api.app.handler", requests, env)

    statuses = [response["statusCode"] for response in run["responses"]]
    assert statuses == [200, 201, 200, 422, 403, 200, 200]  # the zone database ships with the layer
    assert json.loads(run["responses"][2]["body"])[0]["title"] == "built"
    assert run["responses"][2]["headers"]["x-total-count"] == "1"
    assert "openai" not in run["modules"]
    source = call("GET", f"/api/{user_id}/tasks", token=token)
    assert json.loads(run["responses"][2]["body"]) == source.json()


def test_built_auth_function_signs_up_and_logs_in(build: Path, env: dict[str, str]) -> None:
    email = f"{new_user_id()}@example.com"
    credentials = {"email": email, "password": "correct-horse-9"}
    requests = [
        http_event("POST", "/api/auth/signup", json_body=credentials)[0],
        http_event("POST", "/api/auth/login", json_body=credentials)[0],
        http_event("POST", "/api/auth/signup", json_body=credentials)[0],
    ]

    run = run_built(build, "AuthFunction", "auth_api.app.handler", requests, env)

    assert [response["statusCode"] for response in run["responses"]] == [201, 200, 409]
    token = json.loads(run["responses"][1]["body"])["access_token"]
    assert call("GET", "/api/auth/me", token=token).json()["email"] == email  # the source accepts it
    assert "openai" not in run["modules"]


def test_built_chat_function_runs_a_turn(build: Path, env: dict[str, str], model: ScriptedModel) -> None:
    user_id = new_user_id()
    token = hs256_token(user_id)
    model.script(text("Hello from the built function."))
    chat_env = {**env, "GEMINI_API_KEY": model.api_key, "LLM_BASE_URL": model.base_url, "LLM_MODEL": "gemini-test"}
    requests = [
        http_event("POST", f"/api/{user_id}/chat", token=token, json_body={"message": "hi"})[0],
        http_event("GET", f"/api/{user_id}/conversations", token=token)[0],
    ]

    run = run_built(build, "ChatFunction", "chat_api.app.handler", requests, chat_env)

    chat, conversations = (json.loads(response["body"]) for response in run["responses"])
    assert chat["response"] == "Hello from the built function."
    assert [c["id"] for c in conversations] == [chat["conversation_id"]]


def test_built_mcp_function_answers_warm_invocations(build: Path, env: dict[str, str]) -> None:
    user_id = new_user_id()
    token = hs256_token(user_id)
    headers = {"accept": ACCEPT, "mcp-protocol-version": HANDSHAKE_VERSION}

    def message(method: str, params: dict[str, Any]) -> dict[str, Any]:
        body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": params}
        return http_event("POST", "/mcp", token=token, json_body=body, headers=headers)[0]

    initialize = {"protocolVersion": HANDSHAKE_VERSION, "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}
    requests = [
        message("initialize", initialize),
        message("tools/list", {}),
        message("tools/call", {"name": "add_task", "arguments": {"title": "built"}}),
        message("tools/call", {"name": "list_tasks", "arguments": {}}),
        http_event("GET", "/mcp", token=token)[0],
    ]

    run = run_built(build, "McpFunction", "mcp_api.app.handler", requests, env)

    assert [response["statusCode"] for response in run["responses"]] == [200, 200, 200, 200, 405]
    listed = json.loads(run["responses"][3]["body"])["result"]["structuredContent"]["result"]
    assert [task["title"] for task in listed] == ["built"]
    assert "openai" not in run["modules"]
