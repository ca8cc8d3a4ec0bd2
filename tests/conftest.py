"""One Postgres per test run, a fresh database migrated with Alembic for each test process, and the
application's configuration, all set before any application module is imported.

`TEST_DATABASE_URL` points the run at an existing server (a fresh database is created in it);
otherwise an embedded Postgres is started for the run. Under pytest-xdist (`make test` runs the
suite in parallel) the controller starts that server once and each worker makes its own database in
it, so the workers never see each other's rows or connections. The application reaches the
database through a counting proxy (localdev/pgproxy.py) so that tests can see every round trip.
"""

import io
import logging
import os
import tempfile
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pgserver
import psycopg
import pytest

from localdev.database import migrate
from localdev.fake_llm import ScriptedModel
from localdev.pgproxy import CountingProxy
from support.auth import AUDIENCE, BETTER_AUTH_SECRET, ISSUER, SECRET_KEY, JwksServer
from support.database import Database
from support.users import User


class _Run:
    """What pytest_configure sets up for the whole run."""

    database: Database
    jwks: JwksServer
    model: ScriptedModel


_run = _Run()


def pytest_configure(config: pytest.Config) -> None:
    server_url = os.environ.get("TEST_DATABASE_URL")
    if not server_url:
        pgdata = tempfile.mkdtemp(prefix="todo-test-pg-")
        server_url = pgserver.get_server(pgdata, cleanup_mode="delete").get_uri()
    if _is_xdist_controller(config):
        # The workers inherit the environment: one server for all of them.
        os.environ["TEST_DATABASE_URL"] = server_url
        return
    database = Database(server_url)
    migrate(database.url)
    jwks = JwksServer()
    model = ScriptedModel()
    _run.database, _run.jwks, _run.model = database, jwks, model
    os.environ.update(
        DATABASE_URL=database.app_url,
        SECRET_KEY=SECRET_KEY,
        BETTER_AUTH_SECRET=BETTER_AUTH_SECRET,
        JWKS_URL=jwks.url,
        JWT_ISSUER=ISSUER,
        JWT_AUDIENCE=AUDIENCE,
        GEMINI_API_KEY=model.api_key,
        LLM_BASE_URL=model.base_url,
        LLM_MODEL="gemini-test-flash",
        BCRYPT_ROUNDS="4",
        DB_STATEMENT_TIMEOUT_MS="1500",  # short, so that the lock-wait tests are quick
        # Every sample event comes from one address: the suite's failed logins and signups must not
        # add up to a block there. tests/api/test_login_limits.py sets its own limits, from its own
        # addresses.
        LOGIN_FAILURES_PER_ADDRESS="100000",
        SIGNUPS_PER_ADDRESS="100000",
        POWERTOOLS_SERVICE_NAME="todo-tests",
        POWERTOOLS_METRICS_NAMESPACE="TodoApiTests",
        POWERTOOLS_TRACE_DISABLED="true",
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Everything under tests/build is the slow tier (sam build and validate, cfn-lint, zizmor).

    Schemathesis gives every operation's test the same node id under pytest 9.2 (the operation is in
    the test's name, not in its id). pytest-xdist hands out tests by id and `--lf` reruns them by
    id, so the operation goes into the id here, as a parameter would.
    """
    build = Path(__file__).parent / "build"
    for item in items:
        if build in item.path.parents:
            item.add_marker(pytest.mark.build)
        if isinstance(item, pytest.Function) and item.parent and item.id.params is None and item.name.endswith("]"):
            operation = item.name.removeprefix(item.originalname)[1:-1]
            item._id = item.parent.id.child(item.originalname).with_params(operation)
    # Should pytest or Schemathesis change, fail loudly rather than let xdist drop tests quietly.
    repeated = [nodeid for nodeid, count in Counter(item.nodeid for item in items).items() if count > 1]
    if repeated:
        raise pytest.UsageError(f"tests with the same node id: {repeated[:3]}")


def _is_xdist_controller(config: pytest.Config) -> bool:
    """The process that hands tests to pytest-xdist's workers and runs none itself."""
    distributing = config.getoption("dist", "no") != "no" and bool(config.getoption("tx", None))
    return distributing and not hasattr(config, "workerinput") and not config.getoption("collectonly")


def pytest_unconfigure(config: pytest.Config) -> None:
    if hasattr(_run, "database") and os.environ.get("TEST_DATABASE_URL"):
        from todo_common.db import close_connections

        close_connections()
        _run.database.drop()


@pytest.fixture(scope="session")
def database() -> Database:
    return _run.database


@pytest.fixture(scope="session")
def jwks() -> JwksServer:
    return _run.jwks


@pytest.fixture
def model() -> Iterator[ScriptedModel]:
    """The chat model: scripted by each test, empty again afterwards."""
    _run.model.reset()
    yield _run.model
    _run.model.reset()


@pytest.fixture
def proxy(database: Database) -> CountingProxy:
    database.proxy.reset()
    return database.proxy


@pytest.fixture
def db(database: Database) -> Iterator[psycopg.Connection[Any]]:
    """A direct connection to the test database, beside the application's (not counted)."""
    with psycopg.connect(database.url, autocommit=True) as conn:
        yield conn


@pytest.fixture
def user() -> User:
    return User()


@pytest.fixture
def other_user() -> User:
    return User()


@pytest.fixture
def logs() -> Iterator[io.StringIO]:
    """What the functions' logger writes (to stdout, which Lambda sends to CloudWatch)."""
    from todo_common.observability import logger

    handler = logger.registered_handler
    assert isinstance(handler, logging.StreamHandler)
    buffer = io.StringIO()
    original = handler.setStream(buffer)
    yield buffer
    handler.setStream(original)
