"""Which bearer tokens the API takes, through the Lambda handler (GET /api/{user_id}/tasks)."""

import base64
import time
from collections.abc import Callable, Iterator

import pytest

from localdev.events import call
from support.auth import JwksServer, SigningKey, claims_for, hand_made_token, hs256_token
from support.users import User
from todo_common.security import get_verifier


@pytest.fixture(autouse=True)
def fresh_verifier() -> Iterator[None]:
    """Each test starts with a verifier that has fetched nothing yet (its JWKS cache is per instance)."""
    get_verifier.cache_clear()
    yield
    get_verifier.cache_clear()


def unsigned_token(user_id: str) -> str:
    return hand_made_token({"alg": "none", "typ": "JWT"}, claims_for(user_id))


def test_list_tasks_accepts_own_hs256_token(user: User) -> None:
    response = call("GET", user.tasks_path, token=hs256_token(user.id))

    assert response.status == 200
    assert response.json() == []


def test_list_tasks_requires_authorization_header(user: User) -> None:
    response = call("GET", user.tasks_path)

    assert response.status == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert response.json() == {"detail": "Not authenticated"}


def test_list_tasks_refuses_basic_scheme(user: User) -> None:
    basic = base64.b64encode(b"user:password").decode()

    response = call("GET", user.tasks_path, headers={"Authorization": f"Basic {basic}"})

    assert response.status == 401
    assert response.headers["www-authenticate"].startswith("Bearer")


INVALID_TOKENS: dict[str, Callable[[str], str]] = {
    "expired": lambda user_id: hs256_token(user_id, exp=int(time.time()) - 60),
    "wrong-signature": lambda user_id: hs256_token(user_id, secret="not-the-secret-but-32-bytes-long-anyway"),
    "alg-none": unsigned_token,
    "wrong-issuer": lambda user_id: hs256_token(user_id, iss="https://evil.example"),
    "wrong-audience": lambda user_id: hs256_token(user_id, aud="https://evil.example"),
}


@pytest.mark.parametrize("make_token", INVALID_TOKENS.values(), ids=INVALID_TOKENS.keys())
def test_list_tasks_refuses_invalid_token(user: User, make_token: Callable[[str], str]) -> None:
    token = make_token(user.id)

    response = call("GET", user.tasks_path, token=token)

    assert response.status == 401
    assert "invalid_token" in response.headers["www-authenticate"]
    body = response.json()
    assert list(body) == ["detail"]
    assert isinstance(body["detail"], str)
    assert token not in response.body


def test_list_tasks_forbids_other_users_tasks(user: User, other_user: User) -> None:
    response = call("GET", other_user.tasks_path, token=user.token)

    assert response.status == 403


@pytest.mark.parametrize("algorithm", ["EdDSA", "ES256", "RS256"])
def test_list_tasks_accepts_token_signed_by_jwks_key(user: User, jwks: JwksServer, algorithm: str) -> None:
    key = SigningKey.generate(algorithm)
    jwks.keys.append(key.public_jwk())

    response = call("GET", user.tasks_path, token=key.token(user.id))

    assert response.status == 200
    assert response.json() == []


def test_list_tasks_refuses_token_with_never_published_kid(user: User, jwks: JwksServer) -> None:
    jwks.keys.append(SigningKey.generate("ES256").public_jwk())  # the JWKS is not empty: the kid is just not in it

    response = call("GET", user.tasks_path, token=SigningKey.generate("ES256").token(user.id))

    assert response.status == 401
    assert "invalid_token" in response.headers["www-authenticate"]


def test_list_tasks_accepts_token_from_key_published_after_first_fetch(
    user: User, jwks: JwksServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN a verifier that has fetched the JWKS once, and whose refetch interval has passed
    old_key = SigningKey.generate("ES256")
    jwks.keys.append(old_key.public_jwk())
    requests = jwks.requests
    assert call("GET", user.tasks_path, token=old_key.token(user.id)).status == 200
    assert jwks.requests == requests + 1
    cache = get_verifier().jwks
    assert cache is not None
    monkeypatch.setattr(cache, "refetch_interval", 0.0)  # the production interval is 10 s

    # WHEN the auth server publishes a brand-new key and signs a token with it
    new_key = SigningKey.generate("EdDSA")
    jwks.keys.append(new_key.public_jwk())
    response = call("GET", user.tasks_path, token=new_key.token(user.id))

    # THEN the token is accepted after one more fetch
    assert response.status == 200
    assert jwks.requests == requests + 2


def test_list_tasks_answers_503_when_jwks_cannot_be_fetched(
    user: User, jwks: JwksServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(jwks, "failing", True)
    key = SigningKey.generate("ES256")

    response = call("GET", user.tasks_path, token=key.token(user.id))

    assert response.status == 503
    assert response.headers["retry-after"] == "5"


def test_a_hanging_jwks_endpoint_answers_503_within_seconds(user: User, jwks: JwksServer) -> None:
    jwks.delay = 8  # longer than the JWKS fetch timeout (3 s)
    try:
        started = time.monotonic()
        response = call("GET", user.tasks_path, token=SigningKey.generate("EdDSA").token(user.id))
        took = time.monotonic() - started
    finally:
        jwks.delay = 0

    assert response.status == 503
    assert response.headers["retry-after"]
    assert took < 5
