"""Page loaders: what the browser reads pages from.

:class:`WebLoader` joins a search engine, a document source and the renderer: it fetches a
document and renders it into a :class:`~webqa.records.Page`, or runs a search and renders the
results as a page of numbered links. A :class:`RenderCache` shared between runs over an
unchanging corpus renders each page once. :class:`SnapshotLoader` serves the pages recorded
in a trace instead, for offline replay.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterable

from . import prompts
from .errors import FetchError
from .lru import LRU
from .protocols import DocumentSource, SearchEngine
from .records import Link, Page, SearchResult
from .render import render_document
from .render.layout import clean_text, marker
from .urls import CORPUS_SCHEMES, domain, strip_fragment

__all__ = [
    "WebLoader",
    "RenderCache",
    "SnapshotLoader",
    "results_page",
    "search_key",
    "parse_search_key",
]


def parse_search_key(key: str) -> tuple[str, int] | None:
    """``(query, offset)`` of a results page's key, or None for another page."""
    if not key.startswith("search:"):
        return None
    query, at, offset = key[len("search:") :].rpartition("@")
    if at and offset.isdigit():
        return query, int(offset)
    return key[len("search:") :], 0


def search_key(query: str, offset: int = 0) -> str:
    """The key of a results page: ``search:`` and the query with its whitespace normalised,
    and ``@offset`` for a later page of results."""
    return "search:" + " ".join(query.split()) + (f"@{offset}" if offset else "")


class RenderCache(LRU[str, Page]):
    """Rendered pages shared between runs over an unchanging corpus (thread-safe LRU).

    Runs of a batch over the same ZIM, WARC or folder then render each page once. Do not share
    one across runs on the live web, where a page may change between runs.
    """

    def __init__(self, max_pages: int = 2000) -> None:
        super().__init__(max_pages)


class WebLoader:
    """Search engine + document source + renderer (see the module docstring)."""

    def __init__(
        self,
        engine: SearchEngine,
        source: DocumentSource,
        *,
        results: int = 10,
        width: int = 100,
        render: Callable[..., Page] = render_document,
        cache: RenderCache | None = None,
    ) -> None:
        self.engine = engine
        self.source = source
        self.results = results
        self.width = width
        self._render = render
        self.cache = cache
        # Runs sharing the cache (best-of-n samples of one question) ask for the same page at
        # once: one renders it, the others wait and take it. Striped, so the locks are bounded.
        self._locks = [threading.Lock() for _ in range(64)]

    def open(self, url: str) -> Page:
        """Fetch and render ``url`` (from the shared cache by requested or final URL)."""
        key = strip_fragment(url)
        if self.cache is None:
            return self._load(key)
        cached = self.cache.get(key)
        if cached is not None:
            return cached
        with self._locks[hash(key) % len(self._locks)]:
            return self.cache.get(key) or self._load(key)

    def _load(self, key: str) -> Page:
        doc = self.source.fetch(key)
        final = strip_fragment(doc.url) or key
        page = (self.cache.get(final) if self.cache is not None else None) or self._render(
            doc, width=self.width
        )
        if self.cache is not None:
            self.cache.put(key, page)
            self.cache.put(final, page)
        return page

    def search(self, query: str, offset: int = 0) -> Page:
        """Run the engine and render results ``offset+1`` to ``offset+results`` as a page of
        numbered links (one more is asked for, to know whether a next page exists)."""
        key = search_key(query, offset)
        page = self.cache.get(key) if self.cache is not None else None
        if page is None and self.cache is not None:
            with self._locks[hash(key) % len(self._locks)]:
                page = self.cache.get(key) or self._search(query, offset, key)
        return page if page is not None else self._search(query, offset, key)

    def _search(self, query: str, offset: int, key: str) -> Page:
        hits = self.engine.search(query, limit=offset + self.results + 1)
        page = results_page(
            query,
            hits[offset : offset + self.results],
            width=self.width,
            offset=offset,
            more=len(hits) > offset + self.results,
        )
        if self.cache is not None:
            self.cache.put(key, page)
        return page


def results_page(
    query: str,
    hits: Iterable[SearchResult],
    *,
    width: int = 100,
    offset: int = 0,
    more: bool = False,
) -> Page:
    """Search results as a page of two lines per result — the link with its URL, then a
    one-line snippet — so a screen holds a whole page of results (WebGPT's layout, compact).

    Link ids continue across result pages (the second page starts at 10), so an id always
    names one result. ``more`` says a next page exists (``Scrolled down`` at the end gets it).
    """
    hits = list(hits)
    shown = clean_text(query)[:200]
    lines = [
        prompts.message("results_header", first=offset + 1, last=offset + len(hits), query=shown)
        if hits
        else prompts.message("no_results", query=shown)
    ]
    links: dict[int, Link] = {}
    suffix = _shared_suffix([hit.title for hit in hits])
    for i, hit in enumerate(hits, offset):
        links[i] = Link(i, hit.url, hit.title)
        title = hit.title[: len(hit.title) - len(suffix)] if suffix else hit.title
        # A corpus's URLs add nothing a title does not say (and Open takes titles); a web
        # result's URL and site tell the model where it would go.
        web = hit.url.split(":", 1)[0] not in CORPUS_SCHEMES
        link = marker(i, clean_text(title) or hit.url, domain(hit.url) if web else "")
        lines.append(_clip(f"{link} {clean_text(hit.url)}" if web else link, 2 * width))
        if hit.snippet:
            lines.append(_clip("  " + clean_text(" ".join(hit.snippet.split())), width))
    if more:
        lines.append(prompts.message("more_results"))
    return Page(
        key=search_key(query, offset),
        url="",
        title=prompts.message("results_title", query=clean_text(query)[:200]),
        lines=lines,
        links=links,
    )


_SITE_SUFFIX = re.compile(r"\s[—–|·-]\s[^—–|·]+$")


def _shared_suffix(titles: list[str]) -> str:
    """The site name every title repeats (" — Python 3.11.2 documentation"), when at least
    three titles end with the same one: shown once per page of results is enough."""
    found = [m.group(0) for t in titles if (m := _SITE_SUFFIX.search(t))]
    if len(titles) < 3 or len(found) != len(titles) or len(set(found)) != 1:
        return ""
    return found[0]


def _clip(line: str, width: int) -> str:
    return line if len(line) <= width else line[: width - 1] + "…"


class SnapshotLoader:
    """Serves the pages of a recorded trace; anything not recorded is a FetchError."""

    def __init__(self, pages: Iterable[Page]) -> None:
        self._pages = {p.key: p for p in pages}
        for p in list(self._pages.values()):
            if p.url:
                self._pages.setdefault(strip_fragment(p.url), p)

    def open(self, url: str) -> Page:
        """The recorded page for ``url``."""
        page = self._pages.get(strip_fragment(url))
        if page is None:
            raise FetchError(f"not recorded in the trace: {url}", url=url)
        return page

    def search(self, query: str, offset: int = 0) -> Page:
        """The recorded results page for ``query``."""
        page = self._pages.get(search_key(query, offset))
        if page is None:
            raise FetchError(f"search not recorded in the trace: {query!r}")
        return page
