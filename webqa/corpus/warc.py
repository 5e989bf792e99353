"""A WARC web archive (``.warc`` or ``.warc.gz``) as a searchable corpus.

Every ``response`` (or ``resource``) record with an HTML or plain-text body and a 2xx status
is indexed under its original target URI, in the same FTS5 machinery as folders. The index is
keyed by the file's path and rebuilt whenever the file's size or mtime changes. ``fetch``
seeks to the stored record offset and serves the archived body in its own charset.
"""

from __future__ import annotations

import json
import logging
import os
import re
import time
from pathlib import Path
from typing import IO, Any

from warcio.archiveiterator import ArchiveIterator
from warcio.exceptions import ArchiveLoadFailed

from webqa.errors import ConfigError, FetchError
from webqa.records import Document
from webqa.urls import strip_fragment

from .base import MAX_FETCH_BYTES, MAX_INDEX_CHARS, IndexStats, Progress, shorten
from .fts import IndexedCorpus
from .text import decode, html_title, html_to_text, valid_text

__all__ = ["WarcCorpus", "is_warc"]

_TEXT_TYPES = {
    "text/html": "text/html",
    "application/xhtml+xml": "text/html",
    "text/plain": "text/plain",
}
_CHARSET = re.compile(r"charset\s*=\s*[\"']?([^\s;\"']+)", re.I)

log = logging.getLogger("webqa.corpus")


def is_warc(path: Path) -> bool:
    """Whether ``path`` is named like a WARC file."""
    name = path.name.lower()
    return name.endswith((".warc", ".warc.gz"))


def _stamp(path: Path) -> str:
    st = path.stat()
    return f"{st.st_size}:{st.st_mtime_ns}"


def _record_info(record: Any) -> tuple[str, str | None] | None:
    """``(content type, charset)`` of a record worth indexing, else None."""
    if record.rec_type == "response":
        headers = record.http_headers
        if headers is None:
            return None
        status = headers.get_statuscode() or ""
        if not status.startswith("2"):
            return None
        ctype = headers.get_header("Content-Type") or ""
    elif record.rec_type == "resource":
        ctype = record.rec_headers.get_header("Content-Type") or ""
    else:
        return None
    mime = ctype.split(";")[0].strip().lower()
    if mime not in _TEXT_TYPES:
        return None
    m = _CHARSET.search(ctype)
    return _TEXT_TYPES[mime], (m.group(1) if m else None)


def _read_body(record: Any) -> bytes:
    return record.content_stream().read(MAX_FETCH_BYTES + 1)


def _decode(body: bytes, charset: str | None, ctype: str) -> str:
    return valid_text(decode(body, charset, sniff_html=ctype == "text/html"))


def _extract(body: bytes, charset: str | None, ctype: str, url: str) -> tuple[str, str]:
    """``(title, plain text)`` of an archived body."""
    text = _decode(body, charset, ctype)
    if ctype == "text/html":
        return html_title(text) or url, html_to_text(text)
    return url, text


class WarcCorpus(IndexedCorpus):
    """Search and fetch over the pages archived in one WARC file."""

    kind = "warc"

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        cache_dir: str | os.PathLike[str] | None = None,
        progress: Progress | None = None,
    ) -> None:
        """Open (building when stale) the index of a WARC file.

        Raises ``ConfigError`` when the file is missing, unreadable or has no indexable page.
        """
        self.path = Path(path).expanduser().resolve()
        if not self.path.is_file():
            raise ConfigError(f"WARC file does not exist: {self.path}")
        stem = re.sub(r"\.warc(\.gz)?$", "", self.path.name, flags=re.I)
        label = re.sub(r"[^A-Za-z0-9._-]+", "-", stem).strip("-.") or "warc"
        super().__init__(self.path, label, cache_dir=cache_dir, progress=progress)

    def _empty_message(self) -> str:
        return f"no HTML or text pages in WARC file {self.path}"

    def _stale(self, full: bool = False) -> bool:
        """Whether the file's size or mtime differ from those the index was built from."""
        try:
            stamp = _stamp(self.path)
        except OSError:
            return True
        return self.index.meta("source") != stamp

    def _update(self, progress: Progress | None, full: bool = False) -> IndexStats | None:
        try:
            stamp = _stamp(self.path)
        except OSError as exc:
            raise ConfigError(f"cannot read WARC file {self.path}: {exc}") from exc
        if self.index.meta("source") == stamp:
            return None
        return self.rebuild(progress)

    def rebuild(self, progress: Progress | None = None) -> IndexStats:
        """Index the whole file afresh; returns what was done."""
        start = time.monotonic()
        stats = IndexStats(self.kind, self.path, self.index.path)
        self.index.clear()
        try:
            with open(self.path, "rb") as fh:
                self._index_records(fh, stats, progress)
        except OSError as exc:
            raise ConfigError(f"cannot read WARC file {self.path}: {exc}") from exc
        self.index.set_meta("source", _stamp(self.path))
        self.index.commit(changed=stats.added + stats.updated)
        stats.documents = self.index.count()
        stats.seconds = time.monotonic() - start
        return stats

    def _index_records(self, fh: IO[bytes], stats: IndexStats, progress: Progress | None) -> None:
        seen = 0
        try:
            records = ArchiveIterator(fh)
            for record in records:
                if not str(record.format).startswith("warc"):
                    continue  # warcio's ARC fallback reading a file that is not a WARC
                if not str(record.rec_headers.protocol).startswith("WARC/"):
                    # What warcio makes of bytes that are not a WARC record; reading on
                    # would only make more of them (and warcio warns on stderr each time).
                    raise ValueError("a record without a WARC version line")
                seen += 1
                info = _record_info(record)
                url = record.rec_headers.get_header("WARC-Target-URI") or ""
                if info is None or not url:
                    continue
                try:
                    url.encode("utf-8")
                except UnicodeEncodeError:
                    stats.skipped.append(
                        (
                            shorten(url.encode("utf-8", "replace").decode()),
                            "the target URI is not valid text",
                        )
                    )
                    log.warning("skipping WARC record %d: its target URI is not valid text", seen)
                    continue
                body = _read_body(record)  # read before asking for the offset (warcio's order)
                offset = records.get_record_offset()
                ctype, charset = info
                try:
                    title, plain = _extract(body, charset, ctype, url)
                except (LookupError, ValueError, RecursionError) as exc:
                    # Extraction is meant never to fail; one hostile record is skipped.
                    stats.skipped.append((shorten(url), f"cannot extract its text: {exc}"))
                    log.warning(
                        "skipping WARC record %d (%s): cannot extract its text: %s",
                        seen,
                        shorten(url),
                        exc,
                    )
                    continue
                extra = json.dumps({"offset": offset, "type": ctype, "charset": charset})
                if self.index.by_key(url):
                    stats.updated += 1  # a later capture of the same URL wins
                else:
                    stats.added += 1
                self.index.put(url, url, title, plain[:MAX_INDEX_CHARS], extra=extra)
                if progress is not None:
                    progress(seen, None, url)
        except (ArchiveLoadFailed, ValueError, EOFError, OSError) as exc:
            if seen <= 1 and stats.added == 0:
                raise ConfigError(
                    f"not a readable WARC file: {self.path}: {str(exc)[:200]}"
                ) from exc
            # A damaged tail (an interrupted crawl) leaves the records before it usable.
            stats.skipped.append((f"record {seen}", f"unreadable from here on: {str(exc)[:200]}"))
        if seen == 0:
            raise ConfigError(f"not a readable WARC file: {self.path}: no WARC records found")

    # -- fetching -----------------------------------------------------------------------------
    def _row(self, url: str) -> dict[str, Any] | None:
        bare = strip_fragment(url)
        alt = bare[:-1] if bare.endswith("/") else bare + "/"
        for candidate in dict.fromkeys((url, bare, alt)):
            row = self.index.by_url(candidate)
            if row:
                return row
        return None

    def _fetch(self, url: str) -> Document:
        """The archived page at ``url``; ``FetchError`` when the archive does not hold it."""
        row = self._row(url)
        if row is None:
            raise FetchError(
                f"not in this corpus: {shorten(url)} (not archived in {self.path.name})", url=url
            )
        try:
            info = json.loads(row["extra"])
            offset, ctype, charset = info["offset"], info["type"], info["charset"]
            with open(self.path, "rb") as fh:
                fh.seek(offset)
                record = next(iter(ArchiveIterator(fh)))
                body = _read_body(record)
        except (
            OSError,
            StopIteration,
            ArchiveLoadFailed,
            ValueError,
            EOFError,
            KeyError,
            TypeError,
        ) as exc:
            raise FetchError(
                f"cannot read {shorten(url)} from {self.path.name}: {exc}", url=url
            ) from exc
        text = _decode(body[:MAX_FETCH_BYTES], charset, ctype)
        notes: tuple[str, ...] = ()
        if len(body) > MAX_FETCH_BYTES:
            notes = (f"the page was cut at {MAX_FETCH_BYTES // (1024 * 1024)} MB",)
        return Document(
            url=row["url"], content_type=ctype, text=text, title=row["title"], notes=notes
        )
