"""The SQLite FTS5 index behind folder and WARC corpora: storage, refresh bookkeeping, lookup.

One file per corpus. ``docs`` holds what is needed to serve a hit (key, URL, title, file
stamp, kind-specific ``extra``); the FTS5 table ``fts`` (same rowid) holds title and body text
for bm25 ranking and ``snippet()``; ``df`` caches each term's document frequency for the query
planner (see :mod:`webqa.corpus.ftsquery`), because FTS5 itself only knows it by walking the
term's whole doclist.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from webqa.errors import ConfigError, FetchError, SearchError, WebQAError
from webqa.records import SearchResult

from . import ftsquery

__all__ = ["FtsIndex", "SCHEMA_VERSION"]

#: Bump when the schema, the tokenizer or the text extraction changes: an index of another
#: version is rebuilt.
SCHEMA_VERSION = "webqa-fts/2"
TOKENIZER = "porter unicode61 remove_diacritics 2"
_OPTIMIZE_AFTER = 1000  # documents changed in one refresh

_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS docs(
    id INTEGER PRIMARY KEY, key TEXT UNIQUE NOT NULL, url TEXT NOT NULL, title TEXT NOT NULL,
    mtime REAL NOT NULL DEFAULT 0, size INTEGER NOT NULL DEFAULT 0, extra TEXT);
CREATE INDEX IF NOT EXISTS docs_url ON docs(url);
CREATE VIRTUAL TABLE IF NOT EXISTS fts USING fts5(title, body, tokenize='{TOKENIZER}');
CREATE VIRTUAL TABLE IF NOT EXISTS fts_vocab USING fts5vocab(fts, 'row');
CREATE TABLE IF NOT EXISTS df(term TEXT PRIMARY KEY, n INTEGER NOT NULL) WITHOUT ROWID;
"""


class FtsIndex:
    """An FTS5 index file; thread-safe through one lock around its connection.

    SQLite errors leave as webqa errors: ``ConfigError`` while building or reading
    statistics, ``SearchError`` from :meth:`search`, ``FetchError`` from the lookups.
    """

    def __init__(self, path: Path) -> None:
        """Open (or create) the index at ``path``.

        An index of another schema version is wiped; a damaged file is deleted and rebuilt
        (it is only a cache).
        """
        self.path = path
        self._lock = threading.RLock()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            try:
                self._open()
            except sqlite3.DatabaseError:
                for suffix in ("", "-wal", "-shm"):
                    Path(f"{path}{suffix}").unlink(missing_ok=True)
                self._open()
        except (sqlite3.Error, OSError) as exc:
            raise ConfigError(f"cannot open the search index {path}: {exc}") from exc

    def _open(self) -> None:
        # Autocommit: writes open their own transaction (see _begin), so a search never
        # leaves one open that would pin an old snapshot of the file. A writer in another
        # process is waited for rather than failed on.
        self._db = sqlite3.connect(str(self.path), check_same_thread=False,
                                   isolation_level=None, timeout=30)
        try:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            # Reading doclists through mmap saves a read() call per page; 256 MB caps what it
            # can add to the resident set.
            self._db.execute("PRAGMA mmap_size=268435456")
            self._db.execute("PRAGMA cache_size=-16384")
            if self._meta_get("schema") not in (None, SCHEMA_VERSION):
                self._wipe()
            self._db.executescript(_SCHEMA)
            self._meta_set("schema", SCHEMA_VERSION)
            self._planner = ftsquery.Planner(self._db, TOKENIZER)
        except sqlite3.Error:
            self._db.close()
            raise

    @contextmanager
    def _using(self, what: str,
               error: type[WebQAError] = ConfigError) -> Iterator[sqlite3.Connection]:
        with self._lock:
            try:
                yield self._db
            except sqlite3.Error as exc:
                raise error(f"search index {self.path}: {what} failed: {exc}") from exc

    def _begin(self) -> None:
        # IMMEDIATE takes the write lock up front: two processes refreshing one index then
        # wait their turn (busy timeout) instead of deadlocking on a read-to-write upgrade.
        if not self._db.in_transaction:
            self._db.execute("BEGIN IMMEDIATE")

    # -- metadata -------------------------------------------------------------------------
    def _meta_get(self, key: str) -> str | None:
        try:
            row = self._db.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        except sqlite3.OperationalError:  # no meta table yet: a fresh file
            return None
        return row[0] if row else None

    def _meta_set(self, key: str, value: str) -> None:
        self._db.execute("INSERT OR REPLACE INTO meta(key, value) VALUES(?, ?)", (key, value))

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
        for name in ("fts_vocab", "fts", "df", "docs", "meta"):
            self._db.execute(f"DROP TABLE IF EXISTS {name}")

    def clear(self) -> None:
        """Remove every document (used before a full rebuild)."""
        with self._using("clearing"):
            self._begin()
            for table in ("docs", "fts", "df"):
                self._db.execute(f"DELETE FROM {table}")

    # -- writing ----------------------------------------------------------------------------
    def stamps(self) -> dict[str, tuple[float, int]]:
        """``key -> (mtime, size)`` of every indexed document, for incremental refresh."""
        with self._using("reading file stamps") as db:
            return {k: (m, s) for k, m, s in db.execute("SELECT key, mtime, size FROM docs")}

    def put(self, key: str, url: str, title: str, body: str, *, mtime: float = 0.0,
            size: int = 0, extra: str | None = None, new: bool = False) -> None:
        """Add or replace the document stored under ``key`` (``new``: the caller knows it is
        not stored yet, which saves a lookup)."""
        with self._using(f"indexing {key}") as db:
            self._begin()
            row = None if new else db.execute("SELECT id FROM docs WHERE key=?",
                                              (key,)).fetchone()
            if row:
                db.execute("DELETE FROM fts WHERE rowid=?", (row[0],))
                db.execute("UPDATE docs SET url=?, title=?, mtime=?, size=?, extra=? WHERE id=?",
                           (url, title, mtime, size, extra, row[0]))
                rowid = row[0]
            else:
                rowid = db.execute("INSERT INTO docs(key, url, title, mtime, size, extra) "
                                   "VALUES(?, ?, ?, ?, ?, ?)",
                                   (key, url, title, mtime, size, extra)).lastrowid
            db.execute("INSERT INTO fts(rowid, title, body) VALUES(?, ?, ?)",
                       (rowid, title, body))

    def remove(self, key: str) -> None:
        """Remove the document stored under ``key`` (no error when absent)."""
        with self._using(f"removing {key}") as db:
            self._begin()
            row = db.execute("SELECT id FROM docs WHERE key=?", (key,)).fetchone()
            if row:
                db.execute("DELETE FROM fts WHERE rowid=?", (row[0],))
                db.execute("DELETE FROM docs WHERE id=?", (row[0],))

    def commit(self, *, changed: int = 0) -> None:
        """Commit writes; refresh the term statistics when ``changed`` documents warrant it."""
        with self._using("committing") as db:
            self._begin()
            total = db.execute("SELECT count(*) FROM docs").fetchone()[0]
            pending = int(self._meta_get("df_pending") or 0) + changed
            # A full recount costs about a second per 100,000 documents; stale counts only
            # make the planner's choices a little less sharp, so small changes can wait.
            if pending and (total <= 50_000 or pending * 20 >= total):
                db.execute("DELETE FROM df")
                db.execute("INSERT INTO df(term, n) SELECT term, doc FROM fts_vocab")
                pending = 0
            if changed >= _OPTIMIZE_AFTER:
                # One b-tree per term instead of many small segments: about 2 s per 100,000
                # pages once, and every later query visits fewer pages.
                db.execute("INSERT INTO fts(fts) VALUES('optimize')")
            self._meta_set("df_pending", str(pending))
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

    def _row(self, column: str, value: str) -> dict[str, Any] | None:
        with self._using(f"looking up {value}", FetchError) as db:
            row = db.execute(f"SELECT key, url, title, extra FROM docs WHERE {column}=? "
                             "ORDER BY id DESC LIMIT 1", (value,)).fetchone()
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

    def close(self) -> None:
        """Close the database connection, rolling back uncommitted writes."""
        with self._lock:
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")
            self._db.close()
