"""The MCP function through its Lambda handler (HTTP API v2.0 events), against real Postgres.

Every call in this module is a warm invocation of the same handler in one process, which is where a
naive Mangum wrapper around the SDK's session manager breaks (its `run()` works once).
"""

import dataclasses
import json
from collections.abc import Iterator
from typing import Any

import jsonschema
import psycopg
import pytest

from localdev.events import call, http_event, invoke
from localdev.pgproxy import CountingProxy
from support.auth import JwksServer, SigningKey, hs256_token, new_user_id
from support.mcp_messages import ACCEPT, HANDSHAKE_VERSION, MODERN_VERSION, call_tool, initialize, mcp_post, rpc_result
from support.users import User
from todo_common.models import BIGINT_MAX, TITLE_MAX_LENGTH

API_HOST = "https://abcdef1234.execute-api.us-east-1.amazonaws.com"  # the sample events' Host
METADATA_URL = f"{API_HOST}/.well-known/oauth-protected-resource/mcp"
TOOL_NAMES = {"add_task", "list_tasks", "complete_task", "update_task", "delete_task"}


def tasks_in_db(db: psycopg.Connection[Any], user_id: str) -> list[tuple[Any, ...]]:
    return db.execute(
        "SELECT id, title, description, completed FROM tasks WHERE user_id = %s ORDER BY id", (user_id,)
    ).fetchall()


def add(user: User, title: str, **arguments: Any) -> int:
    task_id: int = call_tool(user.token, "add_task", {"title": title, **arguments})["structuredContent"]["task_id"]
    return task_id


@pytest.fixture
def tools(user: User) -> dict[str, dict[str, Any]]:
    listed = rpc_result(mcp_post(user.token, "tools/list"))["tools"]
    return {tool["name"]: tool for tool in listed}


# The protocol


@pytest.mark.parametrize("version", ["2025-06-18", HANDSHAKE_VERSION])
def test_initialize_negotiates_the_version_and_opens_no_session(user: User, version: str) -> None:
    response = initialize(user.token, version)

    result = rpc_result(response)
    assert result["protocolVersion"] == version
    assert result["serverInfo"]["name"] == "todo-api"
    assert "tools" in result["capabilities"]
    assert "list_tasks" in result["instructions"]
    assert "mcp-session-id" not in response.headers  # stateless: nothing to remember between invocations


def test_warm_invocations_serve_whole_client_sessions(user: User, db: psycopg.Connection[Any]) -> None:
    for round_number in range(3):
        assert rpc_result(initialize(user.token))["protocolVersion"] == HANDSHAKE_VERSION
        accepted = mcp_post(user.token, "notifications/initialized")
        assert (accepted.status, accepted.body) == (202, "")
        assert {tool["name"] for tool in rpc_result(mcp_post(user.token, "tools/list"))["tools"]} == TOOL_NAMES
        add(user, f"round {round_number}")
        listed = call_tool(user.token, "list_tasks", {})["structuredContent"]["tasks"]
        assert [task["title"] for task in listed] == [f"round {n}" for n in range(round_number + 1)]

    assert [row[1] for row in tasks_in_db(db, user.id)] == ["round 0", "round 1", "round 2"]


def test_request_without_handshake_at_2026_07_28(user: User, db: psycopg.Connection[Any]) -> None:
    listed = rpc_result(mcp_post(user.token, "tools/list", version=MODERN_VERSION))
    added = call_tool(user.token, "add_task", {"title": "no handshake"}, version=MODERN_VERSION)

    assert {tool["name"] for tool in listed["tools"]} == TOOL_NAMES
    assert added["structuredContent"]["status"] == "created"
    assert [row[1] for row in tasks_in_db(db, user.id)] == ["no handshake"]


def test_request_at_2026_07_28_whose_headers_disagree_with_its_body_is_refused(
    user: User, db: psycopg.Connection[Any]
) -> None:
    message = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "tools/call",
        "params": {
            "name": "add_task",
            "arguments": {"title": "mismatch"},
            "_meta": {
                "io.modelcontextprotocol/protocolVersion": MODERN_VERSION,
                "io.modelcontextprotocol/clientCapabilities": {},
            },
        },
    }
    headers = {"accept": "application/json", "mcp-protocol-version": MODERN_VERSION, "mcp-method": "tools/list"}

    response = call("POST", "/mcp", token=user.token, json_body=message, headers=headers)

    assert response.status == 400
    assert "error" in response.json()
    assert tasks_in_db(db, user.id) == []


@pytest.mark.parametrize("method", ["GET", "DELETE"])
def test_get_and_delete_answer_405_at_once(user: User, proxy: CountingProxy, method: str) -> None:
    response = call(method, "/mcp", token=user.token, headers={"accept": "text/event-stream"})
    unauthenticated = call(method, "/mcp", headers={"accept": "text/event-stream"})

    assert response.status == 405
    assert response.headers["allow"] == "POST"
    assert isinstance(response.json()["detail"], str)
    assert unauthenticated.status == 401  # a probe without a token learns where to get one
    assert unauthenticated.headers["www-authenticate"] == f'Bearer resource_metadata="{METADATA_URL}"'
    assert proxy.round_trips == []


# The tools as clients see them


def test_tools_list_describes_every_tool_without_a_user_argument(tools: dict[str, dict[str, Any]]) -> None:
    assert set(tools) == TOOL_NAMES
    for tool in tools.values():
        assert tool["description"]
        assert tool["inputSchema"]["type"] == "object"
        assert tool["outputSchema"]["type"] == "object"
        assert "user" not in json.dumps(tool["inputSchema"]).lower()
    assert tools["add_task"]["inputSchema"]["required"] == ["title"]
    assert tools["add_task"]["inputSchema"]["properties"]["title"]["maxLength"] == TITLE_MAX_LENGTH
    assert tools["complete_task"]["inputSchema"]["properties"]["task_id"]["maximum"] == BIGINT_MAX
    assert tools["list_tasks"]["inputSchema"]["properties"]["status"]["enum"] == ["all", "pending", "completed"]


def test_tools_carry_the_annotations_their_effects_call_for(tools: dict[str, dict[str, Any]]) -> None:
    hints = {name: tool["annotations"] for name, tool in tools.items()}

    assert hints["list_tasks"] == {"readOnlyHint": True, "openWorldHint": False}
    assert hints["add_task"] == {
        "readOnlyHint": False,
        "destructiveHint": False,
        "idempotentHint": False,
        "openWorldHint": False,
    }
    for name in ("complete_task", "update_task", "delete_task"):
        assert hints[name]["idempotentHint"] is True, name
        assert hints[name]["destructiveHint"] is (name == "delete_task"), name
        assert hints[name]["openWorldHint"] is False


def test_every_tool_answers_structured_content_that_fits_its_output_schema(
    user: User, tools: dict[str, dict[str, Any]]
) -> None:
    task_id = add(user, "schema check", description="details")
    calls: list[tuple[str, dict[str, Any]]] = [
        ("list_tasks", {"status": "pending"}),
        ("update_task", {"task_id": task_id, "title": "renamed"}),
        ("complete_task", {"task_id": task_id}),
        ("delete_task", {"task_id": task_id}),
        ("add_task", {"title": "another"}),
    ]
    for name, arguments in calls:
        result = call_tool(user.token, name, arguments)

        assert result["isError"] is False, result
        jsonschema.validate(result["structuredContent"], tools[name]["outputSchema"])
        [text] = result["content"]
        assert json.loads(text["text"]) == result["structuredContent"]  # for clients that read only text


# The tools' effects


def test_each_tool_changes_the_users_tasks(user: User, db: psycopg.Connection[Any]) -> None:
    added = call_tool(user.token, "add_task", {"title": "Buy milk", "description": "2 litres"})["structuredContent"]
    task_id = added["task_id"]
    assert added == {"task_id": task_id, "status": "created", "title": "Buy milk"}
    assert tasks_in_db(db, user.id) == [(task_id, "Buy milk", "2 litres", False)]

    listed = call_tool(user.token, "list_tasks", {"status": "pending"})["structuredContent"]
    [summary] = listed["tasks"]
    assert summary == {
        "id": task_id,
        "title": "Buy milk",
        "description": "2 litres",
        "completed": False,
        "due_date": None,
        "due_at": None,
        "priority": None,
        "tags": [],
    }

    completed = call_tool(user.token, "complete_task", {"task_id": task_id})["structuredContent"]
    assert completed["status"] == "completed"
    assert tasks_in_db(db, user.id) == [(task_id, "Buy milk", "2 litres", True)]
    assert call_tool(user.token, "list_tasks", {"status": "pending"})["structuredContent"] == {
        "tasks": [],
        "total": 0,
        "next_cursor": None,
    }

    renamed = call_tool(user.token, "update_task", {"task_id": task_id, "title": "Buy oat milk"})
    assert renamed["structuredContent"] == {"task_id": task_id, "status": "updated", "title": "Buy oat milk"}
    assert tasks_in_db(db, user.id) == [(task_id, "Buy oat milk", "2 litres", True)]  # description stays

    call_tool(user.token, "update_task", {"task_id": task_id, "description": None})  # null clears it
    assert tasks_in_db(db, user.id) == [(task_id, "Buy oat milk", None, True)]

    deleted = call_tool(user.token, "delete_task", {"task_id": task_id})["structuredContent"]
    assert deleted == {"task_id": task_id, "status": "deleted", "title": "Buy oat milk"}
    assert tasks_in_db(db, user.id) == []


def test_a_user_id_argument_is_ignored(user: User, other_user: User, db: psycopg.Connection[Any]) -> None:
    add(user, "mine", user_id=other_user.id)

    assert [row[1] for row in tasks_in_db(db, user.id)] == ["mine"]
    assert tasks_in_db(db, other_user.id) == []


@pytest.mark.parametrize(
    ("name", "arguments"),
    [
        ("complete_task", {}),
        ("update_task", {"title": "taken over"}),
        ("delete_task", {}),
    ],
)
def test_another_users_task_is_unreachable(
    user: User, other_user: User, db: psycopg.Connection[Any], name: str, arguments: dict[str, Any]
) -> None:
    theirs = add(other_user, "theirs")

    result = call_tool(user.token, name, {"task_id": theirs, **arguments})

    assert result["isError"] is True
    assert result["content"] == [{"type": "text", "text": f"there is no task {theirs} on the user's list"}]
    assert "structuredContent" not in result
    assert tasks_in_db(db, other_user.id) == [(theirs, "theirs", None, False)]
    assert call_tool(user.token, "list_tasks", {})["structuredContent"] == {
        "tasks": [],
        "total": 0,
        "next_cursor": None,
    }


BAD_ARGUMENTS = {
    "no-title": ("add_task", {}),
    "empty-title": ("add_task", {"title": "   "}),
    "long-title": ("add_task", {"title": "x" * (TITLE_MAX_LENGTH + 1)}),
    "nul-in-title": ("add_task", {"title": "a\x00b"}),
    "title-not-text": ("add_task", {"title": 42}),
    "long-description": ("add_task", {"title": "t", "description": "d" * 1001}),
    "unknown-status": ("list_tasks", {"status": "done"}),
    "id-past-bigint": ("complete_task", {"task_id": BIGINT_MAX + 1}),
    "id-zero": ("delete_task", {"task_id": 0}),
    "id-not-a-number": ("delete_task", {"task_id": "abc"}),
    "nothing-to-update": ("update_task", {"task_id": 1}),
    "null-title": ("update_task", {"task_id": 1, "title": None}),
}


@pytest.mark.parametrize(("name", "arguments"), BAD_ARGUMENTS.values(), ids=BAD_ARGUMENTS.keys())
def test_bad_arguments_are_tool_errors_that_change_nothing(
    user: User, db: psycopg.Connection[Any], name: str, arguments: dict[str, Any]
) -> None:
    result = call_tool(user.token, name, arguments)

    assert result["isError"] is True
    [message] = result["content"]
    assert 0 < len(message["text"]) < 300
    assert "x" * 50 not in message["text"]  # the input is not echoed
    assert tasks_in_db(db, user.id) == []


@pytest.mark.parametrize(
    "params",
    [{"name": "add_task", "arguments": ["title"]}, {"name": 5}, {"arguments": {"title": "no name"}}],
    ids=["arguments-not-an-object", "name-not-text", "no-name"],
)
def test_a_malformed_call_is_a_protocol_error(user: User, db: psycopg.Connection[Any], params: dict[str, Any]) -> None:
    response = mcp_post(user.token, "tools/call", params)

    assert response.status == 200
    assert response.json()["error"]["code"] == -32602
    assert tasks_in_db(db, user.id) == []


def test_an_unknown_tool_is_a_protocol_error(user: User) -> None:
    response = mcp_post(user.token, "tools/call", {"name": "drop_tables", "arguments": {}})

    error = response.json()["error"]
    assert error["code"] == -32602
    assert "add_task" in error["message"]


def test_an_unexpected_failure_reveals_nothing(user: User, monkeypatch: pytest.MonkeyPatch, logs: Any) -> None:
    from todo_common.tools import TOOLS

    def broken(*_: Any) -> Any:
        raise RuntimeError("connection string postgres://secret@db")

    monkeypatch.setitem(TOOLS, "list_tasks", dataclasses.replace(TOOLS["list_tasks"], run=broken))

    response = mcp_post(user.token, "tools/call", {"name": "list_tasks", "arguments": {}})

    assert response.status == 200
    assert response.json()["error"] == {"code": -32603, "message": "Internal server error"}
    assert "secret" not in response.body
    assert "MCP handler failed" in logs.getvalue()


# Hostile requests


@pytest.mark.parametrize(
    ("body", "content_type", "status"),
    [
        ("{not json", "application/json", 400),
        ("", "application/json", 400),
        ('[{"jsonrpc": "2.0", "id": 1, "method": "tools/list"}]', "application/json", 400),
        ('{"jsonrpc": "2.0", "id": 1, "method": "tools/list"}', "text/plain", 415),
        (
            '{"jsonrpc": "2.0", "id": 1, "method": "x", "params": "' + "a" * (1024 * 1024) + '"}',
            "application/json",
            413,
        ),
        ("[" * 100_000 + "]" * 100_000, "application/json", 400),
        ('{"jsonrpc": "2.0", "id": ' + "9" * 5000 + ', "method": "tools/list"}', "application/json", 400),
    ],
    ids=["malformed", "empty", "batch", "not-json", "over-1-mib", "nested-100k-deep", "huge-number"],
)
def test_hostile_bodies_get_a_client_error(user: User, body: str, content_type: str, status: int) -> None:
    headers = {"content-type": content_type, "accept": "application/json, text/event-stream"}
    headers["mcp-protocol-version"] = HANDSHAKE_VERSION

    response = call("POST", "/mcp", token=user.token, body=body, headers=headers)

    assert response.status == status


# Authentication and discovery


def test_a_request_without_a_token_names_the_resource_metadata(proxy: CountingProxy) -> None:
    response = mcp_post(None, "tools/list")

    assert response.status == 401
    assert response.headers["www-authenticate"] == f'Bearer resource_metadata="{METADATA_URL}"'
    assert response.json() == {"detail": "Not authenticated"}
    assert proxy.round_trips == []


@pytest.mark.parametrize(
    "token",
    [
        hs256_token(new_user_id(), secret="not-the-secret-but-32-bytes-long-anyway"),
        hs256_token(new_user_id(), exp=1),
        hs256_token(new_user_id(), aud="https://elsewhere.example"),
        "not-a-jwt",
    ],
    ids=["wrong-key", "expired", "wrong-audience", "garbage"],
)
def test_a_bad_token_is_refused_with_the_resource_metadata(token: str) -> None:
    response = mcp_post(token, "tools/list")

    assert response.status == 401
    assert response.headers["www-authenticate"] == (f'Bearer error="invalid_token", resource_metadata="{METADATA_URL}"')


@pytest.mark.parametrize("path", ["/.well-known/oauth-protected-resource", "/.well-known/oauth-protected-resource/mcp"])
def test_protected_resource_metadata_describes_the_endpoint(path: str) -> None:
    response = call("GET", path)

    assert response.status == 200
    assert response.json() == {
        "resource": f"{API_HOST}/mcp",
        "authorization_servers": ["http://localhost:3000"],  # JWT_ISSUER
        "bearer_methods_supported": ["header"],
        "resource_name": "Todo API",
    }


@pytest.mark.parametrize(
    "host",
    ["[", 'evil.example"; x="y', "a b", "ünï.example", ""],
    ids=["bracket", "quote", "space", "non-ascii", "none"],
)
def test_a_host_header_that_is_no_host_is_refused_not_echoed(host: str) -> None:
    """Without MCP_RESOURCE_URL the endpoint's URL comes from the Host header (behind API Gateway,
    the API's own domain): anything else is a 400, never a 500 or a header parameter of its own."""
    message = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
    headers = {"accept": ACCEPT, "mcp-protocol-version": HANDSHAKE_VERSION}
    responses = []
    for method, path, token in (("GET", "/.well-known/oauth-protected-resource/mcp", None), ("POST", "/mcp", None)):
        event, route = http_event(
            method, path, token=token, json_body=message if method == "POST" else None, headers=headers
        )
        assert route is not None
        event["headers"]["host"] = host
        responses.append(invoke(event, route))

    assert [response.status for response in responses] == [400, 400]
    assert all(response.json() == {"detail": "Invalid Host header"} for response in responses)
    assert all("www-authenticate" not in response.headers for response in responses)


def test_every_route_that_reads_the_host_documents_its_400() -> None:
    from mcp_api.app import app

    paths = app.openapi()["paths"]

    assert {path: sorted(m for m, op in ops.items() if "400" in op["responses"]) for path, ops in paths.items()} == {
        "/mcp": ["delete", "get", "post"],
        "/.well-known/oauth-protected-resource": ["get"],
        "/.well-known/oauth-protected-resource/mcp": ["get"],
    }


@pytest.mark.parametrize("host", ["todo.example.com", "localhost:8000", "todo.example.com."])
def test_a_host_with_a_port_or_an_ipv6_address_names_its_own_metadata(host: str) -> None:
    event, route = http_event("GET", "/.well-known/oauth-protected-resource/mcp")
    assert route is not None
    event["headers"]["host"] = host

    assert invoke(event, route).json()["resource"] == f"https://{host}/mcp"


RESOURCE = "https://todo.example.com/mcp"
AUTH_SERVER = "https://auth.example.com/api/auth"


@pytest.fixture
def resource_configured(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    from mcp_api.routes import get_mcp_verifier
    from todo_common.security import get_verifier
    from todo_common.settings import get_settings

    def forget() -> None:
        for cached in (get_settings, get_verifier, get_mcp_verifier):
            cached.cache_clear()

    monkeypatch.setenv("MCP_RESOURCE_URL", RESOURCE)
    monkeypatch.setenv("MCP_AUTHORIZATION_SERVERS", AUTH_SERVER)
    forget()
    yield
    monkeypatch.undo()
    forget()


@pytest.mark.usefixtures("resource_configured")
def test_a_configured_resource_url_is_what_clients_are_told() -> None:
    metadata = call("GET", "/.well-known/oauth-protected-resource/mcp").json()
    challenge = mcp_post(None, "tools/list").headers["www-authenticate"]

    assert metadata["resource"] == RESOURCE
    assert metadata["authorization_servers"] == [AUTH_SERVER]
    assert challenge == 'Bearer resource_metadata="https://todo.example.com/.well-known/oauth-protected-resource/mcp"'


@pytest.mark.usefixtures("resource_configured")
def test_a_token_issued_for_the_mcp_resource_works_there_and_only_there(jwks: JwksServer) -> None:
    key = SigningKey.generate("EdDSA")
    jwks.keys.append(key.public_jwk())
    user_id = new_user_id()
    token = key.token(user_id, aud=RESOURCE)  # what Better Auth's OAuth provider issues to an MCP client

    added = call_tool(token, "add_task", {"title": "via OAuth"})

    assert added["structuredContent"]["status"] == "created"
    assert call("GET", f"/api/{user_id}/tasks", token=token).status == 401  # RFC 8707: not a REST API token


def test_better_auth_jwks_tokens_are_accepted(jwks: JwksServer, db: psycopg.Connection[Any]) -> None:
    from mcp_api.routes import get_mcp_verifier

    key = SigningKey.generate("ES256")
    jwks.keys.append(key.public_jwk())
    get_mcp_verifier.cache_clear()
    user_id = new_user_id()

    call_tool(key.token(user_id, email="ba@example.com"), "add_task", {"title": "from Better Auth"})

    assert [row[1] for row in tasks_in_db(db, user_id)] == ["from Better Auth"]


def test_signing_keys_out_of_reach_answer_503(jwks: JwksServer) -> None:
    from mcp_api.routes import get_mcp_verifier

    get_mcp_verifier.cache_clear()
    jwks.failing = True
    try:
        response = mcp_post(SigningKey.generate("EdDSA").token(new_user_id()), "tools/list")
    finally:
        jwks.failing = False
        get_mcp_verifier.cache_clear()

    assert response.status == 503
    assert response.headers["retry-after"]
