"""The command line's output streams: rich's console on a terminal, plain text elsewhere.

Messages are written in rich's markup (``[dim]…[/]``) with every piece of outside text passed
through :func:`escape`. On a terminal (or with ``FORCE_COLOR`` set) :func:`console` returns
rich's ``Console``, which styles them (and drops the styles when ``NO_COLOR`` is set). On a
pipe or a file the styles would be dropped anyway, so :class:`PlainConsole` drops the tags
itself and rich is never imported: that is most of the start-up time of a scripted
``webqa ask`` (rich's console takes ~20 ms to import). The two read the markup alike
(``tests/test_console.py`` checks this against rich on hostile strings).
"""

from __future__ import annotations

import os
import re
import sys
from typing import IO, Any

__all__ = ["PlainConsole", "console", "escape", "plain", "rich_console", "silence_broken_pipe"]

# rich.markup's tag pattern: a tag starts with a letter, '#', '/' or '@'; backslashes before
# it escape it in pairs.
# A match starts only where no backslash precedes: every start inside a run of backslashes
# would fail the same way, and trying them all is quadratic in the run's length.
_TAG = re.compile(r"((?<!\\)(\\*)\[([a-z#/@][^[]*?)])")
_BRACKET = re.compile(r"(?<!\\)(\\*)(\[(?:[a-z#/@][^[]*?])?)")


def escape(text: str) -> str:
    """``text`` as markup that shows it unchanged: ``rich.markup.escape``, plus one more
    backslash before a ``[`` that starts no tag, since rich shows ``\\[`` as ``[`` (regular
    expressions in quotes keep their backslashes). Trailing backslashes are doubled (rich
    doubles only a single one), which is right when a tag follows, as in
    ``[dim]{escape(text)}[/]``."""

    def one(match: re.Match[str]) -> str:
        slashes, bracket = match[1], match[2]
        if len(bracket) > 1:  # a tag: escape it, keeping the backslashes before it
            return f"{slashes}{slashes}\\{bracket}"
        return f"{slashes}\\[" if slashes else "["

    text = _BRACKET.sub(one, text)
    trailing = len(text) - len(text.rstrip("\\"))
    return text + "\\" * trailing


def plain(markup: str) -> str:
    """The text ``markup`` shows, without its tags, as rich renders it (emoji codes kept)."""
    out: list[str] = []
    position = 0
    for match in _TAG.finditer(markup):
        whole, escapes = match[1], match[2]
        # rich unescapes "\[" anywhere in the text between tags, tag or not.
        out.append(markup[position : match.start()].replace("\\[", "["))
        backslashes, escaped = divmod(len(escapes), 2)
        # Backslashes before a tag come in pairs, each a literal one; an odd one out
        # escapes the tag, which is then shown as text.
        out.append("\\" * backslashes + (whole[len(escapes) :] if escaped else ""))
        position = match.end()
    out.append(markup[position:].replace("\\[", "["))
    return "".join(out)


class PlainConsole:
    """What the CLI uses of rich's ``Console`` (``print``, ``is_terminal``) for a stream that
    is not a terminal: markup tags dropped, nothing wrapped."""

    is_terminal = False

    def __init__(self, stderr: bool = False) -> None:
        """Write to standard error when ``stderr``, else standard output."""
        self._stderr = stderr

    @property
    def file(self) -> IO[str]:
        """The stream written to, looked up at each write (tests swap ``sys.stdout``)."""
        return sys.stderr if self._stderr else sys.stdout

    def print(self, *objects: Any, end: str = "\n") -> None:
        """Write ``objects`` (markup strings) separated by spaces, without their tags."""
        stream = self.file
        try:
            stream.write(" ".join(plain(str(o)) for o in objects) + end)
            stream.flush()
        except BrokenPipeError:
            # The reader went away (`webqa ask ... | head -1`): end quietly, as rich does.
            silence_broken_pipe(stream)
            raise SystemExit(1) from None


def silence_broken_pipe(stream: IO[str]) -> None:
    """Point ``stream``'s descriptor at the null device, so that flushing it at exit does not
    fail again after its reader closed the pipe."""
    import contextlib

    with contextlib.suppress(OSError, ValueError, AttributeError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, stream.fileno())


def console(stderr: bool = False) -> Any:
    """Rich's console for a terminal (or ``FORCE_COLOR``), else a :class:`PlainConsole`."""
    stream = sys.stderr if stderr else sys.stdout
    isatty = getattr(stream, "isatty", None)
    if not os.environ.get("FORCE_COLOR") and not (isatty and isatty()):
        return PlainConsole(stderr)
    return rich_console(stderr)


def rich_console(stderr: bool = False) -> Any:
    """Rich's console, whatever the stream: for what only rich draws (tables, progress bars).
    Emoji codes are left as typed: a page's ``:fire:`` is text, not a picture."""
    from rich.console import Console

    return Console(stderr=stderr, highlight=False, soft_wrap=True, emoji=False)
