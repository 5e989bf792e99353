"""The ``tools`` protocol: the browser's commands offered to the model as function tools.

Each step is a fresh, bounded context, as in the text protocol: the ``tools`` system prompt
(``prompts/tools_system.j2``) and one user message, the observation (which carries the memory:
question, quotes, past actions, one screen), sent with the tool schemas of
:mod:`webqa.toolspec`. The one tool call in the reply is read into a
:class:`~webqa.commands.Command` and returned as its canonical text, which the loop's parser
reads back to the same command; so runs, traces, citations and replay are the text
protocol's. A reply that calls no tool, several tools, an unknown tool or a tool with arguments
that fail its schema is an invalid action with a message naming what was wrong, never a crash.
The answer phase is the text protocol's (:class:`~webqa.policies.llm.LLMPolicy`).
"""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Any

from .. import toolspec
from ..commands import Command, parse
from ..errors import FormatError, ModelError
from ..llm import ChatClient, Completion, estimate_tokens
from . import Reply
from .llm import LLMPolicy, strip_reasoning

if TYPE_CHECKING:
    from ..observation import Observation
    from ..records import Quote

__all__ = ["ToolsPolicy", "read_reply"]

log = logging.getLogger("webqa")


def read_reply(done: Completion) -> tuple[str, Command | FormatError]:
    """The action text and the command (or the error) of one completion."""
    calls = [(c.name, c.arguments) for c in done.tool_calls]
    content = strip_reasoning(done.text)
    try:
        if not calls:
            raise FormatError(
                toolspec.tools_message("no_tool_call", tools=", ".join(toolspec.tool_names()))
            )
        if len(calls) > 1:
            raise FormatError(toolspec.tools_message("several_calls", count=len(calls)))
        command = toolspec.parse_tool_call(*calls[0])
    except FormatError as exc:
        return toolspec.failed_call_text(str(exc), calls, content), exc
    text = str(command)
    if _reads_back(text, command):
        return text, command
    # An argument the text parser would read differently (a query with a line break, a quote
    # wrapped in two pairs of quotes): keep it on one line so the canonical text round-trips.
    flat = Command(command.kind, " ".join(command.arg.split()))
    if _reads_back(str(flat), flat):
        return str(flat), flat
    log.info("webqa: a tool call's canonical text does not read back exactly: %r", text[:200])
    return text, command


def _reads_back(text: str, command: Command) -> bool:
    try:
        return parse(text) == command
    except FormatError:
        return False


class ToolsPolicy:
    """Drives the browser with a chat model's tool calls (any OpenAI-compatible endpoint).

    ``tool_choice`` is sent with every call: ``"required"`` (the default) asks the server to
    make the model call a tool; a server that rejects it (HTTP 400) is asked with ``"auto"``
    from then on.
    """

    name = "llm"

    def __init__(self, client: ChatClient, *, tool_choice: str | None = "required") -> None:
        self.client = client
        self.tool_choice = tool_choice
        self._system = toolspec.tools_system()
        self._tools = toolspec.tool_schemas()
        # What the tool schemas cost every call, for the estimate when the server counts none.
        self._tools_tokens = estimate_tokens(json.dumps(self._tools, ensure_ascii=False))
        self._answerer = LLMPolicy(client)

    def start(self, question: str) -> ToolsPolicy:
        """The same policy: each step is a fresh context, so a run keeps no state here."""
        return self

    def act(self, obs: Observation) -> Reply:
        """Ask the model for its next tool call. The reply's ``text`` is the command's
        canonical text (or, for a rejected call, :func:`webqa.toolspec.failed_call_text`);
        its ``command`` is the command, or the :class:`FormatError` saying why the call was
        rejected."""
        messages: list[dict[str, Any]] = [
            {"role": "system", "content": self._system},
            {"role": "user", "content": obs.text},
        ]
        try:
            done = self.client.complete(messages, tools=self._tools, tool_choice=self.tool_choice)
        except ModelError as exc:
            if exc.status != 400 or self.tool_choice != "required":
                raise
            # Some servers take tools but not tool_choice "required": ask as "auto" from now on.
            log.warning(
                "webqa: the LLM server refused tool_choice 'required' (%s); using 'auto'", exc
            )
            self.tool_choice = "auto"
            done = self.client.complete(messages, tools=self._tools, tool_choice="auto")
        prompt, completion = done.prompt_tokens, done.completion_tokens
        if not done.usage_reported:
            prompt = estimate_tokens(self._system) + estimate_tokens(obs.text) + self._tools_tokens
            completion = estimate_tokens(done.text) + sum(
                estimate_tokens(c.name + c.arguments) for c in done.tool_calls
            )
        text, command = read_reply(done)
        return Reply(text, prompt, completion, llm_calls=1, command=command)

    def answer(self, question: str, quotes: list[Quote], feedback: str | None = None) -> Reply:
        """The answer, written as in the text protocol (no tools offered)."""
        return self._answerer.answer(question, quotes, feedback)
