"""The embedded Postgres (pgserver) and Alembic migrations, for `make dev` and the tests."""

from pathlib import Path

import pgserver
from alembic import command
from alembic.config import Config

from todo_common.settings import sqlalchemy_url

ROOT = Path(__file__).resolve().parent.parent


def start_embedded_postgres(pgdata: Path, *, keep_running: bool = False) -> str:
    """Start (or reuse) a Postgres server whose data lives in `pgdata`; return its URL.

    It listens on a Unix socket only. Unless `keep_running`, it stops when this process exits.
    """
    pgdata.mkdir(parents=True, exist_ok=True)
    server = pgserver.get_server(pgdata, cleanup_mode=None if keep_running else "stop")
    return server.get_uri()


def migrate(database_url: str, revision: str = "head") -> None:
    """Apply the Alembic migrations to `database_url`."""
    config = Config(ROOT / "alembic.ini")
    # configparser treats % as interpolation: percent-encoded passwords must be escaped.
    config.set_main_option("sqlalchemy.url", sqlalchemy_url(database_url).replace("%", "%%"))
    command.upgrade(config, revision)
