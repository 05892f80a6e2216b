"""Loyalty bearer tokens verified once per process (tenancy/token_cache.py)."""

from datetime import UTC, datetime, timedelta

import pytest

from openbenefits.kit.errors import Unauthorized
from openbenefits.kit.security import sign_token
from openbenefits.tenancy.token_cache import VerifiedTokens

MASTER = b"token-cache-test-secret"
NOW = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)


def _token(subject: str, audience: str = "loyalty", master: bytes = MASTER) -> str:
    return sign_token(
        master,
        subject=subject,
        audience=audience,
        now=NOW,
        ttl=timedelta(minutes=15),
        claims={"org": 7, "scope": "LOYALTY_READ"},
    )


def test_a_token_is_verified_once_and_its_expiry_every_time():
    tokens = VerifiedTokens(MASTER, "loyalty")
    token = _token("client-a")
    principal = tokens.principal(token, NOW)
    assert (principal.client_id, principal.tenant_id) == ("client-a", 7)
    assert principal.scopes == frozenset({"LOYALTY_READ"})
    assert tokens.principal(token, NOW + timedelta(minutes=14)) is principal
    with pytest.raises(Unauthorized) as expired:
        tokens.principal(token, NOW + timedelta(minutes=15))
    assert expired.value.code == "TOKEN_EXPIRED"


@pytest.mark.parametrize(
    "token",
    [_token("a", master=b"another-secret"), _token("a", audience="admin"), "not-a-token"],
)
def test_invalid_tokens_are_refused_every_time(token):
    tokens = VerifiedTokens(MASTER, "loyalty")
    for _ in range(2):
        with pytest.raises(Unauthorized) as refused:
            tokens.principal(token, NOW)
        assert refused.value.code == "INVALID_TOKEN"


def test_the_cache_is_bounded():
    tokens = VerifiedTokens(MASTER, "loyalty", max_entries=3)
    issued = [_token(f"client-{n}") for n in range(10)]
    for token in issued:
        tokens.principal(token, NOW)
    assert len(tokens._tokens) <= 3
    assert [tokens.principal(t, NOW).client_id for t in issued] == [
        f"client-{n}" for n in range(10)
    ]
