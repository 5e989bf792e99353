"""The text browser: executes one command at a time and keeps one run's browsing state.

State is a history of views (page + first visible line), the quotes collected so far and the
pages already opened in this run. A browser belongs to one run; pages shared between runs live
in the loader's :class:`~webqa.pages.RenderCache`. Search results are pages too, so click,
scroll, find, quote and back behave the same on both.

:meth:`Browser.execute` returns an :class:`Outcome`: what happened, as data. A command that
cannot apply raises :class:`ActionError`; a page that could not be had raises
:class:`FetchError`; the view is unchanged after either.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any, Literal
from urllib.parse import unquote

from . import prompts
from .commands import Command, Kind, clip
from .errors import ActionError, FetchError, FormatError, InvalidAction, SearchError
from .pages import parse_search_key, search_key
from .protocols import PageLoader
from .records import Page, Quote
from .terms import query_terms, stem, words
from .textmatch import PageMatcher
from .urls import join, strip_fragment

__all__ = ["Browser", "View", "Limits", "Outcome", "Failure", "FIND_CONTEXT"]

#: Lines shown above a Find match.
FIND_CONTEXT = 2

Failure = Literal["format", "invalid", "fetch", "search"]


@dataclass
class Limits:
    """Browser limits: window size and how much may be quoted."""

    window: int = 30
    """Lines shown per screen."""
    max_quotes: int = 10
    """Most quotes a run may keep."""
    max_quote_chars: int = 1500
    """Longest single quote, in characters."""
    max_total_quote_chars: int = 6000
    """Total length of all quotes; browsing ends when it is reached (WebGPT)."""
    min_quote_chars: int = 12
    """Shortest quote: "." or "te" support nothing and would only use up the quote budget."""


@dataclass
class View:
    """One entry of the history: a page and the first line shown."""

    page: Page
    top: int = 0
    cursor: int | None = None
    """The line of the last Find match; the next Find starts after it. None after a scroll."""


@dataclass(frozen=True)
class Outcome:
    """What one command did, as data: read by the loop, the observation, progress and traces."""

    kind: Kind | None
    """The command's kind (None when the text could not be parsed)."""
    error: str | None = None
    """Why the command could not be carried out (shown to the model); None when it was."""
    failure: Failure | None = None
    """Which kind of failure: unreadable text, a command that cannot apply, a fetch, a search."""
    reason: str | None = None
    """The failure's own words, without the framing of ``error`` (e.g. the fetcher's)."""
    line: int | None = None
    """The first line shown after the command."""
    match_line: int | None = None
    """The line a Find matched."""
    match: int | None = None
    """Which match a Find landed on (1-based) ..."""
    matches: int | None = None
    """... of how many on the page (0: not found)."""
    wrapped: bool = False
    """Whether a Find wrapped past the end of the page."""
    results: int | None = None
    """Results shown by a search."""
    quote: int | None = None
    """The number [n] of the quote taken or dropped."""
    title: str | None = None
    """The title of the page shown after the command."""
    url: str | None = None
    """Its URL ('' for search results)."""
    redirected_from: str | None = None
    """The URL asked for, when the page came from another one."""
    end: str | None = None
    """The reason of an End command: answer, nonsense or controversial."""
    extended: bool = False
    """Whether a quote was carried on to the end of its sentence, list item or cell."""

    @property
    def ok(self) -> bool:
        """Whether the command was carried out."""
        return self.error is None

    @classmethod
    def failed(cls, kind: Kind | None, exc: ActionError | FetchError) -> Outcome:
        """The outcome of a command that raised ``exc``."""
        failure: Failure = (
            "format"
            if isinstance(exc, FormatError)
            else "invalid"
            if isinstance(exc, ActionError)
            else "search"
            if isinstance(exc, SearchError)
            else "fetch"
        )
        key = {"format": "{}", "invalid": "{}", "search": "search_failed", "fetch": "fetch_failed"}[
            failure
        ]
        text = clip(str(exc), 400)
        return cls(
            kind,
            error=text if key == "{}" else prompts.message(key, reason=text),
            failure=failure,
            reason=text,
        )

    def summary(self) -> str:
        """One line saying what happened, for the observation and progress displays."""
        if self.error is not None:
            return self.error
        m = prompts.message
        if self.kind == "search":
            return m("searched", results=self.results)
        if self.kind in ("click", "open"):
            text = m("opened", title=self.title or "", line=self.line or 0)
            if self.match_line is not None:
                text += " " + m("opened_at_match")
            if self.redirected_from:
                text += " " + m("redirected", url=self.redirected_from)
            return text
        if self.kind == "find":
            if not self.matches:
                return m("not_found")
            text = m("found", line=self.match_line, match=self.match, matches=self.matches)
            return text + (" " + m("wrapped") if self.wrapped else "")
        if self.kind == "quote":
            text = m("quoted", n=self.quote, title=self.title or "", line=self.match_line)
            if self.matches and self.matches > 1:
                text += " " + m("quote_ambiguous", matches=self.matches)
            return text + (" " + m("quote_extended") if self.extended else "")
        if self.kind == "unquote":
            return m("unquoted", n=self.quote)
        if self.kind == "back":
            return m("went_back", title=self.title or "")
        if self.kind == "end":
            return m("ended", reason=self.end)
        if self.results is not None:
            return m("next_results", results=self.results)
        return m("moved", line=self.line)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready form for the trace's ``step`` event (only the fields that are set)."""
        return {k: v for k, v in asdict(self).items() if v not in (None, False)}


@dataclass
class Browser:
    """Runs commands against a :class:`~webqa.protocols.PageLoader`, for one run."""

    loader: PageLoader
    limits: Limits = field(default_factory=Limits)
    on_page: Callable[[str, Page], None] | None = None
    """Called with (request key, page) the first time a page is shown in this run."""
    history: list[View] = field(default_factory=list)
    quotes: list[Quote] = field(default_factory=list)
    _pages: dict[str, Page] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        # The one dispatch table: a command kind names its handler, nothing else can be reached.
        self._handlers: dict[Kind, Callable[[str], Outcome]] = {
            "search": self._search,
            "click": self._click,
            "open": self._open,
            "find": self._find,
            "quote": self._quote,
            "unquote": self._unquote,
            "scroll_down": self._scroll_down,
            "scroll_up": self._scroll_up,
            "top": self._top,
            "back": self._back,
            "end": self._end,
        }

    @property
    def view(self) -> View | None:
        """The current view, or None before the first search."""
        return self.history[-1] if self.history else None

    @property
    def quote_chars(self) -> int:
        """Total characters quoted so far."""
        return sum(len(q.text) for q in self.quotes)

    @property
    def quotes_full(self) -> bool:
        """Whether the quote budget is used up (browsing should end)."""
        lim = self.limits
        return len(self.quotes) >= lim.max_quotes or self.quote_chars >= lim.max_total_quote_chars

    def execute(self, cmd: Command) -> Outcome:
        """Carry out ``cmd`` and say what happened; raises ActionError or FetchError."""
        return self._handlers[cmd.kind](cmd.arg)

    def window(self) -> tuple[int, list[str]]:
        """The first line number and the lines currently visible."""
        view = self._require_view()
        return view.top, view.page.lines[view.top : view.top + self.limits.window]

    # -- commands ---------------------------------------------------------------------------

    def _search(self, query: str) -> Outcome:
        key = search_key(query)
        page = self._pages.get(key) or self.loader.search(query)
        self._show(key, page)
        return Outcome("search", results=len(page.links), title=page.title, url="", line=0)

    def _next_results(self, query: str, _offset: int, first: int) -> Outcome:
        """The next page of results, past the last result shown (a scroll past the end)."""
        key = search_key(query, first)
        page = self._pages.get(key) or self.loader.search(query, first)
        if not page.links:
            raise InvalidAction(prompts.message("no_more_results"))
        self._show(key, page)
        return Outcome("scroll_down", results=len(page.links), title=page.title, url="", line=0)

    def _click(self, arg: str) -> Outcome:
        page = self._require_view().page
        link = page.links.get(int(arg))
        if link is None:
            ids = (
                prompts.message("link_ids", last=max(page.links))
                if page.links
                else prompts.message("no_links")
            )
            raise InvalidAction(prompts.message("no_such_link", id=arg, ids=ids))
        return self._goto(link.url, "click")

    def _open(self, url: str) -> Outcome:
        if not _looks_like_url(url):
            return self._open_title(url)
        wiki = _WIKI.match(url)
        try:
            return self._goto(url, "open")
        except FetchError:
            if not wiki:
                raise
        # A Wikipedia URL in an offline copy of Wikipedia (a ZIM): the same article by title.
        return self._open_title(unquote(wiki.group(1)).replace("_", " "))

    def _open_title(self, title: str) -> Outcome:
        """Open the page titled ``title`` (searched for; titles compared loosely), or say
        which titles come closest."""
        page = self.loader.search(title)
        wanted = _title_key(title)
        for link in page.links.values():
            if _title_key(link.text) == wanted or _title_key(link.text).startswith(wanted + " "):
                return self._goto(link.url, "open")
        import difflib  # only for a title that fits nothing

        close = difflib.get_close_matches(
            title, [link.text for link in page.links.values()], n=3, cutoff=0.3
        ) or [link.text for link in list(page.links.values())[:3]]
        if close:
            raise InvalidAction(
                prompts.message(
                    "no_title", title=clip(title), close="; ".join(clip(t, 80) for t in close)
                )
            )
        raise InvalidAction(prompts.message("no_title_at_all", title=clip(title)))

    def _goto(self, url: str, kind: Kind) -> Outcome:
        if self.view and self.view.page.url:
            url = join(self.view.page.url, url)
        base, _, fragment = url.partition("#")
        current = self.view.page if self.view else None
        if current is not None and current.url and base == strip_fragment(current.url):
            page = current  # a link within the page: no fetch, a new view at the anchor
        else:
            page = self._pages.get(base) or self.loader.open(base)
        searched = (
            parse_search_key(current.key) if current is not None and not current.url else None
        )
        self._show(base, page)
        view = self.history[-1]
        best = None
        if fragment and fragment in page.anchors:
            view.top = min(page.anchors[fragment], max(len(page.lines) - 1, 0))
        elif searched and kind == "click":
            # A result opens at the passage that matched the search, as its snippet did.
            best = _best_line(page.lines, searched[0])
            if best is not None and best >= self.limits.window:
                view.top = max(best - FIND_CONTEXT, 0)
            else:
                best = None
        final = strip_fragment(page.url)
        moved = final and final != base and not base.startswith("search:")
        return Outcome(
            kind,
            title=page.title,
            url=page.url,
            line=view.top,
            match_line=best,
            redirected_from=base if moved else None,
        )

    def _find(self, text: str) -> Outcome:
        view = self._require_view()
        start = view.cursor + 1 if view.cursor is not None else view.top
        hits = _match_lines(self._matcher(view.page), text)
        if not hits:
            return Outcome("find", matches=0, line=view.top)
        after = [i for i, line in enumerate(hits) if line >= start]
        index = after[0] if after else 0
        line = hits[index]
        # A little context above the match: a sentence often starts on the line before.
        view.cursor, view.top = line, max(line - FIND_CONTEXT, 0)
        return Outcome(
            "find",
            line=view.top,
            match_line=line,
            match=index + 1,
            matches=len(hits),
            wrapped=not after,
        )

    def _quote(self, text: str) -> Outcome:
        view = self._require_view()
        page, lim = view.page, self.limits
        if not page.url:
            raise InvalidAction(prompts.message("quote_results"))
        if len(self.quotes) >= lim.max_quotes:
            raise InvalidAction(prompts.message("quote_limit", limit=lim.max_quotes))
        # The middle of the screen: a match at its bottom beats one just above it.
        span = self._matcher(page).quote(
            text, near_line=view.top + lim.window // 2, max_chars=lim.max_quote_chars
        )
        if span is None:
            raise InvalidAction(self._not_on_page(page, text))
        if len(span.text) > lim.max_quote_chars:
            raise InvalidAction(
                prompts.message("quote_too_long", chars=len(span.text), limit=lim.max_quote_chars)
            )
        if len(span.text) < lim.min_quote_chars:
            raise InvalidAction(prompts.message("quote_too_short", limit=lim.min_quote_chars))
        room = lim.max_total_quote_chars - self.quote_chars
        if len(span.text) > room:
            raise InvalidAction(prompts.message("quote_budget", room=room))
        self.quotes.append(Quote(page.url, page.title, span.text, span.line_start, span.line_end))
        return Outcome(
            "quote",
            quote=len(self.quotes),
            title=page.title,
            url=page.url,
            line=view.top,
            match_line=span.line_start,
            matches=span.occurrences,
            extended=span.extended,
        )

    def _unquote(self, arg: str) -> Outcome:
        n = int(arg)
        if not 1 <= n <= len(self.quotes):
            raise InvalidAction(prompts.message("no_such_quote", n=n, count=len(self.quotes)))
        del self.quotes[n - 1]
        return Outcome("unquote", quote=n)

    def _scroll_down(self, arg: str) -> Outcome:
        view = self._require_view()
        last = max(len(view.page.lines) - self.limits.window, 0)
        if view.top >= last:
            searched = parse_search_key(view.page.key) if not view.page.url else None
            # The results page says when a next page exists (its engine was asked for one more).
            if searched and view.page.lines[-1:] == [prompts.message("more_results")]:
                return self._next_results(*searched, max(view.page.links) + 1)
            raise InvalidAction(prompts.message("at_end"))
        view.top, view.cursor = min(view.top + int(arg) * self.limits.window, last), None
        return Outcome("scroll_down", line=view.top)

    def _scroll_up(self, arg: str) -> Outcome:
        view = self._require_view()
        if view.top == 0:
            raise InvalidAction(prompts.message("at_top"))
        view.top, view.cursor = max(view.top - int(arg) * self.limits.window, 0), None
        return Outcome("scroll_up", line=view.top)

    def _top(self, _: str) -> Outcome:
        view = self._require_view()
        view.top, view.cursor = 0, None
        return Outcome("top", line=0)

    def _back(self, _: str) -> Outcome:
        if len(self.history) < 2:
            raise InvalidAction(prompts.message("no_back"))
        self.history.pop()
        view = self.history[-1]
        return Outcome("back", title=view.page.title, url=view.page.url, line=view.top)

    def _end(self, reason: str) -> Outcome:
        return Outcome("end", end=reason)

    # -- helpers ----------------------------------------------------------------------------

    def _show(self, key: str, page: Page) -> None:
        if key not in self._pages:
            self._pages[key] = page
            if self.on_page:
                self.on_page(key, page)
        self.history.append(View(page))

    def _require_view(self) -> View:
        if not self.history:
            raise InvalidAction(prompts.message("no_page"))
        return self.history[-1]

    def _not_on_page(self, page: Page, text: str) -> str:
        near = self._matcher(page).closest(text)
        message = prompts.message("quote_not_found")
        return message + (" " + prompts.message("closest", text=clip(near, 160)) if near else "")

    def _matcher(self, page: Page) -> PageMatcher:
        # Kept on the page, so runs sharing a render cache build it once.
        matcher = page.cache.get("matcher")
        if matcher is None:
            matcher = page.cache["matcher"] = PageMatcher(page)
        return matcher


def _match_lines(matcher: PageMatcher, text: str) -> list[int]:
    """Every line on which ``text`` starts, in page order."""
    lines: list[int] = []
    line = matcher.find(text, from_line=0)
    while line is not None and (not lines or line > lines[-1]):
        lines.append(line)
        line = matcher.find(text, from_line=line + 1)
    return lines


_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*://", re.I)
_WIKI = re.compile(r"^https?://[a-z-]+\.(?:m\.)?wikipedia\.org/wiki/([^?#]+)", re.I)


def _looks_like_url(text: str) -> bool:
    """A URL or a path relative to the page (``lens.html``, ``../a/b``, ``#part``), not a
    page title."""
    return (
        bool(_SCHEME.match(text))
        or text.startswith(("/", ".", "#"))
        or (
            " " not in text
            and ("/" in text or text.lower().endswith((".html", ".htm", ".md", ".txt", ".pdf")))
        )
    )


def _title_key(title: str) -> str:
    """A title compared loosely: its words, lower-cased, without a site suffix after a dash
    or bar ("Neptune – Solar System Field Guide" reads as "neptune")."""
    head = re.split(r"\s[–—|-]\s", title, maxsplit=1)[0]
    return " ".join(words(head))


def _best_line(lines: list[str], query: str, span: int = 3) -> int | None:
    """The first line of the ``span``-line passage holding the most of the query's words
    (at least two, or the only one)."""
    wanted = {stem(w) for w in query_terms(query)}
    if not wanted:
        return None
    found = [wanted & {stem(w) for w in words(line)} for line in lines]
    best, best_line = min(2, len(wanted)) - 1, None
    for i in range(len(lines)):
        have = len(set().union(*found[i : i + span]))
        if have > best:
            best, best_line = have, next(j for j in range(i, i + span) if found[j])
            if have == len(wanted):
                break
    return best_line
