"""Each warm request for a single task is one round trip to Postgres: one statement, no BEGIN or
COMMIT, no ping. The list, with its total count, is one round trip too.

The application reaches Postgres through a proxy that sees every message it sends (localdev/pgproxy.py).
"""

from typing import Any

import pytest

from localdev.events import call
from localdev.fake_llm import Reply, ScriptedModel, text, tool_calls
from localdev.pgproxy import CountingProxy
from support.mcp_messages import call_tool, initialize, mcp_post
from support.users import User


@pytest.mark.parametrize(
    ("method", "suffix", "body", "status", "verb"),
    [
        ("GET", "/{id}", None, 200, "SELECT"),
        ("PUT", "/{id}", {"title": "replaced"}, 200, "UPDATE"),
        ("PATCH", "/{id}", {"completed": True}, 200, "UPDATE"),
        ("PATCH", "/{id}/complete", {"completed": True}, 200, "UPDATE"),
        ("PATCH", "/{id}/complete", None, 200, "UPDATE"),
        ("DELETE", "/{id}", None, 204, "DELETE"),
        ("POST", "", {"title": "new"}, 201, "INSERT"),
        ("GET", "", None, 200, "SELECT"),
    ],
)
def test_warm_request_is_one_round_trip(
    user: User, proxy: CountingProxy, method: str, suffix: str, body: Any, status: int, verb: str
) -> None:
    task = user.create_task()  # also warms the pooled connection
    proxy.reset()

    response = call(method, user.tasks_path + suffix.format(id=task["id"]), token=user.token, json_body=body)

    assert response.status == status
    assert len(proxy.round_trips) == 1, proxy.round_trips
    [statements] = proxy.round_trips
    assert len(statements) == 1
    assert statements[0].lstrip().upper().startswith(verb)
    if verb != "SELECT":
        assert "RETURNING" in statements[0].upper()


def test_list_with_search_filter_and_count_is_one_round_trip(user: User, proxy: CountingProxy) -> None:
    user.create_task("count me")
    proxy.reset()

    response = user.list_tasks(q="count", status="pending", offset=5)

    assert response.headers["x-total-count"] == "1"
    assert response.json() == []
    assert len(proxy.round_trips) == 1


def test_requests_send_no_transaction_statements(user: User, proxy: CountingProxy) -> None:
    task = user.create_task()
    call("PATCH", user.task_path(task["id"]), token=user.token, json_body={"title": "x"})
    call("DELETE", user.task_path(task["id"]), token=user.token)

    keywords = {statement.split()[0].upper() for statement in proxy.statements()}

    assert keywords.isdisjoint({"BEGIN", "COMMIT", "ROLLBACK", "SELECT 1"})
    assert "SELECT 1" not in proxy.statements()


def test_refused_request_does_not_reach_the_database(user: User, other_user: User, proxy: CountingProxy) -> None:
    call("GET", other_user.tasks_path, token=user.token)
    call("GET", user.tasks_path, token="not-a-token")
    call("POST", user.tasks_path, token=user.token, json_body={"title": ""})

    assert proxy.round_trips == []


@pytest.mark.parametrize(
    ("tool", "arguments", "verb"),
    [
        ("add_task", {"title": "by MCP"}, "INSERT"),
        ("list_tasks", {"status": "pending"}, "SELECT"),
        ("complete_task", {"task_id": "{id}"}, "UPDATE"),
        ("update_task", {"task_id": "{id}", "description": None}, "UPDATE"),
        ("delete_task", {"task_id": "{id}"}, "DELETE"),
    ],
)
def test_mcp_tool_call_costs_what_its_rest_route_costs(
    user: User, proxy: CountingProxy, tool: str, arguments: dict[str, Any], verb: str
) -> None:
    task = user.create_task()
    proxy.reset()

    result = call_tool(user.token, tool, {k: task["id"] if v == "{id}" else v for k, v in arguments.items()})

    assert result["isError"] is False
    [statements] = proxy.round_trips
    assert len(statements) == 1
    assert statements[0].lstrip().upper().startswith(verb)


def test_mcp_handshake_and_tool_listing_reach_no_database(user: User, proxy: CountingProxy) -> None:
    user.create_task()
    proxy.reset()

    initialize(user.token)
    mcp_post(user.token, "notifications/initialized")
    mcp_post(user.token, "tools/list")

    assert proxy.round_trips == []


def test_a_chat_message_costs_a_few_round_trips_plus_two_per_tool_call(
    user: User, proxy: CountingProxy, model: ScriptedModel
) -> None:
    def trips(*replies: Reply, conversation: int | None = None) -> tuple[int, int]:
        model.script(*replies)
        proxy.reset()
        body = {"message": "go"} | ({} if conversation is None else {"conversation_id": conversation})
        response = call("POST", f"/api/{user.id}/chat", token=user.token, json_body=body)
        assert response.status == 200, response.body
        return len(proxy.round_trips), response.json()["conversation_id"]

    # A new conversation: it is created (with the user's time zone read alongside), the message
    # and the reply are stored; it has no history to read.
    new, conversation = trips(text("Hi."))
    # Continuing: the conversation (and time zone), its history, the message, the reply.
    continued, _ = trips(text("Hi again."), conversation=conversation)
    # Each tool call: its own statement, and its record.
    with_two_tools, _ = trips(
        tool_calls(("add_task", {"title": "a"}), ("list_tasks", {})), text("Done."), conversation=conversation
    )

    assert (new, continued, with_two_tools) == (3, 4, 8)
