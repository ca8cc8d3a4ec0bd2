"""What the functions write to CloudWatch: structured logs without secrets, the cold-start metric,
and nothing internal in a 500."""

import io
import json
from typing import Any

import pytest
from aws_lambda_powertools.metrics.provider import cold_start

from conftest import User
from support.events import call, http_event, invoke
from todo_common import tasks


def _json_lines(output: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in output.splitlines() if line.startswith("{")]


def test_request_log_is_json_with_the_request_id_and_no_secrets(user: User, logs: io.StringIO) -> None:
    event, route = http_event("POST", f"/api/{user.id}/tasks", token=user.token, json_body={"title": "private plans"})
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

    response = call("GET", f"/api/{user.id}/tasks/1", token=user.token)

    assert response.status == 500
    assert response.json() == {"detail": "Internal server error"}
    assert response.headers["content-type"] == "application/json"
    logged = [line for line in _json_lines(logs.getvalue()) if line.get("message") == "Unhandled error"]
    assert len(logged) == 1
    assert "RuntimeError" in logged[0]["exception"]
