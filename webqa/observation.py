"""The observation: everything the policy sees at one step (DESIGN §3, WebGPT's Figure 1b).

Each step is a fresh context, so the observation carries the whole memory: question, quotes,
past actions, what the last action did, the current screen and the actions left. It is
rendered from ``prompts/observation.j2``; the structured fields are kept for policies that read
them directly (the extractive policy, the tools protocol).

Its size is bounded whatever the pages and the model send: the screen is a fixed number of
wrapped lines, quotes have their own budget, and echoed text (the question, past actions,
messages) is clipped.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from . import prompts
from .browser import Browser, Outcome
from .commands import clip, valid_forms
from .records import Page, Quote
from .textmatch import MATCH_MARK

__all__ = [
    "Observation",
    "observe",
    "MAX_PAST_ACTIONS",
    "MAX_QUESTION_CHARS",
    "MAX_LINE_CHARS",
    "MAX_OBSERVATION_CHARS",
]

#: Past actions shown to the model; older ones are summarised as a count to bound the prompt.
MAX_PAST_ACTIONS = 20

#: The question as shown at every step; a longer one is cut (the run still has all of it).
MAX_QUESTION_CHARS = 2000

#: Longest screen line shown: the renderer wraps at about 100 columns, this guards the rest.
MAX_LINE_CHARS = 400

#: A hard bound on the whole observation, whatever the limits are set to.
MAX_OBSERVATION_CHARS = 40_000


@dataclass
class Observation:
    """One step's view of the run."""

    question: str
    quotes: list[Quote]
    past_actions: list[str]
    actions_left: int
    page: Page | None = None
    top: int = 0
    lines: list[str] = field(default_factory=list)
    last: Outcome | None = None
    """What the previous command did (None at the first step)."""
    text: str = ""

    @property
    def error(self) -> str | None:
        """Why the previous command failed, or None."""
        return self.last.error if self.last else None


def observe(
    question: str,
    browser: Browser,
    past_actions: list[str],
    actions_left: int,
    last: Outcome | None = None,
) -> Observation:
    """Build and render the observation for the browser's current state."""
    view = browser.view
    top, lines = browser.window() if view else (0, [])
    lines = [line if len(line) <= MAX_LINE_CHARS else line[:MAX_LINE_CHARS] + "…" for line in lines]
    if last is not None and last.kind == "find" and last.match_line is not None:
        at = last.match_line - top
        if 0 <= at < len(lines):
            lines[at] = f"{MATCH_MARK} {lines[at]}"
    shown = past_actions[-MAX_PAST_ACTIONS:]
    if len(past_actions) > len(shown):
        shown = [prompts.message("earlier_actions", count=len(past_actions) - len(shown)), *shown]
    page = view.page if view else None
    obs = Observation(
        question, list(browser.quotes), list(past_actions), actions_left, page, top, lines, last
    )
    obs.text = prompts.render(
        "observation.j2",
        question=question
        if len(question) <= MAX_QUESTION_CHARS
        else question[:MAX_QUESTION_CHARS] + "…",
        quotes=obs.quotes,
        past_actions=shown,
        last=last.summary() if last else "",
        failed=bool(last and not last.ok),
        show_forms=bool(last and last.failure == "format"),
        valid_forms=valid_forms(),
        title=(clip(page.title, 200) + (f" ({page.domain})" if page.domain else ""))
        if page
        else "",
        url=page.url if page else "",
        first_line=top,
        last_line=top + max(len(lines) - 1, 0),
        total_lines=len(page.lines) if page else 0,
        notes=page.notes if page else (),
        text="\n".join(lines),
        actions_left=actions_left,
    )
    if len(obs.text) > MAX_OBSERVATION_CHARS:
        obs.text = obs.text[: MAX_OBSERVATION_CHARS - 20] + "\n…\n♦Next action\n"
    return obs
