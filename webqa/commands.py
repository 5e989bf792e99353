"""Commands: the one table of what the browser can do, the parser, and the canonical text.

Each :class:`CommandSpec` says how a command is recognised (the forms models really write),
what argument it takes and how traces print it. The parser, the browser's dispatch, the command
list in the system prompt and the tool schemas of the ``tools`` protocol are all read from
:data:`SPECS`; the words the model is taught (forms, help lines, examples) live in
``prompts/commands.toml``. Adding a command means one spec here, one entry there and one
handler in the browser.

Parsing forgives what models write — any case, a missing colon, ``Click 3``, ``Scroll down``,
code fences, a leading ``Next action:`` — and anything it cannot read raises
:class:`FormatError` with a message naming the valid forms.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from . import prompts
from .errors import FormatError

__all__ = [
    "Command",
    "CommandSpec",
    "Kind",
    "SPECS",
    "parse",
    "valid_forms",
    "END_REASONS",
    "MAX_ARG_CHARS",
]

Kind = Literal[
    "search",
    "click",
    "open",
    "find",
    "quote",
    "unquote",
    "scroll_down",
    "scroll_up",
    "top",
    "back",
    "end",
]

ArgType = Literal["text", "id", "url", "count", "none", "reason"]

END_REASONS = ("answer", "nonsense", "controversial")

#: Longest argument accepted: a query, URL or quote past this is a mistake, and echoing it
#: back would only grow the next prompt.
MAX_ARG_CHARS = 20_000

#: Most digits a link id or quote number may have (a 4,300-digit number stops int()).
_MAX_DIGITS = 9


@dataclass(frozen=True)
class CommandSpec:
    """One command: its kind, its argument, how it is recognised and how it is printed."""

    kind: Kind
    arg: ArgType
    canonical: str
    """How traces and past actions print it; ``{arg}`` is the argument."""
    pattern: re.Pattern[str]
    """What a line must look like; group ``arg`` holds the argument."""


def _rx(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.I | re.S)


SPECS: tuple[CommandSpec, ...] = (
    CommandSpec(
        "search",
        "text",
        "Search {arg}",
        _rx(r"^(?:search(?:ed)?(?:\s+for)?)\b\s*:?\s*(?P<arg>.*)$"),
    ),
    CommandSpec(
        "click",
        "id",
        "Clicked on link {arg}",
        _rx(
            r"^(?:clicked\s+on\s+link|click(?:ed)?(?:\s+on)?(?:\s+link)?|"
            r"follow(?:\s+link)?|link)\b\s*:?\s*(?P<arg>.*)$"
        ),
    ),
    CommandSpec(
        "open",
        "url",
        "Open {arg}",
        _rx(r"^(?:open(?:ed)?|go\s*to|visit(?:ed)?)\b\s*:?\s*(?P<arg>.*)$"),
    ),
    CommandSpec(
        "find", "text", "Find in page: {arg}", _rx(r"^find\b(?:\s+in\s+page)?\s*:?\s*(?P<arg>.*)$")
    ),
    CommandSpec("quote", "text", "Quote: {arg}", _rx(r"^quot(?:e|ed)\b\s*:?\s*(?P<arg>.*)$")),
    CommandSpec(
        "unquote",
        "id",
        "Unquote {arg}",
        _rx(r"^(?:unquote|drop\s+quote|remove\s+quote)\b\s*:?\s*(?P<arg>.*)$"),
    ),
    CommandSpec(
        "scroll_down",
        "count",
        "Scrolled down {arg}",
        _rx(r"^scroll(?:ed)?\b\s*:?\s*down\b\s*:?\s*(?P<arg>.*)$"),
    ),
    CommandSpec(
        "scroll_up",
        "count",
        "Scrolled up {arg}",
        _rx(r"^scroll(?:ed)?\b\s*:?\s*up\b\s*:?\s*(?P<arg>.*)$"),
    ),
    CommandSpec("top", "none", "Top", _rx(r"^(?:top|scroll(?:ed)?\s+to\s+(?:the\s+)?top)\s*\.?$")),
    CommandSpec("back", "none", "Back", _rx(r"^(?:back|go\s+back)\s*\.?$")),
    # Only "End: <word>" ends a run: a loose "end" or "End." typed in browse is not a decision.
    CommandSpec("end", "reason", "End: {arg}", _rx(r"^end\s*:\s*(?P<arg>.*)$")),
)

_BY_KIND = {spec.kind: spec for spec in SPECS}


@dataclass(frozen=True)
class Command:
    """One parsed command. ``arg`` is the query, link id, URL, text, count or end reason."""

    kind: Kind
    arg: str = ""

    @property
    def spec(self) -> CommandSpec:
        """This command's entry in :data:`SPECS`."""
        return _BY_KIND[self.kind]

    def __str__(self) -> str:
        """The canonical text, as traces store it."""
        arg = self.arg.capitalize() if self.kind == "end" else self.arg
        return self.spec.canonical.format(arg=arg)


def valid_forms() -> list[str]:
    """The forms the model is taught, in the system prompt's order (``prompts/commands.toml``)."""
    return [entry["form"] for entry in prompts.commands()]


_PREFIX = re.compile(r"^(?:next\s+action|action|command)\s*:\s*", re.I)
_FENCE = re.compile(r"^```[a-zA-Z]*\s*\n?(.*?)\n?```$", re.S)
_LOOSE_END = re.compile(r"^end\b", re.I)


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
        raise FormatError(prompts.message("empty_reply"))
    lines = cleaned.splitlines()
    hits = [
        (i, spec, arg)
        for i, line in enumerate(lines)
        for spec, arg in [_match(_clean(line))]
        if spec is not None
    ]
    if not hits:
        first = lines[0].strip()
        if _LOOSE_END.match(first):
            raise FormatError(prompts.message("end_needs_reason", got=clip(first)))
        raise FormatError(prompts.message("unreadable", got=clip(first)))
    i, spec, arg = hits[0]
    if spec.kind == "quote":
        arg = "\n".join([arg, *lines[i + 1 :]]).strip()
    elif len(hits) > 1:
        raise FormatError(prompts.message("several_commands"))
    return validate(spec.kind, arg)


def _match(line: str) -> tuple[CommandSpec | None, str]:
    for spec in SPECS:
        m = spec.pattern.match(line)
        if m:
            return spec, (m.groupdict().get("arg") or "").strip()
    return None, ""


def validate(kind: Kind, arg: str) -> Command:
    """The command ``kind`` with ``arg`` checked and normalised; :class:`FormatError` if bad.

    Shared by the text parser and the tool-call protocol, so both accept the same arguments.
    """
    spec = _BY_KIND[kind]
    arg = arg.strip()
    if len(arg) > MAX_ARG_CHARS:
        raise FormatError(prompts.message("arg_too_long", limit=MAX_ARG_CHARS))
    if spec.arg in ("text", "url") and not arg:
        raise FormatError(
            prompts.message("needs_argument", form=_form(kind), example=_example(kind))
        )
    if spec.arg == "text":
        return Command(kind, _unquote(arg))
    if spec.arg == "url":
        return Command(kind, arg.strip("<>\"'"))
    if spec.arg == "id":
        m = re.match(r"^(?:【)?\s*(?:link\s*)?(?:id\s*)?[#\[]?\s*(\d+)\b", arg, re.I)
        if not m or len(m.group(1).lstrip("0")) > _MAX_DIGITS:
            raise FormatError(
                prompts.message(
                    "needs_number", form=_form(kind), example=_example(kind), got=clip(arg)
                )
            )
        return Command(kind, str(int(m.group(1))))
    if spec.arg == "count":
        n = arg.rstrip(".").strip() or "1"
        if n not in ("1", "2", "3"):
            raise FormatError(prompts.message("bad_scroll", got=clip(arg)))
        return Command(kind, n)
    if spec.arg == "reason":
        reason = arg.strip(" .:!").lower()
        if reason not in END_REASONS:
            raise FormatError(prompts.message("end_needs_reason", got=clip(arg)))
        return Command(kind, reason)
    return Command(kind)


def clip(text: str, limit: int = 80) -> str:
    """``text`` on one line and at most ``limit`` characters, for echoing back to the model."""
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 3] + "..."


def _unquote(arg: str) -> str:
    """Drop one pair of quotes wrapped around an argument."""
    for left, right in (('"', '"'), ("'", "'"), ("“", "”"), ("<", ">")):
        if len(arg) >= 2 and arg.startswith(left) and arg.endswith(right):
            return arg[1:-1].strip()
    return arg


def _entry(kind: Kind) -> dict[str, str]:
    return next(e for e in prompts.commands() if e["kind"] == kind)


def _form(kind: Kind) -> str:
    return _entry(kind)["form"]


def _example(kind: Kind) -> str:
    return _entry(kind)["example"]
