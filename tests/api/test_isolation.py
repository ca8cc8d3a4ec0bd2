"""Two users side by side: through every route of template.yaml, every chat tool and every MCP tool,
one never sees, changes or learns of the other's tasks and conversations."""

from typing import Any

import psycopg
import pytest

from localdev.events import call
from localdev.fake_llm import ScriptedModel, text, tool_calls
from localdev.routing import load_routes
from support.mcp_messages import NO_TASKS, call_tool
from support.users import User

USER_ROUTES = [route for route in load_routes() if "{user_id}" in route.path]


def body_for(route: Any) -> dict[str, Any] | None:
    """A valid body for the route, so that only ownership can refuse the request."""
    if route.path.endswith("/complete"):
        return {"completed": True}
    return {"title": "intruder", "message": "hi"} if route.method in ("POST", "PUT", "PATCH") else None


def snapshot(db: psycopg.Connection[Any], user_id: str) -> list[Any]:
    """Everything stored for a user: tasks, conversations and messages, with their versions and times."""
    return [
        db.execute("SELECT * FROM tasks WHERE user_id = %s ORDER BY id", (user_id,)).fetchall(),
        db.execute("SELECT * FROM conversations WHERE user_id = %s ORDER BY id", (user_id,)).fetchall(),
        db.execute("SELECT * FROM messages WHERE user_id = %s ORDER BY id", (user_id,)).fetchall(),
    ]


@pytest.fixture
def victim(other_user: User, model: ScriptedModel) -> dict[str, Any]:
    """The other user, with a task and a conversation."""
    task = other_user.create_task("secret")
    model.script(text("Noted."))
    chat = call("POST", f"/api/{other_user.id}/chat", token=other_user.token, json_body={"message": "private"})
    model.reset()
    return {"user": other_user, "task_id": task["id"], "conversation_id": chat.json()["conversation_id"]}


@pytest.mark.parametrize("route", USER_ROUTES, ids=lambda r: f"{r.method} {r.path}")
def test_another_users_path_is_forbidden_on_every_route(
    route: Any, user: User, victim: dict[str, Any], db: psycopg.Connection[Any], model: ScriptedModel
) -> None:
    before = snapshot(db, victim["user"].id)
    path = route.path.format(
        user_id=victim["user"].id, task_id=victim["task_id"], conversation_id=victim["conversation_id"]
    )

    response = call(route.method, path, token=user.token, json_body=body_for(route))

    assert response.status == 403
    assert "secret" not in response.body
    assert model.requests == []
    assert snapshot(db, victim["user"].id) == before


@pytest.mark.parametrize("route", [r for r in USER_ROUTES if "{task_id}" in r.path or "{conversation_id}" in r.path],
                         ids=lambda r: f"{r.method} {r.path}")  # fmt: skip
def test_another_users_ids_under_ones_own_path_are_not_found(
    route: Any, user: User, victim: dict[str, Any], db: psycopg.Connection[Any]
) -> None:
    before = snapshot(db, victim["user"].id)
    path = route.path.format(user_id=user.id, task_id=victim["task_id"], conversation_id=victim["conversation_id"])

    response = call(route.method, path, token=user.token, json_body=body_for(route))

    assert response.status == 404  # exactly as for an id that does not exist
    assert "secret" not in response.body
    assert snapshot(db, victim["user"].id) == before


def test_lists_show_only_ones_own(user: User, victim: dict[str, Any]) -> None:
    tasks = user.list_tasks()
    conversations = call("GET", f"/api/{user.id}/conversations", token=user.token)

    assert (tasks.json(), tasks.headers["x-total-count"]) == ([], "0")
    assert conversations.json() == []


def test_chat_cannot_continue_another_users_conversation(
    user: User, victim: dict[str, Any], model: ScriptedModel, db: psycopg.Connection[Any]
) -> None:
    before = snapshot(db, victim["user"].id)

    response = call(
        "POST",
        f"/api/{user.id}/chat",
        token=user.token,
        json_body={"message": "what did they say?", "conversation_id": victim["conversation_id"]},
    )

    assert response.status == 404
    assert model.requests == []
    assert snapshot(db, victim["user"].id) == before


@pytest.mark.parametrize("tool", ["complete_task", "update_task", "delete_task"])
def test_chat_tools_cannot_reach_another_users_task(
    user: User, victim: dict[str, Any], model: ScriptedModel, db: psycopg.Connection[Any], tool: str
) -> None:
    before = snapshot(db, victim["user"].id)
    arguments = {"task_id": victim["task_id"], "title": "taken", "user_id": victim["user"].id}
    model.script(tool_calls(("list_tasks", {"user_id": victim["user"].id}), (tool, arguments)), text("Done."))

    response = call("POST", f"/api/{user.id}/chat", token=user.token, json_body={"message": "go"})

    listed, changed = (run["result"] for run in response.json()["tool_calls"])
    assert listed == NO_TASKS
    assert "error" in changed
    assert snapshot(db, victim["user"].id) == before


@pytest.mark.parametrize("tool", ["complete_task", "update_task", "delete_task"])
def test_mcp_tools_cannot_reach_another_users_task(
    user: User, victim: dict[str, Any], db: psycopg.Connection[Any], tool: str
) -> None:
    before = snapshot(db, victim["user"].id)
    arguments = {"task_id": victim["task_id"], "title": "taken", "user_id": victim["user"].id}

    listed = call_tool(user.token, "list_tasks", {"user_id": victim["user"].id})
    changed = call_tool(user.token, tool, arguments)

    assert listed["structuredContent"] == NO_TASKS
    assert changed["isError"] is True
    assert snapshot(db, victim["user"].id) == before
