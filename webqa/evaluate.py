"""``webqa eval``: answer a question file, score every answer, keep everything, resume.

One evaluation is a folder ``DIR``:

- ``DIR/traces/<id>.jsonl`` — one trace per question (with best-of-n, ``<id>.sample-<k>.jsonl``
  per sample, each ending in a ``choice`` event that says whether it was chosen and its score);
- ``DIR/results.jsonl`` — one row per finished question, appended and flushed as each finishes
  (answer, status, error, correct, first-sentence correct, token F1, citations verbatim,
  actions, tokens, seconds), so a killed evaluation loses no finished question;
- ``DIR/summary.json`` — the totals (:class:`Summary`), rewritten at the end of every run.

Running again with the same ``DIR`` skips the questions that have a row (a failed question,
status ``error``, is tried again). The questions run through :func:`webqa.batch.run_batch`
(threads, one :class:`~webqa.session.Session`), or as Ray tasks on a cluster
(:mod:`webqa.raycluster`); both hand each answer to the same scoring and writing code.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from statistics import mean
from typing import Any

from .batch import Item, _safe, run_batch
from .errors import ConfigError
from .records import Answer
from .scoring import score

__all__ = ["evaluate", "Summary", "load_results", "RESULTS", "SUMMARY"]

log = logging.getLogger("webqa.eval")

RESULTS, SUMMARY, TRACES = "results.jsonl", "summary.json", "traces"

#: runs a list of items; calls on_answer(index, item, answer) for each as it finishes
Runner = Callable[[list[Item], Path, Callable[[int, Item, Answer], None]], None]


def load_results(out: str | Path) -> dict[str, dict[str, Any]]:
    """The rows of ``out/results.jsonl`` by question id (the last row of an id wins); a damaged
    line (a write cut by a kill) is skipped."""
    path = Path(out) / RESULTS
    rows: dict[str, dict[str, Any]] = {}
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except FileNotFoundError:
        return rows
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from exc
    for line in lines:
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(row, dict) and isinstance(row.get("id"), str):
            rows[row["id"]] = row
    return rows


@dataclass
class Summary:
    """The totals of an evaluation folder, over the questions of the file it was run with."""

    questions: int
    ran: int = 0
    """Questions answered by this run (the rest came from an earlier run's results)."""
    resumed: int = 0
    answered: int = 0
    failed: int = 0
    statuses: dict[str, int] = field(default_factory=dict)
    graded: int = 0
    correct: int = 0
    accuracy: float | None = None
    first_sentence_correct: int = 0
    first_sentence_accuracy: float | None = None
    token_f1: float | None = None
    citations: int = 0
    citations_verbatim: int = 0
    answers_all_verbatim: int = 0
    words: float | None = None
    seconds_per_question: float | None = None
    actions_per_question: float | None = None
    tokens: int = 0
    wall_seconds: float = 0.0
    best_of: int = 1
    scorer: str | None = None
    problems: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready form (what ``summary.json`` holds)."""
        return asdict(self)

    @property
    def all_failed(self) -> bool:
        """Every question failed (``webqa eval`` exits non-zero)."""
        return self.questions > 0 and self.failed == self.questions


def summarize(items: Sequence[Item], rows: dict[str, dict[str, Any]], **extra: Any) -> Summary:
    """A :class:`Summary` of ``rows`` for ``items`` (those without a row are left out)."""
    found = [rows[i.id] for i in items if i.id in rows]
    s = Summary(questions=len(items), **extra)
    for row in found:
        status = str(row.get("status"))
        s.statuses[status] = s.statuses.get(status, 0) + 1
    s.answered = s.statuses.get("answered", 0)
    s.failed = s.statuses.get("error", 0) + (len(items) - len(found))
    graded = [r for r in found if r.get("correct") is not None]
    s.graded = len(graded)
    if graded:
        s.correct = sum(bool(r["correct"]) for r in graded)
        s.first_sentence_correct = sum(bool(r["first_sentence_correct"]) for r in graded)
        s.accuracy = round(s.correct / s.graded, 4)
        s.first_sentence_accuracy = round(s.first_sentence_correct / s.graded, 4)
        s.token_f1 = round(mean(float(r["token_f1"]) for r in graded), 4)
    answered = [r for r in found if r.get("status") == "answered"]
    s.citations = sum(int(r.get("citations") or 0) for r in found)
    s.citations_verbatim = sum(int(r.get("verbatim") or 0) for r in found)
    s.answers_all_verbatim = sum(bool(r.get("citations_verbatim")) for r in answered)
    if answered:
        s.words = round(mean(int(r.get("words") or 0) for r in answered), 1)
    if found:
        s.seconds_per_question = round(mean(float(r.get("seconds") or 0) for r in found), 3)
        s.actions_per_question = round(mean(int(r.get("actions") or 0) for r in found), 2)
        s.tokens = sum(int(r.get("tokens") or 0) for r in found)
    return s


def _row(
    index: int,
    item: Item,
    answer: Answer,
    trace: Path | None,
    verified: tuple[int, int] | None = None,
) -> dict[str, Any]:
    """The results row of one answer: its text and status, its scores, what it used.
    ``verified`` is ``(verbatim, cited)`` when the trace's citations were checked already."""
    from .scoring import citations_verbatim

    measured = score(answer.text, item.answers)
    verbatim = cited = 0
    if verified is not None and trace is not None and answer.citations:
        verbatim, cited = verified
    elif trace is not None and trace.exists() and answer.citations:
        try:
            verbatim, cited = citations_verbatim(trace)
        except ConfigError as exc:
            log.warning("webqa: cannot check the citations of %s: %s", item.id, exc)
            cited = len(answer.citations)
    usage = answer.usage
    return {
        "id": item.id,
        "index": index,
        "question": item.question,
        "gold": item.answers,
        "answer": answer.text,
        "status": answer.status,
        "error": answer.error,
        "refusal": answer.refusal,
        "correct": measured.correct,
        "first_sentence_correct": measured.first_sentence_correct,
        "token_f1": measured.token_f1,
        "words": measured.words,
        "citations": cited,
        "verbatim": verbatim,
        "citations_verbatim": (verbatim == cited) if cited else None,
        "references": [asdict(c) for c in answer.citations],
        "actions": usage.actions,
        "llm_calls": usage.llm_calls,
        "tokens": usage.prompt_tokens + usage.completion_tokens,
        "seconds": round(usage.seconds, 3),
        "trace": str(trace) if trace is not None and trace.exists() else None,
    }


def evaluate(
    items: Sequence[Item],
    out: str | Path,
    *,
    concurrency: int = 4,
    best_of: int = 1,
    scorer: str = "support",
    reward_url: str | None = None,
    ray: str | None = None,
    session: Any = None,
    problems: Sequence[str] = (),
    on_result: Callable[[dict[str, Any], int, int], None] | None = None,
    **options: Any,
) -> Summary:
    """Answer and score ``items`` into the folder ``out``; return the :class:`Summary`.

    ``concurrency`` questions run at a time (with ``best_of`` N, each question's N samples run
    side by side, so the wall time stays near a single sample's); the chosen sample is picked
    by ``scorer`` (see :mod:`webqa.bestof`). ``ray`` runs the questions on a Ray cluster: an
    address, or ``"local"`` for a Ray instance on this machine. ``session`` (local runs only)
    or ``options`` (:class:`~webqa.session.Session`'s arguments) say how to answer.
    ``on_result(row, done, total)`` is called as each question's row is written.
    """
    if concurrency < 1:
        raise ConfigError("concurrency must be at least 1")
    if best_of < 1:
        raise ConfigError("--best-of must be at least 1")
    if ray is not None and session is not None:
        raise ConfigError("a Ray evaluation opens its sessions on the workers; pass options")
    from .bestof import make_scorer

    chooser = make_scorer(scorer, options=options, reward_url=reward_url) if best_of > 1 else None
    folder = Path(out)
    traces = folder / TRACES
    try:
        traces.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"cannot create {traces}: {exc}") from exc
    earlier = load_results(folder)
    todo = [
        (i, item)
        for i, item in enumerate(items)
        if earlier.get(item.id, {}).get("status") in (None, "error")
    ]
    resumed = len(items) - len(todo)
    samples: list[Item] = []
    where: list[tuple[int, Item, int]] = []  # per sample: question index, item, sample number
    for index, item in todo:
        for k in range(best_of):
            sample_id = item.id if best_of == 1 else f"{item.id}.sample-{k}"
            samples.append(Item(item.question, sample_id, item.answers))
            where.append((index, item, k))
            # a killed run's trace would be appended to, not replaced
            (traces / f"{_safe(sample_id)}.jsonl").unlink(missing_ok=True)

    lock = threading.Lock()
    results = _Appender(folder / RESULTS)
    rows = dict(earlier)
    groups: dict[int, dict[int, Answer]] = {}
    done = {"n": resumed}
    started = time.perf_counter()

    def write(row: dict[str, Any]) -> None:
        with lock:
            results.write(json.dumps(row, ensure_ascii=False) + "\n")
            rows[row["id"]] = row
            done["n"] += 1
            n = done["n"]
        if on_result:
            on_result(row, n, len(items))

    def on_answer(sample_index: int, sample: Item, answer: Answer) -> None:
        index, item, k = where[sample_index]
        trace = traces / f"{_safe(sample.id)}.jsonl"
        if best_of == 1:
            write(_row(index, item, answer, trace))
            return
        with lock:
            group = groups.setdefault(index, {})
            group[k] = answer
            if len(group) < best_of:
                return
            del groups[index]
        assert chooser is not None
        paths = [traces / f"{_safe(item.id)}.sample-{j}.jsonl" for j in range(best_of)]
        answers = [group[j] for j in range(best_of)]
        choice = chooser.choose(item.question, answers, paths)
        chosen = choice.chosen
        checked = choice.verified[chosen] if chosen < len(choice.verified) else None
        row = _row(index, item, answers[chosen], paths[chosen], checked)
        row["seconds"] = round(max(a.usage.seconds for a in answers), 3)
        row["tokens"] = sum(a.usage.prompt_tokens + a.usage.completion_tokens for a in answers)
        row["best_of"] = {
            "n": best_of,
            "scorer": choice.scorer,
            "chosen": chosen,
            "scores": choice.scores,
            "details": choice.details,
            "samples": [str(p) for p in paths],
            "answers": [a.text for a in answers],
            "statuses": [a.status for a in answers],
        }
        if choice.error:
            row["best_of"]["scorer_error"] = choice.error
        for j, path in enumerate(paths):
            _append_choice(
                path, chosen=j == chosen, sample=j, scores=choice.scores, scorer=choice.scorer
            )
        write(row)

    try:
        if samples:
            if ray is not None:
                from .raycluster import run_on_ray

                run_on_ray(
                    samples,
                    traces,
                    on_answer,
                    address=ray,
                    concurrency=concurrency * best_of,
                    options=options,
                )
            else:
                run_batch(
                    samples,
                    concurrency=concurrency * best_of,
                    traces=traces,
                    session=session,
                    on_answer=on_answer,
                    **options,
                )
    finally:
        results.close()
        summary = summarize(
            items,
            rows,
            ran=len(todo),
            resumed=resumed,
            wall_seconds=round(time.perf_counter() - started, 3),
            best_of=best_of,
            scorer=chooser.name if chooser else None,
            problems=list(problems),
        )
        try:
            (folder / SUMMARY).write_text(
                json.dumps(summary.to_dict(), indent=2) + "\n", encoding="utf-8"
            )
        except OSError as exc:
            log.warning("webqa: cannot write %s: %s", folder / SUMMARY, exc)
        if chooser:
            chooser.close()
    return summary


class _Appender:
    """A file appended to line by line, each line flushed (a kill loses no finished row)."""

    def __init__(self, path: Path) -> None:
        try:
            # a kill mid-write leaves a line without its end: the next row starts a fresh line
            cut = path.exists() and path.stat().st_size > 0 and _last_byte(path) != b"\n"
            self._file = path.open("a", encoding="utf-8")
            if cut:
                self._file.write("\n")
        except OSError as exc:
            raise ConfigError(f"cannot write {path}: {exc}") from exc

    def write(self, line: str) -> None:
        self._file.write(line)
        self._file.flush()

    def close(self) -> None:
        self._file.close()


def _last_byte(path: Path) -> bytes:
    with path.open("rb") as f:
        f.seek(-1, 2)
        return f.read(1)


def _append_choice(path: Path, **fields: Any) -> None:
    """Mark a best-of-n sample's trace with the choice (an event kind the tools skip)."""
    if not path.exists():
        return
    run_id = ""
    try:
        with path.open("rb") as f:
            first = json.loads(f.readline() or b"{}")
        run_id = str(first.get("run", "")) if isinstance(first, dict) else ""
    except (OSError, json.JSONDecodeError):
        pass
    event = {"type": "choice", "t": 0.0, "run": run_id, **fields}
    try:
        with path.open("ab") as f:
            f.write(json.dumps(event, ensure_ascii=False).encode("utf-8") + b"\n")
    except OSError as exc:
        log.warning("webqa: cannot mark %s as a best-of-n sample: %s", path, exc)
