"""The text browser: executes one command at a time and keeps all browsing state.

State is a history of views (page + first visible line) and the quotes collected so far.
Search results are pages too, so click, scroll, find, quote and back behave the same on both.
Errors are raised, never printed: :class:`ActionError` for a command that cannot apply,
:class:`FetchError` for a page that could not be had; the view is unchanged after either.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from .commands import Command
from .errors import InvalidAction
from .records import Page, Quote
from .textmatch import PageText
from .urls import join
from .pages import PageProvider

__all__ = ["Browser", "View", "Limits", "FIND_CONTEXT"]

#: Lines shown above a Find match.
FIND_CONTEXT = 2


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


@dataclass
class View:
    """One entry of the history: a page and the first line shown."""

    page: Page
    top: int = 0
    cursor: int | None = None
    """The line of the last Find match; the next Find starts after it. None after a scroll."""


@dataclass
class Browser:
    """Runs commands against a :class:`PageProvider`."""

    web: PageProvider
    limits: Limits = field(default_factory=Limits)
    on_page: Callable[[str, Page], None] | None = None
    """Called with (request key, page) for every page opened or searched, e.g. to trace it."""
    history: list[View] = field(default_factory=list)
    quotes: list[Quote] = field(default_factory=list)

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

    def execute(self, cmd: Command) -> str:
        """Carry out ``cmd``; return a one-line summary of what happened."""
        handler = getattr(self, "_" + cmd.kind)
        return handler(cmd.arg)

    def window(self) -> tuple[int, list[str]]:
        """The first line number and the lines currently visible."""
        view = self._require_view()
        return view.top, view.page.lines[view.top : view.top + self.limits.window]

    # -- commands ---------------------------------------------------------------------------

    def _search(self, query: str) -> str:
        page = self.web.search(query)
        self._show(page.key, page)
        return f"{len(page.links)} results"

    def _click(self, arg: str) -> str:
        page = self._require_view().page
        link = page.links.get(int(arg))
        if link is None:
            ids = f"0 to {max(page.links)}" if page.links else "none on this page"
            raise InvalidAction(f"There is no link {arg} on this page (link ids: {ids}).")
        return self._open(link.url)

    def _open(self, url: str) -> str:
        if self.view and self.view.page.url:
            url = join(self.view.page.url, url)
        return self._show(url, self.web.open(url))

    def _find(self, text: str) -> str:
        view = self._require_view()
        start = view.cursor + 1 if view.cursor is not None else view.top
        line = self._text(view.page).find(text, from_line=start)
        if line is None:
            raise InvalidAction(f"{text!r} was not found on this page.")
        wrapped = " (search wrapped to the top)" if line < start else ""
        # A little context above the match: a sentence often starts on the line before.
        view.cursor, view.top = line, max(line - FIND_CONTEXT, 0)
        return f"found on line {line}{wrapped}"

    def _quote(self, text: str) -> str:
        view = self._require_view()
        if not view.page.url:
            raise InvalidAction("Search results cannot be quoted; open a page first.")
        span = self._text(view.page).quote(text)
        if span is None:
            raise InvalidAction(
                "That text is not on this page. Quote it exactly as shown (case and spacing "
                "may differ), or use <start text>━<end text>."
            )
        lim = self.limits
        if len(self.quotes) >= lim.max_quotes:
            raise InvalidAction(f"The limit of {lim.max_quotes} quotes is reached; End: Answer.")
        if len(span.text) > lim.max_quote_chars:
            raise InvalidAction(
                f"That quote is {len(span.text)} characters; quote at most "
                f"{lim.max_quote_chars} characters at a time."
            )
        room = lim.max_total_quote_chars - self.quote_chars
        if len(span.text) > room:
            raise InvalidAction(f"Only {room} characters of quote budget are left; quote less.")
        page = view.page
        self.quotes.append(Quote(page.url, page.title, span.text, span.line_start, span.line_end))
        return f"quoted {len(span.text)} characters from lines {span.line_start}-{span.line_end}"

    def _scroll_down(self, arg: str) -> str:
        view = self._require_view()
        last = max(len(view.page.lines) - self.limits.window, 0)
        if view.top >= last:
            raise InvalidAction("Already at the end of the page.")
        view.top, view.cursor = min(view.top + int(arg) * self.limits.window, last), None
        return f"at line {view.top}"

    def _scroll_up(self, arg: str) -> str:
        view = self._require_view()
        if view.top == 0:
            raise InvalidAction("Already at the top of the page.")
        view.top, view.cursor = max(view.top - int(arg) * self.limits.window, 0), None
        return f"at line {view.top}"

    def _top(self, _: str) -> str:
        view = self._require_view()
        view.top, view.cursor = 0, None
        return "at line 0"

    def _back(self, _: str) -> str:
        if len(self.history) < 2:
            raise InvalidAction("There is no previous page to go back to.")
        self.history.pop()
        return f"back to {self.history[-1].page.title}"

    def _end(self, reason: str) -> str:
        return f"end: {reason}"

    # -- helpers ----------------------------------------------------------------------------

    def _show(self, key: str, page: Page) -> str:
        if self.on_page:
            self.on_page(key, page)
        self.history.append(View(page))
        return f"opened {page.title}"

    def _require_view(self) -> View:
        if not self.history:
            raise InvalidAction("No page is open yet; start with Search <query>.")
        return self.history[-1]

    def _text(self, page: Page) -> PageText:
        # Kept on the page, so runs sharing a page cache build it once.
        text = page.cache.get("text")
        if text is None:
            text = page.cache["text"] = PageText(page)
        return text
