"""Scoring an answer against gold answers: the measures ``webqa eval`` reports.

- :func:`is_correct` (containment): a gold answer occurs in the answer, as whole words, ignoring
  case, accents and punctuation.
- :func:`first_sentence_correct`: the same test on the answer's first sentence only (does the
  answer *lead* with the answer?).
- :func:`token_f1`: SQuAD-style token overlap F1 between the answer and the best gold answer.
- :func:`citations_verbatim`: every quote cited is on its page (:func:`webqa.verify_citations`).

:func:`score` bundles them into one :class:`Score`. All of them take the answer text as the
model wrote it; ``[n]`` citation markers are ignored.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from .protocols import DocumentSource
from .records import Answer

__all__ = [
    "Score",
    "score",
    "is_correct",
    "first_sentence",
    "first_sentence_correct",
    "token_f1",
    "citations_verbatim",
    "normalize",
    "strip_markers",
    "sentences",
]

_MARKER = re.compile(r"\s*\[\d+(?:\s*[,;-]\s*\d+)*\]")
_ARTICLES = {"a", "an", "the"}
# Short tokens that end in a period without ending a sentence ("Dr. Who", "e.g. this").
_ABBREVIATIONS = {
    "mr",
    "mrs",
    "ms",
    "dr",
    "st",
    "jr",
    "sr",
    "prof",
    "vs",
    "etc",
    "no",
    "vol",
    "e.g",
    "i.e",
    "cf",
    "approx",
    "fig",
    "inc",
    "ltd",
    "co",
    "mt",
    "gen",
    "col",
    "lt",
    "sgt",
    "rev",
    "u.s",
    "u.k",
}
_BOUNDARY = re.compile(r"([.!?…]+)([\"'”’)\]]*)\s+(?=[\"'“‘(\[]?[A-Z0-9À-Þ])")


def normalize(text: str) -> str:
    """Lower case, accents and punctuation removed, whitespace collapsed."""
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c)).lower()
    return " ".join(re.sub(r"[^\w\s]", " ", text).split())


def strip_markers(text: str) -> str:
    """The answer text without its ``[n]`` citation markers."""
    return " ".join(_MARKER.sub("", text).split())


def sentences(text: str) -> list[str]:
    """The sentences of ``text`` (markers removed), split at ., ! or ? before a capital or a
    digit, except after common abbreviations and single initials ("J. S. Bach")."""
    text = strip_markers(text)
    out: list[str] = []
    start = 0
    for m in _BOUNDARY.finditer(text):
        before = text[start : m.start()].rsplit(" ", 1)[-1].lower()
        if m.group(1) == "." and (
            before.rstrip(".") in _ABBREVIATIONS or (len(before) == 1 and before.isalpha())
        ):
            continue
        out.append(text[start : m.end()].strip())
        start = m.end()
    tail = text[start:].strip()
    if tail:
        out.append(tail)
    return out


def first_sentence(text: str) -> str:
    """The answer's first sentence (markers removed); empty for an empty answer."""
    found = sentences(text)
    return found[0] if found else ""


def is_correct(answer_text: str, golds: Iterable[str]) -> bool:
    """Whether a gold answer appears in the answer, as whole words, ignoring case, accents and
    punctuation."""
    hay = f" {normalize(strip_markers(answer_text))} "
    return any(f" {normalize(g)} " in hay for g in golds if normalize(g))


def first_sentence_correct(answer_text: str, golds: Iterable[str]) -> bool:
    """Whether a gold answer appears in the answer's first sentence."""
    return is_correct(first_sentence(answer_text), golds)


def _tokens(text: str) -> list[str]:
    return [t for t in normalize(strip_markers(text)).split() if t not in _ARTICLES]


def token_f1(answer_text: str, golds: Iterable[str]) -> float:
    """The best token F1 between the answer and any gold answer (SQuAD's measure: lower case,
    punctuation and articles removed, tokens counted with multiplicity); 0.0 without golds."""
    predicted = _tokens(answer_text)
    best = 0.0
    for gold in golds:
        wanted = _tokens(gold)
        if not predicted or not wanted:
            continue
        common = sum((Counter(predicted) & Counter(wanted)).values())
        if common:
            precision, recall = common / len(predicted), common / len(wanted)
            best = max(best, 2 * precision * recall / (precision + recall))
    return best


def citations_verbatim(
    answer: Answer | str | Path, source: DocumentSource | None = None
) -> tuple[int, int]:
    """``(verbatim, cited)``: how many of the answer's citations are verbatim on their pages.

    ``answer`` is an :class:`Answer` with the ``source`` it was browsed over, or a trace path
    (checked against its own page snapshots).
    """
    from .verify import verify_citations

    checks = verify_citations(answer, source)
    return sum(c.verbatim for c in checks), len(checks)


@dataclass(frozen=True)
class Score:
    """The measures of one answer; the gold-based ones are None when there are no golds."""

    correct: bool | None
    first_sentence_correct: bool | None
    token_f1: float | None
    words: int

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready form."""
        return asdict(self)


def score(answer_text: str, golds: Iterable[str]) -> Score:
    """Containment, first-sentence containment and token F1 of ``answer_text`` (None each when
    ``golds`` is empty: accuracy is not applicable), and its length in words."""
    golds = [g for g in golds if normalize(g)]
    words = len(strip_markers(answer_text).split())
    if not golds:
        return Score(None, None, None, words)
    return Score(
        is_correct(answer_text, golds),
        first_sentence_correct(answer_text, golds),
        round(token_f1(answer_text, golds), 4),
        words,
    )
