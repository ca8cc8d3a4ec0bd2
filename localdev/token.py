"""`make token USER_ID=alice`: a token for local requests, signed with the local SECRET_KEY."""

import sys
import time

import jwt

from localdev.server import prepare_environment


def main(user_id: str) -> None:
    prepare_environment(database=False)
    from todo_common.settings import get_settings

    settings = get_settings()
    assert settings.SECRET_KEY is not None
    now = int(time.time())
    claims = {"sub": user_id, "iat": now, "exp": now + 60 * settings.ACCESS_TOKEN_EXPIRE_MINUTES}
    claims |= {k: v for k, v in (("iss", settings.JWT_ISSUER), ("aud", settings.JWT_AUDIENCE)) if v}
    print(jwt.encode(claims, settings.SECRET_KEY.get_secret_value(), algorithm="HS256"))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "dev-user")
