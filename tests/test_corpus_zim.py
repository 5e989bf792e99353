"""ZIM corpora: search on questions, redirects, links, non-articles, title fallback, errors."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest
from corpus_fixtures import ARTICLES, ZIM_NAME, make_zim
from libzim.reader import Archive
from libzim.search import Query, Searcher

from webqa.corpus import Corpus, ZimCorpus, build_index, open_corpus
from webqa.errors import ConfigError, FetchError
from webqa.protocols import DocumentSource, SearchEngine
from webqa.urls import join

BASE = f"zim://{ZIM_NAME}"
QUESTION = (
    "Which radio station sponsored and recorded Ray Charles's May 28, 1959 concert "
    "at Herndon Stadium in Atlanta?"
)


@pytest.fixture(scope="module")
def zim_path(tmp_path_factory) -> Path:
    return make_zim(tmp_path_factory.mktemp("zim") / "wiki.zim")


@pytest.fixture(scope="module")
def corpus(zim_path) -> ZimCorpus:
    return open_corpus(zim_path)


@pytest.fixture(scope="module")
def titles_only(tmp_path_factory) -> ZimCorpus:
    path = make_zim(tmp_path_factory.mktemp("zim") / "titles_only.zim", fulltext=False, name=None)
    return open_corpus(path)


def urls(results) -> list[str]:
    return [r.url for r in results]


def test_opens_with_name_from_metadata(corpus):
    assert isinstance(corpus, ZimCorpus)
    assert isinstance(corpus, SearchEngine) and isinstance(corpus, DocumentSource)
    assert isinstance(corpus, Corpus) and corpus.kind == "zim"
    assert corpus.name == f"zim:{ZIM_NAME}" and corpus.label == ZIM_NAME


def test_whole_question_finds_the_page_libzim_alone_does_not(corpus, zim_path):
    raw = Searcher(Archive(zim_path)).search(Query().set_query(QUESTION))
    assert raw.getEstimatedMatches() == 0  # libzim ANDs every word: the question finds nothing
    hits = corpus.search(QUESTION, 5)
    assert hits[0].url == f"{BASE}/Ray_Charles_in_Person"
    assert hits[0].title == "Ray Charles in Person"
    assert "WAOK" in hits[0].snippet and "<" not in hits[0].snippet


@pytest.mark.parametrize(
    "question, path",
    [
        (
            "Who wrote the detailed liner notes for Ray Charles's 1958 live album recorded at the "
            "Newport Jazz Festival?",
            "Ray_Charles_at_Newport",
        ),
        (
            "In what year was the album Genius + Soul = Jazz inducted into the Grammy Hall of Fame?",
            "Genius_+_Soul_=_Jazz",
        ),
        (
            "Which high school did the drummer on the album What'd I Say graduate from?",
            "What'd_I_Say_(album)",
        ),
        ("Hank Crawford", "Hank_Crawford"),
    ],
)
def test_questions_rank_the_evidence_page_first(corpus, question, path):
    assert urls(corpus.search(question, 3))[0] == corpus.url_for(path)


def test_results_are_canonical_unique_articles(corpus):
    for query in ["In Person", "Herndon Stadium", "Ray Charles photo style", "Ray", QUESTION]:
        found = urls(corpus.search(query, 10))
        assert len(found) == len(set(found))
        for url in found:
            path = url[len(BASE) + 1 :]
            assert path in {p.replace("%", "%25") for p in ARTICLES}, url
    assert urls(corpus.search("In Person", 3))[0] == f"{BASE}/Ray_Charles_in_Person"


def test_fetch_resolves_redirects_to_the_canonical_url(corpus):
    doc = corpus.fetch(f"{BASE}/Ray")
    assert doc.url == f"{BASE}/Ray_Charles" and doc.title == "Ray Charles"
    assert doc.content_type == "text/html" and "<h1>Ray Charles</h1>" in doc.text
    assert corpus.fetch(f"{BASE}/Herndon_Stadium#x").url == f"{BASE}/Ray_Charles_in_Person"


def test_fetch_accepts_fragments_old_prefixes_and_the_bare_host(corpus):
    assert corpus.fetch(f"{BASE}/Hank_Crawford#Career").url == f"{BASE}/Hank_Crawford"
    assert corpus.fetch(f"{BASE}/A/Hank_Crawford").url == f"{BASE}/Hank_Crawford"
    assert corpus.fetch(f"{BASE}/").url == f"{BASE}/Ray_Charles"  # the main page
    assert corpus.fetch(BASE).url == f"{BASE}/Ray_Charles"


def test_every_relative_link_resolves_through_urls_join(corpus):
    page = corpus.fetch(f"{BASE}/Ray_Charles")
    hrefs = re.findall(r'<a href="([^"]+)"', page.text)
    assert len(hrefs) == 6
    fetched = {corpus.fetch(join(page.url, href)).url for href in hrefs}
    assert fetched == {
        corpus.url_for(p)
        for p in [
            "Ray_Charles_in_Person",
            "Ray_Charles_at_Newport",
            "What'd_I_Say_(album)",
            "Genius_+_Soul_=_Jazz",
            "100%_Pure",
            "Hank_Crawford",
        ]
    }
    assert corpus.url_for("100%_Pure") == f"{BASE}/100%25_Pure"
    back = corpus.fetch(join(f"{BASE}/Hank_Crawford", "Ray_Charles"))
    assert back.url == page.url


def test_canonical_urls_round_trip(corpus):
    for path in ARTICLES:
        assert corpus.fetch(corpus.url_for(path)).url == corpus.url_for(path)


@pytest.mark.parametrize(
    "url",
    [f"{BASE}/I/photo.png", f"{BASE}/-/style.css", join(f"{BASE}/Ray_Charles", "I/photo.png")],
)
def test_non_articles_are_not_served(corpus, url):
    with pytest.raises(FetchError, match="not in this corpus.*not an article"):
        corpus.fetch(url)


@pytest.mark.parametrize(
    "url",
    [
        f"{BASE}/No_Such_Page",
        "zim://other_wiki/Ray_Charles",
        "https://en.wikipedia.org/wiki/Ray_Charles",
        f"{BASE}x/Ray_Charles",
    ],
)
def test_urls_outside_the_archive_fail(corpus, url):
    with pytest.raises(FetchError, match="not in this corpus") as info:
        corpus.fetch(url)
    assert info.value.url == url


def test_non_articles_never_appear_in_results(corpus, titles_only):
    for engine in (corpus, titles_only):
        found = urls(engine.search("Ray Charles photo", 10)) + urls(engine.search("style", 10))
        assert not any("photo.png" in u or "style.css" in u for u in found)


def test_title_fallback_without_fulltext_index(titles_only):
    assert not titles_only.archive.has_fulltext_index
    assert titles_only.label == "titles_only"  # no Name metadata: the file stem
    assert (
        urls(titles_only.search("Ray Charles in Person", 3))[0]
        == "zim://titles_only/Ray_Charles_in_Person"
    )
    assert (
        urls(titles_only.search("genius soul jazz", 3))[0]
        == "zim://titles_only/Genius_+_Soul_=_Jazz"
    )
    assert (
        urls(titles_only.search("Who was Hank Crawford?", 3))[0]
        == "zim://titles_only/Hank_Crawford"
    )


def test_empty_and_stopword_queries(corpus):
    assert corpus.search("", 5) == [] and corpus.search("   ?! ", 5) == []
    assert corpus.search("Ray Charles", 0) == []
    assert len(corpus.search("the of and", 5)) <= 5


def test_build_index_on_zim_reports_articles(zim_path):
    stats = build_index(zim_path)
    # libzim's count of front articles (here also the redirects and the front-marked image)
    assert stats.kind == "zim" and stats.documents == Archive(zim_path).article_count >= 10
    assert stats.index_path is None


def test_corrupt_archives_are_config_errors(zim_path, tmp_path):
    data = zim_path.read_bytes()
    (tmp_path / "truncated.zim").write_bytes(data[: len(data) // 2])
    (tmp_path / "random.zim").write_bytes(os.urandom(4096))
    (tmp_path / "empty.zim").write_bytes(b"")
    for name in ("truncated.zim", "random.zim", "empty.zim"):
        with pytest.raises(ConfigError, match="not a readable ZIM archive"):
            open_corpus(tmp_path / name)
    with pytest.raises(ConfigError, match="does not exist"):
        open_corpus(tmp_path / "missing.zim")


def test_file_name_picks_the_kind(zim_path, tmp_path):
    shutil.copy(zim_path, tmp_path / "copy.ZIM")
    assert open_corpus(tmp_path / "copy.ZIM").kind == "zim"


def test_a_closed_archive_says_so(zim_path):
    corpus = open_corpus(zim_path)
    corpus.close()
    corpus.close()  # idempotent
    with pytest.raises(FetchError, match="closed"):
        corpus.search("Ray Charles")
