"""The embedded Postgres (pgserver) and Alembic migrations, for `make dev` and the tests."""

import json
import warnings
from pathlib import Path

import psutil
from alembic import command
from alembic.config import Config

from localdev import ROOT
from todo_common.settings import sqlalchemy_url

with warnings.catch_warnings():
    # pgserver keeps its lock in the user's runtime directory; without XDG_RUNTIME_DIR (CI,
    # containers, root shells) it falls back to /tmp, and says so as it is imported.
    warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")
    import pgserver


def start_embedded_postgres(pgdata: Path) -> str:
    """Start (or reuse) a Postgres server whose data lives in `pgdata`; return its URL.

    It listens on a Unix socket only, and stops when the last process using it exits.
    """
    pgdata.mkdir(parents=True, exist_ok=True)
    _forget_dead_handles(pgdata)
    server = pgserver.get_server(pgdata, cleanup_mode="stop")
    return str(server.get_uri())


def alembic_config(database_url: str) -> Config:
    config = Config(ROOT / "alembic.ini")
    # configparser treats % as interpolation: percent-encoded passwords must be escaped.
    config.set_main_option("sqlalchemy.url", sqlalchemy_url(database_url).replace("%", "%%"))
    return config


def _forget_dead_handles(pgdata: Path) -> None:
    """pgserver stops the server when its last user exits, counting users in this file; a process
    that was killed never leaves it, and the server would then run forever."""
    handles = pgdata / ".handle_pids.json"
    if handles.exists():
        handles.write_text(json.dumps([pid for pid in json.loads(handles.read_text()) if psutil.pid_exists(pid)]))


def migrate(database_url: str) -> None:
    """Apply the Alembic migrations to `database_url`."""
    command.upgrade(alembic_config(database_url), "head")
