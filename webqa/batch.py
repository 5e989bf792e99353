"""Many questions at once: concurrent runs sharing one corpus, one LLM client and one page cache.

Each run is still the sequential loop of ``webqa ask`` with its own trace; the concurrency is
across questions (threads: the runs spend their time waiting on the LLM and the network).
"""

from __future__ import annotations

import json
import re
import sys
import unicodedata
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .api import ask, open_web, policy_factory
from .errors import ConfigError
from .pages import PageCache
from .records import Answer

__all__ = ["Item", "read_questions", "run_batch", "is_correct"]


@dataclass
class Item:
    """One question of a batch, with its id and the gold answers when the file has them."""

    question: str
    id: str = ""
    answers: list[str] = field(default_factory=list)


def read_questions(path: str | Path) -> list[Item]:
    """Questions from a JSONL file (``question``, optional ``id`` and ``answers``), a text file
    with one question per line, or ``-`` for standard input."""
    try:
        text = sys.stdin.read() if str(path) == "-" else Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read questions from {path}: {exc}") from exc
    items = []
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line:
            continue
        if line.startswith("{"):
            try:
                row = json.loads(line)
                items.append(Item(str(row["question"]), str(row.get("id", number)),
                                  [str(a) for a in row.get("answers", [])]))
            except (json.JSONDecodeError, KeyError, TypeError) as exc:
                raise ConfigError(f"{path}, line {number}: not a question object ({exc})") from exc
        else:
            items.append(Item(line, str(number)))
    if not items:
        raise ConfigError(f"no questions in {path}")
    return items


def _norm(text: str) -> str:
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c)).lower()
    return " ".join(re.sub(r"[^\w\s]", " ", text).split())


def is_correct(answer_text: str, golds: Iterable[str]) -> bool:
    """Whether a gold answer appears in the answer, as whole words, ignoring case, accents and
    punctuation."""
    hay = f" {_norm(answer_text)} "
    return any(f" {_norm(g)} " in hay for g in golds if _norm(g))


def run_batch(items: list[Item], *, corpus: str | Path | None = None, policy: str = "auto",
              concurrency: int = 4, traces: str | Path | bool | None = None,
              on_answer: Callable[[Item, Answer], None] | None = None,
              model_options: dict[str, Any] | None = None, **options: Any) -> list[Answer]:
    """Answer ``items`` with ``concurrency`` runs at a time; answers come back in input order.

    ``traces`` is a folder for one trace per question (default: the user data dir; False:
    none);
    ``model_options`` go to :func:`webqa.api.policy_factory`, other ``options`` to
    :func:`webqa.api.ask` (``max_actions``, ``limits``) or :func:`webqa.api.open_web`.
    """
    if concurrency < 1:
        raise ConfigError("concurrency must be at least 1")
    web_keys = {"engine", "allow_private", "block", "searxng_url"}
    engine, source = open_web(corpus, **{k: v for k, v in options.items() if k in web_keys})
    run_options = {k: v for k, v in options.items() if k not in web_keys}
    new_policy = policy_factory(policy, **(model_options or {}))
    # Pages of an offline corpus never change, so runs share their renders; the live web's may.
    cache = PageCache() if corpus is not None else None
    folder = Path(traces) if traces not in (None, False, True) else None
    if folder:
        folder.mkdir(parents=True, exist_ok=True)

    def one(item: Item) -> Answer:
        trace: Path | bool | None = None  # None: the default location
        if folder:
            trace = folder / f"{_safe(item.id)}.jsonl"
        elif traces is False:
            trace = False
        answer = ask(item.question, policy=new_policy(), engine=engine, source=source,
                     cache=cache, trace=trace, **run_options)
        if on_answer:
            on_answer(item, answer)
        return answer

    with ThreadPoolExecutor(concurrency) as pool:
        return list(pool.map(one, items))


def _safe(name: str) -> str:
    return re.sub(r"[^\w.-]+", "_", name)[:80] or "question"
