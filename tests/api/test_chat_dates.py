"""Due dates, priorities and tags through the chat and MCP tools, and the user's here and now in
the model's prompt (Pacific/Kiritimati, UTC+14, and Pacific/Pago_Pago, UTC-11: never the same day)."""

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from localdev.events import Response, call
from localdev.fake_llm import ScriptedModel, text, tool_calls
from support.mcp_messages import call_tool
from support.users import User

KIRITIMATI, PAGO_PAGO = "Pacific/Kiritimati", "Pacific/Pago_Pago"


def chat(user: User, message: str, **fields: Any) -> Response:
    return call("POST", f"/api/{user.id}/chat", token=user.token, json_body={"message": message, **fields})


def system_prompt(model: ScriptedModel) -> str:
    content: str = model.requests[0]["messages"][0]["content"]
    return content


def tomorrow_in(zone: str) -> str:
    return (datetime.now(ZoneInfo(zone)).date() + timedelta(days=1)).isoformat()


def test_the_prompt_carries_each_users_own_date_and_tomorrow_lands_on_it(
    user: User, other_user: User, model: ScriptedModel
) -> None:
    call("PUT", user.preferences_path, token=user.token, json_body={"timezone": KIRITIMATI})
    prompts, dues = [], []
    for person, fields, zone in ((user, {}, KIRITIMATI), (other_user, {"timezone": PAGO_PAGO}, PAGO_PAGO)):
        model.reset()
        # The scripted model resolves "tomorrow" the way a model reading the prompt would.
        model.script(tool_calls(("add_task", {"title": "Call mom", "due": tomorrow_in(zone)})), text("Added."))
        assert chat(person, "Remind me to call mom tomorrow", **fields).status == 200
        prompts.append(system_prompt(model))
        [task] = person.list_tasks().json()
        dues.append(task["due_date"])

    for prompt, zone in zip(prompts, (KIRITIMATI, PAGO_PAGO), strict=True):
        assert zone in prompt
        assert datetime.now(ZoneInfo(zone)).date().isoformat() in prompt
    assert dues == [tomorrow_in(KIRITIMATI), tomorrow_in(PAGO_PAGO)]
    assert dues[0] != dues[1]  # 25 hours apart: their tomorrows differ


def test_the_chat_stores_a_due_instant_priority_and_tags_exactly(user: User, model: ScriptedModel) -> None:
    arguments = {"title": "Dentist", "due": "2026-12-03T09:30:00+01:00", "priority": "high", "tags": ["Health"]}
    model.script(tool_calls(("add_task", arguments)), text("Booked."))

    chat(user, "Dentist on Dec 3 at 9:30, important, tag it health")

    [task] = user.list_tasks().json()
    assert (task["due_at"], task["due_date"], task["priority"], task["tags"]) == (
        "2026-12-03T08:30:00Z",
        None,
        "high",
        ["health"],
    )


def test_a_time_without_an_offset_is_a_tool_error_the_model_can_fix(user: User, model: ScriptedModel) -> None:
    model.script(
        tool_calls(("add_task", {"title": "Gym", "due": "2026-12-03T18:00:00"})),
        tool_calls(("add_task", {"title": "Gym", "due": "2026-12-03T18:00:00+01:00"})),
        text("Added."),
    )

    response = chat(user, "Gym at six on Dec 3")

    first, second = (run["result"] for run in response.json()["tool_calls"])
    assert "error" in first
    assert "timezone" in first["error"].lower()
    assert second["status"] == "created"


def test_list_tasks_in_the_chat_filters_and_searches(user: User, model: ScriptedModel) -> None:
    for title, fields in [("Pay rent", {"tags": ["home"]}), ("Pay bills", {}), ("Walk", {"tags": ["home"]})]:
        user.create_task(title, **fields)
    model.script(tool_calls(("list_tasks", {"search": "pay", "tags": ["home"]})), text("One."))

    response = chat(user, "Which home tasks are about paying?")

    assert [task["title"] for task in response.json()["tool_calls"][0]["result"]["tasks"]] == ["Pay rent"]


def test_update_task_moves_the_due_and_clears_it(user: User) -> None:
    task_id = call_tool(user.token, "add_task", {"title": "Report", "due": "2026-12-01"})["structuredContent"][
        "task_id"
    ]

    call_tool(user.token, "update_task", {"task_id": task_id, "due": "2026-12-02T12:00:00Z", "priority": "low"})
    moved = user.get_task(task_id)
    call_tool(user.token, "update_task", {"task_id": task_id, "due": None, "priority": None})
    cleared = user.get_task(task_id)

    assert (moved["due_date"], moved["due_at"], moved["priority"]) == (None, "2026-12-02T12:00:00Z", "low")
    assert (cleared["due_date"], cleared["due_at"], cleared["priority"]) == (None, None, None)


def test_mcp_list_tasks_finds_overdue_tasks(user: User) -> None:
    call_tool(user.token, "add_task", {"title": "late", "due": "2020-01-01"})
    call_tool(user.token, "add_task", {"title": "later", "due": "2099-01-01"})

    listed = call_tool(user.token, "list_tasks", {"overdue": True})

    assert [task["title"] for task in listed["structuredContent"]["tasks"]] == ["late"]
    assert listed["structuredContent"]["tasks"][0]["due_date"] == "2020-01-01"


def test_a_due_beyond_the_years_kept_is_a_tool_error_and_creates_nothing(user: User) -> None:
    added = call_tool(user.token, "add_task", {"title": "far", "due": "9999-12-31T23:59:59-14:00"})
    listed = call_tool(user.token, "list_tasks", {"due_before": "9999-12-31"})

    assert added["isError"] is True
    assert "1000 to 9998" in added["content"][0]["text"]
    assert listed["isError"] is True
    assert user.list_tasks().json() == []
