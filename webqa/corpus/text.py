"""Text out of stored files: charset decoding, tag stripping, titles.

Everything here is linear-time regex and string scanning, never a parse tree, so a 10 MB file,
a file of 50,000 nested tags or a stray ``<`` cannot blow the stack or go quadratic.
"""

from __future__ import annotations

import html as htmllib
import re

from webqa import charset

__all__ = ["decode", "html_to_text", "html_title", "markdown_title", "markdown_to_text",
           "clean_text", "valid_text"]


def decode(data: bytes, declared: str | None = None, *, sniff_html: bool = True) -> str:
    """Decode bytes to text, never failing, by the one set of rules in :mod:`webqa.charset`.

    Order: byte-order mark, the ``declared`` charset (an HTTP header), a ``<meta charset>`` in
    the first 4 KB, UTF-8, then a guess by charset-normalizer; bad bytes become U+FFFD.
    """
    return charset.decode(data, declared, html=sniff_html)


_SURROGATE = re.compile("[\ud800-\udfff]")


def valid_text(text: str) -> str:
    """``text`` with lone surrogates replaced by U+FFFD, so that it can be encoded as UTF-8.

    Some codecs a page may name (UTF-7, ``unicode_escape``) decode to lone surrogates, which
    SQLite, libzim and the trace writer refuse. Text without any is returned as it is.
    """
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return _SURROGATE.sub("\ufffd", text)
    return text


# Site chrome (nav, footer) is left out too, as the renderer leaves it out of pages.
_HIDDEN_OPEN = re.compile(r"<!--|<(script|style|noscript|template|title|nav|footer)\b", re.I)


def _drop_hidden(html: str) -> str:
    """Remove comments and invisible elements (script, style, title...) by scanning."""
    parts: list[str] = []
    pos = 0
    lower: str | None = None
    while True:
        m = _HIDDEN_OPEN.search(html, pos)
        if m is None:
            parts.append(html[pos:])
            return "".join(parts)
        parts.append(html[pos:m.start()])
        if m.group(1) is None:
            end = html.find("-->", m.end())
            end = len(html) if end < 0 else end + 3
        else:
            if lower is None:
                lower = html.lower()
            close = lower.find("</" + m.group(1).lower(), m.end())
            gt = -1 if close < 0 else html.find(">", close)
            end = len(html) if gt < 0 else gt + 1
        parts.append(" ")
        pos = end


# A tag starts with a letter, '/', '!' or '?'; "a < b" is text. [^<>] keeps the scan linear.
# Inline tags join their text ("Ray <b>Charles</b>,"); all other tags separate words.
_INLINE_TAG = re.compile(r"</?(?:a|abbr|b|bdi|bdo|cite|code|data|dfn|em|font|i|kbd|mark|q|s|samp|"
                         r"small|span|strong|sub|sup|time|tt|u|var)(?=[\s/>])[^<>]*>", re.I)
_TAG = re.compile(r"<(?:/?[A-Za-z][A-Za-z0-9:-]*|[!?])[^<>]*>")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_SPACE = re.compile(r"\s+")


def clean_text(text: str) -> str:
    """Collapse whitespace and drop control characters."""
    return _SPACE.sub(" ", _CONTROL.sub(" ", text)).strip()


def html_to_text(html: str) -> str:
    """The visible text of an HTML document: tags stripped, entities decoded, spaces collapsed."""
    text = _TAG.sub(" ", _INLINE_TAG.sub("", _drop_hidden(html)))
    return clean_text(htmllib.unescape(text))


_TITLE = re.compile(r"<title\b[^<>]*>([^<]*)", re.I)
_H1 = re.compile(r"<h1\b[^<>]*>(.{0,2000}?)</h1\s*>", re.I | re.S)
_HEAD_CHARS = 256 * 1024


def html_title(html: str) -> str | None:
    """The ``<title>`` of an HTML document, else its first ``<h1>``, else None."""
    head = html[:_HEAD_CHARS]
    m = _TITLE.search(head)
    title = clean_text(htmllib.unescape(m.group(1))) if m else ""
    if not title:
        h1 = _H1.search(head)
        title = html_to_text(h1.group(1)) if h1 else ""
    return title[:300] or None


_ATX = re.compile(r"^ {0,3}#{1,6}[ \t]+(.+?)[ \t#]*$", re.M)
_SETEXT = re.compile(r"^([^\n#>*\-=].*)\n {0,3}(?:=+|-+)[ \t]*$", re.M)


def markdown_title(text: str) -> str | None:
    """The first heading of a Markdown document (``# Title`` or underlined), else None."""
    head = text[:_HEAD_CHARS]
    hits = [m for m in (_ATX.search(head), _SETEXT.search(head)) if m]
    if not hits:
        return None
    first = min(hits, key=lambda m: m.start())
    return clean_text(first.group(1))[:300] or None


_MD_LINK = re.compile(r"!?\[([^\]\n]{0,500})\]\([^)\n]{0,2000}\)")
_MD_MARKS = re.compile(r"[#*_`>|]+")


def markdown_to_text(text: str) -> str:
    """Markdown reduced to its words for indexing: link targets and markup characters dropped."""
    return clean_text(_MD_MARKS.sub(" ", _MD_LINK.sub(r"\1", text)))
