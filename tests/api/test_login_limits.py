"""Login and signup protection through the auth function's handler, with v2.0 events from different
source addresses: guessing is slowed (429 + Retry-After, no bcrypt once blocked), the owner logs in
from elsewhere, an address failing across accounts is slowed, counters expire, unknown and known
emails look alike, parallel failures are all counted, signups in bulk from one address are slowed
before they cost a hash, and the cost in round trips."""

import secrets
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import bcrypt
import psycopg
import pytest
from sqlmodel import Session

from auth_api import limiter
from localdev.events import Response, http_event, invoke
from localdev.pgproxy import CountingProxy
from support.auth import new_user_id
from todo_common.db import create_db_engine
from todo_common.settings import get_settings

PASSWORD = "correct-horse-9"


@pytest.fixture(autouse=True)
def limits(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """3 free failures per account and address, 6 per address; blocks of a minute and more."""
    for name, value in {
        "LOGIN_FAILURES_PER_ACCOUNT": "3",
        "LOGIN_FAILURES_PER_ADDRESS": "6",
        "LOGIN_BLOCK_SECONDS": "60",
        "LOGIN_MAX_BLOCK_SECONDS": "3600",
    }.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture
def bcrypt_calls(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """How many times bcrypt checked a password (`checkpw`) and hashed one (`hashpw`)."""
    calls: Counter[str] = Counter()

    def counted(name: str) -> Callable[..., Any]:
        real = getattr(bcrypt, name)

        def counting(*args: bytes) -> Any:
            calls[name] += 1
            return real(*args)

        return counting

    for name in ("checkpw", "hashpw"):
        monkeypatch.setattr(bcrypt, name, counted(name))
    return calls


def address() -> str:
    return f"198.51.{secrets.randbelow(256)}.{secrets.randbelow(254) + 1}"


def login(email: str, password: str, source: str) -> Response:
    event, route = http_event("POST", "/api/auth/login", json_body={"email": email, "password": password})
    assert route is not None
    event["requestContext"]["http"]["sourceIp"] = source
    return invoke(event, route)


def signup(email: str, source: str | None = None, password: str = PASSWORD) -> Response:
    event, route = http_event("POST", "/api/auth/signup", json_body={"email": email, "password": password})
    assert route is not None
    if source is not None:
        event["requestContext"]["http"]["sourceIp"] = source
    return invoke(event, route)


def account() -> str:
    email = f"{new_user_id()}@example.com"
    assert signup(email).status == 201
    return email


def test_guessing_one_account_from_one_address_is_blocked_before_bcrypt(bcrypt_calls: Counter[str]) -> None:
    email, attacker = account(), address()

    guesses = [login(email, f"wrong-{n}", attacker) for n in range(3)]
    blocked = login(email, "wrong-3", attacker)
    even_right = login(email, PASSWORD, attacker)

    assert [guess.status for guess in guesses] == [401, 401, 401]
    assert (blocked.status, even_right.status) == (429, 429)
    assert 1 <= int(blocked.headers["retry-after"]) <= 60
    assert blocked.json() == {"detail": "Too many failed logins; try again later"}
    assert bcrypt_calls["checkpw"] == 3  # the two blocked attempts checked no password


def test_the_owner_still_logs_in_from_another_address() -> None:
    email, attacker = account(), address()
    for n in range(4):
        login(email, f"wrong-{n}", attacker)
    assert login(email, PASSWORD, attacker).status == 429

    assert login(email, PASSWORD, address()).status == 200


def test_one_address_failing_across_many_accounts_is_slowed() -> None:
    stuffer = address()
    statuses = [login(f"{new_user_id()}@example.com", "password-1", stuffer).status for _ in range(6)]

    assert statuses == [401] * 6
    assert login(account(), PASSWORD, stuffer).status == 429  # even a right password, on a fresh account
    assert login(account(), PASSWORD, address()).status == 200  # other addresses are not affected


def test_counters_expire(db: psycopg.Connection[Any]) -> None:
    email, source = account(), address()
    for n in range(3):
        login(email, f"wrong-{n}", source)
    assert login(email, PASSWORD, source).status == 429

    keys = limiter.keys_for(get_settings(), email, source)
    db.execute(
        "UPDATE login_failures SET blocked_until = now() - interval '1 second', expires_at = now()"
        " WHERE key IN (%s, %s)",
        (keys.pair, keys.address),
    )
    after = login(email, "wrong-again", source)

    assert after.status == 401  # checked again, and counted from one
    assert login(email, PASSWORD, source).status == 200


def test_unknown_and_known_emails_are_answered_alike() -> None:
    known, unknown = account(), f"{new_user_id()}@example.com"

    answers = []
    for email in (known, unknown):
        source = address()
        answers.append([login(email, f"wrong-{n}", source) for n in range(4)])

    for on_known, on_unknown in zip(*answers, strict=True):
        assert (on_known.status, on_known.body) == (on_unknown.status, on_unknown.body)
        assert on_known.headers.keys() == on_unknown.headers.keys()


def test_a_success_resets_the_accounts_counter_for_that_address() -> None:
    email, source = account(), address()
    for n in range(2):
        login(email, f"wrong-{n}", source)

    assert login(email, PASSWORD, source).status == 200
    assert [login(email, f"again-{n}", source).status for n in range(3)] == [401, 401, 401]
    assert login(email, PASSWORD, source).status == 429


def test_parallel_failures_are_all_counted(db: psycopg.Connection[Any]) -> None:
    settings = get_settings()
    keys = limiter.keys_for(settings, f"{new_user_id()}@example.com", address())
    start = threading.Barrier(8)

    def fail() -> None:
        engine = create_db_engine(settings)
        with Session(engine) as session:
            start.wait()
            limiter.record_failure(session, settings, keys)
        engine.dispose()

    threads = [threading.Thread(target=fail) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    counted = db.execute("SELECT key, failures FROM login_failures WHERE key IN (%s, %s)", (keys.pair, keys.address))
    assert dict(counted.fetchall()) == {keys.pair: 8, keys.address: 8}


def test_no_email_or_address_is_stored(db: psycopg.Connection[Any]) -> None:
    email, source = account(), address()

    login(email, "wrong", source)

    stored = str(db.execute("SELECT * FROM login_failures").fetchall())
    assert email not in stored
    assert source not in stored


def test_counting_costs_one_round_trip_on_a_failure_and_none_on_a_first_success(proxy: CountingProxy) -> None:
    email, source = account(), address()
    trips = []
    for password in (PASSWORD, "wrong", PASSWORD):
        proxy.reset()
        login(email, password, source)
        trips.append(len(proxy.round_trips))

    # A success with nothing counted: the lookup alone. A failure: the lookup, then the count. A
    # success after failures: the lookup, then the reset.
    assert trips == [1, 2, 2]


def test_a_signup_costs_one_round_trip_for_its_count(proxy: CountingProxy) -> None:
    statuses, trips = [], []
    for email in (f"{new_user_id()}@example.com",) * 2:  # a new account, then the same email again
        proxy.reset()
        statuses.append(signup(email, address()).status)
        trips.append(len(proxy.round_trips))

    assert statuses == [201, 409]
    assert trips == [2, 2]  # the count, then the insert


def test_each_further_failure_blocks_twice_as_long(db: psycopg.Connection[Any]) -> None:
    email, source = account(), address()
    keys = limiter.keys_for(get_settings(), email, source)
    for n in range(3):
        login(email, f"wrong-{n}", source)
    first = int(login(email, PASSWORD, source).headers["retry-after"])

    db.execute("UPDATE login_failures SET blocked_until = now() WHERE key = %s", (keys.pair,))  # it ends
    assert login(email, "wrong-3", source).status == 401
    second = int(login(email, PASSWORD, source).headers["retry-after"])

    assert (first, second) == (60, 120)


def test_expired_counters_are_deleted_as_failures_come(db: psycopg.Connection[Any]) -> None:
    stale = f"stale-{new_user_id()}"
    db.execute(
        "INSERT INTO login_failures (key, failures, expires_at) VALUES (%s, 9, now() - interval '1 hour')", (stale,)
    )

    login(account(), "wrong", address())

    assert db.execute("SELECT count(*) FROM login_failures WHERE key = %s", (stale,)).fetchone() == (0,)


@pytest.fixture
def signups_per_address(monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setenv("SIGNUPS_PER_ADDRESS", "3")
    get_settings.cache_clear()
    return 3


def test_signups_in_bulk_from_one_address_are_slowed_before_they_cost_a_hash(
    signups_per_address: int, bcrypt_calls: Counter[str], db: psycopg.Connection[Any]
) -> None:
    source = address()
    emails = [f"{new_user_id()}@example.com" for _ in range(signups_per_address + 2)]

    answers = [signup(email, source) for email in emails]

    assert [answer.status for answer in answers] == [201] * signups_per_address + [429, 429]
    assert {answer.headers["retry-after"] for answer in answers[signups_per_address:]} == {"60"}
    assert answers[-1].json() == {"detail": "Too many signups from this address; try again later"}
    assert bcrypt_calls["hashpw"] == signups_per_address  # a refused signup hashes nothing
    refused = emails[signups_per_address:]
    assert db.execute("SELECT count(*) FROM users WHERE email = ANY(%s)", (refused,)).fetchone() == (0,)
    assert signup(refused[0], address()).status == 201  # other addresses sign up as before


def test_a_blocked_address_signs_up_again_once_its_block_ends_and_the_next_block_is_longer(
    signups_per_address: int, db: psycopg.Connection[Any]
) -> None:
    source = address()
    for _ in range(signups_per_address):
        assert signup(f"{new_user_id()}@example.com", source).status == 201
    first = int(signup(f"{new_user_id()}@example.com", source).headers["retry-after"])

    key = limiter.signup_key(get_settings(), source)
    db.execute("UPDATE login_failures SET blocked_until = now() WHERE key = %s", (key,))  # it ends
    assert signup(f"{new_user_id()}@example.com", source).status == 201
    second = int(signup(f"{new_user_id()}@example.com", source).headers["retry-after"])

    assert (first, second) == (60, 120)  # refused signups were not counted: one more, one doubling
    db.execute("UPDATE login_failures SET blocked_until = NULL, expires_at = now() WHERE key = %s", (key,))
    assert signup(f"{new_user_id()}@example.com", source).status == 201  # lapsed: counted from one again


def test_invalid_signups_are_refused_without_being_counted(signups_per_address: int) -> None:
    source = address()
    for _ in range(signups_per_address + 2):
        assert signup(f"{new_user_id()}@example.com", source, password="short").status == 400
        assert signup("not-an-email", source).status == 400

    assert signup(f"{new_user_id()}@example.com", source).status == 201


def test_a_request_without_a_source_address_is_counted_under_none() -> None:
    """API Gateway always sends sourceIp; an event without one is still answered, not a 500."""
    event, route = http_event("POST", "/api/auth/login", json_body={"email": account(), "password": "wrong-1"})
    assert route is not None
    event["requestContext"]["http"]["sourceIp"] = None

    assert invoke(event, route).status == 401
