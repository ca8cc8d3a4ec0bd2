"""Password rules and bcrypt hashing."""

from functools import cache

import bcrypt

MIN_LENGTH = 8
MAX_BYTES = 72  # bcrypt reads no further: longer passwords are refused, never silently truncated


def password_problem(password: str) -> str | None:
    """Why this password may not be used, or None when it may."""
    if len(password) < MIN_LENGTH:
        return f"Password must be at least {MIN_LENGTH} characters long"
    if "\x00" in password:
        return "Password must not contain NUL characters"
    try:
        size = len(password.encode())
    except UnicodeEncodeError:
        return "Password must be valid Unicode text"
    if size > MAX_BYTES:
        return f"Password must be at most {MAX_BYTES} bytes in UTF-8 ({size} given)"
    if not any(c.isalpha() for c in password) or not any(c.isdecimal() for c in password):  # not ², ①
        return "Password must contain at least one letter and one digit"
    return None


def hash_password(password: str, rounds: int) -> str:
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds)).decode()


def verify_password(password: str, password_hash: str | None, rounds: int) -> bool:
    """Check a password against a stored hash, in about the same time whether or not there is one.

    With no hash (unknown email) or a password bcrypt cannot take (over 72 bytes, NUL), a dummy hash
    of the same cost is checked instead, so the timing does not reveal which emails have accounts.
    """
    encoded = password.encode(errors="replace")
    if password_hash is None or len(encoded) > MAX_BYTES or b"\x00" in encoded:
        bcrypt.checkpw(b"not-the-password", _dummy_hash(rounds).encode())
        return False
    return bcrypt.checkpw(encoded, password_hash.encode())


@cache
def _dummy_hash(rounds: int) -> str:
    return hash_password("dummy-password-0", rounds)
