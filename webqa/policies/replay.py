"""Replay a saved trace: re-issue its actions against its own page snapshots.

Used to check determinism (the replayed observations must equal the recorded ones) and to
re-derive training data from old traces with the current prompts.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..records import Page
from ..pages import SnapshotPages
from . import Reply

if TYPE_CHECKING:
    from ..observation import Observation
    from ..records import Quote

__all__ = ["ReplayPolicy", "snapshot_pages"]


class ReplayPolicy:
    """Replies with the recorded actions and the recorded answer, in order."""

    name = "replay"

    def __init__(self, events: list[dict[str, Any]]) -> None:
        self._actions = [e["action"] for e in events if e["type"] == "step"]
        answers = [e for e in events if e["type"] == "answer"]
        self._answer = answers[-1].get("raw", answers[-1]["text"]) if answers else ""
        self.observations: list[str] = []

    def act(self, obs: Observation) -> Reply:
        """The next recorded action; remembers the observation for comparison."""
        self.observations.append(obs.text)
        return Reply(self._actions.pop(0) if self._actions else "End: Answer")

    def answer(self, question: str, quotes: list[Quote]) -> Reply:
        """The recorded answer text."""
        return Reply(self._answer)


def snapshot_pages(events: list[dict[str, Any]]) -> SnapshotPages:
    """A page provider serving the trace's page snapshots."""
    return SnapshotPages(Page.from_dict(e) for e in events if e["type"] == "page")
