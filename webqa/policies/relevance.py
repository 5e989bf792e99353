"""How well a sentence answers a question, without a model: the extractive policy's judgement.

A page is cut into units (sentences of prose; whole table rows, list items). A unit's score is
the share of the question's term weight it covers, where a term weighs by its rarity among the
units seen (idf); a term in the page title counts (mostly) as covered by every unit of that
page — the question names the page's topic, and the sentence holding the answer need not
repeat it. Units holding the kind of
thing asked for (a date, a number, a name) get a bonus; units that add nothing beyond the
question's own words get a penalty.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable

from ..render.layout import MARKER_RE
from ..terms import STOPWORDS, stem

__all__ = ["terms", "keywords", "units", "answer_kind", "Scorer"]

# Question words on top of the shared stop words: they say what is asked, not what to find.
_STOP = STOPWORDS | frozenset(
    "name named called many much kind type tell give find list known s".split())
_WORD = re.compile(r"[\w][\w'’.-]*[\w]|[\w]", re.U)
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"”’)]?\s+(?=[A-Z0-9\"“‘(])")
_IMAGE = re.compile(r"\s*\[Image: [^\]]*\]\s*")
_YEAR = re.compile(r"\b1[0-9]{3}\b|\b20[0-9]{2}\b")
_MONTH = re.compile(r"\b(?:January|February|March|April|May|June|July|August|September|"
                    r"October|November|December)\b")
_NUMBER = re.compile(r"\b\d[\d,.]*\b|\b(?:one|two|three|four|five|six|seven|eight|nine|ten|"
                     r"eleven|twelve|twenty|thirty|forty|fifty|hundred|thousand|million)\b", re.I)
_MONEY = re.compile(r"[$£€]\s?\d|\b\d[\d,.]*\s*(dollars|cents|pounds)\b", re.I)
_UNIT = r"\d[\d,.]*\s*(?:[-–]\s*)?"
_MEASURES = [
    (re.compile(r"\bhow (long|old)\b|\bwhat age\b", re.I),
     re.compile(_UNIT + r"(?:seconds?|minutes?|hours?|days?|weeks?|months?|years?|sols?|km|"
                r"kilomet|metres?|meters?|miles?|feet|foot|inch)", re.I)),
    (re.compile(r"\bhow (far|tall|high|deep|big|large|wide)\b", re.I),
     re.compile(_UNIT + r"(?:km|kilomet|metres?|meters?|m\b|miles?|feet|foot|ft\b|inch|au\b|"
                r"light|percent|%)", re.I)),
    (re.compile(r"\bhow much\b", re.I),
     re.compile(r"[$£€]\s?\d|" + _UNIT + r"(?:dollars|cents|pounds|percent|%|kg|tonnes?|tons?)",
                re.I)),
]
_CAPITALISED = re.compile(r"\b[A-Z][\w&'’.-]+")
_PERSON_NOUNS = (
    "singer|vocalist|actress|actor|photographer|producer|musician|guitarist|pianist|songwriter|"
    "writer|author|artist|person|man|woman|group|band|player|drummer|saxophonist|trumpeter|"
    "director|composer|arranger|engineer|lyricist|performer|duo|trio|quartet|choir|scientist|"
    "astronomer|inventor|king|queen|president|leader|founder"
)
_ASKS = [
    ("date", re.compile(r"\b(when|what year|which year|what date|which date|what day)\b")),
    ("number", re.compile(r"\bhow (many|much|old|long|far|tall|big|large|high|hot|cold|fast)\b|"
                          r"\bwhat (number|percentage|position|rank|age|temperature)\b")),
    ("person", re.compile(r"\b(who|whom|whose)\b|\b(which|what) (\w+ ){0,2}(" + _PERSON_NOUNS
                          + r")s?\b")),
    ("entity", re.compile(r"\b(which|what|where)\b")),
]


def terms(text: str) -> list[str]:
    """Content words of ``text``: lower case, stop words dropped, lightly stemmed."""
    out = []
    for word in _WORD.findall(text.lower().replace("’", "'")):
        word = word.strip(".'-").removesuffix("'s")
        if word and word not in _STOP:
            out.append(stem(word))
    return out


def keywords(question: str, limit: int = 8) -> str:
    """A keyword query for a question: its content words, in order, without repeats."""
    seen: list[str] = []
    for word in _WORD.findall(question):
        w = word.strip(".'’-").removesuffix("'s").removesuffix("’s")
        if w and w.lower() not in _STOP and w.lower() not in (s.lower() for s in seen):
            seen.append(w)
    return " ".join(seen[:limit]) or question


def units(lines: list[str]) -> list[str]:
    """Sentences of prose and whole table rows / list items, in page order."""
    out: list[str] = []
    para: list[str] = []

    def flush() -> None:
        if para:
            out.extend(s.strip() for s in _SENTENCE_END.split(" ".join(para)) if s.strip())
            para.clear()

    for raw in lines:
        line = MARKER_RE.sub(lambda m: m.group(2), raw).strip()
        if not line or line.startswith(("#", "•", ">")) or " | " in line or re.match(r"^\d+\. ", line):
            flush()
            if line and not line.startswith("#"):
                out.append(line.lstrip("•> ").strip())
            continue
        # An image caption is not part of the sentence around it.
        pieces = _IMAGE.split(line)
        for i, piece in enumerate(pieces):
            if i:
                flush()
            if piece:
                para.append(piece)
        # A line that ends a sentence, or a short one (wrapping fills lines, so a short line
        # ended its block: an infobox label, a caption), closes the unit.
        if line.endswith((".", "!", "?", '."', ".”")) or len(raw) < SHORT_LINE:
            flush()
    flush()
    return [u for u in out if len(u) >= 15 and len(u.split()) >= 4]


# What a page calls the quantity a "how ..." question asks about ("how far" → distance).
_MEASURE_WORDS = {
    "far": "distance", "tall": "height", "high": "height", "deep": "depth", "old": "age",
    "long": "length", "big": "size", "large": "size", "wide": "width", "heavy": "mass",
    "hot": "temperature", "cold": "temperature", "fast": "speed", "many": "number",
}
_HOW = re.compile(r"\bhow (" + "|".join(_MEASURE_WORDS) + r")\b", re.I)


def _measure_terms(question: str) -> set[str]:
    return {stem(_MEASURE_WORDS[m.group(1).lower()]) for m in _HOW.finditer(question)}


def answer_kind(question: str) -> str:
    """What the question asks for: date, number, person, entity or other."""
    q = question.lower()
    return next((kind for kind, pattern in _ASKS if pattern.search(q)), "other")


def _novel_names(unit: str, question: str) -> int:
    q = question.lower()
    return sum(1 for m in _CAPITALISED.finditer(unit)
               if m.start() > 0 and m.group().lower().strip(".") not in q)


def _kind_bonus(kind: str, unit: str, question: str) -> float:
    if kind == "date":
        return 0.2 if (_YEAR.search(unit) or _MONTH.search(unit)) else 0.0
    if kind == "number":
        if not (_NUMBER.search(unit) or _MONEY.search(unit)):
            return 0.0
        # "How long/far/old/much..." asks for a quantity in units: a number with one fits best.
        measure = next((m for asked, m in _MEASURES if asked.search(question)), None)
        return 0.2 if measure is None or measure.search(unit) else 0.1
    if kind in ("person", "entity"):
        return 0.2 if _novel_names(unit, question) else 0.0
    return 0.0


#: Weight of the terms of a question's last sentence, when it has several.
FOCUS = 3.0

#: Lines shorter than this were not wrapped: their block ended there.
SHORT_LINE = 60

#: How much of a question term's weight a unit earns when only its page title holds the term.
TITLE_CREDIT = 0.75


class Scorer:
    """Scores units for one question; document frequencies grow with every page it reads."""

    def __init__(self, question: str) -> None:
        self.question = question
        self.q_terms = set(terms(question)) | _measure_terms(question)
        # In a question of several sentences the last one asks; the others set the scene
        # ("... an album opens with a song written in 1951. Who first recorded that song?").
        sentences = [x for x in _SENTENCE_END.split(question.strip()) if x.strip()]
        self.focus = set(terms(sentences[-1])) if len(sentences) > 1 else set()
        self.kind = answer_kind(question)
        self.df: Counter[str] = Counter()
        self.n = 0

    def read(self, page_units: Iterable[str]) -> list[set[str]]:
        """Count a page's units into the frequencies; return their term sets."""
        tokenised = [set(terms(u)) for u in page_units]
        self.df.update(t for toks in tokenised for t in toks)
        self.n += len(tokenised)
        return tokenised

    def score(self, unit: str, toks: set[str], title: str,
              df: Counter[str] | None = None, n: int | None = None) -> float:
        """The unit's score (see the module docstring); ``df``/``n`` default to all pages read."""
        df, n = (df, n) if df is not None and n is not None else (self.df, self.n)
        title_terms = set(terms(title))
        weight = {t: math.log((n + 1) / (df.get(t, 0) + 0.5)) * (FOCUS if t in self.focus else 1.0)
                  for t in self.q_terms}
        matched = sum(w for t, w in weight.items() if t in toks)
        if not matched:
            return 0.0
        # A sentence on a page is about the page's topic even when it does not name it.
        matched += TITLE_CREDIT * sum(w for t, w in weight.items() if t in title_terms - toks)
        score = matched / (sum(weight.values()) or 1.0) + _kind_bonus(self.kind, unit, self.question)
        if len(toks - self.q_terms - title_terms) < 2:
            score -= 0.2  # restates the question or the title: no answer in it
        if len(unit) > 300:
            score -= 0.1
        return score

    def rank_page(self, title: str, lines: list[str]) -> list[tuple[float, str]]:
        """A page's units scored with the page's own frequencies, best first."""
        page_units = units(lines)
        tokenised = [set(terms(u)) for u in page_units]
        local = Counter(t for toks in tokenised for t in toks)
        self.df.update(local)
        self.n += len(page_units)
        scored = [(self.score(u, toks, title, local, len(page_units)), u)
                  for u, toks in zip(page_units, tokenised)]
        return sorted((s for s in scored if s[0] > 0), key=lambda s: -s[0])
