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
from dataclasses import dataclass

import lxml.etree as etree

from .. import prompts, urls
from ..records import Link, Page
from .layout import MARKER_RE, Verbatim, clean_text, clean_title, layout, marker

__all__ = ["render_html"]

_DROP_TAGS = (
    "script",
    "style",
    "noscript",
    "template",
    "svg",
    "canvas",
    "iframe",
    "object",
    "embed",
    "button",
    "input",
    "select",
    "textarea",
    "nav",
    "footer",
    "head",
    "link",
    "meta",
    "math",
)
_DROP_CLASSES = (
    "navbox",
    "mw-editsection",
    "reference",
    "mw-ref",
    "reflist",
    "mw-references-wrap",
    "noprint",
    "catlinks",
    "mw-jump-link",
    "sr-only",
    "visually-hidden",
    "hatnote",
    # Documentation chrome: Sphinx's ¶ and DocBook's # self-links, DocBook's Prev/Up/Next bars.
    "headerlink",
    "id_link",
    "navheader",
    "navfooter",
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
    "head": "h2",
    "list": "ul",
    "item": "li",
    "row": "tr",
    "cell": "td",
    "ref": "a",
    "graphic": "img",
    "lb": "br",
    "quote": "blockquote",
    "code": "pre",
    "hi": "span",
    "doc": "div",
    "main": "div",
    "comments": "div",
    "body": "div",
}
_XML_DECL = re.compile(r"^\s*<\?xml[^>]*\?>", re.I)
_HAS_TEXT = re.compile(r">\s*[^<\s]")
_WS = re.compile(r"\s+")
_HIDDEN_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.I)
# A space left before punctuation where an element (a reference, a script) was taken out.
_SPACE_BEFORE_PUNCT = re.compile(r"(?<=[^\s|]) +(?=[,.;:!?)\]](?:\s|$))|(?<=[(\[]) +(?=\S)")
# A line break inside a table cell: NUL, as clean_text removes it from all page text.
_CELL_BREAK = "\x00"
_CELL_BREAKS = re.compile(r"\s*(?:\x00\s*)+")
_INLINE_IN_CELL = frozenset("tr td th table thead tbody tfoot caption".split())


# libxml2's HTML parser as lxml.html configures it, with plain elements: lxml.html's own
# elements are looked up by a Python function for every node touched (some 13,000 calls on
# a manual page), and the walker needs none of their methods but the two below.
_PARSER = etree.HTMLParser(recover=True, no_network=True, default_doctype=True)
_text_content = etree.XPath("string()")


def _drop_tree(node: etree._Element) -> None:
    """Remove ``node`` and what it holds, keeping its tail text in place (as
    ``lxml.html.HtmlElement.drop_tree``)."""
    parent = node.getparent()
    if parent is None:
        return
    if node.tail:
        previous = node.getprevious()
        if previous is None:
            parent.text = (parent.text or "") + node.tail
        else:
            previous.tail = (previous.tail or "") + node.tail
    parent.remove(node)


def render_html(
    html: str,
    url: str,
    *,
    width: int = 100,
    max_lines: int = 20000,
    title: str | None = None,
    notes: tuple[str, ...] = (),
) -> Page:
    """Render an HTML string fetched from ``url`` into a page of wrapped, numbered lines."""
    html = clean_text(_XML_DECL.sub("", html, count=1))
    try:
        root = etree.fromstring(html or "<html></html>", _PARSER)
    except (etree.ParserError, ValueError):
        root = None
    if root is None:  # nothing a document could be made of
        root = etree.fromstring("<html><body></body></html>", _PARSER)
    page_title = clean_title(title or _title(root) or url)
    _prepare(root)
    main = _main_element(root)
    if main is None:
        body = root.find("body") if root.find("body") is not None else root
        _drop_boilerplate(body)
        # A body of plain prose gets shown whole whatever the extractor says (it keeps 80% or
        # more of it, see _choose): the extractor, and its import, are then skipped.
        main = None if _all_content(body) else _trafilatura_main(html, url)
        if main is not None:
            main, note = _choose(main, body)
            notes = (*notes, note) if note else notes
        if main is None:
            main = body
    # Only character references (&#9830; &#0;) and &diams; can bring back what cleaning the
    # source removed; without them each text node need not be cleaned again.
    walker = _Walker(url, clean="&#" in html or "&diams" in html)
    blocks = walker.walk(main, max_blocks=2 * max_lines + 2)
    if not blocks and _HAS_TEXT.search(html):
        # libxml2 gave up on this document (it stops past 256 levels of nesting, for one):
        # html.parser builds its tree without that limit, so its text is what the page holds.
        blocks = _soup_blocks(html)
    lines, cut, starts = layout(blocks, width, max_lines)
    if cut:
        notes = (*notes, prompts.message("note_cut_lines", lines=max_lines))
    last = max(len(lines) - 1, 0)
    anchors = {
        name: min(starts[i], last) if i < len(starts) else last
        for name, i in walker.anchor_blocks.items()
    }
    return Page(
        key=url,
        url=url,
        title=page_title,
        lines=lines,
        links=walker.links,
        notes=notes,
        anchors=anchors,
    )


# What a page of plain prose is made of: headings, paragraphs, lists, quotes and inline markup.
_PROSE_TAGS = frozenset(
    """h1 h2 h3 h4 h5 h6 p ul ol li dl dt dd blockquote br hr a b i em strong
small sub sup span code kbd var cite q abbr dfn s u mark time bdi bdo wbr""".split()
)
_PROSE_BLOCKS = frozenset("p li dd dt blockquote".split())
#: A block whose text is more than this share link text is what the extractor drops.
_LINK_DENSE = 0.5
#: The share of a body's text allowed in link-dense blocks for it to count as all content.
_DENSE_SHARE = 0.1


def _all_content(body: etree._Element) -> bool:
    """Whether ``body`` is plain prose, which the main-content extractor would keep (nearly)
    whole: no containers (div, section, table, form...) at all, and under a tenth of its text
    in link-dense blocks (link lists are what extractors drop)."""
    total = dense = 0
    for el in body.iterdescendants():
        tag = el.tag
        if not isinstance(tag, str):
            continue
        if tag not in _PROSE_TAGS:
            return False
        if tag in _PROSE_BLOCKS and not any(
            isinstance(a.tag, str) and a.tag in _PROSE_BLOCKS for a in el.iterancestors()
        ):
            size, links = _text_sizes(el)
            total += size
            if size and links > _LINK_DENSE * size:
                dense += size
    return total > 0 and dense <= _DENSE_SHARE * total


def _choose(main: etree._Element, body: etree._Element) -> tuple[etree._Element | None, str]:
    """The extractor's main content, or None for the whole body, and a note on what was cut.

    The extractor drops link-dense blocks, which on an index page (sections of links) is the
    content itself: when it lost sections of the page (their headings), the whole body is
    shown, since a menu too many costs less than a section the reader never learns of. It
    also drops nothing worth it on a page that is all content.
    """
    main_all, _ = _text_sizes(main)
    body_all, _ = _text_sizes(body)
    if not body_all or main_all >= 0.8 * body_all:
        return None, ""
    headings = [h for h in _headings(body) if h]
    kept = set(_headings(main))
    lost = sum(h not in kept for h in headings)
    if lost and lost > 0.25 * len(headings):
        return None, ""
    share = round(100 * (1 - main_all / body_all))
    return main, prompts.message("note_main_text", share=share)


_HEADING_XPATH = etree.XPath(".//h1 | .//h2 | .//h3 | .//h4 | .//h5 | .//h6")


def _headings(el: etree._Element) -> list[str]:
    return [_WS.sub("", "".join(h.itertext())) for h in _HEADING_XPATH(el)]


def _text_sizes(el: etree._Element) -> tuple[int, int]:
    """Characters of text under ``el`` (whitespace aside), and how many are inside links."""
    total = len(_WS.sub("", "".join(el.itertext())))
    links = sum(len(_WS.sub("", "".join(a.itertext()))) for a in el.iter("a"))
    return total, min(links, total)


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
            text = _WS.sub(" ", _text_content(el)).strip()
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


def _prepare(root: etree._Element) -> None:
    """Hidden elements out, and pictures that carry a label (star ratings) in as that label.

    Hidden copies of text (MediaWiki's ``(1934-12-21)`` before "December 21, 1934") would
    show twice; a rating drawn as star images would show as an empty cell.
    """
    hidden, labelled = [], []
    for node in root.iter():
        if not isinstance(node.tag, str):
            continue
        attrib = node.attrib
        if "hidden" in attrib or _HIDDEN_STYLE.search(attrib.get("style", "")):
            hidden.append(node)
        elif attrib.get("role") == "img" and (attrib.get("aria-label") or attrib.get("title")):
            labelled.append(node)
    for node in hidden:
        if node.getparent() is not None:
            _drop_tree(node)
    for node in labelled:
        label = node.get("aria-label") or node.get("title") or ""
        tail = node.tail
        for child in list(node):
            node.remove(child)
        node.text, node.tail = f" {label} ", tail


def _drop_boilerplate(el: etree._Element) -> None:
    # One pass over the subtree with set lookups: several times faster than an XPath union.
    junk = []
    for node in el.iter():
        tag = node.tag
        if not isinstance(tag, str):
            junk.append(node)  # comments and processing instructions
            continue
        attrib = node.attrib
        classes = attrib["class"].split() if "class" in attrib else ()
        if (
            tag in _DROP_TAG_SET
            or attrib.get("role") in _DROP_ROLES
            or attrib.get("aria-hidden") == "true"
            or (
                classes
                and not _DROP_CLASS_SET.isdisjoint(classes)
                # MediaWiki's footnote marks are class "reference"; Sphinx's links too.
                and not (
                    tag == "a"
                    and "reference" in classes
                    and _DROP_CLASS_SET.isdisjoint(set(classes) - {"reference"})
                )
            )
        ):
            junk.append(node)
    for node in junk:
        if node is not el and node.getparent() is not None:
            _drop_tree(node)  # keeps the element's tail text


def _trafilatura_main(html: str, url: str) -> etree._Element | None:
    # bare_extraction hands back trafilatura's element tree itself: no XML to serialise and
    # parse again, and no content fingerprint, which extract() computes for its output.
    from trafilatura import bare_extraction  # imported here: slow to import, some pages need it

    try:
        doc = bare_extraction(
            html,
            url=url or None,
            include_links=True,
            include_tables=True,
            include_images=True,
            include_comments=False,
            favor_recall=True,
            with_metadata=False,
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
            if el.tag == "pre" and "\n" not in "".join(el.itertext()):
                el.tag = "span"  # trafilatura's <code> is inline code as well as code blocks
    return body


class _Walker:
    """Turns an element tree into text blocks, numbering links as it meets them.

    Preformatted text keeps its lines (fenced by ```); a table row stays one block whatever
    its cells hold, and under a header row each cell is labelled with its column's header,
    so a quoted row still says what its values are. Element ids and names are recorded with
    the block they start in, so links to ``page#id`` can be scrolled to.
    """

    def __init__(self, url: str, *, clean: bool = True) -> None:
        self.url = url
        self._clean = clean
        self.page_url = urls.strip_fragment(url)
        self.domain = urls.domain(url)
        self.links: dict[int, Link] = {}
        self.anchor_blocks: dict[str, int] = {}
        self._ids: dict[str, int] = {}
        # href without its #fragment -> (resolved URL, its host): an index page links to a
        # few hundred pages at some 15,000 places on them, so each is joined once.
        self._targets: dict[str, tuple[str, str]] = {}
        self.blocks: list[str] = []
        self._buf: list[str] = []
        self._prefix = ""
        self._lists: list[list[int]] = []  # one counter per open list; -1 marks <ul>
        self._anchors: list[tuple[int, str | None]] = []
        self._pre = 0
        self._cell_depth = 0
        self._cells: list[tuple[int, bool]] = []  # where each cell of the row starts in _buf
        self._tables: list[_Table] = []  # the open tables, innermost last

    def walk(self, root: etree._Element, max_blocks: int | None = None) -> list[str]:
        """The blocks of the subtree at ``root``; past ``max_blocks`` the walk stops (a page
        is cut at a number of lines, and every block is at least one, bar blank ones)."""
        for event, el in etree.iterwalk(root, events=("start", "end")):
            tag = el.tag if isinstance(el.tag, str) else ""
            if event == "start":
                self._start(tag.lower(), el)
            else:
                self._end(tag.lower(), el)
                if max_blocks is not None and len(self.blocks) > max_blocks:
                    break
        self._flush()
        return self.blocks

    def _text(self, text: str | None) -> None:
        if text:
            if self._clean:  # the parser decoded character references after the source was cleaned
                text = clean_text(text)
            self._buf.append(text.expandtabs(8) if self._pre else _WS.sub(" ", text))

    def _flush(self) -> None:
        text = "".join(self._buf).replace(_CELL_BREAK, " ")
        text = _SPACE_BEFORE_PUNCT.sub("", text).strip()
        self._buf.clear()
        self._anchors.clear()
        if text:
            self.blocks.append(self._prefix + text)
            # An empty flush (a <div> opening inside an <li> or <h1>) keeps the pending prefix.
            self._prefix = ""

    def _flush_pre(self) -> None:
        raw = "".join(self._buf)
        self._buf.clear()
        self._anchors.clear()
        code = raw.strip("\n").split("\n")
        if any(line.strip() for line in code):
            self.blocks.extend(
                [Verbatim("```"), *(Verbatim(line.rstrip()) for line in code), Verbatim("```")]
            )

    def _start(self, tag: str, el: etree._Element) -> None:
        name = el.get("id") or (el.get("name") if tag == "a" else None)
        if self._cell_depth:
            self._start_in_cell(tag, el)
        elif self._pre:
            if tag == "br":
                self._buf.append("\n")
            elif tag == "a":
                self._anchors.append((len(self._buf), el.get("href")))
        else:
            self._start_block(tag, el)
        if name:
            self.anchor_blocks.setdefault(name, len(self.blocks))
        self._text(el.text)

    def _start_in_cell(self, tag: str, el: etree._Element) -> None:
        if tag in ("td", "th"):
            self._cell_depth += 1
        if tag in _BLOCK or tag in _INLINE_IN_CELL:
            self._buf.append(" " if tag in _INLINE_IN_CELL else _CELL_BREAK)
        self._inline(tag, el)

    def _start_block(self, tag: str, el: etree._Element) -> None:
        if tag in _BLOCK:
            self._flush()
        if tag == "pre":
            self._pre += 1
            return
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
        elif tag == "table":
            self._tables.append(_Table())
        elif tag == "tr":
            self._cells = []
        elif tag in ("td", "th"):
            self._cell_depth = 1
            self._cells.append((len(self._buf), tag == "th"))
        elif tag == "blockquote":
            self._prefix = "> "
        self._inline(tag, el)

    def _inline(self, tag: str, el: etree._Element) -> None:
        if tag == "a":
            self._anchors.append((len(self._buf), el.get("href")))
        elif tag == "img":
            alt = _WS.sub(" ", clean_text(el.get("alt") or el.get("title") or "")).strip()
            if alt:
                self._buf.append(f" [Image: {alt}] ")
        elif tag == "sup":
            self._buf.append("^")
        elif tag == "sub":
            self._buf.append("_")

    def _end(self, tag: str, el: etree._Element) -> None:
        if tag == "a" and self._anchors:
            start, href = self._anchors.pop()
            self._link(start, href)
        if self._cell_depth:
            if tag in ("td", "th"):
                self._cell_depth -= 1
            if self._cell_depth and (tag in _BLOCK or tag in _INLINE_IN_CELL):
                self._buf.append(" " if tag in _INLINE_IN_CELL else _CELL_BREAK)
        elif self._pre:
            if tag == "pre":
                self._pre -= 1
                if not self._pre:
                    self._flush_pre()
        else:
            self._end_block(tag)
        self._text(el.tail)

    def _end_block(self, tag: str) -> None:
        if tag in ("ul", "ol") and self._lists:
            self._lists.pop()
        elif tag == "table" and self._tables:
            self._tables.pop()
        elif tag == "tr":
            self._row()
        if tag in _BLOCK and tag not in ("td", "th"):
            self._flush()

    def _row(self) -> None:
        """The row's cells joined into one block: ``a | b``, or ``Header: a | Header: b``.

        Labelling every cell makes each row read alone (a quote of it names its columns);
        a table too wide for that (many or long headers) has its header row shown again
        every :data:`_HEADER_EVERY` rows instead.
        """
        if not self._cells:
            return
        first = min(self._cells[0][0], len(self._buf))
        bounds = [min(start, len(self._buf)) for start, _ in self._cells] + [len(self._buf)]
        cells = [
            _cell_text("".join(self._buf[a:b])) for a, b in zip(bounds, bounds[1:], strict=False)
        ]
        lead = "".join(self._buf[:first])
        table = self._tables[-1] if self._tables else None
        row = " | ".join(cells)
        if table is not None:
            table.rows += 1
            if table.header is None and len(cells) > 1 and all(th for _, th in self._cells):
                table.header = [MARKER_RE.sub(lambda m: m.group(2), c) for c in cells]
                table.wide = len(cells) > 8 or sum(map(len, table.header)) > 150
                table.rows = 0
            elif table.header is not None and len(table.header) == len(cells):
                if not table.wide:
                    pairs = zip(table.header, cells, strict=True)
                    row = " | ".join(f"{h}: {c}" if h else c for h, c in pairs if c)
                elif table.rows > 1 and (table.rows - 1) % _HEADER_EVERY == 0:
                    self.blocks.append(" | ".join(table.header))
        self._buf[:] = [lead, row]
        self._cells = []

    def _link(self, start: int, href: str | None) -> None:
        if not href or start > len(self._buf):
            return
        href = href.strip()
        if href.startswith(("javascript:", "mailto:", "tel:", "data:")) or href == "#":
            return
        target, other = self._resolve(href)
        text = "".join(self._buf[start:]).replace(_CELL_BREAK, " ").strip()
        # A link to the page itself goes nowhere; to a place on it (#section) it scrolls.
        if not text or not target or target == self.page_url:
            return
        link_id = self._ids.get(target)
        if link_id is None:
            link_id = self._ids[target] = len(self._ids)
            self.links[link_id] = Link(link_id, target, " ".join(text.split()))
        lead = " " if self._buf[start:] and self._buf[start][:1] == " " else ""
        trail = " " if text and "".join(self._buf[start:])[-1:] == " " else ""
        shown = marker(link_id, text, other if other != self.domain else "")
        self._buf[start:] = [lead + shown + trail]

    def _resolve(self, href: str) -> tuple[str, str]:
        """``href`` resolved against the page (as :func:`webqa.urls.join`), and its host."""
        path, _, fragment = href.partition("#")
        hit = self._targets.get(path)
        if hit is None:
            # "#part" alone is a place on this page; join("x#a", "") would keep the "#a".
            joined = urls.join(self.url, path) if path else urls.strip_fragment(self.url)
            hit = self._targets[path] = (joined, urls.domain(joined))
        joined, host = hit
        return (f"{joined}#{fragment}" if fragment else joined), host


_HEADER_EVERY = 20


@dataclass
class _Table:
    """What the walker knows of an open table: its header row, and rows seen since it."""

    header: list[str] | None = None
    wide: bool = False
    rows: int = 0


def _cell_text(raw: str) -> str:
    """One cell's text on one line: its own line breaks become "; "."""
    text = _CELL_BREAKS.sub(_CELL_BREAK, _WS.sub(" ", raw).strip()).strip(_CELL_BREAK + " ")
    return _SPACE_BEFORE_PUNCT.sub("", text.replace(_CELL_BREAK, "; "))
