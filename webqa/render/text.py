"""Plain text and Markdown → :class:`~webqa.records.Page`."""

from __future__ import annotations

import re

from .. import urls
from ..records import Link, Page
from .layout import clean_text, clean_title, marker, wrap_blocks

__all__ = ["render_text"]

_MD_LINK = re.compile(r"(!?)\[([^\]]*)\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_MD_HEADING = re.compile(r"^(#{1,6})\s+(.*)$")
_MD_ITEM = re.compile(r"^(\s*)(?:[-*+]|\d+[.)])\s+")


def render_text(text: str, url: str, *, markdown: bool = False, width: int = 100,
                max_lines: int = 20000, title: str | None = None,
                notes: tuple[str, ...] = ()) -> Page:
    """Render plain text (paragraphs split on blank lines) or Markdown with its links numbered."""
    text = clean_text(text.replace("\r\n", "\n").replace("\r", "\n"))
    links: dict[int, Link] = {}
    ids: dict[str, int] = {}

    def link(m: re.Match[str]) -> str:
        bang, label, href = m.groups()
        if bang:
            return f"[Image: {label}]" if label else ""
        target = urls.strip_fragment(urls.join(url, href))
        if href.startswith("#") or not label.strip():
            return label
        if target not in ids:
            ids[target] = len(ids)
            links[ids[target]] = Link(ids[target], target, " ".join(label.split()))
        other = urls.domain(target)
        return marker(ids[target], label, other if other != urls.domain(url) else "")

    blocks: list[str] = []
    heading = ""
    for para in re.split(r"\n\s*\n", text):
        for line in _logical_lines(para, markdown):
            if markdown:
                m = _MD_HEADING.match(line)
                if m:
                    heading = heading or m.group(2).strip()
                    blocks.append("")
                line = _MD_LINK.sub(link, line)
            blocks.append(line)
        blocks.append("")
    lines, cut = wrap_blocks(blocks, width, max_lines)
    if cut:
        notes = (*notes, f"The page was cut at {max_lines} lines.")
    first = next((ln for ln in lines if ln.strip()), "")
    page_title = clean_title(title or heading or (first[:80] if not markdown else "") or url)
    return Page(key=url, url=url, title=page_title, lines=lines, links=links, notes=notes)


def _logical_lines(para: str, markdown: bool) -> list[str]:
    """Lines of a paragraph that stand alone: list items and headings; the rest is joined."""
    out: list[str] = []
    for raw in para.split("\n"):
        if not raw.strip():
            continue
        starts_item = markdown and (_MD_ITEM.match(raw) or _MD_HEADING.match(raw.strip()))
        if out and not starts_item and not (markdown and _MD_HEADING.match(out[-1])):
            out[-1] += " " + raw.strip()
        else:
            out.append(raw.rstrip() if starts_item else raw.strip())
    return out
