"""Search engines for the live web: DuckDuckGo (via ``ddgs``, no key), SearXNG, Brave.

Each returns :class:`SearchResult` objects with the block list applied, and fails with a
:class:`SearchError` that names the engine. Bing is absent on purpose: Microsoft retired the
Bing Search APIs on 11 August 2025 (they now answer 410 Gone).
"""

from __future__ import annotations

import html
import json
import logging
import math
import os
import re
import time
import urllib.request
import zlib
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

import brotli
import httpx

from webqa.errors import ConfigError, FetchError, SearchError
from webqa.protocols import SearchEngine
from webqa.records import SearchResult
from webqa.retry import (
    RETRY_STATUSES,
    Deadline,
    Overdue,
    RetryPolicy,
    Transient,
    call_within,
    parse_retry_after,
)
from webqa.web.body import decoder_chain, raw_chunks, read_capped
from webqa.web.fetch import USER_AGENT, log_retry
from webqa.web.guard import DEFAULT_BLOCK, DomainBlock
from webqa.web.transport import DeadlineBackend, PoolTransport, deadline, time_left

__all__ = ["DuckDuckGo", "SearXNG", "Brave", "make_engine", "ENGINES", "BRAVE_URL"]

ENGINES = ("duckduckgo", "searxng", "brave")
BRAVE_URL = "https://api.search.brave.com"
_TAG = re.compile(r"<[^>]+>")
#: Caps on one search API answer (real ones are well under 1 MB), as received and decoded.
MAX_RESPONSE_BYTES = 5_000_000
MAX_DECODED_RESPONSE_BYTES = 10_000_000

log = logging.getLogger("webqa.web")


def _plain(text: Any) -> str:
    """Snippet text without the markup engines put in (``<strong>``, entities)."""
    return html.unescape(_TAG.sub("", str(text or ""))).strip()


class DuckDuckGo:
    """DuckDuckGo through the ``ddgs`` metasearch library (no API key).

    ``ddgs_factory`` builds the ``DDGS`` object (tests pass a fake); ``backend`` is ddgs's
    backend list ("auto" lets it spread queries over several engines, which softens the rate
    limits DuckDuckGo alone imposes).
    """

    name = "duckduckgo"
    host = "duckduckgo.com"

    def __init__(
        self,
        *,
        block: DomainBlock | None = None,
        backend: str = "auto",
        timeout: float = 10.0,
        region: str = "us-en",
        ddgs_factory: Callable[..., Any] | None = None,
        retry: RetryPolicy | None = None,
    ) -> None:
        self._block = block or DomainBlock()
        self._backend, self._timeout, self._region = backend, timeout, region
        self._factory = ddgs_factory
        self._retry = retry or RetryPolicy(attempts=2, backoff=2.0)

    def search(self, query: str, limit: int = 10) -> list[SearchResult]:
        """Up to ``limit`` results for ``query``; each try ends by ``timeout`` seconds, a
        total (ddgs's own timeout bounds each request, and "auto" may make several)."""
        return self._retry.call(lambda: self._search_once(query, limit), on_retry=log_retry)

    def _search_once(self, query: str, limit: int) -> list[SearchResult]:
        from ddgs.exceptions import DDGSException, RatelimitException, TimeoutException

        factory: Callable[..., Any] | None = self._factory
        if factory is None:
            from ddgs import DDGS

            factory = DDGS
        try:
            rows = call_within(
                Deadline(self._timeout),
                lambda left: factory(timeout=max(1, math.ceil(left))).text(
                    query, max_results=limit + 5, region=self._region, backend=self._backend
                ),
                "webqa-ddgs-search",
            )
        except Overdue:
            raise SearchError(
                f"DuckDuckGo did not answer within {self._timeout:g} s, the total time "
                "allowed for one search"
            ) from None
        except RatelimitException as exc:
            raise Transient(
                SearchError(
                    f"DuckDuckGo is rate-limiting searches ({exc}); wait a minute, "
                    "or use --engine searxng or --engine brave"
                )
            ) from exc
        except TimeoutException as exc:
            raise SearchError(f"DuckDuckGo did not answer in time ({exc})") from exc
        except DDGSException as exc:
            if "no results" in str(exc).lower():  # ddgs reports an empty answer as an error
                return []
            if "ratelimit" in str(exc).lower() or "429" in str(exc):
                raise Transient(
                    SearchError(
                        f"DuckDuckGo is rate-limiting searches ({exc}); wait a minute, "
                        "or use --engine searxng or --engine brave"
                    )
                ) from exc
            raise SearchError(f"DuckDuckGo search failed ({exc})") from exc
        except Exception as exc:  # ddgs's scrapers can fail in any way; it is one boundary
            raise SearchError(f"DuckDuckGo search failed ({type(exc).__name__}: {exc})") from exc
        results = [
            SearchResult(
                _plain(r.get("title")),
                str(r.get("href") or r.get("url") or ""),
                _plain(r.get("body")),
            )
            for r in rows or []
        ]
        return self._block.filter(results)[:limit]


def _retry_after(resp: httpx.Response) -> float | None:
    """The wait a rate-limited API asks for: ``Retry-After``, else ``X-RateLimit-Reset`` (Brave
    sends "<per-second reset>, <per-month reset>"; the first is the one that matters now)."""
    after = parse_retry_after(resp.headers.get("retry-after"))
    if after is None:
        first = resp.headers.get("x-ratelimit-reset", "").split(",")[0]
        after = parse_retry_after(first)
    return after


def default_client(base_url: str) -> httpx.Client:
    """The client a JSON search engine builds for itself: every socket operation obeys the
    search's total deadline, and the environment's proxy for ``base_url`` is honoured."""
    parts = urlsplit(base_url)
    proxy = urllib.request.getproxies().get(parts.scheme)
    if proxy and urllib.request.proxy_bypass(parts.hostname or ""):
        proxy = None
    transport = PoolTransport(
        network_backend=DeadlineBackend(),
        proxy=proxy,
        ssl_context=httpx.create_ssl_context(trust_env=True),  # as httpx.Client() would
    )
    return httpx.Client(transport=transport, headers={"User-Agent": USER_AGENT}, trust_env=False)


class _HttpEngine:
    """Shared plumbing of JSON search APIs: one GET, retries on 429/5xx, errors naming the engine.

    ``timeout`` is the total time for one search, retries included; with the engine's own
    client it binds every socket read, so an API that trickles its headers cannot hold a
    search longer (an injected client is bound between body chunks and by its own timeouts).
    Answers are read with the fetcher's caps (``max_bytes`` received, ``max_decoded_bytes``
    after decompression), so a huge or compressed-bomb answer costs at most that memory.
    """

    name = ""
    label = ""

    def __init__(
        self,
        base_url: str,
        *,
        client: httpx.Client | None,
        block: DomainBlock | None,
        retry: RetryPolicy | None,
        timeout: float,
        max_bytes: int = MAX_RESPONSE_BYTES,
        max_decoded_bytes: int = MAX_DECODED_RESPONSE_BYTES,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.host = urlsplit(self.base_url).hostname or ""
        self._owns_client = client is None
        self._client = client or default_client(self.base_url)
        self._block = block or DomainBlock()
        self._retry = retry or RetryPolicy(attempts=3, backoff=1.0, max_wait=20.0)
        self._timeout = timeout
        self._max_bytes, self._max_decoded = max_bytes, max_decoded_bytes

    def close(self) -> None:
        """Close the HTTP client if this engine created it."""
        if self._owns_client:
            self._client.close()

    def __enter__(self) -> _HttpEngine:
        """Use as a context manager that closes the engine."""
        return self

    def __exit__(self, *exc_info: object) -> None:
        """Close the engine."""
        self.close()

    def _get_json(
        self, path: str, params: Mapping[str, Any], headers: Mapping[str, str] | None = None
    ) -> Any:
        url = self.base_url + path
        with deadline(self._timeout):
            return self._retry.call(
                lambda: self._get_once(url, params, headers or {}),
                deadline=Deadline(self._timeout),
                on_retry=log_retry,
            )

    def _timed_out(self, url: str) -> SearchError:
        return SearchError(
            f"{self.label} did not answer within {self._timeout:g} s, the total time "
            f"allowed for one search ({self.base_url})",
            url=url,
        )

    def _check_left(self, url: str) -> None:
        self._left(url)

    def _left(self, url: str) -> float:
        left = time_left()
        if left is None:
            return self._timeout
        if left <= 0:
            raise self._timed_out(url)
        return left

    def _get_once(self, url: str, params: Mapping[str, Any], headers: Mapping[str, str]) -> Any:
        timeout = self._left(url)
        try:
            with self._client.stream(
                "GET", url, params=params, headers=headers, timeout=timeout
            ) as resp:
                if resp.status_code >= 400:
                    # An error page is only read for its message: 64 KB is plenty.
                    detail = self._read_body(resp, url, limit=65_536)
                    error = SearchError(self._status_message(resp, detail), url=url)
                    if resp.status_code in RETRY_STATUSES:
                        raise Transient(error, _retry_after(resp))
                    raise error
                body = self._read_body(resp, url)
        except httpx.TimeoutException as exc:
            raise self._timed_out(url) from exc
        except httpx.TransportError as exc:
            if (time_left() or 1.0) <= 0:
                raise self._timed_out(url) from exc
            raise Transient(
                SearchError(f"cannot reach {self.label} at {self.base_url} ({exc})", url=url)
            ) from exc
        except UnicodeEncodeError as exc:  # a lone surrogate in the query
            raise SearchError(
                f"{self.label}: the query cannot be sent: it holds a character that is not "
                f"valid Unicode ({exc.reason})",
                url=url,
            ) from exc
        except (httpx.HTTPError, zlib.error, brotli.error) as exc:
            raise SearchError(
                f"{self.label} sent an answer that cannot be read "
                f"({type(exc).__name__}: {exc}) ({self.base_url})",
                url=url,
            ) from exc
        except FetchError as exc:
            if isinstance(exc, SearchError):
                raise
            raise SearchError(f"{self.label}: {exc} ({self.base_url})", url=url) from exc
        return self._parse_json(body, url)

    def _read_body(self, resp: httpx.Response, url: str, limit: int | None = None) -> bytes:
        """The decoded body within the caps; ``limit`` reads at most that much, cut silently."""
        chunks, encoding = raw_chunks(resp)
        body = read_capped(
            chunks,
            decoder_chain(encoding),
            max_raw=limit or self._max_bytes,
            max_decoded=limit or self._max_decoded,
            tick=lambda: self._check_left(url),
        )
        if body.cut_at is not None and limit is None:
            which = "as received" if body.cut_at == self._max_bytes else "once decompressed"
            raise SearchError(
                f"{self.label}'s answer is larger than {body.cut_at / 1_000_000:g} MB "
                f"{which}, the limit for a search response; not read "
                f"({self.base_url})",
                url=url,
            )
        return body.data

    def _parse_json(self, body: bytes, url: str) -> Any:
        try:
            return json.loads(body)
        except (ValueError, UnicodeDecodeError) as exc:
            raise SearchError(
                f"{self.label} answered with something that is not JSON ({self.base_url})", url=url
            ) from exc
        except RecursionError as exc:
            raise SearchError(
                f"{self.label} answered with JSON nested too deeply to read ({self.base_url})",
                url=url,
            ) from exc

    def _status_message(self, resp: httpx.Response, body: bytes = b"") -> str:
        status = resp.status_code
        message = f"{self.label} failed: HTTP {status} {resp.reason_phrase}".rstrip()
        if status == 429:
            after = _retry_after(resp)
            wait = f"; it asks to wait {after:g} s" if after is not None else ""
            message += f" (rate limited{wait})"
        return message + f" ({self.base_url})"


class SearXNG(_HttpEngine):
    """A SearXNG instance's JSON API (``/search?q=…&format=json``) at ``base_url``.

    ``timeout`` is the total for one search; ``max_bytes`` and ``max_decoded_bytes`` cap its
    answer (see :class:`_HttpEngine`).
    """

    name = "searxng"
    label = "SearXNG"

    def __init__(
        self,
        base_url: str,
        *,
        client: httpx.Client | None = None,
        block: DomainBlock | None = None,
        retry: RetryPolicy | None = None,
        timeout: float = 15.0,
        max_bytes: int = MAX_RESPONSE_BYTES,
        max_decoded_bytes: int = MAX_DECODED_RESPONSE_BYTES,
    ) -> None:
        super().__init__(
            base_url,
            client=client,
            block=block,
            retry=retry,
            timeout=timeout,
            max_bytes=max_bytes,
            max_decoded_bytes=max_decoded_bytes,
        )

    def search(self, query: str, limit: int = 10) -> list[SearchResult]:
        """Up to ``limit`` results for ``query``; an error if every engine of the instance failed
        (each failing engine named)."""
        data = self._get_json("/search", {"q": query, "format": "json", "pageno": 1})
        rows = (data.get("results") or []) if isinstance(data, dict) else []
        results = [
            SearchResult(_plain(r.get("title")), str(r.get("url") or ""), _plain(r.get("content")))
            for r in rows
            if isinstance(r, dict)
        ]
        if not results and isinstance(data, dict) and data.get("unresponsive_engines"):
            failed = ", ".join(
                f"{e[0]} ({e[1]})" if isinstance(e, list | tuple) and len(e) > 1 else str(e)
                for e in data["unresponsive_engines"]
            )
            raise SearchError(
                "SearXNG returned no results because its engines failed: "
                f"{failed} ({self.base_url})"
            )
        return self._block.filter(results)[:limit]

    def _status_message(self, resp: httpx.Response, body: bytes = b"") -> str:
        if resp.status_code == 403:
            return (
                f"SearXNG at {self.base_url} refused the JSON API (HTTP 403 Forbidden): "
                "the instance must "
                "enable it in its settings.yml with search.formats: [html, json] (public instances "
                "usually leave it off; run your own)"
            )
        return super()._status_message(resp, body)


class Brave(_HttpEngine):
    """The Brave Search API (``/res/v1/web/search``), keyed by ``X-Subscription-Token``.

    ``timeout`` is the total for one search; ``max_bytes`` and ``max_decoded_bytes`` cap its
    answer (see :class:`_HttpEngine`).
    """

    name = "brave"
    label = "Brave Search"

    def __init__(
        self,
        api_key: str,
        *,
        base_url: str = BRAVE_URL,
        client: httpx.Client | None = None,
        block: DomainBlock | None = None,
        retry: RetryPolicy | None = None,
        timeout: float = 15.0,
        max_bytes: int = MAX_RESPONSE_BYTES,
        max_decoded_bytes: int = MAX_DECODED_RESPONSE_BYTES,
    ) -> None:
        if not api_key:
            raise ConfigError(
                "Brave Search needs an API key: set BRAVE_API_KEY "
                "(get one at https://api-dashboard.search.brave.com)"
            )
        super().__init__(
            base_url,
            client=client,
            block=block,
            retry=retry,
            timeout=timeout,
            max_bytes=max_bytes,
            max_decoded_bytes=max_decoded_bytes,
        )
        self._key = api_key

    def search(self, query: str, limit: int = 10) -> list[SearchResult]:
        """Up to ``limit`` (at most 20, the API's maximum) results for ``query``."""
        headers = {"Accept": "application/json", "X-Subscription-Token": self._key}
        data = self._get_json(
            "/res/v1/web/search", {"q": query, "count": min(20, limit + 5)}, headers
        )
        web = data.get("web") if isinstance(data, dict) else None
        rows = (web or {}).get("results") or []
        results = [
            SearchResult(
                _plain(r.get("title")), str(r.get("url") or ""), _plain(r.get("description"))
            )
            for r in rows
            if isinstance(r, dict)
        ]
        return self._block.filter(results)[:limit]

    def _status_message(self, resp: httpx.Response, body: bytes = b"") -> str:
        detail = ""
        try:
            error = json.loads(body).get("error") or {}
            detail = str(error.get("detail") or error.get("code") or "")
        except (ValueError, AttributeError, RecursionError):
            pass
        message = super()._status_message(resp, body)
        if resp.status_code in (401, 403, 422) and not detail:
            detail = "the API key was refused; check BRAVE_API_KEY"
        return f"{message}: {detail}" if detail else message


def make_engine(
    name: str | None = None,
    *,
    client: httpx.Client | None = None,
    base_url: str | None = None,
    api_key: str | None = None,
    block: DomainBlock | tuple[str, ...] | list[str] = DEFAULT_BLOCK,
    env: Mapping[str, str] | None = None,
    ddgs_factory: Callable[..., Any] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> SearchEngine:
    """The engine called ``name`` (else ``$WEBQA_ENGINE``, else "duckduckgo").

    SearXNG takes its URL from ``base_url`` or ``$SEARXNG_URL``; Brave its key from ``api_key``
    or ``$BRAVE_API_KEY``. Raises :class:`ConfigError` for an unknown name or missing setting.
    """
    env = os.environ if env is None else env
    chosen = (name or env.get("WEBQA_ENGINE") or "duckduckgo").strip().lower()
    blocks = block if isinstance(block, DomainBlock) else DomainBlock(block)
    retry = RetryPolicy(attempts=3, backoff=1.0, max_wait=20.0, sleep=sleep)
    if chosen in ("duckduckgo", "ddg", "ddgs"):
        return DuckDuckGo(
            block=blocks,
            ddgs_factory=ddgs_factory,
            retry=RetryPolicy(attempts=2, backoff=2.0, sleep=sleep),
        )
    if chosen == "searxng":
        url = base_url or env.get("SEARXNG_URL")
        if not url:
            raise ConfigError(
                "SearXNG needs the URL of an instance: pass --searxng-url or set SEARXNG_URL"
            )
        return SearXNG(url, client=client, block=blocks, retry=retry)
    if chosen == "brave":
        return Brave(
            api_key or env.get("BRAVE_API_KEY", ""),
            base_url=base_url or BRAVE_URL,
            client=client,
            block=blocks,
            retry=retry,
        )
    if chosen == "bing":
        raise ConfigError(
            "Bing's search API was retired on 11 August 2025 (it now answers 410 Gone); "
            f"choose one of: {', '.join(ENGINES)}"
        )
    raise ConfigError(f"unknown search engine {chosen!r}; choose one of: {', '.join(ENGINES)}")
