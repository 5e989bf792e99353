"""The extractive policy: browse and answer with no LLM.

It searches with the question, opens the best results in turn, quotes the passages of each
page that best answer the question (see :mod:`.relevance`), and answers by putting the best
quotes together with ``[n]`` citations, re-ranked over everything it read. The answer leads
with the sentence that best answers the question; a further quote is added only when it
states another fact. Every word of its answer is the pages' own text, so it is a baseline
that cannot hallucinate, and it makes webqa useful on any machine.

Two-page questions ("the father of the leader who founded the Xiongnu Empire") name a thing
only through another: when the best passage of a page covers only part of the question and
links to something the question does not name, the policy opens that link too and scores its
page for the rest of the question.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..records import Quote
from ..render.layout import MARKER_RE
from ..textmatch import fold
from . import Reply
from .relevance import Scorer, Unit, keywords, novel_names, sentences, terms, termset

if TYPE_CHECKING:
    from ..observation import Observation
    from ..records import Page

__all__ = ["ExtractivePolicy", "keywords"]

#: A unit is quoted only if it scores at least this share of the best unit seen so far.
RELATIVE_FLOOR = 0.6

#: The answer adds a further quote only if it scores at least this share of the best one.
ANSWER_FLOOR = 0.6

#: Longest quote proposed: text without sentence punctuation can make one "unit" of a whole
#: page, which the browser would refuse (its quote limit is 1,500 characters).
MAX_UNIT_CHARS = 1000

#: Score bonus for a quote from the first search result (halved for the second, and so on).
RANK_PRIOR = 0.3

#: How much of a quote's score in the answer comes from all pages read (the rest: its page).
GLOBAL_SHARE = 0.5

#: After this many result pages, a unit scoring CONFIDENT or more ends the reading.
ENOUGH_PAGES = 3
CONFIDENT = 0.9

#: Bonus for a quote whose page title holds the question's terms (in full: all of them).
TITLE_PRIOR = 0.3

#: How much more a quote's cue (the kind of thing asked for) counts when answering.
ANSWER_CUE = 0.5

#: A page's best unit covering less of the question than this may lead to a second page.
HOP_COVERAGE = 0.85

#: A second page's unit must cover at least this share of what its bridge left open.
REST_COVERAGE = 0.3

#: What a second page's coverage of the rest is worth against the first page's own.
HOP_DISCOUNT = 0.8

#: Links followed from one run's best units, at most.
MAX_HOPS = 2

#: A further quote must bring at least this many content words the answer does not have yet.
NEW_WORDS = 1


_NAME_LINK = re.compile(r"^[A-Z][^\W\d_]+(?:[ -][\w'’.-]+){0,5}$")


@dataclass
class _Read:
    """What the policy knows about a quote it proposed."""

    score: float
    unit: Unit
    title: str
    hop: bool = False


class ExtractivePolicy:
    """Search, open the top results, quote the best-matching passages, answer from them."""

    name = "extractive"

    def __init__(
        self,
        *,
        pages: int = 5,
        quotes_per_page: int = 2,
        answer_quotes: int = 3,
        min_score: float = 0.15,
        question: str = "",
    ) -> None:
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
        self._read: dict[str, _Read] = {}  # folded quote text -> how it scored
        # (url, bridge coverage, bridge unit, bridge page title) of links worth a look
        self._hops: list[tuple[str, float, Unit, str]] = []
        self._hop_of: dict[str, tuple[float, Unit, str]] = {}  # opened hop url -> its bridge
        self._hopped = 0

    def start(self, question: str) -> ExtractivePolicy:
        """A fresh policy for one run of ``question``, with these settings."""
        return ExtractivePolicy(
            pages=self.pages,
            quotes_per_page=self.quotes_per_page,
            answer_quotes=self.answer_quotes,
            min_score=self.min_score,
            question=question,
        )

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
        while self._hops:
            url, cover, bridge, title = self._hops.pop(0)
            if url not in self._done_pages and url not in self._hop_of:
                self._hop_of[url] = (cover, bridge, title)
                self._hopped += 1
                return Reply(f"Open {url}")
        # A sure answer from the first results needs no more pages: each costs a render.
        confident = self._opened >= ENOUGH_PAGES and self._top >= CONFIDENT
        if self._opened < self.pages and not confident:
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
        url = page.url.partition("#")[0]
        hop = self._hop_of.get(url) or self._hop_of.get(page.url)
        scorer = self._scorer
        if hop is not None:  # a second page answers what the first one's unit left open
            scorer = Scorer(self._question, skip=terms(f"{hop[1].text} {hop[1].context} {hop[2]}"))
        ranked = scorer.rank_units(page.title, page.lines)
        if hop is not None:
            ranked = sorted(
                (
                    (self._chain(hop[0], scorer, u.text, page.title, u.context), u)
                    for _, u in ranked
                ),
                key=lambda su: -su[0],
            )
        if ranked:
            self._top = max(self._top, ranked[0][0])
        # Far below the best unit seen so far is noise: it would only crowd the references.
        floor = max(self.min_score, RELATIVE_FLOOR * self._top)
        if ranked and hop is None and ranked[0][0] >= floor:
            self._plan_hops(page, ranked[0][1])
        picked: list[str] = []
        spans: list[tuple[int, int]] = []
        for score, unit in ranked:
            if score < floor or len(picked) >= self.quotes_per_page:
                break
            if any(unit.first <= b and a <= unit.last for a, b in spans) and any(
                fold(p) in fold(q) or fold(q) in fold(p) for q in picked for p in unit.parts
            ):
                continue  # the same sentence again, in a window
            text = _head(unit.text, MAX_UNIT_CHARS)
            key = fold(text)
            if key not in self._quoted:
                self._quoted.add(key)
                self._read[key] = _Read(score, unit, page.title, hop is not None)
                picked.append(text)
                spans.append((unit.first, unit.last))
        return picked

    def _chain(
        self, bridge_cover: float, rest: Scorer, text: str, title: str, context: str = ""
    ) -> float:
        """A second page's unit scored for the whole question, by way of its bridge: the
        bridge's coverage, what this unit covers of the rest (discounted: a guess that the
        two are about one thing), and its cue; 0 when it covers too little of the rest or
        holds nothing of the kind asked for."""
        cue = rest.cue(text)
        covered = rest.rest(text, title, context)
        if cue <= 0 or covered < REST_COVERAGE:
            return 0.0
        return bridge_cover + (1.0 - bridge_cover) * HOP_DISCOUNT * covered + cue

    def _plan_hops(self, page: Page, unit: Unit) -> None:
        """Remember the links of ``unit`` worth opening for the part it does not cover."""
        if self._hopped + len(self._hops) >= MAX_HOPS:
            return
        weight = self._scorer.weights()
        cover = self._scorer.coverage(set(terms(unit.text)), set(terms(page.title)), weight)
        if cover >= HOP_COVERAGE or cover <= 0:
            return
        asked = set(terms(self._question))
        seen: set[str] = set()
        for line in page.lines[unit.first : unit.last + 1]:
            for m in MARKER_RE.finditer(line):
                link = page.links.get(int(m.group(1)))
                if link is None or m.group(3) or link.url in seen:
                    continue  # an outside link (its domain shown) leaves the corpus
                named = set(terms(m.group(2)))
                # A link to something the question already names is no second page.
                if not named or named <= asked or m.group(2) not in unit.text:
                    continue
                # Only a name leads on to the page of what it names: links from documentation
                # prose ("float", "open()") go to reference pages that answer nothing more.
                if not _NAME_LINK.match(m.group(2)):
                    continue
                seen.add(link.url)
                self._hops.append((link.url.partition("#")[0], cover, unit, page.title))
                if self._hopped + len(self._hops) >= MAX_HOPS:
                    return

    def answer(self, question: str, quotes: list[Quote], feedback: str | None = None) -> Reply:
        """The best quotes over all pages read, best first, each with its citation marker.

        The first quote's best sentence leads; later quotes come only if they add words the
        answer does not have yet. A quote that answers what another one leaves open, about a
        name that one gives (a second page), leads with that one after it.
        """
        same = question == self._question
        scorer = self._scorer if same else Scorer(question)
        weight = scorer.weights()
        scores: list[float] = []
        covers: list[float] = []
        reads: list[_Read | None] = []
        for q in quotes:
            read = self._read.get(fold(q.text)) if same else None
            context = read.unit.context if read is not None else ""
            toks = set(terms(q.text))
            # Scores against the frequencies of every page read, not the quote's own page: a
            # word rare on one page may be common on the others, and the answer compares pages.
            if read is not None and not read.hop:
                base = (
                    GLOBAL_SHARE * scorer.unit_score(read.unit, q.title)
                    + (1 - GLOBAL_SHARE) * read.score
                )
            elif read is not None:
                base = read.score
            else:
                base = scorer.score(q.text, toks, q.title)
            # The search engine's order is evidence too: a quote from its first hit gets more.
            # Across pages the kind of thing asked for decides more than shared words do: a
            # page's scene-setting sentence covers the question's words but holds no answer.
            # A page whose title names what the question is about is likelier its answer's.
            about = sum(w for t, w in weight.items() if t in termset(q.title))
            scores.append(
                base
                + RANK_PRIOR / (1 + self._rank.get(q.url, self.pages))
                + ANSWER_CUE * scorer.cue(q.text)
                + TITLE_PRIOR * about / (sum(weight.values()) or 1.0)
            )
            covers.append(scorer.coverage(toks, set(terms(f"{q.title} {context}")), weight))
            reads.append(read)
        order = self._chains(question, quotes, scores, covers, reads, scorer)
        best = max(scores, default=0.0)
        parts: list[str] = []
        have: set[str] = set(terms(question))
        for i, chained in order:
            if len(parts) >= self.answer_quotes:
                break
            text = quotes[i].text.strip()
            toks = set(terms(text))
            if (
                parts
                and not chained
                and (scores[i] < ANSWER_FLOOR * best or len(toks - have) < NEW_WORDS)
            ):
                continue
            read = reads[i]
            # The browser's quote is the page's text with its spacing and typography; the unit
            # is the same text, cut into its sentences.
            unit = read.unit if read is not None and fold(read.unit.text) == fold(text) else None
            pieces = list(unit.parts) if unit is not None else sentences(text)
            if (
                unit is not None
                and unit.kind == "term"
                and len(pieces) == 2
                and (scorer.cue(pieces[1]) > 0 or scorer.cue(pieces[0]) <= 0)
            ):
                # A definition's term reads as a heading before its sentence: the answer says
                # the sentence, and the quote keeps both. The term stays when it is the answer.
                pieces = pieces[1:]
            if not parts and len(pieces) > 1 and unit is not None:
                lead = scorer.lead(unit, quotes[i].title)
                pieces = [pieces[lead]] + pieces[:lead] + pieces[lead + 1 :]
            body = " ".join(p.strip() for p in pieces)
            if not body.endswith((".", "!", "?", '"', "”")):
                body += "."
            parts.append(f"{body} [{i + 1}]")
            have |= toks
        return Reply(" ".join(parts))

    def _chains(
        self,
        question: str,
        quotes: list[Quote],
        scores: list[float],
        covers: list[float],
        reads: list[_Read | None],
        scorer: Scorer,
    ) -> list[tuple[int, bool]]:
        """The quotes in answer order, ``(index, chained)``: best first, except that a quote
        on a second page which completes a first page's quote comes first, with it."""
        ranked = sorted(range(len(quotes)), key=lambda i: -scores[i])
        best_chain: tuple[float, int, int] | None = None
        names = [novel_names(q.text, question) for q in quotes]
        for i in ranked[:6]:
            if not names[i] or reads[i] is not None and reads[i].hop:  # type: ignore[union-attr]
                continue
            rest: Scorer | None = None
            for j, q in enumerate(quotes):
                if j == i or q.url == quotes[i].url:
                    continue
                shared = names[i] & set(terms(f"{q.title} {q.text}"))
                if not shared:
                    continue
                if rest is None:
                    context = reads[i].unit.context if reads[i] is not None else ""  # type: ignore[union-attr]
                    rest = Scorer(
                        question, skip=terms(f"{quotes[i].text} {quotes[i].title} {context}")
                    )
                    rest.df, rest.n = scorer.df, scorer.n
                read = reads[j]
                chain = self._chain(
                    covers[i], rest, q.text, q.title, read.unit.context if read is not None else ""
                )
                if chain <= 0:
                    continue
                chain += RANK_PRIOR / (1 + self._rank.get(q.url, self.pages))
                if best_chain is None or chain > best_chain[0]:
                    best_chain = (chain, j, i)
        if best_chain is not None and best_chain[0] > scores[ranked[0]]:
            _, j, i = best_chain
            scores[j] = best_chain[0]
            head = [(j, True), (i, True)]
            return head + [(k, False) for k in ranked if k not in (i, j)]
        return [(k, False) for k in ranked]


def _head(unit: str, limit: int) -> str:
    """``unit`` cut to at most ``limit`` characters at a word boundary (still verbatim)."""
    if len(unit) <= limit:
        return unit
    cut = unit[:limit]
    return cut[: cut.rfind(" ")] if " " in cut else cut
