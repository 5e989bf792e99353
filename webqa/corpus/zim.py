"""A Kiwix ZIM archive as a corpus: stable ``zim://`` URLs, fetch with redirects resolved.

URLs are ``zim://<archive Name metadata or file stem>/<entry path>``. Entry paths keep their
own spelling (``A/What'd_I_Say_(album)``); only characters that would break a URL (``%``,
``?``, ``#``, spaces, controls) are percent-escaped, and lookups unquote, so links in the
archive's HTML (``Genius_%2B_Soul_%3D_Jazz``) resolve through :func:`webqa.urls.join`.
Search is in :mod:`webqa.corpus.zimsearch`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from libzim.reader import Archive

from webqa.errors import ConfigError, FetchError, SearchError, TooLargeError
from webqa.records import Document, SearchResult

from .base import MAX_FETCH_BYTES, ClosingCorpus, bound_query, shorten
from .cache import index_file
from .text import decode, valid_text
from .zimsearch import DocStore, ZimSearch

__all__ = ["ZimCorpus", "ARTICLE_TYPES"]

#: Entries with these MIME types are pages; images, CSS, JS and metadata are not.
ARTICLE_TYPES = ("text/html", "application/xhtml+xml")
_UNSAFE = re.compile(r"[%?#\s\"<>\\^`{|}\x00-\x1f\x7f]")
_MAX_REDIRECTS = 16
# What libzim and its Python binding raise for a bad path, a damaged cluster or text it cannot
# encode (a lone surrogate); they leave as FetchError / SearchError.
_LIBZIM_ERRORS = (RuntimeError, KeyError, ValueError, LookupError, OSError, RecursionError)


def _escape(path: str) -> str:
    return _UNSAFE.sub(lambda m: "".join(f"%{b:02X}" for b in m.group(0).encode("utf-8")), path)


class ZimCorpus(ClosingCorpus):
    """Search and fetch over one ZIM archive (a context manager; ``close`` is idempotent)."""

    kind = "zim"

    def __init__(
        self, path: str | os.PathLike[str], *, cache_dir: str | os.PathLike[str] | None = None
    ) -> None:
        """Open the archive; ``ConfigError`` when it is missing, corrupt or has no pages.

        Search keeps the articles it scored in ``cache_dir`` (default ``<user data
        dir>/index``), so later processes need not read them again."""
        self.path = Path(path).expanduser().resolve()
        if not self.path.is_file():
            raise ConfigError(f"ZIM file does not exist: {self.path}")
        try:
            self.archive = Archive(self.path)
            count = self.archive.article_count
            main = self.archive.main_entry if self.archive.has_main_entry else None
            if main is not None:  # reads a cluster: damage inside the file shows up here
                bytes(self._resolve(main).get_item().content[:1])
        except (RuntimeError, KeyError, OSError, ValueError) as exc:
            raise ConfigError(f"not a readable ZIM archive: {self.path}: {exc}") from exc
        if count == 0:
            raise ConfigError(f"ZIM archive has no articles: {self.path}")
        self.label = self._make_label()
        self.name = f"zim:{self.label}"
        st = self.path.stat()
        identity = f"{self.archive.uuid} {st.st_size} {st.st_mtime_ns}"
        self._store = DocStore(index_file(self.path, "zimdocs", cache_dir), identity)
        self._search = ZimSearch(self.archive, self._canonical_article, store=self._store)
        self._closed = False

    @property
    def store_path(self) -> Path:
        """The file that keeps the articles' scoring data for search."""
        return self._store.path

    def prefill(self, progress: Callable[[int, int | None, str], None] | None = None) -> int:
        """Store every article's scoring data ahead of searches (``webqa index`` on a ZIM);
        returns how many articles were added. ``ConfigError`` once closed."""
        if self._closed:
            raise ConfigError(f"{self.name}: the archive was closed")
        try:
            return self._search.prefill(progress)
        except _LIBZIM_ERRORS as exc:
            raise ConfigError(f"{self.name}: cannot read its articles: {exc}") from exc

    def _make_label(self) -> str:
        try:
            raw = bytes(self.archive.get_metadata("Name")).decode("utf-8", "replace")
        except (RuntimeError, KeyError):
            raw = ""
        if not raw.strip():
            raw = self.path.stem
        return re.sub(r"[^A-Za-z0-9._-]+", "-", raw.strip()).strip("-.") or "zim"

    # -- entries and URLs -------------------------------------------------------------------
    def url_for(self, entry_path: str) -> str:
        """The stable URL of an entry path."""
        return f"zim://{self.label}/{_escape(entry_path)}"

    @staticmethod
    def _resolve(entry: Any) -> Any:
        for _ in range(_MAX_REDIRECTS):
            if not entry.is_redirect:
                return entry
            entry = entry.get_redirect_entry()
        raise KeyError("redirect loop")

    def _canonical_article(self, entry_path: str) -> Any | None:
        """The article entry an entry path leads to (redirects followed), or None."""
        try:
            entry = self._resolve(self.archive.get_entry_by_path(entry_path))
            mime = entry.get_item().mimetype
        except (KeyError, RuntimeError):
            return None
        return entry if mime.split(";")[0].strip() in ARTICLE_TYPES else None

    def _entry_for(self, url: str) -> Any:
        prefix = f"zim://{self.label}"
        if not url.startswith(prefix) or url[len(prefix) : len(prefix) + 1] not in ("", "/", "#"):
            raise FetchError(f"not in this corpus: {shorten(url)} (this is {prefix}/)", url=url)
        # Everything after the host up to '#' is the entry path; '?' can be part of it.
        raw = url[len(prefix) :].partition("#")[0].lstrip("/")
        if not raw:
            if not self.archive.has_main_entry:
                raise FetchError(
                    f"not in this corpus: {shorten(url)} (the archive has no main page)", url=url
                )
            return self._resolve(self.archive.main_entry)
        for candidate in dict.fromkeys((unquote(raw), raw)):
            try:
                if self.archive.has_entry_by_path(candidate):
                    return self._resolve(self.archive.get_entry_by_path(candidate))
            except _LIBZIM_ERRORS:  # UnicodeEncodeError: a lone surrogate names no entry
                continue
        raise FetchError(
            f"not in this corpus: {shorten(url)} (no such entry in {self.path.name})", url=url
        )

    # -- SearchEngine / DocumentSource -------------------------------------------------------------
    def fetch(self, url: str) -> Document:
        """The article at ``url`` with its canonical URL (redirects resolved, no fragment).

        ``FetchError`` (never a libzim or codec exception) when it cannot be served.
        """
        self._check_open(FetchError)
        try:
            entry = self._entry_for(url)
            item = entry.get_item()
            mime = item.mimetype.split(";")[0].strip()
            if mime not in ARTICLE_TYPES:
                raise FetchError(
                    f"not in this corpus: {shorten(url)} is not an article ({mime})", url=url
                )
            if item.size > MAX_FETCH_BYTES:
                raise TooLargeError(
                    f"{shorten(url)}: entry of {item.size} bytes is over the "
                    f"{MAX_FETCH_BYTES} byte limit",
                    url=url,
                )
            data = bytes(item.content)
            canonical, title = self.url_for(entry.path), entry.title or entry.path
        except _LIBZIM_ERRORS as exc:
            raise FetchError(
                f"cannot read {shorten(url)} from {self.path.name}: {exc}", url=url
            ) from exc
        return Document(
            url=canonical, content_type=mime, text=valid_text(decode(data)), title=title
        )

    def search(self, query: str, limit: int = 10) -> list[SearchResult]:
        """Articles for free text ``query``, best first (see :mod:`webqa.corpus.zimsearch`).

        The query is cut to :data:`~webqa.corpus.base.MAX_QUERY_CHARS` characters and
        :data:`~webqa.corpus.base.MAX_QUERY_WORDS` words first; ``SearchError`` when libzim
        fails.
        """
        self._check_open(SearchError)
        try:
            hits = self._search.search(bound_query(query), limit)
            return [
                SearchResult(title=h.title, url=self.url_for(h.path), snippet=h.snippet)
                for h in hits
            ]
        except _LIBZIM_ERRORS as exc:
            raise SearchError(f"{self.name}: search failed: {exc}") from exc

    def close(self) -> None:
        """Drop the archive handle (libzim closes the file when it is collected); idempotent."""
        if not self._closed:
            self._closed = True
            self._store.close()
            del self._search, self.archive

    def _check_open(self, error: type[FetchError]) -> None:
        if self._closed:
            raise error(f"{self.name}: the archive was closed")
