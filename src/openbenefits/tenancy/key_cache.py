"""Studio principals by API key, kept for a few seconds in each server process.

Every studio request starts with the key check; remembering the answer saves a database round
trip per request on the hot paths. A revocation takes effect at once in the process that
served it and within ``ttl`` seconds (plus the time one key lookup takes) in the others. Only
valid keys are remembered, so unknown keys cannot fill the cache, and its size is bounded.

When an entry expires, one request looks the key up again while the others keep being served
with the entry it replaces: otherwise every request in flight at that moment would look the key
up at once (every few seconds, a burst of slow requests).
"""

import time
from dataclasses import dataclass

from openbenefits.tenancy.principals import StudioPrincipal

# How long the others wait for one request's lookup before one of them looks the key up too.
REFRESH_SECONDS = 1.0


@dataclass
class _Entry:
    principal: StudioPrincipal
    expires: float
    refreshing_since: float | None = None


class PrincipalCache:
    def __init__(self, ttl_seconds: float, max_entries: int = 50_000) -> None:
        self.ttl = ttl_seconds
        self.max_entries = max_entries
        self._entries: dict[str, _Entry] = {}

    def fresh(self, key_hash: str) -> StudioPrincipal | None:
        """The principal if it was looked up within ``ttl``; else the caller looks it up and
        ``put``s it (or ``discard``s the key when it is no longer valid)."""
        entry = self._entries.get(key_hash)
        if entry is None or time.monotonic() >= entry.expires:
            return None
        return entry.principal

    def get(self, key_hash: str) -> StudioPrincipal | None:
        """Like ``fresh``, but an expired principal is still answered while another request
        looks the key up (for up to ``REFRESH_SECONDS``). None makes the caller the one that
        looks it up."""
        entry = self._entries.get(key_hash)
        if entry is None:
            return None
        now = time.monotonic()
        if now < entry.expires:
            return entry.principal
        if entry.refreshing_since is not None and now - entry.refreshing_since < REFRESH_SECONDS:
            return entry.principal
        entry.refreshing_since = now
        return None

    def put(self, key_hash: str, principal: StudioPrincipal) -> None:
        if self.ttl <= 0:
            return
        if len(self._entries) >= self.max_entries and key_hash not in self._entries:
            self._entries.clear()
        self._entries[key_hash] = _Entry(principal, time.monotonic() + self.ttl)

    def discard(self, key_hash: str) -> None:
        self._entries.pop(key_hash, None)

    def forget(self, api_key_id: int) -> None:
        for key_hash, entry in list(self._entries.items()):
            if entry.principal.api_key_id == api_key_id:
                del self._entries[key_hash]
