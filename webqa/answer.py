"""The answer phase's bookkeeping: check ``[n]`` markers against the quotes, build citations."""

from __future__ import annotations

import re

from .records import Citation, Quote

__all__ = ["check_markers", "citations_for"]

_GROUP = re.compile(r"\[(\s*\d+(?:\s*[,;]\s*\d+)*\s*)\]")


def check_markers(text: str, n_quotes: int) -> tuple[str, set[int], int]:
    """Remove markers that point at no quote; return (text, cited numbers, markers removed).

    ``[2, 5]`` with only 3 quotes becomes ``[2]``; a group with nothing valid left is dropped.
    """
    cited: set[int] = set()
    removed = 0

    def fix(m: re.Match[str]) -> str:
        nonlocal removed
        nums = [int(x) for x in re.split(r"[,;]", m.group(1))]
        good = [n for n in nums if 1 <= n <= n_quotes]
        removed += len(nums) - len(good)
        cited.update(good)
        return f"[{', '.join(map(str, good))}]" if good else ""

    fixed = _GROUP.sub(fix, text)
    fixed = re.sub(r"[ \t]+([.,;:!?])", r"\1", fixed) if removed else fixed
    return fixed.strip(), cited, removed


def citations_for(quotes: list[Quote], cited: set[int]) -> list[Citation]:
    """One citation per quote, numbered from 1; quotes no marker cites are kept, marked uncited."""
    return [
        Citation(i, q.url, q.title, q.text, q.line_start, q.line_end, cited=i in cited)
        for i, q in enumerate(quotes, 1)
    ]
