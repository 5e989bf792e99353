"""Policies choose the next command from an observation, and write the answer from quotes.

Kinds: :class:`LLMPolicy` (any OpenAI-compatible endpoint), :class:`ExtractivePolicy` (no LLM),
:class:`HumanPolicy` (a person at the terminal or a pipe), :class:`ReplayPolicy` (a saved trace),
and :class:`ScriptedPolicy` (fixed replies, for tests and examples).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from ..observation import Observation
    from ..records import Quote

__all__ = ["Policy", "Reply", "ScriptedPolicy"]


@dataclass(frozen=True)
class Reply:
    """A policy's text and what producing it cost."""

    text: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    llm_calls: int = 0


class Policy(Protocol):
    """Chooses actions and writes answers. May raise :class:`webqa.errors.ModelError`."""

    name: str

    def act(self, obs: Observation) -> Reply:
        """The next command, as text."""
        ...

    def answer(self, question: str, quotes: list[Quote]) -> Reply:
        """The answer, citing quotes as ``[n]`` (numbered from 1 in list order)."""
        ...


class ScriptedPolicy:
    """Replies from fixed lists: commands for browsing, one text for the answer."""

    name = "scripted"

    def __init__(self, actions: list[str], answer_text: str = "") -> None:
        self._actions = list(actions)
        self._answer = answer_text

    def act(self, obs: Observation) -> Reply:
        """The next scripted command (``End: Answer`` when the script runs out)."""
        return Reply(self._actions.pop(0) if self._actions else "End: Answer")

    def answer(self, question: str, quotes: list[Quote]) -> Reply:
        """The scripted answer text."""
        return Reply(self._answer)
