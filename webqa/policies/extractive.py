"""The extractive policy: browse and answer with no LLM.

It searches with the question's keywords, opens the best results in turn, quotes the sentences
(or table rows) of each page that best match the question, and answers by putting the best
quotes together with ``[n]`` citations. Every word of its answer is the pages' own text, so it
is a baseline that cannot hallucinate, and it makes webqa useful on any machine.
"""

from __future__ import annotations

import math
import re
from collections import Counter

from ..records import Quote
from ..render.layout import MARKER_RE
from ..textmatch import fold
from . import Reply

__all__ = ["ExtractivePolicy", "keywords"]

_STOP = frozenset(
    """a about above after again against all also am an and any are as at be because been before
    being below between both but by can could did do does doing down during each few for from
    further had has have having he her here hers herself him himself his how i if in into is it
    its itself just me more most my myself no nor not now of off on once only or other our ours
    out over own same she should so some such than that the their theirs them then there these
    they this those through to too under until up very was we were what when where which while
    who whom whose why will with would you your yours name named called did does many much year
    kind type tell give find list according known one s""".split()
)
_WORD = re.compile(r"[\w][\w'’.-]*[\w]|[\w]", re.U)
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"”’)]?\s+(?=[A-Z0-9\"“‘(])")
_YEAR = re.compile(r"\b1[0-9]{3}\b|\b20[0-9]{2}\b")
_NUMBER = re.compile(r"\b\d[\d,.]*\b|\b(?:one|two|three|four|five|six|seven|eight|nine|ten|"
                     r"eleven|twelve|twenty|hundred|thousand|million)\b", re.I)
_NAME = re.compile(r"\b[A-Z][a-z]+(?:\s+[A-Z][a-z.]+)+")
_MONTH = re.compile(r"\b(?:January|February|March|April|May|June|July|August|September|"
                    r"October|November|December)\b")


def _terms(text: str) -> list[str]:
    out = []
    for word in _WORD.findall(text.lower().replace("’", "'")):
        word = word.strip(".'-").removesuffix("'s")
        if word and word not in _STOP:
            out.append(_stem(word))
    return out


def _stem(word: str) -> str:
    # A light stemmer: enough to match "albums"/"album" and "recorded"/"recording".
    for suffix in ("ings", "ing", "ed", "es", "s"):
        if len(word) > len(suffix) + 3 and word.endswith(suffix):
            return word[: -len(suffix)]
    return word


def keywords(question: str, limit: int = 8) -> str:
    """The search query for a question: its content words, in order, without repeats."""
    seen: list[str] = []
    for word in _WORD.findall(question):
        w = word.strip(".'’-").removesuffix("'s").removesuffix("’s")
        if w and w.lower() not in _STOP and w.lower() not in (s.lower() for s in seen):
            seen.append(w)
    return " ".join(seen[:limit]) or question


class ExtractivePolicy:
    """Search, open the top results, quote the best-matching sentences, answer from them."""

    name = "extractive"

    def __init__(self, *, pages: int = 4, quotes_per_page: int = 2, answer_quotes: int = 3,
                 min_coverage: float = 0.3) -> None:
        self.pages, self.quotes_per_page = pages, quotes_per_page
        self.answer_quotes, self.min_coverage = answer_quotes, min_coverage
        self._reset("")

    def _reset(self, question: str) -> None:
        self._question = question
        self._q_terms = Counter(_terms(question))
        self._queue: list[str] = []  # commands planned for the current page
        self._opened = 0
        self._clicked: set[int] = set()
        self._searches: list[str] = []
        self._scores: dict[str, float] = {}
        self._done_pages: set[str] = set()

    def act(self, obs) -> Reply:  # type: ignore[no-untyped-def]
        """The next command, from the observation's structured fields."""
        if obs.question != self._question:
            self._reset(obs.question)
        if self._queue:
            return Reply(self._queue.pop(0))
        page = obs.page
        if page is None:
            return self._search(keywords(obs.question))
        if not page.url:  # a results page
            return self._next_result(page)
        if page.key not in self._done_pages:
            self._done_pages.add(page.key)
            self._queue = [f"Quote: {text}" for text in self._best(page)] + ["Back"]
            return Reply(self._queue.pop(0))
        return Reply("Back")

    def _search(self, query: str) -> Reply:
        self._searches.append(query)
        return Reply(f"Search {query}")

    def _next_result(self, page) -> Reply:  # type: ignore[no-untyped-def]
        if self._opened < self.pages:
            for link_id in sorted(page.links):
                if link_id not in self._clicked:
                    self._clicked.add(link_id)
                    self._opened += 1
                    return Reply(f"Clicked on link {link_id}")
        if not self._scores and len(self._searches) < 2:
            shorter = keywords(self._question, limit=4)
            if shorter not in self._searches:
                self._clicked.clear()
                self._opened = 0
                return self._search(shorter)
        return Reply("End: Answer")

    def _best(self, page) -> list[str]:  # type: ignore[no-untyped-def]
        """The page's units that best match the question, best first."""
        units = _units(page.lines)
        if not units or not self._q_terms:
            return []
        tokenised = [set(_terms(u)) for u in units]
        df = Counter(t for toks in tokenised for t in toks)
        n = len(units)
        weight = {t: math.log(1 + n / (1 + df.get(t, 0))) for t in self._q_terms}
        total = sum(weight.values()) or 1.0
        scored = []
        for unit, toks in zip(units, tokenised):
            coverage = sum(w for t, w in weight.items() if t in toks) / total
            score = coverage + self._type_bonus(unit) - (0.1 if len(unit) > 400 else 0)
            if coverage >= self.min_coverage:
                scored.append((score, unit))
        scored.sort(key=lambda s: -s[0])
        picked = []
        for score, unit in scored[: self.quotes_per_page]:
            if fold(unit) not in self._scores:
                self._scores[fold(unit)] = score
                picked.append(unit)
        return picked

    def _type_bonus(self, unit: str) -> float:
        """Favour units holding the kind of thing the question asks for."""
        q = self._question.lower()
        if q.startswith(("when", "what year", "in what year", "in which year")) or "what date" in q:
            return 0.15 if (_YEAR.search(unit) or _MONTH.search(unit)) else 0.0
        if q.startswith(("how many", "how much", "how long", "how old")):
            return 0.15 if _NUMBER.search(unit) else 0.0
        if q.startswith(("who", "whom", "which person", "which musician", "which producer")):
            names = [m for m in _NAME.findall(unit) if m.lower() not in q]
            return 0.15 if names else 0.0
        return 0.0

    def answer(self, question: str, quotes: list[Quote]) -> Reply:
        """The best quotes, best first, each followed by its citation marker."""
        ranked = sorted(range(len(quotes)), key=lambda i: -self._scores.get(fold(quotes[i].text), 0))
        parts = []
        for i in ranked[: self.answer_quotes]:
            text = quotes[i].text.strip()
            if not text.endswith((".", "!", "?")):
                text += "."
            parts.append(f"{text} [{i + 1}]")
        return Reply(" ".join(parts))


def _units(lines: list[str]) -> list[str]:
    """Sentences of prose and whole table rows / list items / headings, in page order."""
    units: list[str] = []
    para: list[str] = []

    def flush() -> None:
        if para:
            units.extend(s.strip() for s in _SENTENCE_END.split(" ".join(para)) if s.strip())
            para.clear()

    for raw in lines:
        line = MARKER_RE.sub(lambda m: m.group(2), raw).strip()
        if not line or line.startswith(("#", "•", ">")) or " | " in line or re.match(r"^\d+\. ", line):
            flush()
            if line and not line.startswith("#"):
                units.append(line.lstrip("•> ").strip())
            continue
        para.append(line)
        if line.endswith((".", "!", "?", '."', ".”")):
            flush()
    flush()
    return [u for u in units if len(u) >= 15]
