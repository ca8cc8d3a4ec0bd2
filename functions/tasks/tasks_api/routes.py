"""Task CRUD for the caller's own tasks, and the health checks.

The routes are `async def` although their database calls block. A Lambda environment serves one
request at a time, so there is nothing to yield to, and FastAPI would otherwise hop to a worker
thread for every sync route and dependency: measured side by side, a warm single-task request
took about twice as long that way. (`make dev` serves one request at a time for the same reason.)
"""

from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Body, Header, HTTPException, Path, Query, Request, Response, status
from fastapi.responses import JSONResponse

from todo_common import cursors, tasks
from todo_common.db import SessionDep, database_answers
from todo_common.errors import RETRY_AFTER
from todo_common.idempotency import REPLAYED_HEADER, IdempotencyKeyHeader, keyed
from todo_common.models import (
    BIGINT_MAX,
    Task,
    TaskCompletion,
    TaskCreate,
    TaskId,
    TaskPatch,
    TaskPublic,
    TaskReplace,
)
from todo_common.security import OWNER_RESPONSES, OwnerId

health_router = APIRouter(tags=["health"])
router = APIRouter(prefix="/api/{user_id}/tasks", tags=["tasks"], responses=OWNER_RESPONSES)

TaskIdPath = Annotated[TaskId, Path()]
IfMatch = Annotated[
    str | None,
    Header(description="Change the task only if its ETag is one of these (else 412); `*`: any version"),
]
IfNoneMatch = Annotated[str | None, Header(description="304 (no body) if the task's ETag is one of these")]

_ETAG = {"ETag": {"description": "The task's version, quoted", "schema": {"type": "string"}}}
_REPLAYED = {REPLAYED_HEADER: {"description": "`true`: the response of an earlier request with this Idempotency-Key"}}
_NOT_FOUND = {"description": "No such task for this user"}
_CHANGED = {"description": "`If-Match` names none of the task's versions: the body has the task as it is now"}
_CHANGE_RESPONSES: dict[int | str, dict[str, Any]] = {200: {"headers": _ETAG}, 404: _NOT_FOUND, 412: _CHANGED}


def etag(task: Task) -> str:
    return f'"{task.version}"'


def expected_versions(if_match: str | None) -> tasks.Expected:
    """The versions an `If-Match` header names (None: no header, or `*`). Weak and malformed tags
    name none: a change conditional on them never applies (RFC 9110 compares strongly)."""
    if if_match is None or if_match.strip() == "*":
        return None
    versions = set()
    for tag in if_match.split(","):
        number = tag.strip().removeprefix('"').removesuffix('"')
        if tag.strip() == f'"{number}"' and number.isascii() and number.isdigit() and int(number) <= BIGINT_MAX:
            versions.add(int(number))
    return frozenset(versions)


def _none_match(if_none_match: str, tag: str) -> bool:
    """Whether `If-None-Match` names this tag (weak comparison: W/ does not matter)."""
    named = {candidate.strip().removeprefix("W/") for candidate in if_none_match.split(",")}
    return "*" in named or tag in named


def task_changed(_: Request, exc: tasks.TaskChanged) -> JSONResponse:
    """412 with the task as it is now, and its ETag, so that the client can merge and try again."""
    current = TaskPublic.model_validate(exc.current, from_attributes=True)
    body = {"detail": "The task has changed since that version", "task": current.model_dump(mode="json")}
    return JSONResponse(body, status_code=status.HTTP_412_PRECONDITION_FAILED, headers={"ETag": etag(exc.current)})


@health_router.get("/")
async def root() -> dict[str, str]:
    return {"service": "todo-api", "status": "ok"}


@health_router.get("/health", responses={503: {"description": "The database does not answer"}})
async def health(session: SessionDep) -> JSONResponse:
    if database_answers(session):
        return JSONResponse({"status": "ok", "database": "ok"})
    return JSONResponse({"status": "unavailable", "database": "unavailable"}, status_code=503, headers=RETRY_AFTER)


_LIST_HEADERS = {
    "X-Total-Count": {"description": "How many tasks match, on all pages", "schema": {"type": "integer"}},
    "Link": {"description": 'The next page, if there is one: `</api/…/tasks?…&cursor=…>; rel="next"`'},
}


@router.get(
    "",
    response_model=list[TaskPublic],
    responses={200: {"headers": _LIST_HEADERS}, 400: {"description": "A cursor this list did not make"}},
)
async def list_tasks(
    owner: OwnerId,
    session: SessionDep,
    query: Annotated[tasks.TaskQuery, Query()],
    request: Request,
    response: Response,
) -> list[Any]:
    """The caller's tasks, one page at a time; `X-Total-Count` is the number of all that match, and
    `Link` (rel=next) the next page, by cursor: any page costs what the first one does."""
    try:
        page = tasks.list_tasks(session, owner, query)
    except cursors.InvalidCursor as exc:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, str(exc)) from None
    response.headers["X-Total-Count"] = str(page.total)
    if page.next_cursor is not None:
        response.headers["Link"] = f'<{next_page(request, page.next_cursor)}>; rel="next"'
    return page.tasks


def next_page(request: Request, cursor: str) -> str:
    """This list's URL with the next page's cursor: relative (the Host header is the client's to
    set, and API Gateway's domain is not the app's to know)."""
    kept = [(name, value) for name, value in request.query_params.multi_items() if name not in ("cursor", "offset")]
    # The decoded path, percent-encoded once: a user id may be any text (`?` and `#` included, which
    # request.url.path has escaped already), and a header carries ASCII (RFC 3986 in RFC 8288).
    return f"{quote(request.scope['path'])}?{urlencode([*kept, ('cursor', cursor)])}"


@router.post(
    "",
    response_model=TaskPublic,
    status_code=status.HTTP_201_CREATED,
    responses={201: {"headers": {**_ETAG, **_REPLAYED}}},
)
async def create_task(
    owner: OwnerId,
    session: SessionDep,
    data: TaskCreate,
    response: Response,
    idempotency_key: IdempotencyKeyHeader = None,
) -> Any:
    keyed_request = keyed(idempotency_key, "POST /api/{user_id}/tasks", data.model_dump(mode="json"))
    if keyed_request is None:
        task = tasks.create_task(session, owner, data)
    else:
        task, replayed = tasks.create_task_once(session, owner, data, keyed_request)
        if replayed:
            response.headers[REPLAYED_HEADER] = "true"
    response.headers["ETag"] = etag(task)
    return task


@router.get(
    "/{task_id}",
    response_model=TaskPublic,
    responses={200: {"headers": _ETAG}, 304: {"description": "`If-None-Match` names the task's ETag"}, 404: _NOT_FOUND},
)
async def get_task(
    owner: OwnerId, session: SessionDep, task_id: TaskIdPath, response: Response, if_none_match: IfNoneMatch = None
) -> Any:
    task = tasks.get_task(session, owner, task_id)
    tag = etag(task)
    if if_none_match is not None and _none_match(if_none_match, tag):
        return Response(status_code=status.HTTP_304_NOT_MODIFIED, headers={"ETag": tag})
    response.headers["ETag"] = tag
    return task


@router.put("/{task_id}", response_model=TaskPublic, responses=_CHANGE_RESPONSES)
async def replace_task(
    owner: OwnerId,
    session: SessionDep,
    task_id: TaskIdPath,
    data: TaskReplace,
    response: Response,
    if_match: IfMatch = None,
) -> Any:
    task = tasks.replace_task(session, owner, task_id, data, expected_versions(if_match))
    response.headers["ETag"] = etag(task)
    return task


@router.patch("/{task_id}", response_model=TaskPublic, responses=_CHANGE_RESPONSES)
async def patch_task(
    owner: OwnerId,
    session: SessionDep,
    task_id: TaskIdPath,
    data: TaskPatch,
    response: Response,
    if_match: IfMatch = None,
) -> Any:
    task = tasks.patch_task(session, owner, task_id, data, expected_versions(if_match))
    response.headers["ETag"] = etag(task)
    return task


@router.patch("/{task_id}/complete", response_model=TaskPublic, responses=_CHANGE_RESPONSES)
async def complete_task(
    owner: OwnerId,
    session: SessionDep,
    task_id: TaskIdPath,
    response: Response,
    data: Annotated[TaskCompletion | None, Body(description='`{"completed": bool}`; no body toggles')] = None,
    if_match: IfMatch = None,
) -> Any:
    completed = None if data is None else data.completed
    task = tasks.set_completion(session, owner, task_id, completed, expected_versions(if_match))
    response.headers["ETag"] = etag(task)
    return task


@router.delete("/{task_id}", status_code=status.HTTP_204_NO_CONTENT, responses={404: _NOT_FOUND, 412: _CHANGED})
async def delete_task(owner: OwnerId, session: SessionDep, task_id: TaskIdPath, if_match: IfMatch = None) -> Response:
    tasks.delete_task(session, owner, task_id, expected_versions(if_match))
    return Response(status_code=status.HTTP_204_NO_CONTENT)
