"""A person drives the browser: the same observation a model sees, commands typed or piped.

Interactive use gets line editing and a command history (readline). From a pipe, one command
is read per line, and after ``End: Answer`` the next line is the answer — so scripts and other
programs can record demonstrations exactly as a person would.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from types import ModuleType
from typing import TYPE_CHECKING

from .. import prompts
from . import Reply

if TYPE_CHECKING:
    from ..observation import Observation
    from ..records import Quote

__all__ = ["HumanPolicy"]


class HumanPolicy:
    """Reads commands and the final answer from ``read``; shows observations with ``show``."""

    name = "human"

    def __init__(self, read: Callable[[str], str], show: Callable[[str], None]) -> None:
        self._read, self._show = read, show

    def start(self, question: str) -> HumanPolicy:
        """The same policy: the person at the terminal is the state."""
        return self

    def act(self, obs: Observation) -> Reply:
        """Show the observation, read one command (end of input means End: Answer)."""
        self._show(obs.text)
        try:
            line = self._read("command> ")
        except EOFError:
            return Reply("End: Answer")
        return Reply(line.strip())

    def answer(self, question: str, quotes: list[Quote], feedback: str | None = None) -> Reply:
        """Show the numbered quotes and read the answer text (cite them as [n]); an empty
        line asks again (end of input gives up)."""
        listing = "\n".join(f"[{i}] {q.title}: {q.text}" for i, q in enumerate(quotes, 1))
        while True:
            self._show(
                f"♦Quotes\n{listing}\n\n"
                + (f"{feedback}\n" if feedback else "")
                + "Write the answer, citing quotes as [n]:"
            )
            try:
                text = self._read("answer> ").strip()
            except EOFError:
                return Reply("")
            if text:
                return Reply(text)
            feedback = prompts.message("answer_empty")


def enable_line_editing(history_file: str) -> None:
    """Turn on readline editing and a persistent history for ``input()`` at a terminal."""
    try:
        import readline
    except ImportError:  # Windows without pyreadline: plain input still works
        return
    import atexit
    import os

    os.makedirs(os.path.dirname(history_file), exist_ok=True)
    with contextlib.suppress(OSError):  # no history yet, or an unreadable one: start afresh
        readline.read_history_file(history_file)
    atexit.register(_save_history, readline, history_file)


def _save_history(readline: ModuleType, path: str) -> None:
    with contextlib.suppress(OSError):  # a read-only home loses the history, not the session
        readline.write_history_file(path)
