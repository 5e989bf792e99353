"""The seams of webqa, in one place: what a search engine, a document source, a page loader,
a policy and a chat model must provide.

Everything webqa talks to is one of these; tests and users plug in their own by writing a
class with the same methods (no base class to inherit).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, runtime_checkable

from .records import Document, SearchResult

if TYPE_CHECKING:
    from .records import Page

__all__ = ["SearchEngine", "DocumentSource", "PageLoader"]


@runtime_checkable
class SearchEngine(Protocol):
    """Finds pages for a query. Raises :class:`webqa.errors.SearchError` on failure."""

    name: str

    def search(self, query: str, limit: int = 10) -> list[SearchResult]:
        """Return at most ``limit`` results, best first (an empty list means no results)."""
        ...


@runtime_checkable
class DocumentSource(Protocol):
    """Delivers documents by URL. Raises :class:`webqa.errors.FetchError` with the reason."""

    def fetch(self, url: str) -> Document:
        """Return the document at ``url``."""
        ...


class PageLoader(Protocol):
    """What the browser reads: a rendered page for a URL, a rendered results page for a query."""

    def open(self, url: str) -> Page:
        """The rendered page at ``url``; raises FetchError."""
        ...

    def search(self, query: str, offset: int = 0) -> Page:
        """A rendered page of numbered results for ``query``, from result ``offset`` on;
        raises FetchError."""
        ...
