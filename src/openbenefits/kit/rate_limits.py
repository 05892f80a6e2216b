"""Rate limits: requests per credential and per client address on each surface, a tighter
limit on uploads per credential, and failed authentications per address. A request over a
limit is answered 429 with ``Retry-After`` (seconds) in its surface's error shape.

An ASGI middleware inside the request-context middleware (refusals carry request ids and are
logged and measured) and outside everything that answers requests, the fast dispatch included,
so no route escapes it. Counters are fixed windows: in Redis (limits' ``RedisStorage``) when one
is configured, shared by every process and host; in the process's memory otherwise.
"""

import hashlib
import heapq
import ipaddress
import json
import math
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Protocol
from urllib.parse import parse_qsl

import structlog
from fastapi import FastAPI
from limits import parse_many
from limits.aio.storage import RedisStorage
from limits.errors import StorageError
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from openbenefits.config import Settings
from openbenefits.kit.clock import Clock
from openbenefits.kit.error_handlers import (
    LOYALTY_PREFIX,
    STUDIO_PREFIX,
    is_console_path,
    render_error,
)
from openbenefits.kit.routing import extend_openapi
from openbenefits.kit.security import basic_credentials, derive_key

CODE = "RATE_LIMITED"
ADMIN_PREFIX = "/admin/"
TOKEN_PATH = "/oauth/token"
SIGN_IN_PATH = "/console/login"
UPLOAD_METHODS = frozenset({"POST", "PUT"})
# A token request is a few hundred bytes; a longer body is not read ahead of the app.
TOKEN_BODY_PEEK_BYTES = 8 * 1024
# Redis answers within a millisecond on a sound network: waiting longer only slows every
# request while it is unreachable.
REDIS_TIMEOUT_SECONDS = 0.25
# While Redis is unreachable each process counts alone, trying Redis again this often.
REDIS_RETRY_SECONDS = 5.0

log = structlog.get_logger()


@dataclass(frozen=True)
class Limit:
    """At most ``amount`` requests per window of ``seconds`` for each subject (an address, a
    credential's hash) of one kind of limit. The key's constant part is built once, as limits'
    ``RateLimitItem.key_for`` builds it."""

    key: str
    amount: int
    seconds: int

    def subject_key(self, subject: str) -> str:
        return f"{self.key}/{subject}"


def parse_limits(kind: str, notation: str) -> tuple[Limit, ...]:
    """``"100/second"``, several joined by ``;``, or empty for none. A changed limit counts
    afresh: the amount and window are part of the key."""
    if not notation.strip():
        return ()
    return tuple(
        Limit(item.key_for(kind), item.amount, item.get_expiry()) for item in parse_many(notation)
    )


# A limit and the subject it counts for.
Count = tuple[Limit, str]


@dataclass(frozen=True)
class Refusal:
    limit: Limit
    subject: str
    # Refused for the address's failed authentications, rather than for this request.
    locked_out: bool


class Counters(Protocol):
    """Fixed-window counters. One call per request: on the hot paths each await and clock
    reading is a measurable share of the middleware's cost."""

    async def refusal(self, locks: Sequence[Count], hits: Sequence[Count]) -> Refusal | None:
        """The first of ``locks`` whose window is full (nothing counted), else counts each of
        ``hits`` up to the first one over its limit."""

    async def hit(self, limit: Limit, subject: str) -> None:
        """Counts one, without asking."""

    async def retry_after(self, limit: Limit, subject: str) -> int:
        """Whole seconds until the window ends (at least 1)."""


class _Window:
    __slots__ = ("count", "ends_at")

    def __init__(self, ends_at: float) -> None:
        self.ends_at = ends_at
        self.count = 0


class InProcessCounters:
    """Counters in this process, on the injected clock (tests let a window pass).

    Not limits' ``MemoryStorage``: it walks every counter for expiry after each event-loop turn
    that counts (measured: 1.6 ms per request with 20,000 live counters, which a flood of
    made-up keys or addresses soon reaches), and each of its calls is two awaits deep. Here a
    lapsed window reads as zero, and each new window drops the lapsed ones, found in a heap of
    window ends.
    """

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._windows: dict[str, _Window] = {}
        self._ends: list[tuple[float, str]] = []

    def _live(self, key: str, now: float) -> _Window | None:
        window = self._windows.get(key)
        return window if window is not None and window.ends_at > now else None

    def _incr(self, key: str, seconds: int, now: float) -> int:
        window = self._live(key, now)
        if window is None:
            self._sweep(now)
            window = self._windows[key] = _Window(now + seconds)
            heapq.heappush(self._ends, (window.ends_at, key))
        window.count += 1
        return window.count

    def _sweep(self, now: float) -> None:
        while self._ends and self._ends[0][0] <= now:
            ends_at, key = heapq.heappop(self._ends)
            window = self._windows.get(key)
            if window is not None and window.ends_at == ends_at:
                del self._windows[key]

    async def refusal(self, locks: Sequence[Count], hits: Sequence[Count]) -> Refusal | None:
        now = self._clock.now().timestamp()
        for limit, subject in locks:
            window = self._live(limit.subject_key(subject), now)
            if window is not None and window.count >= limit.amount:
                return Refusal(limit, subject, locked_out=True)
        for limit, subject in hits:
            if self._incr(limit.subject_key(subject), limit.seconds, now) > limit.amount:
                return Refusal(limit, subject, locked_out=False)
        return None

    async def hit(self, limit: Limit, subject: str) -> None:
        self._incr(limit.subject_key(subject), limit.seconds, self._clock.now().timestamp())

    async def retry_after(self, limit: Limit, subject: str) -> int:
        now = self._clock.now().timestamp()
        window = self._live(limit.subject_key(subject), now)
        return max(1, math.ceil(window.ends_at - now)) if window is not None else 1


class RedisCounters:
    """Counters in Redis through limits' ``RedisStorage`` (an atomic increment-and-expire
    script per count), shared by every process and host.

    While Redis cannot be reached, the process's own counters stand in: the limits stay in
    force (per process rather than shared) instead of lapsing, and a warning is logged. Redis
    is tried again every ``REDIS_RETRY_SECONDS``.
    """

    def __init__(self, url: str, key_prefix: str, fallback: Counters) -> None:
        # limits' URIs for the URLs operators write: redis://, rediss://, unix://.
        scheme, separator, rest = url.partition("://")
        uri = f"async+{'redis+unix' if scheme == 'unix' else scheme}{separator}{rest}"
        self._redis = RedisStorage(
            uri,
            implementation="redispy",
            key_prefix=key_prefix,
            wrap_exceptions=True,
            socket_timeout=REDIS_TIMEOUT_SECONDS,
            socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
        )
        self._fallback = fallback
        self._retry_at = 0.0
        self._failing = False

    def _reachable(self) -> bool:
        return time.monotonic() >= self._retry_at

    def _failed(self, error: StorageError) -> None:
        if not self._failing:
            log.warning(
                "rate limits: Redis unreachable, counting in this process",
                error=repr(error.storage_error),
            )
        self._failing = True
        self._retry_at = time.monotonic() + REDIS_RETRY_SECONDS

    def _answered(self) -> None:
        if self._failing:
            log.info("rate limits: Redis reachable again")
            self._failing = False

    async def refusal(self, locks: Sequence[Count], hits: Sequence[Count]) -> Refusal | None:
        if not self._reachable():
            return await self._fallback.refusal(locks, hits)
        try:
            refusal = await self._redis_refusal(locks, hits)
        except StorageError as error:
            self._failed(error)
            return await self._fallback.refusal(locks, hits)
        self._answered()
        return refusal

    async def _redis_refusal(self, locks: Sequence[Count], hits: Sequence[Count]) -> Refusal | None:
        for limit, subject in locks:
            if await self._redis.get(limit.subject_key(subject)) >= limit.amount:
                return Refusal(limit, subject, locked_out=True)
        for limit, subject in hits:
            if await self._redis.incr(limit.subject_key(subject), limit.seconds) > limit.amount:
                return Refusal(limit, subject, locked_out=False)
        return None

    async def hit(self, limit: Limit, subject: str) -> None:
        if not self._reachable():
            await self._fallback.hit(limit, subject)
            return
        try:
            await self._redis.incr(limit.subject_key(subject), limit.seconds)
        except StorageError as error:
            self._failed(error)
            await self._fallback.hit(limit, subject)

    async def retry_after(self, limit: Limit, subject: str) -> int:
        if not self._reachable():
            return await self._fallback.retry_after(limit, subject)
        try:
            ends_at = await self._redis.get_expiry(limit.subject_key(subject))
        except StorageError as error:
            self._failed(error)
            return await self._fallback.retry_after(limit, subject)
        return max(1, math.ceil(ends_at - time.time()))


@dataclass(frozen=True)
class Surface:
    name: str
    per_address: tuple[Limit, ...]
    per_credential: tuple[Limit, ...] = ()
    # Its 401s count as failed authentications, and an address over that limit is refused.
    authenticates: bool = True


@lru_cache(maxsize=4096)
def _ipv6_client(host: str) -> str:
    """An IPv6 client is its /64, the share of one subscriber: counting single addresses would
    give each client billions of counters."""
    try:
        address = ipaddress.IPv6Address(host)
    except ValueError:
        return host
    if address.ipv4_mapped is not None:
        return str(address.ipv4_mapped)
    return str(ipaddress.IPv6Network((address, 64), strict=False))


def client_address(scope: Scope) -> str:
    """The client's address as uvicorn reports it (behind a proxy: from ``X-Forwarded-For``,
    when the proxy is in ``--forwarded-allow-ips``)."""
    client = scope.get("client")
    host: str = client[0] if client else ""
    return _ipv6_client(host) if ":" in host else host


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            decoded: str = value.decode("latin-1")
            return decoded
    return None


def _bearer(scope: Scope) -> str | None:
    """The credentials of an ``Authorization`` header, without the scheme (whose spelling a
    client could vary to get a fresh counter)."""
    _, _, credentials = (_header(scope, b"authorization") or "").partition(" ")
    return credentials.strip() or None


async def _peek_body(receive: Receive, limit: int) -> tuple[bytes | None, Receive]:
    """The body if it is at most ``limit`` bytes, and a ``receive`` that hands the app every
    message read ahead, then the rest."""
    messages: list[Message] = []
    size, complete = 0, False
    while size <= limit:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":
            break
        size += len(message.get("body", b""))
        if not message.get("more_body", False):
            complete = size <= limit
            break

    async def replay() -> Message:
        return messages.pop(0) if messages else await receive()

    body = b"".join(message.get("body", b"") for message in messages) if complete else None
    return body, replay


def _client_id(body: bytes, content_type: str) -> str | None:
    """The ``client_id`` of a token request, read as the token endpoint reads it."""
    media_type = content_type.split(";")[0].strip().lower()
    fields: object = None
    if media_type == "application/x-www-form-urlencoded":
        fields = dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
    elif media_type == "application/json":
        try:
            fields = json.loads(body)
        except ValueError:
            return None
    client_id = fields.get("client_id") if isinstance(fields, dict) else None
    return client_id if isinstance(client_id, str) else None


class RateLimitMiddleware:
    """Counts each request against its surface's limits before anything answers it, and each
    401 against its address's failed authentications."""

    def __init__(
        self, app: ASGIApp, settings: Settings, clock: Clock, uploads: re.Pattern[str]
    ) -> None:
        self.app = app
        self.uploads = uploads
        local = InProcessCounters(clock)
        self.counters: Counters = (
            RedisCounters(settings.redis_url, settings.rate_limit_key_prefix, local)
            if settings.redis_url
            else local
        )
        # Credentials are counted under a keyed hash: neither Redis nor a memory dump holds one.
        self.hash_key = derive_key(settings.signing_key, "rate-limit")
        # The same few credentials come again and again: their hashes are remembered.
        self.identity = lru_cache(maxsize=4096)(self._identity)
        self.failed_authentications = parse_limits(
            "failed-auth", settings.rate_limit_failed_auth_per_address
        )
        self.uploads_per_credential = parse_limits(
            "uploads", settings.rate_limit_uploads_per_credential
        )
        self.studio = self._surface(
            "studio",
            settings.rate_limit_studio_per_address,
            settings.rate_limit_studio_per_credential,
        )
        self.loyalty = self._surface(
            "loyalty",
            settings.rate_limit_loyalty_per_address,
            settings.rate_limit_loyalty_per_credential,
        )
        self.admin = self._surface(
            "admin",
            settings.rate_limit_admin_per_address,
            settings.rate_limit_admin_per_credential,
        )
        self.token = self._surface(
            "token", settings.rate_limit_token_per_address, settings.rate_limit_token_per_client
        )
        # Operators are known by their session cookie, which only the console reads: counted
        # per address. Their failed sign-ins (401) count as failed authentications.
        self.console = self._surface("console", settings.rate_limit_console_per_address, "")
        self.sign_in = self._surface(
            "sign-in",
            settings.rate_limit_console_sign_in_per_address,
            "",
        )
        self.other = Surface(
            "other",
            parse_limits("other/address", settings.rate_limit_other_per_address),
            authenticates=False,
        )

    @staticmethod
    def _surface(name: str, per_address: str, per_credential: str) -> Surface:
        return Surface(
            name,
            parse_limits(f"{name}/address", per_address),
            parse_limits(f"{name}/credential", per_credential),
        )

    def surface(self, path: str, method: str) -> Surface:
        if path.startswith(STUDIO_PREFIX):
            return self.studio
        if path.startswith(LOYALTY_PREFIX):
            return self.loyalty
        if path.startswith(ADMIN_PREFIX):
            return self.admin
        if path == TOKEN_PATH:
            return self.token
        if is_console_path(path):
            return self.sign_in if path == SIGN_IN_PATH and method == "POST" else self.console
        return self.other

    def _identity(self, credential: str) -> str:
        return hashlib.blake2b(credential.encode(), key=self.hash_key, digest_size=16).hexdigest()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        surface = self.surface(scope["path"], scope["method"])
        address = client_address(scope)
        if surface is self.token and scope["method"] == "POST":
            credential, receive = await self._client_id(scope, receive)
        else:
            credential = self._credential(scope, surface)
        hits = [(limit, address) for limit in surface.per_address]
        if credential:
            identity = self.identity(credential)
            hits += [(limit, identity) for limit in surface.per_credential]
            if (
                surface is self.studio
                and scope["method"] in UPLOAD_METHODS
                and self.uploads.match(scope["path"])
            ):
                hits += [(limit, identity) for limit in self.uploads_per_credential]
        locks = (
            [(limit, address) for limit in self.failed_authentications]
            if surface.authenticates
            else []
        )
        refusal = await self.counters.refusal(locks, hits)
        if refusal is not None:
            await self._refuse(scope, receive, send, refusal)
            return
        if not surface.authenticates or not self.failed_authentications:
            await self.app(scope, receive, send)
            return

        async def count_failures(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] == 401:
                for limit in self.failed_authentications:
                    await self.counters.hit(limit, address)
            await send(message)

        await self.app(scope, receive, count_failures)

    def _credential(self, scope: Scope, surface: Surface) -> str | None:
        """The key or token the request presents."""
        if surface is self.studio:
            return _header(scope, b"x-api-key")
        return _bearer(scope) if surface.per_credential else None

    @staticmethod
    async def _client_id(scope: Scope, receive: Receive) -> tuple[str | None, Receive]:
        """The client_id of a token request — from ``Authorization: Basic``, or read ahead of
        the token endpoint from the body — and the ``receive`` that hands it the body."""
        try:
            basic = basic_credentials(_header(scope, b"authorization"))
        except ValueError:
            basic = None
        if basic is not None:
            return basic[0], receive
        body, receive = await _peek_body(receive, TOKEN_BODY_PEEK_BYTES)
        content_type = _header(scope, b"content-type") or ""
        return (None if body is None else _client_id(body, content_type)), receive

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, refusal: Refusal) -> None:
        retry_after = await self.counters.retry_after(refusal.limit, refusal.subject)
        reason = (
            "Too many failed authentications from this address."
            if refusal.locked_out
            else "Too many requests."
        )
        response = render_error(
            Request(scope),
            429,
            CODE,
            f"{reason} Retry after {retry_after} seconds.",
            headers={"Retry-After": str(retry_after)},
        )
        await response(scope, receive, send)


def declare_refusals(app: FastAPI) -> None:
    """Documents the 429 answer on every operation of the OpenAPI description, as the studio
    reference does, so that generated clients know it."""
    extend_openapi(app, _declare_refusals)


def _declare_refusals(document: dict[str, Any]) -> None:
    for path, item in document["paths"].items():
        for operation in item.values():
            operation["responses"].setdefault("429", _refusal_response(path))


def _refusal_response(path: str) -> dict[str, Any]:
    if path.startswith(STUDIO_PREFIX):
        media_type, schema = "application/json", "ErrorResponse"
    else:
        media_type, schema = "application/problem+json", "ProblemDetails"
    return {
        "description": "Too many requests: retry after the seconds in Retry-After.",
        "headers": {
            "Retry-After": {
                "description": "Seconds until the limit's window ends.",
                "schema": {"type": "integer"},
            }
        },
        "content": {media_type: {"schema": {"$ref": f"#/components/schemas/{schema}"}}},
    }
