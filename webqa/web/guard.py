"""What the live web may reach: http(s) only, public addresses only, no blocked domains.

The address check runs on the address actually connected to, not on the name in the URL:
:class:`GuardedBackend` resolves the host itself, checks every address, and connects to a
checked one (Stripe Smokescreen's rule). A name that resolves to 127.0.0.1, or a DNS answer
that changes between a check and the connect, therefore cannot reach a private service.
TLS still uses the URL's host name for SNI and certificate checks, because httpcore passes
the origin's name to ``start_tls`` whatever the TCP address was.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Iterable, Sequence
from typing import Any
from urllib.parse import urlsplit

import httpcore
import httpx

from webqa.errors import BlockedError
from webqa.records import SearchResult

__all__ = [
    "DEFAULT_BLOCK",
    "Resolver",
    "address_problem",
    "check_scheme",
    "DomainBlock",
    "system_resolver",
    "GuardedBackend",
    "guarded_transport",
]

#: Domains refused by default (with their subdomains), as in WebGPT: their pages answer the
#: question ready-made, so citing them is copying an answer rather than finding evidence.
DEFAULT_BLOCK: tuple[str, ...] = ("reddit.com", "quora.com")

#: ``resolver(host, port)`` returns the host's addresses as strings, best first.
Resolver = Callable[[str, int], Sequence[str]]

_SHARED = ipaddress.ip_network("100.64.0.0/10")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_METADATA = ipaddress.ip_address("169.254.169.254")
_ALLOW_HINT = "pass --allow-private to reach private networks"


def address_problem(address: str | ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    """Why ``address`` must not be connected to ("a loopback address", ...), or None if public."""
    ip = ipaddress.ip_address(address.split("%")[0] if isinstance(address, str) else address)
    if isinstance(ip, ipaddress.IPv6Address):
        # IPv6 forms that carry an IPv4 address are judged by that address; NAT64 must come
        # before the "reserved" test, or every IPv4 site would be refused on NAT64 networks.
        embedded = ip.ipv4_mapped or ip.sixtofour
        if embedded is None and ip in _NAT64:
            embedded = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if embedded is not None:
            problem = address_problem(embedded)
            return f"{problem} ({embedded} inside {ip})" if problem else None
    if ip == _METADATA:
        return "a link-local address (the cloud metadata service)"
    checks = (
        (ip.is_unspecified, "an unspecified address"),
        (ip.is_loopback, "a loopback address"),
        (ip.is_link_local, "a link-local address"),
        (ip.is_multicast, "a multicast address"),
        (ip in _SHARED, "a shared (carrier-grade NAT) address"),
        (ip.is_reserved, "a reserved address"),
        (ip.is_private, "a private address"),
        (not ip.is_global, "not a public address"),
    )
    return next((why for bad, why in checks if bad), None)


def check_scheme(url: str) -> None:
    """Raise :class:`BlockedError` unless ``url`` is an http(s) URL with a host."""
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https"):
        scheme = f"{parts.scheme}:" if parts.scheme else "a URL without a scheme"
        raise BlockedError(f"refused {url}: only http and https URLs can be fetched, not {scheme}", url=url)
    if not parts.hostname:
        raise BlockedError(f"refused {url}: the URL has no host", url=url)


class DomainBlock:
    """A list of domains refused together with their subdomains (``reddit.com`` blocks
    ``old.reddit.com``, not ``notreddit.com``)."""

    def __init__(self, domains: Iterable[str] = DEFAULT_BLOCK) -> None:
        self.domains = tuple(sorted({d.strip().lower().strip(".") for d in domains if d.strip()}))

    def blocked(self, url: str) -> str | None:
        """The block-list entry that matches ``url``'s host, or None."""
        host = (urlsplit(url).hostname or "").rstrip(".")
        return next((d for d in self.domains if host == d or host.endswith("." + d)), None)

    def check(self, url: str) -> None:
        """Raise :class:`BlockedError` if ``url`` is on a blocked domain."""
        if entry := self.blocked(url):
            raise BlockedError(f"refused {url}: {entry} is on the block list", url=url)

    def filter(self, results: Iterable[SearchResult]) -> list[SearchResult]:
        """``results`` without those on blocked domains or with non-http(s) URLs."""
        return [
            r for r in results
            if urlsplit(r.url).scheme in ("http", "https") and not self.blocked(r.url)
        ]


def system_resolver(host: str, port: int) -> list[str]:
    """The addresses the operating system resolves ``host`` to, in its order."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        # A connect error to httpx, so the fetcher reports it like any unreachable host.
        raise httpcore.ConnectError(f"cannot resolve {host} ({exc})") from exc
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.split("%")[0])
    except ValueError:
        return False
    return True


class GuardedBackend(httpcore.NetworkBackend):
    """An httpcore network backend that connects only to addresses :func:`address_problem`
    accepts. ``inner`` does the actual connecting (tests pass one that reaches a loopback
    server); ``allow_private`` turns the address check off for intranets."""

    def __init__(
        self,
        *,
        allow_private: bool = False,
        resolver: Resolver = system_resolver,
        inner: httpcore.NetworkBackend | None = None,
    ) -> None:
        self.allow_private = allow_private
        self._resolve = resolver
        self._inner = inner or httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        """Resolve ``host``, refuse non-public addresses, connect to the first usable one."""
        addresses = [host] if _is_ip(host) else list(self._resolve(host, port))
        refused: list[str] = []
        last_error: Exception | None = None
        for ip in addresses:
            problem = None if self.allow_private else address_problem(ip)
            if problem:
                refused.append(f"{ip}, {problem}")
                continue
            try:
                return self._inner.connect_tcp(
                    ip, port, timeout=timeout, local_address=local_address, socket_options=socket_options
                )
            except httpcore.ConnectError as exc:  # try the host's next address
                last_error = exc
        if last_error is not None:
            raise last_error
        if refused:
            what = f"{host} is {refused[0].split(', ', 1)[1]}" if _is_ip(host) else \
                f"{host} resolves to {'; '.join(refused)}"
            raise BlockedError(f"{what}; {_ALLOW_HINT}")
        raise httpcore.ConnectError(f"{host} has no addresses")

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.NetworkStream:
        """Always refused: a Unix socket is a local service."""
        raise BlockedError(f"refused to connect to the Unix socket {path}")

    def sleep(self, seconds: float) -> None:
        """Delegate to the inner backend."""
        self._inner.sleep(seconds)


def guarded_transport(
    *,
    allow_private: bool = False,
    resolver: Resolver = system_resolver,
    inner: httpcore.NetworkBackend | None = None,
    limits: httpx.Limits | None = None,
) -> httpx.HTTPTransport:
    """An httpx transport whose every connection goes through :class:`GuardedBackend`."""
    limits = limits or httpx.Limits(max_connections=32, max_keepalive_connections=16)
    transport = httpx.HTTPTransport(trust_env=False, limits=limits)
    # httpx has no public hook for a network backend, so the pool is rebuilt with one; a
    # proxy is deliberately not supported here, since it would be what the guard checks.
    transport._pool = httpcore.ConnectionPool(
        ssl_context=httpx.create_ssl_context(trust_env=False),
        max_connections=limits.max_connections,
        max_keepalive_connections=limits.max_keepalive_connections,
        keepalive_expiry=limits.keepalive_expiry,
        network_backend=GuardedBackend(allow_private=allow_private, resolver=resolver, inner=inner),
    )
    return transport
