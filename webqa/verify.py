"""Checking citations: is every quote of an answer verbatim on the page it cites?

:func:`verify_citations` takes an :class:`~webqa.records.Answer` and the document source it was
browsed over (pages are fetched and rendered afresh), or a trace (checked against the trace's
own page snapshots, offline). A quote is verbatim when it occurs, character for character
with runs of whitespace as one space, in the page's text with link markup reduced to the link
text — the text the browser let the model quote from.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .errors import ConfigError, FetchError
from .protocols import DocumentSource
from .records import Answer, Page
from .render import render_document
from .textmatch import PageMatcher

__all__ = ["CitationCheck", "verify_citations"]


@dataclass(frozen=True)
class CitationCheck:
    """The verdict on one citation."""

    n: int
    url: str
    quote: str
    verbatim: bool
    line: int | None = None
    """The line of the page where the quote starts, when found."""
    reason: str | None = None
    """Why it is not verbatim (not on the page, or the page could not be had)."""


def verify_citations(
    answer: Answer | str | Path, source: DocumentSource | None = None
) -> list[CitationCheck]:
    """Check each citation of ``answer`` (an Answer with its ``source``, or a trace path)."""
    if isinstance(answer, Answer):
        if source is None:
            raise ConfigError("verify_citations needs the document source the answer came from")
        cited = [(c.n, c.url, c.quote) for c in answer.citations]
        pages: dict[str, Page | str] = {}
        for _, url, _ in cited:
            if url not in pages:
                try:
                    pages[url] = render_document(source.fetch(url))
                except FetchError as exc:
                    pages[url] = str(exc)
    else:
        from .trace import load_trace

        trace = load_trace(answer)
        answers = [e for e in trace.events if e.get("type") == "answer"]
        if not answers:
            raise ConfigError(f"{answer}: the trace holds no answer")
        cited = [
            (int(c["n"]), str(c["url"]), str(c["quote"])) for c in answers[-1].get("citations", [])
        ]
        pages = {}
        for event in trace.events:
            if event.get("type") == "page" and event.get("url"):
                pages.setdefault(str(event["url"]), Page.from_dict(event))
    return [
        _check(n, url, quote, pages.get(url, "the page is not in the trace"))
        for n, url, quote in cited
    ]


def _check(n: int, url: str, quote: str, page: Page | str) -> CitationCheck:
    if isinstance(page, str):
        return CitationCheck(n, url, quote, False, reason=page)
    matcher = PageMatcher(page)
    needle = " ".join(quote.split())
    if needle and needle in " ".join(matcher.plain.split()):
        span = matcher.quote(needle)
        return CitationCheck(n, url, quote, True, line=span.line_start if span else None)
    return CitationCheck(n, url, quote, False, reason="not on the page")
