"""Credentials remembered for a few seconds in each server process.

Every request starts with its credential check; remembering the answer saves a database round
trip per request. What is remembered: a studio API key's principal (by the key's hash), and
whether an OAuth client or an admin token is still in force. A revocation takes effect at once
in the process that served it and within ``ttl`` seconds (plus the time one lookup takes) in the
others. Only credentials that passed their signature or hash check are remembered, so made-up
ones cannot fill the cache, and its size is bounded.

When an entry expires, one request looks the credential up again while the others keep being
served with the entry it replaces: otherwise every request in flight at that moment would look
it up at once (every few seconds, a burst of slow requests).
"""

from collections.abc import Callable
from dataclasses import dataclass
from time import monotonic
from typing import Generic, TypeVar

from openbenefits.tenancy.principals import StudioPrincipal

# How long the others wait for one request's lookup before one of them looks the key up too.
REFRESH_SECONDS = 1.0

V = TypeVar("V")


@dataclass
class _Entry(Generic[V]):
    value: V
    expires: float
    refreshing_since: float | None = None


class CredentialCache(Generic[V]):
    def __init__(self, ttl_seconds: float, max_entries: int = 50_000) -> None:
        self.ttl = ttl_seconds
        self.max_entries = max_entries
        self._entries: dict[str, _Entry[V]] = {}

    def fresh(self, key: str) -> V | None:
        """The value if it was looked up within ``ttl``; else the caller looks it up and
        ``put``s it (or ``discard``s the key when it is no longer valid)."""
        entry = self._entries.get(key)
        if entry is None or monotonic() >= entry.expires:
            return None
        return entry.value

    def get(self, key: str) -> V | None:
        """Like ``fresh``, but an expired value is still answered while another request looks
        the key up (for up to ``REFRESH_SECONDS``). None makes the caller the one that looks
        it up."""
        entry = self._entries.get(key)
        if entry is None:
            return None
        now = monotonic()
        if now < entry.expires:
            return entry.value
        if entry.refreshing_since is not None and now - entry.refreshing_since < REFRESH_SECONDS:
            return entry.value
        entry.refreshing_since = now
        return None

    def put(self, key: str, value: V) -> None:
        if self.ttl <= 0:
            return
        if len(self._entries) >= self.max_entries and key not in self._entries:
            self._entries.clear()
        self._entries[key] = _Entry(value, monotonic() + self.ttl)

    def discard(self, key: str) -> None:
        self._entries.pop(key, None)

    def discard_where(self, matches: Callable[[V], bool]) -> None:
        for key, entry in list(self._entries.items()):
            if matches(entry.value):
                del self._entries[key]


class PrincipalCache(CredentialCache[StudioPrincipal]):
    """Studio principals by the hash of their API key."""

    def forget(self, api_key_id: int) -> None:
        self.discard_where(lambda principal: principal.api_key_id == api_key_id)


@dataclass
class Revocations:
    """Whether OAuth clients (by client id) and admin tokens (by token id) are in force."""

    clients: CredentialCache[bool]
    admin_tokens: CredentialCache[bool]

    @classmethod
    def remembered_for(cls, ttl_seconds: float) -> "Revocations":
        return cls(CredentialCache(ttl_seconds), CredentialCache(ttl_seconds))
