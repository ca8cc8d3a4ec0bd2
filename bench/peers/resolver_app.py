"""The lightest peer: health, the task list and one task, served the way a careful engineer would
with Powertools' APIGatewayHttpResolver, psycopg and PyJWT only (no FastAPI, pydantic or SQLAlchemy).

It answers what the tasks function answers for these routes, so that the benchmarks compare like
with like: the same JSON bytes for the same rows, `X-Total-Count`, the same statuses and `detail`s
for tokens (401 missing or invalid, 403 another user's path), 404, 503 while Postgres cannot be
reached; 422 for a bad limit or id (with a one-line `detail`, not pydantic's list). The list and
its count are one statement (a count LEFT JOIN LATERAL the page), as ours are.
"""

import json
import os
from datetime import UTC, date, datetime
from typing import Any

import jwt
import psycopg
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from psycopg.rows import dict_row

Row = dict[str, Any]

app = APIGatewayHttpResolver()

BIGINT_MAX = 2**63 - 1
CLOCK_SKEW_SECONDS = 10  # as our verifier
# TaskPublic's fields, in its order.
COLUMNS = (
    "id, user_id, title, description, completed, created_at, updated_at, version, due_date, due_at, priority, tags"
)
FIELDS = tuple(COLUMNS.split(", "))
LIST_TASKS = f"""
SELECT total.total, page.*
FROM (SELECT count(*) AS total FROM tasks WHERE user_id = %(user_id)s) AS total
LEFT JOIN LATERAL (
    SELECT {COLUMNS} FROM tasks WHERE user_id = %(user_id)s ORDER BY created_at DESC, id DESC LIMIT %(limit)s
) AS page ON true
ORDER BY page.created_at DESC, page.id DESC
"""
GET_TASK = f"SELECT {COLUMNS} FROM tasks WHERE id = %(id)s AND user_id = %(user_id)s"


class HTTPError(Exception):
    """An error answer (`{"detail": ...}`, as ours), raised from anywhere in a route."""

    def __init__(self, status: int, detail: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.status, self.detail, self.headers = status, detail, headers


def _dumps(value: Any) -> str:
    """JSON as FastAPI writes it (compact, UTF-8 unescaped), so that bodies compare byte for byte."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _http_error(error: HTTPError) -> Response[str]:
    return Response(error.status, "application/json", _dumps({"detail": error.detail}), error.headers)


def _database_unavailable(_: psycopg.OperationalError) -> Response[str]:
    body = _dumps({"detail": "Database unavailable, try again shortly"})
    return Response(503, "application/json", body, {"Retry-After": "5"})


# Registered by call: Powertools' decorator is untyped, and would make these untyped for mypy.
app.exception_handler(HTTPError)(_http_error)
app.exception_handler(psycopg.OperationalError)(_database_unavailable)


# The environment's one connection: opened on first use, kept across warm invocations.
_connection: psycopg.Connection[Row] | None = None


def _connect() -> psycopg.Connection[Row]:
    """Autocommit (one statement, one round trip) and no prepared statements (Neon's PgBouncer)."""
    global _connection
    if _connection is None or _connection.closed:
        url = os.environ["DATABASE_URL"]
        _connection = psycopg.connect(url, autocommit=True, prepare_threshold=None, row_factory=dict_row)
    return _connection


def _query(statement: str, params: dict[str, Any] | None = None) -> list[Row]:
    """The rows of one read; once, on a connection Postgres closed while Lambda was frozen, anew."""
    try:
        return _connect().execute(statement, params).fetchall()
    except psycopg.OperationalError:
        if _connection is None or not _connection.closed:
            raise  # not a dead connection: a reconnect would not help
        return _connect().execute(statement, params).fetchall()


def _authorize(user_id: str) -> None:
    """Pass if the bearer token is valid and its subject is `user_id`; else 401 or 403, worded as ours."""
    scheme, _, token = (app.current_event.headers.get("authorization") or "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise HTTPError(401, "Not authenticated", {"WWW-Authenticate": "Bearer"})
    audience = os.environ.get("JWT_AUDIENCE") or None  # unset, as ours: `aud` is not checked
    try:
        claims = jwt.decode(
            token,
            os.environ["SECRET_KEY"],
            algorithms=["HS256"],
            issuer=os.environ.get("JWT_ISSUER") or None,
            audience=audience,
            leeway=CLOCK_SKEW_SECONDS,
            options={"require": ["exp", "sub"], "verify_aud": audience is not None},
        )
    except jwt.InvalidTokenError:
        raise HTTPError(401, "Invalid or expired token", {"WWW-Authenticate": 'Bearer error="invalid_token"'}) from None
    if claims["sub"] != user_id:
        raise HTTPError(403, "You can only access your own resources")


def _bounded(text: str, name: str, highest: int) -> int:
    """A positive decimal integer up to `highest`, or 422."""
    if not (text.isascii() and text.isdigit() and 1 <= int(text) <= highest):
        raise HTTPError(422, f"{name} must be an integer from 1 to {highest}")
    return int(text)


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime):  # before date: a datetime is a date
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    return value


def _task(row: Row) -> Row:
    """A task as `TaskPublic` writes it: its columns in order, instants in UTC with `Z`."""
    return {name: _json_value(row[name]) for name in FIELDS}


@app.get("/health")
def health() -> Response[str]:
    try:
        _query("SELECT 1")
    except psycopg.Error:
        body = _dumps({"status": "unavailable", "database": "unavailable"})
        return Response(503, "application/json", body, {"Retry-After": "5"})
    return Response(200, "application/json", _dumps({"status": "ok", "database": "ok"}))


@app.get("/api/<user_id>/tasks")
def list_tasks(user_id: str) -> Response[str]:
    _authorize(user_id)
    limit = _bounded(app.current_event.get_query_string_value("limit") or "100", "limit", 500)
    rows = _query(LIST_TASKS, {"user_id": user_id, "limit": limit})
    # LEFT JOIN: one row even without tasks, with the count and NULL columns.
    body = _dumps([_task(row) for row in rows if row["id"] is not None])
    return Response(200, "application/json", body, {"X-Total-Count": str(rows[0]["total"])})


@app.get("/api/<user_id>/tasks/<task_id>")
def get_task(user_id: str, task_id: str) -> Response[str]:
    _authorize(user_id)
    rows = _query(GET_TASK, {"id": _bounded(task_id, "task_id", BIGINT_MAX), "user_id": user_id})
    if not rows:
        raise HTTPError(404, "Task not found")
    return Response(200, "application/json", _dumps(_task(rows[0])), {"ETag": f'"{rows[0]["version"]}"'})


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The Lambda entry point."""
    return app.resolve(event, context)
