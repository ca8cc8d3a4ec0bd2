"""Task CRUD for the caller's own tasks, and the health checks.

The routes are `async def` although their database calls block. A Lambda environment serves one
request at a time, so there is nothing to yield to, and FastAPI would otherwise hop to a worker
thread for every sync route and dependency: measured side by side, a warm single-task request
took about twice as long that way. (`make dev` serves one request at a time for the same reason.)
"""

from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Query, Response, status
from fastapi.responses import JSONResponse

from todo_common import tasks
from todo_common.db import SessionDep, database_answers
from todo_common.models import TaskCompletion, TaskCreate, TaskId, TaskPatch, TaskPublic, TaskReplace
from todo_common.security import OwnerId

health_router = APIRouter(tags=["health"])
router = APIRouter(prefix="/api/{user_id}/tasks", tags=["tasks"])

TaskIdPath = Annotated[TaskId, Path()]
_NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "No such task for this user"}}


@health_router.get("/")
async def root() -> dict[str, str]:
    return {"service": "todo-api", "status": "ok"}


@health_router.get("/health", responses={503: {"description": "The database does not answer"}})
async def health(session: SessionDep) -> JSONResponse:
    if database_answers(session):
        return JSONResponse({"status": "ok", "database": "ok"})
    return JSONResponse({"status": "unavailable", "database": "unavailable"}, status_code=503)


@router.get("", response_model=list[TaskPublic])
async def list_tasks(
    owner: OwnerId, session: SessionDep, query: Annotated[tasks.TaskQuery, Query()], response: Response
) -> list[Any]:
    """The caller's tasks, one page at a time; `X-Total-Count` is the number of all that match."""
    page, total = tasks.list_tasks(session, owner, query)
    response.headers["X-Total-Count"] = str(total)
    return page


@router.post("", response_model=TaskPublic, status_code=status.HTTP_201_CREATED)
async def create_task(owner: OwnerId, session: SessionDep, data: TaskCreate) -> Any:
    return tasks.create_task(session, owner, data)


@router.get("/{task_id}", response_model=TaskPublic, responses=_NOT_FOUND)
async def get_task(owner: OwnerId, session: SessionDep, task_id: TaskIdPath) -> Any:
    return tasks.get_task(session, owner, task_id)


@router.put("/{task_id}", response_model=TaskPublic, responses=_NOT_FOUND)
async def replace_task(owner: OwnerId, session: SessionDep, task_id: TaskIdPath, data: TaskReplace) -> Any:
    return tasks.replace_task(session, owner, task_id, data)


@router.patch("/{task_id}", response_model=TaskPublic, responses=_NOT_FOUND)
async def patch_task(owner: OwnerId, session: SessionDep, task_id: TaskIdPath, data: TaskPatch) -> Any:
    return tasks.patch_task(session, owner, task_id, data)


@router.patch("/{task_id}/complete", response_model=TaskPublic, responses=_NOT_FOUND)
async def complete_task(
    owner: OwnerId,
    session: SessionDep,
    task_id: TaskIdPath,
    data: Annotated[TaskCompletion | None, Body(description='`{"completed": bool}`; no body toggles')] = None,
) -> Any:
    return tasks.set_completion(session, owner, task_id, None if data is None else data.completed)


@router.delete("/{task_id}", status_code=status.HTTP_204_NO_CONTENT, responses=_NOT_FOUND)
async def delete_task(owner: OwnerId, session: SessionDep, task_id: TaskIdPath) -> Response:
    tasks.delete_task(session, owner, task_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
