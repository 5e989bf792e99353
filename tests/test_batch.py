"""Batches: question files, concurrent runs in input order, accuracy, the LLM path shared."""

import json
from pathlib import Path

import pytest
from chatserver import ChatServer

from webqa.batch import Item, is_correct, read_questions, run_batch
from webqa.cli import main
from webqa.errors import ConfigError

SITE = Path(__file__).resolve().parent.parent / "demos" / "solar-system"


def test_read_questions_jsonl_text_and_errors(tmp_path):
    f = tmp_path / "q.jsonl"
    f.write_text('{"id": "a", "question": "Q1?", "answers": ["x"]}\n\nQ2 plain?\n')
    items = read_questions(f)
    assert items == [Item("Q1?", "a", ["x"]), Item("Q2 plain?", "3")]
    f.write_text('{"no_question": 1}\n')
    with pytest.raises(ConfigError, match="line 1"):
        read_questions(f)
    f.write_text("\n")
    with pytest.raises(ConfigError, match="no questions"):
        read_questions(f)


def test_is_correct_whole_words_case_punctuation():
    assert is_correct("It was Johann Galle, in 1846.", ["johann galle"])
    assert is_correct("Discovered by Urbain Le Verrier", ["Le Verrier"])
    assert not is_correct("Gallery", ["Galle"])


def test_batch_keeps_input_order_and_writes_traces(tmp_path):
    items = [
        Item("Who discovered the planet Neptune?", "n", ["Galle"]),
        Item("When was Voyager 1 launched?", "v", ["5 September 1977"]),
        Item("What is the largest moon in the Solar System?", "m", ["Ganymede"]),
    ]
    seen = []
    answers = run_batch(
        items,
        corpus=SITE,
        policy="extractive",
        concurrency=3,
        traces=tmp_path / "traces",
        on_answer=lambda n, i, a: seen.append((n, i.id)),
    )
    assert [a.question for a in answers] == [i.question for i in items]
    assert all(is_correct(a.text, i.answers) for a, i in zip(answers, items, strict=True))
    assert sorted(seen) == [(0, "n"), (1, "v"), (2, "m")]
    assert sorted(p.name for p in (tmp_path / "traces").iterdir()) == [
        "m.jsonl",
        "n.jsonl",
        "v.jsonl",
    ]


def test_batch_through_a_scripted_llm_shares_one_client(tmp_path):
    def model(request):
        user = request["messages"][-1]["content"]
        if "■" in user:
            return "See the quote [1]."
        if "(no page open" in user:
            return "Search " + user.split("♦Question\n", 1)[1].split("\n", 1)[0]
        if "♦Title\nSearch results for:" in user:
            return "Clicked on link 0"
        if "♦Quotes\n(none yet)" in user:
            lines = user.split("♦Text\n", 1)[1].splitlines()
            return "Quote: " + next(x for x in lines if len(x) > 40 and "【" not in x)[:40]
        return "End: Answer"

    items = [
        Item(q, str(n))
        for n, q in enumerate(
            ["Neptune discovery", "Voyager 1 launch", "Mars sol length", "Titan atmosphere"]
        )
    ]
    with ChatServer(default=model) as server:
        answers = run_batch(
            items,
            corpus=SITE,
            policy="llm",
            concurrency=4,
            model="m",
            base_url=server.url,
            traces=tmp_path,
            max_actions=20,
        )
        requests = len(server.requests)
    assert [a.status for a in answers] == ["answered"] * 4
    assert all(a.text == "See the quote [1]." and a.citations for a in answers)
    assert requests == sum(a.usage.llm_calls for a in answers) == 20


def test_cli_batch_reports_accuracy(tmp_path, capsys):
    questions = tmp_path / "q.jsonl"
    questions.write_text(
        json.dumps(
            {
                "id": "n",
                "question": "Who discovered the planet Neptune?",
                "answers": ["Johann Galle"],
            }
        )
        + "\n"
    )
    out = tmp_path / "a.jsonl"
    assert (
        main(
            [
                "batch",
                str(questions),
                "--corpus",
                str(SITE),
                "-o",
                str(out),
                "--policy",
                "extractive",
            ]
        )
        == 0
    )
    row = json.loads(out.read_text())
    assert row["id"] == "n" and row["status"] == "answered" and row["correct"] is True
    assert "correct 1/1 (100.0%)" in capsys.readouterr().err
