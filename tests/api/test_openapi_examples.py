"""The examples in the tasks function's OpenAPI document work: each one sent as it is written is
accepted, and the documented response example fits the response schema."""

from typing import Any

import jsonschema
import pytest

from localdev.events import call
from support.users import User

TASKS = "/api/{user_id}/tasks"
TASK = "/api/{user_id}/tasks/{task_id}"


def _spec() -> dict[str, Any]:
    from tasks_api.app import app

    return app.openapi()


def _schema(name: str) -> dict[str, Any]:
    schema: dict[str, Any] = _spec()["components"]["schemas"][name]
    return schema


def _body_examples(path: str, method: str) -> list[dict[str, Any]]:
    body = _spec()["paths"][path][method]["requestBody"]["content"]["application/json"]["schema"]
    examples: list[dict[str, Any]] = _schema(body["$ref"].rsplit("/", 1)[1])["examples"]
    return examples


@pytest.mark.parametrize("example", _body_examples(TASKS, "post"))
def test_each_documented_new_task_is_created_as_written(user: User, example: dict[str, Any]) -> None:
    response = call("POST", user.tasks_path, token=user.token, json_body=example)

    assert response.status == 201, response.body
    created = response.json()
    assert created["title"] == example["title"]
    assert created["tags"] == example.get("tags", [])
    assert created["priority"] == example.get("priority")


@pytest.mark.parametrize("example", _body_examples(TASK, "patch"))
def test_each_documented_patch_applies(user: User, example: dict[str, Any]) -> None:
    created = user.create_task("x")

    response = call("PATCH", user.task_path(created["id"]), token=user.token, json_body=example)

    assert response.status == 200, response.body
    assert {name: response.json()[name] for name in example} == example


def test_the_documented_list_parameters_together_are_accepted(user: User) -> None:
    call("PUT", user.preferences_path, token=user.token, json_body={"timezone": "Europe/Berlin"})
    parameters = _spec()["paths"][TASKS]["get"]["parameters"]
    query = {p["name"]: p["schema"]["examples"][0] for p in parameters if "examples" in p["schema"]}
    user.create_task("groceries", tags=["work"])

    response = user.list_tasks(**query)

    assert {"due_after", "due_before", "overdue", "priority", "tag", "sort", "q"} <= set(query)
    assert response.status == 200, response.body
    assert response.json() == []  # the example filters (overdue, high or medium) exclude that task
    assert response.headers["x-total-count"] == "0"


@pytest.mark.parametrize("name", ["TaskPublic", "Preferences", "PreferencesUpdate"])
def test_response_and_preference_examples_fit_their_schemas(name: str) -> None:
    schema = _schema(name)
    examples = schema.get("examples") or [
        {field: spec["examples"][0] for field, spec in schema["properties"].items() if "examples" in spec}
    ]

    assert examples != [{}]
    for example in examples:
        jsonschema.validate(example, schema)


def test_the_documented_time_zone_is_accepted(user: User) -> None:
    [example] = _schema("PreferencesUpdate")["properties"]["timezone"]["examples"]

    response = call("PUT", user.preferences_path, token=user.token, json_body={"timezone": example})

    assert (response.status, response.json()) == (200, {"timezone": example})
