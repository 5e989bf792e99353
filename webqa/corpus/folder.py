"""A folder of ``.html``/``.htm``/``.md``/``.txt`` files as a searchable corpus.

URLs are ``local://<folder name>/<relative/path>`` (path percent-encoded where needed; a file
name that is not valid UTF-8 has its raw bytes percent-encoded, ``caf%E9.html``). The FTS5
index lives in the cache directory and is refreshed incrementally: a file is re-read only
when its mtime or size changed, and files that disappeared leave the index. An open compares
only each folder's own mtime with the one stored, so its cost follows the number of folders,
not files; a folder whose mtime moved is listed again. A file rewritten in place does not move
its folder's mtime: small folders (``FULL_CHECK_FILES``) are compared file by file on every
open, larger ones on demand (``webqa index --full``, ``build_index(path, full=True)``).
Hidden files and folders and symbolic links are skipped; of a file over 32 MB only the start
is indexed.
"""

from __future__ import annotations

import errno
import logging
import os
import re
import stat
import time
from collections import deque
from collections.abc import Iterator
from itertools import islice
from pathlib import Path, PurePosixPath
from typing import NamedTuple
from urllib.parse import quote, unquote_to_bytes, urlsplit

from webqa.errors import ConfigError, FetchError, TooLargeError
from webqa.records import Document

from .base import MAX_FETCH_BYTES, MAX_INDEX_CHARS, IndexStats, Progress, shorten
from .fts import IndexedCorpus
from .text import decode, html_title, html_to_text, markdown_title, markdown_to_text, valid_text

__all__ = [
    "FolderCorpus",
    "SUFFIXES",
    "FULL_CHECK_FILES",
    "PARALLEL_AFTER",
    "extract",
    "read_and_extract",
]

log = logging.getLogger("webqa.corpus")

#: File kinds a folder corpus indexes, with the content type ``fetch`` reports.
SUFFIXES = {".html": "text/html", ".htm": "text/html", ".md": "text/markdown", ".txt": "text/plain"}
# Commits during a long refresh, so an interrupted one keeps most of its work (a build from
# scratch is one transaction into a side file).
_CHECKPOINT_EVERY = 20_000
#: A folder of at most this many indexed files is compared file by file on every open (a few
#: milliseconds); a larger one only has its folders' mtimes compared (see ``_stale``).
FULL_CHECK_FILES = 2_000
#: Files read one by one before a build hands reading and extraction to worker processes.
PARALLEL_AFTER = 5_000
_CHUNK = 256  # files per task handed to a worker
# A folder mtime this close to now may yet move within the clock's resolution: not trusted.
_RACY_NS = 2_000_000_000
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


def read_and_extract(path: str, size: int) -> tuple[str, str] | tuple[None, str]:
    """``(title, indexed text)`` of the file at ``path`` (``size`` bytes when listed), or
    ``(None, why it is skipped)``; never raises on bad content or an unreadable file."""
    try:
        with open(path, "rb") as fh:
            # Sized by the file: a read of MAX_FETCH_BYTES would allocate that much for every
            # small page. A giant file: index its start.
            data = fh.read(MAX_FETCH_BYTES if size >= MAX_FETCH_BYTES else -1)
        title, body = extract(Path(path), data)
    except OSError as exc:
        return None, f"unreadable: {exc.strerror or exc}"
    except _EXTRACT_ERRORS as exc:  # text extraction is meant never to fail
        return None, f"cannot extract its text: {exc}"
    return title, body[:MAX_INDEX_CHARS]


def _read_many(files: list[tuple[str, int]]) -> list[tuple[str, str] | tuple[None, str]]:
    return [read_and_extract(path, size) for path, size in files]


class _Job(NamedTuple):
    """One file to (re)index."""

    key: str
    rel: str
    path: str
    mtime: float
    size: int
    folder: int
    update: bool
    new: bool


class _Counter:
    """Progress reporting: every file listed counts, read or not."""

    def __init__(self, progress: Progress | None) -> None:
        self.progress = progress
        self.done = 0
        self.last = ""

    def tick(self, key: str) -> None:
        self.done += 1
        self.last = key
        if self.progress is not None:
            self.progress(self.done, None, key)

    def finish(self) -> None:
        if self.progress is not None and self.done:
            self.progress(self.done, self.done, self.last)


def _workers() -> int:
    """Extraction processes for a long build: one core is left to the writer."""
    import multiprocessing  # only long builds need it; its import costs a short run 5 ms

    if "fork" not in multiprocessing.get_all_start_methods():
        return 0  # spawned workers would re-run a caller's unguarded __main__
    return max(1, min(4, (os.cpu_count() or 1) - 1))


def _extracted(
    jobs: Iterator[_Job], after: int
) -> Iterator[tuple[_Job, tuple[str, str] | tuple[None, str]]]:
    """Each job with its file's text, in job order: read here for the first ``after`` jobs,
    then by worker processes a chunk at a time."""
    for n, job in enumerate(jobs, 1):
        yield job, read_and_extract(job.path, job.size)
        if n >= after:
            break
    else:
        return
    workers = _workers()
    if not workers:
        for job in jobs:
            yield job, read_and_extract(job.path, job.size)
        return
    import multiprocessing
    from concurrent.futures import Future, ProcessPoolExecutor

    window: deque[tuple[list[_Job], Future[list[tuple[str, str] | tuple[None, str]]]]]
    window = deque()
    # Forked workers run only _read_many: no lock or connection of this process is used.
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")) as pool:
        try:
            while True:
                chunk = list(islice(jobs, _CHUNK))
                if chunk:
                    window.append(
                        (chunk, pool.submit(_read_many, [(j.path, j.size) for j in chunk]))
                    )
                if window and (not chunk or len(window) > 2 * workers):
                    done, future = window.popleft()
                    yield from zip(done, future.result(), strict=True)
                if not chunk and not window:
                    break
        finally:
            for _, future in window:
                future.cancel()


class FolderCorpus(IndexedCorpus):
    """Search and fetch over a folder of pages (see the module docstring)."""

    kind = "folder"
    _reports_unchanged = True
    #: Up to this many indexed files, every open compares every file (see :meth:`_stale`).
    full_check_files = FULL_CHECK_FILES
    #: Files read in this process before worker processes take over reading (see _update).
    parallel_after = PARALLEL_AFTER

    def __init__(
        self,
        root: str | os.PathLike[str],
        *,
        cache_dir: str | os.PathLike[str] | None = None,
        refresh: bool = True,
        progress: Progress | None = None,
        full: bool = False,
    ) -> None:
        """Open the folder's index, bring it up to date unless ``refresh`` is False.

        ``full``: compare every file's mtime and size with the index, not only each
        folder's mtime (see :meth:`_stale`). Raises ``ConfigError`` when the folder is
        missing or holds no indexable file.
        """
        self.root = Path(root).expanduser().resolve()
        if not self.root.is_dir():
            raise ConfigError(f"corpus folder does not exist: {self.root}")
        super().__init__(
            self.root,
            _label(self.root),
            cache_dir=cache_dir,
            progress=progress,
            update=refresh,
            full=full,
        )

    def _empty_message(self) -> str:
        return f"no indexable files ({', '.join(SUFFIXES)}) in {self.root}"

    # -- indexing -------------------------------------------------------------------------
    def _listing(
        self, rel: str, skipped: list[tuple[str, str]] | None
    ) -> tuple[list[tuple[str, str, str, float, int]], list[str]]:
        """``([(stored key, relative path, path, mtime, size)], [relative subfolder path])``
        of the indexable files and the subfolders directly in folder ``rel`` ("" or
        ``"a/b/"``); symbolic links are not followed (fetch would refuse a target outside
        the folder). Problems are appended to ``skipped`` when it is given."""
        files: list[tuple[str, str, str, float, int]] = []
        subfolders: list[str] = []
        folder = os.path.join(self.root, rel) if rel else str(self.root)
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError as exc:
            if rel and skipped is not None:
                skipped.append((_readable(rel), f"unreadable: {exc.strerror or exc}"))
                log.warning("skipping folder %s: %s", _readable(folder), exc)
            return files, subfolders
        keys: set[str] = set()
        for entry in entries:
            # Hidden files and folders (.git, .venv, ...) are tooling, not content.
            if entry.name.startswith("."):
                continue
            name = rel + entry.name
            try:
                if entry.is_dir(follow_symlinks=False):
                    subfolders.append(name + "/")
                elif os.path.splitext(entry.name)[1].lower() in SUFFIXES and entry.is_file(
                    follow_symlinks=False
                ):
                    st = entry.stat()
                    key = _storable(name)
                    if key in keys:
                        if skipped is not None:
                            skipped.append((_readable(name), f"its name clashes with {key}"))
                            log.warning(
                                "skipping %s: its name clashes with %s", _readable(name), key
                            )
                        continue
                    keys.add(key)
                    files.append((key, name, entry.path, st.st_mtime, st.st_size))
            except OSError as exc:
                if skipped is not None:
                    skipped.append((_readable(name), f"unreadable: {exc.strerror or exc}"))
                    log.warning("skipping %s: %s", _readable(name), exc)
        return files, subfolders

    def _folder_mtime(self, rel: str) -> int | None:
        """The mtime (ns) of folder ``rel``, None when it is gone or no longer a folder."""
        try:
            st = os.lstat(os.path.join(self.root, rel) if rel else self.root)
        except OSError:
            return None
        return st.st_mtime_ns if stat.S_ISDIR(st.st_mode) else None

    def _stale(self, full: bool = False) -> bool:
        """Whether any indexed folder's mtime moved (a file added, removed or renamed in it,
        which is also how most editors save). A file rewritten in place leaves its folder's
        mtime alone: that is found by a full check, which compares every file's mtime and
        size and runs on every open of a folder of at most :data:`FULL_CHECK_FILES` files,
        and on demand (``webqa index --full``)."""
        full = full or self.index.stored_count() <= self.full_check_files
        if not full:
            return self._folders_moved()
        folders = self.index.dirs()
        if not folders:
            return True
        known = {path for _, path, _, _ in folders}
        for folder, _path, raw, mtime in folders:
            rel = os.fsdecode(raw)
            if self._folder_mtime(rel) != mtime:
                return True
            files, subfolders = self._listing(rel, None)
            if {key: (m, size) for key, _, _, m, size in files} != self.index.files_in(folder):
                return True
            if any(_storable(sub) not in known for sub in subfolders):
                return True
        return False

    def _folders_moved(self) -> bool:
        """The common case, once per open: one ``fstatat`` per indexed folder relative to
        the root's descriptor (shorter path walks than absolute paths), nothing else."""
        stamps = self.index.dir_stamps()
        if not stamps:
            return True
        try:
            fd = os.open(self.root, os.O_RDONLY | os.O_DIRECTORY)
        except OSError:
            return True
        lstat, isdir = os.stat, stat.S_ISDIR
        try:
            return any(
                (st := lstat(raw or b".", dir_fd=fd, follow_symlinks=False)).st_mtime_ns != mtime
                or not isdir(st.st_mode)
                for raw, mtime in stamps
            )
        except OSError:  # a folder is gone
            return True
        finally:
            os.close(fd)

    def _update(self, progress: Progress | None, full: bool = False) -> IndexStats:
        """Index new and changed files, drop removed ones; returns what was done.

        Only folders whose mtime moved are listed again (every folder when ``full``, or when
        the folder holds at most :data:`FULL_CHECK_FILES` files); a new folder is read
        whole. What is held in memory is one folder's listing at a time. Past
        :data:`PARALLEL_AFTER` files to read, reading and text extraction move to worker
        processes while this one writes the index."""
        start = time.monotonic()
        stats = IndexStats(self.kind, self.root, self.index.path)
        known = {path: (folder, raw, mtime) for folder, path, raw, mtime in self.index.dirs()}
        fresh = not known
        full = full or (not fresh and self.index.stored_count() <= self.full_check_files)
        pending: list[str] = []
        if fresh:
            pending.append("")
        for folder, raw, mtime in known.values():
            rel = os.fsdecode(raw)
            now = self._folder_mtime(rel)
            if now is None:
                stats.removed += self.index.drop_dir(folder)
            elif full or now != mtime:
                pending.append(rel)
        count = _Counter(progress)
        jobs = self._jobs(pending, known, fresh, stats, count)
        written = 0
        for job, result in _extracted(jobs, self.parallel_after):
            if self._store(job, result, stats):
                written += 1
            count.tick(job.key)
            if not fresh and written >= _CHECKPOINT_EVERY:
                self.index.checkpoint()
                written = 0
        count.finish()
        changed = stats.added + stats.updated + stats.removed
        self.index.commit(changed=changed)
        stats.documents = self.index.stored_count()
        stats.unchanged = stats.documents - stats.added - stats.updated
        stats.seconds = time.monotonic() - start
        return stats

    def _jobs(
        self,
        pending: list[str],
        known: dict[str, tuple[int, bytes, int]],
        fresh: bool,
        stats: IndexStats,
        count: _Counter,
    ) -> Iterator[_Job]:
        """List the ``pending`` folders (and the new ones found in them), record their
        stamps and drop what left them; yield the files that must be (re)read."""
        while pending:
            rel = pending.pop()
            # The folder's mtime is read before its listing: a change made while it is listed
            # moves the mtime past the one stored, and the next open lists it again. One
            # within the clock's resolution of now is not trusted at all.
            seen = self._folder_mtime(rel)
            if seen is None:
                continue
            mtime = -1 if time.time_ns() - seen < _RACY_NS else seen
            files, subfolders = self._listing(rel, stats.skipped)
            path = _storable(rel)
            old = known.get(path)
            folder = self.index.put_dir(path, os.fsencode(rel), mtime)
            stored = self.index.files_in(folder) if old is not None else {}
            for key, name, file_path, file_mtime, size in files:
                had = stored.pop(key, None)
                if had == (file_mtime, size):
                    count.tick(key)
                else:
                    yield _Job(
                        key,
                        name,
                        file_path,
                        file_mtime,
                        size,
                        folder,
                        had is not None,
                        had is None and (fresh or old is None),
                    )
            for key in stored:
                self.index.remove(key)
                stats.removed += 1
            pending.extend(sub for sub in reversed(subfolders) if _storable(sub) not in known)

    def _store(
        self, job: _Job, result: tuple[str, str] | tuple[None, str], stats: IndexStats
    ) -> bool:
        """Store one extracted file; False (and a note in ``stats``) when it was skipped."""
        title, body = result
        if title is None:
            stats.skipped.append((job.key, body))
            log.warning("skipping %s: %s", job.key, body)
            return False
        self.index.put(
            job.key,
            self.url_for(job.rel),
            title,
            body,
            mtime=job.mtime,
            size=job.size,
            new=job.new,
            folder=job.folder,
        )
        if job.update:
            stats.updated += 1
        else:
            stats.added += 1
        return True

    def url_for(self, key: str) -> str:
        """The URL of the file at relative path ``key`` (raw bytes of a non-UTF-8 name are
        percent-encoded)."""
        return f"local://{self.label}/{quote(os.fsencode(key), safe=_SAFE)}"

    # -- fetching -----------------------------------------------------------------------------
    def _path_for(self, url: str) -> Path:
        parts = urlsplit(url)
        if parts.scheme != "local" or parts.netloc != self.label:
            raise FetchError(
                f"not in this corpus: {shorten(url)} (this is local://{self.label}/)", url=url
            )
        # Percent-escapes are file-name bytes: %E9 finds a Latin-1 named file.
        raw = unquote_to_bytes(parts.path.encode("utf-8", "surrogateescape"))
        if b"\x00" in raw:
            raise FetchError(
                f"not in this corpus: {shorten(url)} (a file name cannot hold a NUL byte)", url=url
            )
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
                raise TooLargeError(
                    f"{shorten(url)}: file of {size} bytes is over the "
                    f"{MAX_FETCH_BYTES} byte limit",
                    url=url,
                )
            data = path.read_bytes()
        except UnicodeEncodeError as exc:  # a lone surrogate that names no byte
            raise FetchError(
                f"not in this corpus: {shorten(url)} (not a file name)", url=url
            ) from exc
        except OSError as exc:
            if exc.errno == errno.ENAMETOOLONG:
                raise FetchError(
                    f"not in this corpus: {shorten(url)} (file name too long)", url=url
                ) from exc
            raise FetchError(f"cannot read {shorten(url)}: {exc.strerror or exc}", url=url) from exc
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
