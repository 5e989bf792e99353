"""Fetched documents kept per fetcher (before rendering): in memory (LRU), optionally on disk.

Back and re-opening a page then cost no request. Only successful fetches are cached.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time
from pathlib import Path

from webqa.lru import LRU
from webqa.records import Document

__all__ = ["FetchCache"]


class FetchCache:
    """An LRU of fetched documents bounded by count and by total text size, plus a folder.

    Disk entries are JSON files named by the URL's SHA-256 and expire after ``ttl`` seconds.
    """

    def __init__(
        self,
        *,
        max_entries: int = 128,
        max_chars: int = 64_000_000,
        directory: str | os.PathLike[str] | None = None,
        ttl: float = 86_400.0,
    ) -> None:
        self.max_entries = max_entries
        self.max_chars = max_chars
        self.directory = Path(directory) if directory else None
        self.ttl = ttl
        self._items: LRU[str, Document] = LRU(
            max_entries, max_weight=max_chars, weight=lambda doc: len(doc.text)
        )

    def get(self, url: str) -> Document | None:
        """The cached document for ``url``, or None."""
        doc = self._items.get(url)
        if doc is not None:
            return doc
        doc = self._load(url)
        if doc is not None:
            self._items.put(url, doc)
        return doc

    def put(self, url: str, doc: Document) -> None:
        """Keep ``doc`` under ``url`` (in memory, and on disk when a folder was given)."""
        self._items.put(url, doc)
        self._save(url, doc)

    def _path(self, url: str) -> Path | None:
        if self.directory is None:
            return None
        return self.directory / (hashlib.sha256(url.encode("utf-8")).hexdigest() + ".json")

    def _load(self, url: str) -> Document | None:
        path = self._path(url)
        if path is None or not path.is_file():
            return None
        try:
            if time.time() - path.stat().st_mtime > self.ttl:
                return None
            d = json.loads(path.read_text(encoding="utf-8"))
            return Document(
                d["url"],
                d["content_type"],
                d["text"],
                title=d.get("title"),
                notes=tuple(d.get("notes", ())),
            )
        except (OSError, ValueError, KeyError, TypeError):
            return None  # a damaged cache entry is simply a miss

    def _save(self, url: str, doc: Document) -> None:
        path = self._path(url)
        if path is None:
            return
        entry = {
            "url": doc.url,
            "content_type": doc.content_type,
            "text": doc.text,
            "title": doc.title,
            "notes": list(doc.notes),
        }
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
            tmp.write_text(json.dumps(entry, ensure_ascii=False), encoding="utf-8")
            os.replace(tmp, path)  # readers never see half a file
        except OSError:
            pass  # a cache that cannot be written only costs speed
