"""Studio principals by API key, kept for a few seconds in each server process.

Every studio request starts with the key check; remembering the answer saves a database round
trip per request on the hot paths. A revocation takes effect at once in the process that
served it and within ``ttl`` seconds in the others. Only valid keys are remembered, so unknown
keys cannot fill the cache, and its size is bounded.
"""

import time

from openbenefits.tenancy.principals import StudioPrincipal


class PrincipalCache:
    def __init__(self, ttl_seconds: float, max_entries: int = 50_000) -> None:
        self.ttl = ttl_seconds
        self.max_entries = max_entries
        self._entries: dict[str, tuple[float, StudioPrincipal]] = {}

    def get(self, key_hash: str) -> StudioPrincipal | None:
        entry = self._entries.get(key_hash)
        if entry is None:
            return None
        expires, principal = entry
        if time.monotonic() >= expires:
            del self._entries[key_hash]
            return None
        return principal

    def put(self, key_hash: str, principal: StudioPrincipal) -> None:
        if self.ttl <= 0:
            return
        if len(self._entries) >= self.max_entries:
            self._entries.clear()
        self._entries[key_hash] = (time.monotonic() + self.ttl, principal)

    def forget(self, api_key_id: int) -> None:
        for key_hash, (_, principal) in list(self._entries.items()):
            if principal.api_key_id == api_key_id:
                del self._entries[key_hash]
