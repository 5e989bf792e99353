"""The extractive policy: browse and answer with no LLM.

It searches with the question, opens the best results in turn, quotes the sentences (or table
rows) of each page that best match the question, and answers by putting the best quotes
together with ``[n]`` citations, re-ranked over everything it read. Every word of its answer is
the pages' own text, so it is a baseline that cannot hallucinate, and it makes webqa useful on
any machine.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..records import Quote
from ..textmatch import fold
from . import Reply
from .relevance import Scorer, keywords, terms

if TYPE_CHECKING:
    from ..observation import Observation
    from ..records import Page

__all__ = ["ExtractivePolicy", "keywords"]

#: A unit is quoted only if it scores at least this share of the best unit seen so far.
RELATIVE_FLOOR = 0.6

#: The answer adds a further quote only if it scores at least this share of the best one.
ANSWER_FLOOR = 0.5

#: Longest quote proposed: text without sentence punctuation can make one "unit" of a whole
#: page, which the browser would refuse (its quote limit is 1,500 characters).
MAX_UNIT_CHARS = 1000

#: Score bonus for a quote from the first search result (halved for the second, and so on).
RANK_PRIOR = 0.2


class ExtractivePolicy:
    """Search, open the top results, quote the best-matching sentences, answer from them."""

    name = "extractive"

    def __init__(self, *, pages: int = 5, quotes_per_page: int = 2, answer_quotes: int = 3,
                 min_score: float = 0.25, question: str = "") -> None:
        self.pages, self.quotes_per_page = pages, quotes_per_page
        self.answer_quotes, self.min_score = answer_quotes, min_score
        self._question = question
        self._scorer = Scorer(question)
        self._queue: list[str] = []  # commands planned for the current page
        self._opened = 0
        self._clicked: set[int] = set()
        self._searches: list[str] = []
        self._quoted: set[str] = set()
        self._done_pages: set[str] = set()
        self._clicked_rank = 0
        self._top = 0.0  # the best unit score seen in this run
        self._rank: dict[str, int] = {}  # page URL -> its place in the search results

    def start(self, question: str) -> ExtractivePolicy:
        """A fresh policy for one run of ``question``, with these settings."""
        return ExtractivePolicy(pages=self.pages, quotes_per_page=self.quotes_per_page,
                                answer_quotes=self.answer_quotes, min_score=self.min_score,
                                question=question)

    def act(self, obs: Observation) -> Reply:
        """The next command, from the observation's structured fields."""
        if obs.last is not None and obs.last.failure == "search":
            # An engine that failed will not start working within this run: one try with
            # keywords, then stop rather than repeat the same failing search.
            shorter = keywords(self._question, limit=8)
            if len(self._searches) >= 2 or not shorter or shorter in self._searches:
                return Reply("End: Answer")
            return self._search(shorter)
        if self._queue:
            return Reply(self._queue.pop(0))
        page = obs.page
        if page is None:
            # Whole questions work well with bm25 and with web engines; keywords are the fallback.
            query = " ".join(obs.question.split()).rstrip("?").strip()
            return self._search(query) if query else Reply("End: Answer")
        if not page.url:  # a results page
            return self._next_result(page)
        if page.key not in self._done_pages:
            self._done_pages.add(page.key)
            self._rank.setdefault(page.url, self._clicked_rank)
            self._queue = [f"Quote: {text}" for text in self._best(page)] + ["Back"]
            return Reply(self._queue.pop(0))
        return Reply("Back")

    def _search(self, query: str) -> Reply:
        self._searches.append(query)
        return Reply(f"Search {query}")

    def _next_result(self, page: Page) -> Reply:
        if self._opened < self.pages:
            for link_id in sorted(page.links):
                if link_id not in self._clicked:
                    self._clicked.add(link_id)
                    self._clicked_rank = link_id
                    self._opened += 1
                    return Reply(f"Clicked on link {link_id}")
        if not self._quoted and len(self._searches) < 3:
            for limit in (8, 4):
                shorter = keywords(self._question, limit=limit)
                if shorter not in self._searches:
                    self._clicked.clear()
                    self._opened = 0
                    return self._search(shorter)
        return Reply("End: Answer")

    def _best(self, page: Page) -> list[str]:
        """The page's units worth quoting, best first."""
        picked: list[str] = []
        ranked = self._scorer.rank_page(page.title, page.lines)
        if ranked:
            self._top = max(self._top, ranked[0][0])
        # Far below the best unit seen so far is noise: it would only crowd the references.
        floor = max(self.min_score, RELATIVE_FLOOR * self._top)
        for score, unit in ranked:
            if score < floor or len(picked) >= self.quotes_per_page:
                break
            unit = _head(unit, MAX_UNIT_CHARS)
            if fold(unit) not in self._quoted:
                self._quoted.add(fold(unit))
                picked.append(unit)
        return picked

    def answer(self, question: str, quotes: list[Quote], feedback: str | None = None) -> Reply:
        """The best quotes over all pages read, best first, each with its citation marker."""
        scorer = self._scorer if question == self._question else Scorer(question)
        # The search engine's order is evidence too: a quote from its first hit gets a little more.
        scores = [scorer.score(q.text, set(terms(q.text)), q.title)
                  + RANK_PRIOR / (1 + self._rank.get(q.url, self.pages)) for q in quotes]
        ranked = sorted(range(len(quotes)), key=lambda i: -scores[i])
        best = scores[ranked[0]] if ranked else 0.0
        parts: list[str] = []
        for i in ranked[: self.answer_quotes]:
            if parts and scores[i] < ANSWER_FLOOR * best:
                break
            text = quotes[i].text.strip()
            if not text.endswith((".", "!", "?", '"', "”")):
                text += "."
            parts.append(f"{text} [{i + 1}]")
        return Reply(" ".join(parts))


def _head(unit: str, limit: int) -> str:
    """``unit`` cut to at most ``limit`` characters at a word boundary (still verbatim)."""
    if len(unit) <= limit:
        return unit
    cut = unit[:limit]
    return cut[: cut.rfind(" ")] if " " in cut else cut
