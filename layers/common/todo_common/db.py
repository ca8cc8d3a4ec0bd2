"""One database engine per execution environment, built for Lambda and Neon.

- At most one pooled connection, opened on first use and reused across warm invocations.
- Autocommit: a single statement is its own transaction, so a simple request costs one round
  trip (no BEGIN/COMMIT around it). Code that needs several statements to be atomic opens an
  explicit transaction on its connection.
- `prepare_threshold=None`: Neon's pooler is PgBouncer in transaction mode, which cannot keep
  server-side prepared statements.
- A connection that Postgres closed while the environment was frozen (Neon suspends idle
  computes) is replaced on checkout, without pinging a connection that was used moments ago.
- Every statement is cut after `DB_STATEMENT_TIMEOUT_MS` (a lock held elsewhere, a slow query), in
  the same round trip: see `StatementTimeoutCursor`.
"""

import os
import select
import time
from collections.abc import AsyncIterator
from functools import lru_cache
from typing import Annotated, Any, Self

import psycopg
from fastapi import Depends
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.exc import DisconnectionError, SQLAlchemyError
from sqlalchemy.pool import ConnectionPoolEntry
from sqlmodel import Session

from todo_common import snapstart
from todo_common.settings import Settings, get_settings, sqlalchemy_url

_LAST_USED = "todo_last_used"


SET_STATEMENT_TIMEOUT = "SELECT set_config('statement_timeout', %s, true)"


class StatementTimeoutCursor(psycopg.Cursor[Any]):
    """Sends each statement behind a transaction-local `statement_timeout`, in one pipeline.

    The pooler (PgBouncer in transaction mode) refuses `options=-c statement_timeout=…` at connect
    time, and a plain `SET` would stay on a server connection that other clients share. Sent in one
    pipeline with a single Sync, the two statements form one implicit transaction: the setting holds
    for the statement and ends with it, and the pair costs one round trip.
    """

    timeout: str = "0"  # set on the subclass an engine makes (statement_timeout's units: ms)

    def execute(
        self, query: Any, params: Any = None, *, prepare: bool | None = None, binary: bool | None = None
    ) -> Self:
        with self.connection.pipeline():
            psycopg.Cursor(self.connection).execute(SET_STATEMENT_TIMEOUT, (self.timeout,))
            super().execute(query, params, prepare=prepare, binary=binary)
        return self


def create_db_engine(settings: Settings) -> Engine:
    if settings.DATABASE_URL is None:
        raise RuntimeError("DATABASE_URL is not set")
    engine = create_engine(
        sqlalchemy_url(settings.DATABASE_URL.get_secret_value()),
        pool_size=1,
        max_overflow=0,
        isolation_level="AUTOCOMMIT",
        hide_parameters=True,  # SQL errors in logs never carry user data
        connect_args={
            "cursor_factory": type(
                "TimedCursor", (StatementTimeoutCursor,), {"timeout": f"{settings.DB_STATEMENT_TIMEOUT_MS}ms"}
            ),
            "prepare_threshold": None,
            "connect_timeout": settings.DB_CONNECT_TIMEOUT_SECONDS,
            "application_name": os.environ.get("POWERTOOLS_SERVICE_NAME", "todo-api"),
        },
    )
    _replace_dead_connections(engine, ping_after_idle=settings.DB_PING_AFTER_IDLE_SECONDS)
    return engine


def _replace_dead_connections(engine: Engine, ping_after_idle: float) -> None:
    @event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_conn: psycopg.Connection[Any], record: ConnectionPoolEntry, _: object) -> None:
        last_used = record.info.get(_LAST_USED)
        if last_used is None:  # opened just now
            return
        # An idle connection has nothing to read unless the server has written to it, and the only
        # thing Postgres writes unasked (we never LISTEN) is the notice that it is closing it:
        # such a connection is replaced for free, without a round trip.
        if dbapi_conn.closed or select.select([dbapi_conn.fileno()], [], [], 0)[0]:
            raise DisconnectionError("server closed the idle connection")
        if time.monotonic() - last_used > ping_after_idle:
            try:
                dbapi_conn.execute("SELECT 1")
            except psycopg.Error as exc:
                raise DisconnectionError("idle connection is dead") from exc

    @event.listens_for(engine, "checkin")
    def _on_checkin(_conn: object, record: ConnectionPoolEntry) -> None:
        record.info[_LAST_USED] = time.monotonic()


@lru_cache
def get_engine() -> Engine:
    """The engine of this execution environment, made on first use from its settings."""
    return create_db_engine(get_settings())


def close_connections() -> None:
    """Close the environment's pooled connection (a SnapStart snapshot must not hold one)."""
    if get_engine.cache_info().currsize:
        get_engine().dispose()


def _forget_engine() -> None:
    """Made anew on first use, from the settings as they are then."""
    close_connections()
    get_engine.cache_clear()


snapstart.before_snapshot(close_connections)
snapstart.after_restore(_forget_engine)


def new_session() -> Session:
    """A session on the shared engine. Opening and closing it costs no round trip."""
    return Session(get_engine(), expire_on_commit=False)


async def get_session() -> AsyncIterator[Session]:
    """FastAPI dependency: a session on the shared engine for the length of one request.

    Async so that FastAPI does not hop to a worker thread to open and close it (neither does I/O).
    """
    with new_session() as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]


def database_answers(session: Session) -> bool:
    """True when the database answers a trivial query (for health checks)."""
    try:
        session.execute(text("SELECT 1"))
    except SQLAlchemyError:
        return False
    return True
