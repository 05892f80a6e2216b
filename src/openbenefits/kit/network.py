"""Which addresses a call made on a tenant's behalf may reach, and an httpx transport that holds
every connection it makes to that rule.

A URL a tenant chooses (a webhook target) must not make the server the tenant's way into the
operator's network or the cloud's metadata service (SSRF): only globally routable unicast
addresses are allowed, and whatever networks the operator allows by configuration. The rule is
applied to every address the host name resolves to when connecting, and the connection goes to
an address so checked, so a name that changes its answer between a check and the connection
(DNS rebinding) gains nothing."""

import contextlib
import socket
from collections.abc import Iterable, Sequence
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address
from typing import Any

import anyio
import httpcore
import httpx

IPAddress = IPv4Address | IPv6Address
IPNetwork = IPv4Network | IPv6Network

# The IPv6 global unicast space (RFC 4291); the rest is loopback, link-local, unique local,
# multicast or reserved.
_GLOBAL_UNICAST_V6 = IPv6Network("2000::/3")
# NAT64's well-known prefix (RFC 6052): the last 32 bits are the IPv4 address reached.
_NAT64 = IPv6Network("64:ff9b::/96")
# Nominally public addresses that answer only from inside a cloud: Azure's WireServer.
_CLOUD_INTERNAL = frozenset({IPv4Address("168.63.129.16")})
# httpx's own default limits.
_LIMITS = httpx.Limits(max_connections=100, max_keepalive_connections=20)


class TargetNotAllowed(Exception):
    """The host is, or resolves to, an address the rule refuses; nothing was sent."""


def _reached(address: IPAddress) -> IPAddress:
    """The address a connection to ``address`` reaches: the IPv4 address an IPv4-mapped, NAT64
    or 6to4 address stands for, otherwise the address itself."""
    if isinstance(address, IPv4Address):
        return address
    if address in _NAT64:
        return IPv4Address(int(address) & 0xFFFF_FFFF)
    return address.ipv4_mapped or address.sixtofour or address


def is_allowed(address: IPAddress, allowed_networks: Iterable[IPNetwork]) -> bool:
    """Globally routable unicast, or inside a network the operator allows."""
    target = _reached(address)
    if any(target in network or address in network for network in allowed_networks):
        return True
    if target in _CLOUD_INTERNAL:
        return False
    if isinstance(target, IPv6Address):
        return target in _GLOBAL_UNICAST_V6 and target.is_global
    return target.is_global and not target.is_multicast


async def resolve(host: str) -> list[IPAddress]:
    """Every address ``host`` stands for, in the system resolver's order of preference (a
    literal address stands for itself, without a trip to the resolver's thread). Raises
    ``OSError`` when the name does not resolve."""
    with contextlib.suppress(ValueError):
        return [ip_address(host)]
    answers = await anyio.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(ip_address(answer[4][0]) for answer in answers))


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """httpcore's network backend, connecting only where the rule allows: it resolves the host
    itself, refuses it when any of its addresses is not allowed, and connects to the checked
    addresses. httpcore starts TLS on the stream with the URL's host name, so certificates are
    still verified against the name."""

    def __init__(self, allowed_networks: Sequence[IPNetwork]) -> None:
        self._allowed_networks = tuple(allowed_networks)
        self._backend = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's signature
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            with anyio.fail_after(timeout):
                addresses = await resolve(host)
        except TimeoutError as error:
            raise httpcore.ConnectTimeout(f"resolving {host} timed out") from error
        except OSError as error:
            raise httpcore.ConnectError(str(error)) from error
        if not all(is_allowed(address, self._allowed_networks) for address in addresses):
            raise TargetNotAllowed(
                f"{host} is not a public address, nor in a network the operator allows"
            )
        failures: list[Exception] = []
        for address in addresses:
            try:
                return await self._backend.connect_tcp(
                    str(address), port, timeout, local_address, socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as error:
                failures.append(error)
        raise failures[-1]

    async def sleep(self, seconds: float) -> None:
        await self._backend.sleep(seconds)


class GuardedTransport(httpx.AsyncHTTPTransport):
    """httpx's HTTP transport on a ``GuardedBackend``. Used as a client's transport, it also
    keeps the client from taking proxies from the environment: through a proxy, the rule would
    judge the proxy instead of the target."""

    def __init__(self, allowed_networks: Sequence[IPNetwork]) -> None:
        ssl_context = httpx.create_ssl_context()
        super().__init__(verify=ssl_context, limits=_LIMITS)
        # httpx passes no network backend to its connection pool: an equal pool replaces it.
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=ssl_context,
            max_connections=_LIMITS.max_connections,
            max_keepalive_connections=_LIMITS.max_keepalive_connections,
            keepalive_expiry=_LIMITS.keepalive_expiry,
            network_backend=GuardedBackend(allowed_networks),
        )
