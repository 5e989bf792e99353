"""Search engines for the live web: DuckDuckGo (via ``ddgs``, no key), SearXNG, Brave.

Each returns :class:`SearchResult` objects with the block list applied, and fails with a
:class:`SearchError` that names the engine. Bing is absent on purpose: Microsoft retired the
Bing Search APIs on 11 August 2025 (they now answer 410 Gone).
"""

from __future__ import annotations

import html
import os
import re
import time
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

import httpx

from webqa.errors import ConfigError, SearchError
from webqa.protocols import SearchEngine
from webqa.records import SearchResult
from webqa.web.fetch import USER_AGENT
from webqa.web.guard import DEFAULT_BLOCK, DomainBlock
from webqa.web.retry import RETRY_STATUSES, RetryPolicy, Transient, parse_retry_after

__all__ = ["DuckDuckGo", "SearXNG", "Brave", "make_engine", "ENGINES", "BRAVE_URL"]

ENGINES = ("duckduckgo", "searxng", "brave")
BRAVE_URL = "https://api.search.brave.com"
_TAG = re.compile(r"<[^>]+>")


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

    def __init__(self, *, block: DomainBlock | None = None, backend: str = "auto", timeout: int = 10,
                 region: str = "us-en", ddgs_factory: Callable[..., Any] | None = None,
                 retry: RetryPolicy | None = None) -> None:
        self._block = block or DomainBlock()
        self._backend, self._timeout, self._region = backend, timeout, region
        self._factory = ddgs_factory
        self._retry = retry or RetryPolicy(attempts=2, backoff=2.0)

    def search(self, query: str, limit: int = 10) -> list[SearchResult]:
        """Up to ``limit`` results for ``query``."""
        return self._retry.call(lambda: self._search_once(query, limit))

    def _search_once(self, query: str, limit: int) -> list[SearchResult]:
        from ddgs.exceptions import DDGSException, RatelimitException, TimeoutException

        factory = self._factory
        if factory is None:
            from ddgs import DDGS as factory
        try:
            rows = factory(timeout=self._timeout).text(
                query, max_results=limit + 5, region=self._region, backend=self._backend
            )
        except RatelimitException as exc:
            raise Transient(SearchError(f"DuckDuckGo is rate-limiting searches ({exc}); wait a minute, "
                                        "or use --engine searxng or --engine brave")) from exc
        except TimeoutException as exc:
            raise SearchError(f"DuckDuckGo did not answer in time ({exc})") from exc
        except DDGSException as exc:
            if "no results" in str(exc).lower():  # ddgs reports an empty answer as an error
                return []
            if "ratelimit" in str(exc).lower() or "429" in str(exc):
                raise Transient(SearchError(f"DuckDuckGo is rate-limiting searches ({exc}); wait a minute, "
                                            "or use --engine searxng or --engine brave")) from exc
            raise SearchError(f"DuckDuckGo search failed ({exc})") from exc
        except Exception as exc:  # ddgs's scrapers can fail in any way; it is one boundary
            raise SearchError(f"DuckDuckGo search failed ({type(exc).__name__}: {exc})") from exc
        results = [SearchResult(_plain(r.get("title")), str(r.get("href") or r.get("url") or ""),
                                _plain(r.get("body"))) for r in rows or []]
        return self._block.filter(results)[:limit]


def _retry_after(resp: httpx.Response) -> float | None:
    """The wait a rate-limited API asks for: ``Retry-After``, else ``X-RateLimit-Reset`` (Brave
    sends "<per-second reset>, <per-month reset>"; the first is the one that matters now)."""
    after = parse_retry_after(resp.headers.get("retry-after"))
    if after is None:
        first = resp.headers.get("x-ratelimit-reset", "").split(",")[0]
        after = parse_retry_after(first)
    return after


class _HttpEngine:
    """Shared plumbing of JSON search APIs: one GET, retries on 429/5xx, errors naming the engine."""

    name = ""
    label = ""

    def __init__(self, base_url: str, *, client: httpx.Client | None, block: DomainBlock | None,
                 retry: RetryPolicy | None, timeout: float) -> None:
        self.base_url = base_url.rstrip("/")
        self.host = urlsplit(self.base_url).hostname or ""
        self._owns_client = client is None
        self._client = client or httpx.Client(headers={"User-Agent": USER_AGENT})
        self._block = block or DomainBlock()
        self._retry = retry or RetryPolicy(attempts=3, backoff=1.0, max_wait=20.0)
        self._timeout = timeout

    def close(self) -> None:
        """Close the HTTP client if this engine created it."""
        if self._owns_client:
            self._client.close()

    def _get_json(self, path: str, params: Mapping[str, Any], headers: Mapping[str, str] | None = None) -> Any:
        return self._retry.call(lambda: self._get_once(self.base_url + path, params, headers or {}))

    def _get_once(self, url: str, params: Mapping[str, Any], headers: Mapping[str, str]) -> Any:
        try:
            resp = self._client.get(url, params=params, headers=headers, timeout=self._timeout)
        except httpx.TimeoutException as exc:
            raise SearchError(f"{self.label} did not answer within {self._timeout:g} s ({self.base_url})",
                              url=url) from exc
        except httpx.TransportError as exc:
            raise Transient(SearchError(f"cannot reach {self.label} at {self.base_url} ({exc})", url=url)) from exc
        if resp.status_code >= 400:
            error = SearchError(self._status_message(resp), url=url)
            if resp.status_code in RETRY_STATUSES:
                raise Transient(error, _retry_after(resp))
            raise error
        try:
            return resp.json()
        except ValueError as exc:
            raise SearchError(f"{self.label} answered with something that is not JSON ({self.base_url})",
                              url=url) from exc

    def _status_message(self, resp: httpx.Response) -> str:
        status = resp.status_code
        message = f"{self.label} failed: HTTP {status} {resp.reason_phrase}".rstrip()
        if status == 429:
            after = _retry_after(resp)
            wait = f"; it asks to wait {after:g} s" if after is not None else ""
            message += f" (rate limited{wait})"
        return message + f" ({self.base_url})"


class SearXNG(_HttpEngine):
    """A SearXNG instance's JSON API (``/search?q=…&format=json``) at ``base_url``."""

    name = "searxng"
    label = "SearXNG"

    def __init__(self, base_url: str, *, client: httpx.Client | None = None, block: DomainBlock | None = None,
                 retry: RetryPolicy | None = None, timeout: float = 15.0) -> None:
        super().__init__(base_url, client=client, block=block, retry=retry, timeout=timeout)

    def search(self, query: str, limit: int = 10) -> list[SearchResult]:
        """Up to ``limit`` results for ``query``; an error if every engine of the instance failed."""
        data = self._get_json("/search", {"q": query, "format": "json", "pageno": 1})
        rows = (data.get("results") or []) if isinstance(data, dict) else []
        results = [SearchResult(_plain(r.get("title")), str(r.get("url") or ""), _plain(r.get("content")))
                   for r in rows if isinstance(r, dict)]
        if not results and isinstance(data, dict) and data.get("unresponsive_engines"):
            failed = ", ".join(f"{e[0]} ({e[1]})" if isinstance(e, list | tuple) and len(e) > 1 else str(e)
                               for e in data["unresponsive_engines"])
            raise SearchError(f"SearXNG returned no results because its engines failed: {failed} ({self.base_url})")
        return self._block.filter(results)[:limit]

    def _status_message(self, resp: httpx.Response) -> str:
        if resp.status_code == 403:
            return (f"SearXNG at {self.base_url} refused the JSON API (HTTP 403 Forbidden): the instance must "
                    "enable it in its settings.yml with search.formats: [html, json] (public instances "
                    "usually leave it off; run your own)")
        return super()._status_message(resp)


class Brave(_HttpEngine):
    """The Brave Search API (``/res/v1/web/search``), keyed by ``X-Subscription-Token``."""

    name = "brave"
    label = "Brave Search"

    def __init__(self, api_key: str, *, base_url: str = BRAVE_URL, client: httpx.Client | None = None,
                 block: DomainBlock | None = None, retry: RetryPolicy | None = None, timeout: float = 15.0) -> None:
        if not api_key:
            raise ConfigError("Brave Search needs an API key: set BRAVE_API_KEY "
                              "(get one at https://api-dashboard.search.brave.com)")
        super().__init__(base_url, client=client, block=block, retry=retry, timeout=timeout)
        self._key = api_key

    def search(self, query: str, limit: int = 10) -> list[SearchResult]:
        """Up to ``limit`` (at most 20, the API's maximum) results for ``query``."""
        headers = {"Accept": "application/json", "X-Subscription-Token": self._key}
        data = self._get_json("/res/v1/web/search", {"q": query, "count": min(20, limit + 5)}, headers)
        web = data.get("web") if isinstance(data, dict) else None
        rows = (web or {}).get("results") or []
        results = [SearchResult(_plain(r.get("title")), str(r.get("url") or ""), _plain(r.get("description")))
                   for r in rows if isinstance(r, dict)]
        return self._block.filter(results)[:limit]

    def _status_message(self, resp: httpx.Response) -> str:
        detail = ""
        try:
            error = resp.json().get("error") or {}
            detail = str(error.get("detail") or error.get("code") or "")
        except (ValueError, AttributeError):
            pass
        message = super()._status_message(resp)
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
        return DuckDuckGo(block=blocks, ddgs_factory=ddgs_factory,
                          retry=RetryPolicy(attempts=2, backoff=2.0, sleep=sleep))
    if chosen == "searxng":
        url = base_url or env.get("SEARXNG_URL")
        if not url:
            raise ConfigError("SearXNG needs the URL of an instance: pass --searxng-url or set SEARXNG_URL")
        return SearXNG(url, client=client, block=blocks, retry=retry)
    if chosen == "brave":
        return Brave(api_key or env.get("BRAVE_API_KEY", ""), base_url=base_url or BRAVE_URL, client=client,
                     block=blocks, retry=retry)
    if chosen == "bing":
        raise ConfigError("Bing's search API was retired on 11 August 2025 (it now answers 410 Gone); "
                          f"choose one of: {', '.join(ENGINES)}")
    raise ConfigError(f"unknown search engine {chosen!r}; choose one of: {', '.join(ENGINES)}")
