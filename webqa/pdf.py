"""Text out of PDF files, every page up to a cap (pypdf: BSD licensed, pure Python).

Reading only the first page misses the text of papers with cover pages, so every page is read
up to ``max_pages``, and pages are marked so a reader can tell where each one starts.
"""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass

from webqa import prompts
from webqa.errors import UnsupportedContent

__all__ = ["PdfText", "read_pdf", "pdf_to_text"]


@dataclass(frozen=True)
class PdfText:
    """The text of a PDF, what the reader should know about it, and its metadata title."""

    text: str
    notes: tuple[str, ...] = ()
    title: str | None = None


def read_pdf(data: bytes, max_pages: int) -> PdfText:
    """Extract the text of the first ``max_pages`` pages of the PDF in ``data``.

    Raises :class:`UnsupportedContent` when the bytes are not a readable PDF (damaged, or
    encrypted with a password).
    """
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise UnsupportedContent("the PDF is protected by a password")
        total = len(reader.pages)
        pages = [_page_text(reader, i) for i in range(min(total, max_pages))]
        title = _title(reader)
    except (
        PyPdfError,
        ValueError,
        KeyError,
        TypeError,
        AttributeError,
        IndexError,
        OSError,
    ) as exc:
        # pypdf raises plain Python errors as well as its own on damaged files.
        raise UnsupportedContent(
            f"the PDF could not be read ({type(exc).__name__}: {exc})"
        ) from exc
    except NotImplementedError as exc:  # an encryption scheme pypdf does not support
        raise UnsupportedContent(f"the PDF could not be read ({exc})") from exc

    notes = []
    if total > max_pages:
        notes.append(prompts.message("note_pdf_pages", read=max_pages, total=total))
    empty = [str(i + 1) for i, text in enumerate(pages) if not text.strip()]
    if pages and len(empty) == len(pages):
        notes.append(prompts.message("note_pdf_no_text"))
    elif empty:
        notes.append(prompts.message("note_pdf_empty_pages", pages=", ".join(empty)))
    text = "\n\n".join(f"[Page {i + 1} of {total}]\n{t.strip()}" for i, t in enumerate(pages))
    return PdfText(text, tuple(notes), title)


def pdf_to_text(data: bytes, max_pages: int) -> tuple[str, list[str]]:
    """The text of the first ``max_pages`` pages and the notes about it (see :func:`read_pdf`)."""
    pdf = read_pdf(data, max_pages)
    return pdf.text, list(pdf.notes)


def _page_text(reader, index: int) -> str:
    from pypdf.errors import PyPdfError

    try:
        return reader.pages[index].extract_text() or ""
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, IndexError) as exc:
        # One damaged page should not cost the text of all the others; it counts as empty.
        logging.getLogger(__name__).debug("PDF page %d unreadable: %s", index + 1, exc)
        return ""


def _title(reader) -> str | None:
    meta = reader.metadata
    title = str(meta.title).strip() if meta is not None and meta.title else ""
    return title or None
