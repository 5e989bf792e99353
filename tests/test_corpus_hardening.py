"""Corpora under stress: lifecycle, descriptors, concurrent builds, damaged indexes, odd file
names, hostile URLs, pages and queries. Nothing foreign may escape and every cost is bounded."""

from __future__ import annotations

import gc
import logging
import multiprocessing
import os
import sqlite3
import sys
import time
import tracemalloc
from contextlib import closing, suppress
from pathlib import Path

import pytest
from corpus_fixtures import http_response, make_folder, make_warc, make_zim, make_zim_pages, page
from warcio.warcwriter import WARCWriter

from webqa.corpus import FolderCorpus, WarcCorpus, ZimCorpus, build_index, open_corpus
from webqa.corpus.base import MAX_QUERY_CHARS, MAX_QUERY_WORDS, bound_query
from webqa.corpus.ftsquery import SNIPPET_MAX_CHARS
from webqa.errors import ConfigError, FetchError, SearchError, WebQAError

PAGES = {
    "concert.html": (
        "<title>Herndon Stadium concert</title><p>Ray Charles recorded a live album "
        "at Herndon Stadium; radio station WAOK sponsored the concert.</p>"
    ),
    "notes/newport.md": "# Newport notes\n\nLiner notes by Kenneth Lee Karpe.\n",
    "notes/atlanta.txt": "Atlanta has many radio stations and a stadium.",
}


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    return make_folder(tmp_path / "site", PAGES)


@pytest.fixture
def warc_path(tmp_path: Path) -> Path:
    return make_warc(tmp_path / "crawl.warc.gz")


@pytest.fixture(scope="module")
def zim_path(tmp_path_factory) -> Path:
    return make_zim(tmp_path_factory.mktemp("zim") / "wiki.zim")


def _open_fds() -> int:
    gc.collect()  # objects other tests left behind would close their files mid-count
    return len(os.listdir("/proc/self/fd"))


def _urls(results) -> list[str]:
    return [r.url for r in results]


# -- lifecycle ------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["folder", "warc", "zim"])
def test_every_corpus_is_a_context_manager_and_says_when_closed(kind, folder, warc_path, zim_path):
    path = {"folder": folder, "warc": warc_path, "zim": zim_path}[kind]
    with open_corpus(path) as corpus:
        assert isinstance(corpus, (FolderCorpus, WarcCorpus, ZimCorpus))
        hits = corpus.search("Herndon Stadium radio", 3)
        assert hits
        assert corpus.fetch(hits[0].url).text
    corpus.close()  # idempotent after the with block closed it
    with pytest.raises(SearchError, match="closed"):
        corpus.search("Herndon")
    with pytest.raises(FetchError, match="closed"):
        corpus.fetch(hits[0].url)


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="needs /proc")
def test_opening_and_closing_fifty_times_keeps_descriptors_stable(folder, warc_path):
    for path in (folder, warc_path):
        open_corpus(path).close()  # the first open builds the index
        before = _open_fds()
        for _ in range(50):
            corpus = open_corpus(path)
            corpus.fetch(corpus.search("radio", 1)[0].url)
            corpus.close()
        assert _open_fds() == before
        for _ in range(50):
            with open_corpus(path) as corpus:
                corpus.search("stadium")
        assert _open_fds() == before


# -- concurrent builds ----------------------------------------------------------------------


def _build_in_child(root: str, home: str, barrier, results) -> None:
    os.environ["WEBQA_HOME"] = home
    barrier.wait(timeout=30)
    try:
        stats = build_index(root)
        results.put(("ok", stats.documents, stats.added))
    except BaseException as exc:  # report anything to the parent, which asserts on it
        results.put(("error", type(exc).__name__, str(exc)))


def _race(ctx, root: Path) -> list[tuple]:
    """Run two processes building ``root``'s index at the same moment; their outcomes."""
    barrier, results = ctx.Barrier(2), ctx.Queue()
    home = os.environ["WEBQA_HOME"]
    procs = [
        ctx.Process(target=_build_in_child, args=(str(root), home, barrier, results))
        for _ in range(2)
    ]
    for proc in procs:
        proc.start()
    outcomes = [results.get(timeout=100) for _ in procs]
    for proc in procs:
        proc.join(timeout=30)
    return outcomes


@pytest.mark.timeout(120)
def test_two_processes_building_one_new_or_changed_folder_both_succeed(tmp_path):
    ctx = multiprocessing.get_context("fork")
    # The race is a matter of timing: a few new folders make losing it all but certain.
    for n in range(4):
        files = {
            f"d{i % 7}/page{i}.html": f"<title>Page {i}</title><p>marker{i} words</p>"
            for i in range(300)
        }
        root = make_folder(tmp_path / f"big{n}", files)
        outcomes = _race(ctx, root)
        assert [o[0] for o in outcomes] == ["ok", "ok"], outcomes
        assert [o[1] for o in outcomes] == [300, 300]
        assert sorted(o[2] for o in outcomes) == [0, 300]  # one built, the other found it done
    for i in range(0, 300, 3):  # changed and new files
        path = root / f"d{i % 7}/page{i}.html"
        path.write_text(f"<title>Page {i}</title><p>changed{i} words</p>")
        os.utime(path, (1, 1))
        (root / f"new/page{i}.txt").parent.mkdir(exist_ok=True)
        (root / f"new/page{i}.txt").write_text(f"fresh{i} words")
    outcomes = _race(ctx, root)
    assert [o[0] for o in outcomes] == ["ok", "ok"], outcomes
    assert [o[1] for o in outcomes] == [400, 400]
    with closing(open_corpus(root)) as corpus:
        keys = [k for (k,) in corpus.index.db.execute("SELECT key FROM docs")]
        assert len(keys) == len(set(keys)) == 400
        assert _urls(corpus.search("marker7", 3)) == ["local://big3/d0/page7.html"]
        assert _urls(corpus.search("changed9", 3)) == ["local://big3/d2/page9.html"]
        assert _urls(corpus.search("fresh9", 3)) == ["local://big3/new/page9.txt"]
        assert corpus.search("marker9") == []
        assert corpus.last_refresh.unchanged == 400


# -- damaged indexes ------------------------------------------------------------------------


def _index_path(folder: Path) -> Path:
    with closing(open_corpus(folder)) as corpus:
        path = corpus.index.path
    for suffix in ("-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    return path


def _assert_rebuilt(corpus, caplog) -> None:
    assert corpus.last_refresh is not None and corpus.last_refresh.added == 3
    assert _urls(corpus.search("WAOK"))[0] == "local://site/concert.html"
    warnings = [
        r
        for r in caplog.records
        if r.name.startswith("webqa.corpus") and r.levelno == logging.WARNING
    ]
    assert any("damaged" in r.getMessage() for r in warnings)


@pytest.mark.parametrize("table", ["fts", "docs", "fts_data", "df"])
def test_a_dropped_table_is_detected_and_the_index_rebuilt(folder, table, caplog, capsys):
    path = _index_path(folder)
    db = sqlite3.connect(path)
    db.execute(f"DROP TABLE {table}")
    db.commit()
    db.close()
    with closing(open_corpus(folder)) as corpus:
        _assert_rebuilt(corpus, caplog)
    assert capsys.readouterr() == ("", "")  # logged, never printed


def test_flipped_bytes_in_the_file_are_detected_and_the_index_rebuilt(folder, caplog):
    path = _index_path(folder)
    db = sqlite3.connect(path)
    page_size = db.execute("PRAGMA page_size").fetchone()[0]
    roots = [
        r
        for (r,) in db.execute(
            "SELECT rootpage FROM sqlite_master WHERE name IN ('docs', 'fts_data') AND rootpage > 1"
        )
    ]
    db.close()
    data = bytearray(path.read_bytes())
    for root in roots:
        start = (root - 1) * page_size
        data[start : start + page_size] = bytes((i * 37 + 11) % 256 for i in range(page_size))
    path.write_bytes(bytes(data))
    with closing(open_corpus(folder)) as corpus:
        _assert_rebuilt(corpus, caplog)


def test_damage_a_search_trips_over_is_repaired_and_the_search_answered(folder, caplog):
    path = _index_path(folder)
    db = sqlite3.connect(path)
    # The b-trees stay sound (quick_check passes); FTS5's own doclists are garbage.
    db.execute(
        "UPDATE fts_data SET block = x'ffffffffffffffffffff' || substr(block, 11) WHERE id > 10"
    )
    db.commit()
    assert db.execute("PRAGMA quick_check").fetchone() == ("ok",)
    db.close()
    with closing(open_corpus(folder)) as corpus:
        assert corpus.last_refresh.unchanged == 3  # nothing looked wrong on open
        assert _urls(corpus.search("WAOK"))[0] == "local://site/concert.html"
        assert any(
            "damaged" in r.getMessage() for r in caplog.records if r.name.startswith("webqa.corpus")
        )
        assert corpus.index.damaged is False
        assert corpus.fetch("local://site/concert.html").title == "Herndon Stadium concert"


def test_a_damaged_warc_index_is_rebuilt_from_the_archive(warc_path, caplog):
    with closing(open_corpus(warc_path)) as corpus:
        path = corpus.index.path
    db = sqlite3.connect(path)
    db.execute("DROP TABLE fts")
    db.commit()
    db.close()
    with closing(open_corpus(warc_path)) as corpus:
        assert corpus.last_refresh is not None and corpus.last_refresh.added >= 4
        assert _urls(corpus.search("Herndon WAOK"))[0] == "http://example.com/herndon"
    assert any("damaged" in r.getMessage() for r in caplog.records)


# -- file names and URLs --------------------------------------------------------------------


@pytest.mark.skipif(sys.platform in ("darwin", "win32"), reason="needs byte file names")
def test_a_file_name_that_is_not_utf8_is_indexed_and_served(folder):
    raw = os.path.join(os.fsencode(folder), b"caf\xe9.html")
    with open(raw, "wb") as fh:
        fh.write(b"<title>Cafe menu</title><p>espresso and croissants</p>")
    os.makedirs(os.path.join(os.fsencode(folder), b"d\xff"))
    with open(os.path.join(os.fsencode(folder), b"d\xff", b"n\xfeotes.txt"), "wb") as fh:
        fh.write(b"zabaglione recipe")
    with closing(open_corpus(folder)) as corpus:
        assert corpus.last_refresh.added == 5 and corpus.last_refresh.skipped == []
        hit = corpus.search("espresso")[0]
        assert hit.url == "local://site/caf%E9.html" and hit.title == "Cafe menu"
        doc = corpus.fetch(hit.url)
        assert "croissants" in doc.text and doc.url == hit.url
        nested = corpus.search("zabaglione")[0]
        assert nested.url == "local://site/d%FF/n%FEotes.txt"
        assert nested.title == "n\ufffdotes"  # the name's bad byte, shown as text
        assert corpus.fetch(nested.url).text == "zabaglione recipe"
        assert _urls(corpus.search("WAOK"))[0] == "local://site/concert.html"
    with closing(open_corpus(folder)) as corpus:  # and the refresh after it sees nothing changed
        assert corpus.last_refresh.unchanged == 5


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("local://site/%00", "NUL"),
        ("local://site/concert.html%00.txt", "NUL"),
        ("local://site/" + "a" * 300 + ".html", "too long"),
        ("local://site/" + "d/" * 3000 + "x.html", "not in this corpus"),
        ("local://site/\ud800.html", "not in this corpus"),
        ("local://site/\udce9.html", "not in this corpus"),
        ("local://site/%E9%FF.html", "not in this corpus"),
    ],
)
def test_hostile_local_urls_are_fetch_errors(folder, url, message):
    with closing(open_corpus(folder)) as corpus:
        with pytest.raises(FetchError, match=message) as info:
            corpus.fetch(url)
    assert len(str(info.value)) < 400  # the URL is not echoed whole


@pytest.mark.parametrize(
    "path",
    ["%00", "\x00", "\udcff", "\ud800x", "a" * 100_000, "%ff%fe", "A/%2e%2e/%2e%2e/etc/passwd"],
)
def test_hostile_zim_urls_are_fetch_errors(zim_path, path):
    with closing(open_corpus(zim_path)) as corpus:
        with pytest.raises(FetchError) as info:
            corpus.fetch(f"zim://test_wiki/{path}")
    assert len(str(info.value)) < 400


@pytest.mark.parametrize(
    "url",
    [
        "http://example.com/\ud800",
        "http://example.com/%00",
        "http://example.com/" + "a" * 100_000,
        "\x00",
    ],
)
def test_hostile_warc_urls_are_fetch_errors(warc_path, url):
    with closing(open_corpus(warc_path)) as corpus:
        with pytest.raises(FetchError, match="not in this corpus"):
            corpus.fetch(url)


# -- queries --------------------------------------------------------------------------------


def test_bound_query_keeps_short_queries_and_cuts_long_ones():
    question = "Which radio station sponsored Ray Charles's concert at Herndon Stadium?"
    assert bound_query(question) is question
    long = bound_query("word " * 10_000)
    assert len(long.split()) == MAX_QUERY_WORDS
    cut = bound_query("abcdefghi " * 500)
    assert len(cut) <= MAX_QUERY_CHARS and cut.endswith("abcdefghi")
    assert len(bound_query("x" * 1_000_000)) == MAX_QUERY_CHARS
    assert bound_query("caf\ud800 Ray") == "caf? Ray"


def _capitalised(chars: int) -> str:
    words, n = [], 0
    while n < chars:
        word = f"Word{len(words)}"
        words.append(word)
        n += len(word) + 1
    return " ".join(words)


@pytest.mark.timeout(60)
@pytest.mark.parametrize("kind", ["zim", "folder", "warc"])
def test_a_megabyte_capitalised_query_is_answered_quickly(kind, folder, warc_path, zim_path):
    query = _capitalised(1_000_000)
    path = {"folder": folder, "warc": warc_path, "zim": zim_path}[kind]
    with closing(open_corpus(path)) as corpus:
        tracemalloc.start()
        start = time.monotonic()
        try:
            for q in (query, query[:120_000], "x" * 1_000_000, '"' * 500_000):
                assert isinstance(corpus.search(q, 5), list)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert time.monotonic() - start < 2.0
        assert peak < 50 * 1024 * 1024


@pytest.mark.parametrize("query", ["\ud800 Ray Charles", "Ray \udcff Charles", "\x00", "\udfff"])
def test_queries_with_lone_surrogates_never_raise(query, folder, warc_path, zim_path):
    for path in (folder, warc_path, zim_path):
        with closing(open_corpus(path)) as corpus:
            assert isinstance(corpus.search(query, 5), list)


# -- hostile pages --------------------------------------------------------------------------

HOSTILE_PAGES: dict[str, str | bytes] = {
    "rot13.html": "<meta charset='rot13'><title>Rot</title><p>quokka rotated</p>",
    "hex.html": "<meta charset=hex><title>Hex</title><p>quokka hex</p>",
    "deep.html": "<div><span>" * 40_000 + "quokka deep" + "</span></div>" * 40_000,
    "token.txt": "quokka " + "z" * 2_000_000,
    "comment.html": "<p>quokka</p><!--" + "<p>" * 100_000 + "hidden",
    "nul.md": "# \x00\x00\n\nquokka \x00 nul",
    "entities.html": "<p>quokka " + "&#x110000;&#0;&#xD800;&amp;" * 10_000 + "</p>",
    "utf16.txt": "\ufeffquokka utf16".encode("utf-16"),
    # UTF-7 decodes "+2AA-" to a lone surrogate, which SQLite and the trace writer refuse.
    "utf7.html": b"<meta charset='utf-7'><title>+2AA-</title><p>quokka +2AA- seven</p>",
}


def test_hostile_folder_pages_index_and_serve(tmp_path):
    root = make_folder(tmp_path / "hostile", HOSTILE_PAGES)
    with closing(open_corpus(root)) as corpus:
        assert corpus.last_refresh.added == len(HOSTILE_PAGES)
        hits = corpus.search("quokka", 20)
        assert len(hits) == len(HOSTILE_PAGES)
        assert max(len(h.snippet) for h in hits) <= SNIPPET_MAX_CHARS + 1
        for hit in hits:
            corpus.fetch(hit.url).text.encode("utf-8")  # valid text, no lone surrogates


def test_hostile_warc_records_index_and_serve(tmp_path):
    path = tmp_path / "hostile.warc.gz"
    with open(path, "wb") as fh:
        w = WARCWriter(fh, gzip=True)
        http_response(
            w,
            "http://h.example/rot",
            page("Rot", "<p>quokka</p>").encode(),
            "text/html; charset=rot13",
        )
        http_response(
            w,
            "http://h.example/deep",
            ("<div>" * 50_000 + "quokka").encode(),
            "text/html; charset=utf-8",
        )
        http_response(
            w, "http://h.example/bad", b"\x80\x00quokka \xc3", "text/plain; charset=base64"
        )
        http_response(
            w, "http://h.example/seven", b"<p>quokka +2AA- seven</p>", "text/html; charset=utf-7"
        )
    with closing(open_corpus(path)) as corpus:
        hits = corpus.search("quokka", 10)
        assert sorted(_urls(hits)) == [
            "http://h.example/bad",
            "http://h.example/deep",
            "http://h.example/rot",
            "http://h.example/seven",
        ]
        for hit in hits:
            text = corpus.fetch(hit.url).text
            assert "quokka" in text and text.encode("utf-8")


def test_hostile_zim_articles_search_and_serve(tmp_path):
    path = make_zim_pages(
        tmp_path / "hostile.zim",
        "hostile",
        {
            "Rot": ("Rot", "<meta charset='rot13'><title>Rot</title><p>Quokka rotated</p>"),
            "Deep": ("Deep", "<div>" * 50_000 + "<p>Quokka deep</p>"),
            "Nul": ("Nul", "<p>Quokka \x00 nul</p>"),
            "Seven": ("Seven", "<meta charset='utf-7'><p>Quokka +2AA- seven</p>"),
        },
    )
    with closing(open_corpus(path)) as corpus:
        hits = corpus.search("Quokka", 10)
        assert {h.url for h in hits} == {
            "zim://hostile/Rot",
            "zim://hostile/Deep",
            "zim://hostile/Nul",
            "zim://hostile/Seven",
        }
        for hit in hits:
            text = corpus.fetch(hit.url).text
            assert "Quokka" in text and text.encode("utf-8")
            assert hit.snippet.encode("utf-8")


def test_errors_stay_inside_the_webqa_tree(tmp_path):
    # Not a folder, a missing file and a directory named like a WARC: ConfigError, nothing else.
    (tmp_path / "dir.warc").mkdir()
    (tmp_path / "empty.zim").write_bytes(b"")
    for path in (tmp_path / "missing", tmp_path / "empty.zim", tmp_path / "dir.warc"):
        with pytest.raises(WebQAError):
            open_corpus(path)
    with pytest.raises(ConfigError):
        open_corpus(tmp_path / "dir.warc")


def test_a_warc_file_gone_or_cut_after_indexing_gives_fetch_errors(warc_path):
    with closing(open_corpus(warc_path)) as corpus:
        data = warc_path.read_bytes()
        warc_path.write_bytes(data[:200])  # cut short: the stored offsets point past the end
        with pytest.raises(FetchError, match="cannot read"):
            corpus.fetch("http://example.com/herndon")
        warc_path.unlink()
        with pytest.raises(FetchError, match="cannot read"):
            corpus.fetch("http://example.com/herndon")
        assert _urls(corpus.search("Herndon WAOK"))[0] == "http://example.com/herndon"


def test_a_repair_reuses_the_index_another_corpus_object_already_rebuilt(folder, caplog):
    first = open_corpus(folder)
    second = open_corpus(folder)
    try:
        db = sqlite3.connect(first.index.path)
        db.execute(
            "UPDATE fts_data SET block = x'ffffffffffffffffffff' || substr(block, 11) WHERE id > 10"
        )
        db.commit()
        db.close()
        assert _urls(second.search("WAOK"))[0] == "local://site/concert.html"  # rebuilt
        assert second.last_refresh.added == 3
        assert _urls(first.search("WAOK"))[0] == "local://site/concert.html"
        assert first.last_refresh.unchanged == 3  # it took the new file, not a third build
    finally:
        first.close()
        second.close()


_FUZZ_PIECES = [
    "%00",
    "\x00",
    "%",
    "%zz",
    "%E9",
    "%ff",
    "\ud800",
    "\udcff",
    "..",
    "/",
    "//",
    "#",
    "?",
    " ",
    "\n",
    "A/",
    "-/",
    "concert.html",
    "notes",
    "Ray_Charles",
    "“",
    "\U0001f600",
    "a" * 300,
    "é",
    "\\",
    "*",
    '"',
    "NEAR(",
    "local://site/",
    "zim://test_wiki/",
    "http://example.com/",
    "herndon",
    "%2e%2e",
    ":",
]


@pytest.mark.timeout(60)
def test_fuzzed_urls_and_queries_raise_only_webqa_errors(folder, warc_path, zim_path):
    import random

    rnd = random.Random(8)
    corpora = [open_corpus(folder), open_corpus(warc_path), open_corpus(zim_path)]
    try:
        start = time.monotonic()
        for _ in range(1500):
            corpus = rnd.choice(corpora)
            text = "".join(rnd.choice(_FUZZ_PIECES) for _ in range(rnd.randint(1, 8)))
            prefix = rnd.choice(["local://site/", "zim://test_wiki/", "http://example.com/", ""])
            with suppress(FetchError):
                corpus.fetch(prefix + text)
            for hit in corpus.search(text, 3):
                hit.snippet.encode("utf-8")
        assert time.monotonic() - start < 30
    finally:
        for corpus in corpora:
            corpus.close()
