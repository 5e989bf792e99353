"""The LLM policy: the observation goes to a chat model, its reply is the next command.

Each step is a fresh context (WebGPT): one system message from ``prompts/system.j2`` and one
user message, the rendered observation. The answer phase uses ``prompts/answer_system.md`` and
``prompts/answer.j2``. Transport, retries and errors belong to :class:`webqa.llm.ChatClient`.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from .. import prompts
from ..llm import ChatClient, Completion, estimate_tokens
from . import Reply

if TYPE_CHECKING:
    from ..observation import Observation
    from ..records import Quote

__all__ = ["LLMPolicy", "strip_reasoning"]


class LLMPolicy:
    """Drives the browser with a chat model behind any OpenAI-compatible endpoint."""

    name = "llm"

    def __init__(self, client: ChatClient) -> None:
        self.client = client
        self._system = prompts.system()
        self._answer_system = prompts.load("answer_system.md")

    def start(self, question: str) -> LLMPolicy:
        """The same policy: each step is a fresh context, so a run keeps no state here."""
        return self

    def act(self, obs: Observation) -> Reply:
        """Ask the model for the next command."""
        return self._ask(self._system, obs.text)

    def answer(self, question: str, quotes: list[Quote], feedback: str | None = None) -> Reply:
        """Ask the model for the answer, given the question and numbered quotes (and, on a
        second try, what was wrong with the first)."""
        return self._ask(
            self._answer_system,
            prompts.render("answer.j2", question=question, quotes=quotes, feedback=feedback),
        )

    def _ask(self, system: str, user: str) -> Reply:
        done: Completion = self.client.complete(
            [{"role": "system", "content": system}, {"role": "user", "content": user}]
        )
        prompt, completion = done.prompt_tokens, done.completion_tokens
        if not done.usage_reported:
            # The server gave no counts: estimate, so usage totals are never silently zero.
            prompt = estimate_tokens(system) + estimate_tokens(user)
            completion = estimate_tokens(done.text)
        return Reply(strip_reasoning(done.text), prompt, completion, llm_calls=1)


_THINK = re.compile(r"<(think|thinking|reasoning)>.*?(?:</\1>|$)", re.S | re.I)


def strip_reasoning(text: str) -> str:
    """The reply without the ``<think>…</think>`` block that reasoning models (DeepSeek-R1,
    Qwen3 and others served by Ollama, vLLM or llama.cpp) put before their answer: its drafts
    of commands must not be read as commands, nor shown as the answer."""
    return _THINK.sub("", text).strip()
