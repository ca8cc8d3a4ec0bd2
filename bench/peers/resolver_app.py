"""The lightest peer: the task list and a task, as Powertools' APIGatewayHttpResolver would serve
them with psycopg and PyJWT only (no FastAPI, pydantic or SQLAlchemy). Same answers as ours for
these routes: the same JSON, `X-Total-Count`, 401 without a valid token, 403 for another's path."""

import json
import os
from datetime import UTC, date, datetime
from typing import Any

import jwt
import psycopg
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from psycopg.rows import dict_row

app = APIGatewayHttpResolver()
_connection: list[psycopg.Connection[dict[str, Any]]] = []

COLUMNS = (
    "id, user_id, title, description, completed, created_at, updated_at, version, due_date, due_at, priority, tags"
)
LIST = f"""
SELECT total.total, page.* FROM (SELECT count(*) AS total FROM tasks WHERE user_id = %(user)s) AS total
LEFT JOIN LATERAL (SELECT {COLUMNS} FROM tasks WHERE user_id = %(user)s
                   ORDER BY created_at DESC, id DESC LIMIT %(limit)s) AS page ON true
ORDER BY page.created_at DESC, page.id DESC
"""
ONE = f"SELECT {COLUMNS} FROM tasks WHERE id = %(id)s AND user_id = %(user)s"


def connection() -> psycopg.Connection[dict[str, Any]]:
    """One connection per execution environment, opened on first use, replaced once closed."""
    if not _connection or _connection[0].closed:
        _connection[:] = [
            psycopg.connect(os.environ["DATABASE_URL"], autocommit=True, prepare_threshold=None, row_factory=dict_row)
        ]
    return _connection[0]


def _json(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    return value


def _task(row: dict[str, Any]) -> dict[str, Any]:
    return {name: _json(row[name]) for name in COLUMNS.split(", ")}


def _error(status: int, detail: str) -> Response[str]:
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return Response(status, "application/json", json.dumps({"detail": detail}), headers)


def _owner(user_id: str) -> Response[str] | None:
    """None when the bearer token is valid and its subject is `user_id`; else the error to answer."""
    scheme, _, token = (app.current_event.headers.get("authorization") or "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        return _error(401, "Not authenticated")
    try:
        claims = jwt.decode(token, os.environ["SECRET_KEY"], algorithms=["HS256"], options={"require": ["exp", "sub"]})
    except jwt.InvalidTokenError:
        return _error(401, "Invalid or expired token")
    return None if claims["sub"] == user_id else _error(403, "Not allowed to access another user's resources")


@app.get("/health")
def health() -> dict[str, str]:
    connection().execute("SELECT 1")
    return {"status": "ok", "database": "ok"}


@app.get("/api/<user_id>/tasks")
def list_tasks(user_id: str) -> Response[str]:
    refused = _owner(user_id)
    if refused is not None:
        return refused
    limit = app.current_event.get_query_string_value("limit", "100") or "100"
    if not limit.isdigit() or not 1 <= int(limit) <= 500:
        return _error(422, "limit must be 1-500")
    rows = connection().execute(LIST, {"user": user_id, "limit": int(limit)}).fetchall()
    tasks = [_task(row) for row in rows if row["id"] is not None]
    body = json.dumps(tasks, separators=(",", ":"))
    return Response(200, "application/json", body, {"X-Total-Count": str(rows[0]["total"])})


@app.get("/api/<user_id>/tasks/<task_id>")
def get_task(user_id: str, task_id: str) -> Response[str]:
    refused = _owner(user_id)
    if refused is not None:
        return refused
    if not task_id.isdigit():
        return _error(422, "task_id must be a number")
    row = connection().execute(ONE, {"id": int(task_id), "user": user_id}).fetchone()
    if row is None:
        return _error(404, "Task not found")
    return Response(200, "application/json", json.dumps(_task(row), separators=(",", ":")))


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return app.resolve(event, context)
