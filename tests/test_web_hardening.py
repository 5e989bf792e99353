"""The live web under hostile input: one charset decoder, no foreign exceptions, caps on search
answers, deadlines that hold, the metadata service refused, block-list spellings normalised."""

from __future__ import annotations

import json
import logging
import threading
import time
import tracemalloc

import httpx
import pytest
from corpus_fixtures import http_response
from warcio.warcwriter import WARCWriter

from tests.webserver import (
    PUBLIC_IP,
    ToSite,
    big_body,
    bomb,
    fake_resolver,
    page,
    redirect,
    send,
    sequence,
    serve,
    slow_drip,
    status,
)
from webqa import charset, urls
from webqa.corpus import open_corpus
from webqa.corpus.text import decode as corpus_decode
from webqa.errors import BlockedError, FetchError, FetchTimeout, SearchError
from webqa.records import Document, SearchResult
from webqa.render import render_document
from webqa.retry import RetryPolicy
from webqa.web import open_live_web
from webqa.web.content import decode_text
from webqa.web.engines import Brave, DuckDuckGo, SearXNG
from webqa.web.fetch import FetchConfig, HttpSource
from webqa.web.guard import DomainBlock, guarded_transport, metadata_problem, normalize_host
from webqa.web.transport import PoolTransport

MB = 1_000_000
NO_RETRY = RetryPolicy(attempts=1, sleep=lambda s: None)


def loopback_source(**overrides) -> HttpSource:
    """A source allowed onto loopback, with short timeouts and no real sleeping."""
    settings = dict(allow_private=True, connect_timeout=2, read_timeout=2, total_timeout=10)
    settings.update(overrides)
    return HttpSource(FetchConfig(**settings), sleep=lambda s: None)


# -- one charset decoder ----------------------------------------------------------------------

CURLY = b"<html><body><p>\x93hello\x94 \x96 caf\xe9</p></body></html>"


@pytest.mark.parametrize("label", ["iso-8859-1", "ISO-8859-1", "latin1", "us-ascii"])
def test_live_page_and_warc_record_decode_alike(tmp_path, label):
    path = tmp_path / "one.warc.gz"
    with open(path, "wb") as fh:
        http_response(
            WARCWriter(fh, gzip=True), "http://example.com/q", CURLY, f"text/html; charset={label}"
        )
    archived = open_corpus(path).fetch("http://example.com/q").text
    with serve({"/q": page(CURLY, f"text/html; charset={label}")}) as site:
        live = loopback_source().fetch(site.url("/q")).text
    assert "\u201chello\u201d \u2013 caf\u00e9" in live  # windows-1252, as browsers read it
    assert live == archived


@pytest.mark.parametrize(
    "data, declared, html",
    [
        (CURLY, None, True),  # guessed
        (b'<meta charset="latin1"><p>\x93x\x94</p>', None, True),  # meta
        (b"\xef\xbb\xbf\xe2\x80\x9cok\xe2\x80\x9d", "iso-8859-1", False),  # BOM beats the header
        ("Добрый день".encode("koi8-r"), "KOI8-R", False),
        ("caf\u00e9 ".encode() * 50 + b"\xff", None, False),  # one bad byte: still UTF-8
        ("déjà vu".encode("utf-16-le"), "utf-16", False),
    ],
)
def test_live_and_corpus_decoders_are_one(data, declared, html):
    corpus = corpus_decode(data, declared, sniff_html=html)
    assert decode_text(data, declared, html=html) == corpus
    assert corpus == charset.decode(data, declared, html=html)


def test_decoder_rules():
    bom_utf8 = b"\xef\xbb\xbf\xe2\x80\x9cok\xe2\x80\x9d"
    assert charset.decode(bom_utf8, "iso-8859-1") == "\u201cok\u201d"
    assert charset.decode(b'<meta charset="utf-16"><p>x</p>') == '<meta charset="utf-16"><p>x</p>'
    assert charset.codec_for("base64") is None and charset.codec_for("nonsense") is None
    assert charset.codec_for("GB2312") == "gb18030" and charset.codec_for("ascii") == "cp1252"
    # A page cut at a cap inside a multi-byte character is still UTF-8.
    assert charset.decode_verbose("naïve ✓".encode()[:-1]).source == "utf-8"


@pytest.mark.parametrize(
    "label",
    ["undefined", "idna", "utf-7", "unicode_escape", "punycode", "raw_unicode_escape", "base64"],
)
def test_labels_that_are_codecs_but_not_charsets_are_ignored(label):
    data = b"<p>+2D3cAA- \\ud800 caf\xc3\xa9</p>"
    assert charset.codec_for(label) is None
    text = charset.decode(data, label)
    assert text == data.decode("utf-8")
    with serve({"/x": page(data, f"text/html; charset={label}")}) as site:
        assert loopback_source().fetch(site.url("/x")).text == text


def test_guesses_are_logged_not_printed(caplog, capsys):
    text = ("Москва — столица России, крупнейший город страны. " * 10).encode("cp1251")
    with caplog.at_level(logging.DEBUG, logger="webqa.charset"):
        decoded = charset.decode_verbose(text, "x-no-such-charset", where="http://ru.example/")
    assert decoded.source == "guess" and "Москва" in decoded.text
    messages = [r.getMessage() for r in caplog.records if r.name == "webqa.charset"]
    assert any("x-no-such-charset" in m for m in messages)
    assert any("guessed" in m and "http://ru.example/" in m for m in messages)
    assert capsys.readouterr() == ("", "")


# -- nothing foreign escapes: malformed URLs, IDNA, JSON -----------------------------------------

BAD_URLS = [
    "http://[",
    "http://[::1",
    "http://[::1]:99999/x",
    "//[",
    "http://a/\ud800",
    "http://a/\x00b",
    "zim://[x",
    "http://xn--127-0.0.1/",
    "http://a:port/",
    "",
]


@pytest.mark.parametrize("bad", BAD_URLS)
def test_url_helpers_never_raise(bad):
    for base, href in ((bad, "/next"), ("http://example.com/a/b", bad), ("zim://wiki/A", bad)):
        assert isinstance(urls.join(base, href), str)
    assert isinstance(urls.domain(bad), str)
    assert isinstance(urls.strip_fragment(bad + "#frag"), str)


def test_url_helpers_keep_what_they_cannot_parse():
    assert urls.join("http://example.com/a", "http://[") == "http://["
    assert urls.join("http://[", "x") == "x"
    assert urls.domain("http://user@[::1/x") == "[::1"
    assert urls.strip_fragment("http://[#top") == "http://["
    assert urls.join("http://example.com/a/b", "../c#d") == "http://example.com/c#d"


def test_a_page_with_broken_links_still_renders():
    html = (
        '<html><body><p>Text <a href="http://[">one</a>, <a href="http://[::1">two</a>, '
        '<a href="http://xn--127-0.0.1/">three</a> and <a href="/ok">four</a>.</p></body></html>'
    )
    page_ = render_document(Document("http://example.com/", "text/html", html))
    assert "four" in "\n".join(page_.lines) and "http://example.com/ok" in [
        ln.url for ln in page_.links.values()
    ]


@pytest.mark.parametrize(
    "url, why",
    [
        ("http://xn--127-0.0.1/", "not a valid URL"),
        ("http://127.0.0.1:1/\ud800", "not a valid URL"),
        ("http://127.0.0.1:1/a\x00b", "not a valid URL"),
        ("http://[::1", "not a valid URL"),
        ("http://[", "not a valid URL"),
        ("http://127.0.0.1:99999/", "not a valid URL"),
    ],
)
def test_fetching_a_malformed_url_is_a_fetch_error(url, why):
    with pytest.raises(FetchError, match=why) as caught:
        loopback_source().fetch(url)
    str(caught.value).encode("utf-8")  # no lone surrogate reaches a message (or a trace)
    caught.value.url.encode("utf-8")


@pytest.mark.parametrize("location", ["http://xn--127-0.0.1/", "http://[::1", "http://a/\x7f\x00"])
def test_a_redirect_to_a_malformed_url_is_a_fetch_error(location):
    def to_bad(h):
        h.send_response(302)
        h.send_header("Location", location)
        h.send_header("Content-Length", "0")
        h.end_headers()

    with serve({"/go": to_bad}) as site:
        with pytest.raises(FetchError):
            loopback_source().fetch(site.url("/go"))


def test_malformed_result_urls_are_dropped_not_raised(caplog):
    block = DomainBlock()
    good = SearchResult("ok", "https://example.org/", "")
    rows = [SearchResult("bad", u, "") for u in ("http://[::1", "http://[", "http://a:port/")]
    with caplog.at_level(logging.DEBUG, logger="webqa.web"):
        assert block.filter([*rows, good]) == [good]
    assert any("dropped a search result" in r.getMessage() for r in caplog.records)
    with pytest.raises(BlockedError, match="not a valid URL"):
        block.check("http://[::1")


def searx_json(data: bytes, headers: dict[str, str] | None = None):
    return lambda h: send(h, 200, data, "application/json", headers)


def test_searxng_result_with_a_broken_url_is_skipped():
    data = json.dumps(
        {
            "results": [
                {"url": "http://[::1", "title": "broken"},
                {"url": "https://example.org/", "title": "fine"},
            ]
        }
    ).encode()
    with serve({"/search": searx_json(data)}) as site:
        with SearXNG(site.base) as engine:
            assert [r.url for r in engine.search("q")] == ["https://example.org/"]


def test_deeply_nested_json_from_an_engine_is_a_search_error():
    deep = b"[" * 200_000 + b"]" * 200_000
    with serve({"/search": searx_json(deep)}) as site:
        with SearXNG(site.base, retry=NO_RETRY) as engine:
            with pytest.raises(SearchError, match="nested too deeply"):
                engine.search("q")


# -- caps on search answers -------------------------------------------------------------------


@pytest.mark.parametrize(
    "make",
    [
        lambda base: SearXNG(base, retry=NO_RETRY),
        lambda base: Brave("key", base_url=base, retry=NO_RETRY),
    ],
    ids=["searxng", "brave"],
)
def test_a_gzip_bomb_from_an_engine_is_refused_in_bounded_memory(make):
    body = bomb("gzip", 200 * MB)
    route = searx_json(body, {"Content-Encoding": "gzip"})
    with serve({"/search": route, "/res/v1/web/search": route}) as site:
        with make(site.base) as engine:
            tracemalloc.start()
            try:
                with pytest.raises(SearchError, match=r"larger than 10 MB once decompressed"):
                    engine.search("q")
                peak = tracemalloc.get_traced_memory()[1]
            finally:
                tracemalloc.stop()
    assert peak < 40 * MB  # the whole answer would be 200 MB


def test_a_huge_engine_answer_is_cut_at_the_received_cap():
    with serve({"/search": big_body(8 * MB, "application/json")}) as site:
        with SearXNG(site.base, retry=NO_RETRY, max_bytes=1 * MB) as engine:
            with pytest.raises(SearchError, match=r"larger than 1 MB as received"):
                engine.search("q")


# -- deadlines that hold ----------------------------------------------------------------------


def drip_headers(interval: float = 0.1, seconds: float = 8.0):
    """A route that sends its status line, then one header byte every ``interval`` seconds."""

    def route(h):
        h.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-Drip: ")
        h.wfile.flush()
        end = time.monotonic() + seconds
        while time.monotonic() < end and not h.server_stop(interval):
            h.wfile.write(b"a")
            h.wfile.flush()
        h.close_connection = True

    return route


def test_dripped_headers_cannot_stretch_a_fetch_past_its_deadline():
    with serve({"/drip": drip_headers()}) as site:
        src = loopback_source(read_timeout=1, total_timeout=1.5)
        start = time.monotonic()
        with pytest.raises(FetchTimeout, match=r"timed out after 1\.5 s .*total time allowed"):
            src.fetch(site.url("/drip"))
        assert time.monotonic() - start < 1.5 + 1


def test_a_dripping_searxng_cannot_hold_a_search_past_its_deadline():
    with serve({"/search": drip_headers()}) as site:
        with SearXNG(site.base, retry=NO_RETRY, timeout=1.5) as engine:
            start = time.monotonic()
            with pytest.raises(SearchError, match=r"within 1\.5 s, the total time allowed"):
                engine.search("q")
            assert time.monotonic() - start < 1.5 + 1


def test_a_dripping_body_cannot_hold_a_search_past_its_deadline():
    with serve({"/search": slow_drip(0.1, count=80)}) as site:
        with SearXNG(site.base, retry=NO_RETRY, timeout=1.0) as engine:
            start = time.monotonic()
            with pytest.raises(SearchError, match=r"within 1 s"):
                engine.search("q")
            assert time.monotonic() - start < 1.0 + 1


def test_the_deadline_covers_retries():
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        time.sleep(seconds)

    policy = RetryPolicy(attempts=5, backoff=0.4, max_wait=5, sleep=sleep)
    with serve({"/search": status(503)}) as site:
        with SearXNG(site.base, retry=policy, timeout=1.0) as engine:
            start = time.monotonic()
            with pytest.raises(SearchError):
                engine.search("q")
            assert time.monotonic() - start < 1.0 + 1.5


# -- the cloud metadata service ---------------------------------------------------------------

METADATA_URLS = [
    "http://169.254.169.254/latest/meta-data/",
    "http://[fd00:ec2::254]/latest/meta-data/",
    "http://100.100.100.200/latest/meta-data/",
    "http://[::ffff:169.254.169.254]/latest/meta-data/",
    "http://metadata.google.internal/computeMetadata/v1/",
    "http://METADATA.google.internal./computeMetadata/v1/",
]
NAMES = {"public.example": [PUBLIC_IP], "metadata.google.internal": ["169.254.169.254"]}


def internet(site, **config) -> tuple[HttpSource, ToSite]:
    net = ToSite(site)
    src = HttpSource(
        FetchConfig(**config),
        resolver=fake_resolver(NAMES),
        network_backend=net,
        sleep=lambda s: None,
    )
    return src, net


@pytest.mark.parametrize("url", METADATA_URLS)
def test_allow_private_does_not_open_the_metadata_service(url):
    with serve(
        {"/latest/meta-data/": page("secret"), "/computeMetadata/v1/": page("secret")}
    ) as site:
        src, net = internet(site, allow_private=True)
        with pytest.raises(BlockedError, match="metadata service") as caught:
            src.fetch(url)
        assert "allow_metadata" in str(caught.value)
        assert net.asked == [] and sum(site.hits.values()) == 0


def test_a_redirect_from_a_public_page_to_the_metadata_service_is_refused():
    routes = {
        "/": redirect("http://169.254.169.254/latest/meta-data/"),
        "/latest/meta-data/": page("secret"),
    }
    with serve(routes) as site:
        src, net = internet(site, allow_private=True)
        with pytest.raises(BlockedError, match="metadata service"):
            src.fetch("http://public.example/")
        assert net.asked == [PUBLIC_IP] and site.hits["/latest/meta-data/"] == 0


def test_only_allow_metadata_opens_it():
    with serve({"/latest/meta-data/": page("iam-role")}) as site:
        src, net = internet(site, allow_private=True, allow_metadata=True)
        assert "iam-role" in src.fetch("http://169.254.169.254/latest/meta-data/").text
        assert net.asked == ["169.254.169.254"]
    _, source = open_live_web(engine=DuckDuckGo(), allow_private=True)
    assert source.config.allow_private and not source.config.allow_metadata
    _, opened = open_live_web(engine=DuckDuckGo(), allow_metadata=True)
    assert opened.config.allow_metadata


def test_without_allow_private_the_metadata_message_is_honest():
    with serve({}) as site:
        src, _ = internet(site)
        with pytest.raises(BlockedError, match="metadata service") as caught:
            src.fetch("http://169.254.169.254/")
        assert "allow_metadata" in str(caught.value)
    assert metadata_problem("64:ff9b::a9fe:a9fe") and not metadata_problem("169.254.1.1")


# -- block-list spellings ---------------------------------------------------------------------

VARIANTS = [
    "reddit\u3002com",
    "reddit\uff0ecom",
    "reddit\uff61com",
    "REDDIT.COM.",
    "Reddit.Com..",
    "old.reddit\u3002com",
    "\uff52\uff45\uff44\uff44\uff49\uff54.com",
    "www.REDDIT.com",
]


@pytest.mark.parametrize("host", VARIANTS)
def test_block_list_matches_every_spelling_of_a_host(host):
    url = f"http://{host}/r/python"
    assert DomainBlock().blocked(url) == "reddit.com"
    assert DomainBlock().filter([SearchResult("r", url, "")]) == []
    with serve({"/r/python": page("answers")}) as site:
        src, net = internet(site, allow_private=True)
        with pytest.raises(BlockedError, match="reddit.com is on the block list"):
            src.fetch(url)
        assert net.asked == [] and site.hits["/r/python"] == 0


def test_block_list_entries_are_normalised_too():
    block = DomainBlock(["Ｅxample.ORG.", "b\u00fccher.de"])
    assert block.blocked("http://www.example.org/") == "example.org"
    assert block.blocked("http://xn--bcher-kva.de/") == "xn--bcher-kva.de"
    assert block.blocked("http://b\u00fccher.de/") == "xn--bcher-kva.de"
    assert block.blocked("http://notexample.org/") is None
    assert normalize_host("Reddit\u3002COM.") == "reddit.com"


# -- the transport uses public APIs only ------------------------------------------------------


def test_the_guarded_transport_is_built_from_public_parts():
    transport = guarded_transport(allow_private=True)
    assert isinstance(transport, PoolTransport) and not isinstance(transport, httpx.HTTPTransport)
    with serve({"/": page("hello")}) as site, httpx.Client(transport=transport) as client:
        assert client.get(site.url("/")).text == "hello"
        with pytest.raises(httpx.ConnectError):
            client.get("http://127.0.0.1:1/")


# -- logging, not printing --------------------------------------------------------------------


def test_retries_are_logged_on_webqa_web(caplog, capsys):
    with serve({"/search": sequence(status(503), json_ok())}) as site:
        policy = RetryPolicy(attempts=2, backoff=0.25, sleep=lambda s: None)
        with caplog.at_level(logging.INFO, logger="webqa.web"):
            with SearXNG(site.base, retry=policy) as engine:
                assert [r.url for r in engine.search("q")] == ["https://example.org/"]
    assert any(
        "HTTP 503" in r.getMessage() and "retrying in 0.25 s" in r.getMessage()
        for r in caplog.records
        if r.name == "webqa.web"
    )
    assert capsys.readouterr() == ("", "")


def json_ok():
    data = json.dumps({"results": [{"url": "https://example.org/", "title": "fine"}]}).encode()
    return searx_json(data)


def test_a_hanging_dns_lookup_cannot_stretch_a_fetch_past_its_deadline():
    release = threading.Event()

    def slow_resolver(host, port):
        release.wait(10)
        return [PUBLIC_IP]

    with serve({"/": page("late")}) as site:
        src = HttpSource(
            FetchConfig(total_timeout=1.0),
            resolver=slow_resolver,
            network_backend=ToSite(site),
            sleep=lambda s: None,
        )
        start = time.monotonic()
        try:
            with pytest.raises(FetchTimeout, match=r"timed out after 1 s"):
                src.fetch("http://slow-dns.example/")
            assert time.monotonic() - start < 1.0 + 1
        finally:
            release.set()


def test_a_query_with_a_lone_surrogate_is_a_search_error():
    with serve({"/search": json_ok()}) as site:
        with SearXNG(site.base, retry=NO_RETRY) as engine:
            with pytest.raises(SearchError, match="not valid Unicode") as caught:
                engine.search("who \ud800 invented")
            str(caught.value).encode("utf-8")
            assert site.hits["/search"] == 0
