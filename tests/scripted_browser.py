"""A scripted browsing model for the chat server: search the question, open the first result,
quote its first long line, then answer with ``answer(prompt)`` (default: one cited sentence)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def browsing_model(
    answer: Callable[[str], str] | None = None, judge: Callable[[str], str] | None = None
) -> Callable[[dict[str, Any]], str]:
    """A chat-server policy; ``judge(prompt)`` answers the judge prompts when given."""

    def model(request: dict[str, Any]) -> str:
        user = request["messages"][-1]["content"]
        if judge is not None and user.startswith(("You are judging", "You are comparing")):
            return judge(user)
        if "■" in user:
            return answer(user) if answer else "See the quote [1]."
        if "(no page open" in user:
            return "Search " + user.split("♦Question\n", 1)[1].split("\n", 1)[0]
        if "♦Title\nSearch results for:" in user:
            return "Clicked on link 0"
        if "♦Quotes\n(none yet)" in user:
            lines = user.split("♦Text\n", 1)[1].splitlines()
            quotable = [x for x in lines if len(x) > 40 and "【" not in x and "▶" not in x]
            return "Quote: " + quotable[0][:40] if quotable else "End: Answer"
        return "End: Answer"

    return model
