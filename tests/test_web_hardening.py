"""The live web under hostile input: one charset decoder, no foreign exceptions, caps on search
answers, deadlines that hold, the metadata service refused, block-list spellings normalised."""

from __future__ import annotations

import logging

import pytest
from corpus_fixtures import http_response
from warcio.warcwriter import WARCWriter

from tests.webserver import page, serve
from webqa import charset
from webqa.corpus import open_corpus
from webqa.corpus.text import decode as corpus_decode
from webqa.web.content import decode_text
from webqa.web.fetch import FetchConfig, HttpSource

MB = 1_000_000


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


def test_guesses_are_logged_not_printed(caplog, capsys):
    text = ("Москва — столица России, крупнейший город страны. " * 10).encode("cp1251")
    with caplog.at_level(logging.DEBUG, logger="webqa.charset"):
        decoded = charset.decode_verbose(text, "x-no-such-charset", where="http://ru.example/")
    assert decoded.source == "guess" and "Москва" in decoded.text
    messages = [r.getMessage() for r in caplog.records if r.name == "webqa.charset"]
    assert any("x-no-such-charset" in m for m in messages)
    assert any("guessed" in m and "http://ru.example/" in m for m in messages)
    assert capsys.readouterr() == ("", "")
