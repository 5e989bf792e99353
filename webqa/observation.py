"""The observation: everything the policy sees at one step (DESIGN §3, WebGPT's Figure 1b).

Each step is a fresh context, so the observation carries the whole memory: question, quotes,
past actions, the current screen and the actions left. It is rendered from
``prompts/observation.j2``; the structured fields are kept for policies that read them directly.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from . import prompts
from .browser import Browser
from .commands import VALID_FORMS
from .records import Page, Quote

__all__ = ["Observation", "observe"]

#: Past actions shown to the model; older ones are summarised as a count to bound the prompt.
MAX_PAST_ACTIONS = 20


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
    error: str | None = None
    text: str = ""


def observe(question: str, browser: Browser, past_actions: list[str], actions_left: int,
            error: str | None = None, *, show_forms: bool = False) -> Observation:
    """Build and render the observation for the browser's current state."""
    view = browser.view
    top, lines = browser.window() if view else (0, [])
    shown = past_actions[-MAX_PAST_ACTIONS:]
    if len(past_actions) > len(shown):
        shown = [f"({len(past_actions) - len(shown)} earlier actions)", *shown]
    obs = Observation(question, list(browser.quotes), list(past_actions), actions_left,
                      view.page if view else None, top, lines, error)
    page = obs.page
    obs.text = prompts.render(
        "observation.j2",
        question=question,
        quotes=obs.quotes,
        past_actions=shown,
        error=error,
        show_forms=show_forms,
        valid_forms=VALID_FORMS,
        title=_title_line(page) if page else "",
        first_line=top,
        last_line=top + max(len(lines) - 1, 0),
        total_lines=len(page.lines) if page else 0,
        notes=page.notes if page else (),
        text="\n".join(lines),
        actions_left=actions_left,
    )
    return obs


def _title_line(page: Page) -> str:
    return f"{page.title} ({page.domain})" if page.domain else page.title
