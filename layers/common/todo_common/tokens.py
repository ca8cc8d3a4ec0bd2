"""Verification of bearer tokens: ours and Better Auth's.

Accepted:
- HS256 signed with `SECRET_KEY` (tokens the auth function issues) or `BETTER_AUTH_SECRET`;
- EdDSA, ES256, ES512, RS256 and PS256 signed by a key published at `JWKS_URL` (Better Auth's JWT
  plugin).

The key decides which algorithms are allowed, never the token's header: a token that claims
`HS256` is only ever checked against the shared secrets, and one that claims an asymmetric
algorithm only against a JWKS key of the matching type. So `alg: none` and HS256 tokens signed with
a public key are refused.
"""

import json
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from typing import Any

import jwt
from jwt import PyJWK, PyJWKSet

from todo_common.observability import logger
from todo_common.settings import Settings

ASYMMETRIC_ALGORITHMS = frozenset({"EdDSA", "ES256", "ES512", "RS256", "PS256"})
MAX_TOKEN_LENGTH = 8192
MAX_SUBJECT_LENGTH = 255
CLOCK_SKEW_SECONDS = 10
# Better Auth signs its cookie session cache with the same keys (or the same secret); that JWT is
# not an access token. It says so in its header and in its audience; either refuses it.
SESSION_CACHE_AUDIENCE = "better-auth:session-cache"
SESSION_CACHE_TYPE = "better-auth.session-cache+jwt"
_DEFAULT_ALGORITHMS = {("OKP", "Ed25519"): "EdDSA", ("EC", "P-256"): "ES256", ("EC", "P-521"): "ES512"}


def issue_access_token(settings: Settings, user_id: str, email: str | None = None) -> tuple[str, int]:
    """An HS256 access token signed with SECRET_KEY, and its lifetime in seconds."""
    if settings.SECRET_KEY is None:
        raise RuntimeError("SECRET_KEY is not set")
    lifetime = settings.ACCESS_TOKEN_EXPIRE_MINUTES * 60
    now = int(time.time())
    claims: dict[str, Any] = {"sub": user_id, "iat": now, "exp": now + lifetime}
    optional = {"email": email, "iss": settings.JWT_ISSUER, "aud": settings.JWT_AUDIENCE}
    claims |= {name: value for name, value in optional.items() if value}
    return jwt.encode(claims, settings.SECRET_KEY.get_secret_value(), algorithm="HS256"), lifetime


class InvalidToken(Exception):
    """The token is missing, malformed, expired, or not signed by a key we trust (→ 401)."""


class KeysUnavailable(Exception):
    """The JWKS could not be fetched, so the token cannot be checked now (→ 503)."""


@dataclass(frozen=True)
class Principal:
    """Who a verified token says the caller is."""

    user_id: str
    email: str | None
    claims: dict[str, Any] = field(repr=False)


def _allowed_algorithms(key: PyJWK) -> list[str]:
    """The algorithms a JWKS key may verify, from its own type (and its `alg`, when it states one)."""
    data: dict[str, Any] = key._jwk_data
    kty, crv, stated = str(data.get("kty")), str(data.get("crv")), data.get("alg")
    if kty == "RSA":
        allowed = ["RS256", "PS256"]
    elif (kty, crv) in _DEFAULT_ALGORITHMS:
        allowed = [_DEFAULT_ALGORITHMS[(kty, crv)]]
    else:
        allowed = []  # symmetric or unknown key types never verify anything
    if stated is None:
        return allowed
    return [stated] if stated in allowed else []


class JwksCache:
    """The signing keys at a JWKS URL, cached per execution environment.

    An unknown `kid` (key rotation) triggers a refetch. Fetches, failed or not, happen at most once
    per `refetch_interval`, so neither a flood of made-up `kid`s nor an auth server that is down
    turns into a flood of requests. Keys are also refreshed after `max_age`; if that refresh fails,
    the keys already known keep working.
    """

    def __init__(
        self, url: str, *, timeout: float = 3.0, refetch_interval: float = 10.0, max_age: float = 3600.0
    ) -> None:
        self.url = url
        self.timeout = timeout
        self.refetch_interval = refetch_interval
        self.max_age = max_age
        self._keys: dict[str, PyJWK] = {}
        self._fetched_at: float | None = None  # last successful fetch
        self._attempted_at: float | None = None  # last fetch, successful or not
        self._lock = threading.Lock()

    def key(self, kid: object) -> PyJWK:
        if not isinstance(kid, str) or not kid:
            raise InvalidToken("token header has no key id")
        with self._lock:
            now = time.monotonic()
            may_fetch = self._attempted_at is None or now - self._attempted_at > self.refetch_interval
            stale = self._fetched_at is None or now - self._fetched_at > self.max_age
            if may_fetch and (stale or kid not in self._keys):
                self._refresh(now)
            if kid in self._keys:
                return self._keys[kid]
            if self._fetched_at is None:
                raise KeysUnavailable("the JWKS could not be fetched")
            raise InvalidToken("token is signed with an unknown key")

    def _refresh(self, now: float) -> None:
        self._attempted_at = now
        try:
            with urllib.request.urlopen(self.url, timeout=self.timeout) as response:  # noqa: S310 - URL from config
                document = json.loads(response.read(1024 * 1024))
            listed = document.get("keys") if isinstance(document, dict) else None
            if not isinstance(listed, list):
                raise ValueError("not a JWKS document")
            keys = PyJWKSet([key for key in listed if isinstance(key, dict)]).keys
        except (OSError, ValueError, jwt.PyJWTError) as exc:
            logger.warning("JWKS fetch failed", extra={"error": type(exc).__name__})
            return  # the known keys, if any, stay in use
        self._keys = {key.key_id: key for key in keys if key.key_id and _allowed_algorithms(key)}
        self._fetched_at = now


class TokenVerifier:
    def __init__(
        self,
        secrets: list[str],
        jwks: JwksCache | None = None,
        issuer: str | None = None,
        audience: str | list[str] | None = None,
        refused_audiences: frozenset[str] = frozenset({SESSION_CACHE_AUDIENCE}),
    ) -> None:
        self.secrets = secrets
        self.jwks = jwks
        self.issuer = issuer
        self.audience = audience  # None: `aud` is not required
        self.refused_audiences = refused_audiences  # refused even when `aud` is not required

    @classmethod
    def from_settings(cls, settings: Settings, *, for_mcp: bool = False) -> "TokenVerifier":
        """The REST API's verifier, or the MCP endpoint's.

        Tokens issued for the MCP endpoint (`aud` = `MCP_RESOURCE_URL`, RFC 8707) are accepted there
        beside the REST API's, and refused by the REST API.
        """
        secrets = [s.get_secret_value() for s in (settings.SECRET_KEY, settings.BETTER_AUTH_SECRET) if s is not None]
        jwks = JwksCache(settings.JWKS_URL) if settings.JWKS_URL else None
        audience: str | list[str] | None = settings.JWT_AUDIENCE
        refused = {SESSION_CACHE_AUDIENCE}
        if settings.MCP_RESOURCE_URL is not None and for_mcp:
            audience = None if settings.JWT_AUDIENCE is None else [settings.JWT_AUDIENCE, settings.MCP_RESOURCE_URL]
        elif settings.MCP_RESOURCE_URL is not None:
            refused.add(settings.MCP_RESOURCE_URL)
        return cls(secrets, jwks, settings.JWT_ISSUER, audience, frozenset(refused))

    def verify(self, token: str) -> Principal:
        if not token or len(token) > MAX_TOKEN_LENGTH or not token.isascii():
            raise InvalidToken("token is empty, too long or not ASCII")
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise InvalidToken("token is malformed") from exc
        if header.get("typ") == SESSION_CACHE_TYPE:
            raise InvalidToken("a session-cache token is not an access token")
        algorithm = header.get("alg")
        candidates: list[tuple[Any, list[str]]]
        if algorithm == "HS256":
            candidates = [(secret, ["HS256"]) for secret in self.secrets]
        elif algorithm in ASYMMETRIC_ALGORITHMS and self.jwks is not None:
            jwk = self.jwks.key(header.get("kid"))
            # The raw public key with our own allow-list: a PyJWK would pin RSA keys to RS256.
            candidates = [(jwk.key, _allowed_algorithms(jwk))]
        else:
            raise InvalidToken("token algorithm is not accepted")
        for key, algorithms in candidates:
            try:
                claims = jwt.decode(
                    token,
                    key,
                    algorithms=algorithms,
                    issuer=self.issuer,
                    audience=self.audience,
                    leeway=CLOCK_SKEW_SECONDS,
                    options={"require": ["exp", "sub"], "verify_aud": self.audience is not None},
                )
            except jwt.InvalidSignatureError:
                continue  # maybe signed with the other shared secret
            except jwt.PyJWTError as exc:
                raise InvalidToken(str(exc)) from exc
            return self._principal(claims)
        raise InvalidToken("token signature is not valid")

    def _principal(self, claims: dict[str, Any]) -> Principal:
        audience = claims.get("aud")
        audiences = audience if isinstance(audience, list) else [audience]  # unchecked: any JSON at all
        if any(isinstance(item, str) and item in self.refused_audiences for item in audiences):
            raise InvalidToken("the token is meant for another resource")
        subject = claims["sub"]
        # isprintable() also refuses NUL, control characters and lone surrogates.
        if not isinstance(subject, str) or not 0 < len(subject) <= MAX_SUBJECT_LENGTH or not subject.isprintable():
            raise InvalidToken("token subject is not a valid user id")
        email = claims.get("email")
        return Principal(user_id=subject, email=email if isinstance(email, str) else None, claims=claims)
