"""Extractive batches over an offline corpus run in worker processes: same answers as one
process, answers handed over in the calling thread, traces written."""

from __future__ import annotations

import threading
from pathlib import Path

from webqa.batch import Item, is_correct, run_batch

SITE = Path(__file__).resolve().parent.parent / "demos" / "solar-system"
ITEMS = [
    Item("Who discovered the planet Neptune?", "n", ["Galle"]),
    Item("When was Voyager 1 launched?", "v", ["5 September 1977"]),
    Item("What is the largest moon in the Solar System?", "m", ["Ganymede"]),
    Item("How many moons does Mars have?", "mars", []),
]


def test_worker_processes_give_the_answers_one_process_gives(tmp_path):
    one = run_batch(ITEMS, corpus=SITE, policy="extractive", concurrency=1, traces=False)
    seen: list[tuple[int, str, bool]] = []
    many = run_batch(
        ITEMS,
        corpus=SITE,
        policy="extractive",
        concurrency=2,
        traces=tmp_path / "traces",
        on_answer=lambda n, i, a: seen.append(
            (n, i.id, threading.current_thread() is threading.main_thread())
        ),
    )
    assert [(a.text, a.status) for a in many] == [(a.text, a.status) for a in one]
    assert all(is_correct(a.text, i.answers) for a, i in zip(many, ITEMS, strict=True) if i.answers)
    assert sorted(seen) == [(0, "n", True), (1, "v", True), (2, "m", True), (3, "mars", True)]
    assert sorted(p.name for p in (tmp_path / "traces").iterdir()) == [
        "m.jsonl",
        "mars.jsonl",
        "n.jsonl",
        "v.jsonl",
    ]
