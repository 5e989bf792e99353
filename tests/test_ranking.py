"""Search ranking over a documentation folder: defining pages first, phrases, hubs and chrome."""

from __future__ import annotations

import time

import pytest
from docs_fixtures import DOCBOOK_TUNING, SPHINX_LOCKS, write_docs

from webqa.corpus import open_corpus
from webqa.corpus.ftsquery import phrases
from webqa.corpus.text import html_to_text


def _names(results) -> list[str]:
    return [r.url.rsplit("/", 1)[-1] for r in results]


@pytest.fixture()
def manual(tmp_path):
    root = write_docs(tmp_path / "manual")
    # Pages that use the words of the identifiers without defining them.
    for i in range(12):
        (root / f"guide{i}.html").write_text(
            f"<html><head><title>Guide {i}</title></head><body><h1>Guide {i}</h1><p>Each worker "
            "has a work buffer of its own, and an idle slice of time between jobs. The lock "
            "timeout of a queue is set when it is made; max waiters and the slice of idle time "
            "are logged.</p></body></html>",
            encoding="utf-8",
        )
    (root / "lear.html").write_text(
        "<html><head><title>King Lear</title></head><body><p>Lear divides his kingdom among "
        "his daughters. Lear is a tragedy.</p></body></html>",
        encoding="utf-8",
    )
    (root / "leared.html").write_text(
        "<html><head><title>Surnames</title></head><body><p>The Leared family kept the mill "
        "for three generations, and the name lear appears in old deeds.</p></body></html>",
        encoding="utf-8",
    )
    corpus = open_corpus(root)
    yield corpus
    corpus.close()


def test_an_exact_identifier_ranks_its_defining_page_first(manual):
    assert _names(manual.search("what is the default of work_buffer"))[0] == "resource.html"
    assert _names(manual.search("idle_slice default"))[0] == "resource.html"
    assert _names(manual.search("MAX_WAITERS limit"))[0] == "locks.html"


def test_a_quoted_phrase_is_matched_as_a_phrase(manual):
    assert _names(manual.search('"background worker sleeps"'))[0] == "resource.html"


def test_hub_pages_rank_below_content_pages(manual):
    found = _names(manual.search("lock timeout waiting", 10))
    assert found[0] == "locks.html"
    assert "genindex.html" not in found[:3] and "contents.html" not in found[:3]


def test_navigation_chrome_is_not_indexed(manual):
    # "Report a Bug", "Previous topic", "Prev", "Home" and the footer are on the pages' chrome.
    assert manual.search("Report Bug Copyright Sphinx") == [] or all(
        r.url.rsplit("/", 1)[-1] not in ("locks.html", "resource.html")
        for r in manual.search("Report Bug Copyright Sphinx")
    )
    assert not any(r.url.endswith("resource.html") for r in manual.search("Prev Home Next Up"))


def test_a_word_as_written_beats_its_stem(manual):
    assert _names(manual.search("Leared"))[0] == "leared.html"


def test_index_text_leaves_out_chrome_and_hub_link_lists():
    text = html_to_text(SPHINX_LOCKS)
    assert "The default is 3 seconds." in text
    for chrome in (
        "Previous topic",
        "Next topic",
        "Report a Bug",
        "Copyright",
        "Show Source",
        "¶",
        "Navigation",
    ):
        assert chrome not in text, chrome
    docbook = html_to_text(DOCBOOK_TUNING)
    assert "The default is 200 milliseconds." in docbook
    assert "Prev" not in docbook and "Home" not in docbook and "Write Ahead Log" not in docbook
    hub = (
        "<html><body><h1>Index</h1><ul>"
        + "".join(f'<li><a href="p{i}.html">entry number {i}</a></li>' for i in range(500))
        + "</ul></body>"
    )
    assert "entry number" not in html_to_text(hub)
    assert "Index" in html_to_text(hub)


def test_chrome_removal_is_linear_on_hostile_markup():
    # Unclosed chrome elements, deep nesting and many links: seconds, not minutes.
    hostile = (
        '<div class="related">' * 20_000
        + "text "
        + '<a href="x">link</a> words ' * 20_000
        + "<div class='footer'><div>" * 5_000
    )
    started = time.perf_counter()
    html_to_text(hostile)
    assert time.perf_counter() - started < 5.0


def test_phrases_of_a_query():
    assert phrases('the "exact words" and default_text_search_config') == [
        ["exact", "words"],
        ["default", "text", "search", "config"],
    ]
    assert phrases("sys.setswitchinterval() changes PG_MODULE_MAGIC") == [
        ["sys", "setswitchinterval"],
        ["pg", "module", "magic"],
    ]
    assert phrases("plain words only") == []


def test_index_text_reads_as_the_page_renders():
    from webqa.corpus.text import html_to_text
    from webqa.records import Document
    from webqa.render import render_document

    html = (
        "<p>The limit is 2<sup>30</sup> - 1 bytes; water is H<sub>2</sub>O; "
        "<acronym>TOAST</acronym>ed values.</p>"
    )
    indexed = html_to_text(html)
    shown = " ".join(render_document(Document("https://e.org/", "text/html", text=html)).lines)
    assert indexed == shown == "The limit is 2^30 - 1 bytes; water is H_2O; TOASTed values."
