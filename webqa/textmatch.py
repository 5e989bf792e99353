"""Finding text on a page the way WebGPT did: links reduced to their text, case-insensitive,
whitespace-insensitive, typographic quotes and dashes folded.

:class:`PageText` holds a page's plain text and a folded copy that maps back to it, so a match
found in the folded copy always yields the page's own characters — a quote is never the
model's retyping.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .records import Page
from .render.layout import MARKER_RE

__all__ = ["PageText", "Span", "fold"]

_FOLD = {
    "‘": "'", "’": "'", "‚": "'", "‛": "'", "′": "'", "`": "'", "´": "'",
    "“": '"', "”": '"', "„": '"', "‟": '"', "″": '"', "«": '"', "»": '"',
    "‐": "-", "‑": "-", "‒": "-", "–": "-", "—": "-", "―": "-", "−": "-",
    "…": "...", "〖": "【", "〗": "】",
}
_SPLIT = "━"
_ELLIPSIS = re.compile(r"\s*(?:\.\.\.|…)\s*")


def fold(text: str) -> str:
    """The matching form of ``text``: lower case, no whitespace, quotes and dashes folded."""
    return "".join(_fold_char(c) for c in text if not c.isspace())


def _fold_char(c: str) -> str:
    return _FOLD.get(c, c).lower()


@dataclass(frozen=True)
class Span:
    """A matched stretch of a page: its own text and the lines it covers (0-based)."""

    text: str
    line_start: int
    line_end: int


class PageText:
    """The searchable text of one page."""

    def __init__(self, page: Page) -> None:
        plain_lines = [MARKER_RE.sub(lambda m: m.group(2), line) for line in page.lines]
        self.plain = "\n".join(plain_lines)
        self._line_of: list[int] = []
        folded: list[str] = []
        self._index: list[int] = []  # folded position -> plain position
        line = 0
        for i, c in enumerate(self.plain):
            if c == "\n":
                line += 1
            if c.isspace():
                continue
            for f in _fold_char(c):
                folded.append(f)
                self._index.append(i)
                self._line_of.append(line)
        self.folded = "".join(folded)

    def find(self, text: str, *, from_line: int = 0) -> int | None:
        """The line of the first occurrence of ``text`` at or after ``from_line``, wrapping."""
        needle = fold(text)
        if not needle:
            return None
        start = self._first_pos_at_line(from_line)
        pos = self.folded.find(needle, start)
        if pos < 0:
            pos = self.folded.find(needle)
        return None if pos < 0 else self._line_of[pos]

    def quote(self, text: str) -> Span | None:
        """The page's own text for ``text``, or for ``start━end`` the span between the two."""
        whole = self._span(fold(text))
        if whole or (_SPLIT not in text and not _ELLIPSIS.search(text)):
            return whole
        parts = text.split(_SPLIT, 1) if _SPLIT in text else _ELLIPSIS.split(text, maxsplit=1)
        head, tail = fold(parts[0]), fold(parts[1])
        if not head or not tail:
            return None
        start = self.folded.find(head)
        while start >= 0:
            end = self.folded.find(tail, start + len(head))
            if end >= 0:
                return self._make(start, end + len(tail))
            start = self.folded.find(head, start + 1)
        return None

    def _span(self, needle: str) -> Span | None:
        if not needle:
            return None
        pos = self.folded.find(needle)
        return None if pos < 0 else self._make(pos, pos + len(needle))

    def _make(self, start: int, end: int) -> Span:
        a, b = self._index[start], self._index[end - 1] + 1
        text = " ".join(self.plain[a:b].split())
        return Span(text, self._line_of[start], self._line_of[end - 1])

    def _first_pos_at_line(self, line: int) -> int:
        # Binary search: _line_of is non-decreasing.
        lo, hi = 0, len(self._line_of)
        while lo < hi:
            mid = (lo + hi) // 2
            if self._line_of[mid] < line:
                lo = mid + 1
            else:
                hi = mid
        return lo
