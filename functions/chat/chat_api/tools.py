"""The task tools the model may call: name → (description, argument model, function).

The user is never an argument: every tool runs for the user of the verified token, through the
layer's task operations (the same validation and ownership as the REST routes). Anything else the
model puts in the arguments, `user_id` included, is ignored.
"""

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationError
from sqlmodel import Session

from todo_common import tasks
from todo_common.models import BIGINT_MAX, Description, Task, TaskCreate, TaskPatch, Title


class AddTask(BaseModel):
    title: Title = Field(description="What to do, 1-200 characters")
    description: Description | None = Field(default=None, description="Optional details")


class ListTasks(BaseModel):
    status: Literal["all", "pending", "completed"] = Field(default="all", description="Which tasks to list")


class TaskRef(BaseModel):
    task_id: int = Field(ge=1, le=BIGINT_MAX, description="The task's id, as list_tasks shows it")


class UpdateTask(TaskRef):
    title: Title | None = Field(default=None, description="The new title")
    description: Description | None = Field(default=None, description="The new description")


def _outcome(task: Task, status: str) -> dict[str, Any]:
    return {"task_id": task.id, "status": status, "title": task.title}


def _add(session: Session, user_id: str, args: AddTask) -> dict[str, Any]:
    task = tasks.create_task(session, user_id, TaskCreate(title=args.title, description=args.description))
    return _outcome(task, "created")


def _list(session: Session, user_id: str, args: ListTasks) -> list[dict[str, Any]]:
    page, _total = tasks.list_tasks(session, user_id, tasks.TaskQuery(status=args.status, order="asc", limit=100))
    return [{"id": t.id, "title": t.title, "description": t.description, "completed": t.completed} for t in page]


def _complete(session: Session, user_id: str, args: TaskRef) -> dict[str, Any]:
    return _outcome(tasks.set_completion(session, user_id, args.task_id, True), "completed")


def _update(session: Session, user_id: str, args: UpdateTask) -> dict[str, Any]:
    changes = args.model_dump(include={"title", "description"}, exclude_none=True)
    if not changes:
        raise ValueError("give a new title or description")
    return _outcome(tasks.patch_task(session, user_id, args.task_id, TaskPatch(**changes)), "updated")


def _delete(session: Session, user_id: str, args: TaskRef) -> dict[str, Any]:
    return _outcome(tasks.delete_task(session, user_id, args.task_id), "deleted")


@dataclass(frozen=True)
class Tool:
    description: str
    arguments: type[BaseModel]
    run: Callable[[Session, str, Any], Any]

    def schema(self, name: str) -> dict[str, Any]:
        return {
            "type": "function",
            "function": {"name": name, "description": self.description, "parameters": gemini_schema(self.arguments)},
        }


TOOLS: dict[str, Tool] = {
    "add_task": Tool("Add a task to the user's list.", AddTask, _add),
    "list_tasks": Tool("List the user's tasks, oldest first, with their ids.", ListTasks, _list),
    "complete_task": Tool("Mark one of the user's tasks as completed.", TaskRef, _complete),
    "update_task": Tool("Change the title and/or description of one of the user's tasks.", UpdateTask, _update),
    "delete_task": Tool("Delete one of the user's tasks.", TaskRef, _delete),
}


def gemini_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The argument model's JSON schema, reduced to what Gemini accepts: type, properties, required,
    enum, description, items (no titles, defaults, bounds, anyOf or additionalProperties)."""

    def reduce(node: dict[str, Any]) -> dict[str, Any]:
        if "anyOf" in node:  # Optional[X]: X itself, keeping the description
            [option] = [o for o in node["anyOf"] if o.get("type") != "null"]
            return reduce({**option, **({"description": node["description"]} if "description" in node else {})})
        reduced: dict[str, Any] = {key: node[key] for key in ("type", "description", "enum", "required") if key in node}
        if "properties" in node:
            reduced["properties"] = {name: reduce(prop) for name, prop in node["properties"].items()}
        if "items" in node:
            reduced["items"] = reduce(node["items"])
        return reduced

    return reduce(model.model_json_schema())


SCHEMAS = [tool.schema(name) for name, tool in TOOLS.items()]


def run_tool(session: Session, user_id: str, name: str, raw_arguments: str | None) -> tuple[dict[str, Any], Any]:
    """Run one tool call for this user: (the arguments as parsed, the result for the model).

    Whatever goes wrong (bad JSON, invalid arguments, unknown tool, a task that is not the user's)
    becomes a short `{"error": ...}` result, never an exception: the conversation goes on.
    """
    try:
        arguments = json.loads(raw_arguments or "{}")
    except ValueError:
        return {}, {"error": "the arguments are not valid JSON"}
    if not isinstance(arguments, dict):
        return {}, {"error": "the arguments must be a JSON object"}
    tool = TOOLS.get(name)
    if tool is None:
        return arguments, {"error": f"unknown tool {name!r}; the tools are {', '.join(TOOLS)}"}
    try:
        return arguments, tool.run(session, user_id, tool.arguments.model_validate(arguments))
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'arguments'}: {e['msg']}" for e in exc.errors())
        return arguments, {"error": f"invalid arguments: {problems}"}
    except tasks.TaskNotFound:
        return arguments, {"error": f"there is no task {arguments.get('task_id')} on the user's list"}
    except ValueError as exc:
        return arguments, {"error": str(exc)}
