"""TokenVerifier and JwksCache on their own: each test has its own JWKS server and its own cache."""

import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from support.auth import (
    AUDIENCE,
    BETTER_AUTH_SECRET,
    ISSUER,
    SECRET_KEY,
    JwksServer,
    SigningKey,
    b64url,
    claims_for,
    hand_made_token,
    hs256_token,
    new_user_id,
)
from todo_common import tokens
from todo_common.settings import Settings
from todo_common.tokens import SESSION_CACHE_AUDIENCE, InvalidToken, JwksCache, KeysUnavailable, TokenVerifier

REFETCH_INTERVAL = 30.0
OTHER_SECRET = "some-other-secret-that-is-32-bytes-long!!"


class Clock:
    """Stands in for `time` in todo_common.tokens, so that intervals pass without waiting."""

    def __init__(self) -> None:
        self.now = 1_000.0

    def monotonic(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    clock = Clock()
    monkeypatch.setattr(tokens, "time", clock)
    return clock


@pytest.fixture
def server() -> Iterator[JwksServer]:
    server = JwksServer()
    yield server
    server.close()


@pytest.fixture
def cache(server: JwksServer) -> JwksCache:
    return JwksCache(server.url, refetch_interval=REFETCH_INTERVAL)


@pytest.fixture
def verifier(cache: JwksCache) -> TokenVerifier:
    """Configured like the application: both shared secrets, the JWKS, the issuer and the audience."""
    return TokenVerifier([SECRET_KEY, BETTER_AUTH_SECRET], cache, issuer=ISSUER, audience=AUDIENCE)


@pytest.fixture
def hs_verifier() -> TokenVerifier:
    """The same without a JWKS, for the tests that never get that far (no server to start and stop)."""
    return TokenVerifier([SECRET_KEY, BETTER_AUTH_SECRET], issuer=ISSUER, audience=AUDIENCE)


# Shared secrets (HS256)


@pytest.mark.parametrize("secret", [SECRET_KEY, BETTER_AUTH_SECRET], ids=["SECRET_KEY", "BETTER_AUTH_SECRET"])
def test_verify_accepts_hs256_token_signed_with_either_secret(
    verifier: TokenVerifier, server: JwksServer, secret: str
) -> None:
    user_id = new_user_id()

    principal = verifier.verify(hs256_token(user_id, secret=secret, email="a@example.com"))

    assert principal.user_id == user_id
    assert principal.email == "a@example.com"
    assert server.requests == 0  # HS256 tokens never need the JWKS


def test_verify_refuses_hs256_token_signed_with_another_secret(hs_verifier: TokenVerifier) -> None:
    with pytest.raises(InvalidToken):
        hs_verifier.verify(hs256_token(new_user_id(), secret=OTHER_SECRET))


def test_verify_refuses_expired_token(hs_verifier: TokenVerifier) -> None:
    token = hs256_token(new_user_id(), exp=int(time.time()) - 60)

    with pytest.raises(InvalidToken, match="expired"):
        hs_verifier.verify(token)


@pytest.mark.parametrize("claim", ["exp", "sub"])
def test_verify_refuses_token_without_required_claim(hs_verifier: TokenVerifier, claim: str) -> None:
    dropped: dict[str, Any] = {claim: None}  # claims_for leaves out the claims set to None
    token = hs256_token(new_user_id(), **dropped)

    with pytest.raises(InvalidToken, match=claim):
        hs_verifier.verify(token)


@pytest.mark.parametrize(
    "subject",
    [12345, ["u1"], "", "user\x00id", "user\nid", "user\x1bid", "\x7f", "u" * 256],
    ids=["int", "list", "empty", "nul", "newline", "escape", "del", "too-long"],
)
def test_verify_refuses_invalid_subject(hs_verifier: TokenVerifier, subject: object) -> None:
    with pytest.raises(InvalidToken):
        hs_verifier.verify(hs256_token(new_user_id(), sub=subject))


@pytest.mark.parametrize(
    "claims", [{"iss": "https://evil.example"}, {"aud": "https://evil.example"}], ids=["issuer", "audience"]
)
def test_verify_refuses_wrong_issuer_or_audience_when_configured(
    hs_verifier: TokenVerifier, claims: dict[str, Any]
) -> None:
    with pytest.raises(InvalidToken):
        hs_verifier.verify(hs256_token(new_user_id(), **claims))


def test_verify_ignores_issuer_and_audience_when_not_configured() -> None:
    verifier = TokenVerifier([SECRET_KEY])
    user_id = new_user_id()

    principal = verifier.verify(hs256_token(user_id, iss="https://anyone.example", aud="https://anything.example"))

    assert principal.user_id == user_id


@pytest.mark.parametrize(
    ("audience", "token_audience"),
    [(None, SESSION_CACHE_AUDIENCE), (None, [SESSION_CACHE_AUDIENCE]), (AUDIENCE, [AUDIENCE, SESSION_CACHE_AUDIENCE])],
    ids=["unconfigured", "unconfigured-list", "configured-list"],
)
def test_verify_refuses_better_auth_session_cache_audience(
    audience: str | None, token_audience: str | list[str]
) -> None:
    verifier = TokenVerifier([SECRET_KEY], audience=audience)

    with pytest.raises(InvalidToken, match="another resource"):
        verifier.verify(hs256_token(new_user_id(), aud=token_audience))


MCP_RESOURCE = "https://todo.example.com/mcp"


@pytest.mark.parametrize("jwt_audience", [None, AUDIENCE], ids=["audience-unset", "audience-set"])
def test_tokens_for_the_mcp_resource_are_accepted_by_the_mcp_verifier_only(jwt_audience: str | None) -> None:
    settings = Settings(SECRET_KEY=SECRET_KEY, JWT_AUDIENCE=jwt_audience, MCP_RESOURCE_URL=MCP_RESOURCE)
    rest, mcp = TokenVerifier.from_settings(settings), TokenVerifier.from_settings(settings, for_mcp=True)
    for_mcp, for_rest = hs256_token("u1", aud=MCP_RESOURCE), hs256_token("u1", aud=AUDIENCE)

    assert mcp.verify(for_mcp).user_id == "u1"
    assert mcp.verify(for_rest).user_id == "u1"  # the REST API's tokens can be pasted into an MCP client
    assert rest.verify(for_rest).user_id == "u1"
    with pytest.raises(InvalidToken):
        rest.verify(for_mcp)


@pytest.mark.parametrize(
    "token_audience", [{"a": 1}, [["nested"]], 7, [None]], ids=["object", "nested", "number", "null"]
)
def test_odd_audiences_are_no_crash_when_the_audience_is_not_checked(token_audience: Any) -> None:
    principal = TokenVerifier([SECRET_KEY]).verify(hs256_token("u1", aud=token_audience))

    assert principal.user_id == "u1"


# Algorithm confusion


@pytest.mark.parametrize("signed_with", ["jwks-key", "shared-secret"])
def test_verify_refuses_better_auth_session_cache_type_whatever_its_audience(
    server: JwksServer, cache: JwksCache, signed_with: str
) -> None:
    verifier = TokenVerifier([BETTER_AUTH_SECRET], cache, issuer=ISSUER, audience=AUDIENCE)
    header = {"typ": "better-auth.session-cache+jwt"}
    if signed_with == "jwks-key":
        server.publish(key := SigningKey.generate("EdDSA"))
        token = key.token(new_user_id(), headers=header)
    else:
        token = hs256_token(new_user_id(), BETTER_AUTH_SECRET, headers=header)

    with pytest.raises(InvalidToken, match="session-cache"):
        verifier.verify(token)


@pytest.mark.parametrize("algorithm", ["none", "None", "NONE"])
def test_verify_refuses_unsigned_token(hs_verifier: TokenVerifier, algorithm: str) -> None:
    token = hand_made_token({"alg": algorithm, "typ": "JWT"}, claims_for(new_user_id()))

    with pytest.raises(InvalidToken):
        hs_verifier.verify(token)


def test_verify_refuses_hs256_token_signed_with_jwks_public_key(verifier: TokenVerifier, server: JwksServer) -> None:
    # GIVEN an RSA key the JWKS publishes, whose public key anyone can download
    rsa_key = SigningKey.generate("RS256")
    server.publish(rsa_key)
    public_pem = rsa_key.public_pem()
    assert verifier.verify(rsa_key.token(new_user_id())).user_id  # the key itself is trusted

    # WHEN a token claims HS256 and is "signed" with that public key as the HMAC secret
    forged = hand_made_token({"alg": "HS256", "kid": rsa_key.kid}, claims_for(new_user_id()), public_pem)

    # THEN it is refused
    with pytest.raises(InvalidToken):
        verifier.verify(forged)


def test_verify_refuses_rs256_token_whose_kid_names_an_ed25519_key(verifier: TokenVerifier, server: JwksServer) -> None:
    ed_key, rsa_key = SigningKey.generate("EdDSA"), SigningKey.generate("RS256")
    server.publish(ed_key, rsa_key)

    with pytest.raises(InvalidToken):
        verifier.verify(rsa_key.token(new_user_id(), headers={"kid": ed_key.kid}))


# JWKS keys


@pytest.mark.parametrize("algorithm", ["EdDSA", "ES256", "ES512", "RS256", "PS256"])
def test_verify_accepts_token_signed_by_jwks_key(verifier: TokenVerifier, server: JwksServer, algorithm: str) -> None:
    key = SigningKey.generate(algorithm)
    server.publish(key)
    user_id = new_user_id()

    principal = verifier.verify(key.token(user_id, email="b@example.com"))

    assert principal.user_id == user_id
    assert principal.email == "b@example.com"
    assert principal.claims["iss"] == ISSUER


@pytest.mark.parametrize("algorithm", ["RS256", "PS256"])
def test_verify_accepts_both_rsa_algorithms_when_jwk_states_none(
    verifier: TokenVerifier, server: JwksServer, algorithm: str
) -> None:
    published = SigningKey.generate("RS256")
    server.publish(published)
    assert "alg" not in published.public_jwk()
    signer = SigningKey(published.kid, algorithm, published.private_key)
    user_id = new_user_id()

    assert verifier.verify(signer.token(user_id)).user_id == user_id


def test_verify_refuses_ps256_token_when_jwk_states_rs256(verifier: TokenVerifier, server: JwksServer) -> None:
    rs256 = SigningKey.generate("RS256")
    server.keys = [rs256.public_jwk(with_alg=True)]
    ps256 = SigningKey(rs256.kid, "PS256", rs256.private_key)
    assert verifier.verify(rs256.token(new_user_id())).user_id  # the stated algorithm itself works

    with pytest.raises(InvalidToken):
        verifier.verify(ps256.token(new_user_id()))


def test_verify_never_uses_symmetric_jwks_key(verifier: TokenVerifier, cache: JwksCache, server: JwksServer) -> None:
    # GIVEN a JWKS that, beside a real key, holds a symmetric key (whose secret it thereby discloses)
    ed_key = SigningKey.generate("EdDSA")
    secret = OTHER_SECRET.encode()
    server.keys = [{"kty": "oct", "kid": "shared", "alg": "HS256", "k": b64url(secret)}, ed_key.public_jwk()]
    claims = claims_for(new_user_id())

    # WHEN tokens are signed with that secret, whatever algorithm their header names
    hs256 = hand_made_token({"alg": "HS256", "kid": "shared"}, claims, secret)
    es256 = hand_made_token({"alg": "ES256", "kid": "shared"}, claims, secret)

    # THEN they are refused, and the symmetric key is not even kept, while the real key is
    for token in (hs256, es256):
        with pytest.raises(InvalidToken):
            verifier.verify(token)
    with pytest.raises(InvalidToken, match="unknown key"):
        cache.key("shared")
    assert cache.key(ed_key.kid).key_id == ed_key.kid


def test_verify_refuses_token_signed_by_unpublished_key(verifier: TokenVerifier, server: JwksServer) -> None:
    server.publish(SigningKey.generate("ES256"))

    with pytest.raises(InvalidToken, match="unknown key"):
        verifier.verify(SigningKey.generate("ES256").token(new_user_id()))


# Key rotation and refetching


def test_verify_accepts_rotated_key_after_exactly_one_refetch(
    verifier: TokenVerifier, server: JwksServer, clock: Clock
) -> None:
    # GIVEN a verifier that has fetched the JWKS once
    old_key, new_key = SigningKey.generate("EdDSA"), SigningKey.generate("ES256")
    server.publish(old_key)
    verifier.verify(old_key.token(new_user_id()))
    assert server.requests == 1

    # WHEN the auth server rotates to a new key, and a token signed with it arrives after the interval
    server.publish(old_key, new_key)
    clock.advance(REFETCH_INTERVAL + 1)
    user_id = new_user_id()
    principal = verifier.verify(new_key.token(user_id))

    # THEN it is accepted after one refetch, and the keys are then served from the cache
    assert principal.user_id == user_id
    assert server.requests == 2
    verifier.verify(new_key.token(new_user_id()))
    verifier.verify(old_key.token(new_user_id()))
    assert server.requests == 2


def test_verify_refetches_at_most_once_per_interval_for_unknown_kids(
    verifier: TokenVerifier, server: JwksServer, clock: Clock
) -> None:
    # GIVEN a JWKS with one key, and 50 tokens naming random key ids
    key = SigningKey.generate("ES256")
    server.publish(key)
    forged = [key.token(new_user_id(), headers={"kid": uuid.uuid4().hex}) for _ in range(50)]

    # WHEN they all arrive within the refetch interval
    for token in forged:
        with pytest.raises(InvalidToken, match="unknown key"):
            verifier.verify(token)
        clock.advance(0.1)

    # THEN the JWKS was fetched once (the first fetch), and once more only after the interval has passed
    assert server.requests == 1
    clock.advance(REFETCH_INTERVAL)
    for token in forged[:10]:
        with pytest.raises(InvalidToken):
            verifier.verify(token)
    assert server.requests == 2


def test_verify_raises_keys_unavailable_when_jwks_fails_before_any_fetch(
    verifier: TokenVerifier, server: JwksServer
) -> None:
    server.publish(key := SigningKey.generate("ES256"))
    server.failing = True

    with pytest.raises(KeysUnavailable):
        verifier.verify(key.token(new_user_id()))
    assert server.requests == 1


def test_failing_jwks_is_retried_at_most_once_per_interval(
    verifier: TokenVerifier, server: JwksServer, clock: Clock
) -> None:
    server.publish(key := SigningKey.generate("ES256"))
    server.failing = True
    token = key.token(new_user_id())

    for _ in range(20):
        with pytest.raises(KeysUnavailable):
            verifier.verify(token)
    assert server.requests == 1

    server.failing = False
    clock.advance(REFETCH_INTERVAL + 1)
    assert verifier.verify(token).user_id
    assert server.requests == 2


def test_verify_keeps_known_keys_when_jwks_refresh_fails(
    verifier: TokenVerifier, server: JwksServer, clock: Clock
) -> None:
    # GIVEN keys fetched an hour and more ago (due a refresh), and the JWKS now failing
    key = SigningKey.generate("EdDSA")
    server.publish(key)
    verifier.verify(key.token(new_user_id()))
    server.failing = True
    clock.advance(3_601)

    # WHEN a token signed by a known key arrives
    user_id = new_user_id()
    principal = verifier.verify(key.token(user_id))

    # THEN the refresh was tried, and the known key still verifies the token
    assert server.requests == 2
    assert principal.user_id == user_id


@pytest.mark.parametrize("document", ["null", "[]"])
def test_key_raises_keys_unavailable_when_jwks_document_is_not_an_object(document: str) -> None:
    # A data: URL stands in for a JWKS endpoint that answers 200 with JSON that is not a JWK Set.
    cache = JwksCache(f"data:application/json,{document}")

    with pytest.raises(KeysUnavailable):
        cache.key("any-kid")


# Malformed tokens


def test_verify_refuses_empty_token(hs_verifier: TokenVerifier) -> None:
    with pytest.raises(InvalidToken):
        hs_verifier.verify("")


def test_verify_refuses_oversized_token_even_if_validly_signed(hs_verifier: TokenVerifier) -> None:
    token = hs256_token(new_user_id(), padding="x" * 10_000)
    assert len(token) > 10_000

    with pytest.raises(InvalidToken, match="too long"):
        hs_verifier.verify(token)


@pytest.mark.parametrize("cut", [1, 10, 60], ids=["signature-char", "signature", "signature-and-payload"])
def test_verify_refuses_truncated_token(hs_verifier: TokenVerifier, cut: int) -> None:
    token = hs256_token(new_user_id())

    with pytest.raises(InvalidToken):
        hs_verifier.verify(token[:-cut])


@pytest.mark.parametrize(
    "garbage",
    [
        "garbage",
        "a.b.c",
        "....",
        "Bearer x.y.z",
        "e30.e30.",
        "bnVsbA.e30.sig",
        "ünïcödé.tök.én",
        "\x00" * 20,
        "\ud800.e30.e30",
    ],
)
def test_verify_refuses_garbage(hs_verifier: TokenVerifier, garbage: str) -> None:
    with pytest.raises(InvalidToken):
        hs_verifier.verify(garbage)
