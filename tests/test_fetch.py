"""HttpSource against real loopback servers: pages, redirects, caps, timeouts, statuses, PDFs."""

from __future__ import annotations

import tracemalloc
from datetime import UTC, datetime

import httpcore
import httpx
import pytest

from tests.webserver import (
    big_body,
    bomb,
    hang,
    make_pdf,
    page,
    redirect,
    reset,
    send,
    sequence,
    serve,
    slow_drip,
    status,
)
from webqa.errors import (
    FetchError,
    FetchTimeout,
    HTTPStatusError,
    TooLargeError,
    UnsupportedContent,
)
from webqa.pdf import pdf_to_text
from webqa.retry import parse_retry_after
from webqa.web.fetch import USER_AGENT, FetchConfig, HttpSource

MB = 1_000_000


def make_source(**overrides) -> tuple[HttpSource, list[float]]:
    """A source allowed onto loopback, with short timeouts and sleeps recorded, not slept."""
    sleeps: list[float] = []
    settings = dict(allow_private=True, connect_timeout=2, read_timeout=2, total_timeout=10)
    settings.update(overrides)
    return HttpSource(FetchConfig(**settings), sleep=sleeps.append), sleeps


def traced_peak(fn):
    """(result or exception, peak bytes allocated by Python while ``fn`` ran)."""
    tracemalloc.start()
    try:
        try:
            result = fn()
        except FetchError as exc:
            result = exc
        return result, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


HOME = """<html><head><title>Home</title></head><body>
<h1>Welcome</h1><p>See <a href="/about">about us</a> and <a href="https://example.org/x">elsewhere</a>.</p>
</body></html>"""


# -- ordinary pages ------------------------------------------------------------------------


def test_normal_page_with_links_and_user_agent():
    with serve({"/": page(HOME)}) as site:
        src, _ = make_source()
        doc = src.fetch(site.url("/"))
    assert doc.content_type == "text/html"
    assert doc.url == site.url("/")
    assert 'href="/about"' in doc.text and "Welcome" in doc.text
    assert doc.notes == ()
    headers = site.requests[0][1]
    assert headers["user-agent"] == USER_AGENT and USER_AGENT.startswith("webqa/")
    assert "gzip" in headers["accept-encoding"] and "br" in headers["accept-encoding"]


def test_pages_are_cached_per_fetcher_and_fragments_ignored():
    with serve({"/": page(HOME)}) as site:
        src, _ = make_source()
        first = src.fetch(site.url("/"))
        again = src.fetch(site.url("/#top"))
        assert again is first
        assert site.hits["/"] == 1
        other, _ = make_source()
        other.fetch(site.url("/"))
        assert site.hits["/"] == 2  # the cache belongs to one fetcher


def test_disk_cache_survives_a_new_fetcher(tmp_path):
    with serve({"/": page(HOME)}) as site:
        cfg = FetchConfig(allow_private=True)
        HttpSource(cfg, cache_dir=tmp_path).fetch(site.url("/"))
        doc = HttpSource(cfg, cache_dir=tmp_path).fetch(site.url("/"))
        assert site.hits["/"] == 1
    assert "Welcome" in doc.text


@pytest.mark.parametrize(
    "ctype,expected",
    [
        ("text/plain", "text/plain"),
        ("application/json", "text/plain"),
        ("text/markdown", "text/markdown"),
        ("application/xhtml+xml", "text/html"),
        ("application/ld+json", "text/plain"),
    ],
)
def test_textual_content_types(ctype, expected):
    with serve({"/x": page('{"a": "é"}', f"{ctype}; charset=utf-8")}) as site:
        doc = make_source()[0].fetch(site.url("/x"))
    assert doc.content_type == expected and doc.text == '{"a": "é"}'


def test_injected_client_with_mock_transport():
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, html="<p>mocked</p>")

    src = HttpSource(client=httpx.Client(transport=httpx.MockTransport(handler)))
    assert "mocked" in src.fetch("https://example.com/").text


def test_empty_page_says_so():
    with serve({"/": page("")}) as site:
        doc = make_source()[0].fetch(site.url("/"))
    assert doc.text == "" and doc.notes == ("the server sent an empty page",)


# -- redirects -------------------------------------------------------------------------------


def test_redirects_relative_absolute_and_chains():
    with serve({}) as site:
        site.routes.update(
            {
                "/rel": redirect("final"),
                "/abs": redirect(site.url("/final"), 301),
                "/c1": redirect("/c2", 307),
                "/c2": redirect("/c3", 308),
                "/c3": redirect("/final#frag", 303),
                "/final": page("<p>arrived</p>"),
            }
        )
        src, _ = make_source()
        for start in ("/rel", "/abs", "/c1"):
            doc = src.fetch(site.url(start))
            assert doc.url == site.url("/final") and "arrived" in doc.text
        assert site.hits["/final"] == 1  # the later ones came from the cache under the final URL


def test_redirect_loop_is_reported():
    with serve({"/a": redirect("/b"), "/b": redirect("/a")}) as site:
        with pytest.raises(FetchError, match="redirect loop") as info:
            make_source(max_redirects=4)[0].fetch(site.url("/a"))
    assert "more than 4" in str(info.value)
    assert site.hits["/a"] + site.hits["/b"] == 5


def test_too_many_redirects_stops_at_the_limit():
    with serve({}) as site:
        for i in range(20):
            site.routes[f"/r{i}"] = redirect(f"/r{i + 1}")
        with pytest.raises(FetchError, match=r"too many redirects: more than 3 starting at"):
            make_source(max_redirects=3)[0].fetch(site.url("/r0"))
    assert sum(site.hits.values()) == 4


def test_redirect_without_location():
    with serve({"/": lambda h: send(h, 302, b"", None)}) as site:
        with pytest.raises(HTTPStatusError, match="without a Location"):
            make_source()[0].fetch(site.url("/"))


# -- time limits -----------------------------------------------------------------------------


def test_server_that_never_answers_times_out():
    with serve({"/": hang}) as site:
        with pytest.raises(
            FetchTimeout, match=r"timed out after 0.3 s reading http://127\.0\.0\.1"
        ):
            make_source(read_timeout=0.3)[0].fetch(site.url("/"))
    assert site.hits["/"] == 1  # a timeout is not retried: it would only cost more time


def test_slow_drip_hits_the_total_time_limit():
    with serve({"/": slow_drip(0.05, count=40)}) as site:  # 2 s in all, each byte well in time
        with pytest.raises(FetchTimeout, match="timed out after 0.6 s fetching .* total time"):
            make_source(read_timeout=0.5, total_timeout=0.6)[0].fetch(site.url("/"))


def test_connect_timeout_is_named():
    class Slow(httpcore.NetworkBackend):
        def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
            raise httpcore.ConnectTimeout("timed out")

    src = HttpSource(FetchConfig(connect_timeout=1.5, allow_private=True), network_backend=Slow())
    with pytest.raises(FetchTimeout, match="timed out after 1.5 s connecting to 127.0.0.1"):
        src.fetch("http://127.0.0.1:9/")


# -- size caps ---------------------------------------------------------------------------------


def test_50_mb_page_is_cut_at_the_cap_with_bounded_memory():
    with serve({"/big": big_body(50 * MB)}) as site:
        src, _ = make_source()
        doc, peak = traced_peak(lambda: src.fetch(site.url("/big")))
    assert not isinstance(doc, Exception), doc
    assert doc.notes == ("the page was cut at 5 MB",)
    assert 4.9 * MB < len(doc.text) <= 5 * MB
    assert peak < 25 * MB, f"peak {peak / MB:.1f} MB"


@pytest.mark.parametrize("encoding", ["gzip", "deflate", "br"])
def test_compression_bomb_stops_at_the_decoded_cap(encoding):
    payload = bomb(encoding, 200 * MB)
    route = page(payload, "text/html", {"Content-Encoding": encoding})
    with serve({"/bomb": route}) as site:
        src, _ = make_source(max_decoded_bytes=2 * MB)
        doc, peak = traced_peak(lambda: src.fetch(site.url("/bomb")))
    assert not isinstance(doc, Exception), doc
    assert doc.notes == ("the page was cut at 2 MB",)
    assert len(doc.text) == 2 * MB
    assert peak < 12 * MB, f"peak {peak / MB:.1f} MB for a {len(payload)} byte bomb of 200 MB"


def test_small_compressed_pages_decode():
    with serve({"/g": page(bomb("gzip", MB), "text/plain", {"Content-Encoding": "gzip"})}) as site:
        doc = make_source()[0].fetch(site.url("/g"))
    assert doc.text == "a" * MB and doc.notes == ()


def test_unknown_content_encoding_is_refused():
    with serve({"/z": page(b"xx", "text/html", {"Content-Encoding": "zstd"})}) as site:
        with pytest.raises(UnsupportedContent, match="'zstd'"):
            make_source()[0].fetch(site.url("/z"))


def test_corrupt_gzip_is_an_error():
    with serve({"/z": page(b"not gzip at all", "text/html", {"Content-Encoding": "gzip"})}) as site:
        with pytest.raises(FetchError, match="could not be decompressed"):
            make_source()[0].fetch(site.url("/z"))


def test_too_large_pdf_is_an_error_by_length_and_by_stream():
    def announced(h):  # says 30 MB, then sends nothing: only the header can refuse it in time
        h.send_response(200)
        h.send_header("Content-Type", "application/pdf")
        h.send_header("Content-Length", str(30 * MB))
        h.end_headers()
        h.wfile.flush()
        h.server_stop(wait=5)
        h.close_connection = True

    with serve({"/big.pdf": announced}) as site:
        with pytest.raises(TooLargeError, match="larger than 20 MB"):
            make_source(read_timeout=1)[0].fetch(site.url("/big.pdf"))

    def no_length(h):  # a chunk of data with no Content-Length, closing at the end
        h.send_response(200)
        h.send_header("Content-Type", "application/pdf")
        h.send_header("Connection", "close")
        h.end_headers()
        h.wfile.write(b"%PDF-1.4\n" + b"x" * 300_000)
        h.close_connection = True

    with serve({"/s.pdf": no_length}) as site:
        with pytest.raises(TooLargeError, match=r"PDF at .* larger than 0\.2 MB"):
            make_source(max_pdf_bytes=200_000)[0].fetch(site.url("/s.pdf"))


# -- content that is not what it claims ----------------------------------------------------------


def test_binary_served_as_html_is_refused():
    png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 40
    with serve({"/img": page(png, "text/html; charset=utf-8")}) as site:
        with pytest.raises(UnsupportedContent, match="binary data, not text"):
            make_source()[0].fetch(site.url("/img"))


def test_nul_bytes_mean_binary_even_in_mostly_text():
    body = b"<html><body>" + b"plain words " * 500 + b"\x00\x00\x00\x00" + b"</body></html>"
    with serve(
        {"/n": page(body, "text/html; charset=utf-8"), "/m": page(body, "text/html")}
    ) as site:
        for path in ("/n", "/m"):
            with pytest.raises(UnsupportedContent, match="binary data"):
                make_source()[0].fetch(site.url(path))


def test_undecodable_bytes_without_nul_are_refused():
    noise = bytes((i * 7919 + 13) % 255 + 1 for i in range(20_000))  # no NUL byte at all
    with serve(
        {"/n": page(noise, "text/html; charset=utf-8"), "/m": page(noise, "text/html")}
    ) as site:
        for path in ("/n", "/m"):
            with pytest.raises(UnsupportedContent, match="binary data"):
                make_source()[0].fetch(site.url(path))


RUSSIAN = (
    "Москва — столица России, крупнейший по численности населения город страны. "
    "Город расположен на реке Москве в центре Восточно-Европейской равнины. "
) * 5


def test_windows_1251_without_charset_is_detected():
    body = f"<html><body><p>{RUSSIAN}</p></body></html>".encode("cp1251")
    with serve({"/ru": page(body, "text/html")}) as site:
        doc = make_source()[0].fetch(site.url("/ru"))
    assert "Москва — столица России" in doc.text


def test_charset_from_meta_and_from_header():
    meta = (
        f'<html><head><meta http-equiv="Content-Type" content="text/html; charset=windows-1251">'
        f"</head><body>{RUSSIAN[:60]}</body></html>".encode("cp1251")
    )
    with serve(
        {
            "/meta": page(meta, "text/html"),
            "/hdr": page("Добрый день".encode("koi8-r"), "text/plain; charset=KOI8-R"),
        }
    ) as site:
        src, _ = make_source()
        assert RUSSIAN[:60] in src.fetch(site.url("/meta")).text
        assert src.fetch(site.url("/hdr")).text == "Добрый день"


def test_unsupported_content_type_is_named():
    with serve({"/v": page(b"\x00\x01", "video/mp4")}) as site:
        with pytest.raises(UnsupportedContent, match="video/mp4"):
            make_source()[0].fetch(site.url("/v"))


# -- statuses and retries -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "code,phrase",
    [
        (403, "Forbidden"),
        (404, "Not Found"),
        (410, "Gone"),
        (500, "Internal Server Error"),
        (401, "Unauthorized"),
    ],
)
def test_error_statuses_are_not_retried(code, phrase):
    with serve({"/e": status(code)}) as site:
        src, sleeps = make_source()
        with pytest.raises(HTTPStatusError) as info:
            src.fetch(site.url("/e"))
    assert str(info.value).startswith(f"HTTP {code} {phrase} for {site.url('/e')}")
    assert info.value.status == code and info.value.url == site.url("/e")
    assert site.hits["/e"] == 1 and sleeps == []


def test_429_with_retry_after_then_success():
    route = sequence(status(429, {"Retry-After": "2"}), page("<p>ok now</p>"))
    with serve({"/": route}) as site:
        src, sleeps = make_source()
        doc = src.fetch(site.url("/"))
    assert "ok now" in doc.text and sleeps == [2.0]


def test_429_asking_for_too_long_fails_at_once():
    with serve({"/": status(429, {"Retry-After": "3600"})}) as site:
        src, sleeps = make_source()
        with pytest.raises(HTTPStatusError, match="asks to wait 3600 s") as info:
            src.fetch(site.url("/"))
    assert info.value.status == 429 and site.hits["/"] == 1 and sleeps == []


def test_503_is_retried_with_backoff_then_reported():
    with serve({"/": status(503)}) as site:
        src, sleeps = make_source(retries=2, backoff=0.5)
        with pytest.raises(HTTPStatusError, match="HTTP 503 Service Unavailable for"):
            src.fetch(site.url("/"))
    assert site.hits["/"] == 3 and sleeps == [0.5, 1.0]


def test_502_then_success():
    with serve({"/": sequence(status(502), status(504), page("fine"))}) as site:
        src, sleeps = make_source(retries=2)
        assert src.fetch(site.url("/")).text == "fine"
    assert len(sleeps) == 2


def test_connection_reset_is_retried_then_reported():
    with serve({"/": reset}) as site:
        src, sleeps = make_source(retries=1)
        with pytest.raises(FetchError, match="closed or reset"):
            src.fetch(site.url("/"))
    assert site.hits["/"] == 2 and len(sleeps) == 1


def test_retry_after_http_date():
    now = datetime(2025, 1, 1, 12, 0, 0, tzinfo=UTC)
    assert parse_retry_after("Wed, 01 Jan 2025 12:00:30 GMT", now) == 30
    assert parse_retry_after("7", now) == 7
    assert parse_retry_after("soon", now) is None and parse_retry_after(None) is None


# -- PDF -------------------------------------------------------------------------------------------


def test_multi_page_pdf_text_of_every_page():
    pdf = make_pdf(["Cover page", "Second page says hello", "Third page ends it"], title="A Report")
    with serve({"/doc.pdf": page(pdf, "application/pdf")}) as site:
        doc = make_source()[0].fetch(site.url("/doc.pdf"))
    assert doc.content_type == "text/plain" and doc.title == "A Report"
    for text in ("Cover page", "Second page says hello", "Third page ends it"):
        assert text in doc.text
    assert "[Page 3 of 3]" in doc.text and doc.notes == ()


def test_pdf_page_cap_and_octet_stream_sniffing():
    pdf = make_pdf([f"Page number {i}" for i in range(1, 6)])
    with serve({"/file": page(pdf, "application/octet-stream")}) as site:
        doc = make_source(max_pdf_pages=2)[0].fetch(site.url("/file"))
    assert "Page number 2" in doc.text and "Page number 3" not in doc.text
    assert doc.notes == ("only the first 2 of 5 PDF pages were read",)


def test_pdf_to_text_directly_and_damaged_pdf():
    text, notes = pdf_to_text(make_pdf(["one", "two"]), max_pages=10)
    assert "one" in text and "two" in text and notes == []
    with serve({"/bad.pdf": page(b"%PDF-1.4 garbage", "application/pdf")}) as site:
        with pytest.raises(UnsupportedContent, match="PDF could not be read"):
            make_source()[0].fetch(site.url("/bad.pdf"))
