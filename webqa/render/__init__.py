"""Documents → pages. Pure functions: no I/O, so they can be tested and benchmarked alone."""

from __future__ import annotations

from ..errors import UnsupportedContent
from ..records import Document, Page
from .html import render_html
from .text import render_text

__all__ = ["render_document", "render_html", "render_text"]

_TEXT = ("text/plain", "application/json", "text/csv", "application/xml", "text/xml")
_MARKDOWN = ("text/markdown", "text/x-markdown")
_HTML = ("text/html", "application/xhtml+xml")


def render_document(doc: Document, *, width: int = 100, max_lines: int = 20000) -> Page:
    """Render a fetched document by its content type; raise UnsupportedContent for others."""
    kind = doc.content_type.split(";")[0].strip().lower()
    if kind in _HTML:
        return render_html(
            doc.text, doc.url, width=width, max_lines=max_lines, title=doc.title, notes=doc.notes
        )
    if kind == "application/pdf" and doc.data:
        from ..pdf import pdf_to_text

        text, notes = pdf_to_text(doc.data, max_pages=500)
        return render_text(
            text,
            doc.url,
            width=width,
            max_lines=max_lines,
            title=doc.title,
            notes=(*doc.notes, *notes),
        )
    if kind in _MARKDOWN or kind in _TEXT or kind.startswith("text/"):
        return render_text(
            doc.text,
            doc.url,
            markdown=kind in _MARKDOWN,
            width=width,
            max_lines=max_lines,
            title=doc.title,
            notes=doc.notes,
        )
    raise UnsupportedContent(f"cannot show content of type {kind!r}", url=doc.url)
