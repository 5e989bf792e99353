"""Finding text on a page the way WebGPT did: links reduced to their text, case-insensitive,
whitespace-insensitive, typographic quotes and dashes folded.

:class:`PageMatcher` holds a page's plain text and a folded copy that maps back to it, so a
match found in the folded copy always yields the page's own characters — a quote is never the
model's retyping.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from dataclasses import dataclass

from .records import Page
from .render.layout import MARKER_RE

__all__ = ["PageMatcher", "PageText", "Span", "fold"]

_FOLD = {
    "‘": "'", "’": "'", "‚": "'", "‛": "'", "′": "'", "`": "'", "´": "'",
    "“": '"', "”": '"', "„": '"', "‟": '"', "″": '"', "«": '"', "»": '"',
    "‐": "-", "‑": "-", "‒": "-", "–": "-", "—": "-", "―": "-", "−": "-",
    "…": ".", "〖": "【", "〗": "】",
}
# Every fold maps one character to one, so folded positions map straight back to the page.
_FOLD_TABLE = str.maketrans(_FOLD)
_WHITESPACE = re.compile(r"\s+")
_SPLIT = "━"
_ELLIPSIS = re.compile(r"\s*(?:\.\.\.|…)\s*")


def fold(text: str) -> str:
    """The matching form of ``text``: lower case, no whitespace, quotes and dashes folded.

    An ellipsis folds to one dot, so "..." typed by a model matches the page's "…".
    """
    return _fold_line(text.replace("...", "…"))


@dataclass(frozen=True)
class Span:
    """A matched stretch of a page: its own text and the lines it covers (0-based)."""

    text: str
    line_start: int
    line_end: int


class PageMatcher:
    """The searchable text of one page: :meth:`find` a line, :meth:`quote` a span.

    The folded copy is built line by line with C-level string operations (translate, lower,
    whitespace removal); positions are mapped back to the page's own characters only for a
    match, so a long page costs little until something is found on it.
    """

    def __init__(self, page: Page) -> None:
        self.lines = [MARKER_RE.sub(lambda m: m.group(2), line) for line in page.lines]
        self.plain = "\n".join(self.lines)
        folded = [_fold_line(line) for line in self.lines]
        self._starts: list[int] = []  # folded offset where each line begins
        offset = 0
        for part in folded:
            self._starts.append(offset)
            offset += len(part)
        self.folded = "".join(folded)

    def find(self, text: str, *, from_line: int = 0) -> int | None:
        """The line of the first occurrence of ``text`` at or after ``from_line``, wrapping."""
        needle = fold(text)
        if not needle:
            return None
        start = self._starts[from_line] if from_line < len(self._starts) else len(self.folded)
        pos = self.folded.find(needle, start)
        if pos < 0:
            pos = self.folded.find(needle)
        return None if pos < 0 else self._line_of(pos)

    def quote(self, text: str, *, max_chars: int | None = None) -> Span | None:
        """The page's own text for ``text``, or for ``start━end`` the span between the two.

        A span runs from a start match to the nearest end match after it, and from the last
        start before that end, so it is the shortest stretch that reads as asked. With
        ``max_chars``, spans longer than that (in matched characters) are passed over; when
        every span is longer, the shortest is returned and the caller sees its length.
        """
        whole = self._span(fold(text))
        if whole or (_SPLIT not in text and not _ELLIPSIS.search(text)):
            return whole
        parts = text.split(_SPLIT, 1) if _SPLIT in text else _ELLIPSIS.split(text, maxsplit=1)
        head, tail = fold(parts[0]), fold(parts[1])
        if not head or not tail:
            return None
        pair = self._pair(head, tail, max_chars)
        return None if pair is None else self._make(*pair)

    def _pair(self, head: str, tail: str, max_chars: int | None) -> tuple[int, int] | None:
        # One pass for each end, then one merge: linear in the page and in the matches,
        # where trying each start against the rest of the page was quadratic.
        heads = self._positions(head)
        if not heads:
            return None
        tails = self._positions(tail)
        best: tuple[int, int] | None = None
        # Ends before the first start can pair with nothing: skip them in one step.
        for t in tails[bisect_left(tails, heads[0] + len(head)):]:
            i = bisect_right(heads, t - len(head)) - 1  # the last start that ends before t
            if i < 0:
                continue
            start, end = heads[i], t + len(tail)
            if max_chars is None or end - start <= max_chars:
                return start, end
            if best is None or end - start < best[1] - best[0]:
                best = (start, end)
        return best

    def _positions(self, needle: str) -> list[int]:
        # A zero-width lookahead finds overlapping occurrences in one C-level scan.
        return [m.start() for m in re.finditer(f"(?={re.escape(needle)})", self.folded)]

    def _span(self, needle: str) -> Span | None:
        if not needle:
            return None
        pos = self.folded.find(needle)
        return None if pos < 0 else self._make(pos, pos + len(needle))

    def _make(self, start: int, end: int) -> Span:
        first, last = self._line_of(start), self._line_of(end - 1)
        a = _plain_index(self.lines[first], start - self._starts[first])
        b = _plain_index(self.lines[last], end - 1 - self._starts[last]) + 1
        if first == last:
            raw = self.lines[first][a:b]
        else:
            raw = "\n".join([self.lines[first][a:], *self.lines[first + 1 : last],
                             self.lines[last][:b]])
        return Span(" ".join(raw.split()), first, last)

    def _line_of(self, pos: int) -> int:
        return bisect_right(self._starts, pos) - 1


#: The former name of :class:`PageMatcher`, kept while callers move to the new one.
PageText = PageMatcher


def _fold_line(line: str) -> str:
    folded = _WHITESPACE.sub("", line).translate(_FOLD_TABLE)
    lowered = folded.lower()
    # lower() can lengthen a few characters (İ → i̇); keep one folded char per page char then.
    return lowered if len(lowered) == len(folded) else "".join(c.lower()[0] for c in folded)


def _plain_index(line: str, k: int) -> int:
    """The index in ``line`` of its k-th non-whitespace character."""
    seen = -1
    for i, c in enumerate(line):
        if not c.isspace():
            seen += 1
            if seen == k:
                return i
    return len(line) - 1
