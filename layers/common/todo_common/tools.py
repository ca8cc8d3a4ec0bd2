"""The task tools, defined once for the chat loop and the MCP server.

A tool is a name, a description, an argument model, a result model, hints about its effects (MCP's
tool annotations), and a function over the layer's task operations. The user is never an argument:
every tool runs for the user of the verified token. Anything else in the arguments, `user_id`
included, is ignored. The argument models take their rules from the task models, so a tool accepts
exactly what the REST API accepts.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationError
from sqlmodel import Session

from todo_common import cursors, tasks
from todo_common.models import (
    MAX_TAGS,
    TITLE_MAX_LENGTH,
    Description,
    DueDate,
    Priority,
    SearchText,
    Tag,
    Tags,
    Task,
    TaskCreate,
    TaskId,
    TaskPatch,
    Title,
    UtcDatetime,
)

LIST_LIMIT = 100  # tasks that list_tasks returns, oldest first


class ToolError(Exception):
    """A call that cannot run: invalid arguments, or a task the user does not have.

    The message is short and safe to show to the model or the MCP client (no input echoed, no SQL).
    """


# Arguments


DUE = "A due day, 2026-11-24, or an instant with its UTC offset, 2026-11-24T17:00:00+01:00"


class AddTask(BaseModel):
    title: Title = Field(description=f"What to do ({TITLE_MAX_LENGTH} characters at most)")
    description: Description | None = Field(default=None, description="Optional details")
    due: str | None = Field(default=None, max_length=64, description=DUE)
    priority: Priority | None = Field(default=None, description="How important it is")
    tags: Tags = Field(default=[], description=f"Labels, at most {MAX_TAGS}")


class ListTasks(BaseModel):
    status: tasks.TaskStatus = Field(default="all", description="Which tasks to list")
    search: SearchText | None = Field(default=None, description="Words to find in the title or description")
    due_after: DueDate | None = Field(default=None, description="Only tasks due on this day or later")
    due_before: DueDate | None = Field(default=None, description="Only tasks due on this day or earlier")
    overdue: bool = Field(default=False, description="Only tasks not completed and past due")
    priority: list[Priority] = Field(default=[], description="Only tasks with one of these priorities")
    tags: list[Tag] = Field(default=[], max_length=MAX_TAGS, description="Only tasks with all of these tags")
    cursor: str | None = Field(
        default=None, max_length=cursors.MAX_CURSOR_LENGTH, description="The next_cursor of the previous page"
    )


class TaskRef(BaseModel):
    task_id: TaskId = Field(description="The task's id, as list_tasks shows it")


class UpdateTask(TaskRef):
    """PATCH semantics: fields that are not sent stay as they are; null clears description, due, priority."""

    title: Title | None = Field(default=None, description="The new title")
    description: Description | None = Field(default=None, description="The new description; null clears it")
    due: str | None = Field(default=None, max_length=64, description=DUE + "; null clears it")
    priority: Priority | None = Field(default=None, description="The new priority; null clears it")
    tags: Tags | None = Field(default=None, description="The task's tags from now on (all of them)")


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
    due_date: date | None
    due_at: UtcDatetime | None
    priority: Priority | None
    tags: list[str]


class TaskList(BaseModel):
    """A page of the user's tasks, oldest first."""

    tasks: list[TaskSummary]
    total: int = Field(description="How many tasks match, on all pages")
    next_cursor: str | None = Field(description="Pass it as `cursor` for the next page; null on the last page")


# The functions


def _due_fields(due: str | None) -> dict[str, Any]:
    """A tool's `due` as the task's two fields: a day, or an instant (whose offset it must give)."""
    if due is None:
        return {"due_date": None, "due_at": None}
    if len(due) > len("2026-11-24"):  # a time follows the day
        return {"due_date": None, "due_at": due}
    return {"due_date": due, "due_at": None}


def _add(session: Session, user_id: str, args: AddTask) -> TaskOutcome:
    fields = args.model_dump(exclude={"due"}) | _due_fields(args.due)
    task = tasks.create_task(session, user_id, TaskCreate.model_validate(fields))
    return _outcome(task, "created")


def _list(session: Session, user_id: str, args: ListTasks) -> TaskList:
    filters = args.model_dump(exclude={"search", "tags"})
    query = tasks.TaskQuery(**filters, q=args.search, tag=args.tags, order="asc", limit=LIST_LIMIT)
    try:
        page = tasks.list_tasks(session, user_id, query)
    except cursors.InvalidCursor as exc:
        raise ToolError(f"invalid arguments: {exc}") from None
    summaries = [TaskSummary.model_validate(task) for task in page.tasks]
    return TaskList(tasks=summaries, total=page.total, next_cursor=page.next_cursor)


def _complete(session: Session, user_id: str, args: TaskRef) -> TaskOutcome:
    return _outcome(tasks.set_completion(session, user_id, args.task_id, True), "completed")


def _update(session: Session, user_id: str, args: UpdateTask) -> TaskOutcome:
    changes = args.model_dump(exclude={"task_id", "due"}, exclude_unset=True)
    if "due" in args.model_fields_set:
        changes |= _due_fields(args.due)
    if not changes:
        raise ToolError("give something to change: title, description, due, priority or tags")
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
        f"List the user's tasks with their ids, oldest first, {LIST_LIMIT} at a time (next_cursor continues).",
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
        "Change one of the user's tasks (title, description, due, priority, tags); what is not given stays.",
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
