"""Turning a response body into a :class:`Document`: content type, charset, PDF text.

A body that is not text (an image served as text/html, say) is refused with a clear error
rather than passed on: garbage in the model's context is worse than an honest failure.
"""

from __future__ import annotations

import re

from webqa import prompts
from webqa.charset import bom_encoding, codec_for, decode_verbose
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
    """The kind of a media type ("html", "markdown", "text", "pdf"); None if only the body can tell.

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
    raise UnsupportedContent(
        f"the content type is {mime}, which webqa cannot read (it reads HTML, text, JSON and PDF)"
    )


def _sniff(head: bytes) -> str:
    start = head.lstrip()[:512].lower()
    if start.startswith(b"%pdf-"):
        return "pdf"
    if start.startswith((b"<!doctype html", b"<html")) or b"<body" in start:
        return "html"
    return "text"


def cut_note(cap: int) -> str:
    """The note a cut page carries, e.g. "the page was cut at 5 MB"."""
    return prompts.message("note_cut_bytes", mb=f"{cap / 1_000_000:g}")


def to_document(
    url: str,
    kind: str,
    data: bytes,
    *,
    charset: str | None,
    max_pdf_pages: int,
    notes: tuple[str, ...] = (),
) -> Document:
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
        notes += (prompts.message("note_empty"),)
    return Document(url, content_type, text, notes=notes)


def decode_text(data: bytes, charset: str | None, *, html: bool = False, url: str = "") -> str:
    """Decode a text body by the rules of :mod:`webqa.charset` (the same as for corpora).

    Raises :class:`UnsupportedContent` when the body is binary data rather than text.
    """
    declared = codec_for(charset)
    wide = (bom_encoding(data) or declared or "").startswith(("utf-16", "utf-32"))
    # Checked before decoding, so a binary body never reaches the (slower) charset guesser.
    if not wide and b"\x00" in data[:8192]:
        raise _binary(url)
    decoded = decode_verbose(data, charset, html=html, where=url)
    sample = decoded.text[:20_000]
    if sample and len(_CONTROL.findall(sample)) > len(sample) // 20:
        raise _binary(url)
    return decoded.text


def _binary(url: str) -> UnsupportedContent:
    where = f" at {url}" if url else ""
    return UnsupportedContent(
        f"the page{where} is binary data, not text, so it is not shown", url=url
    )
