"""The task tools, defined once for the chat loop and the MCP server.

A tool is a name, a description, an argument model, a result model, hints about its effects (MCP's
tool annotations), and a function over the layer's task operations. The user is never an argument:
every tool runs for the user of the verified token. Anything else in the arguments, `user_id`
included, is ignored. The argument models take their rules from the task models, so a tool accepts
exactly what the REST API accepts.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, Field, RootModel, ValidationError
from sqlmodel import Session

from todo_common import tasks
from todo_common.models import TITLE_MAX_LENGTH, Description, Task, TaskCreate, TaskId, TaskPatch, Title

LIST_LIMIT = 100  # tasks that list_tasks returns, oldest first


class ToolError(Exception):
    """A call that cannot run: invalid arguments, or a task the user does not have.

    The message is short and safe to show to the model or the MCP client (no input echoed, no SQL).
    """


# Arguments


class AddTask(BaseModel):
    title: Title = Field(description=f"What to do ({TITLE_MAX_LENGTH} characters at most)")
    description: Description | None = Field(default=None, description="Optional details")


class ListTasks(BaseModel):
    status: tasks.TaskStatus = Field(default="all", description="Which tasks to list")


class TaskRef(BaseModel):
    task_id: TaskId = Field(description="The task's id, as list_tasks shows it")


class UpdateTask(TaskRef):
    """PATCH semantics: fields that are not sent stay as they are; `description: null` clears it."""

    title: Title | None = Field(default=None, description="The new title")
    description: Description | None = Field(default=None, description="The new description; null clears it")


# Results


class TaskOutcome(BaseModel):
    """What a change did to one task."""

    task_id: int
    status: Literal["created", "completed", "updated", "deleted"]
    title: str


class TaskSummary(BaseModel):
    id: int
    title: str
    description: str | None
    completed: bool


class TaskList(RootModel[list[TaskSummary]]):
    """The user's tasks, oldest first."""


# The functions


def _add(session: Session, user_id: str, args: AddTask) -> TaskOutcome:
    task = tasks.create_task(session, user_id, TaskCreate(title=args.title, description=args.description))
    return _outcome(task, "created")


def _list(session: Session, user_id: str, args: ListTasks) -> TaskList:
    query = tasks.TaskQuery(status=args.status, order="asc", limit=LIST_LIMIT)
    page, _total = tasks.list_tasks(session, user_id, query)
    return TaskList([TaskSummary.model_validate(task, from_attributes=True) for task in page])


def _complete(session: Session, user_id: str, args: TaskRef) -> TaskOutcome:
    return _outcome(tasks.set_completion(session, user_id, args.task_id, True), "completed")


def _update(session: Session, user_id: str, args: UpdateTask) -> TaskOutcome:
    changes = args.model_dump(include={"title", "description"}, exclude_unset=True)
    if not changes:
        raise ToolError("give a new title or description")
    return _outcome(tasks.patch_task(session, user_id, args.task_id, TaskPatch.model_validate(changes)), "updated")


def _delete(session: Session, user_id: str, args: TaskRef) -> TaskOutcome:
    return _outcome(tasks.delete_task(session, user_id, args.task_id), "deleted")


def _outcome(task: Task, status: Literal["created", "completed", "updated", "deleted"]) -> TaskOutcome:
    return TaskOutcome(task_id=task.id, status=status, title=task.title)


# The registry


@dataclass(frozen=True)
class Tool[A: BaseModel, R: BaseModel]:
    name: str
    description: str
    arguments: type[A]
    result: type[R]
    run: Callable[[Session, str, A], R]
    # MCP's tool annotations. Every tool is closed-world: it touches only the caller's own tasks.
    read_only: bool = False
    destructive: bool = False
    idempotent: bool = False

    def call(self, session: Session, user_id: str, arguments: Mapping[str, Any]) -> R:
        """Validate the arguments and run the tool for this user; ToolError says why it could not."""
        try:
            args = self.arguments.model_validate(arguments)
            return self.run(session, user_id, args)
        except ValidationError as exc:
            raise ToolError(f"invalid arguments: {_problems(exc)}") from None
        except tasks.TaskNotFound:
            raise ToolError(f"there is no task {arguments.get('task_id')} on the user's list") from None


def _problems(exc: ValidationError) -> str:
    """Where and what, for each problem; never the input itself."""
    return "; ".join(f"{'.'.join(map(str, e['loc'])) or 'arguments'}: {e['msg']}" for e in exc.errors())


def _registry(*tools: Tool[Any, Any]) -> dict[str, Tool[Any, Any]]:
    return {tool.name: tool for tool in tools}


TOOLS = _registry(
    Tool("add_task", "Add a task to the user's list.", AddTask, TaskOutcome, _add),
    Tool(
        "list_tasks",
        f"List the user's tasks with their ids, oldest first (at most {LIST_LIMIT}).",
        ListTasks,
        TaskList,
        _list,
        read_only=True,
    ),
    Tool(
        "complete_task",
        "Mark one of the user's tasks as completed.",
        TaskRef,
        TaskOutcome,
        _complete,
        idempotent=True,
    ),
    Tool(
        "update_task",
        "Change the title and/or description of one of the user's tasks; what is not given stays.",
        UpdateTask,
        TaskOutcome,
        _update,
        idempotent=True,
    ),
    Tool(
        "delete_task",
        "Delete one of the user's tasks.",
        TaskRef,
        TaskOutcome,
        _delete,
        destructive=True,
        idempotent=True,
    ),
)
