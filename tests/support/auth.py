"""Tokens for the tests: our HS256 tokens, and Better Auth-style tokens signed by keys that a local
JWKS server publishes."""

import base64
import hashlib
import hmac
import json
import threading
import time
import uuid
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from jwt.algorithms import get_default_algorithms

SECRET_KEY = "test-secret-key-that-is-at-least-32-bytes-long"
BETTER_AUTH_SECRET = "better-auth-secret-also-32-bytes-or-longer!"
ISSUER = "http://localhost:3000"
AUDIENCE = "http://localhost:3000"


def claims_for(user_id: str, **overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    claims: dict[str, Any] = {"sub": user_id, "iat": now, "exp": now + 900, "iss": ISSUER, "aud": AUDIENCE}
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


def hs256_token(user_id: str, secret: str = SECRET_KEY, headers: dict[str, Any] | None = None, **claims: Any) -> str:
    return jwt.encode(claims_for(user_id, **claims), secret, algorithm="HS256", headers=headers)


def new_user_id() -> str:
    return uuid.uuid4().hex


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def hand_made_token(header: dict[str, Any], claims: dict[str, Any], hmac_key: bytes | None = None) -> str:
    """A JWT built without PyJWT (which refuses to make these): unsigned, or HMAC-SHA256 with any key."""
    signing_input = f"{b64url(json.dumps(header).encode())}.{b64url(json.dumps(claims).encode())}"
    if hmac_key is None:
        return f"{signing_input}."
    signature = hmac.new(hmac_key, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64url(signature)}"


@dataclass
class SigningKey:
    """An asymmetric key pair like Better Auth's JWT plugin makes, and its public JWK."""

    kid: str
    algorithm: str
    private_key: Any

    @classmethod
    def generate(cls, algorithm: str, kid: str | None = None) -> "SigningKey":
        private_key: Any
        if algorithm == "EdDSA":
            private_key = ed25519.Ed25519PrivateKey.generate()
        elif algorithm == "ES256":
            private_key = ec.generate_private_key(ec.SECP256R1())
        elif algorithm == "ES512":
            private_key = ec.generate_private_key(ec.SECP521R1())
        else:
            private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        return cls(kid or uuid.uuid4().hex, algorithm, private_key)

    def public_jwk(self, *, with_alg: bool = False) -> dict[str, Any]:
        algorithm = get_default_algorithms()[self.algorithm]
        jwk: dict[str, Any] = json.loads(algorithm.to_jwk(self.private_key.public_key()))
        jwk["kid"] = self.kid  # Better Auth's keys carry a kid and no "use"
        if with_alg:
            jwk["alg"] = self.algorithm
        return jwk

    def public_pem(self) -> bytes:
        """The public key as anyone can download it (PEM): what a key-confusion attack signs with."""
        return bytes(
            self.private_key.public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        )

    def token(self, user_id: str, headers: dict[str, Any] | None = None, **claims: Any) -> str:
        # Better Auth's header: alg and kid, no typ.
        header = {"kid": self.kid, "typ": None, **(headers or {})}
        return jwt.encode(claims_for(user_id, **claims), self.private_key, algorithm=self.algorithm, headers=header)


class JwksServer:
    """Serves a JWKS document on 127.0.0.1 and counts the requests for it."""

    def __init__(self) -> None:
        self.keys: list[dict[str, Any]] = []
        self.requests = 0
        self.failing = False
        self.delay = 0.0  # seconds before it answers (an issuer that hangs)
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                outer.requests += 1
                time.sleep(outer.delay)
                if outer.failing:
                    self.send_error(503)
                    return
                body = json.dumps({"keys": outer.keys}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/api/auth/jwks"
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def publish(self, *keys: SigningKey) -> None:
        self.keys = [key.public_jwk() for key in keys]

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
