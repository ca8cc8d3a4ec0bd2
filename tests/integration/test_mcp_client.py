"""The official MCP SDK client against `make dev`'s server on a real socket: what a user's AI client
(Claude Code, Cursor, the MCP Inspector) does with a pasted token."""

import asyncio
import socket
import threading
import time
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from contextlib import asynccontextmanager
from typing import Any

import httpx2
import psycopg
import pytest
import uvicorn
from mcp.client.session import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError

from localdev.routing import load_routes
from localdev.server import TemplateRouter
from support.auth import JwksServer, SigningKey, new_user_id
from support.mcp_messages import HANDSHAKE_VERSION, MODERN_VERSION
from support.users import User


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    """The local server (every function, routed as template.yaml routes them) on 127.0.0.1."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(TemplateRouter(load_routes()), log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "the local server did not start"
        time.sleep(0.01)
    yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    server.should_exit = True
    thread.join(timeout=10)


@asynccontextmanager
async def connected(base_url: str, token: str, *, handshake: bool = True) -> AsyncIterator[ClientSession]:
    """A client session with the token in its Authorization header, as a user configures one."""
    async with (
        httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}) as http,
        streamable_http_client(f"{base_url}/mcp", http_client=http) as (read, write),
        ClientSession(read, write) as session,
    ):
        await (session.initialize() if handshake else session.discover())
        yield session


def run(scenario: Callable[[], Coroutine[Any, Any, None]]) -> None:
    # A loop of its own, never made the thread's current one: the Mangum adapters that the local
    # server imports have set that, and asyncio.run would unset it (leaving it unclosed).
    asyncio.run(scenario(), loop_factory=asyncio.new_event_loop)


def titles(db: psycopg.Connection[Any], user_id: str) -> dict[str, bool]:
    rows = db.execute("SELECT title, completed FROM tasks WHERE user_id = %s", (user_id,)).fetchall()
    return dict(rows)


def test_sdk_client_manages_a_users_tasks(base_url: str, user: User, db: psycopg.Connection[Any]) -> None:
    async def scenario() -> None:
        async with connected(base_url, user.token) as session:
            assert session.protocol_version == HANDSHAKE_VERSION
            assert session.server_info is not None
            assert session.server_info.name == "todo-api"
            tools = {tool.name: tool for tool in (await session.list_tools()).tools}
            assert set(tools) == {"add_task", "list_tasks", "complete_task", "update_task", "delete_task"}
            assert all(tool.output_schema for tool in tools.values())
            assert tools["list_tasks"].annotations is not None
            assert tools["list_tasks"].annotations.read_only_hint
            assert tools["delete_task"].annotations is not None
            assert tools["delete_task"].annotations.destructive_hint

            # The client checks each result against its tool's output schema as it arrives.
            added = await session.call_tool("add_task", {"title": "Water the plants"})
            kept = await session.call_tool("add_task", {"title": "Call mom"})
            assert titles(db, user.id) == {"Water the plants": False, "Call mom": False}
            plants = added.structured_content["task_id"]

            await session.call_tool("complete_task", {"task_id": plants})
            assert titles(db, user.id) == {"Water the plants": True, "Call mom": False}

            await session.call_tool("update_task", {"task_id": plants, "title": "Water the garden"})
            assert titles(db, user.id) == {"Water the garden": True, "Call mom": False}

            pending = await session.call_tool("list_tasks", {"status": "pending"})
            assert [task["title"] for task in pending.structured_content["tasks"]] == ["Call mom"]

            await session.call_tool("delete_task", {"task_id": kept.structured_content["task_id"]})
            assert titles(db, user.id) == {"Water the garden": True}

    run(scenario)


def test_sdk_client_without_the_handshake(base_url: str, user: User, db: psycopg.Connection[Any]) -> None:
    async def scenario() -> None:
        async with connected(base_url, user.token, handshake=False) as session:
            assert session.protocol_version == MODERN_VERSION
            result = await session.call_tool("add_task", {"title": "Book flights"})
            assert result.is_error is False

    run(scenario)
    assert titles(db, user.id) == {"Book flights": False}


def test_sdk_client_cannot_touch_another_users_task(
    base_url: str, user: User, other_user: User, db: psycopg.Connection[Any]
) -> None:
    async def scenario() -> None:
        async with connected(base_url, other_user.token) as theirs:
            task_id = (await theirs.call_tool("add_task", {"title": "private"})).structured_content["task_id"]
        async with connected(base_url, user.token) as mine:
            for name in ("complete_task", "delete_task"):
                result = await mine.call_tool(name, {"task_id": task_id})
                assert result.is_error is True
            assert (await mine.call_tool("list_tasks", {})).structured_content == {
                "tasks": [],
                "total": 0,
                "next_cursor": None,
            }

    run(scenario)
    assert titles(db, other_user.id) == {"private": False}


def test_sdk_client_with_a_better_auth_token(base_url: str, jwks: JwksServer, db: psycopg.Connection[Any]) -> None:
    from mcp_api.routes import get_mcp_verifier

    key = SigningKey.generate("EdDSA")  # Better Auth's default
    jwks.keys.append(key.public_jwk())
    get_mcp_verifier.cache_clear()
    user_id = new_user_id()

    async def scenario() -> None:
        async with connected(base_url, key.token(user_id, email="ba@example.com")) as session:
            await session.call_tool("add_task", {"title": "from the web app's user"})

    run(scenario)
    assert titles(db, user_id) == {"from the web app's user": False}


def test_discovery_over_the_socket(base_url: str) -> None:
    """What a client that has no token yet finds: the 401's pointer, then the metadata document."""
    with httpx2.Client() as http:
        refused = http.post(f"{base_url}/mcp", json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"})
        challenge = refused.headers["www-authenticate"]
        metadata_url = challenge.split('resource_metadata="', 1)[1].rstrip('"')
        metadata = http.get(metadata_url).json()

    assert refused.status_code == 401
    assert metadata_url == f"{base_url}/.well-known/oauth-protected-resource/mcp"
    assert metadata["resource"] == f"{base_url}/mcp"


def test_sdk_client_with_a_bad_token_does_not_connect(base_url: str) -> None:
    async def scenario() -> None:
        async with connected(base_url, "not-a-token"):
            pytest.fail("connected without a valid token")

    with pytest.raises(ExceptionGroup) as refused:
        run(scenario)
    # The transport turns the 401 into an error answer to `initialize`.
    assert refused.group_contains(MCPError, depth=2)
