"""The loop: observation → policy → parse → browser → observation, then the answer phase.

The agent knows no HTML and no HTTP. A command that cannot apply (ActionError) or a page that
cannot be had (FetchError) becomes the next observation; a failing LLM (ModelError) ends the
run with status ``error``. The trace gets every step as it finishes and always an ``end``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from . import __version__
from .answer import check_markers, citations_for
from .browser import Browser
from .commands import Command, parse
from .errors import ActionError, FetchError, FormatError, ModelError, SearchError
from .observation import observe
from .policies import Policy
from .records import Answer, Page, Status, Usage
from .trace import TraceWriter

__all__ = ["Agent", "StepInfo"]


@dataclass(frozen=True)
class StepInfo:
    """What one step did, for progress displays."""

    n: int
    action: str
    error: str | None
    actions_left: int


class Agent:
    """Runs one question through a policy and a browser."""

    def __init__(self, policy: Policy, browser: Browser, *, max_actions: int = 100,
                 trace: TraceWriter | None = None, on_step: Callable[[StepInfo], None] | None = None,
                 config: dict[str, Any] | None = None) -> None:
        self.policy, self.browser, self.max_actions = policy, browser, max_actions
        self.trace, self.on_step, self.config = trace, on_step, config or {}
        self._traced_pages: set[str] = set()
        self._fetch_errors: list[str] = []
        self._search_errors: list[str] = []
        self._searches = self._empty_searches = 0
        browser.on_page = self._page_shown

    def run(self, question: str) -> Answer:
        """Browse until the policy ends, a limit is hit or the LLM fails; then answer."""
        usage, started = Usage(), time.monotonic()
        self._fetch_errors, self._search_errors = [], []
        self._searches = self._empty_searches = 0
        self._event("run", format="webqa-trace/1", question=question, config=self.config,
                    versions={"webqa": __version__}, started=time.time())
        answer = Answer(question, "", [], "error", usage, error="interrupted")
        try:
            status, reason = self._browse(question, usage)
            answer = self._answer(question, status, reason, usage)
        except ModelError as exc:
            answer = Answer(question, "", citations_for(self.browser.quotes, set()), "error",
                            usage, error=str(exc))
        finally:
            usage.seconds = round(time.monotonic() - started, 3)
            answer.trace_path = str(self.trace.path) if self.trace else None
            self._event("end", status=answer.status, error=answer.error, usage=usage)
            if self.trace:
                self.trace.close()
        return answer

    def _browse(self, question: str, usage: Usage) -> tuple[Status, str | None]:
        past: list[str] = []
        error, show_forms = None, False
        while usage.actions < self.max_actions:
            obs = observe(question, self.browser, past, self.max_actions - usage.actions, error,
                          show_forms=show_forms)
            started = time.monotonic()
            reply = self.policy.act(obs)
            usage.actions += 1
            if reply.llm_calls:
                usage.add_llm(reply.prompt_tokens, reply.completion_tokens)
            cmd, result, error, show_forms = None, None, None, False
            try:
                cmd = parse(reply.text)
                result = self.browser.execute(cmd)
            except ActionError as exc:
                error, show_forms = str(exc), isinstance(exc, FormatError)
                usage.invalid_actions += 1
            except SearchError as exc:
                error = f"The search failed: {exc}"
                self._search_errors.append(str(exc))
            except FetchError as exc:
                error = f"Could not open the page: {exc}"
                self._fetch_errors.append(str(exc))
            if cmd and cmd.kind == "search" and not error:
                self._searches += 1
                self._empty_searches += result == "0 results"
            past.append(self._summary(cmd, reply.text, error))
            self._event("step", n=usage.actions, observation=obs.text, action=reply.text,
                        command=str(cmd) if cmd else None, result=result, error=error,
                        ms=round((time.monotonic() - started) * 1000, 1),
                        usage={"prompt_tokens": reply.prompt_tokens,
                               "completion_tokens": reply.completion_tokens})
            if self.on_step:
                self.on_step(StepInfo(usage.actions, past[-1], error,
                                      self.max_actions - usage.actions))
            if cmd and cmd.kind == "end" and not error:
                return ("answered", None) if cmd.arg == "answer" else ("refused", cmd.arg)
            if self.browser.quotes_full:
                return "answered", None  # WebGPT: the reference budget ends browsing
        return "budget_exhausted", None

    def _answer(self, question: str, status: Status, reason: str | None, usage: Usage) -> Answer:
        quotes = self.browser.quotes
        if status == "refused":
            return Answer(question, "", citations_for(quotes, set()), "refused", usage,
                          refusal=reason)
        if not quotes:
            final: Status = "budget_exhausted" if status == "budget_exhausted" else "no_quotes"
            return Answer(question, "", [], final, usage, error=self._why_no_quotes())
        reply = self.policy.answer(question, quotes)
        if reply.llm_calls:
            usage.add_llm(reply.prompt_tokens, reply.completion_tokens)
        text, cited, removed = check_markers(reply.text, len(quotes))
        answer = Answer(question, text, citations_for(quotes, cited), "answered", usage,
                        removed_markers=removed)
        self._event("answer", text=text, raw=reply.text, citations=answer.citations,
                    removed_markers=removed, quotes=quotes)
        return answer

    def _why_no_quotes(self) -> str:
        """Tell "nothing found" from "found, but nothing could be opened"."""
        why = "browsing ended without any quote, so there is nothing to cite"
        if self._search_errors and not self._searches:
            return f"{why}: the search failed ({self._search_errors[-1]})"
        if self._searches and self._empty_searches == self._searches:
            return f"{why}: every search came back empty"
        if self._fetch_errors:
            n = len(self._fetch_errors)
            return (f"{why}: {n} page{'s' if n > 1 else ''} could not be opened "
                    f"(last: {self._fetch_errors[-1]})")
        return why

    def _summary(self, cmd: Command | None, raw: str, error: str | None) -> str:
        """The past-actions line: WebGPT's abbreviations, failures marked."""
        if cmd is None or error:
            shown = (str(cmd) if cmd else raw.strip().splitlines()[0] if raw.strip() else "(empty)")
            return f"{shown[:100]} (failed)"
        if cmd.kind in ("click", "open") and self.browser.view:
            page = self.browser.view.page
            return f"Clicked on link {page.title} ({page.domain})" if page.domain else str(cmd)
        return "Quote" if cmd.kind == "quote" else str(cmd)

    def _page_shown(self, key: str, page: Page) -> None:
        if key not in self._traced_pages:
            self._traced_pages.add(key)
            self._event("page", **{**page.to_dict(), "key": key})

    def _event(self, type_: str, **fields: Any) -> None:
        if self.trace:
            self.trace.write(type_, **fields)
