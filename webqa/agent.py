"""The loop: observation → policy → parse → browser → observation, then the answer phase.

An :class:`Agent` holds what runs share (the policy, the page loader, the limits) and keeps no
per-run state: :meth:`Agent.run` creates a :class:`Run` — browser, policy state, trace writer,
counters — for each question and drops it after. So one agent answers any number of questions,
one after another or from several threads, with the same result each time.

The agent knows no HTML and no HTTP. A command that cannot apply or a page that cannot be had
becomes the next observation; a failing LLM (ModelError) ends the run with status ``error``;
the same failing action again and again ends it as ``stuck``. Every step is written to the
trace as it finishes, and the ``end`` event always — for an unexpected exception (named, with
its message) and for Ctrl-C or SIGTERM (status ``interrupted``) too.
"""

from __future__ import annotations

import logging
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import __version__, prompts
from .answer import check_markers, citations_for
from .browser import Browser, Limits, Outcome
from .commands import MAX_ARG_CHARS, Command, clip, parse
from .errors import ActionError, FetchError, ModelError
from .observation import Observation, observe
from .policies import Policy, Reply
from .protocols import PageLoader
from .records import Answer, Page, Quote, Status, Usage
from .trace import FORMAT, TraceWriter, default_trace_path, new_run_id

__all__ = ["Agent", "Run", "StepInfo", "Interrupted", "TraceTo"]

log = logging.getLogger("webqa")

#: Where a run's trace goes: a file path, a folder (one file per run), None or True for the
#: default location (``$WEBQA_HOME/traces``), False for no trace.
TraceTo = str | Path | bool | None

#: The same failing action this many times in a row ends the run: it will not start working.
REPEATS = 3

#: The most of one action's text a trace keeps (a longer one was refused as too long anyway).
MAX_ACTION_CHARS = MAX_ARG_CHARS + 100


class Interrupted(KeyboardInterrupt):
    """Raised by the CLI's SIGTERM handler so a terminated run ends like Ctrl-C."""


@dataclass(frozen=True)
class StepInfo:
    """What one step did, for progress displays."""

    n: int
    action: str
    error: str | None
    actions_left: int
    outcome: Outcome | None = None


class Agent:
    """Runs questions through a policy and a browser (see the module docstring)."""

    def __init__(
        self,
        policy: Policy,
        loader: PageLoader,
        *,
        limits: Limits | None = None,
        max_actions: int = 100,
        max_failures: int = 10,
        trace: TraceTo = False,
        on_step: Callable[[StepInfo], None] | None = None,
        config: dict[str, Any] | None = None,
    ) -> None:
        self.policy, self.loader = policy, loader
        self.limits = limits or Limits()
        self.max_actions, self.max_failures = max_actions, max_failures
        self.trace, self.on_step = trace, on_step
        self.config = {
            **(config or {}),
            "max_actions": max_actions,
            "max_failures": max_failures,
            "limits": self.limits.__dict__,
        }

    def run(
        self,
        question: str,
        *,
        trace: TraceTo | TraceWriter | None = None,
        on_step: Callable[[StepInfo], None] | None = None,
    ) -> Answer:
        """Browse until the policy ends, a limit is hit or the LLM fails; then answer.

        ``trace`` overrides the agent's trace destination for this run.
        """
        writer = _writer(self.trace if trace is None else trace)
        return Run(self, question, writer, on_step or self.on_step).execute()


def _writer(to: TraceTo | TraceWriter) -> TraceWriter | None:
    if isinstance(to, TraceWriter) or to is False:
        return to or None
    if to is None or to is True:
        return TraceWriter()
    path = Path(to)
    if path.is_dir():
        run_id = new_run_id()
        return TraceWriter(path / default_trace_path(run_id).name, run_id=run_id)
    return TraceWriter(path)


class Run:
    """One question's browsing: its browser, policy state, counters and trace.

    :meth:`execute` runs the whole loop with the agent's policy. A front end that drives the
    browser itself (an MCP session) uses the same pieces: :meth:`begin`, then :meth:`observe`
    and :meth:`step` per action, then :meth:`end` — so its trace is like any run's.
    """

    def __init__(
        self,
        agent: Agent,
        question: str,
        trace: TraceWriter | None,
        on_step: Callable[[StepInfo], None] | None,
    ) -> None:
        self.agent, self.question, self.trace, self.on_step = agent, question, trace, on_step
        self.browser = Browser(agent.loader, agent.limits, on_page=self._page_shown)
        self.usage = Usage()
        self.past: list[str] = []
        self.shown: list[str] = []  # each action as typed, without its failure note
        self.outcomes: list[Outcome] = []
        self.policy: Policy | None = None
        self._started = time.monotonic()

    def begin(self) -> None:
        """Start the clock and write the trace's ``run`` event."""
        self._started = time.monotonic()
        self._event(
            "run",
            format=FORMAT,
            question=self.question,
            config=self.agent.config,
            versions={"webqa": __version__},
            started=time.time(),
        )

    def end(self, answer: Answer, **extra: Any) -> Answer:
        """Write the ``end`` event (with ``extra`` fields) and close the trace."""
        self.usage.seconds = round(time.monotonic() - self._started, 3)
        answer.trace_path = str(self.trace.path) if self.trace else None
        self._event("end", status=answer.status, error=answer.error, usage=self.usage, **extra)
        if self.trace:
            self.trace.close()
        return answer

    def execute(self) -> Answer:
        """Run the question to its end; the trace always gets its ``end`` event."""
        self.begin()
        answer = Answer(self.question, "", [], "error", self.usage, error="interrupted")
        extra: dict[str, Any] = {}
        try:
            self.policy = self.agent.policy.start(self.question)
            status, reason = self._browse()
            answer = self._answer(status, reason)
        except ModelError as exc:
            answer = self._failed("error", str(exc))
        except KeyboardInterrupt as exc:
            why = "terminated (SIGTERM)" if isinstance(exc, Interrupted) else "interrupted (Ctrl-C)"
            answer = self._failed("interrupted", why)
            raise
        except Exception as exc:  # a bug or a foreign error: end the run, say what it was
            log.exception("webqa: the run failed unexpectedly")
            answer = self._failed("error", f"internal error: {type(exc).__name__}: {exc}")
            extra = {
                "exception": {
                    "type": type(exc).__name__,
                    "message": str(exc),
                    "traceback": traceback.format_exc(limit=20),
                }
            }
        finally:
            self.end(answer, **extra)
        return answer

    def _browse(self) -> tuple[Status, str | None]:
        max_actions, usage = self.agent.max_actions, self.usage
        assert self.policy is not None
        last: Outcome | None = None
        while usage.actions < max_actions:
            obs = self.observe()
            started = time.monotonic()
            reply = self.policy.act(obs)
            last = self.step(reply, obs.text, command=reply.command, started=started)
            if last.kind == "end" and last.ok:
                return ("answered", None) if last.end == "answer" else ("refused", last.end)
            if self.browser.quotes_full:
                return "answered", None  # WebGPT: the reference budget ends browsing
            if usage.actions < max_actions and (stuck := self._stuck()):
                return "stuck", stuck
        return "budget_exhausted", None

    def observe(self) -> Observation:
        """What the policy sees now."""
        return observe(
            self.question,
            self.browser,
            self.past,
            self.agent.max_actions - self.usage.actions,
            self.outcomes[-1] if self.outcomes else None,
        )

    def step(
        self,
        reply: Reply,
        observation: str,
        *,
        command: Command | ActionError | None = None,
        started: float | None = None,
    ) -> Outcome:
        """Carry out one action and record it (counters, past actions, the ``step`` event).

        The action is ``reply.text`` parsed, or ``command`` when the caller parsed it already
        (a tool call), or ``command``'s error when it could not be read.
        """
        started = time.monotonic() if started is None else started
        self.usage.actions += 1
        if reply.llm_calls:
            self.usage.add_llm(reply.prompt_tokens, reply.completion_tokens)
        cmd, outcome = self._execute(reply.text, command)
        self.past.append(_past_action(cmd, reply.text, outcome))
        self.shown.append(_shown(cmd, reply.text, outcome))
        self.outcomes.append(outcome)
        self._step(observation, reply, cmd, outcome, started)
        return outcome

    def _execute(
        self, text: str, given: Command | ActionError | None
    ) -> tuple[Command | None, Outcome]:
        cmd = given if isinstance(given, Command) else None
        try:
            if isinstance(given, ActionError):
                raise given
            cmd = cmd or parse(text)
            return cmd, self.browser.execute(cmd)
        except (ActionError, FetchError) as exc:
            if not isinstance(exc, FetchError):
                self.usage.invalid_actions += 1
            return cmd, Outcome.failed(cmd.kind if cmd else None, exc)

    def _stuck(self) -> str | None:
        """Why the run should stop now, or None: too many failures in a row, or one repeated."""
        tail = []
        for outcome in reversed(self.outcomes):
            if outcome.ok:
                break
            tail.append(outcome)
        if len(tail) >= self.agent.max_failures:
            return f"{len(tail)} actions in a row failed (last: {tail[0].error})"
        recent = self.past[-REPEATS:]
        if len(tail) >= REPEATS and len(set(recent)) == 1:
            return f"the same action failed {REPEATS} times in a row: {recent[0]}"
        return None

    def answer(self, status: Status = "answered", reason: str | None = None) -> Answer:
        """The answer phase: the policy writes the answer from the quotes (or the run ends
        with ``status`` and ``reason`` when there is nothing to answer from)."""
        return self._answer(status, reason)

    def _answer(self, status: Status, reason: str | None) -> Answer:
        quotes, usage = self.browser.quotes, self.usage
        assert self.policy is not None
        if status == "refused":
            return Answer(
                self.question, "", citations_for(quotes, set()), "refused", usage, refusal=reason
            )
        if status == "stuck":
            return self._failed("stuck", str(reason))
        if not quotes:
            final: Status = "budget_exhausted" if status == "budget_exhausted" else "no_quotes"
            return Answer(self.question, "", [], final, usage, error=self._why_no_quotes())
        reply = self._ask_answer(quotes, None)
        text, cited, removed = check_markers(reply.text, len(quotes))
        problem = (
            prompts.message("answer_bad_markers", removed=removed, count=len(quotes))
            if removed
            else prompts.message("answer_no_citation")
            if text and not cited
            else prompts.message("answer_empty")
            if not text
            else None
        )
        if problem:  # one chance to fix it; the better of the two is kept
            try:
                second = self._ask_answer(quotes, problem)
            except ModelError as exc:  # the first answer stands
                log.warning("webqa: asking for a corrected answer failed: %s", exc)
            else:
                fixed = check_markers(second.text, len(quotes))
                if fixed[0] and (fixed[2], not fixed[1]) < (removed, not cited):
                    reply, (text, cited, removed) = second, fixed
        answer = Answer(
            self.question,
            text,
            citations_for(quotes, cited),
            "answered",
            usage,
            removed_markers=removed,
        )
        self._event(
            "answer",
            text=text,
            raw=reply.text,
            citations=answer.citations,
            removed_markers=removed,
            quotes=quotes,
        )
        return answer

    def _ask_answer(self, quotes: list[Quote], feedback: str | None) -> Reply:
        assert self.policy is not None
        reply = self.policy.answer(self.question, quotes, feedback)
        if reply.llm_calls:
            self.usage.add_llm(reply.prompt_tokens, reply.completion_tokens)
        return reply

    def _failed(self, status: Status, error: str) -> Answer:
        return Answer(
            self.question,
            "",
            citations_for(self.browser.quotes, set()),
            status,
            self.usage,
            error=error,
        )

    def _why_no_quotes(self) -> str:
        """Tell "nothing found" from "found, but nothing could be opened"."""
        why = "browsing ended without any quote, so there is nothing to cite"
        searches = [o for o in self.outcomes if o.kind == "search"]
        done = [o for o in searches if o.ok]
        failed = [o for o in searches if o.failure == "search"]
        fetches = [o for o in self.outcomes if o.failure == "fetch"]
        if failed and not done:
            return f"{why}: the search failed ({failed[-1].reason})"
        if done and all(o.results == 0 for o in done):
            return f"{why}: every search came back empty"
        if fetches:
            n = len(fetches)
            return (
                f"{why}: {n} page{'s' if n > 1 else ''} could not be opened "
                f"(last: {fetches[-1].reason})"
            )
        return why

    def _step(
        self, observation: str, reply: Reply, cmd: Command | None, outcome: Outcome, started: float
    ) -> None:
        n, left = self.usage.actions, self.agent.max_actions - self.usage.actions
        # An action past the argument limit was refused; its first part is enough to show what
        # it was, and a megabyte reply must not add a megabyte to the trace.
        text = reply.text
        kept = text if len(text) <= MAX_ACTION_CHARS else text[:MAX_ACTION_CHARS]
        extra = {} if kept is text else {"action_chars": len(text)}
        self._event(
            "step",
            n=n,
            observation=observation,
            action=kept,
            **extra,
            command=str(cmd) if cmd else None,
            result=outcome.summary(),
            error=outcome.error,
            outcome=outcome.to_dict(),
            ms=round((time.monotonic() - started) * 1000, 1),
            usage={
                "prompt_tokens": reply.prompt_tokens,
                "completion_tokens": reply.completion_tokens,
            },
        )
        if self.on_step:
            self.on_step(StepInfo(n, self.shown[-1], outcome.error, left, outcome))

    def _page_shown(self, key: str, page: Page) -> None:
        self._event("page", **{**page.to_dict(), "key": key})

    def _event(self, type_: str, **fields: Any) -> None:
        if self.trace:
            self.trace.write(type_, **fields)


def _shown(cmd: Command | None, raw: str, outcome: Outcome) -> str:
    """An action as the model may type it: canonical, short, a quote with its number."""
    if cmd is None:
        first = raw.strip().splitlines()[0] if raw.strip() else prompts.message("empty_action")
        return clip(first, 100)
    if cmd.kind == "quote" and outcome.ok:
        words = cmd.arg.split()
        return prompts.message(
            "past_quote",
            n=outcome.quote,
            words=" ".join(words[:8]) + (" …" if len(words) > 8 else ""),
        )
    return clip(str(cmd), 100)


def _past_action(cmd: Command | None, raw: str, outcome: Outcome) -> str:
    """The past-actions line: what was done, and why it failed when it did."""
    shown = _shown(cmd, raw, outcome)
    if outcome.ok:
        return shown
    return prompts.message("failed_action", action=shown, reason=clip(outcome.error or "", 80))
