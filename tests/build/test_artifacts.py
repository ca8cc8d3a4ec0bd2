"""What `sam build` produces runs the way Lambda runs it, and answers as the source tree does.

Both builds come from the real `make build`, which is plain `sam build`: the template's own (arm64,
what deploys) and an x86_64 variant, which this machine can run. Both ship the same packages,
compiled, with native code for their architecture only. Each function of the x86_64 build then
runs in a fresh Python 3.12 process with no site-packages: only its build folder, the layer's
python/ folder and what Lambda's runtime provides (boto3) on the path, bytecode writing off, real
API Gateway v2.0 events, the test database. Nothing in the build folder may change.
"""

import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto.server import ThreadedMotoServer

from localdev.builds import build_stack, install_lambda_runtime, template_architecture
from localdev.events import call, http_event
from localdev.fake_llm import ScriptedModel, text
from localdev.lambda_runner import run_in_fresh_process
from localdev.requirements import RUNTIME_PROVIDED
from localdev.routing import load_handlers
from support.auth import AUDIENCE, ISSUER, SECRET_KEY, hs256_token, new_user_id
from support.database import Database
from support.mcp_messages import ACCEPT, HANDSHAKE_VERSION

FUNCTIONS = {function: handler.split(".", 1)[0] for function, handler in load_handlers().items()}  # → package
# What each function needs beyond the layer: it ships these, and the layer does not.
OWN_DEPENDENCIES = {
    "AuthFunction": {"bcrypt", "email_validator"},
    "ChatFunction": {"openai"},
    "McpFunction": {"mcp"},
    "TasksFunction": set(),
}
PYTHON = getattr(sys, "_base_executable", sys.executable)  # the interpreter itself, not the venv
ELF_MACHINES = {"x86_64": 62, "arm64": 183}  # e_machine of an ELF header: EM_X86_64, EM_AARCH64


@pytest.fixture(scope="session")
def build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The x86_64 build: the one that runs on this machine."""
    return build_stack(tmp_path_factory.mktemp("sam"), "x86_64")


@pytest.fixture(scope="session")
def deployed_build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The build of template.yaml as it is: what `sam deploy` ships."""
    return build_stack(tmp_path_factory.mktemp("sam-deployed"))


BUILDS = {"x86_64": "build", template_architecture(): "deployed_build"}


@pytest.fixture(params=sorted(BUILDS))
def any_build(request: pytest.FixtureRequest) -> tuple[str, Path]:
    """Each build, with its architecture."""
    return request.param, request.getfixturevalue(BUILDS[request.param])


@pytest.fixture(scope="session")
def runtime(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return install_lambda_runtime(tmp_path_factory.mktemp("runtime"))


def _files(folder: Path) -> dict[str, float]:
    return {str(p.relative_to(folder)): p.stat().st_mtime for p in folder.rglob("*")}


def _packages(folder: Path) -> set[str]:
    """The import names a folder provides (packages and modules; no metadata, no caches)."""
    names = {p.name.removesuffix(".py") for p in folder.iterdir() if p.is_dir() or p.suffix == ".py"}
    return {name for name in names if not name.endswith((".dist-info", ".libs")) and name != "__pycache__"}


def run_built(
    build: Path, runtime: Path, function: str, handler: str, events: list[dict[str, Any]], env: dict[str, str]
) -> Any:
    path = os.pathsep.join([str(build / function), str(build / "CommonLayer" / "python"), str(runtime)])
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
        # The sample events all come from one address: the suite's limits for it (tests/conftest.py).
        **{name: os.environ[name] for name in ("LOGIN_FAILURES_PER_ADDRESS", "SIGNUPS_PER_ADDRESS")},
    }


def test_each_function_ships_its_own_dependencies_and_the_layer_the_shared_ones(any_build: tuple[str, Path]) -> None:
    _, build = any_build
    layer = _packages(build / "CommonLayer" / "python")
    for function, package in FUNCTIONS.items():
        shipped = _packages(build / function)

        assert package in shipped, function
        assert OWN_DEPENDENCIES.get(function, set()) <= shipped, function
        assert shipped & layer == set(), f"{function} ships what the layer has"
        assert not (build / function / "requirements.txt").exists()
        assert not (build / function / "bin").exists()
    assert {"todo_common", "fastapi", "sqlmodel", "psycopg", "jwt", "aws_lambda_powertools"} <= layer
    assert layer & set().union(*OWN_DEPENDENCIES.values()) == set()
    runtime_modules = {"boto3", "botocore", "s3transfer", "jmespath", "dateutil", "six", "urllib3"}
    assert len(runtime_modules) == len(RUNTIME_PROVIDED)
    for folder in (build / "CommonLayer" / "python", *(build / function for function in FUNCTIONS)):
        assert _packages(folder) & runtime_modules == set(), f"{folder.name} ships what the runtime has"


def test_every_module_ships_its_bytecode_unchecked(any_build: tuple[str, Path]) -> None:
    _, build = any_build
    sources = list(build.rglob("*.py"))
    missing, checked = [], []
    for source in sources:
        compiled = source.parent / "__pycache__" / f"{source.stem}.cpython-312.pyc"
        if not compiled.is_file():
            missing.append(source)
        elif int.from_bytes(compiled.read_bytes()[4:8], "little") != 0b01:  # hash-based, not checked
            checked.append(source)

    assert len(sources) > 1000
    assert (missing, checked) == ([], [])


def test_native_code_is_built_for_the_builds_architecture_only(any_build: tuple[str, Path]) -> None:
    """An x86_64 wheel in the arm64 artifact would deploy and fail at its first import."""
    architecture, build = any_build
    machines: dict[Path, int] = {}
    for path in build.rglob("*.so*"):
        header = path.read_bytes()[:20] if path.is_file() else b""
        if header.startswith(b"\x7fELF"):
            machines[path.relative_to(build)] = int.from_bytes(header[18:20], "little")

    assert len(machines) > 10  # pydantic-core, psycopg-binary, bcrypt, cryptography, …
    assert {path for path, machine in machines.items() if machine != ELF_MACHINES[architecture]} == set()


@pytest.fixture
def ssm() -> Iterator[str]:
    """An SSM endpoint (moto's server) that a fresh process can reach: its URL."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


def test_built_function_reads_its_secrets_with_the_runtimes_boto3(
    build: Path, runtime: Path, env: dict[str, str], ssm: str
) -> None:
    aws = {"AWS_DEFAULT_REGION": "eu-central-1", "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
    client = boto3.client(
        "ssm",
        endpoint_url=ssm,
        region_name=aws["AWS_DEFAULT_REGION"],
        aws_access_key_id=aws["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=aws["AWS_SECRET_ACCESS_KEY"],
    )
    for name, value in (("database-url", env["DATABASE_URL"]), ("secret-key", env["SECRET_KEY"])):
        client.put_parameter(Name=f"/todo-api/test/{name}", Value=value, Type="SecureString")
    secrets_by_parameter = {
        "DATABASE_URL_PARAMETER": "/todo-api/test/database-url",
        "SECRET_KEY_PARAMETER": "/todo-api/test/secret-key",
        "AWS_ENDPOINT_URL": ssm,
    }
    environment = {k: v for k, v in env.items() if k not in ("DATABASE_URL", "SECRET_KEY")}
    user_id = new_user_id()
    requests = [
        http_event("GET", "/health")[0],
        http_event("POST", f"/api/{user_id}/tasks", token=hs256_token(user_id), json_body={"title": "from SSM"})[0],
    ]

    run = run_built(
        build, runtime, "TasksFunction", "tasks_api.app.handler", requests, environment | aws | secrets_by_parameter
    )

    assert [response["statusCode"] for response in run["responses"]] == [200, 201]
    assert "botocore" in run["modules"]  # from the runtime folder: nothing else on the path has it


def test_built_tasks_function_answers_like_the_source(build: Path, runtime: Path, env: dict[str, str]) -> None:
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

    run = run_built(build, runtime, "TasksFunction", "tasks_api.app.handler", requests, env)

    statuses = [response["statusCode"] for response in run["responses"]]
    assert statuses == [200, 201, 200, 422, 403, 200, 200]  # the zone database ships with the layer
    assert json.loads(run["responses"][2]["body"])[0]["title"] == "built"
    assert run["responses"][2]["headers"]["x-total-count"] == "1"
    assert "openai" not in run["modules"]
    source = call("GET", f"/api/{user_id}/tasks", token=token)
    assert json.loads(run["responses"][2]["body"]) == source.json()


def test_built_auth_function_signs_up_and_logs_in(build: Path, runtime: Path, env: dict[str, str]) -> None:
    email = f"{new_user_id()}@example.com"
    credentials = {"email": email, "password": "correct-horse-9"}
    requests = [
        http_event("POST", "/api/auth/signup", json_body=credentials)[0],
        http_event("POST", "/api/auth/login", json_body=credentials)[0],
        http_event("POST", "/api/auth/signup", json_body=credentials)[0],
    ]

    run = run_built(build, runtime, "AuthFunction", "auth_api.app.handler", requests, env)

    assert [response["statusCode"] for response in run["responses"]] == [201, 200, 409]
    token = json.loads(run["responses"][1]["body"])["access_token"]
    assert call("GET", "/api/auth/me", token=token).json()["email"] == email  # the source accepts it
    assert "openai" not in run["modules"]


def test_built_chat_function_runs_a_turn(build: Path, runtime: Path, env: dict[str, str], model: ScriptedModel) -> None:
    user_id = new_user_id()
    token = hs256_token(user_id)
    model.script(text("Hello from the built function."))
    chat_env = {**env, "GEMINI_API_KEY": model.api_key, "LLM_BASE_URL": model.base_url, "LLM_MODEL": "gemini-test"}
    requests = [
        http_event("POST", f"/api/{user_id}/chat", token=token, json_body={"message": "hi"})[0],
        http_event("GET", f"/api/{user_id}/conversations", token=token)[0],
    ]

    run = run_built(build, runtime, "ChatFunction", "chat_api.app.handler", requests, chat_env)

    chat, conversations = (json.loads(response["body"]) for response in run["responses"])
    assert chat["response"] == "Hello from the built function."
    assert [c["id"] for c in conversations] == [chat["conversation_id"]]


def test_built_mcp_function_answers_warm_invocations(build: Path, runtime: Path, env: dict[str, str]) -> None:
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

    run = run_built(build, runtime, "McpFunction", "mcp_api.app.handler", requests, env)

    assert [response["statusCode"] for response in run["responses"]] == [200, 200, 200, 200, 405]
    listed = json.loads(run["responses"][3]["body"])["result"]["structuredContent"]["tasks"]
    assert [task["title"] for task in listed] == ["built"]
    assert "openai" not in run["modules"]
