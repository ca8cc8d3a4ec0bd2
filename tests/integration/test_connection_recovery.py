"""The pooled connection survives Postgres closing it between invocations (Neon suspending an idle
compute, a restart, a network that forgot the connection while the Lambda environment was frozen)."""

import select
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
import pytest

from localdev.events import call, http_event
from localdev.lambda_runner import run_in_fresh_process
from localdev.pgproxy import CountingProxy
from support.mcp_messages import call_tool
from support.source_env import source_env
from support.users import User
from todo_common.db import get_engine


def _terminate_app_connections(db: psycopg.Connection[Any]) -> int:
    row = db.execute(
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
        " WHERE application_name = 'todo-tests' AND datname = current_database()"
    ).fetchone()
    assert row is not None
    return int(row[0])


def _pooled_connection() -> psycopg.Connection[Any]:
    [record] = list(get_engine().pool._pool.queue)  # type: ignore[attr-defined]
    connection: psycopg.Connection[Any] = record.dbapi_connection
    return connection


def _wait_until_client_sees_close(connection: psycopg.Connection[Any], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not select.select([connection.fileno()], [], [], 0.01)[0]:
        assert time.monotonic() < deadline, "the close never reached the client"


def _age_pooled_connection(seconds: float) -> None:
    """Make the idle pooled connection look `seconds` older (as after a long freeze)."""
    for record in get_engine().pool._pool.queue:  # type: ignore[attr-defined]
        record.info["todo_last_used"] -= seconds


@contextmanager
def database_down(db: psycopg.Connection[Any], proxy: CountingProxy) -> Iterator[None]:
    """Postgres out of reach: the pooled connection is closed and new ones are refused."""
    proxy.refusing = True
    try:
        _terminate_app_connections(db)
        yield
    finally:
        proxy.refusing = False


@pytest.fixture
def warm(user: User, proxy: CountingProxy) -> None:
    assert user.list_tasks().status == 200


@pytest.mark.usefixtures("warm")
def test_request_after_server_closed_connection_succeeds(
    user: User, db: psycopg.Connection[Any], proxy: CountingProxy
) -> None:
    assert _terminate_app_connections(db) == 1
    _wait_until_client_sees_close(_pooled_connection())
    proxy.reset()

    response = user.list_tasks()

    assert response.status == 200
    # Replaced without a ping (the closed socket gave it away), and the new connection needs no
    # set-up statements: the request is still one round trip once connected.
    assert len(proxy.round_trips) == 1
    assert "SELECT 1" not in proxy.statements()


@pytest.mark.usefixtures("warm")
def test_request_after_long_idle_on_silently_dropped_connection_succeeds(user: User, proxy: CountingProxy) -> None:
    proxy.blackhole()
    _age_pooled_connection(3600)

    response = user.list_tasks()

    assert response.status == 200


@pytest.mark.usefixtures("warm")
def test_long_idle_connection_is_pinged_before_reuse(user: User, proxy: CountingProxy) -> None:
    _age_pooled_connection(3600)
    proxy.reset()

    user.list_tasks()

    assert proxy.statements()[0] == "SELECT 1"
    assert len(proxy.round_trips) == 2


@pytest.mark.usefixtures("warm")
def test_connection_dropped_mid_request_answers_503_then_recovers(user: User, proxy: CountingProxy) -> None:
    proxy.blackhole()  # used moments ago, so it is not pinged: the statement itself fails

    failed = user.list_tasks()
    recovered = user.list_tasks()

    assert failed.status == 503
    assert failed.headers["retry-after"]
    assert recovered.status == 200


@pytest.mark.usefixtures("warm")
def test_database_down_answers_503_and_health_says_so(
    user: User, db: psycopg.Connection[Any], proxy: CountingProxy
) -> None:
    with database_down(db, proxy):
        task_response = user.list_tasks()
        health = call("GET", "/health")

    assert task_response.status == 503
    assert task_response.json() == {"detail": "Database unavailable, try again shortly"}
    assert health.status == 503
    assert health.json() == {"status": "unavailable", "database": "unavailable"}
    assert health.headers["retry-after"] == "5"
    assert call("GET", "/health").status == 200


@pytest.mark.usefixtures("warm")
def test_mcp_tool_call_with_the_database_down_is_a_tool_error_then_recovers(
    user: User, db: psycopg.Connection[Any], proxy: CountingProxy
) -> None:
    with database_down(db, proxy):
        failed = call_tool(user.token, "list_tasks", {})

    assert failed["isError"] is True
    assert failed["content"] == [{"type": "text", "text": "the database is unavailable; try again shortly"}]
    assert call_tool(user.token, "list_tasks", {})["isError"] is False


# A statement that hangs (a lock held elsewhere, a slow query) is cut at DB_STATEMENT_TIMEOUT_MS.


@contextmanager
def locked_task(user: User, db: psycopg.Connection[Any], title: str) -> Iterator[tuple[dict[str, Any], Any]]:
    """A new task of the user's, its row locked by another connection until the block ends."""
    task = user.create_task(title)
    with psycopg.connect(db.info.dsn) as holder:
        holder.execute("SELECT 1 FROM tasks WHERE id = %s FOR UPDATE", (task["id"],))
        try:
            yield task, holder
        finally:
            holder.rollback()


def test_a_statement_blocked_by_a_lock_answers_503_and_never_applies_later(
    user: User, db: psycopg.Connection[Any]
) -> None:
    with locked_task(user, db, "locked") as (task, holder):
        release = threading.Timer(8, holder.rollback)  # without a timeout, the request would wait for this
        release.start()
        started = time.monotonic()
        blocked = call("PATCH", user.task_path(task["id"]), token=user.token, json_body={"title": "late"})
        waited = time.monotonic() - started
        release.cancel()
    recovered = call("GET", user.task_path(task["id"]), token=user.token)

    assert blocked.status == 503
    assert blocked.headers["retry-after"]
    assert 1.0 < waited < 5.0  # DB_STATEMENT_TIMEOUT_MS is 1500 in the tests
    assert recovered.status == 200
    assert recovered.json()["title"] == "locked"  # the cancelled write did not happen once the lock went


def test_every_round_trip_carries_the_statement_timeout_and_none_stays_on_the_connection(
    user: User, proxy: CountingProxy
) -> None:
    user.create_task("timed")
    user.list_tasks()

    assert proxy.timed
    assert all(proxy.timed)
    with get_engine().connect() as connection:
        raw = connection.connection.driver_connection
        assert raw is not None
        # A plain cursor, outside the pipeline: the connection's own setting is untouched (PgBouncer
        # would hand it to other clients otherwise).
        row = psycopg.Cursor(raw).execute("SHOW statement_timeout").fetchone()
    assert row == ("0",)


def test_a_cold_start_without_the_database_starts_and_answers_503(tmp_path: Path, user: User) -> None:
    """The function imports and answers while Postgres is unreachable: Lambda never fails its init."""
    with socket.socket() as closed:  # a port nothing listens on
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    events = [http_event("GET", "/health")[0], http_event("GET", user.tasks_path, token=user.token)[0]]
    env = {**source_env(), "DATABASE_URL": f"postgresql://app@127.0.0.1:{port}/todo", "DB_CONNECT_TIMEOUT_SECONDS": "2"}

    run = run_in_fresh_process("tasks_api.app.handler", events, env, tmp_path)

    health, tasks = run["responses"]
    assert (health["statusCode"], tasks["statusCode"]) == (503, 503)
    assert tasks["headers"]["retry-after"] == "5"


def test_the_backend_killed_during_a_request_answers_503_at_once_and_loses_nothing(
    user: User, db: psycopg.Connection[Any]
) -> None:
    with locked_task(user, db, "acknowledged") as (task, _):

        def kill_the_waiting_backend() -> None:  # Postgres' side of the request dies mid-statement
            db.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE application_name = 'todo-tests' AND wait_event_type = 'Lock'"
            )

        threading.Timer(0.4, kill_the_waiting_backend).start()
        started = time.monotonic()
        killed = call("PATCH", user.task_path(task["id"]), token=user.token, json_body={"title": "lost"})
        took = time.monotonic() - started
    after = call("GET", user.task_path(task["id"]), token=user.token)

    assert killed.status == 503
    assert took < 1.4  # the kill, not the statement timeout (1.5 s), ended it
    assert after.status == 200
    assert after.json()["title"] == "acknowledged"  # the acknowledged write is there; the killed one is not


def test_acknowledged_writes_survive_every_connection_being_dropped(user: User, db: psycopg.Connection[Any]) -> None:
    created = [user.create_task(f"write {n}")["id"] for n in range(5)]

    assert _terminate_app_connections(db) == 1  # as a restart would
    _wait_until_client_sees_close(_pooled_connection())
    listed = user.list_tasks(order="asc")

    assert listed.status == 200
    assert [task["id"] for task in listed.json()] == created
