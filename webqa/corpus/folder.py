"""A folder of ``.html``/``.htm``/``.md``/``.txt`` files as a searchable corpus.

URLs are ``local://<folder name>/<relative/path>`` (path percent-encoded where needed). The
FTS5 index lives in the cache directory and is refreshed incrementally: a file is re-read
only when its mtime or size changed, and files that disappeared leave the index. Hidden files
and folders and symbolic links are skipped; of a file over 32 MB only the start is indexed.
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path, PurePosixPath
from urllib.parse import quote, unquote, urlsplit

from webqa.errors import ConfigError, FetchError, TooLargeError
from webqa.records import Document, SearchResult

from .base import MAX_FETCH_BYTES, MAX_INDEX_CHARS, IndexStats, Progress
from .cache import index_file
from .fts import FtsIndex
from .text import decode, html_title, html_to_text, markdown_title, markdown_to_text

__all__ = ["FolderCorpus", "SUFFIXES"]

#: File kinds a folder corpus indexes, with the content type ``fetch`` reports.
SUFFIXES = {".html": "text/html", ".htm": "text/html", ".md": "text/markdown",
            ".txt": "text/plain"}
# Commits during a long build, so an interrupted build keeps most of its work.
_CHECKPOINT_EVERY = 2000
# Characters left as they are in URL paths; everything else (space, %, ?, #, ...) is escaped.
_SAFE = "/()!$&'*+,;=:@~-._"


def _label(root: Path) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", root.name).strip("-.") or "folder"


def extract(path: Path, data: bytes) -> tuple[str, str]:
    """``(title, text)`` of a file's bytes, by its suffix; never raises on bad content."""
    text = decode(data, sniff_html=path.suffix.lower() in (".html", ".htm"))
    kind = SUFFIXES.get(path.suffix.lower(), "text/plain")
    if kind == "text/html":
        return html_title(text) or path.stem, html_to_text(text)
    if kind == "text/markdown":
        return markdown_title(text) or path.stem, markdown_to_text(text)
    return path.stem, text


class FolderCorpus:
    """Search and fetch over a folder of pages (see the module docstring)."""

    kind = "folder"

    def __init__(self, root: str | os.PathLike[str], *,
                 cache_dir: str | os.PathLike[str] | None = None, refresh: bool = True,
                 progress: Progress | None = None) -> None:
        """Open the folder's index, bring it up to date unless ``refresh`` is False.

        Raises ``ConfigError`` when the folder is missing or holds no indexable file.
        """
        self.root = Path(root).expanduser().resolve()
        if not self.root.is_dir():
            raise ConfigError(f"corpus folder does not exist: {self.root}")
        self.label = _label(self.root)
        self.name = f"folder:{self.label}"
        self.index = FtsIndex(index_file(self.root, self.kind, cache_dir))
        self.last_refresh: IndexStats | None = None
        if refresh:
            self.last_refresh = self.refresh(progress)
        if self.index.count() == 0:
            self.index.close()
            raise ConfigError(f"no indexable files ({', '.join(SUFFIXES)}) in {self.root}")

    # -- indexing -------------------------------------------------------------------------
    def _scan(self) -> dict[str, tuple[str, float, int]]:
        """``key -> (path, mtime, size)`` of every indexable file (symbolic links are not
        followed: fetch would refuse a target outside the folder)."""
        files: dict[str, tuple[str, float, int]] = {}
        stack = [(str(self.root), "")]
        while stack:
            folder, prefix = stack.pop()
            try:
                entries = sorted(os.scandir(folder), key=lambda e: e.name)
            except OSError:
                continue
            for entry in entries:
                # Hidden files and folders (.git, .venv, ...) are tooling, not content.
                if entry.name.startswith("."):
                    continue
                try:
                    if entry.is_dir(follow_symlinks=False):
                        stack.append((entry.path, prefix + entry.name + "/"))
                    elif (os.path.splitext(entry.name)[1].lower() in SUFFIXES
                          and entry.is_file(follow_symlinks=False)):
                        st = entry.stat()
                        files[prefix + entry.name] = (entry.path, st.st_mtime, st.st_size)
                except OSError:
                    continue
        return files

    def url_for(self, key: str) -> str:
        """The URL of the file at relative path ``key``."""
        return f"local://{self.label}/{quote(key, safe=_SAFE)}"

    def refresh(self, progress: Progress | None = None) -> IndexStats:
        """Index new and changed files, drop removed ones; returns what was done."""
        start = time.monotonic()
        stats = IndexStats(self.kind, self.root, self.index.path)
        known = self.index.stamps()
        files = self._scan()
        total = len(files)
        pending = 0
        for done, (key, (path, mtime, size)) in enumerate(files.items(), 1):
            if known.get(key) == (mtime, size):
                stats.unchanged += 1
            else:
                try:
                    with open(path, "rb") as fh:
                        data = fh.read(MAX_FETCH_BYTES)  # a giant file: index its start
                except OSError as exc:
                    stats.skipped.append((key, f"unreadable: {exc.strerror or exc}"))
                else:
                    title, body = extract(Path(path), data)
                    self.index.put(key, self.url_for(key), title, body[:MAX_INDEX_CHARS],
                                   mtime=mtime, size=size, new=key not in known)
                    if key in known:
                        stats.updated += 1
                    else:
                        stats.added += 1
                    pending += 1
                if pending >= _CHECKPOINT_EVERY:
                    self.index.checkpoint()
                    pending = 0
            if progress is not None:
                progress(done, total, key)
        for key in known.keys() - files.keys():
            self.index.remove(key)
            stats.removed += 1
        self.index.commit(changed=stats.added + stats.updated + stats.removed)
        stats.documents = self.index.count()
        stats.seconds = time.monotonic() - start
        return stats

    # -- SearchEngine / DocumentSource -------------------------------------------------------------
    def search(self, query: str, limit: int = 10) -> list[SearchResult]:
        """bm25-ranked pages for ``query`` (see :mod:`webqa.corpus.ftsquery`)."""
        return self.index.search(query, limit, engine=self.name)

    def _path_for(self, url: str) -> Path:
        parts = urlsplit(url)
        if parts.scheme != "local" or parts.netloc != self.label:
            raise FetchError(f"not in this corpus: {url} (this is local://{self.label}/)", url=url)
        rel = PurePosixPath(unquote(parts.path).lstrip("/"))
        if ".." in rel.parts:
            raise FetchError(f"not in this corpus: {url} (leaves the folder)", url=url)
        path = self.root.joinpath(*rel.parts)
        if not path.resolve().is_relative_to(self.root):
            raise FetchError(f"not in this corpus: {url} (leaves the folder)", url=url)
        if path.is_dir():
            for index in ("index.html", "index.htm", "README.md", "index.md"):
                if (path / index).is_file():
                    return path / index
        return path

    def fetch(self, url: str) -> Document:
        """The file behind a ``local://`` URL, decoded; ``FetchError`` when not a corpus page."""
        path = self._path_for(url)
        kind = SUFFIXES.get(path.suffix.lower())
        if kind is None or not path.is_file():
            raise FetchError(f"not in this corpus: {url}", url=url)
        try:
            size = path.stat().st_size
            if size > MAX_FETCH_BYTES:
                raise TooLargeError(f"{url}: file of {size} bytes is over the "
                                    f"{MAX_FETCH_BYTES} byte limit", url=url)
            data = path.read_bytes()
        except OSError as exc:
            raise FetchError(f"cannot read {url}: {exc.strerror or exc}", url=url) from exc
        key = path.relative_to(self.root).as_posix()
        text = decode(data, sniff_html=kind == "text/html")
        if kind == "text/html":
            title = html_title(text) or path.stem
        elif kind == "text/markdown":
            title = markdown_title(text) or path.stem
        else:
            title = path.stem
        return Document(url=self.url_for(key), content_type=kind, text=text, title=title)

    def close(self) -> None:
        """Close the index."""
        self.index.close()
