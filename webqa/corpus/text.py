"""Text out of stored files: charset decoding, tag stripping, titles.

Everything here is linear-time regex and string scanning, never a parse tree, so a 10 MB file,
a file of 50,000 nested tags or a stray ``<`` cannot blow the stack or go quadratic.
"""

from __future__ import annotations

import html as htmllib
import re
from functools import lru_cache

from webqa import charset

__all__ = [
    "decode",
    "html_to_text",
    "html_title",
    "markdown_title",
    "markdown_to_text",
    "clean_text",
    "valid_text",
]


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
        parts.append(html[pos : m.start()])
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


# Navigation chrome a page repeats around its content: Sphinx's related bar, sidebar and
# footer, DocBook's Prev/Up/Home/Next tables, breadcrumbs, skip links, "¶" permalinks. Their
# words would put every page of a manual on every query about "next", "index" or "bug".
_CHROME_OPEN = re.compile(
    r"<(div|section|aside|header|ul|ol|p|table|span|a|td|tr)\b(?=[^<>]*?\b(?:class|role|id)\s*=\s*"
    r"[\"']?[^\"'<>]*?\b(?:navheader|navfooter|sphinxsidebar|related|footer|breadcrumbs?|"
    r"breadcrumb-nav|navigation|contentinfo|search|headerlink|skip-?link|mw-jump-link|"
    r"nav-?bar|navbox|catlinks|printfooter|site-?footer|page-?footer|toc-backref)\b)[^<>]*>",
    re.I,
)
#: How far past an opening tag of chrome its closing tag is looked for; past that (markup
#: that never closes it) only the opening tag goes, so nothing is lost unbounded.
CHROME_SPAN_MAX = 300_000


def _drop_chrome(html: str) -> str:
    """Remove navigation chrome elements (see ``_CHROME_OPEN``), nesting counted.

    Closing tags are looked for over a few times the document's length in all: markup that
    opens chrome and never closes it loses its opening tags only, in linear time.
    """
    parts: list[str] = []
    pos = 0
    lower: str | None = None
    budget = [4 * len(html) + CHROME_SPAN_MAX]
    while True:
        m = _CHROME_OPEN.search(html, pos)
        if m is None:
            parts.append(html[pos:])
            return "".join(parts)
        parts.append(html[pos : m.start()])
        if lower is None:
            lower = html.lower()
        end = _close_of(lower, m.group(1).lower(), m.end(), budget)
        parts.append(" ")
        pos = m.end() if end is None else end


@lru_cache(maxsize=32)
def _tag_pattern(tag: str) -> re.Pattern[str]:
    return re.compile(rf"<(/?){re.escape(tag)}\b[^<>]*>")


def _close_of(lower: str, tag: str, start: int, budget: list[int]) -> int | None:
    """Where the element of ``tag`` opened just before ``start`` ends, or None; ``budget``
    (characters left to scan, shared by the whole document) shrinks by what is scanned."""
    if budget[0] <= 0:
        return None
    depth = 1
    limit = min(len(lower), start + CHROME_SPAN_MAX, start + budget[0])
    for m in _tag_pattern(tag).finditer(lower, start, limit):
        depth += -1 if m.group(1) else 1
        if depth == 0:
            budget[0] -= m.end() - start
            return m.end()
    budget[0] -= limit - start
    return None


_LINK_TEXT = re.compile(
    r"<a\b[^<>]*>([^<]{0,500}(?:<(?!/?a\b)[^<>]*>[^<]{0,500}){0,8})</a\s*>", re.I
)
#: A page whose visible text is at least this share link text, with at least HUB_LINKS links,
#: is a hub (a generated index, a table of contents, a title list): it is indexed without its
#: link texts, so that it ranks below the pages it links to.
HUB_LINK_SHARE = 0.6
HUB_LINKS = 100


# A tag starts with a letter, '/', '!' or '?'; "a < b" is text. [^<>] keeps the scan linear.
# Inline tags join their text ("Ray <b>Charles</b>,"); all other tags separate words.
_INLINE_TAG = re.compile(
    r"</?(?:a|abbr|acronym|b|bdi|bdo|big|cite|code|data|del|dfn|em|font|i|ins|"
    r"kbd|label|mark|nobr|q|s|samp|small|span|strike|strong|sub|sup|time|tt|"
    r"u|var|wbr)(?=[\s/>])[^<>]*>",
    re.I,
)
_TAG = re.compile(r"<(?:/?[A-Za-z][A-Za-z0-9:-]*|[!?])[^<>]*>")
_SUP = re.compile(r"<sup(?=[\s>])[^<>]*>", re.I)
_SUB = re.compile(r"<sub(?=[\s>])[^<>]*>", re.I)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def clean_text(text: str) -> str:
    """Collapse whitespace and drop control characters."""
    # str.split() splits at exactly what \s matches (str.isspace), ~10x faster than
    # re.sub(r"\s+", " ") on a page whose every word gap is a match.
    return " ".join(_CONTROL.sub(" ", text).split())


def html_to_text(html: str) -> str:
    """The visible text of an HTML document for indexing: tags stripped, entities decoded,
    spaces collapsed; navigation chrome left out, and a hub page's link texts too."""
    html = _drop_chrome(_drop_hidden(html))
    links = _LINK_TEXT.findall(html)
    if len(links) >= HUB_LINKS:
        full = _plain(html)
        linked = sum(len(clean_text(_TAG.sub(" ", t))) for t in links)
        if full and linked >= HUB_LINK_SHARE * len(full):
            return _plain(_LINK_TEXT.sub(" ", html))
    return _plain(html)


def _plain(html: str) -> str:
    # Super- and subscripts read as the renderer shows them (2^30, H_2O), so a search snippet
    # says what the page says.
    html = _SUB.sub("_", _SUP.sub("^", html))
    text = _TAG.sub(" ", _INLINE_TAG.sub("", html))
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
