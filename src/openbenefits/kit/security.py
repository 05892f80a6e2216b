"""Secrets and tokens: keyed hashes for stored credentials, signed short-lived JWTs.

API keys and client secrets are long random strings, so a keyed HMAC is the right hash: a
database leak alone does not let anyone test guesses, and lookup by hash stays one index probe.
"""

import base64
import hashlib
import hmac
import secrets
from collections.abc import Sequence
from datetime import datetime, timedelta
from functools import cache
from typing import Any
from urllib.parse import unquote_plus

import jwt

from openbenefits.kit.errors import Unauthorized

TOKEN_ALGORITHM = "HS256"
TOKEN_ISSUER = "openbenefits"


@cache
def derive_key(master: bytes, purpose: str) -> bytes:
    """One key per purpose, so that a hash of one kind can never be replayed as another.
    Remembered: every credential hash on every request derives the same one."""
    return hmac.new(master, purpose.encode(), hashlib.sha256).digest()


def hash_secret(master: bytes, value: str) -> str:
    return hmac.new(
        derive_key(master, "credential-hash"), value.encode(), hashlib.sha256
    ).hexdigest()


def new_secret(prefix: str) -> str:
    return f"{prefix}_{secrets.token_urlsafe(32)}"


def sign_token(
    master: bytes,
    *,
    subject: str,
    audience: str,
    now: datetime,
    ttl: timedelta,
    claims: dict[str, Any],
) -> str:
    payload = {
        **claims,
        "iss": TOKEN_ISSUER,
        "sub": subject,
        "aud": audience,
        "iat": int(now.timestamp()),
        "exp": int((now + ttl).timestamp()),
    }
    return jwt.encode(payload, derive_key(master, "jwt"), algorithm=TOKEN_ALGORITHM)


def verify_token(master: bytes, token: str, *, audience: str, now: datetime) -> dict[str, Any]:
    """Check signature, issuer, audience and expiry."""
    claims = decode_token(master, token, audience=audience)
    check_expiry(claims["exp"], now)
    return claims


def decode_token(master: bytes, token: str, *, audience: str | Sequence[str]) -> dict[str, Any]:
    """Check signature, issuer and audience (one of them, given several); the expiry is the
    caller's (``check_expiry``), against the injected clock rather than the wall clock PyJWT
    would use."""
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            derive_key(master, "jwt"),
            algorithms=[TOKEN_ALGORITHM],
            audience=audience,
            issuer=TOKEN_ISSUER,
            options={
                "verify_exp": False,
                "verify_iat": False,
                "require": ["exp", "sub", "aud", "iss"],
            },
        )
    except jwt.PyJWTError as error:
        raise Unauthorized("The bearer token is not valid.", code="INVALID_TOKEN") from error
    return claims


def check_expiry(expires: int, now: datetime) -> None:
    if expires <= now.timestamp():
        raise Unauthorized("The bearer token has expired.", code="TOKEN_EXPIRED")


def bearer_token(authorization: str | None) -> str | None:
    if not authorization:
        return None
    scheme, _, token = authorization.partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


def basic_credentials(authorization: str | None) -> tuple[str, str] | None:
    """A client's id and secret from ``Authorization: Basic`` (RFC 6749 §2.3.1: each
    form-urlencoded, joined by a colon, in base64); None for another scheme or none, ValueError
    for a Basic header that does not decode."""
    scheme, _, encoded = (authorization or "").partition(" ")
    if scheme.lower() != "basic":
        return None
    client_id, secret = base64.b64decode(encoded.strip(), validate=True).decode().split(":", 1)
    return unquote_plus(client_id), unquote_plus(secret)
