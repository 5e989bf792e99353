"""Finding text on a page the way WebGPT did: links reduced to their text, case-insensitive,
whitespace-insensitive, typographic quotes folded, diacritics folded (Ertegun finds Ertegün),
and hyphens and dashes ignored like spaces (Jean-Paul finds Jean Paul).

:class:`PageMatcher` holds a page's plain text and a folded copy that maps back to it, so a
match found in the folded copy always yields the page's own characters — a quote is never the
model's retyping.
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_left, bisect_right
from collections import Counter
from dataclasses import dataclass

from .records import Page
from .render.layout import MARKER_RE

#: Marks the line a Find landed on in the observation; skipped in matching, so a quote copied
#: with it still matches the page.
MATCH_MARK = "▶"

__all__ = ["PageMatcher", "Span", "fold"]

_FOLD = {
    "‘": "'",
    "’": "'",
    "‚": "'",
    "‛": "'",
    "′": "'",
    "`": "'",
    "´": "'",
    "“": '"',
    "”": '"',
    "„": '"',
    "‟": '"',
    "″": '"',
    "«": '"',
    "»": '"',
    "…": ".",
    "〖": "【",
    "〗": "】",
}
# Hyphens and dashes are skipped like whitespace: a model types "Jean Paul" for "Jean-Paul"
# and "1990 1995" for "1990–1995".
_SKIPPED = frozenset("-‐‑‒–—―−" + MATCH_MARK)
_SPLIT = "━"
_ELLIPSIS = re.compile(r"\s*(?:\.\.\.|…)\s*")
_SENTENCE_END = re.compile(r"[.!?;:](?=[\"')\]]*(?:\s|$))")
# A numbered item ("1. ") is not among them: it starts a block only when the line before it was
# not full, as any line does, since "1867. It ..." on a wrapped line is the rest of a sentence.
_LIST_START = re.compile(r"\s*(?:• |#+ |> |```)")
#: How far a quote that stops where a line wraps is carried on to the end of its sentence.
EXTEND_CHARS = 300


class _FoldMap(dict[int, str | None]):
    """``str.translate`` table computed per character on first sight: each page character folds
    to one character (or to nothing, for whitespace, dashes and combining marks), so a
    position in the folded copy maps straight back to the page."""

    def __missing__(self, code: int) -> str | None:
        c = chr(code)
        value: str | None
        if c.isspace() or c in _SKIPPED or unicodedata.combining(c):
            value = None
        elif c in _FOLD:
            value = _FOLD[c]
        else:
            parts = unicodedata.normalize("NFD", c)
            # Only an accent comes off: Hangul and other decompositions into letters stay whole.
            base = parts[0] if all(unicodedata.combining(p) for p in parts[1:]) else c
            value = base.lower()[:1] or c  # lower() can lengthen (İ → i̇): keep one character
        self[code] = value
        return value


_FOLD_MAP = _FoldMap()


def fold(text: str) -> str:
    """The matching form of ``text``: lower case, no whitespace, hyphens or accents, quotes
    folded.

    An ellipsis folds to one dot, so "..." typed by a model matches the page's "…".
    """
    return _fold_line(text.replace("...", "…"))


@dataclass(frozen=True)
class Span:
    """A matched stretch of a page: its own text and the lines it covers (0-based).

    ``occurrences`` is how many places on the page match what was asked (more than one: the
    quote is ambiguous, and the one nearest the asked line was taken). ``extended`` says the
    match stopped where a line wraps mid-sentence and was carried on to the end of that
    sentence (or list item, or table cell), so it does not read as a different statement.
    """

    text: str
    line_start: int
    line_end: int
    occurrences: int = 1
    extended: bool = False


class PageMatcher:
    """The searchable text of one page: :meth:`find` a line, :meth:`quote` a span, and
    :meth:`closest` for the text nearest a miss.

    The folded copy is built line by line with one C-level ``translate`` each; positions are
    mapped back to the page's own characters only for a match, so a long page costs little
    until something is found on it.
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
        # The layout's width, to tell a wrapped line from one a block ended (see _continues).
        self._raw = page.lines
        self._width = max(map(len, self._raw), default=0)

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

    def quote(
        self, text: str, *, near_line: int | None = None, max_chars: int | None = None
    ) -> Span | None:
        """The page's own text for ``text``, or for ``start━end`` (or ``start ... end``) the
        span between the two; None when it is not on the page.

        Of several occurrences the one nearest ``near_line`` (the line in view) is taken, the
        first without it; the span says how many there were. A span runs from a start match
        to the nearest end match after it, and from the last start before that end, so it
        is the shortest stretch that reads as asked. With ``max_chars``, spans longer than
        that (in matched characters) are passed over; when every span is longer, the
        shortest is returned and the caller sees its length. A match that stops where a
        line wraps mid-sentence is carried to the end of the sentence (``extended``).
        """
        needle = fold(text)
        if not needle:
            return None
        positions = self._positions(needle)
        if positions:
            pos = self._nearest(positions, near_line)
            return self._make(pos, pos + len(needle), len(positions))
        if _SPLIT not in text and not _ELLIPSIS.search(text):
            return None
        parts = text.split(_SPLIT, 1) if _SPLIT in text else _ELLIPSIS.split(text, maxsplit=1)
        head, tail = fold(parts[0]), fold(parts[1])
        if not head or not tail:
            return None
        found = self._pair(head, tail, near_line, max_chars)
        return None if found is None else self._make(*found)

    def closest(self, text: str) -> str | None:
        """The page's text nearest to ``text`` when it is not on the page (a typo, a word
        changed), or None when nothing comes close. Bounded work on any page: a sample of
        the text's 4-letter pieces votes for places, and the best few are aligned."""
        needle = fold(text.split(_SPLIT, 1)[0])[:400]
        if len(needle) < 4 or not self.folded:
            return None
        q = 4 if len(needle) >= 12 else 3
        grams = {needle[i : i + q]: i for i in range(len(needle) - q + 1)}
        step = max(len(grams) // 48, 1)
        bucket = max(len(needle) // 4, 1)
        votes: Counter[int] = Counter()
        for gram, i in list(grams.items())[::step]:
            pos, seen = self.folded.find(gram), 0
            while pos >= 0 and seen < 500:
                votes[max(pos - i, 0) // bucket] += 1
                pos, seen = self.folded.find(gram, pos + 1), seen + 1
        from difflib import SequenceMatcher  # only for a quote that matched nowhere

        best: tuple[float, int, int] | None = None
        for cell, _ in votes.most_common(4):
            lo = max(cell * bucket - len(needle) // 2, 0)
            region = self.folded[lo : lo + 2 * len(needle) + bucket]
            # Stray one- or two-letter agreements at the edges would stretch the window.
            blocks = [
                b
                for b in SequenceMatcher(None, needle, region, autojunk=False).get_matching_blocks()
                if b.size >= min(3, q)
            ]
            if not blocks:
                continue
            a, b = blocks[0].b, blocks[-1].b + blocks[-1].size
            score = 2 * sum(bl.size for bl in blocks) / (len(needle) + b - a)
            if best is None or score > best[0]:
                best = (score, lo + a, lo + b)
        if best is None or best[0] < 0.6:
            return None
        return self._make(best[1], best[2], whole_words=True).text

    # -- matching ---------------------------------------------------------------------------

    def _pair(
        self, head: str, tail: str, near_line: int | None, max_chars: int | None
    ) -> tuple[int, int, int] | None:
        # One pass for each end, then one merge: linear in the page and in the matches,
        # where trying each start against the rest of the page was quadratic.
        heads = self._positions(head)
        if not heads:
            return None
        tails = self._positions(tail)
        fits: list[tuple[int, int]] = []
        shortest: tuple[int, int] | None = None
        last_head = -1
        # Ends before the first start can pair with nothing: skip them in one step.
        for t in tails[bisect_left(tails, heads[0] + len(head)) :]:
            i = bisect_right(heads, t - len(head)) - 1  # the last start that ends before t
            if i < 0 or i == last_head:
                continue  # that start already has its nearest end
            last_head = i
            start, end = heads[i], t + len(tail)
            if max_chars is None or end - start <= max_chars:
                fits.append((start, end))
                if near_line is None:
                    break
            elif shortest is None or end - start < shortest[1] - shortest[0]:
                shortest = (start, end)
        if not fits:
            return None if shortest is None else (*shortest, 1)
        if near_line is None:
            return (*fits[0], 1)
        start, end = min(fits, key=lambda se: self._distance(se[0], se[1], near_line))
        return start, end, len(fits)

    def _positions(self, needle: str) -> list[int]:
        # A zero-width lookahead finds overlapping occurrences in one C-level scan.
        return [m.start() for m in re.finditer(f"(?={re.escape(needle)})", self.folded)]

    def _nearest(self, positions: list[int], near_line: int | None) -> int:
        if near_line is None or len(positions) == 1:
            return positions[0]
        return min(positions, key=lambda p: abs(self._line_of(p) - near_line))

    def _distance(self, start: int, end: int, line: int) -> int:
        first, last = self._line_of(start), self._line_of(end - 1)
        return 0 if first <= line <= last else min(abs(first - line), abs(last - line))

    def _make(
        self, start: int, end: int, occurrences: int = 1, *, whole_words: bool = False
    ) -> Span:
        first, last = self._line_of(start), self._line_of(end - 1)
        a = _plain_index(self.lines[first], start - self._starts[first])
        b = _plain_index(self.lines[last], end - 1 - self._starts[last]) + 1
        if whole_words:  # a near match may start or stop inside a word: take the whole word
            while a > 0 and self.lines[first][a - 1].isalnum():
                a -= 1
            while b < len(self.lines[last]) and self.lines[last][b].isalnum():
                b += 1
        last, b, extended = self._extend(last, b)
        if first == last:
            raw = self.lines[first][a:b]
        else:
            raw = "\n".join(
                [self.lines[first][a:], *self.lines[first + 1 : last], self.lines[last][:b]]
            )
        return Span(" ".join(raw.split()), first, last, occurrences, extended)

    def _extend(self, last: int, b: int) -> tuple[int, int, bool]:
        """Where a match ending at ``lines[last][:b]`` should end: unchanged, or, when it
        stops at a wrapped line's end mid-sentence, at the end of that sentence or block."""
        line = self.lines[last]
        if line[b:].strip() or not self._continues(last) or _SENTENCE_END.search(line[b - 1 :]):
            return last, b, False
        budget = EXTEND_CHARS
        row = last
        while self._continues(row) and budget > 0:
            row += 1
            nxt = self.lines[row]
            end = _SENTENCE_END.search(nxt)
            if end is not None:
                return row, end.end(), True
            budget -= len(nxt)
        if budget > 0:  # the block ended before the budget did: its end is the boundary
            return row, len(self.lines[row]), row != last
        return last, b, False

    def _continues(self, row: int) -> bool:
        """Whether line ``row + 1`` carries on the block of line ``row`` (it was wrapped)."""
        if row + 1 >= len(self.lines):
            return False
        nxt = self._raw[row + 1]
        if not nxt.strip() or _LIST_START.match(nxt):
            return False
        # The layout moves a word to the next line only when it would not fit on this one;
        # the widest line is at most the layout's width, so no wrapped line is missed.
        first_word = len(nxt.split(maxsplit=1)[0])
        return len(self._raw[row]) + 1 + first_word > self._width

    def _line_of(self, pos: int) -> int:
        return bisect_right(self._starts, pos) - 1


def _fold_line(line: str) -> str:
    return line.translate(_FOLD_MAP)


def _plain_index(line: str, k: int) -> int:
    """The index in ``line`` of its k-th character that folding keeps."""
    seen = -1
    for i, c in enumerate(line):
        if _FOLD_MAP[ord(c)] is not None:
            seen += 1
            if seen == k:
                return i
    return len(line) - 1
