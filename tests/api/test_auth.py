"""The auth function through its Lambda handler: signup, login, me."""

import asyncio
import threading
import uuid
from typing import Any

import bcrypt
import psycopg
import pytest

from localdev.events import Response, call, http_event, invoke
from localdev.pgproxy import CountingProxy
from support.auth import SigningKey, claims_for, hand_made_token, hs256_token

GOOD_PASSWORD = "correct-horse-9"


def new_email(domain: str = "example.com") -> str:
    return f"user-{uuid.uuid4().hex[:12]}@{domain}"


def signup(email: str, password: str = GOOD_PASSWORD, **extra: Any) -> Response:
    return call("POST", "/api/auth/signup", json_body={"email": email, "password": password, **extra})


def login(email: str, password: str = GOOD_PASSWORD) -> Response:
    return call("POST", "/api/auth/login", json_body={"email": email, "password": password})


def test_signup_creates_the_account(db: psycopg.Connection[Any]) -> None:
    email = new_email()

    response = signup(f"  {email.upper()} ", name="Alice")

    assert response.status == 201
    body = response.json()
    assert set(body) == {"id", "email", "created_at"}
    assert body["email"] == email  # trimmed and lower-cased
    assert uuid.UUID(body["id"])
    row = db.execute("SELECT email, password_hash, name FROM users WHERE id = %s", (body["id"],)).fetchone()
    assert row is not None
    assert row[0] == email
    assert row[1].startswith("$2b$04$")  # bcrypt at the tests' BCRYPT_ROUNDS; never the password
    assert row[2] == "Alice"


def test_signup_with_taken_email_in_any_case_conflicts() -> None:
    email = new_email()
    assert signup(email).status == 201

    response = signup(email.upper())

    assert response.status == 409
    assert response.json() == {"detail": "An account with this email already exists"}


def test_simultaneous_signups_with_one_email_give_one_account(db: psycopg.Connection[Any]) -> None:
    email = new_email()
    barrier = threading.Barrier(4)
    statuses: list[int] = []

    def attempt(address: str) -> None:
        loop = asyncio.new_event_loop()  # Mangum runs the app on the thread's event loop
        asyncio.set_event_loop(loop)
        try:
            barrier.wait()
            statuses.append(signup(address).status)
        finally:
            loop.close()

    threads = [threading.Thread(target=attempt, args=(e,)) for e in (email, email.upper(), email, email.title())]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(statuses) == [201, 409, 409, 409]
    rows = db.execute("SELECT count(*) FROM users WHERE lower(email) = %s", (email,)).fetchone()
    assert rows == (1,)


def test_concurrent_inserts_on_separate_connections_give_one_account(database: Any) -> None:
    # Two connections racing at the database itself (the handler test above shares one connection).
    from sqlmodel import Session

    from auth_api import users
    from todo_common.db import create_db_engine
    from todo_common.settings import Settings

    email = new_email()
    engines = [create_db_engine(Settings(DATABASE_URL=database.app_url)) for _ in range(2)]
    barrier = threading.Barrier(2)
    results: list[object] = []

    def insert(engine: Any) -> None:
        with Session(engine) as session:
            barrier.wait()
            results.append(users.create_user(session, email, "hash"))

    threads = [threading.Thread(target=insert, args=(engine,)) for engine in engines]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for engine in engines:
        engine.dispose()

    assert sum(result is not None for result in results) == 1


@pytest.mark.parametrize(
    "email",
    [
        "",
        "   ",
        "not-an-email",
        "a@b",
        "two@@example.com",
        "a..b@example.com",
        "nul\x00@example.com",
        "x" * 250 + "@example.com",
        "spaces in@example.com",
    ],
)
def test_signup_refuses_an_invalid_email(email: str) -> None:
    response = signup(email)

    assert response.status == 400
    assert response.json()["detail"].startswith("Email")


@pytest.mark.parametrize(
    ("password", "rule"),
    [
        ("short1", "at least 8 characters"),
        ("onlyletters", "one letter and one digit"),
        ("1234567890", "one letter and one digit"),
        ("abcdefg²", "one letter and one digit"),  # a superscript is no digit
        ("pass\x00word1", "NUL"),
        ("a1" + "x" * 71, "at most 72 bytes"),
        ("é1" + "é" * 35, "at most 72 bytes"),  # 73 bytes in 37 characters
    ],
)
def test_signup_refuses_a_weak_password_naming_the_rule(password: str, rule: str) -> None:
    email = new_email()

    response = signup(email, password)

    assert response.status == 400
    assert rule in response.json()["detail"]
    assert login(email, password).status == 401  # nothing was created


@pytest.mark.parametrize(
    "password", ["a1" + "x" * 70, "é1" + "é" * 34 + "x", "\u043f\u0430\u0440\u043e\u043b\u044c12", "密码密码密码密码1"]
)
def test_signup_accepts_passwords_up_to_72_bytes_of_any_script(password: str) -> None:
    email = new_email()

    assert signup(email, password).status == 201
    assert login(email, password).status == 200
    assert login(email, password[:-1] + "Z").status == 401


@pytest.mark.parametrize(
    "body",
    [
        '{"email": "a@example.com"',
        '["a@example.com", "password1"]',
        '"a@example.com"',
        "null",
        '{"email": "a@example.com"}',
        '{"password": "password1"}',
        '{"email": 42, "password": "password1"}',
        '{"email": "a@example.com", "password": ["password1"]}',
        '{"email": "a@example.com", "password": "' + "p1" * 600 + '"}',
    ],
)
def test_signup_and_login_refuse_a_body_of_the_wrong_shape(body: str) -> None:
    for path in ("/api/auth/signup", "/api/auth/login"):
        response = call("POST", path, body=body, headers={"content-type": "application/json"})

        assert response.status == 422
        assert "password1" not in response.body


def test_login_returns_a_token_the_task_routes_accept() -> None:
    email = new_email()
    user_id = signup(email).json()["id"]

    response = login(email.upper())

    assert response.status == 200
    body = response.json()
    assert set(body) == {"access_token", "token_type", "expires_in", "user_id"}
    assert (body["token_type"], body["expires_in"], body["user_id"]) == ("bearer", 30 * 60, user_id)
    tasks = call("POST", f"/api/{user_id}/tasks", token=body["access_token"], json_body={"title": "mine"})
    assert tasks.status == 201
    assert call("GET", "/api/other-user/tasks", token=body["access_token"]).status == 403


def test_login_token_carries_the_configured_claims() -> None:
    import jwt

    from support.auth import AUDIENCE, ISSUER, SECRET_KEY

    email = new_email()
    user_id = signup(email).json()["id"]

    token = login(email).json()["access_token"]

    claims = jwt.decode(token, SECRET_KEY, algorithms=["HS256"], audience=AUDIENCE, issuer=ISSUER)
    assert claims["sub"] == user_id
    assert claims["email"] == email
    assert claims["exp"] - claims["iat"] == 30 * 60


def test_login_answers_wrong_password_and_unknown_email_alike() -> None:
    email = new_email()
    signup(email)

    wrong_password = login(email, "wrong-password-1")
    unknown_email = login(new_email())

    assert wrong_password.status == unknown_email.status == 401
    assert wrong_password.json() == unknown_email.json() == {"detail": "Incorrect email or password"}
    assert wrong_password.headers["www-authenticate"] == unknown_email.headers["www-authenticate"] == "Bearer"


def test_login_checks_a_dummy_hash_for_an_unknown_email(monkeypatch: pytest.MonkeyPatch) -> None:
    # Same work whether or not the account exists: timing does not reveal which emails have one.
    checked: list[bytes] = []
    original = bcrypt.checkpw

    def spy(password: bytes, hashed: bytes) -> bool:
        checked.append(hashed)
        return bool(original(password, hashed))

    monkeypatch.setattr(bcrypt, "checkpw", spy)

    for email in (new_email(), "not an email", "nul\x00@example.com"):
        assert login(email).status == 401

    assert len(checked) == 3
    assert all(h.startswith(b"$2b$04$") for h in checked)


@pytest.mark.parametrize("password", ["x1" * 50, "pass\x00word1", "", "é" * 100])
def test_login_with_a_password_bcrypt_cannot_take_is_refused_not_an_error(password: str) -> None:
    email = new_email()
    signup(email)

    response = login(email, password)

    assert response.status == 401


def test_me_describes_our_own_user() -> None:
    email = new_email()
    user = signup(email).json()
    token = login(email).json()["access_token"]

    response = call("GET", "/api/auth/me", token=token)

    assert response.status == 200
    assert response.json() == user


@pytest.mark.parametrize("algorithm", ["EdDSA", "ES256", "RS256"])
def test_me_describes_a_better_auth_user_from_the_token(jwks: Any, algorithm: str) -> None:
    from todo_common.security import get_verifier

    key = SigningKey.generate(algorithm)
    jwks.keys.append(key.public_jwk())
    get_verifier.cache_clear()  # a fresh JWKS cache that sees the new key
    user_id = uuid.uuid4().hex  # Better Auth ids: 32 random characters
    token = key.token(user_id, email="ba@example.com", name="B. A.", emailVerified=True)

    response = call("GET", "/api/auth/me", token=token)

    assert response.status == 200
    assert response.json() == {"id": user_id, "email": "ba@example.com", "created_at": None}


@pytest.mark.parametrize(
    ("created_at", "answered"),
    [
        ("2026-11-20T08:30:00.000Z", "2026-11-20T08:30:00Z"),
        ("2026-11-20T08:30:00", "2026-11-20T08:30:00Z"),  # no offset: UTC, whatever the server's zone
        ("2026-11-20T09:30:00+01:00", "2026-11-20T08:30:00Z"),
        ("9999-12-31T23:59:59-14:00", None),  # past year 9999 in UTC
        ("0001-01-01T00:00:00+14:00", None),
        ("yesterday", None),
        (1732000000, None),
    ],
)
def test_me_answers_a_better_auth_users_creation_time_in_utc_or_not_at_all(
    jwks: Any, created_at: Any, answered: str | None
) -> None:
    from todo_common.security import get_verifier

    key = SigningKey.generate("EdDSA")
    jwks.keys.append(key.public_jwk())
    get_verifier.cache_clear()

    response = call("GET", "/api/auth/me", token=key.token(uuid.uuid4().hex, createdAt=created_at))

    assert response.status == 200
    assert response.json()["created_at"] == answered


def test_me_refuses_better_auth_session_cache_token_and_opaque_tokens(jwks: Any) -> None:
    from todo_common.security import get_verifier

    key = SigningKey.generate("EdDSA")
    jwks.keys.append(key.public_jwk())
    get_verifier.cache_clear()
    session_cache = key.token(uuid.uuid4().hex, aud="better-auth:session-cache")

    for token in (session_cache, "opaque-session-token-abcdef0123456789", hs256_token("u", aud="x")):
        response = call("GET", "/api/auth/me", token=token)
        assert response.status == 401
        assert response.headers["www-authenticate"].startswith("Bearer")


def test_me_without_a_token_is_unauthorized() -> None:
    response = call("GET", "/api/auth/me")

    assert response.status == 401
    assert response.headers["www-authenticate"] == "Bearer"


def test_signup_and_login_never_log_passwords_hashes_or_tokens(
    db: psycopg.Connection[Any], logs: Any, proxy: CountingProxy
) -> None:
    email = new_email()
    password = "secret-Passw0rd-in-logs"

    event, route = http_event("POST", "/api/auth/signup", json_body={"email": email, "password": password})
    assert route is not None
    user_id = invoke(event, route).json()["id"]
    event, route = http_event("POST", "/api/auth/login", json_body={"email": email, "password": password})
    assert route is not None
    token = invoke(event, route).json()["access_token"]
    login(email, "wrong-" + password)

    output = logs.getvalue()
    row = db.execute("SELECT password_hash FROM users WHERE id = %s", (user_id,)).fetchone()
    assert row is not None
    assert "Request handled" in output  # the logs were captured
    for secret in (password, row[0], token, token.split(".")[2]):
        assert secret not in output


def _hostile_tokens(jwks: Any) -> dict[str, str]:
    user_id = uuid.uuid4().hex
    valid = hs256_token(user_id)
    rsa = SigningKey.generate("RS256")
    jwks.keys.append(rsa.public_jwk())
    confused = hand_made_token({"alg": "HS256", "typ": "JWT", "kid": rsa.kid}, claims_for(user_id), rsa.public_pem())
    return {
        "empty": "",
        "truncated": valid[: len(valid) // 2],
        "10 kB": valid + "A" * 10_000,
        "garbage": "not.a.jwt",
        "alg none": hand_made_token({"alg": "none"}, claims_for(user_id)),
        "wrong key": hs256_token(user_id, secret="another-secret-that-is-32-bytes-long!!"),
        "HS256 signed with the JWKS public key": confused,
    }


@pytest.mark.parametrize(
    "kind",
    ["empty", "truncated", "10 kB", "garbage", "alg none", "wrong key", "HS256 signed with the JWKS public key"],
)
def test_me_refuses_a_hostile_token(jwks: Any, kind: str) -> None:
    from todo_common.security import get_verifier

    token = _hostile_tokens(jwks)[kind]
    get_verifier.cache_clear()

    response = call("GET", "/api/auth/me", headers={"authorization": f"Bearer {token}"})

    assert response.status == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert set(response.json()) == {"detail"}
