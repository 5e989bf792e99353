"""What the live web may reach: http(s) only, public addresses only, no blocked domains.

The address check runs on the address actually connected to, not on the name in the URL:
:class:`GuardedBackend` resolves the host itself, checks every address, and connects to a
checked one (Stripe Smokescreen's rule). A name that resolves to 127.0.0.1, or a DNS answer
that changes between a check and the connect, therefore cannot reach a private service.
TLS still uses the URL's host name for SNI and certificate checks, because httpcore passes
the origin's name to ``start_tls`` whatever the TCP address was.
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import socket
import threading
from collections.abc import Callable, Iterable, Sequence
from typing import Any
from urllib.parse import urlsplit

import httpcore
import httpx
import idna

from webqa.errors import BlockedError
from webqa.records import SearchResult
from webqa.web.transport import DeadlineBackend, PoolTransport, time_left

__all__ = [
    "DEFAULT_BLOCK",
    "Resolver",
    "address_problem",
    "metadata_problem",
    "METADATA_ADDRESSES",
    "METADATA_NAMES",
    "normalize_host",
    "url_host",
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
_ALLOW_HINT = "pass --allow-private to reach private networks"
_METADATA_HINT = (
    "it stays refused even with --allow-private; only --allow-metadata "
    "(allow_metadata=True) reaches it"
)

log = logging.getLogger("webqa.web")

#: Cloud metadata services (AWS, AWS over IPv6, ECS task credentials, Alibaba, ...): they hand
#: out credentials to whoever asks from inside the machine, so a page must never reach them.
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a)
    for a in (
        "169.254.169.254",
        "fd00:ec2::254",
        "169.254.170.2",
        "100.100.100.200",
    )
)
#: Names of metadata services, refused whatever they resolve to.
METADATA_NAMES = frozenset({"metadata.google.internal", "metadata.goog", "metadata.azure.com"})

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 form carries (mapped, 6to4, NAT64), or None."""
    embedded = ip.ipv4_mapped or ip.sixtofour
    if embedded is None and ip in _NAT64:
        embedded = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return embedded


def metadata_problem(address: str | IPAddress) -> str | None:
    """ "the cloud metadata service" if ``address`` (in any IPv6 disguise) is one, else None."""
    try:
        ip = ipaddress.ip_address(address.split("%")[0] if isinstance(address, str) else address)
    except ValueError:
        return None
    embedded = _embedded_ipv4(ip) if isinstance(ip, ipaddress.IPv6Address) else None
    if ip in METADATA_ADDRESSES or embedded in METADATA_ADDRESSES:
        return "the cloud metadata service"
    return None


def address_problem(address: str | IPAddress) -> str | None:
    """Why ``address`` must not be connected to ("a loopback address", ...), or None if public."""
    ip = ipaddress.ip_address(address.split("%")[0] if isinstance(address, str) else address)
    if isinstance(ip, ipaddress.IPv6Address):
        # IPv6 forms that carry an IPv4 address are judged by that address; NAT64 must come
        # before the "reserved" test, or every IPv4 site would be refused on NAT64 networks.
        embedded = _embedded_ipv4(ip)
        if embedded is not None:
            problem = address_problem(embedded)
            return f"{problem} ({embedded} inside {ip})" if problem else None
    if metadata_problem(ip):
        kind = "a link-local" if ip.is_link_local else "an internal"
        return f"{kind} address (the cloud metadata service)"
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


#: Full stops that UTS-46 maps to ".": a host spelled with them is the same host.
_DOTS = str.maketrans({"\u3002": ".", "\uff0e": ".", "\uff61": "."})


def normalize_host(host: str) -> str:
    """The comparable form of a host name: UTS-46 mapped (full-width letters and ideographic
    dots folded, case folded), IDNA-encoded where it can be, without trailing dots.

    ``"Reddit\u3002COM."`` and ``"reddit.com"`` give the same result. Never raises: a name
    IDNA rejects keeps its mapped, lower-cased form.
    """
    host = host.strip().translate(_DOTS).lower()
    with contextlib.suppress(idna.IDNAError, UnicodeError, ValueError):
        host = idna.uts46_remap(host, std3_rules=False, transitional=False)
    host = host.rstrip(".")
    if host.isascii():
        return host
    try:
        return idna.encode(host).decode("ascii")
    except (idna.IDNAError, UnicodeError, ValueError):
        return host


def url_host(url: str) -> str:
    """The normalised host of ``url`` ('' when it has none).

    Raises :class:`BlockedError` for a URL whose authority cannot be parsed (``http://[``).
    """
    try:
        host = urlsplit(url).hostname or ""
    except ValueError as exc:
        raise BlockedError(f"refused {url!r}: not a valid URL ({exc})", url=url) from exc
    return normalize_host(host)


def check_scheme(url: str) -> None:
    """Raise :class:`BlockedError` unless ``url`` is an http(s) URL with a host."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 (parsing the port is the check)
    except ValueError as exc:
        raise BlockedError(f"refused {url!r}: not a valid URL ({exc})", url=url) from exc
    if parts.scheme.lower() not in ("http", "https"):
        scheme = f"{parts.scheme}:" if parts.scheme else "a URL without a scheme"
        raise BlockedError(
            f"refused {url}: only http and https URLs can be fetched, not {scheme}", url=url
        )
    if not parts.hostname:
        raise BlockedError(f"refused {url}: the URL has no host", url=url)


class DomainBlock:
    """A list of domains refused together with their subdomains (``reddit.com`` blocks
    ``old.reddit.com``, not ``notreddit.com``)."""

    def __init__(self, domains: Iterable[str] = DEFAULT_BLOCK) -> None:
        normal = (normalize_host(d.strip().lstrip(".")) for d in domains if d.strip())
        self.domains = tuple(sorted({d for d in normal if d}))

    def blocked(self, url: str) -> str | None:
        """The block-list entry that matches ``url``'s host, or None.

        Hosts are compared in :func:`normalize_host` form, so ``reddit\u3002com``,
        ``REDDIT.com.`` and ``xn--`` spellings match ``reddit.com``. Raises
        :class:`BlockedError` for a URL whose host cannot be parsed.
        """
        host = url_host(url)
        return next((d for d in self.domains if host == d or host.endswith("." + d)), None)

    def check(self, url: str) -> None:
        """Raise :class:`BlockedError` if ``url`` is on a blocked domain."""
        if entry := self.blocked(url):
            raise BlockedError(f"refused {url}: {entry} is on the block list", url=url)

    def filter(self, results: Iterable[SearchResult]) -> list[SearchResult]:
        """``results`` without those on blocked domains, with non-http(s) URLs or with URLs
        that cannot be parsed (an engine can return ``http://[::1``)."""
        kept = []
        for r in results:
            try:
                check_scheme(r.url)
                if self.blocked(r.url):
                    continue
            except BlockedError as exc:
                log.debug("dropped a search result: %s", exc)
                continue
            kept.append(r)
        return kept


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
    server); ``allow_private`` turns the address check off for intranets, except for the
    cloud metadata service, which only ``allow_metadata`` opens."""

    def __init__(
        self,
        *,
        allow_private: bool = False,
        allow_metadata: bool = False,
        resolver: Resolver = system_resolver,
        inner: httpcore.NetworkBackend | None = None,
    ) -> None:
        self.allow_private = allow_private
        self.allow_metadata = allow_metadata
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
        if not self.allow_metadata and normalize_host(host) in METADATA_NAMES:
            raise BlockedError(f"{host} is the cloud metadata service; {_METADATA_HINT}")
        addresses = [host] if _is_ip(host) else self._lookup(host, port)
        refused: list[str] = []
        last_error: Exception | None = None
        for ip in addresses:
            problem = self._problem(ip)
            if problem:
                refused.append(f"{ip}, {problem}")
                continue
            try:
                return self._inner.connect_tcp(
                    ip,
                    port,
                    timeout=timeout,
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except httpcore.ConnectError as exc:  # try the host's next address
                last_error = exc
        if last_error is not None:
            raise last_error
        if refused:
            what = (
                f"{host} is {refused[0].split(', ', 1)[1]}"
                if _is_ip(host)
                else f"{host} resolves to {'; '.join(refused)}"
            )
            hint = _METADATA_HINT if "metadata service" in what else _ALLOW_HINT
            raise BlockedError(f"{what}; {hint}")
        raise httpcore.ConnectError(f"{host} has no addresses")

    def _lookup(self, host: str, port: int) -> list[str]:
        left = time_left()
        if left is None:
            return list(self._resolve(host, port))
        # getaddrinfo has no timeout of its own, so under a deadline it runs in a thread that
        # is not waited for past the time left (a hung resolver then costs a thread, not a run).
        outcome: list[list[str] | BaseException] = []

        def lookup() -> None:
            try:
                outcome.append(list(self._resolve(host, port)))
            except BaseException as exc:  # handed to the caller's thread as is
                outcome.append(exc)

        worker = threading.Thread(target=lookup, name="webqa-dns", daemon=True)
        worker.start()
        worker.join(max(0.0, left))
        if not outcome:
            raise httpcore.ConnectTimeout(f"looking up {host} did not finish in time")
        if isinstance(outcome[0], BaseException):
            raise outcome[0]
        return outcome[0]

    def _problem(self, ip: str) -> str | None:
        if not self.allow_metadata and (why := metadata_problem(ip)):
            return why
        return None if self.allow_private else address_problem(ip)

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
    allow_metadata: bool = False,
    resolver: Resolver = system_resolver,
    inner: httpcore.NetworkBackend | None = None,
    limits: httpx.Limits | None = None,
) -> httpx.BaseTransport:
    """An httpx transport whose every connection goes through :class:`GuardedBackend` and
    obeys the current :func:`~webqa.web.transport.deadline`.

    A proxy is deliberately not supported: through one, the guard would only see the proxy.
    """
    guarded = GuardedBackend(
        allow_private=allow_private, allow_metadata=allow_metadata, resolver=resolver, inner=inner
    )
    return PoolTransport(network_backend=DeadlineBackend(guarded), limits=limits)
