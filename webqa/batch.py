"""Many questions at once: concurrent runs of one :class:`~webqa.session.Session`.

Each run is still the sequential loop of ``webqa ask`` with its own trace; the concurrency is
across questions: threads when the runs spend their time waiting on the LLM and the network,
worker processes (each with its own session) when the extractive policy answers from an offline
corpus, where threads would only take turns at the interpreter lock.
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

__all__ = ["Item", "read_questions", "read_question_file", "run_batch", "is_correct", "InOrder"]

log = logging.getLogger("webqa")


@dataclass
class Item:
    """One question of a batch, with its id and the gold answers when the file has them."""

    question: str
    id: str = ""
    answers: list[str] = field(default_factory=list)


def read_question_file(path: str | Path) -> tuple[list[Item], list[str]]:
    """The questions of a JSONL file (``question``, optional ``id`` and ``answers``), a text
    file with one question per line, or ``-`` for standard input; and the problems found.

    A bad line does not stop the file: it is reported with its line number and left out
    (``webqa eval`` goes on without it; :func:`read_questions` refuses the file). A repeated
    id (after the file-name mapping of trace names) is reported and its later lines left out,
    since ids key results and traces.
    """
    try:
        text = sys.stdin.read() if str(path) == "-" else Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read questions from {path}: {exc}") from exc
    items: list[Item] = []
    problems: list[str] = []
    first_line: dict[str, int] = {}
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line:
            continue
        if line.startswith("{"):
            try:
                row = json.loads(line)
                question = row["question"]
                if not isinstance(question, str) or not question.strip():
                    raise ValueError("'question' is not a non-empty string")
                golds = row.get("answers", [])
                if not isinstance(golds, list):
                    raise ValueError("'answers' is not a list")
                item = Item(question, str(row.get("id", number)), [str(a) for a in golds])
            except (
                json.JSONDecodeError,
                KeyError,
                TypeError,
                ValueError,
                RecursionError,
                AttributeError,
            ) as exc:
                problems.append(f"{path}, line {number}: not a question object ({exc}); skipped")
                continue
        else:
            item = Item(line, str(number))
        key = _safe(item.id)
        if key in first_line:
            problems.append(
                f"{path}, line {number}: duplicate id {item.id!r} (first on line "
                f"{first_line[key]}); skipped"
            )
            continue
        first_line[key] = number
        items.append(item)
    if not items:
        raise ConfigError(f"no questions in {path}" + (f" ({problems[0]})" if problems else ""))
    return items, problems


def read_questions(path: str | Path) -> list[Item]:
    """The questions of a file, as :func:`read_question_file` reads them; a bad line or a
    repeated id is a :class:`ConfigError` (``webqa batch`` answers all of a file or none)."""
    items, problems = read_question_file(path)
    if problems:
        raise ConfigError(problems[0].removesuffix("; skipped"))
    return items


def run_batch(
    items: list[Item],
    *,
    concurrency: int = 4,
    traces: str | Path | bool | None = None,
    session: Session | None = None,
    on_answer: Callable[[int, Item, Answer], None] | None = None,
    **options: Any,
) -> list[Answer]:
    """Answer ``items`` with ``concurrency`` runs at a time; return the answers in input order.

    ``on_answer(index, item, answer)`` is called as each question finishes (in any order; see
    :class:`InOrder` to write them in input order), from the worker thread, or from the
    calling thread when worker processes run the questions (the extractive policy on an
    offline corpus, with ``concurrency`` above 1 and no ``session`` given). ``traces`` is a
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

    def trace_for(item: Item) -> Path | bool | None:
        return (
            folder / f"{_safe(item.id)}.jsonl" if folder else (False if traces is False else None)
        )

    if session is None and concurrency > 1 and len(items) > 1 and _cpu_bound(options):
        return _run_processes(items, concurrency, trace_for, on_answer, options)
    own = session is None
    session = session or Session(**options)

    def one(index: int, item: Item) -> Answer:
        answer = _answer(session, item, trace_for(item))
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


def _answer(session: Session, item: Item, trace: Path | bool | None) -> Answer:
    try:
        return session.ask(item.question, trace=trace)
    except WebQAError as exc:
        return Answer(item.question, "", [], "error", Usage(), error=str(exc))
    except Exception as exc:  # a bug in one run must not end the others
        log.error("webqa: question %r failed", item.id, exc_info=True)
        return Answer(item.question, "", [], "error", Usage(), error=f"{type(exc).__name__}: {exc}")


def _cpu_bound(options: dict[str, Any]) -> bool:
    """Whether runs opened from ``options`` use no network at all (the extractive policy on
    an offline corpus), so processes rather than threads run them side by side. Only
    ``fork`` hands a worker its options as they are (callbacks included)."""
    import multiprocessing

    return (
        options.get("policy") == "extractive"
        and options.get("corpus") is not None
        and options.get("engine") is None
        and options.get("source") is None
        and "fork" in multiprocessing.get_all_start_methods()
    )


_WORKER_SESSION: Session | None = None


def _start_worker(options: dict[str, Any]) -> None:
    global _WORKER_SESSION
    _WORKER_SESSION = Session(**options)


def _worker_answer(item: Item, trace: Path | bool | None) -> Answer:
    if _WORKER_SESSION is None:  # pragma: no cover - the initializer failed
        raise ConfigError("batch worker has no session")
    return _answer(_WORKER_SESSION, item, trace)


def _run_processes(
    items: list[Item],
    concurrency: int,
    trace_for: Callable[[Item], Path | bool | None],
    on_answer: Callable[[int, Item, Answer], None] | None,
    options: dict[str, Any],
) -> list[Answer]:
    """:func:`run_batch` over worker processes, each with a session of its own; answers
    reach ``on_answer`` in this process, in the order they finish."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    # A session that cannot open fails here, with its own error, before any worker starts.
    Session(**options).close()
    workers = min(concurrency, len(items))
    # Forked workers inherit the options as they are: a notice callback needs no pickling.
    pool = ProcessPoolExecutor(
        workers,
        mp_context=multiprocessing.get_context("fork"),
        initializer=_start_worker,
        initargs=(options,),
    )
    answers: list[Answer | None] = [None] * len(items)
    try:
        futures = {
            pool.submit(_worker_answer, item, trace_for(item)): i for i, item in enumerate(items)
        }
        for future in as_completed(futures):
            index = futures[future]
            try:
                answer = future.result()
            except Exception as exc:  # a worker that died: this question fails, not the rest
                log.error("webqa: question %r failed", items[index].id, exc_info=True)
                answer = Answer(
                    items[index].question,
                    "",
                    [],
                    "error",
                    Usage(),
                    error=f"{type(exc).__name__}: {exc}",
                )
            answers[index] = answer
            if on_answer:
                on_answer(index, items[index], answer)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    return [a for a in answers if a is not None]


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
