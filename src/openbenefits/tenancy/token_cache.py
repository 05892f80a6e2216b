"""Loyalty bearer tokens, verified once in each server process.

A token is signed and never changes, so its signature, issuer and audience need checking only
the first time this process sees it; its expiry is checked on every request against the clock.
Only valid tokens are remembered, so forged ones cannot fill the cache, and its size is bounded
(it starts over when full: a token's next request verifies it again).
"""

from collections.abc import Sequence
from datetime import datetime

from openbenefits.kit.security import check_expiry, decode_token
from openbenefits.tenancy.principals import LoyaltyPrincipal


class VerifiedTokens:
    def __init__(self, master: bytes, audiences: Sequence[str], max_entries: int = 50_000) -> None:
        self._master = master
        self._audiences = audiences
        self._max_entries = max_entries
        self._tokens: dict[str, tuple[LoyaltyPrincipal, int]] = {}

    def principal(self, token: str, now: datetime) -> LoyaltyPrincipal:
        """The OAuth client the token names (401 if it is not valid now)."""
        known = self._tokens.get(token)
        if known is None:
            claims = decode_token(self._master, token, audience=self._audiences)
            principal = LoyaltyPrincipal(
                client_id=str(claims["sub"]),
                tenant_id=int(str(claims["org"])),
                scopes=frozenset(str(claims.get("scope", "")).split()),
            )
            known = (principal, int(claims["exp"]))
            if len(self._tokens) >= self._max_entries:
                self._tokens.clear()
            self._tokens[token] = known
        principal, expires = known
        check_expiry(expires, now)
        return principal
