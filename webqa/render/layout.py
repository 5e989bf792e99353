"""Blocks of inline text → wrapped lines, and the link markup used inside them.

A block is one paragraph, heading, list item, table row or preformatted line. Wrapping keeps a
link marker ``【id†text】`` on one line, so the model never sees half a marker.
"""

from __future__ import annotations

import re

__all__ = [
    "wrap_blocks",
    "layout",
    "Verbatim",
    "marker",
    "clean_text",
    "clean_title",
    "MARKER_RE",
    "MAX_TITLE",
]

#: A link marker: 【id†text】 or 【id†text†domain】.
MARKER_RE = re.compile(r"【(\d+)†([^】†]*)(?:†([^】]*))?】")
_TOKEN = re.compile(r"(?:【[^】]*】|\S)+")
# Characters the observation format gives a meaning (link markers 【id†text】, section headers
# ♦Title) would let a page forge them; invisible characters break matching.
_CLEAN = str.maketrans(
    {
        "【": "〖",
        "】": "〗",
        "♦": "◆",
        "\u00ad": None,
        "\u200b": None,
        "\ufeff": None,
    }
)
# NUL and lone surrogates also break the JSON traces pages are written to.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")
_PIECE = re.compile(r"【[^】]*】|[^【]+")
# Any character clean_text changes: one scan finds that most text needs nothing (a
# str.translate walks a dict per character, 5x slower on a page's 50,000 text nodes).
_DIRTY = re.compile("[【】♦\u00ad\u200b\ufeff\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")


def clean_text(text: str) -> str:
    """Source text made safe for the page: format markers replaced, control characters dropped.

    Apply it to everything a page or result contributes to an observation: body text, titles,
    link texts and snippets.
    """
    if _DIRTY.search(text) is None:
        return text
    return _CONTROL.sub("", text.translate(_CLEAN))


#: The longest title a page keeps: a title is shown whole on every screen.
MAX_TITLE = 200


def clean_title(title: str) -> str:
    """A page title as shown: cleaned like text, on one line, at most :data:`MAX_TITLE` long."""
    title = " ".join(clean_text(title).split())
    return title if len(title) <= MAX_TITLE else title[: MAX_TITLE - 1].rstrip() + "…"


def marker(link_id: int, text: str, other_domain: str = "") -> str:
    """The inline form of a link, WebGPT's ``【id†text】`` or ``【id†text†domain】``."""
    text = " ".join(text.replace("†", "‡").split())
    if other_domain:
        return f"【{link_id}†{text}†{other_domain}】"
    return f"【{link_id}†{text}】"


class Verbatim(str):
    """A block shown as it is (a line of preformatted text): never re-wrapped, only cut when
    longer than a line, and its leading spaces are kept."""

    __slots__ = ()


def wrap_blocks(blocks: list[str], width: int, max_lines: int) -> tuple[list[str], bool]:
    """Wrap each block to ``width`` columns; return the lines and whether ``max_lines`` cut them.

    See :func:`layout`, which also says on which line each block starts.
    """
    lines, cut, _ = layout(blocks, width, max_lines)
    return lines, cut


def layout(blocks: list[str], width: int, max_lines: int) -> tuple[list[str], bool, list[int]]:
    """Wrap each block to ``width`` columns: the lines, whether ``max_lines`` cut them, and
    the line each block starts on (so anchors inside a block can be scrolled to).

    A block's leading spaces (list nesting) are kept as the indent of its continuation lines.
    A word longer than a line is cut into line-sized pieces (a link's text too, each piece a
    marker of the same link), so no line is longer than ``width`` plus a few characters of
    marker syntax, whatever the page holds. :class:`Verbatim` blocks keep their spacing.
    """
    lines: list[str] = []
    starts: list[int] = []
    for block in blocks:
        starts.append(len(lines))
        if isinstance(block, Verbatim):
            text = block.rstrip()
            lines.extend([text] if len(text) <= width else _cut(text, width))
            if len(lines) >= max_lines:
                return lines[:max_lines], True, starts
            continue
        indent = block[: len(block) - len(block.lstrip(" "))]
        if len(indent) > width // 2:
            indent = indent[: width // 2]
        room = max(width - len(indent), 8)
        words = _TOKEN.findall(block)
        if not words:
            if lines and lines[-1] != "":
                lines.append("")
            continue
        current = ""
        for word in words:
            pieces = [word] if len(word) <= room else _cut(word, room)
            for piece in pieces:
                if current and len(current) + 1 + len(piece) > width:
                    lines.append(current)
                    current = ""
                current = current + " " + piece if current else indent + piece
            if len(lines) >= max_lines:
                return lines[:max_lines], True, starts
        lines.append(current)
        if len(lines) >= max_lines:
            return lines[:max_lines], True, starts
    while lines and lines[-1] == "":
        lines.pop()
    return lines, False, starts


def _cut(word: str, room: int) -> list[str]:
    """``word`` cut into pieces of at most ``room`` visible characters, markers kept whole."""
    pieces: list[str] = []
    current = ""
    for m in _PIECE.finditer(word):
        part = m.group()
        found = MARKER_RE.fullmatch(part)
        if found is None:  # plain characters (or an unterminated bracket): cut anywhere
            chunks = [part[i : i + room] for i in range(0, len(part), room)]
        else:
            link_id, text, domain = found.group(1), found.group(2), found.group(3)
            tail = f"†{domain}】" if domain else "】"
            size = max(room - len(link_id) - len(tail) - 2, 8)
            chunks = [f"【{link_id}†{piece}{tail}" for piece in _split_words(text, size)]
        for chunk in chunks:
            if current and len(current) + len(chunk) > room:
                pieces.append(current)
                current = ""
            current += chunk
    if current:
        pieces.append(current)
    return pieces


def _split_words(text: str, size: int) -> list[str]:
    """``text`` in pieces of at most ``size`` characters, broken at spaces where it has them."""
    out: list[str] = []
    while len(text) > size:
        cut = text.rfind(" ", 0, size + 1)
        if cut <= 0:
            cut = size
        out.append(text[:cut].strip())
        text = text[cut:].strip()
    out.append(text)
    return out
