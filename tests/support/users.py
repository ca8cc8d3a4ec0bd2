"""The test user: a fresh id and token, its URLs, and its tasks through the API."""

from typing import Any

from localdev.events import Response, call
from support.auth import hs256_token, new_user_id


class User:
    """A fresh user id (tests never share users, so they never see each other's tasks) and a token."""

    def __init__(self) -> None:
        self.id = new_user_id()
        self.token = hs256_token(self.id)

    @property
    def tasks_path(self) -> str:
        return f"/api/{self.id}/tasks"

    def task_path(self, task_id: int | str, suffix: str = "") -> str:
        """One task's path, or with `suffix` (such as "/complete") one of its sub-resources."""
        return f"{self.tasks_path}/{task_id}{suffix}"

    @property
    def preferences_path(self) -> str:
        return f"/api/{self.id}/preferences"

    def create_task(self, title: str = "Buy groceries", **fields: Any) -> dict[str, Any]:
        """A new task of this user's, as the API answered it (the test fails unless that was a 201)."""
        response = call("POST", self.tasks_path, token=self.token, json_body={"title": title, **fields})
        assert response.status == 201, response.body
        task: dict[str, Any] = response.json()
        return task

    def get_task(self, task_id: int) -> dict[str, Any]:
        """One of this user's tasks, as the API answers it (the test fails unless that is a 200)."""
        response = call("GET", self.task_path(task_id), token=self.token)
        assert response.status == 200, response.body
        task: dict[str, Any] = response.json()
        return task

    def list_tasks(self, **query: Any) -> Response:
        """The list of this user's tasks, with these query parameters."""
        return call("GET", self.tasks_path, token=self.token, query=query)
