"""Policies choose the next command from an observation, and write the answer from quotes.

Kinds: :class:`LLMPolicy` (any OpenAI-compatible endpoint), :class:`ExtractivePolicy` (no LLM),
:class:`HumanPolicy` (a person at the terminal or a pipe), :class:`ReplayPolicy` (a saved trace),
and :class:`ScriptedPolicy` (fixed replies, for tests and examples).

A run begins with ``policy.start(question)``, which returns the policy for that one run: a
fresh object when the policy keeps per-run state, so one configured policy serves any number
of runs, one after another or at once from several threads.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from ..commands import Command
from ..errors import ActionError

if TYPE_CHECKING:
    from ..observation import Observation
    from ..records import Quote

__all__ = ["Policy", "Reply", "ScriptedPolicy"]


@dataclass(frozen=True)
class Reply:
    """A policy's text and what producing it cost.

    ``command`` is the command already read from the reply (a tool call), or why it could not
    be read; None means the loop parses ``text``.
    """

    text: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    llm_calls: int = 0
    command: Command | ActionError | None = None


class Policy(Protocol):
    """Chooses actions and writes answers. May raise :class:`webqa.errors.ModelError`."""

    name: str

    def start(self, question: str) -> Policy:
        """The policy for one run of ``question`` (``self`` when it keeps no per-run state)."""
        ...

    def act(self, obs: Observation) -> Reply:
        """The next command, as text."""
        ...

    def answer(self, question: str, quotes: list[Quote], feedback: str | None = None) -> Reply:
        """The answer, citing quotes as ``[n]`` (numbered from 1 in list order).

        ``feedback`` says what was wrong with a first answer (markers that point at no quote,
        no citation at all), for the one chance to fix it.
        """
        ...


class ScriptedPolicy:
    """Replies from fixed lists: commands for browsing, one text for the answer.

    Every run starts from the top of the script.
    """

    name = "scripted"

    def __init__(self, actions: list[str], answer_text: str = "") -> None:
        self.actions = list(actions)
        self.answer_text = answer_text
        self._left = list(actions)

    def start(self, question: str) -> ScriptedPolicy:
        """A fresh copy of the script for one run."""
        return ScriptedPolicy(self.actions, self.answer_text)

    def act(self, obs: Observation) -> Reply:
        """The next scripted command (``End: Answer`` when the script runs out)."""
        return Reply(self._left.pop(0) if self._left else "End: Answer")

    def answer(self, question: str, quotes: list[Quote], feedback: str | None = None) -> Reply:
        """The scripted answer text."""
        return Reply(self.answer_text)
