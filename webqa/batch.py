"""Many questions at once: concurrent runs of one :class:`~webqa.session.Session`.

Each run is still the sequential loop of ``webqa ask`` with its own trace; the concurrency is
across questions (threads: the runs spend their time waiting on the LLM and the network).
Each answer is handed over as soon as it is ready, so a caller that writes them as they come
loses nothing finished when the batch is interrupted.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import ConfigError, WebQAError
from .records import Answer, Usage
from .scoring import is_correct
from .session import Session

__all__ = ["Item", "read_questions", "run_batch", "is_correct", "InOrder"]

log = logging.getLogger("webqa")


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
    except (OSError, UnicodeDecodeError) as exc:
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
            except (json.JSONDecodeError, KeyError, TypeError, RecursionError) as exc:
                raise ConfigError(f"{path}, line {number}: not a question object ({exc})") from exc
        else:
            items.append(Item(line, str(number)))
    if not items:
        raise ConfigError(f"no questions in {path}")
    return items


def run_batch(items: list[Item], *, concurrency: int = 4, traces: str | Path | bool | None = None,
              session: Session | None = None,
              on_answer: Callable[[int, Item, Answer], None] | None = None,
              **options: Any) -> list[Answer]:
    """Answer ``items`` with ``concurrency`` runs at a time; return the answers in input order.

    ``on_answer(index, item, answer)`` is called from the worker thread as each question
    finishes (in any order; see :class:`InOrder` to write them in input order). ``traces`` is a
    folder for one trace per question (default: the user data dir; False: none). Use
    ``session``, or one opened from ``options`` (:class:`Session`'s arguments) and closed at
    the end. A question whose run fails is answered with status ``error``; the rest go on. On
    Ctrl-C the questions not yet started are cancelled, the running ones finish (and reach
    ``on_answer``), then KeyboardInterrupt propagates.
    """
    if concurrency < 1:
        raise ConfigError("concurrency must be at least 1")
    folder = Path(traces) if isinstance(traces, (str, Path)) else None
    if folder:
        folder.mkdir(parents=True, exist_ok=True)
    own = session is None
    session = session or Session(**options)

    def one(index: int, item: Item) -> Answer:
        trace: Path | bool | None = folder / f"{_safe(item.id)}.jsonl" if folder else (
            False if traces is False else None)
        try:
            answer = session.ask(item.question, trace=trace)
        except WebQAError as exc:
            answer = Answer(item.question, "", [], "error", Usage(), error=str(exc))
        except Exception as exc:  # a bug in one run must not end the others
            log.error("webqa: question %r failed", item.id, exc_info=True)
            answer = Answer(item.question, "", [], "error", Usage(),
                            error=f"{type(exc).__name__}: {exc}")
        if on_answer:
            on_answer(index, item, answer)
        return answer

    pool = ThreadPoolExecutor(concurrency)
    try:
        futures: list[Future[Answer]] = [pool.submit(one, i, item) for i, item in enumerate(items)]
        return [future.result() for future in futures]
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        if own:
            session.close()


class InOrder:
    """Writes rows in input order though they arrive in any order (a reorder buffer).

    :meth:`flush` writes whatever still waits behind a missing row — after an interrupted
    batch, so nothing finished is lost; each row carries its own index for that case.
    """

    def __init__(self, write: Callable[[dict[str, Any]], None]) -> None:
        self._write = write
        self._next = 0
        self._waiting: dict[int, dict[str, Any]] = {}
        self._lock = threading.Lock()

    def add(self, index: int, row: dict[str, Any]) -> None:
        """Take row ``index``; write it and any rows it was holding back."""
        with self._lock:
            self._waiting[index] = row
            while self._next in self._waiting:
                self._write(self._waiting.pop(self._next))
                self._next += 1

    def flush(self) -> None:
        """Write the rows still waiting, in index order."""
        with self._lock:
            for index in sorted(self._waiting):
                self._write(self._waiting.pop(index))


def _safe(name: str) -> str:
    return re.sub(r"[^\w.-]+", "_", name)[:80] or "question"
