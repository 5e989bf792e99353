"""webqa eval: traces, scored results, summary, resume, bad input, failures, exit codes."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from chatserver import ChatServer

from webqa.batch import Item, read_question_file
from webqa.cli import main
from webqa.errors import ConfigError
from webqa.evaluate import evaluate, load_results
from webqa.policies.extractive import ExtractivePolicy
from webqa.session import Session

SITE = Path(__file__).resolve().parent.parent / "demos" / "solar-system"
QUESTIONS = [
    {"id": "n", "question": "Who discovered the planet Neptune?", "answers": ["Johann Galle"]},
    {"id": "v", "question": "When was Voyager 1 launched?", "answers": ["5 September 1977"]},
    {"id": "m", "question": "What is the largest moon in the Solar System?"},
]


def _write(path: Path, rows: list[dict], extra: str = "") -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows) + extra, encoding="utf-8")
    return path


def test_bad_lines_and_duplicate_ids_are_reported_with_line_numbers(tmp_path):
    f = _write(
        tmp_path / "q.jsonl",
        QUESTIONS[:2],
        '{"question": \n{"id": "n", "question": "again?"}\n{"id": 3, "question": ""}\n'
        "A plain question?\n",
    )
    items, problems = read_question_file(f)
    assert [i.id for i in items] == ["n", "v", "6"]
    assert len(problems) == 3
    assert "line 3: not a question object" in problems[0]
    assert "line 4: duplicate id 'n' (first on line 1)" in problems[1]
    assert "line 5" in problems[2]
    with pytest.raises(ConfigError, match="no questions"):
        read_question_file(_write(tmp_path / "bad.jsonl", [], "{nope\n"))


def test_eval_writes_traces_results_and_summary_then_resumes_at_once(tmp_path):
    items, _ = read_question_file(_write(tmp_path / "q.jsonl", QUESTIONS))
    out = tmp_path / "run"
    seen = []
    summary = evaluate(
        items,
        out,
        concurrency=3,
        corpus=SITE,
        policy="extractive",
        on_result=lambda row, done, total: seen.append((row["id"], total)),
    )
    assert sorted(seen) == [("m", 3), ("n", 3), ("v", 3)]
    assert sorted(p.name for p in (out / "traces").iterdir()) == ["m.jsonl", "n.jsonl", "v.jsonl"]
    rows = load_results(out)
    n = rows["n"]
    assert n["status"] == "answered" and n["correct"] is True
    assert isinstance(n["first_sentence_correct"], bool) and 0 < n["token_f1"] <= 1
    assert n["citations"] >= 1 and n["citations_verbatim"] is True
    assert n["actions"] > 0 and n["seconds"] > 0 and n["trace"].endswith("n.jsonl")
    # no gold answers: accuracy is not applicable, not wrong
    assert rows["m"]["correct"] is None and rows["m"]["token_f1"] is None
    assert summary.graded == 2 and summary.correct == 2 and summary.accuracy == 1.0
    assert summary.citations_verbatim == summary.citations > 0
    on_disk = json.loads((out / "summary.json").read_text())
    assert on_disk["correct"] == 2 and on_disk["questions"] == 3
    started = time.perf_counter()
    again = evaluate(items, out, corpus=SITE, policy="extractive")
    assert time.perf_counter() - started < 1.0
    assert (again.ran, again.resumed, again.correct) == (0, 3, 2)
    assert len((out / "results.jsonl").read_text().splitlines()) == 3


def test_a_killed_eval_loses_no_finished_question_and_failed_ones_run_again(tmp_path):
    items, _ = read_question_file(_write(tmp_path / "q.jsonl", QUESTIONS[:2]))
    out = tmp_path / "run"
    evaluate(items[:1], out, corpus=SITE, policy="extractive")
    results = out / "results.jsonl"
    # a kill mid-write leaves half a line; a stale trace of the killed question is replaced
    with results.open("a") as f:
        f.write('{"id": "v", "status": "error", "error": "boom"}\n{"id": "v", "sta')
    (out / "traces" / "v.jsonl").write_text('{"half": ')
    summary = evaluate(items, out, corpus=SITE, policy="extractive")
    assert (summary.ran, summary.resumed, summary.answered) == (1, 1, 2)
    assert load_results(out)["v"]["status"] == "answered"
    from webqa.trace import load_trace

    assert not load_trace(out / "traces" / "v.jsonl").bad_lines


class _Exploding(ExtractivePolicy):
    """Raises a non-webqa exception for one question: a bug in one run."""

    def start(self, question):
        if "Voyager" in question:
            raise RuntimeError("policy bug")
        return super().start(question)


def test_a_failed_question_is_recorded_and_the_rest_go_on(tmp_path):
    items, _ = read_question_file(_write(tmp_path / "q.jsonl", QUESTIONS[:2]))
    with Session(corpus=SITE, policy=_Exploding()) as session:
        summary = evaluate(items, tmp_path / "run", session=session)
    rows = load_results(tmp_path / "run")
    assert rows["v"]["status"] == "error" and "RuntimeError: policy bug" in rows["v"]["error"]
    assert rows["n"]["status"] == "answered"
    assert summary.failed == 1 and not summary.all_failed


def test_cli_eval_prints_the_summary_and_exits_nonzero_when_all_fail(tmp_path, capsys):
    q = _write(tmp_path / "q.jsonl", QUESTIONS, "{not json\n")
    assert (
        main(
            [
                "eval",
                str(q),
                "--corpus",
                str(SITE),
                "--out",
                str(tmp_path / "ok"),
                "--policy",
                "extractive",
                "-v",
            ]
        )
        == 0
    )
    captured = capsys.readouterr()
    assert "correct (containment)" in captured.out and "2/2 (100.0%)" in captured.out
    assert "first sentence correct" in captured.out and "n/a" in captured.out
    assert "line 4: not a question object" in captured.err
    # an LLM endpoint that answers nothing useful: every question fails, exit 1
    with ChatServer(default=("status", 400)) as server:
        code = main(
            [
                "eval",
                str(q),
                "--corpus",
                str(SITE),
                "--out",
                str(tmp_path / "bad"),
                "--policy",
                "llm",
                "--model",
                "m",
                "--base-url",
                server.url,
                "-q",
            ]
        )
    assert code == 1
    rows = load_results(tmp_path / "bad")
    assert {r["status"] for r in rows.values()} == {"error"}
    assert all(r["error"] for r in rows.values())


def test_eval_rejects_bad_settings():
    with pytest.raises(ConfigError, match="best-of"):
        evaluate([Item("q", "a")], "/nonexistent/x", best_of=0)
    with pytest.raises(ConfigError, match="concurrency"):
        evaluate([Item("q", "a")], "/nonexistent/x", concurrency=0)
