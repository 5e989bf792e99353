"""WARC corpora: which records are indexed, charsets, fetch by target URI, cache, errors."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest
from corpus_fixtures import PNG, http_response, make_warc
from warcio.warcwriter import WARCWriter

from webqa.corpus import Corpus, WarcCorpus, build_index, open_corpus
from webqa.errors import ConfigError, FetchError
from webqa.protocols import DocumentSource, SearchEngine
from webqa.urls import join


@pytest.fixture(params=[True, False], ids=["warc.gz", "warc"])
def warc_path(request, tmp_path) -> Path:
    gz = request.param
    return make_warc(tmp_path / ("crawl.warc.gz" if gz else "crawl.warc"), gzip=gz)


def urls(results) -> list[str]:
    return [r.url for r in results]


def test_indexes_html_and_text_responses_only(warc_path):
    corpus = open_corpus(warc_path)
    assert isinstance(corpus, WarcCorpus)
    assert isinstance(corpus, SearchEngine) and isinstance(corpus, DocumentSource)
    assert isinstance(corpus, Corpus) and corpus.kind == "warc"
    assert corpus.name == "warc:crawl"
    assert corpus.index.count() == 5  # home, herndon, latin, notes.txt, twice
    assert urls(corpus.search("zebras", 10)) == ["http://example.com/notes.txt"]  # not the 404


def test_question_finds_the_archived_page(warc_path):
    corpus = open_corpus(warc_path)
    hits = corpus.search("Which radio station sponsored the concert at Herndon Stadium?", 3)
    assert hits[0].url == "http://example.com/herndon"
    assert hits[0].title == "Herndon concert" and "WAOK" in hits[0].snippet


def test_fetch_serves_the_archived_body_in_its_charset(warc_path):
    corpus = open_corpus(warc_path)
    doc = corpus.fetch("http://example.com/latin")
    assert "Cr\u00e8me br\u00fbl\u00e9e" in doc.text and doc.title == "Caf\u00e9 menu"
    assert doc.content_type == "text/html"
    text = corpus.fetch("http://example.com/notes.txt")
    assert text.content_type == "text/plain" and text.text == "Plain notes about zebras."
    assert urls(corpus.search("creme brulee", 3)) == ["http://example.com/latin"]


def test_fetch_finds_url_variants_and_links(warc_path):
    corpus = open_corpus(warc_path)
    home = corpus.fetch("http://example.com")  # archived as http://example.com/
    assert home.url == "http://example.com/"
    linked = corpus.fetch(join(home.url, "/herndon#top"))
    assert linked.url == "http://example.com/herndon" and "WAOK" in linked.text


def test_later_capture_of_a_url_wins(warc_path):
    corpus = open_corpus(warc_path)
    assert corpus.fetch("http://example.com/twice").title == "Second capture"
    assert "new" in corpus.fetch("http://example.com/twice").text


@pytest.mark.parametrize(
    "url",
    [
        "http://example.com/logo.png",
        "http://example.com/gone",
        "http://example.com/never-crawled",
        "https://example.com/herndon",
    ],
)
def test_urls_not_archived_as_pages_fail(warc_path, url):
    with pytest.raises(FetchError, match="not in this corpus") as info:
        open_corpus(warc_path).fetch(url)
    assert info.value.url == url


def test_index_is_reused_until_the_file_changes(warc_path, tmp_path):
    first = open_corpus(warc_path)
    assert first.last_refresh is not None and first.last_refresh.added == 5
    first.close()
    again = open_corpus(warc_path)
    assert again.last_refresh is None  # cache hit: nothing re-read
    again.close()
    with open(warc_path, "ab") as fh:
        w = WARCWriter(fh, gzip=warc_path.suffix == ".gz")
        http_response(
            w, "http://example.com/extra", b"<title>Extra</title><p>okapi</p>", "text/html"
        )
    rebuilt = open_corpus(warc_path)
    assert rebuilt.last_refresh is not None and rebuilt.index.count() == 6
    assert urls(rebuilt.search("okapi")) == ["http://example.com/extra"]


def test_build_index_reports_records(warc_path, tmp_path):
    seen = []
    stats = build_index(warc_path, cache_dir=tmp_path / "c", progress=lambda *a: seen.append(a))
    assert stats.kind == "warc" and stats.documents == 5
    assert seen and seen[-1][1] is None and seen[-1][2] == "http://example.com/twice"
    assert build_index(warc_path, cache_dir=tmp_path / "c").unchanged == 5


def test_random_bytes_and_empty_archives_are_config_errors(tmp_path):
    (tmp_path / "random.warc.gz").write_bytes(os.urandom(2048))
    (tmp_path / "text.warc").write_text("this is not a WARC file\n" * 10)
    for name in ("random.warc.gz", "text.warc"):
        with pytest.raises(ConfigError, match="not a readable WARC file"):
            open_corpus(tmp_path / name)
    with open(tmp_path / "images.warc.gz", "wb") as fh:
        w = WARCWriter(fh, gzip=True)
        http_response(w, "http://example.com/a.png", PNG, "image/png")
        w.write_record(
            w.create_warc_record(
                "http://example.com/", "request", payload=io.BytesIO(b"GET / HTTP/1.1\r\n\r\n")
            )
        )
    with pytest.raises(ConfigError, match="no HTML or text pages"):
        open_corpus(tmp_path / "images.warc.gz")


def test_bytes_after_a_blank_line_are_not_taken_for_a_warc_record(tmp_path):
    # warcio makes a header-less "warc" record of any bytes after a newline; 1 in ~300
    # random files starts with one, and was reported as a WARC without pages.
    (tmp_path / "blank.warc").write_bytes(b"\n'garbage line\n\nmore bytes")
    with pytest.raises(ConfigError, match="not a readable WARC file"):
        open_corpus(tmp_path / "blank.warc")


def test_damaged_tail_keeps_the_records_before_it(tmp_path):
    path = make_warc(tmp_path / "cut.warc.gz")
    path.write_bytes(path.read_bytes() + b"\x1f\x8b\x08\x00 not gzip " + os.urandom(200))
    corpus = open_corpus(path)
    assert corpus.index.count() == 5
    assert corpus.fetch("http://example.com/herndon").title == "Herndon concert"
    assert "unreadable from here on" in corpus.last_refresh.skipped[0][1]


def test_truncated_archive_keeps_what_it_can(tmp_path):
    path = make_warc(tmp_path / "short.warc.gz")
    path.write_bytes(path.read_bytes()[:-100])
    assert open_corpus(path).fetch("http://example.com/herndon").title == "Herndon concert"
