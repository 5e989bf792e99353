"""Free text to FTS5: safe query expressions and a latency-bounded bm25 query plan.

User text never reaches FTS5's query syntax: every word becomes a double-quoted string, so
quotes, ``-``, ``:``, ``*``, ``NEAR``, ``AND`` and parentheses are plain text.

FTS5 has no top-k pruning: ``ORDER BY bm25`` scores every matching row (about a microsecond
each) after walking each term's whole doclist for its IDF (tens of nanoseconds per page that
has the term). So the planner bounds both:

1. it stems the query words with the index's own tokenizer and looks up each term's document
   frequency in the ``df`` table;
2. terms found in more than ``COMMON_DF`` pages are left out when a rarer term exists: their
   bm25 weight is small and their doclists are the most expensive to walk;
3. stage 1 -- AND of the remaining terms: pages with every word come first;
4. stage 2 (when stage 1 found fewer than ``limit``) -- OR of the rarest terms whose document
   frequencies add up to at most ``OR_BUDGET`` (always at least the rarest one; all of them
   when the corpus has at most ``SCORE_CAP`` pages);
5. each stage scores at most ``SCORE_CAP`` matching rows: past that many it ranks the first
   ``SCORE_CAP`` matches rather than all of them.

A corpus of up to ``SCORE_CAP`` pages skips stage 1: one OR stage ranks every page holding any
query word, so it gets exact bm25 over all its words (stopwords aside), and a page missing one
weak word of the question is not hidden behind pages that have them all.
When every word is that common (a query of stopwords, "the who", on a large corpus) nothing
can be ranked cheaply: the pages with all the words are listed unranked, with the start of
the body as snippet.

Before those stages, phrases are looked for as phrases: text in double quotes, and exact
identifiers (``default_text_search_config``, ``sys.setswitchinterval()``, ``PG_MODULE_MAGIC``),
which the tokenizer splits into words that are common apart. Pages holding a phrase come first,
so the page that defines an identifier is not buried under pages that use its words.

Re-ranking the best rows also weighs two things bm25 does not know: a page far larger than
the corpus's typical page (a changelog, a generated index) is ranked down, and a page holding a
query word exactly as written ranks above one holding only its stem ("Leared" is not "Lear").
"""

from __future__ import annotations

import math
import re
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass

from webqa.records import SearchResult

from ..terms import query_terms, stem
from ..terms import words as tokens
from .base import bound_query

__all__ = [
    "Planner",
    "Term",
    "Stage",
    "quote",
    "phrases",
    "identifiers_of",
    "SCORE_CAP",
    "OR_BUDGET",
    "COMMON_DF",
    "TITLE_WEIGHT",
    "SNIPPET_MAX_CHARS",
]

SCORE_CAP = 1000
#: Not above SCORE_CAP, so that the OR stage always ranks all of its matches.
OR_BUDGET = 1000
COMMON_DF = 10_000
#: bm25 column weights: a word in the title counts five times a word in the body.
TITLE_WEIGHT = 5.0
SNIPPET_TOKENS = 28
#: A snippet is cut to this many characters (and an ellipsis): 28 tokens of a page that is one
#: giant token would otherwise be a megabyte.
SNIPPET_MAX_CHARS = 600
#: The best bm25 rows re-ranked with the title boost (a small, fixed cost per query).
RERANK = 50
#: A page whose title holds every query word scores this much more (as a share of its bm25).
TITLE_BOOST = 1.0
#: Pages up to this many times the median page size are not ranked down for their size.
LARGE_PAGE = 16
#: How much a page's score shrinks per doubling of its size past LARGE_PAGE medians.
SIZE_PENALTY = 0.5
#: A page holding query words exactly as written (not only their stems) scores this much more.
EXACT_BOOST = 0.5
#: How much of each candidate page is scanned for a query word as written.
EXACT_SCAN_CHARS = 200_000
#: Phrases looked for as phrases, at most.
MAX_PHRASES = 3

_QUOTED = re.compile(r'"([^"]{2,200})"|“([^”]{2,200})”')
# An identifier: words joined by "_" or ".", a call "name()", camelCase, or capitals with
# digits or underscores. The tokenizer cuts these into their words.
_IDENT = re.compile(
    r"(?<![\w.])(?:[A-Za-z_][\w]*(?:[._][A-Za-z0-9_]+)+(?:\(\))?|"
    r"[A-Za-z_]\w*\(\)|[a-z]+[A-Z]\w*|[A-Z][A-Z0-9]*_[A-Z0-9_]+)"
)


def identifiers_of(query: str) -> list[str]:
    """The identifiers of a query as written, without a call's "()"."""
    rest = _QUOTED.sub(" ", query)
    out = [m.group().removesuffix("()") for m in _IDENT.finditer(rest)]
    return [w for w in dict.fromkeys(out) if len(w) >= 3][:MAX_PHRASES]


def phrases(query: str) -> list[list[str]]:
    """The phrases of a query to match as phrases: quoted text, then identifiers, as words."""
    found: list[list[str]] = []
    for m in _QUOTED.finditer(query):
        found.append(tokens(m.group(1) or m.group(2)))
    rest = _QUOTED.sub(" ", query)
    for m in _IDENT.finditer(rest):
        found.append(tokens(re.sub(r"([a-z])([A-Z])", r"\1 \2", m.group())))
    out: list[list[str]] = []
    for words in found:
        if len(words) >= 2 and words not in out:
            out.append(words)
    return out[:MAX_PHRASES]


def _is_word_char(c: str) -> bool:
    return c.isalnum() or c == "_"


def _whole_word(text: str, word: str) -> bool:
    """Whether ``word`` occurs in ``text`` with no word character on either side, as
    ``(?<!\\w)word(?!\\w)`` would find it (both lowered by the caller): a plain ``find``
    scan, much faster than that pattern with ``re.I`` over a 200,000-character page."""
    if not word:
        return False
    at = text.find(word)
    while at >= 0:
        end = at + len(word)
        if (at == 0 or not _is_word_char(text[at - 1])) and (
            end == len(text) or not _is_word_char(text[end])
        ):
            return True
        at = text.find(word, at + 1)
    return False


@dataclass(frozen=True)
class Term:
    """A query word, its FTS5 term (stemmed by the index's tokenizer) and its document count."""

    word: str
    term: str
    df: int


@dataclass(frozen=True)
class Stage:
    """One FTS5 expression to run; ``ranked`` False means take matches in rowid order."""

    expr: str
    ranked: bool = True


def quote(word: str) -> str:
    """``word`` as an FTS5 string literal: inside double quotes nothing is syntax."""
    return '"' + word.replace('"', '""') + '"'


class Planner:
    """Runs searches against one index connection (the caller holds its lock)."""

    def __init__(self, db: sqlite3.Connection, tokenizer: str) -> None:
        """Prepare a scratch FTS5 table that tokenizes query words exactly like the index."""
        self._db = db
        self._median: float | None = None
        db.execute(
            f"CREATE VIRTUAL TABLE IF NOT EXISTS temp.qtok USING fts5(x, tokenize='{tokenizer}')"
        )
        db.execute(
            "CREATE VIRTUAL TABLE IF NOT EXISTS temp.qtok_v USING fts5vocab(temp, qtok, 'instance')"
        )

    def analyze(self, query: str) -> list[Term]:
        """The query's content words as index terms, rarest first, one per distinct term.

        The query is first cut to :data:`~webqa.corpus.base.MAX_QUERY_CHARS` characters and
        :data:`~webqa.corpus.base.MAX_QUERY_WORDS` words (:func:`~webqa.corpus.base.bound_query`).
        """
        words = query_terms(bound_query(query))
        if not words:
            return []
        db = self._db
        db.executemany("INSERT INTO temp.qtok(rowid, x) VALUES(?, ?)", enumerate(words))
        stems: dict[int, str] = {}
        for doc, term in db.execute("SELECT doc, term FROM temp.qtok_v ORDER BY doc, offset"):
            stems.setdefault(doc, term)  # a word the tokenizer splits is keyed by its first part
        db.execute("DELETE FROM temp.qtok")
        unique: dict[str, str] = {}
        for i, word in enumerate(words):
            if i in stems:
                unique.setdefault(stems[i], word)
        if not unique:
            return []
        marks = ",".join("?" * len(unique))
        counts = dict(db.execute(f"SELECT term, n FROM df WHERE term IN ({marks})", list(unique)))
        terms = [Term(w, t, counts.get(t, 0)) for t, w in unique.items()]
        return sorted(terms, key=lambda t: t.df)

    def _run(
        self,
        stage: Stage,
        k: int,
        exclude: set[int],
        words: list[str],
        exact_words: Sequence[str] = (),
        identifiers: Sequence[str] = (),
    ) -> list[int]:
        if not stage.ranked:
            found = self._db.execute(
                "SELECT rowid FROM fts WHERE fts MATCH ? LIMIT ?", (stage.expr, k + len(exclude))
            )
            return [r for (r,) in found if r not in exclude][:k]
        scored = self._db.execute(
            "SELECT rowid, s FROM (SELECT rowid, bm25(fts, ?, 1.0) AS s FROM fts "
            "WHERE fts MATCH ? LIMIT ?) ORDER BY s LIMIT ?",
            (TITLE_WEIGHT, stage.expr, SCORE_CAP, max(RERANK, k + len(exclude))),
        ).fetchall()
        rows = [(rowid, score) for rowid, score in scored if rowid not in exclude]
        if not rows:
            return []
        # Titles come from the plain docs table: reading a column back out of FTS5 costs more.
        marks = ",".join("?" * len(rows))
        ids = [r for r, _ in rows]
        info = {
            i: (t, z)
            for i, t, z in self._db.execute(
                f"SELECT id, title, size FROM docs WHERE id IN ({marks})", ids
            )
        }
        exact, written = self._exact(ids, exact_words, identifiers)
        # A word the index stems to another ("Leared" to "lear") matches a title as written.
        wanted = {w if w in exact_words else stem(w) for w in words}
        median = self._median_size()
        ranked = []
        for rowid, score in rows:
            title, size = info.get(rowid, ("", 0))
            # bm25's idf vanishes for a word on over half the pages, which in a small corpus is
            # often the very topic asked about; a title holding the query's words still wins.
            have = set(tokens(title or ""))
            in_title = len(wanted & (have | {stem(w) for w in have})) / (len(wanted) or 1)
            factor = 1 + TITLE_BOOST * in_title + EXACT_BOOST * (rowid in exact)
            if median and size and size > LARGE_PAGE * median:
                # A changelog or a generated index holds every word somewhere in its bulk.
                factor /= 1 + SIZE_PENALTY * math.log2(size / (LARGE_PAGE * median))
            # An identifier as written ("MAX_WAITERS", not "max waiters") names one thing: the
            # pages holding it come first. bm25: lower is better.
            ranked.append((rowid not in written, score * factor, rowid))
        ranked.sort()
        return [rowid for *_, rowid in ranked[:k]]

    def _median_size(self) -> float:
        """The corpus's median stored page size (0 when sizes are not recorded), once."""
        if self._median is None:
            # The index stores it at commit time: sorting a million rows per process costs a
            # second and 230 MiB. Older indexes lack it and get it the slow way.
            try:
                stored = self._db.execute(
                    "SELECT value FROM meta WHERE key='median_size'"
                ).fetchone()
            except sqlite3.OperationalError:
                stored = None
            if stored is not None:
                self._median = float(stored[0])
                return self._median
            n = self._db.execute("SELECT count(*) FROM docs WHERE size > 0").fetchone()[0]
            row = (
                self._db.execute(
                    "SELECT size FROM docs WHERE size > 0 ORDER BY size LIMIT 1 OFFSET ?", (n // 2,)
                ).fetchone()
                if n
                else None
            )
            self._median = float(row[0]) if row else 0.0
        return self._median

    def _exact(
        self, ids: list[int], exact_words: Sequence[str], identifiers: Sequence[str]
    ) -> tuple[set[int], set[int]]:
        """Of ``ids``, the pages holding one of ``exact_words``, and those holding one of
        ``identifiers``, as written (whole words, any case): the bodies are read once."""
        if not (exact_words or identifiers) or not ids:
            return set(), set()
        marks = ",".join("?" * len(ids))
        exact: set[int] = set()
        written: set[int] = set()
        words = [w.lower() for w in exact_words]
        names = [w.lower() for w in identifiers]
        for rowid, title, body in self._db.execute(
            f"SELECT rowid, title, substr(body, 1, ?) FROM fts WHERE rowid IN ({marks})",
            [EXACT_SCAN_CHARS, *ids],
        ):
            text = f"{title} {body}".lower()
            if any(_whole_word(text, w) for w in words):
                exact.add(rowid)
            if any(_whole_word(text, w) for w in names):
                written.add(rowid)
        return exact, written

    def plan(self, terms: list[Term], corpus_size: int | None = None) -> list[Stage]:
        """The stages to run, in order (see the module docstring).

        ``corpus_size`` is an upper bound on the number of pages (None: look it up).
        """
        if not terms:
            return []
        if corpus_size is None:
            corpus_size = self._db.execute("SELECT max(id) FROM docs").fetchone()[0] or 0
        budget = OR_BUDGET if corpus_size > SCORE_CAP else corpus_size * len(terms)
        if terms[0].df > COMMON_DF:  # rarest first: every term is that common
            return [Stage(" AND ".join(quote(t.word) for t in terms), ranked=False)]
        terms = [t for t in terms if t.df <= COMMON_DF]
        if corpus_size <= SCORE_CAP:
            # Small enough to rank every page that has any of the words: a page missing one
            # weak word ("how *far* is Neptune...") can still be the best, which AND would hide.
            return [Stage(" OR ".join(quote(t.word) for t in terms))]
        stages = [Stage(" AND ".join(quote(t.word) for t in terms))]
        if len(terms) > 1:
            chosen: list[Term] = []
            total = 0
            for t in terms:  # rarest first
                if chosen and total + t.df > budget:
                    break
                chosen.append(t)
                total += t.df
            stages.append(Stage(" OR ".join(quote(t.word) for t in chosen)))
        return stages

    def search(self, query: str, limit: int) -> list[SearchResult]:
        """Up to ``limit`` results for free text, best first, with snippets."""
        if limit <= 0:
            return []
        terms = self.analyze(query)
        stages = self.plan(terms)
        bounded = bound_query(query)
        found_phrases = phrases(bounded) if stages and stages[0].ranked else []
        identifiers = identifiers_of(bounded)
        if found_phrases:
            stages = [Stage(" OR ".join(quote(" ".join(p)) for p in found_phrases)), *stages]
        # Words the tokenizer stems to something else ("Leared" to "lear"): a page holding the
        # word as written is the likelier one.
        exact_words = [t.word for t in terms if t.term != t.word and len(t.word) >= 4]
        found: list[int] = []
        for stage in stages:
            found += self._run(
                stage,
                limit - len(found),
                set(found),
                [t.word for t in terms],
                exact_words,
                identifiers,
            )
            if len(found) >= limit:
                break
        if not found:
            return []
        if stages[0].ranked:
            kept = [t for t in terms if t.df <= COMMON_DF]
            sql = (
                "SELECT d.url, d.title, snippet(fts, 1, '', '', '…', ?) FROM fts "
                "JOIN docs AS d ON d.id = fts.rowid WHERE fts MATCH ? AND fts.rowid = ?"
            )
            args: tuple = (SNIPPET_TOKENS, " OR ".join(quote(t.word) for t in kept))
        else:  # stopwords match everywhere: any passage is as good as the first
            sql = (
                "SELECT d.url, d.title, substr(fts.body, 1, ?) FROM fts "
                "JOIN docs AS d ON d.id = fts.rowid WHERE fts.rowid = ?"
            )
            args = (SNIPPET_TOKENS * 8,)
        results = []
        for rowid in found:
            row = self._db.execute(sql, (*args, rowid)).fetchone()
            if row:
                text = row[2] or ""
                if len(text) > SNIPPET_MAX_CHARS:
                    text = text[:SNIPPET_MAX_CHARS] + "…"
                results.append(SearchResult(title=row[1], url=row[0], snippet=text))
        return results
