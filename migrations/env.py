"""Alembic environment: migrates the database at DATABASE_URL (or the URL the caller configured)."""

from alembic import context
from sqlalchemy import create_engine, pool
from sqlmodel import SQLModel

import todo_common.models  # noqa: F401 - registers the tables on SQLModel.metadata
from todo_common.settings import get_settings, sqlalchemy_url


def _url() -> str:
    configured = context.config.get_main_option("sqlalchemy.url")
    if configured:
        return configured
    database_url = get_settings().DATABASE_URL
    if database_url is None:
        raise SystemExit("DATABASE_URL is not set: point it at the database to migrate")
    return sqlalchemy_url(database_url.get_secret_value())


def run_migrations_online() -> None:
    engine = create_engine(_url(), poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=SQLModel.metadata, compare_type=True)
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    context.configure(url=_url(), target_metadata=SQLModel.metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    run_migrations_online()
