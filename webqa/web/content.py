"""Turning a response body into a :class:`Document`: content type, charset, PDF text.

A body that is not text (an image served as text/html, say) is refused with a clear error
rather than passed on: garbage in the model's context is worse than an honest failure.
"""

from __future__ import annotations

import codecs
import re

from webqa.errors import UnsupportedContent
from webqa.pdf import read_pdf
from webqa.records import Document

__all__ = ["parse_content_type", "kind_of", "to_document", "decode_text", "cut_note"]

_HTML = {"text/html", "application/xhtml+xml"}
_MARKDOWN = {"text/markdown", "text/x-markdown"}
_PLAIN = {"text/plain", "text/csv", "text/xml", "application/xml", "application/json"}
_PDF = {"application/pdf", "application/x-pdf"}
#: Types that say nothing, so the body itself decides (a PDF is often sent as octet-stream).
_UNKNOWN = {"", "application/octet-stream", "binary/octet-stream", "application/unknown"}

_META_CHARSET = re.compile(rb"""<meta[^>]+?charset\s*=\s*["']?\s*([A-Za-z0-9._:-]+)""", re.I)
_BOMS = ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
         (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))
#: Control characters that never appear in real text (tab, newlines and form feed excluded).
_CONTROL = re.compile("[\x00-\x08\x0b\x0e-\x1f\x7f\ufffd]")


def parse_content_type(header: str | None) -> tuple[str, str | None]:
    """``("text/html", "utf-8")`` from ``"text/html; charset=UTF-8"``; charset None if absent."""
    mime, _, params = (header or "").partition(";")
    charset = None
    for param in params.split(";"):
        key, _, value = param.partition("=")
        if key.strip().lower() == "charset" and value.strip().strip("\"'"):
            charset = value.strip().strip("\"'").lower()
    return mime.strip().lower(), charset


def kind_of(mime: str, head: bytes = b"") -> str | None:
    """"html", "markdown", "text" or "pdf" for a media type; None when only the body can tell.

    Raises :class:`UnsupportedContent` for a type webqa cannot read.
    """
    if mime in _PDF:
        return "pdf"
    if mime in _HTML:
        return "html"
    if mime in _MARKDOWN:
        return "markdown"
    if mime in _PLAIN or mime.endswith("+json") or mime.startswith("text/"):
        return "text"
    if mime in _UNKNOWN:
        return _sniff(head) if head else None
    raise UnsupportedContent(f"the content type is {mime}, which webqa cannot read (it reads HTML, text, "
                             "JSON and PDF)")


def _sniff(head: bytes) -> str:
    start = head.lstrip()[:512].lower()
    if start.startswith(b"%pdf-"):
        return "pdf"
    if start.startswith((b"<!doctype html", b"<html")) or b"<body" in start:
        return "html"
    return "text"


def cut_note(cap: int) -> str:
    """The note a cut page carries, e.g. "the page was cut at 5 MB"."""
    return f"the page was cut at {cap / 1_000_000:g} MB"


def to_document(url: str, kind: str, data: bytes, *, charset: str | None, max_pdf_pages: int,
                notes: tuple[str, ...] = ()) -> Document:
    """A :class:`Document` for ``data`` of the given kind (see :func:`kind_of`)."""
    if kind == "pdf":
        try:
            pdf = read_pdf(data, max_pdf_pages)
        except UnsupportedContent as exc:
            raise UnsupportedContent(f"{exc} ({url})", url=url) from exc
        return Document(url, "text/plain", pdf.text, title=pdf.title, notes=notes + pdf.notes)
    content_type = {"html": "text/html", "markdown": "text/markdown"}.get(kind, "text/plain")
    text = decode_text(data, charset, html=kind == "html", url=url)
    if not text.strip():  # say so, or "nothing found" and "nothing sent" look alike
        notes += ("the server sent an empty page",)
    return Document(url, content_type, text, notes=notes)


def decode_text(data: bytes, charset: str | None, *, html: bool = False, url: str = "") -> str:
    """Decode a text body: the header's charset, else a BOM, else ``<meta charset>`` (HTML),
    else UTF-8 if it fits, else a guess (charset-normalizer).

    Raises :class:`UnsupportedContent` when the body is binary data rather than text.
    """
    encoding = _known(charset) or _bom(data) or (_known(_meta_charset(data)) if html else None)
    if not encoding and b"\x00" not in data[:8192]:
        encoding = _utf8_or_none(data) or _guess(data)
    wide = encoding is not None and encoding.startswith(("utf-16", "utf-32"))
    if encoding is None or (not wide and b"\x00" in data[:8192]):
        raise _binary(url)
    text = data.decode(encoding, errors="replace")
    sample = text[:20_000]
    if sample and len(_CONTROL.findall(sample)) > len(sample) // 20:
        raise _binary(url)
    return text


def _binary(url: str) -> UnsupportedContent:
    where = f" at {url}" if url else ""
    return UnsupportedContent(f"the page{where} is binary data, not text, so it is not shown", url=url)


def _known(name: str | bytes | None) -> str | None:
    if isinstance(name, bytes):
        name = name.decode("ascii", "ignore")
    if not name:
        return None
    try:
        return codecs.lookup(name).name
    except LookupError:  # a charset name Python does not know: look for better evidence
        return None


def _bom(data: bytes) -> str | None:
    return next((enc for bom, enc in _BOMS if data.startswith(bom)), None)


def _meta_charset(data: bytes) -> bytes | None:
    match = _META_CHARSET.search(data[:4096])
    return match.group(1) if match else None


def _utf8_or_none(data: bytes) -> str | None:
    try:
        # Not final: a page cut at the cap may end inside a multi-byte character.
        codecs.getincrementaldecoder("utf-8")().decode(data, final=False)
    except UnicodeDecodeError:
        return None
    return "utf-8"


def _guess(data: bytes) -> str | None:
    from charset_normalizer import from_bytes

    best = from_bytes(data[:200_000]).best()
    return _known(best.encoding) if best is not None else None
