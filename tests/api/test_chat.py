"""The chat function through its Lambda handler, against real Postgres and a scripted model server
that behaves like Gemini's OpenAI-compatible endpoint (localdev/fake_llm.py)."""

import json
from collections.abc import Iterator
from typing import Any

import pytest

from chat_api.model_client import MAX_ATTEMPTS
from localdev.events import LambdaContext, Response, call, http_event, invoke
from localdev.fake_llm import ScriptedModel, cut_off, error, garbled, slow, text, tool_calls
from support.users import User


def chat(
    user: User, message: str, conversation_id: int | None = None, context: LambdaContext | None = None
) -> Response:
    body = {"conversation_id": conversation_id, "message": message}
    event, route = http_event("POST", f"/api/{user.id}/chat", token=user.token, json_body=body)
    assert route is not None
    return invoke(event, route, context)


def tasks_of(user: User) -> list[dict[str, Any]]:
    tasks: list[dict[str, Any]] = user.list_tasks(order="asc").json()
    return tasks


def tool_messages(request: dict[str, Any]) -> list[dict[str, Any]]:
    return [m for m in request["messages"] if m["role"] == "tool"]


def test_add_task_creates_it_and_the_loop_sends_back_what_gemini_needs(user: User, model: ScriptedModel) -> None:
    model.script(tool_calls(("add_task", {"title": "Buy groceries"})), text("Added 'Buy groceries'."))

    response = chat(user, "Add a task to buy groceries")

    assert response.status == 200
    body = response.json()
    assert body["response"] == "Added 'Buy groceries'."
    [task] = tasks_of(user)
    assert task["title"] == "Buy groceries"
    assert body["tool_calls"] == [
        {
            "name": "add_task",
            "arguments": {"title": "Buy groceries"},
            "result": {"task_id": task["id"], "status": "created", "title": "Buy groceries"},
        }
    ]
    first, second = model.requests
    assert first["model"] == "gemini-test-flash"
    assert {tool["function"]["name"] for tool in first["tools"]} == {
        "add_task",
        "list_tasks",
        "complete_task",
        "update_task",
        "delete_task",
    }
    assert "user_id" not in json.dumps(first["tools"])  # the user is never an argument
    assistant = next(m for m in second["messages"] if m["role"] == "assistant")
    assert "thought_signature" in assistant["tool_calls"][0]["extra_content"]["google"]
    [answer] = tool_messages(second)
    assert answer["tool_call_id"] == assistant["tool_calls"][0]["id"]
    assert json.loads(answer["content"]) == body["tool_calls"][0]["result"]


def test_list_tasks_shows_the_pending_ones(user: User, model: ScriptedModel) -> None:
    done, pending = user.create_task("done"), user.create_task("pending")
    call("PATCH", user.task_path(done["id"], "/complete"), token=user.token)
    model.script(tool_calls(("list_tasks", {"status": "pending"})), text("One task is pending."))

    response = chat(user, "What's pending?")

    assert response.json()["tool_calls"][0]["result"]["tasks"] == [
        {
            "id": pending["id"],
            "title": "pending",
            "description": None,
            "completed": False,
            "due_date": None,
            "due_at": None,
            "priority": None,
            "tags": [],
        }
    ]


def test_complete_task_by_name_lists_then_completes_the_match(user: User, model: ScriptedModel) -> None:
    user.create_task("Call mom")
    groceries = user.create_task("Buy groceries")
    model.script(
        tool_calls(("list_tasks", {})),
        tool_calls(("complete_task", {"task_id": groceries["id"]})),
        text("Marked 'Buy groceries' as done."),
    )

    response = chat(user, "Complete the groceries task")

    assert [run["name"] for run in response.json()["tool_calls"]] == ["list_tasks", "complete_task"]
    assert {t["title"]: t["completed"] for t in tasks_of(user)} == {"Call mom": False, "Buy groceries": True}
    assert len(model.requests) == 3


def test_update_task_renames_it(user: User, model: ScriptedModel) -> None:
    task = user.create_task("buy groceries")
    model.script(
        tool_calls(("update_task", {"task_id": task["id"], "title": "buy organic groceries"})), text("Renamed.")
    )

    response = chat(user, "Rename 'buy groceries' to 'buy organic groceries'")

    assert response.json()["tool_calls"][0]["result"]["status"] == "updated"
    assert [t["title"] for t in tasks_of(user)] == ["buy organic groceries"]


def test_delete_task_removes_it(user: User, model: ScriptedModel) -> None:
    meeting, other = user.create_task("meeting"), user.create_task("other")
    model.script(tool_calls(("delete_task", {"task_id": meeting["id"]})), text("Deleted the meeting task."))

    response = chat(user, "Delete the meeting task")

    assert response.json()["tool_calls"][0]["result"] == {
        "task_id": meeting["id"],
        "status": "deleted",
        "title": "meeting",
    }
    assert [t["id"] for t in tasks_of(user)] == [other["id"]]


@pytest.mark.parametrize("ids", [None, ["", ""]], ids=["gemini-ids", "empty-ids"])
def test_parallel_calls_each_get_one_answer(user: User, model: ScriptedModel, ids: list[str] | None) -> None:
    model.script(tool_calls(("add_task", {"title": "a"}), ("add_task", {"title": "b"}), ids=ids), text("Added both."))

    response = chat(user, "Add a and b")

    assert response.status == 200
    assert sorted(t["title"] for t in tasks_of(user)) == ["a", "b"]
    answers = tool_messages(model.requests[1])
    assistant = next(m for m in model.requests[1]["messages"] if m["role"] == "assistant")
    assert [a["tool_call_id"] for a in answers] == [c["id"] for c in assistant["tool_calls"]]
    assert all(a["tool_call_id"] for a in answers)
    assert len({a["tool_call_id"] for a in answers}) == 2


@pytest.mark.parametrize(
    ("call", "error_part"),
    [
        (("add_task", "{not json"), "not valid JSON"),
        (("add_task", "[1, 2]"), "JSON object"),
        (("add_task", {"title": ""}), "invalid arguments"),
        (("add_task", {"title": "x" * 201}), "invalid arguments"),
        (("complete_task", {"task_id": "seven"}), "invalid arguments"),
        (("complete_task", {"task_id": 999_999_999}), "no task 999999999"),
        (("update_task", {"task_id": 1}), "something to change"),
        (("drop_table", {"name": "tasks"}), "unknown tool"),
    ],
)
def test_bad_tool_call_becomes_a_short_error_and_the_turn_goes_on(
    user: User, model: ScriptedModel, call: tuple[str, Any], error_part: str
) -> None:
    model.script(tool_calls(call), text("Sorry, that did not work."))

    response = chat(user, "Do something odd")

    assert response.status == 200
    assert response.json()["response"] == "Sorry, that did not work."
    result = json.loads(tool_messages(model.requests[1])[0]["content"])
    assert error_part in result["error"]
    assert "Traceback" not in result["error"]
    assert "SELECT" not in result["error"]
    assert tasks_of(user) == []


def test_user_id_in_arguments_is_ignored(user: User, other_user: User, model: ScriptedModel) -> None:
    theirs = other_user.create_task("their task")
    model.script(
        tool_calls(
            ("add_task", {"title": "mine", "user_id": other_user.id}),
            ("complete_task", {"task_id": theirs["id"], "user_id": other_user.id}),
        ),
        text("Done."),
    )

    response = chat(user, "Add 'mine' for the other user and complete their task")

    assert [t["title"] for t in tasks_of(user)] == ["mine"]
    assert tasks_of(other_user) == [theirs]  # untouched: another user's task is not found
    assert "error" in response.json()["tool_calls"][1]["result"]


def test_the_loop_stops_at_the_cap_of_model_calls(user: User, model: ScriptedModel) -> None:
    model.script(*[tool_calls(("add_task", {"title": f"task {n}"})) for n in range(6)])

    response = chat(user, "Keep adding tasks forever")

    assert response.status == 200
    assert "most steps" in response.json()["response"]
    assert len(model.requests) == 6
    assert len(tasks_of(user)) == 6


def test_the_loop_stops_when_the_model_repeats_a_call(user: User, model: ScriptedModel) -> None:
    model.script(tool_calls(("add_task", {"title": "once"})), tool_calls(("add_task", {"title": "once"})))

    response = chat(user, "Add 'once'")

    assert "repeating" in response.json()["response"]
    assert [t["title"] for t in tasks_of(user)] == ["once"]  # the repeat did not run
    assert len(model.requests) == 2


def test_a_slow_model_answers_503_before_the_lambda_runs_out(user: User, model: ScriptedModel) -> None:
    model.script(slow(5, text("too late")))

    response = chat(user, "Hello", context=LambdaContext(remaining_millis=4_000))

    assert response.status == 503
    assert response.json() == {"detail": "The model did not answer in time"}


def test_running_out_of_time_mid_turn_answers_with_what_was_done(user: User, model: ScriptedModel) -> None:
    model.script(slow(1.2, tool_calls(("add_task", {"title": "quick"}))), text("never asked"))

    response = chat(user, "Add 'quick'", context=LambdaContext(remaining_millis=4_500))

    assert response.status == 200
    assert "ran out of time" in response.json()["response"]
    assert [t["title"] for t in tasks_of(user)] == ["quick"]
    assert len(model.requests) == 1


@pytest.mark.parametrize(
    ("reply", "status", "detail"),
    [
        (error(429, "Resource has been exhausted", retry_after=7), 429, "rate-limited"),
        (error(503, "The model is overloaded. Please try again later."), 503, "overloaded"),
        (error(500, "Internal error encountered."), 503, "overloaded"),
        (error(400, "API key not valid. Please pass a valid API key."), 502, "API key"),
        (error(403, "Permission denied"), 502, "API key"),
        (error(400, "Request contains an invalid argument."), 502, "rejected the request"),
    ],
)
def test_model_failures_map_to_clear_statuses(
    user: User, model: ScriptedModel, logs: Any, reply: Any, status: int, detail: str
) -> None:
    retried = status == 503  # overloaded: tried again as long as it fails, up to the limit
    model.script(*[reply] * (MAX_ATTEMPTS if retried else 1))

    response = chat(user, "Hello")

    assert len(model.requests) == (MAX_ATTEMPTS if retried else 1)
    assert response.status == status
    assert detail in response.json()["detail"]
    if status in (429, 503):
        assert response.headers["retry-after"] == ("7" if status == 429 else "5")
    assert model.api_key not in response.body
    assert model.api_key not in logs.getvalue()


@pytest.mark.parametrize(
    "failure",
    [
        error(503, "The model is overloaded. Please try again later."),
        error(500, "Internal error encountered."),
        error(429, "Resource has been exhausted"),
        error(429, "Resource has been exhausted", retry_after=1),
        cut_off(text("half an answer")),
        garbled(),
        garbled(b"<html><body>502 Bad Gateway</body></html>", "text/html"),
        garbled(b'{"choices": "none"}'),
        garbled(b'{"id": "x", "object": "chat.completion", "created": 1, "model": "m", "choices": []}'),
    ],
    ids=["503", "500", "429", "429-retry-after-1s", "cut-off", "truncated-json", "html", "odd-shape", "no-choices"],
)
def test_a_passing_model_failure_is_retried_without_running_tools_again(
    user: User, model: ScriptedModel, failure: Any
) -> None:
    model.script(tool_calls(("add_task", {"title": "once"})), failure, text("Added 'once'."))

    response = chat(user, "Add 'once'")

    assert response.status == 200
    assert response.json()["response"] == "Added 'once'."
    assert [t["title"] for t in tasks_of(user)] == ["once"]  # the tool ran once
    assert len(model.requests) == 3
    assert model.requests[2]["messages"] == model.requests[1]["messages"]  # the same request, again


@pytest.mark.parametrize(
    ("failure", "status", "detail"),
    [
        (cut_off(text("half an answer")), 503, "could not be reached"),
        (garbled(), 502, "not valid"),
        (garbled(b"<html>502 Bad Gateway</html>", "text/html"), 502, "not valid"),
    ],
    ids=["cut-off", "truncated-json", "html"],
)
def test_a_model_that_keeps_failing_gets_a_clear_status(
    user: User, model: ScriptedModel, failure: Any, status: int, detail: str
) -> None:
    model.script(*[failure] * MAX_ATTEMPTS)

    response = chat(user, "Hello")

    assert response.status == status
    assert detail in response.json()["detail"]
    assert len(model.requests) == MAX_ATTEMPTS


def test_no_retry_when_the_pause_would_leave_too_little_time(user: User, model: ScriptedModel) -> None:
    model.script(error(429, "Resource has been exhausted", retry_after=1), text("too late to ask"))

    # 2.5 s for the turn: a 1 s pause would leave less than a model call needs.
    response = chat(user, "Hello", context=LambdaContext(remaining_millis=4_000))

    assert response.status == 429
    assert response.headers["retry-after"] == "1"
    assert len(model.requests) == 1


def test_tool_effects_stay_when_the_model_fails_later(user: User, model: ScriptedModel) -> None:
    model.script(tool_calls(("add_task", {"title": "kept"})), *[error(503, "overloaded")] * MAX_ATTEMPTS)

    response = chat(user, "Add 'kept'")

    assert response.status == 503
    assert [t["title"] for t in tasks_of(user)] == ["kept"]
    [conversation] = call("GET", f"/api/{user.id}/conversations", token=user.token).json()
    messages = call("GET", f"/api/{user.id}/conversations/{conversation['id']}", token=user.token).json()["messages"]
    assert [m["role"] for m in messages] == ["user", "tool"]
    assert messages[1]["tool_calls"][0]["result"]["status"] == "created"


def test_conversation_continues_from_the_database_after_a_cold_start(user: User, model: ScriptedModel) -> None:
    from chat_api.model_client import model_client
    from todo_common.db import close_connections

    model.script(tool_calls(("add_task", {"title": "Buy milk"})), text("Added 'Buy milk'."))
    conversation_id = chat(user, "Add buy milk").json()["conversation_id"]
    model_client.cache_clear()  # a new execution environment: nothing but the database survives
    close_connections()
    model.reset()
    model.script(text("You asked me to add 'Buy milk'."))

    response = chat(user, "What did I ask you before?", conversation_id)

    assert response.json()["conversation_id"] == conversation_id
    sent = [(m["role"], m.get("content")) for m in model.requests[0]["messages"] if m["role"] != "system"]
    assert sent[0] == ("user", "Add buy milk")
    assert sent[1][0] == "assistant"
    assert "add_task" in sent[1][1]
    assert "Added 'Buy milk'." in sent[1][1]
    assert sent[2] == ("user", "What did I ask you before?")


def test_history_sent_to_the_model_is_bounded_by_whole_turns(user: User, model: ScriptedModel) -> None:
    conversation_id = None
    for n in range(12):
        model.script(text(f"reply {n}"))
        conversation_id = chat(user, f"message {n}", conversation_id).json()["conversation_id"]
    model.reset()
    model.script(text("ok"))

    chat(user, "last", conversation_id)

    sent = [m for m in model.requests[0]["messages"] if m["role"] != "system"]
    assert [m["role"] for m in sent[:2]] == ["user", "assistant"]
    assert sent[0]["content"] == "message 2"  # the 10 most recent turns, then the new message
    assert len(sent) == 21


def test_history_cuts_long_tool_results_of_past_turns(user: User, model: ScriptedModel) -> None:
    for n in range(60):
        user.create_task(f"a task with a fairly long title, number {n:02}")
    model.script(tool_calls(("list_tasks", {})), text("Here they are."))
    conversation_id = chat(user, "List everything").json()["conversation_id"]
    model.reset()
    model.script(text("ok"))

    chat(user, "thanks", conversation_id)

    [_system, _user, assistant, _new] = model.requests[0]["messages"]
    assert "list_tasks" in assistant["content"]
    assert "… (cut)" in assistant["content"]
    assert len(assistant["content"]) < 1200


def test_another_users_conversation_is_not_found(user: User, other_user: User, model: ScriptedModel) -> None:
    model.script(text("hi"))
    theirs = chat(other_user, "private").json()["conversation_id"]

    responses = [
        chat(user, "let me in", theirs),
        chat(user, "nothing here", 999_999_999),
        call("GET", f"/api/{user.id}/conversations/{theirs}", token=user.token),
        call("DELETE", f"/api/{user.id}/conversations/{theirs}", token=user.token),
    ]

    assert [r.status for r in responses] == [404, 404, 404, 404]
    assert len(model.requests) == 1  # the refused chats never reached the model


def test_conversations_are_listed_newest_first_and_can_be_deleted(user: User, model: ScriptedModel) -> None:
    model.script(text("one"), text("two"), tool_calls(("list_tasks", {})), text("three"))
    first = chat(user, "First conversation").json()["conversation_id"]
    second = chat(user, "Second conversation").json()["conversation_id"]
    chat(user, "Back to the first", first)

    listed = call("GET", f"/api/{user.id}/conversations", token=user.token).json()
    detail = call("GET", f"/api/{user.id}/conversations/{first}", token=user.token).json()
    deleted = call("DELETE", f"/api/{user.id}/conversations/{first}", token=user.token)

    assert [(c["id"], c["title"]) for c in listed] == [(first, "First conversation"), (second, "Second conversation")]
    assert [(m["role"], m["content"]) for m in detail["messages"]] == [
        ("user", "First conversation"),
        ("assistant", "one"),
        ("user", "Back to the first"),
        ("tool", None),
        ("assistant", "three"),
    ]
    assert detail["messages"][3]["tool_calls"][0]["name"] == "list_tasks"
    assert deleted.status == 204
    assert call("GET", f"/api/{user.id}/conversations/{first}", token=user.token).status == 404
    assert [c["id"] for c in call("GET", f"/api/{user.id}/conversations", token=user.token).json()] == [second]


@pytest.mark.parametrize("message", ["", "   ", "x" * 4001, "nul\x00"])
def test_chat_refuses_an_invalid_message(user: User, model: ScriptedModel, message: str) -> None:
    response = chat(user, message)

    assert response.status == 422
    assert model.requests == []


@pytest.fixture
def unconfigured(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    from chat_api.model_client import model_client
    from todo_common.settings import get_settings

    monkeypatch.delenv("GEMINI_API_KEY")
    get_settings.cache_clear()
    model_client.cache_clear()
    yield
    monkeypatch.undo()
    get_settings.cache_clear()
    model_client.cache_clear()


@pytest.mark.usefixtures("unconfigured")
def test_chat_without_a_key_is_not_configured_but_the_rest_works(user: User) -> None:
    assert chat(user, "Hello").status == 503
    assert chat(user, "Hello").json() == {"detail": "chat is not configured"}
    assert call("GET", f"/api/{user.id}/conversations", token=user.token).status == 200
    assert user.list_tasks().status == 200


def test_chat_of_another_user_is_forbidden(user: User, other_user: User, model: ScriptedModel) -> None:
    response = call("POST", f"/api/{other_user.id}/chat", token=user.token, json_body={"message": "hi"})

    assert response.status == 403
    assert model.requests == []


def test_history_keeps_each_reply_with_its_message_when_two_turns_interleaved(
    user: User, model: ScriptedModel, db: Any
) -> None:
    model.script(text("Hello."))
    conversation_id = chat(user, "start").json()["conversation_id"]
    insert = (
        "INSERT INTO messages (conversation_id, user_id, role, content, turn_id)"
        " VALUES (%s, %s, %s, %s, %s) RETURNING id"
    )
    first = db.execute(insert, (conversation_id, user.id, "user", "first?", None)).fetchone()[0]
    second = db.execute(insert, (conversation_id, user.id, "user", "second?", None)).fetchone()[0]
    db.execute(insert, (conversation_id, user.id, "assistant", "to the second", second))  # second answered first
    db.execute(insert, (conversation_id, user.id, "assistant", "to the first", first))
    model.reset()
    model.script(text("ok"))

    chat(user, "third", conversation_id)

    sent = [(m["role"], m["content"]) for m in model.requests[0]["messages"] if m["role"] != "system"]
    assert sent == [
        ("user", "start"),
        ("assistant", "Hello."),
        ("user", "first?"),
        ("assistant", "to the first"),
        ("user", "second?"),
        ("assistant", "to the second"),
        ("user", "third"),
    ]
