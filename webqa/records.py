"""Plain data passed between webqa's parts: documents, pages, links, quotes, answers.

Everything here is a dataclass with no I/O, so it can be built in tests and written to traces.
The seams that produce and consume them (engine, document source, policy, chat model) are in
:mod:`webqa.protocols`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

__all__ = [
    "Document",
    "Link",
    "Page",
    "SearchResult",
    "Quote",
    "Citation",
    "Usage",
    "Answer",
    "Status",
]

Status = Literal[
    "answered", "refused", "no_quotes", "budget_exhausted", "stuck", "interrupted", "error"
]


@dataclass(frozen=True)
class Document:
    """A resource as a source delivers it, before rendering.

    ``text`` holds decoded text for textual types; ``data`` the raw bytes for binary ones (PDF).
    ``notes`` are facts the reader should see, such as "the page was cut at 5 MB".
    """

    url: str
    content_type: str = "text/html"
    text: str = ""
    data: bytes = b""
    title: str | None = None
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Link:
    """One numbered link on a rendered page."""

    id: int
    url: str
    text: str


@dataclass
class Page:
    """A rendered page: wrapped lines with stable numbers and numbered links.

    ``lines`` contain link markup ``【id†text】``; quotes and finds match against the same
    lines with the markup reduced to the link text (see ``webqa.textmatch``).
    ``key`` identifies the page in a trace: its URL, or ``search:<query>`` for results.
    ``anchors`` maps the page's element ids and anchor names to the line each starts on, so
    a link to ``page#name`` can open at that line.
    """

    key: str
    url: str
    title: str
    lines: list[str]
    links: dict[int, Link] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    cache: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)
    """Derived data worth keeping with the page (its searchable text); never serialised."""
    anchors: dict[str, int] = field(default_factory=dict)

    @property
    def domain(self) -> str:
        """The host the page came from ('' for search results)."""
        from urllib.parse import urlsplit

        return urlsplit(self.url).netloc if self.url else ""

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready snapshot, as stored in a trace's ``page`` event."""
        return {
            "key": self.key,
            "url": self.url,
            "title": self.title,
            "lines": self.lines,
            "links": {str(k): {"url": v.url, "text": v.text} for k, v in self.links.items()},
            "notes": list(self.notes),
            "anchors": dict(self.anchors),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Page:
        """Rebuild a page from :meth:`to_dict`'s output."""
        links = {int(k): Link(int(k), v["url"], v["text"]) for k, v in d.get("links", {}).items()}
        anchors = {str(k): int(v) for k, v in (d.get("anchors") or {}).items()}
        return cls(
            d["key"],
            d["url"],
            d["title"],
            list(d["lines"]),
            links,
            tuple(d.get("notes", ())),
            anchors=anchors,
        )


@dataclass(frozen=True)
class SearchResult:
    """One hit from a search engine."""

    title: str
    url: str
    snippet: str = ""


@dataclass(frozen=True)
class Quote:
    """A verbatim extract kept as a reference: the page's own text, never a retyping."""

    url: str
    title: str
    text: str
    line_start: int = 0
    line_end: int = 0

    @property
    def domain(self) -> str:
        """The host of the quoted page."""
        from urllib.parse import urlsplit

        return urlsplit(self.url).netloc


@dataclass(frozen=True)
class Citation:
    """What ``[n]`` in an answer points to."""

    n: int
    url: str
    title: str
    quote: str
    line_start: int = 0
    line_end: int = 0
    cited: bool = True


@dataclass
class Usage:
    """What a run used."""

    actions: int = 0
    invalid_actions: int = 0
    llm_calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    seconds: float = 0.0

    def add_llm(self, prompt_tokens: int, completion_tokens: int) -> None:
        """Count one LLM call and its tokens."""
        self.llm_calls += 1
        self.prompt_tokens += prompt_tokens
        self.completion_tokens += completion_tokens


@dataclass
class Answer:
    """The result of a run: the answer text with ``[n]`` markers and what they cite."""

    question: str
    text: str
    citations: list[Citation]
    status: Status
    usage: Usage = field(default_factory=Usage)
    trace_path: str | None = None
    error: str | None = None
    refusal: str | None = None
    removed_markers: int = 0

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready form (what ``webqa ask --json`` prints)."""
        return asdict(self)
