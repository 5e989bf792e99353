"""ZIM search keeps articles' scoring data on disk: a second process ranks the same way
without reading the articles again, and a changed archive does not reuse it."""

from __future__ import annotations

import os
import sqlite3
from contextlib import closing

from corpus_fixtures import make_zim

from webqa.corpus import ZimCorpus
from webqa.corpus.zimsearch import _HEAD_CHARS, _make_doc, snippet

QUERY = "Which radio station recorded the Herndon Stadium concert?"


def _stored(cache) -> int:
    (path,) = cache.glob("zimdocs-*.sqlite3")
    with closing(sqlite3.connect(path)) as db:
        return db.execute("SELECT count(*) FROM docs").fetchone()[0]


def test_a_second_corpus_ranks_from_the_store_the_same_way(tmp_path):
    zim, cache = make_zim(tmp_path / "wiki.zim"), tmp_path / "cache"
    with ZimCorpus(zim, cache_dir=cache) as first:
        hits = first.search(QUERY, 5)
    assert hits and _stored(cache) > 0
    with ZimCorpus(zim, cache_dir=cache) as second:
        reads: list[str] = []
        read = second._search._read
        second._search._read = lambda entry: reads.append(entry.path) or read(entry)
        assert second.search(QUERY, 5) == hits
        assert reads == []


def test_a_changed_archive_starts_an_empty_store(tmp_path):
    zim, cache = make_zim(tmp_path / "wiki.zim"), tmp_path / "cache"
    with ZimCorpus(zim, cache_dir=cache) as corpus:
        corpus.search(QUERY, 5)
    os.utime(zim, (1, 1))
    with ZimCorpus(zim, cache_dir=cache) as corpus:
        assert _stored(cache) == 0
        assert corpus.search(QUERY, 5)


def test_an_unwritable_store_only_costs_the_saving(tmp_path):
    zim = make_zim(tmp_path / "wiki.zim")
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with ZimCorpus(zim, cache_dir=blocker / "cache") as corpus:
        assert corpus.search(QUERY, 5)


def test_a_snippet_from_the_kept_start_equals_one_from_the_whole_text():
    text = " ".join(f"Sentence {i} tells of radio and stadium things." for i in range(2000))
    doc = _make_doc("T", text)
    weight = {"radio": 1.0, "stadium": 2.0}
    assert len(doc.head) == _HEAD_CHARS < len(text)
    assert snippet(doc.head, weight, total=doc.chars) == snippet(text, weight)
    assert doc.length == len(text.split()) and doc.counts["radio"] == 2000


def test_word_starts_finds_what_the_case_blind_pattern_finds():
    import random
    import re

    from webqa.corpus.zimsearch import word_starts

    rng = random.Random(5)
    alphabet = [
        "ray",
        "Ray",
        "RAYS",
        "char",
        "Charles",
        "_x",
        "é",
        "É",
        "1958",
        " ",
        " ",
        ",",
        "-",
        "ß",
        "İ",
        "radi",
        "o",
        "stad",
    ]
    for _ in range(300):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 60)))
        keys = rng.sample(
            ["ray", "char", "charl", "radio", "stad", "é", "1958", "o"], rng.randint(1, 4)
        )
        alts = "|".join(re.escape(k) for k in sorted(keys, key=len, reverse=True))
        expected = [
            (m.start(), m.group(1).lower())
            for m in re.finditer(r"\b(" + alts + r")\w*", text, re.IGNORECASE)
        ]
        assert word_starts(text, keys) == expected, (text, keys)


def test_build_index_on_a_zim_fills_the_store_so_no_search_reads_an_article(tmp_path):
    from webqa.corpus import build_index

    zim, cache = make_zim(tmp_path / "wiki.zim"), tmp_path / "cache"
    stats = build_index(zim, cache_dir=cache)
    assert stats.added > 0 and stats.kind == "zim"
    assert build_index(zim, cache_dir=cache).added == 0  # already there
    with ZimCorpus(zim, cache_dir=cache) as corpus:
        reads: list[str] = []
        read = corpus._search._read
        corpus._search._read = lambda entry: reads.append(entry.path) or read(entry)
        assert corpus.search(QUERY, 5)
        assert reads == []
