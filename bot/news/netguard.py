"""Where Ajil may connect: the one fetch policy for every outgoing request.

Ajil fetches pages that others choose: news sites, the links in their feeds, URLs that users
send to /summary. None of them may turn the bot into a door to the machine or network it runs
on (server-side request forgery, OWASP's "SSRF Prevention Cheat Sheet"). The rule:

- only `http` and `https`;
- the address a host name resolves to is checked after DNS, for every connection, so a
  redirect hop or a DNS answer that changes between check and use gains nothing (the checked
  address is the one connected to);
- private, loopback, link-local, multicast, reserved and other non-global addresses (IPv4 and
  IPv6, IPv4-mapped included) are refused, unless the connection is to exactly the origin of a
  configured source: the operator's configuration is trusted, so a source on 127.0.0.1:8080
  still works, and nothing else on that machine is reachable through it.

Address classes come from the standard `ipaddress` module (IANA's special-purpose registries,
RFC 6890), never from string tests; "2130706433", "0x7f.1" and "[::ffff:127.0.0.1]" are
caught because the check is on what the name resolved to.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpcore
import idna

DEFAULT_PORTS = {"http": 80, "https": 443}


class Refused(Exception):
    """A request the fetch policy does not allow; `reason` is short and safe to show."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, order=True)
class Origin:
    """A URL's origin as RFC 6454 defines it: scheme, host (lower case, IDNA, no trailing dot)
    and port (the scheme's default when absent)."""

    scheme: str
    host: str
    port: int

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        default = DEFAULT_PORTS.get(self.scheme)
        return f"{self.scheme}://{host}" + ("" if self.port == default else f":{self.port}")


def normalize_host(host: str) -> str:
    """`host` in the form that compares: lower case, no trailing dot, IDNA (RFC 5891) A-labels.

    Raises ValueError for a host that is not a valid name or address."""
    host = host.strip().rstrip(".").lower()
    if not host:
        raise ValueError("no host")
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        pass
    if host.isascii():
        return host
    try:
        return idna.encode(host, uts46=True).decode("ascii")
    except idna.IDNAError as exc:
        raise ValueError(f"invalid host name ({exc})") from None


def origin_of(url: str) -> Origin:
    """The origin of an absolute http(s) URL, userinfo dropped.

    Raises ValueError for another scheme, a missing or invalid host, or an invalid port."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS:
        raise ValueError(f"not a web address ({scheme or 'no'} scheme)")
    if not parts.hostname:
        raise ValueError("no host")
    port = parts.port  # ValueError for a port out of range or not a number
    return Origin(scheme, normalize_host(parts.hostname), port or DEFAULT_PORTS[scheme])


def is_public(address: str) -> bool:
    """Whether an IP address is globally routable (not private, loopback, link-local, ...)."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = ip.ipv4_mapped or ip.sixtofour or (ip.teredo[1] if ip.teredo else None)
        if embedded is not None:
            return is_public(str(embedded))
    return ip.is_global and not ip.is_multicast


class FetchPolicy:
    """The configured sources' origins (trusted even on private addresses) and the checks.

    `FetchPolicy([])` trusts nothing: only public addresses are reachable."""

    def __init__(self, trusted_urls: Iterable[str] = ()) -> None:
        origins = set()
        for url in trusted_urls:
            try:
                origins.add(origin_of(url))
            except ValueError:
                continue
        self.trusted: frozenset[Origin] = frozenset(origins)
        self._endpoints = frozenset((o.host, o.port) for o in origins)

    def check_url(self, url: str) -> Origin:
        """The URL's origin; raises Refused for anything but an absolute http(s) URL."""
        try:
            return origin_of(url)
        except ValueError as exc:
            raise Refused(f"refused: {exc}") from None

    def is_source_origin(self, url: str) -> bool:
        """Whether `url` lies on exactly a configured source's origin (for URLs from users)."""
        try:
            return origin_of(url) in self.trusted
        except ValueError:
            return False

    def allows(self, host: str, port: int, address: str) -> bool:
        """Whether a connection to `address` for `host:port` is allowed."""
        if is_public(address):
            return True
        try:
            return (normalize_host(host), port) in self._endpoints
        except ValueError:
            return False


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """httpcore's network backend with the policy between name resolution and connect.

    It resolves the host itself, keeps only the addresses the policy allows and connects to
    one of those, so the address checked is the address used (no DNS rebinding between the
    two). TLS still verifies the certificate against the host name: httpcore passes the
    request's host as the server name, not the address."""

    def __init__(self, policy: FetchPolicy, inner: httpcore.AsyncNetworkBackend | None = None):
        self.policy = policy
        self._inner = inner or httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        addresses = await _resolve(host, port, timeout)
        allowed = [a for a in addresses if self.policy.allows(host, port, a)]
        if not allowed:
            shown = addresses[0] if addresses else host
            raise Refused(f"refused: {host} resolves to a private address ({shown})")
        error: Exception | None = None
        for address in allowed:
            try:
                return await self._inner.connect_tcp(
                    address,
                    port,
                    timeout=timeout,
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except httpcore.ConnectError as exc:
                error = exc
        assert error is not None
        raise error

    async def connect_unix_socket(self, *args: Any, **kwargs: Any) -> httpcore.AsyncNetworkStream:
        raise Refused("refused: unix sockets are never fetched")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


async def _resolve(host: str, port: int, timeout: float | None) -> list[str]:
    try:
        return [str(ipaddress.ip_address(host.strip("[]")))]
    except ValueError:
        pass
    loop = asyncio.get_running_loop()
    try:
        async with asyncio.timeout(timeout):
            infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise httpcore.ConnectError(f"cannot resolve {host} ({exc})") from None
    except TimeoutError:
        raise httpcore.ConnectTimeout(f"resolving {host} timed out") from None
    seen: list[str] = []
    for _family, _type, _proto, _name, sockaddr in infos:
        address = str(sockaddr[0])
        if address not in seen:
            seen.append(address)
    return seen
