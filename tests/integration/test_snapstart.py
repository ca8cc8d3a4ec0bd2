"""The SnapStart hooks, called the way Lambda's runtime calls them (through `snapshot_restore_py`'s
registries): before the snapshot every app is warm and no database connection is open; after a
restore the environment draws its own random numbers, rebuilds what it timed, re-reads stale
secrets, and answers as before."""

import random
import time
from collections.abc import Iterator
from typing import Any

import pytest
import snapshot_restore_py
from sqlalchemy.pool import QueuePool

from localdev.pgproxy import CountingProxy
from localdev.routing import load_handlers
from support.users import User
from todo_common import settings
from todo_common.db import get_engine
from todo_common.security import get_verifier

# Every function's app, as in one Lambda environment each (here: one process for all).
APPS = tuple(handler.rsplit(".", 1)[0] for handler in load_handlers().values())


def connections_held() -> int:
    pool = get_engine().pool
    assert isinstance(pool, QueuePool)
    return pool.checkedin()


def run(registry: list[tuple[Any, tuple[Any, ...], dict[str, Any]]]) -> None:
    for function, args, kwargs in registry:
        function(*args, **kwargs)


def snapshot() -> None:
    run(snapshot_restore_py.get_before_snapshot())


def restore() -> None:
    run(snapshot_restore_py.get_after_restore())


@pytest.fixture(autouse=True)
def every_app() -> None:
    for module in APPS:
        __import__(module)


def test_before_the_snapshot_the_apps_are_warmed_without_the_database(user: User, proxy: CountingProxy) -> None:
    user.list_tasks()  # the environment holds a connection
    assert connections_held() == 1
    proxy.reset()

    snapshot()

    assert proxy.round_trips == []  # the warm-up requests touched no database
    assert connections_held() == 0  # and the snapshot holds no connection


def test_after_a_restore_each_environment_draws_its_own_random_numbers() -> None:
    random.seed(7)  # the state every environment restored from one snapshot would share
    shared = random.random()
    random.seed(7)

    restore()

    assert random.random() != shared


def test_after_a_restore_the_verifier_and_the_engine_are_made_anew(user: User) -> None:
    verifier, engine = get_verifier(), get_engine()

    restore()

    assert get_verifier() is not verifier  # its JWKS cache was timed on the old monotonic clock
    assert get_engine() is not engine
    assert user.list_tasks().status == 200


@pytest.fixture
def secrets_from_ssm() -> Iterator[None]:
    """Settings as if their secrets had been read from SSM (restored afterwards)."""
    settings.get_settings()
    settings._secrets_read_at[:] = [time.time()]
    yield
    settings._secrets_read_at.clear()
    settings.get_settings.cache_clear()


@pytest.mark.usefixtures("secrets_from_ssm")
def test_secrets_read_longer_ago_than_they_may_be_kept_are_read_again_after_a_restore() -> None:
    fresh = settings.get_settings()
    restore()
    assert settings.get_settings() is fresh  # read moments ago: kept

    settings._secrets_read_at[:] = [time.time() - settings.PARAMETER_MAX_AGE_SECONDS - 1]
    restore()

    assert settings.get_settings() is not fresh
