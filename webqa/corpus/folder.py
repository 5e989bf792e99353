"""A folder of ``.html``/``.htm``/``.md``/``.txt`` files as a searchable corpus.

URLs are ``local://<folder name>/<relative/path>`` (path percent-encoded where needed; a file
name that is not valid UTF-8 has its raw bytes percent-encoded, ``caf%E9.html``). The FTS5
index lives in the cache directory and is refreshed incrementally: a file is re-read only
when its mtime or size changed, and files that disappeared leave the index. Hidden files and
folders and symbolic links are skipped; of a file over 32 MB only the start is indexed.
"""

from __future__ import annotations

import errno
import logging
import os
import re
import time
from pathlib import Path, PurePosixPath
from urllib.parse import quote, unquote_to_bytes, urlsplit

from webqa.errors import ConfigError, FetchError, TooLargeError
from webqa.records import Document

from .base import MAX_FETCH_BYTES, MAX_INDEX_CHARS, IndexStats, Progress, shorten
from .fts import IndexedCorpus
from .text import decode, html_title, html_to_text, markdown_title, markdown_to_text, valid_text

__all__ = ["FolderCorpus", "SUFFIXES", "extract"]

log = logging.getLogger("webqa.corpus")

#: File kinds a folder corpus indexes, with the content type ``fetch`` reports.
SUFFIXES = {".html": "text/html", ".htm": "text/html", ".md": "text/markdown",
            ".txt": "text/plain"}
# Commits during a long build, so an interrupted build keeps most of its work.
_CHECKPOINT_EVERY = 2000
# Characters left as they are in URL paths; everything else (space, %, ?, #, ...) is escaped.
_SAFE = "/()!$&'*+,;=:@~-._"
_INDEX_PAGES = ("index.html", "index.htm", "README.md", "index.md")
# What a decoder or extractor bug on one hostile file could raise: that file is skipped.
_EXTRACT_ERRORS = (LookupError, ValueError, RecursionError)


def _label(root: Path) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", root.name).strip("-.") or "folder"


def _readable(name: str) -> str:
    """A file name as valid text: bytes that are not UTF-8 (held as surrogates) become U+FFFD."""
    try:
        name.encode("utf-8")
        return name
    except UnicodeEncodeError:
        return os.fsencode(name).decode("utf-8", "replace")


def _storable(key: str) -> str:
    """A relative path as a key SQLite can store: the bytes of a name that is not valid UTF-8
    are written as ``\\xNN`` escapes (distinct names stay distinct in practice; a clash is
    skipped at scan time)."""
    try:
        key.encode("utf-8")
        return key
    except UnicodeEncodeError:
        return os.fsencode(key).decode("utf-8", "backslashreplace")


def _decode(data: bytes, path: Path) -> str:
    return valid_text(decode(data, sniff_html=path.suffix.lower() in (".html", ".htm")))


def extract(path: Path, data: bytes) -> tuple[str, str]:
    """``(title, text)`` of a file's bytes, by its suffix; never raises on bad content."""
    text = _decode(data, path)
    kind = SUFFIXES.get(path.suffix.lower(), "text/plain")
    stem = _readable(path.stem)
    if kind == "text/html":
        return html_title(text) or stem, html_to_text(text)
    if kind == "text/markdown":
        return markdown_title(text) or stem, markdown_to_text(text)
    return stem, text


class FolderCorpus(IndexedCorpus):
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
        super().__init__(self.root, _label(self.root), cache_dir=cache_dir, progress=progress,
                         update=refresh)

    def _empty_message(self) -> str:
        return f"no indexable files ({', '.join(SUFFIXES)}) in {self.root}"

    # -- indexing -------------------------------------------------------------------------
    def _scan(self, skipped: list[tuple[str, str]]) -> dict[str, tuple[str, str, float, int]]:
        """``stored key -> (relative path, path, mtime, size)`` of every indexable file
        (symbolic links are not followed: fetch would refuse a target outside the folder)."""
        files: dict[str, tuple[str, str, float, int]] = {}
        stack = [(str(self.root), "")]
        while stack:
            folder, prefix = stack.pop()
            try:
                entries = sorted(os.scandir(folder), key=lambda e: e.name)
            except OSError as exc:
                if prefix:
                    skipped.append((_readable(prefix), f"unreadable: {exc.strerror or exc}"))
                    log.warning("skipping folder %s: %s", _readable(folder), exc)
                continue
            for entry in entries:
                # Hidden files and folders (.git, .venv, ...) are tooling, not content.
                if entry.name.startswith("."):
                    continue
                rel = prefix + entry.name
                try:
                    if entry.is_dir(follow_symlinks=False):
                        stack.append((entry.path, rel + "/"))
                    elif (os.path.splitext(entry.name)[1].lower() in SUFFIXES
                          and entry.is_file(follow_symlinks=False)):
                        st = entry.stat()
                        key = _storable(rel)
                        if key in files:
                            skipped.append((_readable(rel), f"its name clashes with {key}"))
                            log.warning("skipping %s: its name clashes with %s",
                                        _readable(rel), key)
                            continue
                        files[key] = (rel, entry.path, st.st_mtime, st.st_size)
                except OSError as exc:
                    skipped.append((_readable(rel), f"unreadable: {exc.strerror or exc}"))
                    log.warning("skipping %s: %s", _readable(rel), exc)
        return files

    def url_for(self, key: str) -> str:
        """The URL of the file at relative path ``key`` (raw bytes of a non-UTF-8 name are
        percent-encoded)."""
        return f"local://{self.label}/{quote(os.fsencode(key), safe=_SAFE)}"

    def _update(self, progress: Progress | None) -> IndexStats:
        """Index new and changed files, drop removed ones; returns what was done."""
        start = time.monotonic()
        stats = IndexStats(self.kind, self.root, self.index.path)
        known = self.index.stamps()
        files = self._scan(stats.skipped)
        total = len(files)
        pending = 0
        for done, (key, (rel, path, mtime, size)) in enumerate(files.items(), 1):
            if known.get(key) == (mtime, size):
                stats.unchanged += 1
            else:
                try:
                    with open(path, "rb") as fh:
                        data = fh.read(MAX_FETCH_BYTES)  # a giant file: index its start
                    title, body = extract(Path(path), data)
                except OSError as exc:
                    stats.skipped.append((key, f"unreadable: {exc.strerror or exc}"))
                    log.warning("skipping %s: %s", key, exc)
                except _EXTRACT_ERRORS as exc:  # text extraction is meant never to fail
                    stats.skipped.append((key, f"cannot extract its text: {exc}"))
                    log.warning("skipping %s: cannot extract its text: %s", key, exc)
                else:
                    self.index.put(key, self.url_for(rel), title, body[:MAX_INDEX_CHARS],
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

    # -- fetching -----------------------------------------------------------------------------
    def _path_for(self, url: str) -> Path:
        parts = urlsplit(url)
        if parts.scheme != "local" or parts.netloc != self.label:
            raise FetchError(f"not in this corpus: {shorten(url)} "
                             f"(this is local://{self.label}/)", url=url)
        # Percent-escapes are file-name bytes: %E9 finds a Latin-1 named file.
        raw = unquote_to_bytes(parts.path.encode("utf-8", "surrogateescape"))
        if b"\x00" in raw:
            raise FetchError(f"not in this corpus: {shorten(url)} (a file name cannot hold "
                             "a NUL byte)", url=url)
        rel = PurePosixPath(os.fsdecode(raw).lstrip("/"))
        if ".." in rel.parts:
            raise FetchError(f"not in this corpus: {shorten(url)} (leaves the folder)", url=url)
        path = self.root.joinpath(*rel.parts)
        if not path.resolve().is_relative_to(self.root):
            raise FetchError(f"not in this corpus: {shorten(url)} (leaves the folder)", url=url)
        if path.is_dir():
            for index in _INDEX_PAGES:
                if (path / index).is_file():
                    return path / index
        return path

    def _fetch(self, url: str) -> Document:
        """The file behind a ``local://`` URL, decoded; ``FetchError`` when not a corpus page."""
        try:
            path = self._path_for(url)
            kind = SUFFIXES.get(path.suffix.lower())
            if kind is None or not path.is_file():
                raise FetchError(f"not in this corpus: {shorten(url)}", url=url)
            size = path.stat().st_size
            if size > MAX_FETCH_BYTES:
                raise TooLargeError(f"{shorten(url)}: file of {size} bytes is over the "
                                    f"{MAX_FETCH_BYTES} byte limit", url=url)
            data = path.read_bytes()
        except UnicodeEncodeError as exc:  # a lone surrogate that names no byte
            raise FetchError(f"not in this corpus: {shorten(url)} (not a file name)",
                             url=url) from exc
        except OSError as exc:
            if exc.errno == errno.ENAMETOOLONG:
                raise FetchError(f"not in this corpus: {shorten(url)} (file name too long)",
                                 url=url) from exc
            raise FetchError(f"cannot read {shorten(url)}: {exc.strerror or exc}",
                             url=url) from exc
        key = path.relative_to(self.root).as_posix()
        text = _decode(data, path)
        stem = _readable(path.stem)
        if kind == "text/html":
            title = html_title(text) or stem
        elif kind == "text/markdown":
            title = markdown_title(text) or stem
        else:
            title = stem
        return Document(url=self.url_for(key), content_type=kind, text=text, title=title)
