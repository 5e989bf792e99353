"""The browser's view of the world: pages by URL and result pages by query, rendered once.

:class:`Pages` joins a search engine, a page source and the renderer, and caches every page it
renders for the run, so scrolling, Back and re-opening never fetch or render twice.
:class:`SnapshotPages` serves the pages recorded in a trace instead, for offline replay.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import Protocol

from .errors import FetchError
from .protocols import DocumentSource, SearchEngine
from .records import Document, Page, SearchResult
from .render import render_document
from .render.layout import clean_text, marker, wrap_blocks
from .urls import domain, strip_fragment

__all__ = ["Pages", "PageCache", "SnapshotPages", "PageProvider", "results_page"]


class PageProvider(Protocol):
    """What the browser needs: a page for a URL, a results page for a query."""

    def open(self, url: str) -> Page:
        """The rendered page at ``url``; raises FetchError."""
        ...

    def search(self, query: str) -> Page:
        """A rendered page of numbered results for ``query``; raises FetchError."""
        ...


class PageCache:
    """A thread-safe LRU of rendered pages, to share between runs over an unchanging corpus.

    Runs of a batch over the same ZIM, WARC or folder then render each page once. Do not share
    one across runs on the live web, where a page may change between runs.
    """

    def __init__(self, max_pages: int = 2000) -> None:
        self.max_pages = max_pages
        self._data: OrderedDict[str, Page] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> Page | None:
        """The cached page for ``key``, marked as recently used."""
        with self._lock:
            page = self._data.get(key)
            if page is not None:
                self._data.move_to_end(key)
            return page

    def __contains__(self, key: str) -> bool:
        return self.get(key) is not None

    def __getitem__(self, key: str) -> Page:
        page = self.get(key)
        if page is None:
            raise KeyError(key)
        return page

    def __setitem__(self, key: str, page: Page) -> None:
        with self._lock:
            self._data[key] = page
            self._data.move_to_end(key)
            while len(self._data) > self.max_pages:
                self._data.popitem(last=False)


class Pages:
    """Search engine + page source + renderer, with a page cache (per run unless shared)."""

    def __init__(self, engine: SearchEngine, source: DocumentSource, *, results: int = 10,
                 width: int = 100, render: Callable[..., Page] = render_document,
                 cache: PageCache | None = None) -> None:
        self.engine = engine
        self.source = source
        self.results = results
        self.width = width
        self._render = render
        self._pages: dict[str, Page] | PageCache = cache if cache is not None else {}

    def open(self, url: str) -> Page:
        """Fetch and render ``url`` (cached by the requested and the final URL)."""
        key = strip_fragment(url)
        cached = self._pages.get(key)
        if cached is not None:
            return cached
        doc: Document = self.source.fetch(key)
        final = strip_fragment(doc.url) or key
        page = self._pages.get(final) or self._render(doc, width=self.width)
        self._pages[key] = self._pages[final] = page
        return page

    def search(self, query: str) -> Page:
        """Run the engine and render its results as a page of numbered links."""
        key = "search:" + " ".join(query.split())
        page = self._pages.get(key)
        if page is None:
            hits = self.engine.search(query, limit=self.results)
            page = self._pages[key] = results_page(query, hits, width=self.width)
        return page


def results_page(query: str, hits: Iterable[SearchResult], *, width: int = 100) -> Page:
    """Search results as a page: a link line and a snippet per result (WebGPT's layout)."""
    from .records import Link

    blocks: list[str] = []
    links: dict[int, Link] = {}
    for i, hit in enumerate(hits):
        links[i] = Link(i, hit.url, hit.title)
        blocks.append(marker(i, clean_text(hit.title) or hit.url, domain(hit.url)))
        if hit.snippet:
            blocks.append(clean_text(" ".join(hit.snippet.split())))
        blocks.append("")
    if not links:
        blocks = [f"No results for {query!r}. Try fewer or different words."]
    lines, _ = wrap_blocks(blocks, width, 10_000)
    key = "search:" + " ".join(query.split())
    return Page(key=key, url="", title=f"Search results for: {query}", lines=lines, links=links)


class SnapshotPages:
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

    def search(self, query: str) -> Page:
        """The recorded results page for ``query``."""
        key = "search:" + " ".join(query.split())
        page = self._pages.get(key)
        if page is None:
            raise FetchError(f"search not recorded in the trace: {query!r}")
        return page
