"""Replay a saved trace: re-issue its actions against its own page snapshots.

Used to check determinism (the replayed observations must equal the recorded ones) and to
re-derive training data from old traces with the current prompts.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..pages import SnapshotLoader
from ..records import Page
from . import Reply

if TYPE_CHECKING:
    from ..observation import Observation
    from ..records import Quote

__all__ = ["ReplayPolicy", "snapshot_pages"]


class ReplayPolicy:
    """Replies with the recorded actions and the recorded answer, in order."""

    name = "replay"

    def __init__(self, events: list[dict[str, Any]]) -> None:
        self.events = events
        run = next((e for e in events if e.get("type") == "run"), {})
        config = run["config"] if isinstance(run.get("config"), dict) else {}
        # A tools-protocol step records the command's canonical text, or why the call was
        # rejected: read back the same way, its observations reproduce.
        self._tools = config.get("protocol") == "tools"
        self._actions = [str(e.get("action", "")) for e in events if e.get("type") == "step"]
        answers = [e for e in events if e.get("type") == "answer"]
        last = answers[-1] if answers else {}
        self._answer = str(last.get("raw") or last.get("text") or "")
        self.observations: list[str] = []

    def start(self, question: str) -> ReplayPolicy:
        """A fresh replay of the same trace."""
        return ReplayPolicy(self.events)

    def act(self, obs: Observation) -> Reply:
        """The next recorded action; remembers the observation for comparison."""
        self.observations.append(obs.text)
        text = self._actions.pop(0) if self._actions else "End: Answer"
        if self._tools:
            from ..toolspec import command_for_action

            return Reply(text, command=command_for_action(text))
        return Reply(text)

    def answer(self, question: str, quotes: list[Quote], feedback: str | None = None) -> Reply:
        """The recorded answer text."""
        return Reply(self._answer)


def snapshot_pages(events: list[dict[str, Any]]) -> SnapshotLoader:
    """A page loader serving the trace's page snapshots."""
    return SnapshotLoader(Page.from_dict(e) for e in events if e.get("type") == "page")
