"""Search inside a ZIM archive: natural-language questions over libzim's AND-only index.

libzim parses a query as the AND of all its words, so a whole question finds nothing. Here:

1. content words (stopwords dropped) are each searched alone: that gives each word's
   document frequency (hence an IDF weight) and its best pages;
2. the AND of all of them adds the pages that have every word;
3. phrases of the query that look like titles (quoted or capitalised runs, see
   :func:`webqa.terms.title_phrases`) are looked up as titles, exact or with a
   Wikipedia-style "(disambiguation)" suffix, which counts more when it agrees with the word
   before the phrase ("the album X" and "X (album)");
4. the best candidates by matched weight are read (texts are cached) and ranked by bm25 over
   all the query words, plus a bonus for the title matches; a page whose title is the whole
   query comes first.

What scoring needs of an article (its word counts, length and the start of its text) is kept in
memory and, when a ``store`` is given, on disk (:class:`DocStore`): a later process ranks the
same candidates without decompressing and cleaning them again.

Without a full-text index, candidates come from the title suggestions for the query and for
each word, and every word weighs the same. On the 40 development questions of the Ray Charles
Wikipedia archive, asked as raw question text, the evidence page is in the top five for all 40
(first for 32).
"""

from __future__ import annotations

import hashlib
import logging
import marshal
import math
import re
import sqlite3
import sys
import threading
from collections import Counter, OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from libzim.search import Query, Searcher
from libzim.suggestion import SuggestionSearcher

from ..terms import query_terms, stem, title_phrases, words
from .base import bound_query
from .text import decode, html_to_text, valid_text

__all__ = ["ZimSearch", "Hit", "DocStore", "snippet", "word_starts"]

log = logging.getLogger("webqa.corpus")

POOL = 30  # pages taken from each libzim query
CANDIDATES = 20  # pages read and scored
TITLE_WEIGHT = 2.0  # bonus per title-phrase word, in IDF units
TITLE_FLOOR = 2.0  # least weight of a title-phrase word (topic words are everywhere)
AGREE_WEIGHT = 3.0  # "album X" and the title is "X (album)": bonus per agreeing word, x floor
WHOLE_TITLE = 1e6  # the query is exactly a title: that page first
K1, B = 1.2, 0.75  # bm25
SNIPPET_CHARS = 240
#: How far into an article the snippet is looked for.
SNIPPET_SCAN = 6_000
_CACHE_SIZE = 256
_CITE = re.compile(r"\[\d{1,3}\]")
#: How much of an article's text is kept for its snippet: the scan plus a snippet's width.
_HEAD_CHARS = SNIPPET_SCAN + 2 * SNIPPET_CHARS + 200
#: Bump when what a stored article holds, or how it is computed, changes.
STORE_VERSION = "webqa-zimdocs/1"


@dataclass(frozen=True)
class Hit:
    """One ranked article: its canonical entry path, title and a text snippet."""

    path: str
    title: str
    snippet: str


@dataclass(frozen=True)
class _Doc:
    title: str
    #: The start of the text (what a snippet can reach), its full length and a digest of it.
    head: str
    chars: int
    digest: bytes
    counts: dict[str, int]
    length: int


def _make_doc(title: str, text: str) -> _Doc:
    counts: Counter[str] = Counter()
    length = 0
    # Each distinct word is stemmed once: a page repeats its words.
    for word, n in Counter(words(text)).items():
        counts[stem(word)] += n
        length += n
    return _Doc(
        title,
        text[:_HEAD_CHARS],
        len(text),
        hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest(),
        dict(counts),
        length,
    )


class DocStore:
    """Articles' scoring data on disk (one SQLite file per archive), shared by processes.

    Every failure (a read-only or damaged file, a lock held too long) only costs the saving:
    it is logged at debug level and the article is read from the archive instead.
    """

    def __init__(self, path: Path, identity: str) -> None:
        """Open (or create) the store at ``path`` for the archive named by ``identity``."""
        self.path = path
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None
        key = f"{STORE_VERSION} {identity} py{sys.version_info[0]}.{sys.version_info[1]}"
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(
                str(path), check_same_thread=False, isolation_level=None, timeout=0.2
            )
            self._db = db
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute("CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT)")
            db.execute("CREATE TABLE IF NOT EXISTS docs(path TEXT PRIMARY KEY, data BLOB)")
            row = db.execute("SELECT value FROM meta WHERE key='identity'").fetchone()
            if row is None or row[0] != key:
                db.execute("BEGIN IMMEDIATE")
                db.execute("DELETE FROM docs")
                db.execute("INSERT OR REPLACE INTO meta VALUES('identity', ?)", (key,))
                db.execute("COMMIT")
        except (sqlite3.Error, OSError) as exc:
            log.debug("article store %s unavailable: %s", path, exc)
            self.close()

    def get(self, paths: Iterable[str]) -> dict[str, _Doc]:
        """The stored articles among ``paths``."""
        paths = list(paths)
        with self._lock:
            if self._db is None or not paths:
                return {}
            try:
                marks = ",".join("?" * len(paths))
                rows = self._db.execute(
                    f"SELECT path, data FROM docs WHERE path IN ({marks})", paths
                ).fetchall()
                return {p: _Doc(*marshal.loads(data)) for p, data in rows}
            except (sqlite3.Error, ValueError, EOFError, TypeError) as exc:
                log.debug("article store %s unreadable: %s", self.path, exc)
                return {}

    def put(self, docs: dict[str, _Doc]) -> None:
        """Store ``docs`` (path -> article) in one transaction."""
        with self._lock:
            if self._db is None or not docs:
                return
            rows = [
                (p, marshal.dumps((d.title, d.head, d.chars, d.digest, d.counts, d.length)))
                for p, d in docs.items()
            ]
            try:
                self._db.execute("BEGIN IMMEDIATE")
                self._db.executemany("INSERT OR REPLACE INTO docs(path, data) VALUES(?, ?)", rows)
                self._db.execute("COMMIT")
            except (sqlite3.Error, UnicodeEncodeError) as exc:
                log.debug("article store %s not written: %s", self.path, exc)
                try:
                    if self._db.in_transaction:
                        self._db.execute("ROLLBACK")
                except sqlite3.Error:
                    pass

    def close(self) -> None:
        """Close the file (idempotent)."""
        with self._lock:
            db, self._db = self._db, None
            if db is not None:
                db.close()


class ZimSearch:
    """Ranks a ZIM archive's articles for free text (see the module docstring)."""

    def __init__(
        self, archive: Any, canonical: Callable[[str], Any | None], *, store: DocStore | None = None
    ) -> None:
        """``canonical(path)`` returns the article entry a path leads to, or None; ``store``
        keeps articles' scoring data between processes."""
        self._archive = archive
        self._store = store
        self._canonical = canonical
        self._fulltext = Searcher(archive) if archive.has_fulltext_index else None
        self._suggest = SuggestionSearcher(archive)
        self._docs: OrderedDict[str, _Doc] = OrderedDict()
        self._lock = threading.Lock()  # guards the text cache

    # -- candidates ---------------------------------------------------------------------------
    def _xapian(self, terms: list[str]) -> tuple[int, list[str]]:
        if self._fulltext is None:  # only called when the archive has a full-text index
            return 0, []
        search = self._fulltext.search(Query().set_query(" ".join(terms)))
        return search.getEstimatedMatches(), list(search.getResults(0, POOL))

    def _articles(self, paths: list[str]) -> list[Any]:
        out, seen = [], set()
        for path in paths:
            entry = self._canonical(path)
            if entry is not None and entry.path not in seen:
                seen.add(entry.path)
                out.append(entry)
        return out

    def _title_hits(self, query: str, weight: dict[str, float]) -> dict[str, float]:
        whole = query.strip().strip("?!.").strip()
        phrases = title_phrases(query)
        if whole and whole not in phrases:
            phrases.insert(0, whole)
        bonus: dict[str, float] = {}
        for phrase in phrases:
            low = phrase.lower()
            paths = [phrase, phrase[:1].upper() + phrase[1:]]
            paths = [
                self._archive.get_entry_by_title(p).path
                for p in dict.fromkeys(paths)
                if self._archive.has_entry_by_title(p)
            ]
            paths += list(self._suggest.suggest(phrase).getResults(0, 10))
            value = TITLE_WEIGHT * sum(
                max(TITLE_FLOOR, weight.get(w, 0.0)) for w in query_terms(phrase)
            )
            before = re.search(r"([^\W_]+)\W{1,3}" + re.escape(phrase), query)
            for entry in self._articles(paths):
                title = entry.title.lower()
                if title == low:
                    score = WHOLE_TITLE if phrase == whole else value
                elif title.startswith(low + " ("):
                    # The word before the phrase names its kind ("the album X"): a title
                    # qualified the same way ("X (Ray Charles album)") is the one meant.
                    qualifier = {stem(w) for w in words(title[len(low) :])}
                    agree = before is not None and stem(before.group(1).lower()) in qualifier
                    score = value + (AGREE_WEIGHT * TITLE_FLOOR if agree else 0.0)
                else:
                    continue
                bonus[entry.path] = max(bonus.get(entry.path, 0.0), score)
        return bonus

    # -- scoring ------------------------------------------------------------------------------
    def _read(self, entry: Any) -> _Doc:
        text = _CITE.sub("", html_to_text(valid_text(decode(bytes(entry.get_item().content)))))
        return _make_doc(entry.title or entry.path, text)

    def prefill(
        self,
        progress: Callable[[int, int | None, str], None] | None = None,
        limit: int | None = None,
    ) -> int:
        """Put every article (the first ``limit``) into the store ahead of any search, so the
        first search of a later process reads no article; returns how many were added."""
        if self._store is None:
            return 0
        added = 0
        batch: dict[str, Any] = {}
        total = self._archive.all_entry_count
        for i in range(total if limit is None else min(total, limit)):
            entry = self._archive._get_entry_by_id(i)
            if entry.is_redirect:
                continue
            article = self._canonical(entry.path)
            if article is None or article.path in batch:
                continue
            batch[article.path] = article
            if len(batch) >= 256:
                added += self._fill(batch)
                batch = {}
            if progress is not None:
                progress(i + 1, total, entry.path)
        return added + self._fill(batch)

    def _fill(self, entries: dict[str, Any]) -> int:
        if self._store is None or not entries:
            return 0
        have = self._store.get(entries)
        fresh = {p: self._read(e) for p, e in entries.items() if p not in have}
        self._store.put(fresh)
        return len(fresh)

    def _load(self, entries: dict[str, Any]) -> dict[str, _Doc]:
        """The scoring data of ``entries`` (path -> entry): from memory, the store, or read
        from the archive (and then stored)."""
        docs: dict[str, _Doc] = {}
        with self._lock:
            for path in entries:
                doc = self._docs.get(path)
                if doc is not None:
                    self._docs.move_to_end(path)
                    docs[path] = doc
        missing = [p for p in entries if p not in docs]
        stored = self._store.get(missing) if self._store is not None and missing else {}
        fresh = {p: self._read(entries[p]) for p in missing if p not in stored}
        if fresh and self._store is not None:
            self._store.put(fresh)
        docs |= stored | fresh
        with self._lock:
            for path in missing:
                self._docs[path] = docs[path]
            while len(self._docs) > _CACHE_SIZE:
                self._docs.popitem(last=False)
        return {p: docs[p] for p in entries}

    def search(self, query: str, limit: int = 10) -> list[Hit]:
        """Up to ``limit`` articles for ``query``, best first.

        The query is first cut by :func:`~webqa.corpus.base.bound_query`: the title-phrase
        heuristic costs time and memory quadratic in the length of a capitalised run.
        """
        query = bound_query(query)
        terms = query_terms(query)
        if not terms or limit <= 0:
            return []
        weight: dict[str, float] = {}
        matched: dict[str, set[str]] = {}
        entries: dict[str, Any] = {}

        def add(paths: list[str], found: set[str]) -> None:
            for entry in self._articles(paths):
                entries.setdefault(entry.path, entry)
                matched.setdefault(entry.path, set()).update(found)

        if self._fulltext is not None:
            n = max(1, self._archive.article_count)
            for term in terms:
                df, paths = self._xapian([term])
                if df:
                    weight[term] = max(0.01, math.log((n - df + 0.5) / (df + 0.5) + 1))
                    add(paths, {term})
            if len(weight) > 1:
                add(
                    self._xapian(sorted(weight, key=weight.__getitem__, reverse=True))[1],
                    set(weight),
                )
        else:
            weight = dict.fromkeys(terms, 1.0)
            for text in [query, *terms]:
                add(list(self._suggest.suggest(text).getResults(0, POOL)), set(words(text)))
        bonus = self._title_hits(query, weight)
        for path in bonus:
            add([path], set())
        ranked = sorted(
            matched, key=lambda p: -(sum(weight.get(t, 0) for t in matched[p]) + bonus.get(p, 0.0))
        )
        top = ranked[: max(CANDIDATES, limit)]
        pool = top + [p for p in bonus if p not in top]
        docs = self._load({p: entries[p] for p in pool})
        scores = self._bm25(docs, weight)
        best, texts = [], set()
        for path in sorted(docs, key=lambda p: -(scores[p] + bonus.get(p, 0.0))):
            # Some scrapes store one article under two paths (same text): show it once.
            if docs[path].digest not in texts:
                texts.add(docs[path].digest)
                best.append(path)
        return [
            Hit(p, docs[p].title, snippet(docs[p].head, weight, total=docs[p].chars))
            for p in best[:limit]
        ]

    @staticmethod
    def _bm25(docs: dict[str, _Doc], weight: dict[str, float]) -> dict[str, float]:
        avgdl = sum(d.length for d in docs.values()) / max(1, len(docs)) or 1.0
        stems = {t: stem(t) for t in weight}
        scores = {}
        for path, doc in docs.items():
            norm = K1 * (1 - B + B * doc.length / avgdl)
            score = 0.0
            for term, idf in weight.items():
                tf = doc.counts.get(stems[term], 0)
                if tf:
                    score += idf * tf * (K1 + 1) / (tf + norm)
            scores[path] = score
        return scores


def _is_word(ch: str) -> bool:
    return ch.isalnum() or ch == "_"  # what a str pattern's \w matches


def word_starts(text: str, keys: Iterable[str]) -> list[tuple[int, str]]:
    r"""``(position, key)`` of every word of ``text`` that starts with one of ``keys`` (the
    longest that fits), case-insensitively, in order: what ``\b(k1|k2...)\w*`` finds with
    ``re.IGNORECASE``, by ``str.find`` on the lowercased text (a few times faster)."""
    keys = sorted({k.lower() for k in keys if k}, key=len, reverse=True)
    lower = text.lower()
    if not keys or len(lower) != len(text) or not all(_is_word(k[0]) for k in keys):
        pattern = re.compile(r"\b(" + "|".join(re.escape(k) for k in keys) + r")\w*", re.IGNORECASE)
        return [(m.start(), m.group(1).lower()) for m in pattern.finditer(text)] if keys else []
    found: dict[int, str] = {}
    for key in keys:  # longest first: a shorter key never replaces a longer one
        at = lower.find(key)
        while at >= 0:
            if at not in found and (at == 0 or not _is_word(lower[at - 1])):
                found[at] = key
            at = lower.find(key, at + 1)
    return sorted(found.items())


def snippet(
    text: str, weight: dict[str, float], size: int = SNIPPET_CHARS, *, total: int | None = None
) -> str:
    """About ``size`` characters of ``text`` around the densest cluster of query words.

    ``total``: the length of the whole text when ``text`` is only its start (enough of it for
    the snippet: the scan plus twice ``size``), for the trailing ellipsis."""
    whole = len(text) if total is None else total
    by_stem: dict[str, float] = {}
    for term, w in weight.items():
        key = stem(term)
        by_stem[key] = max(by_stem.get(key, 0.0), w)
    hits: list[tuple[int, str]] = []
    if by_stem and text:
        # The densest passage of a long article is almost always near its start (the lead);
        # scanning all of a 100,000-character page for every result costs more than it finds.
        hits = word_starts(text[:SNIPPET_SCAN], by_stem)
    # Slide a window of half the snippet over the hits; keep the one with most weight.
    best_at, best_score, score, j = 0, 0.0, 0.0, 0
    inside: Counter[str] = Counter()
    for pos, key in hits:
        while j < len(hits) and hits[j][0] - pos < size // 2:
            if inside[hits[j][1]] == 0:
                score += by_stem.get(hits[j][1], 0.0)
            inside[hits[j][1]] += 1
            j += 1
        if score > best_score:
            best_at, best_score = pos, score
        inside[key] -= 1
        if inside[key] == 0:
            score -= by_stem.get(key, 0.0)
    start = max(0, best_at - 60)
    cut = text.rfind(". ", start, best_at)
    start = cut + 2 if cut >= 0 else (text.find(" ", start) + 1 if start else 0)
    end = min(len(text), start + size)
    space = text.rfind(" ", start, end)
    if end < whole and space > start:
        end = space
    return ("…" if start else "") + text[start:end].strip() + ("…" if end < whole else "")
