"""The migrations create exactly what the models describe, and can be undone and redone."""

from typing import Any

import psycopg
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine
from sqlmodel import SQLModel

import todo_common.models  # noqa: F401 - registers the tables
from localdev.database import alembic_config, migrate
from support.database import Database
from todo_common.settings import sqlalchemy_url


def test_migrated_schema_matches_the_models(database: Database) -> None:
    engine = create_engine(sqlalchemy_url(database.url))
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), SQLModel.metadata)
    engine.dispose()

    assert differences == []


def test_migrations_downgrade_and_upgrade_again(database: Database) -> None:
    scratch = Database(database.server_url)  # its own database: the shared one stays untouched
    try:
        migrate(scratch.url)
        command.downgrade(alembic_config(scratch.url), "base")
        with psycopg.connect(scratch.url) as conn:
            tables = conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'").fetchall()
        assert tables == [("alembic_version",)]
        migrate(scratch.url)
        with psycopg.connect(scratch.url) as conn:
            names = {row[0] for row in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}
        assert {"users", "tasks"} <= names
    finally:
        scratch.drop()


def test_users_email_is_unique_whatever_its_case(db: psycopg.Connection[Any]) -> None:
    db.execute("INSERT INTO users (id, email, password_hash) VALUES ('a1', 'Case@Example.com', 'x')")
    try:
        db.execute("INSERT INTO users (id, email, password_hash) VALUES ('a2', 'case@example.COM', 'x')")
    except psycopg.errors.UniqueViolation:
        pass
    else:
        raise AssertionError("a second user with the same email in another case was stored")
    finally:
        db.execute("DELETE FROM users WHERE id IN ('a1', 'a2')")


def test_task_list_query_uses_the_per_user_index(db: psycopg.Connection[Any]) -> None:
    with db.transaction(force_rollback=True):
        db.execute(
            "INSERT INTO tasks (user_id, title) SELECT 'u' || (n % 2000), 'task ' || n FROM generate_series(1, 20000) n"
        )
        db.execute("ANALYZE tasks")
        plan = "\n".join(
            row[0]
            for row in db.execute(
                "EXPLAIN SELECT * FROM tasks WHERE user_id = 'u7' ORDER BY created_at DESC, id DESC LIMIT 100"
            )
        )

    assert "ix_tasks_user_id_created_at_id" in plan
    assert "Seq Scan" not in plan


def test_the_values_the_api_could_not_read_back_are_cleared(database: Database) -> None:
    scratch = Database(database.server_url)
    try:
        command.upgrade(alembic_config(scratch.url), "0010")
        with psycopg.connect(scratch.url, autocommit=True) as conn:
            conn.execute(
                "INSERT INTO tasks (id, user_id, title, due_date, due_at) OVERRIDING SYSTEM VALUE VALUES"
                " (1, 'u', 'far day', '9999-12-31', NULL), (2, 'u', 'far instant', NULL, '9999-12-31 23:00+00'),"
                " (3, 'u', 'early instant', NULL, '0001-01-01 10:00+00'), (4, 'u', 'fine', '9998-12-31', NULL),"
                " (5, 'u', 'fine too', NULL, '1000-01-01 00:00+14')"
            )
            conn.execute(
                "INSERT INTO user_preferences (user_id, timezone) VALUES ('u', 'right/UTC'), ('v', 'Asia/Tokyo')"
            )

            migrate(scratch.url)

            tasks = conn.execute(
                "SELECT id, due_date IS NULL AND due_at IS NULL, version FROM tasks ORDER BY id"
            ).fetchall()
            zones = conn.execute("SELECT user_id, timezone FROM user_preferences").fetchall()
        assert tasks == [(1, True, 2), (2, True, 2), (3, True, 2), (4, False, 1), (5, False, 1)]
        assert zones == [("v", "Asia/Tokyo")]
    finally:
        scratch.drop()
