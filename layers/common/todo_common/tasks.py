"""The task operations, always scoped to one user: the REST routes and the chat tools call these.

Every operation is a single SQL statement (writes use `RETURNING`), so on the autocommit engine
each one costs exactly one round trip to Postgres.
"""

import operator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Literal

from pydantic import Field
from sqlalchemy import (
    TIMESTAMP,
    CompoundSelect,
    Date,
    Delete,
    Update,
    and_,
    case,
    cast,
    delete,
    exists,
    false,
    func,
    insert,
    literal,
    not_,
    or_,
    select,
    true,
    tuple_,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, SQLModel, col

from todo_common import cursors, idempotency
from todo_common.errors import NotFoundError
from todo_common.idempotency import KeyedRequest
from todo_common.models import (
    BIGINT_MAX,
    MAX_TAGS,
    DueDate,
    IdempotencyKey,
    Priority,
    SearchText,
    Tag,
    Task,
    TaskCreate,
    TaskPatch,
    TaskReplace,
)
from todo_common.observability import count
from todo_common.preferences import timezone_of

TaskStatus = Literal["all", "pending", "completed"]
SortField = Literal["created_at", "updated_at", "title", "id", "due", "priority"]
SortOrder = Literal["asc", "desc"]

MAX_PAGE_SIZE = 500


class TaskQuery(SQLModel):
    """Filters, order and page of a task list. Days are the user's (their preferred time zone)."""

    status: TaskStatus = "all"
    q: SearchText | None = Field(
        default=None, description="case-insensitive search in title and description", examples=["groceries"]
    )
    due_after: DueDate | None = Field(default=None, description="due on this day or later", examples=["2026-11-23"])
    due_before: DueDate | None = Field(default=None, description="due on this day or earlier", examples=["2026-11-30"])
    overdue: bool = Field(
        default=False,
        description="only tasks not completed and past due (a due day: before today)",
        examples=[True],
    )
    priority: list[Priority] = Field(
        default_factory=list, description="any of these (repeat the parameter)", examples=[["high", "medium"]]
    )
    tag: list[Tag] = Field(
        default_factory=list, max_length=MAX_TAGS, description="all of these (repeat it)", examples=[["work"]]
    )
    sort: SortField = Field(
        default="created_at",
        description="`due`: by due day or instant together, undated last; `priority`: high first (with `desc`)",
        examples=["due"],
    )
    order: SortOrder = "desc"
    limit: int = Field(default=100, ge=1, le=MAX_PAGE_SIZE)
    offset: int = Field(default=0, ge=0, le=BIGINT_MAX)
    cursor: str | None = Field(
        default=None,
        max_length=cursors.MAX_CURSOR_LENGTH,
        description="where the page starts: the cursor in the previous page's `Link` (rel=next); not with `offset`",
    )

    def binding(self) -> str:
        """What a cursor of this list is bound to: its filters, sort and order (not where it starts)."""
        return cursors.binding(self.model_dump(mode="json", exclude={"cursor", "offset", "limit"}))


class TaskNotFound(NotFoundError):
    def __init__(self) -> None:
        super().__init__("Task not found")


class TaskChanged(Exception):
    """A change was made conditional on versions the task no longer has (`If-Match`, → 412)."""

    def __init__(self, current: Task) -> None:
        super().__init__("the task has changed")
        self.current = current


# The versions a change may apply to (from `If-Match`); None: whatever the task's version.
Expected = frozenset[int] | None


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _owned(user_id: str, task_id: int) -> list[Any]:
    return [col(Task.id) == task_id, col(Task.user_id) == user_id]


def _returning_one(session: Session, statement: Any) -> Task:
    task: Task | None = session.scalars(statement, execution_options={"synchronize_session": False}).one_or_none()
    if task is None:
        raise TaskNotFound()
    return task


def _change(session: Session, statement: Update | Delete, user_id: str, task_id: int, expected: Expected) -> Task:
    """Run an UPDATE or DELETE of one owned task and return the row it changed.

    With `expected` versions, the change applies only to one of them; otherwise the same statement
    reads the task as it is, and TaskChanged carries it. Either way, one statement.
    """
    statement = statement.where(*_owned(user_id, task_id))
    if expected is None:
        return _returning_one(session, statement.returning(Task))
    columns = list(Task.__table__.columns)  # type: ignore[attr-defined]
    changed = statement.where(col(Task.version).in_(expected)).returning(*columns).cte("changed")
    unchanged = select(*columns, false().label("applied")).where(
        *_owned(user_id, task_id), ~exists(select(changed.c.id))
    )
    row = session.execute(select(*changed.c, true().label("applied")).union_all(unchanged)).one_or_none()
    if row is None:
        raise TaskNotFound()
    values = dict(row._mapping)
    task = Task.model_validate({name: values[name] for name in Task.model_fields})
    if not values["applied"]:
        raise TaskChanged(task)
    return task


def create_task(session: Session, user_id: str, data: TaskCreate) -> Task:
    task = _returning_one(session, insert(Task).values(user_id=user_id, **data.model_dump()).returning(Task))
    count("TasksCreated")
    return task


def create_task_once(session: Session, user_id: str, data: TaskCreate, request: KeyedRequest) -> tuple[Task, bool]:
    """Create the task unless this idempotency key already has: (the task as first created, whether
    this is a replay). One statement, whichever it is."""
    for attempt in (1, 2):
        try:
            replayed, fingerprint, response = session.execute(_create_once(user_id, data, request)).one()
            break
        except IntegrityError:
            # A concurrent request with the key committed first (its task stands, this one's is
            # undone with the statement), or an expired record holds the key: look again.
            session.rollback()
            if attempt == 2:
                raise
            session.execute(idempotency.delete_if_expired(user_id, request))
    idempotency.check_same_request(request, fingerprint)
    if not replayed:
        count("TasksCreated")
    return Task.model_validate(response), replayed


def _create_once(user_id: str, data: TaskCreate, request: KeyedRequest) -> CompoundSelect[tuple[bool, str, Any]]:
    stored = select(col(IdempotencyKey.fingerprint), col(IdempotencyKey.response)).where(
        idempotency.live(user_id, request)
    )
    existing = stored.cte("existing")
    values = {"user_id": user_id, **data.model_dump()}
    created = (
        insert(Task)
        .from_select(list(values), select(*(literal(v) for v in values.values())).where(~exists(existing.select())))
        .returning(*Task.__table__.columns)  # type: ignore[attr-defined]
        .cte("created")
    )
    response = func.to_jsonb(created.table_valued())
    recorded = insert(IdempotencyKey).from_select(
        ["user_id", "key", "fingerprint", "status_code", "response", "expires_at"],
        select(
            literal(user_id),
            literal(request.key),
            literal(request.fingerprint),
            literal(201),
            response,
            idempotency.expiry(),
        ).select_from(created),
    )
    first = select(false(), literal(request.fingerprint), response).select_from(created)
    again = select(true(), existing.c.fingerprint, existing.c.response)
    return (
        first.union_all(again)
        .add_cte(recorded.cte("recorded"))
        .add_cte(idempotency.purge_expired(user_id, request).cte("purged"))
    )


def get_task(session: Session, user_id: str, task_id: int) -> Task:
    return _returning_one(session, select(Task).where(*_owned(user_id, task_id)))


@dataclass(frozen=True)
class TaskPage:
    tasks: list[dict[str, Any]]  # the columns of each task
    total: int  # of all the tasks that match, on every page
    next_cursor: str | None  # where the next page starts; None on the last page


def list_tasks(session: Session, user_id: str, query: TaskQuery) -> TaskPage:
    """One page of the user's tasks and the number of all tasks that match, in one statement
    (the user's time zone, when the query needs it, is read in the same statement).

    With `cursor`, the page starts after the task the cursor names (keyset pagination: any page
    costs what the first one does); with `offset`, after that many tasks. The tasks are plain
    dicts of their columns: a page is only read, and ORM objects for it cost more than the query.
    """
    zone = timezone_of(user_id)
    conditions = [col(Task.user_id) == user_id, *_filters(query, zone)]
    sort_key = _sort_key(query.sort, zone)
    bound = query.binding()
    after = [] if query.cursor is None else [_after(query, query.cursor, sort_key, bound)]
    total = select(func.count().label("total")).select_from(Task).where(*conditions).subquery("total")
    page = (
        (
            select(Task, sort_key.label("sort_key"))
            .where(*conditions, *after)
            .order_by(*_ordering(sort_key, col(Task.id), query.order))
            .limit(query.limit + 1)  # one more: whether there is a next page
            .offset(query.offset)
        )
        .subquery("page")
        .lateral()
    )
    # LEFT JOIN LATERAL: the count comes back even when the page is empty.
    statement = (
        select(total.c.total, *page.c)
        .select_from(total)
        .outerjoin(page, true())
        .order_by(*_ordering(page.c.sort_key, page.c.id, query.order))
    )
    rows = session.execute(statement).all()
    found = [row for row in rows if row.id is not None]
    last = found[query.limit - 1] if len(found) > query.limit else None
    next_cursor = None if last is None else cursors.encode(last.sort_key, last.id, bound)
    tasks = [{name: value for name, value in row._asdict().items() if name not in _EXTRA} for row in found]
    return TaskPage(tasks[: query.limit], rows[0].total, next_cursor)


_EXTRA = {"total", "sort_key"}
_KEY_KINDS: dict[SortField, cursors.KeyKind] = {
    "created_at": "instant",
    "updated_at": "instant",
    "due": "instant",
    "title": "text",
    "id": "bigint",
    "priority": "integer",  # the rank of _sort_key's CASE
}


def _after(query: TaskQuery, cursor: str, sort_key: Any, bound: str) -> Any:
    """The tasks after the cursor's, in the list's order (its sort key, then id; no key last)."""
    if query.offset:
        raise cursors.InvalidCursor("give cursor or offset, not both")
    key, task_id = cursors.decode(cursor, bound, _KEY_KINDS[query.sort])
    later = operator.gt if query.order == "asc" else operator.lt
    task = col(Task.id)
    if key is None:  # among the tasks without a key, which come last
        return and_(sort_key.is_(None), later(task, task_id))
    key_value = literal(key, sort_key.type)
    if query.sort in _NEVER_NULL:  # a row comparison, which the (user, key, id) index can serve
        return later(tuple_(sort_key, task), tuple_(key_value, task_id))
    return or_(later(sort_key, key_value), and_(sort_key == key_value, later(task, task_id)), sort_key.is_(None))


_NEVER_NULL = {"created_at", "updated_at", "title", "id"}


def _filters(query: TaskQuery, zone: Any) -> list[Any]:
    conditions: list[Any] = []
    if query.status != "all":
        conditions.append(col(Task.completed).is_(query.status == "completed"))
    if query.q:
        pattern = f"%{_escape_like(query.q)}%"
        conditions.append(
            or_(col(Task.title).ilike(pattern, escape="\\"), col(Task.description).ilike(pattern, escape="\\"))
        )
    # A task has a due day or a due instant: each bound is checked on whichever it has (the other is NULL).
    if query.due_after is not None:
        conditions.append(
            or_(col(Task.due_date) >= query.due_after, col(Task.due_at) >= _start_of(query.due_after, zone))
        )
    if query.due_before is not None:
        following = query.due_before + timedelta(days=1)
        conditions.append(or_(col(Task.due_date) <= query.due_before, col(Task.due_at) < _start_of(following, zone)))
    if query.overdue:
        today = cast(func.timezone(zone, func.now()), Date)
        conditions += [col(Task.completed).is_(False), or_(col(Task.due_at) < func.now(), col(Task.due_date) < today)]
    if query.priority:
        conditions.append(col(Task.priority).in_(query.priority))
    if query.tag:
        conditions.append(col(Task.tags).contains(query.tag))
    return conditions


def _start_of(day: date, zone: Any) -> Any:
    """The instant a day begins in the zone (`timestamp AT TIME ZONE zone`: DST days included)."""
    return func.timezone(zone, cast(literal(day), TIMESTAMP))


_PRIORITY_RANK = {"low": 1, "medium": 2, "high": 3}


def _sort_key(sort: SortField, zone: Any) -> Any:
    if sort == "due":  # a due day counts as due when it ends, in the user's zone
        return func.coalesce(
            col(Task.due_at), func.timezone(zone, cast(col(Task.due_date), TIMESTAMP) + timedelta(days=1))
        )
    if sort == "priority":
        return case(_PRIORITY_RANK, value=col(Task.priority))
    return col(getattr(Task, sort))


def _ordering(sort_column: Any, id_column: Any, order: SortOrder) -> list[Any]:
    """Sort by the chosen key (tasks without one last), then by id so that pages never overlap or skip."""
    if order == "asc":
        return [sort_column.asc().nulls_last(), id_column.asc()]
    return [sort_column.desc().nulls_last(), id_column.desc()]


def _update(session: Session, user_id: str, task_id: int, values: dict[str, Any], expected: Expected) -> Task:
    statement = update(Task).values(**values, updated_at=func.now(), version=col(Task.version) + 1)
    return _change(session, statement, user_id, task_id, expected)


def replace_task(session: Session, user_id: str, task_id: int, data: TaskReplace, expected: Expected = None) -> Task:
    return _update(session, user_id, task_id, data.model_dump(), expected)


def patch_task(session: Session, user_id: str, task_id: int, data: TaskPatch, expected: Expected = None) -> Task:
    changes = data.changes()
    if not changes:
        task = get_task(session, user_id, task_id)
        if expected is not None and task.version not in expected:
            raise TaskChanged(task)
        return task
    return _update(session, user_id, task_id, changes, expected)


def set_completion(
    session: Session, user_id: str, task_id: int, completed: bool | None, expected: Expected = None
) -> Task:
    """Mark the task completed or pending; `None` toggles it."""
    value = not_(col(Task.completed)) if completed is None else completed
    task = _update(session, user_id, task_id, {"completed": value}, expected)
    if task.completed:
        count("TasksCompleted")
    return task


def delete_task(session: Session, user_id: str, task_id: int, expected: Expected = None) -> Task:
    """Delete the task and return it as it was."""
    task = _change(session, delete(Task), user_id, task_id, expected)
    count("TasksDeleted")
    return task
