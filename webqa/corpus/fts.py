"""The SQLite FTS5 index behind folder and WARC corpora, and the corpus base they share.

:class:`FtsIndex` is storage, refresh bookkeeping and lookup; :class:`IndexedCorpus` is what a
folder and a WARC corpus have in common (opening the index under a cross-process lock,
rebuilding a damaged one, search, fetch error wrapping, close).

One file per corpus. ``docs`` holds what is needed to serve a hit (key, URL, title, file
stamp, kind-specific ``extra``, folder id); the FTS5 table ``fts`` (same rowid) holds title and
body text for bm25 ranking and ``snippet()``; ``dirs`` holds each indexed folder's own mtime (a
folder corpus lists again only the folders whose mtime moved, see :mod:`webqa.corpus.folder`);
``df`` caches each term's document frequency for the query planner (see
:mod:`webqa.corpus.ftsquery`), because FTS5 itself only knows it by walking the term's whole
doclist.

Damage (a file that is not a database, a missing table, ``PRAGMA quick_check`` failing on open,
or SQLite reporting corruption during a query) is logged as a warning on ``webqa.corpus`` and
repaired by rebuilding the index from its source: the index is only a cache.

Opening an up-to-date index writes nothing and takes no lock: :class:`IndexedCorpus` first
opens it as it is and asks its kind whether anything changed (:meth:`IndexedCorpus._stale`);
only then does it take :func:`build_lock` and refresh. A from-scratch build is written to a
side file without a journal, in one transaction, and renamed into place when it is complete.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from webqa.errors import ConfigError, FetchError, SearchError, WebQAError
from webqa.records import Document, SearchResult

from . import ftsquery
from .base import ClosingCorpus, IndexStats, Progress, bound_query, shorten
from .cache import index_file

__all__ = [
    "FtsIndex",
    "IndexedCorpus",
    "SCHEMA_VERSION",
    "QUICK_CHECK_MAX_BYTES",
    "build_lock",
    "is_damage",
]

log = logging.getLogger("webqa.corpus")

#: Bump when the schema, the tokenizer or the text extraction changes: an index of another
#: version is rebuilt.
SCHEMA_VERSION = "webqa-fts/4"
TOKENIZER = "porter unicode61 remove_diacritics 2"
_OPTIMIZE_AFTER = 1000  # documents changed in one refresh
_AUTOMERGE = 4  # FTS5's default, restored once a bulk build is done

_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS docs(
    id INTEGER PRIMARY KEY, key TEXT UNIQUE NOT NULL, url TEXT NOT NULL, title TEXT NOT NULL,
    mtime REAL NOT NULL DEFAULT 0, size INTEGER NOT NULL DEFAULT 0, extra TEXT, dir INTEGER);
CREATE INDEX IF NOT EXISTS docs_url ON docs(url);
CREATE INDEX IF NOT EXISTS docs_dir ON docs(dir) WHERE dir IS NOT NULL;
CREATE TABLE IF NOT EXISTS dirs(
    id INTEGER PRIMARY KEY, path TEXT UNIQUE NOT NULL, raw BLOB NOT NULL, mtime INTEGER NOT NULL);
CREATE VIRTUAL TABLE IF NOT EXISTS fts USING fts5(title, body, tokenize='{TOKENIZER}');
CREATE VIRTUAL TABLE IF NOT EXISTS fts_vocab USING fts5vocab(fts, 'row');
CREATE TABLE IF NOT EXISTS df(term TEXT PRIMARY KEY, n INTEGER NOT NULL) WITHOUT ROWID;
"""
#: Every object an index of this schema holds (FTS5's shadow tables included): one missing
#: means the file was damaged, and it is rebuilt rather than silently recreated empty.
_OBJECTS = frozenset(
    {
        "meta",
        "docs",
        "docs_url",
        "docs_dir",
        "dirs",
        "fts",
        "fts_vocab",
        "df",
        "fts_data",
        "fts_idx",
        "fts_content",
        "fts_docsize",
        "fts_config",
    }
)
#: ``PRAGMA quick_check`` on open costs about 0.5 ms per MB of index warm and 3 ms per MB cold
#: (48 ms for 10,000 encyclopedia pages, 16 MB): it runs on open only for indexes up to this
#: size. Past it, damage is found (and repaired) when a query trips over it.
QUICK_CHECK_MAX_BYTES = 4 << 20
#: Counting rows (documents against indexed texts) is linear in their number: past this index
#: size the counts are left to the query that would trip over a mismatch.
COUNT_CHECK_MAX_BYTES = 64 << 20
# SQLite primary result codes that mean "this file is damaged", not "this statement failed".
_SQLITE_CORRUPT, _SQLITE_NOTADB = 11, 26


def is_damage(exc: BaseException) -> bool:
    """Whether an SQLite error means the index file is damaged (and should be rebuilt)."""
    if not isinstance(exc, sqlite3.DatabaseError):
        return False
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None and code & 0xFF in (_SQLITE_CORRUPT, _SQLITE_NOTADB):
        return True
    text = str(exc).lower()
    return (
        "malformed" in text
        or "no such table" in text
        or "not a database" in text
        or "corrupt" in text
    )


class _Damaged(Exception):
    """Raised inside :meth:`FtsIndex._open` when the structural checks fail."""


class _NotReady(Exception):
    """Raised by :meth:`FtsIndex._open` in probe mode: the file needs writing before use."""


@contextmanager
def build_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``<path>.lock`` while an index is opened, checked and refreshed.

    Two processes refreshing one index would otherwise both read the same file stamps and
    both insert the same new documents. The second one waits here and then finds the work
    done. Without ``fcntl`` (Windows) there is no lock; :meth:`FtsIndex.put` still tolerates a
    document another writer stored first.
    """
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        yield
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(f"{path}.lock", "a+b") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            log.info("waiting for another process that is indexing %s", path)
            fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


class FtsIndex:
    """An FTS5 index file; thread-safe through one lock around its connection.

    SQLite errors leave as webqa errors: ``ConfigError`` while building or reading
    statistics, ``SearchError`` from :meth:`search`, ``FetchError`` from the lookups.
    """

    def __init__(self, path: Path, *, bulk: bool = False) -> None:
        """Open (or create) the index at ``path``.

        An index of another schema version is wiped; a damaged file (not a database, a table
        missing, ``PRAGMA quick_check`` failing) is deleted and created afresh (it is only a
        cache): ``recreated`` is then True and the caller re-indexes its source. ``bulk``: a
        new file written by one from-scratch build, without a journal (the caller renames it
        into place once :meth:`finish_bulk` has run, or deletes it).
        """
        self.path = path
        self._bulk = bulk
        self._lock = threading.RLock()
        self._db: sqlite3.Connection | None = None
        self._opened_inode: int | None = None
        #: Set when an SQLite error showed the file to be damaged; cleared by :meth:`reset`.
        self.damaged = False
        #: True when a damaged file was found on open and replaced by an empty index.
        self.recreated = False
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            try:
                self._open()
            except (sqlite3.DatabaseError, _Damaged) as exc:
                log.warning("search index %s is damaged (%s); rebuilding it", path, exc)
                self._delete_files()
                self.recreated = True
                self._open()
        except (sqlite3.Error, OSError, _Damaged) as exc:
            raise ConfigError(f"cannot open the search index {path}: {exc}") from exc

    @classmethod
    def existing(cls, path: Path) -> FtsIndex | None:
        """The index at ``path`` opened without writing anything, or None when it is missing,
        of another version, or fails the structural checks (the caller then opens it under
        :func:`build_lock`, which repairs or rebuilds it)."""
        if not path.is_file():
            return None
        self = cls.__new__(cls)
        self.path = path
        self._bulk = False
        self._lock = threading.RLock()
        self._db = None
        self._opened_inode = None
        self.damaged = False
        self.recreated = False
        try:
            self._open(probe=True)
        except (sqlite3.Error, OSError, _Damaged, _NotReady) as exc:
            log.debug("search index %s needs its writer: %s", path, exc)
            return None
        return self

    def _delete_files(self) -> None:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{self.path}{suffix}").unlink(missing_ok=True)

    def reset(self) -> None:
        """Replace a damaged index file by an empty one (the caller re-indexes its source).

        Raises ``ConfigError`` when the new file cannot be created.
        """
        with self._lock:
            self._close_db()
            try:
                if self._inode() == self._opened_inode:
                    self._delete_files()
                    self._open()
                else:
                    # Another process has already replaced the file: use its rebuild.
                    try:
                        self._open()
                    except (sqlite3.DatabaseError, _Damaged):
                        self._delete_files()
                        self._open()
            except (sqlite3.Error, OSError, _Damaged) as exc:
                raise ConfigError(f"cannot recreate the search index {self.path}: {exc}") from exc
            self.damaged = False

    def _inode(self) -> int | None:
        try:
            return os.stat(self.path).st_ino
        except OSError:
            return None

    def _check(self, db: sqlite3.Connection) -> None:
        """Cheap structural checks of an existing index; raises ``_Damaged``.

        They run in one read transaction, so a writer committing meanwhile (there should be
        none: writers hold :func:`build_lock`) cannot make the counts disagree.
        """
        db.execute("BEGIN")
        try:
            names = {name for (name,) in db.execute("SELECT name FROM sqlite_master")}
            missing = sorted(_OBJECTS - names)
            if missing:
                raise _Damaged(f"missing {', '.join(missing)}")
            try:
                size = os.path.getsize(self.path)
            except OSError:
                size = 0
            if size <= COUNT_CHECK_MAX_BYTES:
                docs = db.execute("SELECT count(*) FROM docs").fetchone()[0]
                texts = db.execute("SELECT count(*) FROM fts_docsize").fetchone()[0]
                if docs != texts:
                    raise _Damaged(f"{docs} documents but {texts} indexed texts")
            if size <= QUICK_CHECK_MAX_BYTES:
                verdict = db.execute("PRAGMA quick_check(1)").fetchone()
                if not verdict or verdict[0] != "ok":
                    raise _Damaged(f"quick_check: {verdict[0] if verdict else 'no answer'}")
        finally:
            db.execute("COMMIT")

    def _open(self, *, probe: bool = False) -> None:
        # Autocommit: writes open their own transaction (see _begin), so a search never
        # leaves one open that would pin an old snapshot of the file. A writer in another
        # process is waited for rather than failed on.
        db = sqlite3.connect(
            str(self.path), check_same_thread=False, isolation_level=None, timeout=30
        )
        self._db = db
        try:
            if self._bulk:
                # A side file nobody reads until it is renamed into place: a crash loses
                # only this build, so neither a journal nor syncing buys anything.
                db.execute("PRAGMA journal_mode=OFF")
                db.execute("PRAGMA synchronous=OFF")
                db.execute("PRAGMA cache_size=-65536")
            else:
                mode = db.execute("PRAGMA journal_mode").fetchone()[0]
                if mode.lower() != "wal":
                    if probe:
                        raise _NotReady(f"journal mode {mode}")
                    db.execute("PRAGMA journal_mode=WAL")
                db.execute("PRAGMA synchronous=NORMAL")
                # Reading doclists through mmap saves a read() call per page; 256 MB caps what
                # it can add to the resident set.
                db.execute("PRAGMA mmap_size=268435456")
                db.execute("PRAGMA cache_size=-16384")
            version = self._meta_get("schema")
            if version == SCHEMA_VERSION:
                self._check(db)
            elif probe:
                raise _NotReady(f"schema {version}")
            else:
                if version is not None:
                    log.info(
                        "search index %s is of another version (%s); rebuilding it",
                        self.path,
                        version,
                    )
                    self._wipe()
                db.executescript(_SCHEMA)
                self._meta_set("schema", SCHEMA_VERSION)
            if self._bulk:
                # No merging while a build inserts: its final 'optimize' merges everything
                # once (a fifth less work than merging as it goes).
                db.execute("INSERT INTO fts(fts, rank) VALUES('automerge', 0)")
            self._planner = ftsquery.Planner(db, TOKENIZER)
            self._opened_inode = self._inode()
        except (sqlite3.Error, _Damaged, _NotReady):
            self._close_db()
            raise

    def finish_bulk(self) -> None:
        """Commit a bulk build and switch its file to the WAL journal readers expect."""
        with self._using("finishing the build") as db:
            self._begin()
            db.execute(f"INSERT INTO fts(fts, rank) VALUES('automerge', {_AUTOMERGE})")
            db.execute("COMMIT")
            db.execute("PRAGMA journal_mode=WAL")

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return self._db is None

    @property
    def db(self) -> sqlite3.Connection:
        """The open connection; ``ConfigError`` once the index is closed."""
        if self._db is None:
            raise ConfigError(f"search index {self.path} is closed")
        return self._db

    @contextmanager
    def _using(
        self, what: str, error: type[WebQAError] = ConfigError
    ) -> Iterator[sqlite3.Connection]:
        with self._lock:
            if self._db is None:
                raise error(f"search index {self.path}: {what} failed: the index is closed")
            try:
                yield self._db
            except sqlite3.Error as exc:
                if is_damage(exc):
                    self.damaged = True
                raise error(f"search index {self.path}: {what} failed: {exc}") from exc
            except UnicodeEncodeError as exc:  # text SQLite cannot bind (a lone surrogate)
                raise error(f"search index {self.path}: {what} failed: {exc}") from exc

    def _begin(self) -> None:
        # IMMEDIATE takes the write lock up front: two processes refreshing one index then
        # wait their turn (busy timeout) instead of deadlocking on a read-to-write upgrade.
        if not self.db.in_transaction:
            self.db.execute("BEGIN IMMEDIATE")

    # -- metadata -------------------------------------------------------------------------
    def _meta_get(self, key: str) -> str | None:
        try:
            row = self.db.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        except sqlite3.OperationalError:  # no meta table yet: a fresh file
            return None
        return row[0] if row else None

    def _meta_set(self, key: str, value: str) -> None:
        self.db.execute("INSERT OR REPLACE INTO meta(key, value) VALUES(?, ?)", (key, value))

    def meta(self, key: str) -> str | None:
        """A stored metadata value (for example the stamp of the source it was built from)."""
        with self._using("reading metadata"):
            return self._meta_get(key)

    def set_meta(self, key: str, value: str) -> None:
        """Store a metadata value (committed with the next :meth:`commit`)."""
        with self._using("writing metadata"):
            self._begin()
            self._meta_set(key, value)

    def _wipe(self) -> None:
        for name in ("fts_vocab", "fts", "df", "dirs", "docs", "meta"):
            self.db.execute(f"DROP TABLE IF EXISTS {name}")

    def clear(self) -> None:
        """Remove every document (used before a full rebuild)."""
        with self._using("clearing") as db:
            self._begin()
            for table in ("docs", "fts", "df", "dirs"):
                db.execute(f"DELETE FROM {table}")

    # -- writing ----------------------------------------------------------------------------
    def stamps(self) -> dict[str, tuple[float, int]]:
        """``key -> (mtime, size)`` of every indexed document, for incremental refresh."""
        with self._using("reading file stamps") as db:
            return {k: (m, s) for k, m, s in db.execute("SELECT key, mtime, size FROM docs")}

    def put(
        self,
        key: str,
        url: str,
        title: str,
        body: str,
        *,
        mtime: float = 0.0,
        size: int = 0,
        extra: str | None = None,
        new: bool = False,
        folder: int | None = None,
    ) -> None:
        """Add or replace the document stored under ``key`` (``new``: the caller believes it
        is not stored yet, which saves a lookup; a row another writer stored meanwhile is
        replaced all the same; ``folder``: the :meth:`put_dir` id of the folder it is in)."""
        with self._using(f"indexing {key}") as db:
            self._begin()
            row = None if new else db.execute("SELECT id FROM docs WHERE key=?", (key,)).fetchone()
            rowid = None
            if row is None:
                try:
                    rowid = db.execute(
                        "INSERT INTO docs(key, url, title, mtime, size, extra, "
                        "dir) VALUES(?, ?, ?, ?, ?, ?, ?)",
                        (key, url, title, mtime, size, extra, folder),
                    ).lastrowid
                except sqlite3.IntegrityError:  # stored since the caller read the stamps
                    row = db.execute("SELECT id FROM docs WHERE key=?", (key,)).fetchone()
                    if row is None:
                        raise
            if row is not None:
                db.execute("DELETE FROM fts WHERE rowid=?", (row[0],))
                db.execute(
                    "UPDATE docs SET url=?, title=?, mtime=?, size=?, extra=?, dir=? WHERE id=?",
                    (url, title, mtime, size, extra, folder, row[0]),
                )
                rowid = row[0]
            db.execute("INSERT INTO fts(rowid, title, body) VALUES(?, ?, ?)", (rowid, title, body))

    def remove(self, key: str) -> None:
        """Remove the document stored under ``key`` (no error when absent)."""
        with self._using(f"removing {key}") as db:
            self._begin()
            row = db.execute("SELECT id FROM docs WHERE key=?", (key,)).fetchone()
            if row:
                db.execute("DELETE FROM fts WHERE rowid=?", (row[0],))
                db.execute("DELETE FROM docs WHERE id=?", (row[0],))

    # -- folders --------------------------------------------------------------------------
    def dirs(self) -> list[tuple[int, str, bytes, int]]:
        """``(id, path, raw path bytes, mtime_ns)`` of every indexed folder."""
        with self._using("reading folder stamps") as db:
            return db.execute("SELECT id, path, raw, mtime FROM dirs").fetchall()

    def dir_stamps(self) -> list[tuple[bytes, int]]:
        """``(raw path bytes, mtime_ns)`` of every indexed folder: what the quick change
        check of every open reads, so only the two columns it compares."""
        with self._using("reading folder stamps") as db:
            return db.execute("SELECT raw, mtime FROM dirs").fetchall()

    def put_dir(self, path: str, raw: bytes, mtime: int) -> int:
        """Record folder ``path`` (its bytes ``raw``) with its ``mtime``; returns its id."""
        with self._using(f"recording folder {path}") as db:
            self._begin()
            row = db.execute("SELECT id FROM dirs WHERE path=?", (path,)).fetchone()
            if row is None:
                return int(
                    db.execute(
                        "INSERT INTO dirs(path, raw, mtime) VALUES(?, ?, ?)", (path, raw, mtime)
                    ).lastrowid
                    or 0
                )
            db.execute("UPDATE dirs SET raw=?, mtime=? WHERE id=?", (raw, mtime, row[0]))
            return int(row[0])

    def files_in(self, folder: int) -> dict[str, tuple[float, int]]:
        """``key -> (mtime, size)`` of the documents of folder id ``folder``."""
        with self._using("reading file stamps") as db:
            return {
                k: (m, s)
                for k, m, s in db.execute(
                    "SELECT key, mtime, size FROM docs WHERE dir=?", (folder,)
                )
            }

    def drop_dir(self, folder: int) -> int:
        """Forget folder id ``folder`` and its documents; returns how many there were."""
        with self._using("removing a folder") as db:
            self._begin()
            ids = [i for (i,) in db.execute("SELECT id FROM docs WHERE dir=?", (folder,))]
            db.executemany("DELETE FROM fts WHERE rowid=?", [(i,) for i in ids])
            db.execute("DELETE FROM docs WHERE dir=?", (folder,))
            db.execute("DELETE FROM dirs WHERE id=?", (folder,))
            return len(ids)

    def commit(self, *, changed: int = 0) -> None:
        """Commit writes; refresh the term statistics when ``changed`` documents warrant it.

        With nothing written and nothing ``changed`` it writes nothing (no write lock)."""
        with self._using("committing") as db:
            if not changed and not db.in_transaction:
                return
            self._begin()
            total = db.execute("SELECT count(*) FROM docs").fetchone()[0]
            pending = int(self._meta_get("df_pending") or 0) + changed
            # A full recount costs about a second per 100,000 documents; stale counts only
            # make the planner's choices a little less sharp, so small changes can wait.
            if pending and (total <= 50_000 or pending * 20 >= total):
                db.execute("DELETE FROM df")
                db.execute("INSERT INTO df(term, n) SELECT term, doc FROM fts_vocab")
                pending = 0
                # The median stored page size, for the ranker's size penalty: a sort of every
                # row, so it is kept here with the term statistics, not computed per search.
                n = db.execute("SELECT count(*) FROM docs WHERE size > 0").fetchone()[0]
                row = (
                    db.execute(
                        "SELECT size FROM docs WHERE size > 0 ORDER BY size LIMIT 1 OFFSET ?",
                        (n // 2,),
                    ).fetchone()
                    if n
                    else None
                )
                self._meta_set("median_size", str(float(row[0]) if row else 0.0))
            if changed >= _OPTIMIZE_AFTER:
                # One b-tree per term instead of many small segments: about 2 s per 100,000
                # pages once, and every later query visits fewer pages.
                db.execute("INSERT INTO fts(fts) VALUES('optimize')")
            self._meta_set("df_pending", str(pending))
            self._meta_set("documents", str(total))
            db.execute("COMMIT")

    def checkpoint(self) -> None:
        """Commit writes so far without touching the term statistics (for long builds)."""
        with self._using("committing") as db:
            if db.in_transaction:
                db.execute("COMMIT")

    # -- reading ----------------------------------------------------------------------------
    def count(self) -> int:
        """Number of documents in the index."""
        with self._using("counting") as db:
            return db.execute("SELECT count(*) FROM docs").fetchone()[0]

    def stored_count(self) -> int:
        """Number of documents as recorded by the last :meth:`commit` (no table scan); a
        count when the index has no such record yet."""
        with self._using("counting") as db:
            value = self._meta_get("documents")
            if value is not None and not db.in_transaction:
                return int(value)
            return db.execute("SELECT count(*) FROM docs").fetchone()[0]

    def _row(self, column: str, value: str) -> dict[str, Any] | None:
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate: no stored key or URL can hold one
            return None
        with self._using(f"looking up {value[:200]}", FetchError) as db:
            row = db.execute(
                f"SELECT key, url, title, extra FROM docs WHERE {column}=? "
                "ORDER BY id DESC LIMIT 1",
                (value,),
            ).fetchone()
        return dict(zip(("key", "url", "title", "extra"), row, strict=True)) if row else None

    def by_url(self, url: str) -> dict[str, Any] | None:
        """The stored row (``key, url, title, extra``) for ``url``, or None."""
        return self._row("url", url)

    def by_key(self, key: str) -> dict[str, Any] | None:
        """The stored row (``key, url, title, extra``) for ``key``, or None."""
        return self._row("key", key)

    def search(self, query: str, limit: int = 10, *, engine: str = "fts") -> list[SearchResult]:
        """bm25-ranked results for free text ``query`` (see :mod:`webqa.corpus.ftsquery`)."""
        with self._using(f"{engine}: searching", SearchError):
            return self._planner.search(query, limit)

    def _close_db(self) -> None:
        db, self._db = self._db, None
        if db is None:
            return
        try:
            if db.in_transaction:
                db.execute("ROLLBACK")
        except sqlite3.Error as exc:  # a damaged file can refuse even this; closing still works
            log.debug("rollback on closing %s failed: %s", self.path, exc)
        finally:
            db.close()

    def close(self) -> None:
        """Close the database connection, rolling back uncommitted writes (idempotent)."""
        with self._lock:
            self._close_db()


class IndexedCorpus(ClosingCorpus):
    """The part of a corpus kept in an :class:`FtsIndex` that folders and WARC files share.

    It owns the index: opening it under :func:`build_lock`, bringing it up to date, rebuilding
    it from the source when it turns out to be damaged (on open, or when a search or lookup
    trips over the damage), searching, wrapping fetch errors, closing. A kind says only how to
    bring the index up to date (:meth:`_update`) and how to fetch one page (:meth:`_fetch`).
    """

    kind = "index"
    #: Exceptions of a kind's fetch path that mean "this URL cannot be served" (a NUL byte, a
    #: file name too long, an unreadable record); they leave :meth:`fetch` as ``FetchError``.
    _FETCH_ERRORS: tuple[type[BaseException], ...] = (
        OSError,
        ValueError,
        LookupError,
        RecursionError,
        sqlite3.Error,
    )

    #: Whether an open that found nothing changed still reports stats (folders do, with
    #: every document unchanged; a WARC reports None).
    _reports_unchanged = False

    def __init__(
        self,
        source: Path,
        label: str,
        *,
        cache_dir: str | os.PathLike[str] | None,
        progress: Progress | None,
        update: bool = True,
        full: bool = False,
    ) -> None:
        """Open the index of ``source`` and bring it up to date (unless ``update`` is False).

        ``full``: compare every file of the source with the index, not only what the quick
        check (:meth:`_stale`) looks at. Raises ``ConfigError`` when the index cannot be
        opened or the source holds no page.
        """
        #: The folder or file the index is built from.
        self.source = source
        self.label = label
        self.name = f"{self.kind}:{label}"
        self.last_refresh: IndexStats | None = None
        self._repair_lock = threading.Lock()
        path = index_file(source, self.kind, cache_dir)
        if full or not self._open_unlocked(path, update):
            with build_lock(path):
                try:
                    built = update and self._build_fresh(path, progress)
                    self.index = FtsIndex(path)
                    if (update and not built) or self.index.recreated:
                        self.last_refresh = self._update_or_repair(progress, full)
                except BaseException:
                    if hasattr(self, "index"):
                        self.index.close()
                    raise
        try:
            empty = self.index.stored_count() == 0
        except BaseException:
            self.index.close()
            raise
        if empty:
            self.index.close()
            raise ConfigError(self._empty_message())

    def _open_unlocked(self, path: Path, update: bool) -> bool:
        """Use the index at ``path`` as it is when it is sound and up to date (no lock, no
        write); False when the caller must open it under the build lock."""
        index = FtsIndex.existing(path)
        if index is None:
            return False
        self.index = index
        try:
            stale = update and self._stale(full=False)
        except (WebQAError, OSError, sqlite3.Error) as exc:
            log.debug("%s: the quick check failed (%s); refreshing under the lock", self.name, exc)
            stale = True
        if stale:
            index.close()
            del self.index
            return False
        if update and self._reports_unchanged:
            self.last_refresh = self._unchanged()
        return True

    def _build_fresh(self, path: Path, progress: Progress | None) -> bool:
        """Build a missing index from scratch into a side file and rename it into place;
        False when an index file is there already (caller holds :func:`build_lock`)."""
        if path.exists():
            return False
        side = path.with_name(path.name + ".build")
        for suffix in ("", "-journal", "-wal", "-shm"):
            Path(f"{side}{suffix}").unlink(missing_ok=True)
        self.index = FtsIndex(side, bulk=True)
        try:
            stats = self._update(progress, False)
            self.index.finish_bulk()
        except BaseException:
            self.index.close()
            Path(side).unlink(missing_ok=True)
            raise
        self.index.close()
        try:
            os.replace(side, path)
        except OSError as exc:
            raise ConfigError(f"cannot write the search index {path}: {exc}") from exc
        if stats is not None:
            stats.index_path = path
        self.last_refresh = stats
        return True

    # -- what a kind provides ---------------------------------------------------------------
    def _update(self, progress: Progress | None, full: bool = False) -> IndexStats | None:
        """Bring the index up to date with the source; None when nothing needed doing.

        ``full``: compare everything, not only what :meth:`_stale` looks at."""
        raise NotImplementedError

    def _stale(self, full: bool = False) -> bool:
        """Whether the index may be behind its source; reads, never writes. The default
        says yes, so :meth:`_update` always runs."""
        return True

    def _fetch(self, url: str) -> Document:
        """The page at ``url`` (may raise any of ``_FETCH_ERRORS``)."""
        raise NotImplementedError

    def _empty_message(self) -> str:
        return f"no pages in {self.name}"

    def _unchanged(self) -> IndexStats:
        count = self.index.stored_count()
        return IndexStats(self.kind, self.source, self.index.path, documents=count, unchanged=count)

    # -- upkeep -----------------------------------------------------------------------------
    def _warn_damaged(self, cause: Exception) -> None:
        log.warning(
            "%s: search index %s is damaged (%s); rebuilding it from %s",
            self.name,
            self.index.path,
            cause,
            self.source,
        )

    def _update_or_repair(self, progress: Progress | None, full: bool = False) -> IndexStats | None:
        try:
            return self._update(progress, full)
        except WebQAError as exc:
            if not self.index.damaged:
                raise
            self._warn_damaged(exc)
        self.index.reset()
        return self._update(progress, full)

    def refresh(self, progress: Progress | None = None, *, full: bool = False) -> IndexStats:
        """Bring the index up to date now and say what was done (``ConfigError`` on failure).

        ``full``: compare every file with the index (see :meth:`_stale` for the quick check
        that is otherwise enough)."""
        self._check_open(ConfigError)
        with build_lock(self.index.path):
            stats = self._update_or_repair(progress, full)
        return stats if stats is not None else self._unchanged()

    def _repair(self, error: type[WebQAError], cause: WebQAError) -> None:
        """Rebuild a damaged index from the source (one thread at a time)."""
        with self._repair_lock:
            if not self.index.damaged:  # another thread has just rebuilt it
                return
            self._warn_damaged(cause)
            try:
                with build_lock(self.index.path):
                    self.index.reset()
                    self.last_refresh = self._update(None)
            except WebQAError as exc:
                raise error(
                    f"{self.name}: the damaged search index could not be rebuilt: {exc}"
                ) from exc

    def _check_open(self, error: type[WebQAError]) -> None:
        if self.index.closed:
            raise error(f"{self.name}: the corpus was closed")

    # -- SearchEngine / DocumentSource -------------------------------------------------------
    def search(self, query: str, limit: int = 10) -> list[SearchResult]:
        """bm25-ranked pages for ``query`` (see :mod:`webqa.corpus.ftsquery`); ``SearchError``
        when the index fails (a damaged index is rebuilt once and the search retried)."""
        self._check_open(SearchError)
        query = bound_query(query)
        try:
            return self.index.search(query, limit, engine=self.name)
        except WebQAError as exc:
            if not self.index.damaged:
                raise
            self._repair(SearchError, exc)
        return self.index.search(query, limit, engine=self.name)

    def fetch(self, url: str) -> Document:
        """The page at ``url``; ``FetchError`` (never a foreign exception) when it cannot be
        served."""
        self._check_open(FetchError)
        try:
            return self._guarded_fetch(url)
        except WebQAError as exc:
            if not self.index.damaged:
                raise
            self._repair(FetchError, exc)
        return self._guarded_fetch(url)

    def _guarded_fetch(self, url: str) -> Document:
        try:
            return self._fetch(url)
        except WebQAError:
            raise
        except self._FETCH_ERRORS as exc:
            if isinstance(exc, sqlite3.Error) and is_damage(exc):
                self.index.damaged = True
            raise FetchError(f"cannot read {shorten(url)}: {exc}", url=url) from exc

    def close(self) -> None:
        """Close the index (idempotent); later searches and fetches raise a webqa error."""
        self.index.close()
