"""Nothing finished is lost: batches write each answer as it finishes, a crashing question
or Ctrl-C keeps the rest, and a stray byte on browse's input does not end the session."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from webqa.batch import InOrder, Item, run_batch
from webqa.errors import ModelError
from webqa.policies import Reply
from webqa.policies.extractive import ExtractivePolicy

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "demos" / "solar-system"


class FailsOnMars(ExtractivePolicy):
    """The extractive policy, except that the LLM 'fails' on one question."""

    def start(self, question):
        if "Mars" in question:
            return _Failing()
        return super().start(question)


class _Failing:
    name = "failing"

    def act(self, obs):
        raise ModelError("the LLM at http://x answered HTTP 500 (boom), 6 tries; giving up")

    def answer(self, question, quotes, feedback=None):
        return Reply("")


def test_one_failing_question_does_not_stop_the_rest(tmp_path):
    items = [
        Item("Who discovered the planet Neptune?", "n"),
        Item("How long is a sol on Mars?", "m"),
        Item("When was Voyager 1 launched?", "v"),
    ]
    rows: list[dict] = []
    writer = InOrder(rows.append)
    answers = run_batch(
        items,
        corpus=DEMO,
        policy=FailsOnMars(),
        traces=False,
        concurrency=2,
        on_answer=lambda i, item, a: writer.add(i, {"id": item.id, "status": a.status}),
    )
    assert [a.status for a in answers] == ["answered", "error", "answered"]
    assert [r["id"] for r in rows] == ["n", "m", "v"]
    assert "HTTP 500" in (answers[1].error or "")


def test_in_order_writer_holds_back_and_flushes():
    out: list[int] = []
    writer = InOrder(lambda row: out.append(row["i"]))
    for i in (2, 0, 3):
        writer.add(i, {"i": i})
    assert out == [0]  # 2 and 3 wait for 1
    writer.add(1, {"i": 1})
    assert out == [0, 1, 2, 3]
    writer.add(5, {"i": 5})
    writer.flush()  # after an interrupt: whatever waits is written
    assert out == [0, 1, 2, 3, 5]


def test_ctrl_c_keeps_every_finished_answer(tmp_path):
    questions = tmp_path / "q.txt"
    questions.write_text(
        "\n".join(
            [
                "Who discovered the planet Neptune?",
                "When was Voyager 1 launched?",
                "What is the largest moon in the Solar System?",
            ]
            * 30
        )
    )
    out = tmp_path / "answers.jsonl"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "webqa.cli",
            "batch",
            str(questions),
            "--corpus",
            str(DEMO),
            "-j",
            "1",
            "-o",
            str(out),
            "-q",
            "--traces",
            str(tmp_path / "traces"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "WEBQA_HOME": str(tmp_path / "home")},
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if out.exists() and out.read_text().count("\n") >= 3:
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert 3 <= len(rows) < 90 and all(r["status"] == "answered" for r in rows)
    assert [r["index"] for r in rows] == list(range(len(rows)))
    assert f"{len(rows)} finished answers were written" in err


def test_a_non_utf8_byte_on_browse_input_is_read_as_a_replacement(tmp_path):
    commands = b"Search Neptune \xff\xfe discovery\nClicked on link 0\nEnd: Answer\nGalle [1].\n"
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "webqa.cli",
            "browse",
            "--corpus",
            str(DEMO),
            "--trace",
            str(tmp_path / "t.jsonl"),
            "Who discovered Neptune?",
        ],
        input=commands,
        capture_output=True,
        timeout=60,
        env={**os.environ, "WEBQA_HOME": str(tmp_path / "home")},
    )
    assert b"Traceback" not in out.stderr, out.stderr
    steps = [
        json.loads(line)
        for line in (tmp_path / "t.jsonl").read_text().splitlines()
        if '"step"' in line
    ]
    assert steps[0]["command"] == "Search Neptune \ufffd\ufffd discovery"
