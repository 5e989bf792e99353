"""The live web as a :class:`~webqa.protocols.DocumentSource`: one httpx client, guarded and capped.

Every failure leaves this module as a :class:`~webqa.errors.FetchError` subclass whose message
says what happened in plain words ("HTTP 404 Not Found for https://…"); httpx, zlib and
brotli errors are wrapped in :meth:`HttpSource._errors` and nowhere else.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http import HTTPStatus
from urllib.parse import urlsplit

import brotli
import httpcore
import httpx
import idna

from webqa import __version__
from webqa.errors import (
    BlockedError,
    FetchError,
    FetchTimeout,
    HTTPStatusError,
    TooLargeError,
    UnsupportedContent,
)
from webqa.records import Document
from webqa.retry import (
    RETRY_STATUSES,
    Deadline,
    RetryEvent,
    RetryPolicy,
    Transient,
    parse_retry_after,
)
from webqa.urls import join, strip_fragment
from webqa.web.body import decoder_chain, raw_chunks, read_capped
from webqa.web.cache import FetchCache
from webqa.web.content import cut_note, kind_of, parse_content_type, to_document
from webqa.web.guard import (
    DEFAULT_BLOCK,
    DomainBlock,
    Resolver,
    check_scheme,
    guarded_transport,
    system_resolver,
)
from webqa.web.transport import deadline as io_deadline
from webqa.web.transport import time_left

__all__ = ["FetchConfig", "HttpSource", "make_client", "check_url", "USER_AGENT"]

log = logging.getLogger("webqa.web")


#: Names webqa truthfully: sites can tell an automated reader from a person's browser.
USER_AGENT = f"webqa/{__version__} (browser-assisted question answering)"
_ACCEPT = (
    "text/html,application/xhtml+xml,text/plain;q=0.9,application/pdf;q=0.9,"
    "application/json;q=0.8,*/*;q=0.5"
)
_REDIRECTS = frozenset({301, 302, 303, 307, 308})


@dataclass(frozen=True)
class FetchConfig:
    """Limits and manners of :class:`HttpSource` (sizes in bytes, times in seconds)."""

    connect_timeout: float = 5.0
    read_timeout: float = 10.0  # longest wait for any single piece of the answer
    total_timeout: float = 30.0  # the whole fetch: redirects, retries, body
    max_bytes: int = 5_000_000  # bytes received for a text page; past it the page is cut
    max_decoded_bytes: int = 10_000_000  # bytes after gzip/deflate/br; past it the page is cut
    max_pdf_bytes: int = 20_000_000  # a PDF cannot be cut, so a larger one is an error
    max_pdf_pages: int = 50
    max_redirects: int = 10
    retries: int = 2  # further tries after the first, for transient failures only
    backoff: float = 0.5  # first wait between tries; doubles each time
    max_retry_wait: float = 10.0  # cap on any wait; a longer Retry-After fails at once
    allow_private: bool = False  # True lets fetches reach loopback and private networks
    allow_metadata: bool = False  # True lets fetches reach the cloud metadata service too
    blocked_domains: tuple[str, ...] = DEFAULT_BLOCK
    user_agent: str = USER_AGENT
    cache_size: int = 128  # documents kept in memory per fetcher


def make_client(
    config: FetchConfig | None = None,
    *,
    resolver: Resolver = system_resolver,
    network_backend: httpcore.NetworkBackend | None = None,
) -> httpx.Client:
    """An httpx client whose connections pass the address guard of ``config``.

    ``resolver`` and ``network_backend`` replace DNS and the socket layer (tests use them).
    Environment proxies are ignored: through a proxy the guard would only see the proxy.
    """
    config = config or FetchConfig()
    transport = guarded_transport(
        allow_private=config.allow_private,
        allow_metadata=config.allow_metadata,
        resolver=resolver,
        inner=network_backend,
    )
    return httpx.Client(
        transport=transport,
        headers={"User-Agent": config.user_agent},
        follow_redirects=False,  # redirects are followed by hand so every hop is checked
        trust_env=False,
    )


def check_url(url: str, block: DomainBlock | None = None) -> httpx.URL:
    """``url`` parsed as httpx will send it.

    Raises :class:`BlockedError` for a non-http(s) URL or one on ``block``, and
    :class:`FetchError` for one that cannot be sent (bad IDNA label, NUL byte, lone
    surrogate, bad port), instead of the parser's own exceptions.
    """
    shown = url.encode("utf-8", "backslashreplace").decode("utf-8")  # no lone surrogates
    try:
        if shown != url:
            url.encode("utf-8")  # raises: a lone surrogate cannot be sent (or logged)
        check_scheme(url)
        if block is not None:
            block.check(url)
        parsed = httpx.URL(url)
        parsed.host  # noqa: B018 (decoding the IDNA host is part of the check)
    except (httpx.InvalidURL, idna.IDNAError, UnicodeError, ValueError) as exc:
        raise FetchError(
            f"{shown!r} cannot be fetched: not a valid URL ({exc})", url=shown
        ) from exc
    return parsed


def log_retry(event: RetryEvent) -> None:
    """Say on ``webqa.web`` that a request failed and will be tried again, and when."""
    log.info(
        "%s; retrying in %g s (try %d of %d)",
        event.transient.reason,
        event.wait,
        event.tries + 1,
        event.max_tries,
    )


class HttpSource:
    """Fetches http(s) URLs into :class:`Document` objects (a ``DocumentSource``).

    ``client`` is the one httpx client used; without one, :func:`make_client` builds a guarded
    one (an injected client keeps its own transport, so the address guard, and the deadline
    on every socket read, are then its business; the total time is still checked between
    body chunks). ``cache_dir`` adds an on-disk cache; ``sleep`` and ``clock`` make waits
    testable.
    """

    def __init__(
        self,
        config: FetchConfig | None = None,
        *,
        client: httpx.Client | None = None,
        resolver: Resolver = system_resolver,
        network_backend: httpcore.NetworkBackend | None = None,
        cache_dir: str | os.PathLike[str] | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = config = config or FetchConfig()
        self._owns_client = client is None
        self._client = client or make_client(
            config, resolver=resolver, network_backend=network_backend
        )
        self._block = DomainBlock(config.blocked_domains)
        self._retry = RetryPolicy(config.retries + 1, config.backoff, config.max_retry_wait, sleep)
        self._cache = FetchCache(max_entries=config.cache_size, directory=cache_dir)
        self._clock = clock

    def fetch(self, url: str) -> Document:
        """The document at ``url`` (after redirects), from the cache when already fetched."""
        url = strip_fragment(url.strip())
        check_url(url, self._block)
        cached = self._cache.get(url)
        if cached is not None:
            return cached
        deadline = self._clock() + self.config.total_timeout
        # The deadline also binds the sockets, so no trickle of bytes (headers included)
        # stretches a fetch past it; the clock check covers an injected client.
        with io_deadline(self.config.total_timeout):
            doc = self._retry.call(
                lambda: self._fetch_once(url, deadline),
                deadline=Deadline(self.config.total_timeout, self._clock),
                on_retry=log_retry,
            )
        self._cache.put(url, doc)
        if doc.url != url:
            self._cache.put(doc.url, doc)
        return doc

    def close(self) -> None:
        """Close the client if this source created it."""
        if self._owns_client:
            self._client.close()

    def __enter__(self) -> HttpSource:
        """Use as a context manager that closes the source."""
        return self

    def __exit__(self, *exc_info: object) -> None:
        """Close the source."""
        self.close()

    # -- one try: follow redirects by hand, then read the body ------------------------------

    def _fetch_once(self, url: str, deadline: float) -> Document:
        hops = [url]
        while True:
            current = hops[-1]
            with self._errors(current, deadline) as read_timeout:
                timeout = httpx.Timeout(
                    connect=min(self.config.connect_timeout, read_timeout),
                    read=read_timeout,
                    write=read_timeout,
                    pool=read_timeout,
                )
                headers = {
                    "User-Agent": self.config.user_agent,
                    "Accept": _ACCEPT,
                    "Accept-Encoding": "gzip, deflate, br",
                }
                with self._client.stream("GET", current, headers=headers, timeout=timeout) as resp:
                    if resp.status_code not in _REDIRECTS:
                        return self._read(resp, current, deadline)
                    target = self._redirect_target(resp, current)
            if len(hops) > self.config.max_redirects:
                loop = " (a redirect loop)" if len(set(hops)) < len(hops) else ""
                raise FetchError(
                    f"too many redirects{loop}: more than {self.config.max_redirects} "
                    f"starting at {url}",
                    url=url,
                )
            check_url(target, self._block)  # the guard checks the address when connecting
            cached = self._cache.get(target)
            if cached is not None:
                return cached
            hops.append(target)

    def _redirect_target(self, resp: httpx.Response, url: str) -> str:
        location = resp.headers.get("location", "").strip()
        if not location:
            raise HTTPStatusError(
                f"HTTP {resp.status_code} redirect without a Location header for {url}",
                url=url,
                status=resp.status_code,
            )
        return strip_fragment(join(url, location))

    def _read(self, resp: httpx.Response, url: str, deadline: float) -> Document:
        if resp.status_code >= 300 or resp.status_code < 200:
            self._raise_status(resp, url)
        mime, charset = parse_content_type(resp.headers.get("content-type"))
        try:
            kind = kind_of(mime)
        except UnsupportedContent as exc:
            raise UnsupportedContent(f"{url}: {exc}", url=url) from exc
        cfg = self.config
        # A PDF cannot be cut, so it (and a body of unknown type, which may be one) gets the
        # PDF limits; a text page is cut at the text limits.
        text_caps = kind not in (None, "pdf")
        max_raw = cfg.max_bytes if text_caps else cfg.max_pdf_bytes
        max_decoded = cfg.max_decoded_bytes if text_caps else cfg.max_pdf_bytes
        length = resp.headers.get("content-length", "")
        if kind == "pdf" and length.isdigit() and int(length) > max_raw:
            raise self._too_large_pdf(url)
        chunks, encoding = raw_chunks(resp)
        body = read_capped(
            chunks,
            decoder_chain(encoding),
            max_raw=max_raw,
            max_decoded=max_decoded,
            tick=lambda: self._tick(url, deadline),
        )
        data, cut_at = body.data, body.cut_at
        if kind is None:
            kind = kind_of(mime, data[:512] or b" ") or "text"
            if kind != "pdf" and len(data) > cfg.max_bytes:
                data, cut_at = data[: cfg.max_bytes], cfg.max_bytes
        if kind == "pdf" and cut_at:
            raise self._too_large_pdf(url)
        notes = (cut_note(cut_at),) if cut_at else ()
        return to_document(
            url, kind, data, charset=charset, max_pdf_pages=cfg.max_pdf_pages, notes=notes
        )

    def _too_large_pdf(self, url: str) -> TooLargeError:
        limit = self.config.max_pdf_bytes / 1_000_000
        return TooLargeError(
            f"the PDF at {url} is larger than {limit:g} MB, the limit for PDFs; not read", url=url
        )

    def _raise_status(self, resp: httpx.Response, url: str) -> None:
        status = resp.status_code
        try:
            phrase = resp.reason_phrase or HTTPStatus(status).phrase
        except ValueError:
            phrase = ""
        message = f"HTTP {status} {phrase}".rstrip() + f" for {url}"
        retry_after = parse_retry_after(resp.headers.get("retry-after"))
        if status in (401, 403):
            message += " (the site refused the request; many sites turn away automated clients)"
        elif status == 429:
            wait = f"; it asks to wait {retry_after:g} s" if retry_after is not None else ""
            message += f" (the site is limiting how often it may be asked{wait})"
        error = HTTPStatusError(message, url=url, status=status)
        if status in RETRY_STATUSES:
            raise Transient(error, retry_after)
        raise error

    def _tick(self, url: str, deadline: float) -> None:
        if self._clock() >= deadline:
            raise self._total_timeout(url)

    def _total_timeout(self, url: str) -> FetchTimeout:
        return FetchTimeout(
            f"timed out after {self.config.total_timeout:g} s fetching {url} "
            "(the total time allowed for one page)",
            url=url,
        )

    @contextlib.contextmanager
    def _errors(self, url: str, deadline: float) -> Iterator[float]:
        """Translate foreign errors into webqa's; yields the read timeout left for this hop."""
        remaining = deadline - self._clock()
        if remaining <= 0:
            raise self._total_timeout(url)
        read_timeout = min(self.config.read_timeout, remaining)
        host = urlsplit(url).hostname or url
        try:
            yield read_timeout
        except httpx.TimeoutException as exc:
            left = time_left()
            if (left is not None and left <= 0.05) or self._clock() >= deadline:
                raise self._total_timeout(url) from exc  # the total limit is what ran out
            if isinstance(exc, httpx.ConnectTimeout):
                limit = min(self.config.connect_timeout, read_timeout)
                raise FetchTimeout(
                    f"timed out after {limit:.3g} s connecting to {host} for {url}", url=url
                ) from exc
            if read_timeout < self.config.read_timeout:
                raise self._total_timeout(url) from exc
            raise FetchTimeout(
                f"timed out after {read_timeout:g} s reading {url}", url=url
            ) from exc
        except httpx.ConnectError as exc:
            raise Transient(
                FetchError(f"could not connect to {host} for {url} ({exc})", url=url)
            ) from exc
        except (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError) as exc:
            raise Transient(
                FetchError(
                    f"the connection to {host} was closed or reset before the page "
                    f"was complete ({url})",
                    url=url,
                )
            ) from exc
        except (httpx.UnsupportedProtocol, httpx.InvalidURL) as exc:
            raise FetchError(f"{url} cannot be fetched ({exc})", url=url) from exc
        except httpx.HTTPError as exc:
            raise FetchError(
                f"fetching {url} failed ({type(exc).__name__}: {exc})", url=url
            ) from exc
        except (idna.IDNAError, UnicodeError, ValueError) as exc:
            # httpx parses a redirect's Location even when not following it.
            raise FetchError(
                f"fetching {url} failed: the answer holds a URL that cannot be parsed "
                f"({type(exc).__name__}: {exc})",
                url=url,
            ) from exc
        except (zlib.error, brotli.error) as exc:
            raise FetchError(
                f"the body of {url} could not be decompressed ({exc})", url=url
            ) from exc
        except BlockedError as exc:
            if exc.url:
                raise
            raise BlockedError(f"refused {url}: {exc}", url=url) from exc
        except FetchError as exc:
            if exc.url or isinstance(exc, HTTPStatusError):
                raise
            raise type(exc)(f"{exc} ({url})", url=url) from exc
