"""Comparisons: webgpt_comparisons records from two traces or best-of-n samples; a person on
the 5-point scale, or the LLM judge (a nonsense reply asked again once, then a failed record)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from chatserver import ChatServer
from scripted_browser import browsing_model

from webqa.batch import Item
from webqa.cli import main
from webqa.compare import (
    SCALE,
    compare,
    comparison_problem,
    pairs_from_eval,
    parse_preference,
    read_comparisons,
    side_from_trace,
)
from webqa.errors import ConfigError, ModelError
from webqa.evaluate import evaluate
from webqa.llm import ChatClient

SITE = Path(__file__).resolve().parent.parent / "demos" / "solar-system"
ITEMS = [
    Item("Who discovered the planet Neptune?", "n", ["Galle"]),
    Item("When was Voyager 1 launched?", "v", ["5 September 1977"]),
]


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    """Two extractive eval folders of the same questions, and a best-of-2 one."""
    root = tmp_path_factory.mktemp("runs")
    for name in ("a", "b"):
        evaluate(ITEMS, root / name, corpus=SITE, policy="extractive", max_actions=30)
    evaluate(ITEMS[:1], root / "b2", best_of=2, corpus=SITE, policy="extractive")
    return root


def _check_schema(record: dict) -> None:
    assert set(record["question"]) == {"full_text", "id", "dataset"}
    for side in "01":
        quotes = record[f"quotes_{side}"]
        assert set(quotes) == {"title", "extract"}
        assert len(quotes["title"]) == len(quotes["extract"]) >= 1
        assert isinstance(record[f"answer_{side}"], str) and record[f"answer_{side}"]
        assert -1 <= record[f"score_{side}"] <= 1
    assert record["score_0"] + record["score_1"] == 0
    assert record["trace_0"] and record["trace_1"]
    assert comparison_problem(record) == ""


def test_a_person_records_a_preference_on_the_five_point_scale(two_runs, tmp_path):
    a = side_from_trace(two_runs / "a" / "traces" / "n.jsonl")
    b = side_from_trace(two_runs / "b" / "traces" / "n.jsonl")
    shown, replies = [], iter(["7", "", "2", "s", "q"])
    out = tmp_path / "c.jsonl"
    report = compare(
        [(a, b), (b, a), (a, b)], out, ask=lambda prompt: next(replies), show=shown.append
    )
    assert (report.written, report.skipped) == (1, 1)
    assert "=== Answer A ===" in shown[0] and "B is much better" in shown[0]
    assert a.extracts[0] in shown[0]
    (record,) = [json.loads(x) for x in out.read_text().splitlines()]
    _check_schema(record)
    assert record["score_0"] == SCALE[2] == 0.5 and record["judge"] == "person"
    assert record["question"]["full_text"] == ITEMS[0].question


def test_judge_compares_best_of_n_samples_and_retries_nonsense_once(two_runs, tmp_path):
    replies = iter(["Both are fine, I guess.", '{"preference": 4}'])
    with ChatServer(default=lambda request: next(replies)) as server:
        with ChatClient("judge", base_url=server.url, max_retries=0) as client:
            pairs = pairs_from_eval(two_runs / "b2")
            report = compare(pairs, tmp_path / "c.jsonl", judge=client)
        prompts = [r["messages"][-1]["content"] for r in server.requests]
    assert len(pairs) == 1 and report.written == 1 and len(prompts) == 2
    assert prompts[0].startswith("You are comparing two answers")
    (record,) = read_comparisons(tmp_path / "c.jsonl")[0]
    _check_schema(record)
    assert record["score_0"] == -0.5 and record["judge"] == "model judge"


def test_a_judge_answering_nonsense_twice_is_a_failed_comparison(two_runs, tmp_path):
    a = side_from_trace(two_runs / "a" / "traces" / "v.jsonl")
    b = side_from_trace(two_runs / "b" / "traces" / "v.jsonl")
    with ChatServer(default="maybe 7") as server:
        with ChatClient("judge", base_url=server.url, max_retries=0) as client:
            report = compare([(a, b)], tmp_path / "c.jsonl", judge=client)
        assert len(server.requests) == 2
    assert (report.written, report.failed) == (0, 1)
    records, problems = read_comparisons(tmp_path / "c.jsonl")
    assert records == [] and "a failed comparison" in problems[0]
    row = json.loads((tmp_path / "c.jsonl").read_text())
    assert row["score_0"] is None and "preference 1..5" in row["error"]


def test_parse_preference():
    assert parse_preference(" 3 ") == 3
    assert parse_preference('Here: {"preference": 5}') == 5
    for reply in ("", "6", '{"preference": 0}', '{"preference": "2"}', "A is better"):
        with pytest.raises(ModelError):
            parse_preference(reply)


def test_cli_compare_judge_against_the_scripted_server(two_runs, tmp_path, capsys):
    model = browsing_model(judge=lambda prompt: '{"preference": 1}')
    out = tmp_path / "c.jsonl"
    with ChatServer(default=model) as server:
        code = main(
            [
                "compare",
                str(two_runs / "a" / "traces" / "n.jsonl"),
                str(two_runs / "b" / "traces" / "n.jsonl"),
                "--judge",
                "--model",
                "m",
                "--base-url",
                server.url,
                "-o",
                str(out),
            ]
        )
    assert code == 0 and "wrote 1 comparison" in capsys.readouterr().err
    _check_schema(json.loads(out.read_text()))


def test_compare_refuses_mismatched_questions_and_folders_without_samples(two_runs, tmp_path):
    a = side_from_trace(two_runs / "a" / "traces" / "n.jsonl")
    b = side_from_trace(two_runs / "a" / "traces" / "v.jsonl")
    with pytest.raises(ConfigError, match="different questions"):
        compare([(a, b)], tmp_path / "c.jsonl", ask=lambda p: "1", show=lambda t: None)
    with pytest.raises(ConfigError, match="best-of"):
        pairs_from_eval(two_runs / "a")
