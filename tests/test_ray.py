"""The Ray path of webqa eval, on a real local Ray instance (2 CPUs): results equal a local
run's, resume works the same, a dead worker's question is retried once, a bad address fails
fast."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
import ray
import ray.cloudpickle

from webqa.batch import Item
from webqa.errors import ConfigError
from webqa.evaluate import evaluate, load_results
from webqa.policies.extractive import ExtractivePolicy
from webqa.raycluster import check_address, connect

SITE = Path(__file__).resolve().parent.parent / "demos" / "solar-system"
ITEMS = [
    Item("Who discovered the planet Neptune?", "n", ["Galle"]),
    Item("When was Voyager 1 launched?", "v", ["5 September 1977"]),
    Item("What is the largest moon in the Solar System?", "m", ["Ganymede"]),
]


@pytest.fixture(scope="module")
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    # the dying policy below lives in this test module, which workers cannot import
    ray.cloudpickle.register_pickle_by_value(__import__(__name__))
    yield
    ray.shutdown()


def _same(rows_a: dict, rows_b: dict) -> None:
    keys = (
        "answer",
        "status",
        "correct",
        "first_sentence_correct",
        "token_f1",
        "citations",
        "verbatim",
        "references",
        "actions",
    )
    assert rows_a.keys() == rows_b.keys()
    for qid in rows_a:
        assert {k: rows_a[qid][k] for k in keys} == {k: rows_b[qid][k] for k in keys}


def test_ray_results_equal_a_local_run_and_resume_the_same(local_ray, tmp_path):
    local = evaluate(ITEMS, tmp_path / "local", corpus=SITE, policy="extractive")
    on_ray = evaluate(
        ITEMS, tmp_path / "ray", corpus=SITE, policy="extractive", ray="auto", concurrency=2
    )
    assert on_ray.correct == local.correct == 3
    _same(load_results(tmp_path / "local"), load_results(tmp_path / "ray"))
    traces = sorted(p.name for p in (tmp_path / "ray" / "traces").iterdir())
    assert traces == ["m.jsonl", "n.jsonl", "v.jsonl"]
    row = load_results(tmp_path / "ray")["n"]
    assert Path(row["trace"]).parent == tmp_path / "ray" / "traces"
    assert row["citations_verbatim"] is True  # checked on the trace the worker sent back
    again = evaluate(ITEMS, tmp_path / "ray", corpus=SITE, policy="extractive", ray="auto")
    assert (again.ran, again.resumed) == (0, 3)


class _Dying(ExtractivePolicy):
    """Kills its worker process: once for "Voyager" questions, always for "moon" ones."""

    def __init__(self, marks: str) -> None:
        super().__init__()
        self.marks = marks

    def start(self, question):
        mark = Path(self.marks) / question.split()[-1].strip("?")
        if "moon" in question or ("Voyager" in question and not mark.exists()):
            mark.touch()
            os._exit(1)
        return super().start(question)


def test_a_worker_dying_mid_question_is_retried_once_then_recorded_failed(local_ray, tmp_path):
    summary = evaluate(
        ITEMS,
        tmp_path / "run",
        corpus=SITE,
        policy=_Dying(str(tmp_path)),
        ray="auto",
        concurrency=1,
    )
    rows = load_results(tmp_path / "run")
    assert rows["n"]["status"] == "answered"
    assert rows["v"]["status"] == "answered" and rows["v"]["correct"] is True  # the retry
    assert rows["m"]["status"] == "error" and "Ray worker failed twice" in rows["m"]["error"]
    assert summary.failed == 1


def test_a_ray_address_that_does_not_answer_fails_within_seconds():
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    started = time.perf_counter()
    with pytest.raises(ConfigError, match="does not answer"):
        check_address(f"127.0.0.1:{port}", timeout=2)
    with pytest.raises(ConfigError, match="HOST:PORT"):
        check_address("nowhere")
    assert time.perf_counter() - started < 5
    if not ray.is_initialized():
        with pytest.raises(ConfigError, match="does not answer"):
            connect(f"ray://127.0.0.1:{port}")


def test_a_worker_opens_one_session_for_its_concurrent_questions_and_closes_it(tmp_path):
    from concurrent.futures import ThreadPoolExecutor

    from webqa.raycluster import Worker
    from webqa.records import Answer, Usage

    opened: list[object] = []

    class Slow:
        """A session that takes a while to open, as a real one does (imports, corpus)."""

        def __init__(self, **options: object) -> None:
            time.sleep(0.05)
            opened.append(self)
            self.closed = False

        def ask(self, question: str, trace: Path) -> Answer:
            trace.write_text('{"type": "run"}\n')
            return Answer(question, "An answer.", [], "answered", Usage())

        def close(self) -> None:
            self.closed = True

    worker = Worker({"corpus": "x"}, open_session=Slow)
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(worker.ask, [f"q{i}" for i in range(8)]))
    assert len(opened) == 1
    assert all(r["answer"]["status"] == "answered" and r["trace"] for r in results)
    worker.close()
    assert opened[0].closed  # type: ignore[attr-defined]
