"""Throughput of ``webqa eval`` against the scripted chat server (a fixed delay per call).

    python benchmarks/bench_eval.py [--questions 200] [-j 16] [--delay 0.2] [--no-ray]

Each question is five LLM calls (search, open, quote, end, answer) over the demo site, so its
LLM latency is 5 x delay. The chat server runs in its own process, as a real model server
does. Reports, for a local thread run and a run on a local Ray instance:
questions/s and efficiency against the ideal (sum of LLM latency / concurrency); ``--best-of 4``
wall time against a single sample at the same concurrency (``-j`` questions at a time; each
question's samples side by side); Ray's overhead per question over the second local run (and Ray's
start-up, apart). The local run is measured twice: the first pays the process's imports once.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from chatserver import ChatServer  # noqa: E402
from scripted_browser import browsing_model  # noqa: E402

from webqa.batch import Item  # noqa: E402
from webqa.evaluate import Summary, evaluate  # noqa: E402

SITE = ROOT / "demos" / "solar-system"
CALLS = 5


def _items(n: int) -> list[Item]:
    rows = [
        json.loads(x)
        for x in (ROOT / "demos" / "solar-system-questions.jsonl").read_text().splitlines()
        if x.strip()
    ]
    return [
        Item(rows[i % len(rows)]["question"], f"q{i:04d}", rows[i % len(rows)]["answers"])
        for i in range(n)
    ]


def _run(items: list[Item], url: str, concurrency: int, **extra: Any) -> tuple[float, Summary]:
    with tempfile.TemporaryDirectory() as out:
        started = time.perf_counter()
        summary = evaluate(
            items,
            out,
            concurrency=concurrency,
            corpus=SITE,
            policy="llm",
            model="m",
            base_url=url,
            max_actions=20,
            **extra,
        )
        return time.perf_counter() - started, summary


def _serve(delay: float, urls: multiprocessing.Queue, stop: multiprocessing.Event) -> None:
    with ChatServer(default=browsing_model(), delay=delay) as server:
        urls.put(server.url)
        stop.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--questions", type=int, default=200)
    parser.add_argument("-j", "--concurrency", type=int, default=16)
    parser.add_argument("--delay", type=float, default=0.2)
    parser.add_argument("--best-of-questions", type=int, default=64)
    parser.add_argument("--no-ray", action="store_true")
    args = parser.parse_args()
    items, j = _items(args.questions), args.concurrency
    ideal = len(items) * CALLS * args.delay / j
    # The model server is its own process, as a real one is: its threads would otherwise share
    # the eval's GIL and its work would count against the eval.
    urls: multiprocessing.Queue = multiprocessing.Queue()
    stop = multiprocessing.Event()
    process = multiprocessing.Process(target=_serve, args=(args.delay, urls, stop), daemon=True)
    process.start()
    try:
        _measure(args, items, j, ideal, urls.get(timeout=30))
    finally:
        stop.set()
        process.join(timeout=10)


def _measure(args: argparse.Namespace, items: list[Item], j: int, ideal: float, url: str) -> None:
    # The floor a pool of j slots can reach when every question takes the same time: the last
    # round is part-full. It is printed beside the ideal, not used in its place.
    floor = -(-len(items) // j) * CALLS * args.delay
    # The first run pays the process's one-time imports (the openai client, the corpus code):
    # what `webqa eval` pays once per invocation. The second shows what a run costs beyond it.
    for when in ("first run", "again"):
        wall, summary = _run(items, url, j)
        print(
            f"local  -j {j} ({when}): {len(items)} questions ({summary.answered} answered) in "
            f"{wall:.2f} s = {len(items) / wall:.1f} q/s; ideal {ideal:.2f} s (whole rounds: "
            f"{floor:.2f} s); efficiency {ideal / wall:.2f}; {summary.seconds_per_question:.3f} "
            f"s per question (LLM: {CALLS * args.delay:.3f} s)"
        )
    few = items[: args.best_of_questions]
    single, one = _run(few, url, j)
    best, four = _run(few, url, j, best_of=4)
    print(
        f"best-of-4 -j {j} ({j} questions at a time, their 4 samples side by side): "
        f"{len(few)} questions in {best:.2f} s vs one sample {single:.2f} s = "
        f"{best / single:.2f}x; per question {four.seconds_per_question:.3f} s (slowest "
        f"sample) vs {one.seconds_per_question:.3f} s; chosen answered: {four.answered}"
    )
    if not args.no_ray:
        import ray

        t0 = time.perf_counter()
        ray.init(include_dashboard=False, log_to_driver=False)
        start_up = time.perf_counter() - t0
        rwall, rsummary = _run(items, url, j, ray="auto")
        ray.shutdown()
        print(
            f"ray    -j {j}: {len(items)} questions ({rsummary.answered} answered) in "
            f"{rwall:.2f} s = {len(items) / rwall:.1f} q/s; efficiency {ideal / rwall:.2f}; "
            f"overhead {(rwall - wall) / len(items) * 1000:.1f} ms per question over the local "
            f"run; {rsummary.seconds_per_question:.3f} s per question; Ray start-up "
            f"{start_up:.1f} s (apart)"
        )


if __name__ == "__main__":
    main()
