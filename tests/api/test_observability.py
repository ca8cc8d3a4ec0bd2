"""What the functions write to CloudWatch: structured logs without secrets, the cold-start metric,
and nothing internal in a 500."""

import io
import json
from typing import Any

import pytest
from aws_lambda_powertools.metrics.provider import cold_start

from localdev.events import call, http_event, invoke
from support.users import User
from todo_common import tasks


def _json_lines(output: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in output.splitlines() if line.startswith("{")]


def test_request_log_is_json_with_the_request_id_and_no_secrets(user: User, logs: io.StringIO) -> None:
    event, route = http_event("POST", user.tasks_path, token=user.token, json_body={"title": "private plans"})
    assert route is not None

    response = invoke(event, route)

    output = logs.getvalue()
    assert response.status == 201
    [log] = [line for line in _json_lines(output) if line.get("message") == "Request handled"]
    assert log["correlation_id"] == event["requestContext"]["requestId"]
    assert (log["method"], log["status"], log["service"]) == ("POST", 201, "todo-tests")
    assert user.token not in output
    assert user.token.split(".")[2] not in output  # not even the signature
    assert "private plans" not in output  # the body is never logged


def test_cold_start_metric_is_emitted_once(user: User, capsys: pytest.CaptureFixture[str]) -> None:
    cold_start.reset_cold_start_flag()  # type: ignore[no-untyped-call]

    call("GET", "/health")
    call("GET", "/health")

    metrics = [line for line in _json_lines(capsys.readouterr().out) if "_aws" in line]
    cold = [m for m in metrics if "ColdStart" in m]
    assert len(cold) == 1
    assert cold[0]["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "TodoApiTests"


def test_unexpected_error_answers_500_without_internals(
    user: User, monkeypatch: pytest.MonkeyPatch, logs: io.StringIO
) -> None:
    def broken(*_: object) -> None:
        raise RuntimeError("internal detail: table tasks, password=hunter2")

    monkeypatch.setattr(tasks, "get_task", broken)

    response = call("GET", user.task_path(1), token=user.token)

    assert response.status == 500
    assert response.json() == {"detail": "Internal server error"}
    assert response.headers["content-type"] == "application/json"
    logged = [line for line in _json_lines(logs.getvalue()) if line.get("message") == "Unhandled error"]
    assert len(logged) == 1
    assert "RuntimeError" in logged[0]["exception"]


def _metrics_in(output: str) -> dict[str, list[float]]:
    """All EMF metric values printed, by name."""
    found: dict[str, list[float]] = {}
    for line in _json_lines(output):
        if "_aws" in line:
            for definition in line["_aws"]["CloudWatchMetrics"][0]["Metrics"]:
                value = line[definition["Name"]]
                found.setdefault(definition["Name"], []).extend(value if isinstance(value, list) else [value])
    return found


def test_task_changes_are_counted_in_metrics(user: User, capsys: pytest.CaptureFixture[str]) -> None:
    task = user.create_task("counted")
    created = _metrics_in(capsys.readouterr().out)
    call("PATCH", user.task_path(task["id"], "/complete"), token=user.token, json_body={"completed": True})
    completed = _metrics_in(capsys.readouterr().out)
    call("DELETE", user.task_path(task["id"]), token=user.token)
    deleted = _metrics_in(capsys.readouterr().out)

    assert created["TasksCreated"] == [1.0]
    assert completed["TasksCompleted"] == [1.0]
    assert deleted["TasksDeleted"] == [1.0]
    assert "TasksCreated" not in completed


def test_chat_turn_reports_tool_calls_and_model_latency_tokens_and_errors(
    user: User, model: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    from localdev.fake_llm import error, text, tool_calls

    model.script(tool_calls(("add_task", {"title": "a"}), ("add_task", {"title": "b"})), text("Added both."))
    call("POST", f"/api/{user.id}/chat", token=user.token, json_body={"message": "Add a and b"})
    turn = _metrics_in(capsys.readouterr().out)
    model.script(error(503, "overloaded"))
    call("POST", f"/api/{user.id}/chat", token=user.token, json_body={"message": "Hello"})
    failed = _metrics_in(capsys.readouterr().out)

    assert turn["ChatToolCalls"] == [1.0, 1.0]
    assert turn["TasksCreated"] == [1.0, 1.0]
    assert len(turn["ModelLatency"]) == 2
    assert all(ms > 0 for ms in turn["ModelLatency"])
    assert turn["ModelTokens"]
    assert failed["ModelErrors"] == [1.0]
