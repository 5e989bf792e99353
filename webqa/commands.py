"""Commands: parse what a model or a person typed, and print the canonical form.

The grammar is WebGPT's ten commands plus ``Open <url>`` (DESIGN §2). Parsing forgives what
models really write — any case, a missing colon, ``Click 3``, ``Scroll down``, code fences, a
leading ``Next action:`` — and anything it cannot read raises :class:`FormatError` with a
message naming the valid forms, which the loop shows to the model as its next observation.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from .errors import FormatError

__all__ = ["Command", "Kind", "parse", "VALID_FORMS"]

Kind = Literal[
    "search", "click", "open", "find", "quote", "scroll_down", "scroll_up", "top", "back", "end"
]

VALID_FORMS = (
    "Search <query>",
    "Clicked on link <id>",
    "Open <url>",
    "Find in page: <text>",
    "Quote: <text>   (or Quote: <start text>━<end text>)",
    "Scrolled down <1, 2 or 3>",
    "Scrolled up <1, 2 or 3>",
    "Top",
    "Back",
    "End: Answer",
    "End: Nonsense",
    "End: Controversial",
)

END_REASONS = ("answer", "nonsense", "controversial")


@dataclass(frozen=True)
class Command:
    """One parsed command. ``arg`` is the query, link id, URL, text, scroll count or end reason."""

    kind: Kind
    arg: str = ""

    def __str__(self) -> str:
        """The canonical text, as traces store it."""
        return {
            "search": f"Search {self.arg}",
            "click": f"Clicked on link {self.arg}",
            "open": f"Open {self.arg}",
            "find": f"Find in page: {self.arg}",
            "quote": f"Quote: {self.arg}",
            "scroll_down": f"Scrolled down {self.arg}",
            "scroll_up": f"Scrolled up {self.arg}",
            "top": "Top",
            "back": "Back",
            "end": f"End: {self.arg.capitalize()}",
        }[self.kind]


# Each rule: (regex on the cleaned text, kind). The argument is group "arg" when present.
_RULES: list[tuple[re.Pattern[str], Kind]] = [
    (re.compile(r"^(?:search(?:ed)?(?:\s+for)?)\b\s*:?\s*(?P<arg>.*)$", re.I | re.S), "search"),
    (
        re.compile(
            r"^(?:clicked\s+on\s+link|click(?:ed)?(?:\s+on)?(?:\s+link)?|follow(?:\s+link)?|link)\b"
            r"\s*:?\s*(?P<arg>.*)$",
            re.I | re.S,
        ),
        "click",
    ),
    (re.compile(r"^(?:open(?:ed)?|go\s*to|visit(?:ed)?)\b\s*:?\s*(?P<arg>.*)$", re.I | re.S), "open"),
    (re.compile(r"^find\b(?:\s+in\s+page)?\s*:?\s*(?P<arg>.*)$", re.I | re.S), "find"),
    (re.compile(r"^quot(?:e|ed)\b\s*:?\s*(?P<arg>.*)$", re.I | re.S), "quote"),
    (re.compile(r"^scroll(?:ed)?\b\s*:?\s*down\b\s*:?\s*(?P<arg>.*)$", re.I | re.S), "scroll_down"),
    (re.compile(r"^scroll(?:ed)?\b\s*:?\s*up\b\s*:?\s*(?P<arg>.*)$", re.I | re.S), "scroll_up"),
    (re.compile(r"^(?:top|scroll(?:ed)?\s+to\s+(?:the\s+)?top)\s*\.?$", re.I), "top"),
    (re.compile(r"^(?:back|go\s+back)\s*\.?$", re.I), "back"),
    (re.compile(r"^end\b\s*:?\s*(?P<arg>.*)$", re.I | re.S), "end"),
]

_PREFIX = re.compile(r"^(?:next\s+action|action|command)\s*:\s*", re.I)
_FENCE = re.compile(r"^```[a-zA-Z]*\s*\n?(.*?)\n?```$", re.S)


def _clean(text: str) -> str:
    """Strip what surrounds a command: whitespace, code fences, quotes, a leading label."""
    text = text.strip()
    fenced = _FENCE.match(text)
    if fenced:
        text = fenced.group(1).strip()
    text = text.strip("`").strip()
    text = _PREFIX.sub("", text).strip()
    if text.startswith("♦"):
        text = text.lstrip("♦").strip()
        text = _PREFIX.sub("", text).strip()
    return text


def parse(text: str) -> Command:
    """Read one command from ``text``; raise :class:`FormatError` if it is not exactly one.

    A reply may wrap its command in prose lines (local models often do); the command is the one
    line that reads as a command. A quote may run over several lines.
    """
    cleaned = _clean(text)
    if not cleaned:
        raise FormatError("The reply was empty.")
    lines = cleaned.splitlines()
    hits = [(i, *_match(_clean(line))) for i, line in enumerate(lines)]
    hits = [(i, kind, arg) for i, kind, arg in hits if kind is not None]
    if not hits:
        first = lines[0].strip()
        shown = first if len(first) <= 80 else first[:77] + "..."
        raise FormatError(f"Could not read a command in {shown!r}.")
    i, kind, arg = hits[0]
    if kind == "quote":
        arg = "\n".join([arg, *lines[i + 1 :]]).strip()
    elif len(hits) > 1:
        raise FormatError("The reply holds several commands; send exactly one command per reply.")
    return _validate(kind, arg)


def _match(line: str) -> tuple[Kind | None, str]:
    for pattern, kind in _RULES:
        m = pattern.match(line)
        if m:
            return kind, (m.groupdict().get("arg") or "").strip()
    return None, ""


def _validate(kind: Kind, arg: str) -> Command:
    arg = arg.strip()
    if kind in ("search", "find", "quote", "open") and not arg:
        raise FormatError(f"{_name(kind)} needs an argument, e.g. {_example(kind)}.")
    if kind == "search":
        return Command("search", _unquote(arg))
    if kind == "find":
        return Command("find", _unquote(arg))
    if kind == "quote":
        return Command("quote", _unquote(arg))
    if kind == "open":
        return Command("open", arg.strip("<>\"'"))
    if kind == "click":
        m = re.match(r"^(?:【)?\s*(?:link\s*)?(?:id\s*)?#?\s*(\d+)\b", arg, re.I)
        if not m:
            raise FormatError(
                f"Clicked on link needs a link id number, e.g. 'Clicked on link 3' (got {arg!r})."
            )
        return Command("click", str(int(m.group(1))))
    if kind in ("scroll_down", "scroll_up"):
        n = arg.rstrip(".").strip() or "1"
        if n not in ("1", "2", "3"):
            raise FormatError(f"Scroll by 1, 2 or 3 screens, e.g. 'Scrolled down 1' (got {arg!r}).")
        return Command(kind, n)
    if kind == "end":
        reason = arg.strip(" .:").lower() or "answer"
        if reason not in END_REASONS:
            raise FormatError(
                f"End takes Answer, Nonsense or Controversial, e.g. 'End: Answer' (got {arg!r})."
            )
        return Command("end", reason)
    return Command(kind)


def _unquote(arg: str) -> str:
    """Drop one pair of quotes wrapped around an argument."""
    for left, right in (('"', '"'), ("'", "'"), ("“", "”"), ("<", ">")):
        if len(arg) >= 2 and arg.startswith(left) and arg.endswith(right):
            return arg[1:-1].strip()
    return arg


def _name(kind: Kind) -> str:
    return {"search": "Search", "find": "Find in page", "quote": "Quote", "open": "Open"}[kind]


def _example(kind: Kind) -> str:
    return {
        "search": "'Search tallest mountain in Europe'",
        "find": "'Find in page: population'",
        "quote": "'Quote: The mountain is 5,642 m high.'",
        "open": "'Open https://example.org/page'",
    }[kind]
