"""Plain text and Markdown → :class:`~webqa.records.Page`."""

from __future__ import annotations

import re

from .. import prompts, urls
from ..records import Link, Page
from .layout import Verbatim, clean_text, clean_title, marker, wrap_blocks

__all__ = ["render_text"]

_MD_LINK = re.compile(r"(!?)\[([^\]]*)\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_MD_HEADING = re.compile(r"^(#{1,6})\s+(.*)$")
_MD_ITEM = re.compile(r"^(\s*)(?:[-*+]|\d+[.)])\s+")
_MD_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_INDENTED = re.compile(r"^(?: {4}|\t)")


def render_text(
    text: str,
    url: str,
    *,
    markdown: bool = False,
    width: int = 100,
    max_lines: int = 20000,
    title: str | None = None,
    notes: tuple[str, ...] = (),
) -> Page:
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
    for kind, chunk in _chunks(text, markdown):
        if kind != "text":
            code = [Verbatim(line.expandtabs(8).rstrip()) for line in chunk]
            fence = [Verbatim("```")] if kind == "code" else []
            blocks.extend([*fence, *code, *fence, ""])
            continue
        for line in _logical_lines("\n".join(chunk), markdown):
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
        notes = (*notes, prompts.message("note_cut_lines", lines=max_lines))
    first = next((ln for ln in lines if ln.strip()), "")
    page_title = clean_title(title or heading or (first[:80] if not markdown else "") or url)
    return Page(key=url, url=url, title=page_title, lines=lines, links=links, notes=notes)


def _chunks(text: str, markdown: bool) -> list[tuple[str, list[str]]]:
    """The text as paragraphs ("text"), code ("code": Markdown fences and indented blocks)
    and lines laid out by their author ("pre": plain text with indented lines, such as code
    or a table), each a list of lines. Only "text" is joined and wrapped."""
    out: list[tuple[str, list[str]]] = []
    para: list[str] = []

    def end_para() -> None:
        if para:
            if markdown and all(_INDENTED.match(line) for line in para):
                out.append(("code", [line[4:] if line[:1] == " " else line[1:] for line in para]))
            elif not markdown and any(line[:1].isspace() for line in para[1:]):
                out.append(("pre", list(para)))
            else:
                out.append(("text", list(para)))
            para.clear()

    lines = text.split("\n")
    i = 0
    while i < len(lines):
        line = lines[i]
        fence = _MD_FENCE.match(line) if markdown else None
        if fence:
            end_para()
            mark = fence.group(1)
            close = re.compile(rf"^ {{0,3}}{re.escape(mark[0])}{{{len(mark)},}}\s*$")
            body: list[str] = []
            i += 1
            while i < len(lines) and not close.match(lines[i]):
                body.append(lines[i])
                i += 1
            out.append(("code", body))
        elif not line.strip():
            end_para()
        else:
            para.append(line)
        i += 1
    end_para()
    return out


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
