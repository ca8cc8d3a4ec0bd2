"""The test run's database: created fresh in the server under test, reached through a counting proxy."""

import uuid

import psycopg
from psycopg.conninfo import conninfo_to_dict
from sqlalchemy.engine import URL, make_url

from localdev.pgproxy import CountingProxy


class Database:
    """The run's database: its direct URL, and the proxied one the application uses."""

    def __init__(self, server_url: str) -> None:
        self.name = f"todo_test_{uuid.uuid4().hex[:12]}"
        self.server_url = server_url
        server = make_url(server_url)
        self.url = _render(server.set(database=self.name))
        with psycopg.connect(server_url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{self.name}"')
        params = conninfo_to_dict(self.url)
        host, port = str(params.get("host") or "localhost"), int(params.get("port") or 5432)
        self.proxy = CountingProxy(f"{host}/.s.PGSQL.{port}" if host.startswith("/") else (host, port))
        query = {k: v for k, v in server.query.items() if k not in ("host", "port", "sslmode")}
        proxied = server.set(database=self.name, host="127.0.0.1", port=self.proxy.port, query=query)
        self.app_url = _render(proxied.update_query_dict({"sslmode": "disable"}))

    def drop(self) -> None:
        with psycopg.connect(self.server_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


def _render(url: URL) -> str:
    return url.render_as_string(hide_password=False)
