"""Comparisons: which of two answers to one question is better, as WebGPT recorded them.

A comparison is one JSON line in the schema of the ``openai/webgpt_comparisons`` dataset, so
reward-model code written for it reads these too::

    {"question": {"full_text": "...", "id": "...", "dataset": "webqa"},
     "quotes_0": {"title": ["..."], "extract": ["..."]}, "answer_0": "... [1]",
     "tokens_0": [], "score_0": 0.5,
     "quotes_1": {...}, "answer_1": "...", "tokens_1": [], "score_1": -0.5,
     "trace_0": "<run id>", "trace_1": "<run id>", "judge": "person" | "model ..."}

Scores are WebGPT's 5-point preference mapped to -1..1 and summing to 0: "A much better" is
``score_0 = 1``, "A better" 0.5, "equal" 0, "B better" -0.5, "B much better" -1. ``tokens_*``
are left empty (webqa does not tokenise). A comparison the judge could not make (two nonsense
replies) is written with ``score_0``/``score_1`` null and an ``error``; the exports skip it.
"""

from __future__ import annotations

import itertools
import json
import logging
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import ConfigError, ModelError
from .trace import load_trace

__all__ = [
    "Side",
    "side_from_trace",
    "pairs_from_eval",
    "comparison",
    "judge_preference",
    "compare",
    "CompareReport",
    "SCALE",
    "PREFERENCES",
    "read_comparisons",
]

log = logging.getLogger("webqa.compare")

#: preference 1..5 -> score_0 (score_1 is its negation)
SCALE = {1: 1.0, 2: 0.5, 3: 0.0, 4: -0.5, 5: -1.0}
PREFERENCES = {
    1: "A is much better",
    2: "A is better",
    3: "equally good",
    4: "B is better",
    5: "B is much better",
}


@dataclass
class Side:
    """One answer of a comparison, with the quotes its ``[n]`` markers refer to."""

    question: str
    question_id: str
    answer: str
    titles: list[str] = field(default_factory=list)
    extracts: list[str] = field(default_factory=list)
    urls: list[str] = field(default_factory=list)
    trace: str = ""
    """The run id of the trace it came from."""
    path: str = ""


def side_from_trace(path: str | Path, question_id: str | None = None) -> Side:
    """The answer of the trace at ``path`` and its references (ConfigError without one)."""
    trace = load_trace(path)
    answer = trace.answer
    if not answer or not answer.get("text"):
        raise ConfigError(f"{path}: the trace holds no answer to compare")
    # [n] markers count the answer's citations; keep them in their numbering
    refs = sorted(answer.get("citations", []), key=lambda c: int(c["n"]))
    run = trace.run or {}
    return Side(
        trace.question,
        question_id or Path(path).stem,
        str(answer["text"]),
        [str(c["title"]) for c in refs],
        [str(c["quote"]) for c in refs],
        [str(c["url"]) for c in refs],
        str(run.get("run", "")),
        str(path),
    )


def pairs_from_eval(folder: str | Path) -> list[tuple[Side, Side]]:
    """Every pair of answered best-of-n samples of each question of an eval folder."""
    from .evaluate import load_results

    rows = load_results(folder)
    pairs: list[tuple[Side, Side]] = []
    for qid, row in rows.items():
        best = row.get("best_of")
        if not isinstance(best, dict):
            continue
        sides = []
        for path, status in zip(best.get("samples", []), best.get("statuses", []), strict=False):
            if status == "answered" and Path(path).exists():
                sides.append(side_from_trace(path, qid))
        pairs += list(itertools.combinations(sides, 2))
    if not pairs and rows:
        raise ConfigError(
            f"{folder}: no question has two answered best-of-n samples "
            "(run webqa eval with --best-of 2 or more)"
        )
    if not rows:
        raise ConfigError(f"{folder}: no results.jsonl with rows")
    return pairs


def comparison(
    a: Side,
    b: Side,
    score_0: float | None,
    *,
    dataset: str = "webqa",
    judge: str = "person",
    error: str | None = None,
) -> dict[str, Any]:
    """The webgpt_comparisons record of ``a`` (answer_0) against ``b`` (answer_1)."""
    record: dict[str, Any] = {
        "question": {"full_text": a.question, "id": a.question_id, "dataset": dataset},
        "quotes_0": {"title": a.titles, "extract": a.extracts},
        "answer_0": a.answer,
        "tokens_0": [],
        "score_0": score_0,
        "quotes_1": {"title": b.titles, "extract": b.extracts},
        "answer_1": b.answer,
        "tokens_1": [],
        "score_1": None if score_0 is None else -score_0 + 0.0,
        "trace_0": a.trace,
        "trace_1": b.trace,
        "judge": judge,
    }
    if error:
        record["error"] = error
    return record


def parse_preference(text: str) -> int:
    """The judge's ``{"preference": 1..5}`` (or a bare digit) from its reply, or ModelError."""
    stripped = text.strip()
    if re.fullmatch(r"[1-5]", stripped):
        return int(stripped)
    match = re.search(r"\{.*\}", text, re.S)
    try:
        value = json.loads(match.group(0)) if match else None
    except json.JSONDecodeError:
        value = None
    found = value.get("preference") if isinstance(value, dict) else None
    if isinstance(found, int) and not isinstance(found, bool) and 1 <= found <= 5:
        return found
    raise ModelError(f"the judge did not answer with a preference 1..5: {text[:200]!r}")


def judge_preference(client: Any, a: Side, b: Side) -> int:
    """Ask the LLM judge (prompt ``judge_compare.j2``); a nonsense reply is asked again once."""
    from . import prompts

    def quotes(side: Side) -> list[dict[str, str]]:
        return [{"title": t, "extract": e} for t, e in zip(side.titles, side.extracts, strict=True)]

    prompt = prompts.render(
        "judge_compare.j2",
        question=a.question,
        answer_a=a.answer,
        answer_b=b.answer,
        quotes_a=quotes(a),
        quotes_b=quotes(b),
    )
    error: ModelError | None = None
    for _ in range(2):
        reply = client.complete([{"role": "user", "content": prompt}]).text
        try:
            return parse_preference(reply)
        except ModelError as exc:
            log.warning("webqa: %s", exc)
            error = exc
    assert error is not None
    raise error


def show_pair(a: Side, b: Side) -> str:
    """The two answers and their quotes as text for a person to compare."""
    lines = [f"Question: {a.question}", ""]
    for label, side in (("A", a), ("B", b)):
        lines += [f"=== Answer {label} ===", side.answer, ""]
        for n, (title, extract, url) in enumerate(
            zip(side.titles, side.extracts, side.urls, strict=True), 1
        ):
            lines += [f"  [{n}] {title} — {url}", f"      “{extract}”"]
        lines.append("")
    lines += [f"  {k} = {v}" for k, v in PREFERENCES.items()]
    return "\n".join(lines)


@dataclass
class CompareReport:
    """What :func:`compare` wrote."""

    output: str
    written: int = 0
    failed: int = 0
    skipped: int = 0


def compare(
    pairs: Iterable[tuple[Side, Side]],
    output: str | Path,
    *,
    judge: Any = None,
    ask: Callable[[str], str] | None = None,
    show: Callable[[str], None] = print,
    dataset: str = "webqa",
) -> CompareReport:
    """Record a preference for each pair, appended to ``output`` as each is made.

    With ``judge`` (a :class:`~webqa.llm.ChatClient`) the LLM decides; otherwise ``ask(prompt)``
    reads a person's 1..5 (``s`` skips the pair, ``q`` or end of input stops).
    """
    if judge is None and ask is None:
        raise ConfigError("compare needs a judge or a person (ask)")
    report = CompareReport(str(output))
    try:
        out = Path(output).open("a", encoding="utf-8")  # noqa: SIM115 - closed by the with below
    except OSError as exc:
        raise ConfigError(f"cannot write {output}: {exc}") from exc
    with out:
        for a, b in pairs:
            if a.question != b.question:
                raise ConfigError(f"{a.path} and {b.path} answer different questions")
            if judge is not None:
                name = f"model {getattr(judge, 'model', '?')}"
                try:
                    preference = judge_preference(judge, a, b)
                    record = comparison(a, b, SCALE[preference], dataset=dataset, judge=name)
                except ModelError as exc:
                    record = comparison(a, b, None, dataset=dataset, judge=name, error=str(exc))
                    report.failed += 1
            else:
                assert ask is not None
                show(show_pair(a, b))
                choice = _ask_preference(ask)
                if choice is None:
                    break
                if choice == 0:
                    report.skipped += 1
                    continue
                record = comparison(a, b, SCALE[choice], dataset=dataset)
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
            out.flush()
            report.written += "error" not in record
    return report


def _ask_preference(ask: Callable[[str], str]) -> int | None:
    """1..5, 0 to skip, None to stop."""
    while True:
        try:
            reply = ask("preference (1-5, s to skip, q to stop)> ").strip().lower()
        except EOFError:
            return None
        if reply in ("q", "quit"):
            return None
        if reply in ("s", "skip"):
            return 0
        if reply in {"1", "2", "3", "4", "5"}:
            return int(reply)


def read_comparisons(path: str | Path) -> tuple[list[dict[str, Any]], list[str]]:
    """The valid comparison records of a JSONL file, and a problem line for each other line
    (a failed comparison, or a line that does not hold the schema)."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from exc
    records, problems = [], []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            problems.append(f"{path} line {number}: not JSON ({exc.msg})")
            continue
        problem = comparison_problem(record)
        if problem:
            problems.append(f"{path} line {number}: {problem}")
        else:
            records.append(record)
    return records, problems


def comparison_problem(record: Any) -> str:
    """What keeps ``record`` from being a usable comparison ('' when nothing)."""
    if not isinstance(record, dict):
        return "not an object"
    if record.get("error"):
        return f"a failed comparison ({record['error']})"
    q = record.get("question")
    if not isinstance(q, dict) or not isinstance(q.get("full_text"), str):
        return "no question.full_text"
    for side in ("0", "1"):
        quotes = record.get(f"quotes_{side}")
        if (
            not isinstance(quotes, dict)
            or not isinstance(quotes.get("title"), list)
            or not isinstance(quotes.get("extract"), list)
        ):
            return f"quotes_{side} is not {{title: [...], extract: [...]}}"
        if not isinstance(record.get(f"answer_{side}"), str):
            return f"answer_{side} is not a string"
        s = record.get(f"score_{side}")
        if not isinstance(s, (int, float)) or isinstance(s, bool) or not -1 <= s <= 1:
            return f"score_{side} is not a number in -1..1"
    if abs(record["score_0"] + record["score_1"]) > 1e-9:
        return "score_0 and score_1 do not sum to 0"
    return ""
