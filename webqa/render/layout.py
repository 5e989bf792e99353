"""Blocks of inline text → wrapped lines, and the link markup used inside them.

A block is one paragraph, heading, list item, table row or preformatted line. Wrapping keeps a
link marker ``【id†text】`` on one line, so the model never sees half a marker.
"""

from __future__ import annotations

import re

__all__ = ["wrap_blocks", "marker", "clean_text", "MARKER_RE"]

#: A link marker: 【id†text】 or 【id†text†domain】.
MARKER_RE = re.compile(r"【(\d+)†([^】†]*)(?:†([^】]*))?】")
_TOKEN = re.compile(r"(?:【[^】]*】|\S)+")
# Characters that would make markers ambiguous, and invisible characters that break matching.
_CLEAN = str.maketrans({"【": "〖", "】": "〗", "\u00ad": None, "\u200b": None, "\ufeff": None})
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")


def clean_text(text: str) -> str:
    """Source text made safe for the page: marker brackets replaced, control characters dropped."""
    return _CONTROL.sub("", text.translate(_CLEAN))


def marker(link_id: int, text: str, other_domain: str = "") -> str:
    """The inline form of a link, WebGPT's ``【id†text】`` or ``【id†text†domain】``."""
    text = " ".join(text.replace("†", "‡").split())
    if other_domain:
        return f"【{link_id}†{text}†{other_domain}】"
    return f"【{link_id}†{text}】"


def wrap_blocks(blocks: list[str], width: int, max_lines: int) -> tuple[list[str], bool]:
    """Wrap each block to ``width`` columns; return the lines and whether ``max_lines`` cut them.

    A block's leading spaces (list nesting) are kept as the indent of its continuation lines.
    """
    lines: list[str] = []
    for block in blocks:
        indent = block[: len(block) - len(block.lstrip(" "))]
        words = _TOKEN.findall(block)
        if not words:
            if lines and lines[-1] != "":
                lines.append("")
            continue
        current = indent + words[0]
        for word in words[1:]:
            if len(current) + 1 + len(word) > width:
                lines.append(current)
                current = indent + word
            else:
                current += " " + word
        lines.append(current)
        if len(lines) >= max_lines:
            return lines[:max_lines], True
    while lines and lines[-1] == "":
        lines.pop()
    return lines, False
