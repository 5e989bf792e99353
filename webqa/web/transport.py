"""An httpx transport built from public parts only, and a total deadline that holds.

httpx's own ``HTTPTransport`` takes no network backend, so the guard would have to replace
its private ``_pool``. :class:`PoolTransport` instead drives a public
``httpcore.ConnectionPool`` (which does take one) through httpx's public ``BaseTransport``.

httpx's timeouts are per operation: a server that sends one byte of its headers every second
never trips a 10 s read timeout. :func:`deadline` sets a total limit for everything the
current thread does inside the ``with`` block, and :class:`DeadlineBackend` enforces it at the
socket: every connect, read, write and TLS handshake is given at most the time left, and fails
with a timeout once none is left, whether the bytes are headers, a body or a TLS record.
"""

from __future__ import annotations

import contextlib
import contextvars
import ssl
import time
from collections.abc import Iterable, Iterator
from typing import Any

import httpcore
import httpx

__all__ = ["PoolTransport", "DeadlineBackend", "deadline", "time_left"]

_DEADLINE: contextvars.ContextVar[float | None] = contextvars.ContextVar(
    "webqa_deadline", default=None
)


@contextlib.contextmanager
def deadline(seconds: float) -> Iterator[None]:
    """Allow network I/O inside the block at most ``seconds`` in all (a nested one can only
    shorten it). Only connections made through :class:`DeadlineBackend` are bound by it."""
    at = time.monotonic() + max(0.0, seconds)
    outer = _DEADLINE.get()
    token = _DEADLINE.set(at if outer is None else min(at, outer))
    try:
        yield
    finally:
        _DEADLINE.reset(token)


def time_left() -> float | None:
    """Seconds left under the innermost :func:`deadline`, or None outside one."""
    at = _DEADLINE.get()
    return None if at is None else at - time.monotonic()


def _bound(timeout: float | None, fail: type[Exception]) -> float | None:
    left = time_left()
    if left is None:
        return timeout
    if left <= 0:
        raise fail("the total time allowed ran out")
    return left if timeout is None else min(timeout, left)


class DeadlineStream(httpcore.NetworkStream):
    """A network stream whose every operation is bounded by the current :func:`deadline`."""

    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        """Read at most ``max_bytes``, waiting no longer than the time left."""
        return self._inner.read(max_bytes, _bound(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        """Write ``buffer``, waiting no longer than the time left."""
        self._inner.write(buffer, _bound(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        """Close the inner stream."""
        self._inner.close()

    def start_tls(
        self,
        ssl_context: Any,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        """The TLS handshake, bounded like any read; the TLS stream stays bounded."""
        bounded = _bound(timeout, httpcore.ConnectTimeout)
        return DeadlineStream(self._inner.start_tls(ssl_context, server_hostname, bounded))

    def get_extra_info(self, info: str) -> Any:
        """Delegate to the inner stream."""
        return self._inner.get_extra_info(info)


class DeadlineBackend(httpcore.NetworkBackend):
    """A network backend whose connections obey the current :func:`deadline`."""

    def __init__(self, inner: httpcore.NetworkBackend | None = None) -> None:
        self._inner = inner or httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        """Connect through the inner backend within the time left."""
        stream = self._inner.connect_tcp(
            host,
            port,
            timeout=_bound(timeout, httpcore.ConnectTimeout),
            local_address=local_address,
            socket_options=socket_options,
        )
        return DeadlineStream(stream)

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.NetworkStream:
        """Connect through the inner backend within the time left."""
        bounded = _bound(timeout, httpcore.ConnectTimeout)
        return DeadlineStream(self._inner.connect_unix_socket(path, bounded, socket_options))

    def sleep(self, seconds: float) -> None:
        """Delegate to the inner backend."""
        self._inner.sleep(seconds)


#: httpcore's errors and httpx's public equivalents, most specific first.
_ERRORS: tuple[tuple[type[Exception], type[httpx.HTTPError]], ...] = (
    (httpcore.ConnectTimeout, httpx.ConnectTimeout),
    (httpcore.ReadTimeout, httpx.ReadTimeout),
    (httpcore.WriteTimeout, httpx.WriteTimeout),
    (httpcore.PoolTimeout, httpx.PoolTimeout),
    (httpcore.TimeoutException, httpx.TimeoutException),
    (httpcore.ConnectError, httpx.ConnectError),
    (httpcore.ReadError, httpx.ReadError),
    (httpcore.WriteError, httpx.WriteError),
    (httpcore.NetworkError, httpx.NetworkError),
    (httpcore.ProxyError, httpx.ProxyError),
    (httpcore.UnsupportedProtocol, httpx.UnsupportedProtocol),
    (httpcore.LocalProtocolError, httpx.LocalProtocolError),
    (httpcore.RemoteProtocolError, httpx.RemoteProtocolError),
    (httpcore.ProtocolError, httpx.ProtocolError),
)


_CORE_ERRORS = tuple(frm for frm, _ in _ERRORS)


@contextlib.contextmanager
def _as_httpx() -> Iterator[None]:
    try:
        yield
    except _CORE_ERRORS as exc:
        raise _mapped(exc) from exc


def _mapped(exc: Exception) -> httpx.HTTPError:
    target = next(to for frm, to in _ERRORS if isinstance(exc, frm))
    return target(str(exc))


class _Body(httpx.SyncByteStream):
    def __init__(self, stream: Iterable[bytes]) -> None:
        self._stream = stream

    def __iter__(self) -> Iterator[bytes]:
        with _as_httpx():
            yield from self._stream

    def close(self) -> None:
        close = getattr(self._stream, "close", None)
        if close is not None:
            close()


class PoolTransport(httpx.BaseTransport):
    """An httpx transport over an ``httpcore.ConnectionPool`` with the given network backend.

    ``proxy`` (an http(s) proxy URL) routes requests through ``httpcore.HTTPProxy`` instead,
    over the same backend. TLS uses httpx's default context (certifi's certificates) without
    reading ``SSL_CERT_FILE`` and kin, unless ``ssl_context`` is given.
    """

    def __init__(
        self,
        *,
        network_backend: httpcore.NetworkBackend | None = None,
        limits: httpx.Limits | None = None,
        proxy: str | None = None,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        limits = limits or httpx.Limits(max_connections=32, max_keepalive_connections=16)
        options: dict[str, Any] = dict(
            ssl_context=ssl_context or httpx.create_ssl_context(trust_env=False),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=network_backend,
        )
        self._pool: httpcore.ConnectionPool = (
            httpcore.HTTPProxy(proxy_url=proxy, **options)
            if proxy
            else httpcore.ConnectionPool(**options)
        )

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Send ``request`` through the pool; httpcore errors become httpx's."""
        if not isinstance(request.stream, httpx.SyncByteStream):
            raise TypeError("PoolTransport sends synchronous requests only")
        core = httpcore.Request(
            method=request.method,
            url=httpcore.URL(
                scheme=request.url.raw_scheme,
                host=request.url.raw_host,
                port=request.url.port,
                target=request.url.raw_path,
            ),
            headers=request.headers.raw,
            content=request.stream,
            extensions=request.extensions,
        )
        with _as_httpx():
            resp = self._pool.handle_request(core)
        if not isinstance(resp.stream, Iterable):
            raise TypeError("the connection pool returned an asynchronous body")
        return httpx.Response(
            status_code=resp.status,
            headers=resp.headers,
            stream=_Body(resp.stream),
            extensions=resp.extensions,
        )

    def close(self) -> None:
        """Close every pooled connection."""
        self._pool.close()
