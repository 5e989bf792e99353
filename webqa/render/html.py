"""HTML → :class:`~webqa.records.Page`: main content, links as numbered markers, tables as rows.

The document is parsed once with lxml. When the page marks its main content (``<main>``,
``role=main``, a single ``<article>``, MediaWiki's ``#mw-content-text``) that element is walked
directly — fast, and it keeps infoboxes and tables that generic extractors drop. Otherwise
trafilatura picks the main content from the same tree and its XML (links and tables included)
is walked the same way. If trafilatura finds nothing, the cleaned ``<body>`` is walked. The
walk is iterative, so a 50,000-deep document cannot overflow the stack, and whatever happens
the model gets text, never raw HTML.
"""

from __future__ import annotations

import re

import lxml.etree as etree
import lxml.html

from .. import urls
from ..records import Link, Page
from .layout import clean_text, clean_title, marker, wrap_blocks

__all__ = ["render_html"]

_DROP_TAGS = (
    "script", "style", "noscript", "template", "svg", "canvas", "iframe", "object", "embed",
    "button", "input", "select", "textarea", "nav", "footer", "head", "link", "meta", "math",
)
_DROP_CLASSES = (
    "navbox", "mw-editsection", "reference", "mw-ref", "reflist", "mw-references-wrap",
    "noprint", "catlinks", "mw-jump-link", "sr-only", "visually-hidden", "hatnote",
)
_DROP_TAG_SET = frozenset(_DROP_TAGS)
_DROP_CLASS_SET = frozenset(_DROP_CLASSES)
_DROP_ROLES = frozenset(("navigation", "search", "contentinfo"))
_MAIN_XPATH = (
    etree.XPath("//main | //*[@role='main']"),
    etree.XPath("//*[@id='mw-content-text']"),
    etree.XPath("//article"),
)
_BLOCK = frozenset(
    "p div section article main header aside blockquote dd dt dl figure figcaption caption "
    "h1 h2 h3 h4 h5 h6 li ul ol table thead tbody tfoot tr pre hr br address details summary "
    "center form fieldset".split()
)
_HEADINGS = {"h1": 1, "h2": 2, "h3": 3, "h4": 4, "h5": 5, "h6": 6}
# trafilatura's XML vocabulary mapped onto the HTML tags the walker knows.
_TRAFILATURA_TAGS = {
    "head": "h2", "list": "ul", "item": "li", "row": "tr", "cell": "td", "ref": "a",
    "graphic": "img", "lb": "br", "quote": "blockquote", "code": "pre", "hi": "span", "doc": "div",
    "main": "div", "comments": "div", "body": "div",
}
_XML_DECL = re.compile(r"^\s*<\?xml[^>]*\?>", re.I)
_HAS_TEXT = re.compile(r">\s*[^<\s]")
_WS = re.compile(r"\s+")


def render_html(html: str, url: str, *, width: int = 100, max_lines: int = 20000,
                title: str | None = None, notes: tuple[str, ...] = ()) -> Page:
    """Render an HTML string fetched from ``url`` into a page of wrapped, numbered lines."""
    html = clean_text(_XML_DECL.sub("", html, count=1))
    try:
        root = lxml.html.document_fromstring(html or "<html></html>")
    except (etree.ParserError, ValueError):
        root = lxml.html.document_fromstring("<html><body></body></html>")
    page_title = clean_title(title or _title(root) or url)
    main = _main_element(root)
    if main is None:
        main = _trafilatura_main(html, url)
        body = root.find("body") if root.find("body") is not None else root
        _drop_boilerplate(body)
        # When the extractor kept nearly all the text it removed no boilerplate, only links
        # (a page that is a list of links): the body walk keeps them.
        if main is not None and len(_WS.sub("", "".join(main.itertext()))) >= 0.8 * len(
                _WS.sub("", body.text_content())):
            main = None
        if main is None:
            main = body
    walker = _Walker(url)
    blocks = walker.walk(main)
    if not blocks and _HAS_TEXT.search(html):
        # libxml2 gave up on this document (it stops past 256 levels of nesting, for one):
        # html.parser builds its tree without that limit, so its text is what the page holds.
        blocks = _soup_blocks(html)
    lines, cut = wrap_blocks(blocks, width, max_lines)
    if cut:
        notes = (*notes, f"The page was cut at {max_lines} lines.")
    return Page(key=url, url=url, title=page_title, lines=lines, links=walker.links, notes=notes)


def _soup_blocks(html: str) -> list[str]:
    from bs4 import BeautifulSoup  # only for documents lxml could not read

    soup = BeautifulSoup(html, "html.parser")
    for junk in soup.find_all(["script", "style", "noscript", "template", "nav", "footer"]):
        junk.decompose()
    text = clean_text(soup.get_text("\n"))
    return [" ".join(line.split()) for line in text.splitlines() if line.strip()]


def _title(root: etree._Element) -> str:
    for path in (".//title", ".//h1"):
        el = root.find(path)
        if el is not None:
            text = _WS.sub(" ", el.text_content()).strip()
            if text:
                return clean_text(text)
    return ""


def _main_element(root: etree._Element) -> etree._Element | None:
    for xpath in _MAIN_XPATH:
        found = xpath(root)
        # Several <article>s (a blog index) are not one main content: leave those to trafilatura.
        if len(found) == 1 or (found and xpath is not _MAIN_XPATH[2]):
            main = found[0]
            _drop_boilerplate(main)
            return main
    return None


def _drop_boilerplate(el: etree._Element) -> None:
    # One pass over the subtree with set lookups: several times faster than an XPath union.
    junk = []
    for node in el.iter():
        tag = node.tag
        if not isinstance(tag, str):
            junk.append(node)  # comments and processing instructions
            continue
        attrib = node.attrib
        if (tag in _DROP_TAG_SET or attrib.get("role") in _DROP_ROLES
                or attrib.get("aria-hidden") == "true"
                or ("class" in attrib and not _DROP_CLASS_SET.isdisjoint(attrib["class"].split()))):
            junk.append(node)
    for node in junk:
        if node is not el and node.getparent() is not None:
            node.drop_tree()  # keeps the element's tail text


def _trafilatura_main(html: str, url: str) -> etree._Element | None:
    # bare_extraction hands back trafilatura's element tree itself: no XML to serialise and
    # parse again, and no content fingerprint, which extract() computes for its output.
    from trafilatura import bare_extraction  # imported here: slow to import, some pages need it

    try:
        doc = bare_extraction(
            html, url=url or None, include_links=True, include_tables=True, include_images=True,
            include_comments=False, favor_recall=True, with_metadata=False,
        )
    except Exception:  # noqa: BLE001 - any extractor failure falls back to the body walk
        return None
    body = getattr(doc, "body", None)
    if body is None or not len(body) and not (body.text or "").strip():
        return None
    for el in body.iter():
        if isinstance(el.tag, str):
            el.tag = _TRAFILATURA_TAGS.get(el.tag, el.tag)
            if el.tag == "a" and "target" in el.attrib:
                el.set("href", el.attrib.pop("target"))
            if el.tag == "td" and el.get("role") == "head":
                el.tag = "th"
    return body


class _Walker:
    """Turns an element tree into text blocks, numbering links as it meets them."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.domain = urls.domain(url)
        self.links: dict[int, Link] = {}
        self._ids: dict[str, int] = {}
        self.blocks: list[str] = []
        self._buf: list[str] = []
        self._prefix = ""
        self._lists: list[list[int]] = []  # one counter per open list; -1 marks <ul>
        self._anchors: list[tuple[int, str | None]] = []
        self._row_cells = 0

    def walk(self, root: etree._Element) -> list[str]:
        for event, el in etree.iterwalk(root, events=("start", "end")):
            tag = el.tag if isinstance(el.tag, str) else ""
            if event == "start":
                self._start(tag.lower(), el)
            else:
                self._end(tag.lower(), el)
        self._flush()
        return self.blocks

    def _text(self, text: str | None) -> None:
        if text:
            # Cleaned again here: character references (&#9830; &#x3010; &#0;) are decoded by the
            # parser, after the source text was cleaned.
            self._buf.append(_WS.sub(" ", clean_text(text)))

    def _flush(self) -> None:
        text = "".join(self._buf).strip()
        self._buf.clear()
        self._anchors.clear()
        if text:
            self.blocks.append(self._prefix + text)
            # An empty flush (a <div> opening inside an <li> or <h1>) keeps the pending prefix.
            self._prefix = ""

    def _start(self, tag: str, el: etree._Element) -> None:
        if tag in _BLOCK:
            self._flush()
        if tag in _HEADINGS:
            self.blocks.append("")
            self._prefix = "#" * _HEADINGS[tag] + " "
        elif tag in ("ul", "ol"):
            self._lists.append([-1 if tag == "ul" else 0])
        elif tag == "li":
            depth = max(len(self._lists) - 1, 0)
            counter = self._lists[-1] if self._lists else [-1]
            if counter[0] >= 0:
                counter[0] += 1
                self._prefix = "  " * depth + f"{counter[0]}. "
            else:
                self._prefix = "  " * depth + "• "
        elif tag == "tr":
            self._row_cells = 0
        elif tag in ("td", "th"):
            if self._row_cells:
                self._buf.append(" | ")
            self._row_cells += 1
        elif tag == "blockquote":
            self._prefix = "> "
        elif tag == "a":
            self._anchors.append((len(self._buf), el.get("href")))
        elif tag == "img":
            alt = _WS.sub(" ", clean_text(el.get("alt") or el.get("title") or "")).strip()
            if alt:
                self._buf.append(f" [Image: {alt}] ")
        elif tag == "sup":
            self._buf.append("^")
        elif tag == "sub":
            self._buf.append("_")
        self._text(el.text)

    def _end(self, tag: str, el: etree._Element) -> None:
        if tag == "a" and self._anchors:
            start, href = self._anchors.pop()
            self._link(start, href)
        elif tag in ("ul", "ol") and self._lists:
            self._lists.pop()
        if tag in _BLOCK and tag not in ("td", "th"):
            self._flush()
        self._text(el.tail)

    def _link(self, start: int, href: str | None) -> None:
        if not href or start > len(self._buf):
            return
        href = href.strip()
        if href.startswith(("#", "javascript:", "mailto:", "tel:", "data:")):
            return
        target = urls.strip_fragment(urls.join(self.url, href))
        text = "".join(self._buf[start:]).strip()
        if not text or not target or target == urls.strip_fragment(self.url):
            return
        link_id = self._ids.get(target)
        if link_id is None:
            link_id = self._ids[target] = len(self._ids)
            self.links[link_id] = Link(link_id, target, " ".join(text.split()))
        other = urls.domain(target)
        lead = " " if self._buf[start:] and self._buf[start][:1] == " " else ""
        trail = " " if text and "".join(self._buf[start:])[-1:] == " " else ""
        shown = marker(link_id, text, other if other != self.domain else "")
        self._buf[start:] = [lead + shown + trail]
