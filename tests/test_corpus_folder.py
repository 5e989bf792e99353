"""Folder corpora: indexing, incremental refresh, FTS5 query safety, fetch, open_corpus errors."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest
from corpus_fixtures import make_folder

from webqa.corpus import Corpus, FolderCorpus, build_index, open_corpus
from webqa.corpus.ftsquery import Planner, quote
from webqa.errors import ConfigError, FetchError
from webqa.protocols import DocumentSource, SearchEngine
from webqa.urls import join

PAGES = {
    "concert.html": (
        "<html><head><title>Herndon Stadium concert</title></head><body>"
        "<p>Ray Charles recorded a live album at Herndon Stadium in Atlanta. The "
        "radio station WAOK sponsored and recorded the concert.</p>"
        "<a href='notes/newport.md'>Newport</a></body></html>"
    ),
    "notes/newport.md": (
        "# Newport liner notes\n\nThe detailed liner notes for the 1958 "
        "Newport Jazz Festival album were written by Kenneth Lee Karpe.\n"
        "[back](../concert.html)\n"
    ),
    "notes/atlanta.txt": "Atlanta has many radio stations and a stadium.",
    "sub dir/h1 only.htm": "<body><h1>Heading <em>only</em></h1><p>zebra crossing</p></body>",
    "misc/chess.html": "<title>Chess</title><p>A grandmaster beat Ray Charles at chess.</p>",
    ".hidden/secret.html": "<title>Secret</title><p>zebra secret</p>",
    "image.png": b"\x89PNG not a page",
}


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    return make_folder(tmp_path / "site", PAGES)


def urls(results) -> list[str]:
    return [r.url for r in results]


def test_is_search_engine_and_page_source(folder):
    corpus = open_corpus(folder)
    assert isinstance(corpus, FolderCorpus)
    assert isinstance(corpus, SearchEngine) and isinstance(corpus, DocumentSource)
    assert isinstance(corpus, Corpus) and corpus.kind == "folder"
    assert corpus.name == "folder:site"


def test_question_finds_the_right_page(folder):
    corpus = open_corpus(folder)
    hits = corpus.search(
        "Which radio station sponsored Ray Charles's concert at Herndon Stadium?", 5
    )
    assert hits[0].url == "local://site/concert.html"
    assert hits[0].title == "Herndon Stadium concert"
    assert "WAOK" in hits[0].snippet and "<" not in hits[0].snippet
    assert corpus.search("who wrote the liner notes?")[0].url == "local://site/notes/newport.md"


def test_titles_by_file_kind(folder):
    corpus = open_corpus(folder)
    titles = {r.url: r.title for r in corpus.search("zebra grandmaster stadium notes", 10)}
    assert titles["local://site/sub%20dir/h1%20only.htm"] == "Heading only"
    assert titles["local://site/misc/chess.html"] == "Chess"
    assert titles["local://site/notes/atlanta.txt"] == "atlanta"
    assert corpus.fetch("local://site/notes/newport.md").title == "Newport liner notes"


def test_hidden_and_unsupported_files_are_not_indexed(folder):
    corpus = open_corpus(folder)
    assert all(".hidden" not in u for u in urls(corpus.search("zebra secret", 10)))
    assert corpus.index.count() == 5
    with pytest.raises(FetchError, match="not in this corpus"):
        corpus.fetch("local://site/image.png")


def test_index_lives_under_webqa_home(folder, tmp_path):
    corpus = open_corpus(folder)
    assert corpus.index.path.parent == tmp_path / "webqa-home" / "index"
    assert corpus.index.path.is_file()


def test_fetch_serves_the_file_and_relative_links_resolve(folder):
    corpus = open_corpus(folder)
    doc = corpus.fetch("local://site/concert.html#top")
    assert doc.content_type == "text/html" and "Herndon Stadium" in doc.text
    assert doc.url == "local://site/concert.html"
    md = corpus.fetch(join(doc.url, "notes/newport.md"))
    assert md.content_type == "text/markdown"
    assert corpus.fetch(join(md.url, "../concert.html")).url == doc.url
    spaced = corpus.fetch(join(doc.url, "sub%20dir/h1%20only.htm"))
    assert spaced.url == "local://site/sub%20dir/h1%20only.htm" and "zebra" in spaced.text


@pytest.mark.parametrize(
    "url",
    [
        "local://site/../outside.html",
        "local://site/nope.html",
        "local://other/concert.html",
        "http://site/concert.html",
        "local://site/%2e%2e/outside.html",
    ],
)
def test_fetch_outside_the_corpus_fails(folder, url):
    (folder.parent / "outside.html").write_text("<p>secret</p>")
    with pytest.raises(FetchError, match="not in this corpus"):
        open_corpus(folder).fetch(url)


def test_refresh_handles_modified_added_and_removed_files(folder):
    corpus = open_corpus(folder)
    assert corpus.last_refresh.added == 5
    assert corpus.search("okapi") == []
    page = folder / "misc" / "chess.html"
    page.write_text("<title>Chess</title><p>An okapi played chess.</p>")
    os.utime(page, (1, 1))  # a different mtime even within the clock's resolution
    (folder / "new.txt").write_text("a brand new quokka page")
    (folder / "notes" / "atlanta.txt").unlink()
    corpus.close()

    corpus = open_corpus(folder)
    stats = corpus.last_refresh
    assert (stats.added, stats.updated, stats.removed, stats.unchanged) == (1, 1, 1, 3)
    assert urls(corpus.search("okapi")) == ["local://site/misc/chess.html"]
    assert corpus.search("grandmaster") == []
    assert urls(corpus.search("quokka")) == ["local://site/new.txt"]
    assert all("atlanta" not in u for u in urls(corpus.search("radio stations stadium", 10)))


def test_unchanged_folder_reads_no_file(folder):
    open_corpus(folder).close()
    stats = open_corpus(folder).last_refresh
    assert (stats.added, stats.updated, stats.removed, stats.unchanged) == (0, 0, 0, 5)


def test_build_index_reports_progress(folder, tmp_path):
    seen = []
    stats = build_index(
        folder,
        cache_dir=tmp_path / "cache",
        progress=lambda done, total, item: seen.append((done, total, item)),
    )
    assert stats.documents == 5 and stats.added == 5
    assert seen[-1][:2] == (5, 5) and {s[2] for s in seen} >= {"concert.html"}
    assert any((tmp_path / "cache").glob("folder-site-*.sqlite3"))
    assert stats.to_dict()["documents"] == 5 and str(stats).startswith("folder ")
    assert "5 documents (5 added" in str(stats)


HOSTILE = [
    '"',
    '""',
    'a" OR "b',
    "NEAR(radio stadium)",
    "-radio",
    "radio:",
    "title:radio",
    "{title}: radio",
    "*",
    "radio*",
    "AND OR NOT",
    "^radio",
    "((((",
    ")",
    "'; DROP TABLE docs; --",
    "\x00radio",
    "radio\u200b\U0001f600",
    "",
    "   ",
    "the of and",
    'col1 : NEAR("x" "y", 2)',
    "+-:*^\"'(){}[]",
    "a" * 5000,
]


@pytest.mark.parametrize("query", HOSTILE)
def test_hostile_queries_never_raise(folder, query):
    corpus = open_corpus(folder)
    results = corpus.search(query, 5)
    assert isinstance(results, list) and len(results) <= 5
    assert corpus.index.count() == 5  # nothing was dropped


def test_hostile_query_still_matches_its_words(folder):
    corpus = open_corpus(folder)
    assert urls(corpus.search('"WAOK" OR -NEAR(*) title:', 3))[0] == "local://site/concert.html"
    assert urls(corpus.search("grandmaster*", 3)) == ["local://site/misc/chess.html"]


def test_quote_makes_any_text_a_literal():
    db = sqlite3.connect(":memory:")
    db.execute("CREATE VIRTUAL TABLE fts USING fts5(title, body)")
    db.execute("INSERT INTO fts VALUES ('t', 'say \"hi\" NEAR(x) - y')")
    for word in ['"hi"', "NEAR(x)", "-", "a:b", "*", "OR"]:
        db.execute("SELECT * FROM fts WHERE fts MATCH ?", (quote(word),)).fetchall()
    count = db.execute("SELECT count(*) FROM fts WHERE fts MATCH ?", (quote('"hi"'),))
    assert count.fetchone() == (1,)


def test_planner_stages_and_budget(folder):
    corpus = open_corpus(folder)
    planner: Planner = corpus.index._planner
    terms = planner.analyze("Which radio station recorded the concert? recording")
    assert [t.word for t in terms][:1] and all(t.df >= 1 for t in terms)
    assert len({t.term for t in terms}) == len(terms)  # "recorded"/"recording": one stem
    stages = planner.plan(terms, corpus_size=100_000)  # large: AND first, then OR
    assert stages[0].ranked and " AND " in stages[0].expr and " OR " in stages[1].expr
    small = planner.plan(terms)  # a small folder: one exact bm25 ranking over every match
    assert len(small) == 1 and small[0].ranked and " OR " in small[0].expr


def test_small_corpus_page_missing_a_weak_word_still_ranks(tmp_path):
    files = {
        f"p{i}.html": f"<title>Page {i}</title><p>How far the probe went from the Sun.</p>"
        for i in range(12)
    }
    files["neptune.html"] = (
        "<title>Neptune</title><p>Neptune orbits the Sun at an average "
        "distance of 4.5 billion km.</p>"
    )
    corpus = open_corpus(make_folder(tmp_path / "site", files), cache_dir=tmp_path / "idx")
    assert urls(corpus.search("How far is Neptune from the Sun?", 3))[0].endswith("neptune.html")


BAD_FILES = {
    "bad-encoding.html": b"<title>Bad \xff\xfe bytes</title><p>caf\xe9 \x80\x81 okapi</p>",
    "deep.html": "<div>" * 50_000 + "nested wombat" + "</div>" * 50_000,
    "big.txt": ("filler words " * 800_000) + "needle quetzal",
    "unclosed.html": "<title>x</title><script>never closed " + "<" * 100_000,
    "nul.md": "# Nul\x00 title\n\nnul\x00bytes capybara",
}


def test_bad_input_does_not_break_indexing(tmp_path):
    folder = make_folder(tmp_path / "bad", BAD_FILES)
    assert (folder / "big.txt").stat().st_size > 10_000_000
    corpus = open_corpus(folder)
    assert corpus.last_refresh.skipped == [] and corpus.index.count() == 5
    assert urls(corpus.search("wombat")) == ["local://bad/deep.html"]
    assert urls(corpus.search("okapi")) == ["local://bad/bad-encoding.html"]
    assert urls(corpus.search("capybara")) == ["local://bad/nul.md"]
    doc = corpus.fetch("local://bad/bad-encoding.html")
    assert "okapi" in doc.text and doc.title.startswith("Bad")


def test_empty_folder_is_a_config_error(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConfigError, match="no indexable files"):
        open_corpus(tmp_path / "empty")
    make_folder(tmp_path / "images", {"a.png": b"png", ".hidden.html": "<p>x</p>"})
    with pytest.raises(ConfigError, match="no indexable files"):
        open_corpus(tmp_path / "images")


def test_missing_path_and_unknown_type_are_config_errors(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        open_corpus(tmp_path / "nowhere")
    (tmp_path / "book.pdf").write_bytes(b"%PDF-1.4")
    with pytest.raises(ConfigError, match="unknown corpus type"):
        open_corpus(tmp_path / "book.pdf")


def _many(tmp_path: Path) -> FolderCorpus:
    files = {
        f"p{i:02d}.txt": f"common filler page {i} "
        + ("rare okapi " if i < 2 else "")
        + ("middling " if i < 6 else "")
        for i in range(30)
    }
    files["title.html"] = "<title>Okapi facts</title><p>common filler</p>"
    return open_corpus(make_folder(tmp_path / "many", files))


def test_title_outranks_body(tmp_path):
    corpus = _many(tmp_path)
    assert urls(corpus.search("okapi", 3))[0] == "local://many/title.html"


def test_document_frequencies_follow_changes(tmp_path):
    corpus = _many(tmp_path)
    planner = corpus.index._planner
    assert {t.word: t.df for t in planner.analyze("okapi common")} == {"okapi": 3, "common": 31}
    (tmp_path / "many" / "p00.txt").unlink()
    corpus.close()
    corpus = open_corpus(tmp_path / "many")
    assert {t.word: t.df for t in corpus.index._planner.analyze("okapi")} == {"okapi": 2}


def test_large_corpus_plan_drops_common_terms(tmp_path, monkeypatch):
    import webqa.corpus.ftsquery as fq

    corpus = _many(tmp_path)
    planner = corpus.index._planner
    monkeypatch.setattr(fq, "COMMON_DF", 10)
    monkeypatch.setattr(fq, "SCORE_CAP", 5)
    monkeypatch.setattr(fq, "OR_BUDGET", 4)
    terms = planner.analyze("common okapi middling")
    stages = planner.plan(terms, corpus_size=10_000)
    # "common" (31 pages) is left out; the OR stage stops before the budget is passed.
    assert [s.expr for s in stages] == ['"okapi" AND "middling"', '"okapi"']
    found = urls(corpus.search("common okapi middling", 10))
    # Pages with both kept words first, then the rest of the rarest word's pages.
    assert set(found[:2]) == {"local://many/p00.txt", "local://many/p01.txt"}
    assert found[2:] == ["local://many/title.html"]
    # Only very common words: listed unranked, and still found.
    stages = planner.plan(planner.analyze("common filler"), corpus_size=10_000)
    assert stages == [fq.Stage('"common" AND "filler"', ranked=False)]
    assert len(corpus.search("common filler", 5)) == 5


def test_small_corpus_plan_uses_every_word(tmp_path):
    corpus = _many(tmp_path)
    planner = corpus.index._planner
    stages = planner.plan(planner.analyze("okapi middling common page"))
    assert stages[-1].expr.count(" OR ") == 3


def test_damaged_index_file_is_rebuilt(folder):
    corpus = open_corpus(folder)
    index_path = corpus.index.path
    corpus.close()
    for suffix in ("-wal", "-shm"):
        Path(f"{index_path}{suffix}").unlink(missing_ok=True)
    index_path.write_bytes(b"this is not an SQLite database" * 100)
    corpus = open_corpus(folder)
    assert corpus.last_refresh.added == 5
    assert urls(corpus.search("WAOK"))[0] == "local://site/concert.html"


def test_title_holding_the_query_words_ranks_first_in_a_small_corpus(tmp_path):
    # "probe" is on every page, so bm25 gives it no weight; the page titled with it must still win.
    files = {
        f"p{i}.html": f"<title>Planet {i}</title><p>Probe launch, launch, launch.</p>"
        for i in range(12)
    }
    files["probe.html"] = (
        "<title>The Probe</title><p>It had one launch in 1977, after years of "
        "work on its design, its instruments and the probe itself.</p>"
    )
    files["nav.html"] = (
        "<title>Site</title><nav>probe launch probe launch probe launch</nav>"
        "<p>Nothing about spacecraft here.</p>"
    )
    corpus = open_corpus(make_folder(tmp_path / "site", files), cache_dir=tmp_path / "idx")
    urls = [r.url.rsplit("/", 1)[-1] for r in corpus.search("probe launch", 5)]
    assert urls[0] == "probe.html"
    assert "nav.html" not in urls  # site chrome is not indexed
