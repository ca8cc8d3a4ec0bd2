"""The task routes, through the Lambda handler, against real Postgres."""

from datetime import datetime
from typing import Any

import pytest

from localdev.events import Response, call
from support.users import User


def titles(response: Response) -> list[str]:
    assert response.status == 200, response.body
    return [task["title"] for task in response.json()]


def test_create_task_returns_the_stored_task(user: User) -> None:
    response = call(
        "POST", user.tasks_path, token=user.token, json_body={"title": "  Buy milk  ", "description": "2 L"}
    )

    assert response.status == 201
    task = response.json()
    assert task["title"] == "Buy milk"
    assert task["description"] == "2 L"
    assert task["completed"] is False
    assert task["user_id"] == user.id
    assert isinstance(task["id"], int)
    assert task["created_at"].endswith("Z")
    assert task["created_at"] == task["updated_at"]
    assert user.get_task(task["id"]) == task


def test_get_task_of_another_user_is_not_found(user: User, other_user: User) -> None:
    task = user.create_task()

    response = call("GET", other_user.task_path(task["id"]), token=other_user.token)

    # Same answer as for a task that does not exist: the id reveals nothing.
    assert response.status == 404
    assert response.json() == {"detail": "Task not found"}
    assert call("GET", user.task_path(999999999), token=user.token).json() == {"detail": "Task not found"}


@pytest.mark.parametrize(
    ("method", "suffix", "body"),
    [
        ("PUT", "", {"title": "stolen"}),
        ("PATCH", "", {"title": "stolen"}),
        ("PATCH", "/complete", None),
        ("DELETE", "", None),
    ],
)
def test_change_task_of_another_user_is_not_found_and_changes_nothing(
    user: User, other_user: User, method: str, suffix: str, body: dict[str, Any] | None
) -> None:
    task = user.create_task()

    response = call(method, other_user.task_path(task["id"], suffix), token=other_user.token, json_body=body)

    assert response.status == 404
    assert user.get_task(task["id"]) == task


def test_list_tasks_shows_only_the_callers_tasks(user: User, other_user: User) -> None:
    user.create_task("mine")
    other_user.create_task("theirs")

    assert titles(user.list_tasks()) == ["mine"]
    assert titles(other_user.list_tasks()) == ["theirs"]


def test_list_tasks_of_another_user_is_forbidden(user: User, other_user: User) -> None:
    response = call("GET", other_user.tasks_path, token=user.token)

    assert response.status == 403
    assert "detail" in response.json()


def test_list_tasks_filters_by_status(user: User) -> None:
    done = user.create_task("done")
    user.create_task("open")
    call("PATCH", user.task_path(done["id"], "/complete"), token=user.token, json_body={"completed": True})

    assert titles(user.list_tasks(status="completed")) == ["done"]
    assert titles(user.list_tasks(status="pending")) == ["open"]
    assert sorted(titles(user.list_tasks(status="all"))) == ["done", "open"]


def test_list_tasks_pages_with_total_count(user: User) -> None:
    for n in range(5):
        user.create_task(f"task {n}")

    first = user.list_tasks(limit=2, offset=0, sort="id", order="asc")
    last = user.list_tasks(limit=2, offset=4, sort="id", order="asc")
    beyond = user.list_tasks(limit=2, offset=10)

    assert titles(first) == ["task 0", "task 1"]
    assert titles(last) == ["task 4"]
    assert titles(beyond) == []
    assert first.headers["x-total-count"] == last.headers["x-total-count"] == beyond.headers["x-total-count"] == "5"


def test_list_tasks_defaults_to_newest_first_and_100_per_page(user: User) -> None:
    for n in range(101):
        user.create_task(f"task {n:03}")

    response = user.list_tasks()

    assert response.headers["x-total-count"] == "101"
    assert len(response.json()) == 100
    assert titles(response)[0] == "task 100"


@pytest.mark.parametrize(
    ("sort", "order", "expected"),
    [
        ("title", "asc", ["apple", "banana", "cherry"]),
        ("title", "desc", ["cherry", "banana", "apple"]),
        ("id", "asc", ["banana", "cherry", "apple"]),
        ("created_at", "desc", ["apple", "cherry", "banana"]),
        ("updated_at", "desc", ["banana", "apple", "cherry"]),
    ],
)
def test_list_tasks_sorts(user: User, sort: str, order: str, expected: list[str]) -> None:
    banana = user.create_task("banana")
    user.create_task("cherry")
    user.create_task("apple")
    call("PATCH", user.task_path(banana["id"]), token=user.token, json_body={"description": "ripe"})

    assert titles(user.list_tasks(sort=sort, order=order)) == expected


def test_list_tasks_searches_title_and_description_ignoring_case(user: User) -> None:
    user.create_task("Call the BANK")
    user.create_task("Groceries", description="bananas and bread")
    user.create_task("Walk the dog")

    response = user.list_tasks(q="ban")

    assert sorted(titles(response)) == ["Call the BANK", "Groceries"]
    assert response.headers["x-total-count"] == "2"


def test_list_tasks_with_empty_search_lists_everything(user: User) -> None:
    user.create_task("one")
    user.create_task("two")

    assert sorted(titles(user.list_tasks(q="  "))) == ["one", "two"]


def test_list_tasks_combines_search_status_and_paging(user: User) -> None:
    for n in range(3):
        task = user.create_task(f"report {n}")
        if n:
            call("PATCH", user.task_path(task["id"], "/complete"), token=user.token)
    user.create_task("unrelated")

    response = user.list_tasks(q="report", status="completed", limit=1, sort="title", order="asc")

    assert titles(response) == ["report 1"]
    assert response.headers["x-total-count"] == "2"


def test_replace_task_sets_every_field(user: User) -> None:
    task = user.create_task("old", description="old text", completed=True)

    response = call("PUT", user.task_path(task["id"]), token=user.token, json_body={"title": "new"})

    assert response.status == 200
    replaced = response.json()
    # What PUT leaves out goes back to its default.
    assert (replaced["title"], replaced["description"], replaced["completed"]) == ("new", None, False)
    assert replaced["created_at"] == task["created_at"]
    assert datetime.fromisoformat(replaced["updated_at"]) > datetime.fromisoformat(task["updated_at"])


def test_patch_task_changes_only_the_fields_sent(user: User) -> None:
    task = user.create_task("title", description="keep me")

    response = call("PATCH", user.task_path(task["id"]), token=user.token, json_body={"completed": True})

    patched = response.json()
    assert response.status == 200
    assert (patched["title"], patched["description"], patched["completed"]) == ("title", "keep me", True)
    assert patched["updated_at"] > task["updated_at"]


def test_patch_task_with_null_description_clears_it(user: User) -> None:
    task = user.create_task("title", description="remove me")

    response = call("PATCH", user.task_path(task["id"]), token=user.token, json_body={"description": None})

    assert response.json()["description"] is None


def test_patch_task_with_empty_body_changes_nothing(user: User) -> None:
    task = user.create_task()

    response = call("PATCH", user.task_path(task["id"]), token=user.token, json_body={})

    assert response.status == 200
    assert response.json() == task


def test_complete_task_sets_the_value_sent(user: User) -> None:
    task = user.create_task()
    path = user.task_path(task["id"], "/complete")

    first = call("PATCH", path, token=user.token, json_body={"completed": True})
    again = call("PATCH", path, token=user.token, json_body={"completed": True})
    undone = call("PATCH", path, token=user.token, json_body={"completed": False})

    assert [r.json()["completed"] for r in (first, again, undone)] == [True, True, False]
    assert first.json()["updated_at"] > task["updated_at"]


def test_complete_task_without_body_toggles(user: User) -> None:
    task = user.create_task()
    path = user.task_path(task["id"], "/complete")

    assert call("PATCH", path, token=user.token).json()["completed"] is True
    assert call("PATCH", path, token=user.token).json()["completed"] is False


def test_complete_task_that_does_not_exist_is_not_found(user: User) -> None:
    response = call("PATCH", user.task_path(424242424242, "/complete"), token=user.token)

    assert response.status == 404


def test_delete_task_removes_it(user: User) -> None:
    task = user.create_task()
    path = user.task_path(task["id"])

    response = call("DELETE", path, token=user.token)

    assert response.status == 204
    assert response.body == ""
    assert call("GET", path, token=user.token).status == 404
    assert call("DELETE", path, token=user.token).status == 404
    assert user.list_tasks().headers["x-total-count"] == "0"
