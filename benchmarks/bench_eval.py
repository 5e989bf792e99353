"""Throughput of ``webqa eval`` against the scripted chat server (a fixed delay per call).

    python benchmarks/bench_eval.py [--questions 200] [-j 16] [--delay 0.2] [--no-ray]

Each question is five LLM calls (search, open, quote, end, answer) over the demo site, so its
LLM latency is 5 x delay. Reports, for a local thread run and a run on a local Ray instance:
questions/s and efficiency against the ideal (sum of LLM latency / concurrency); ``--best-of 4``
wall time against a single sample at the same concurrency; Ray's overhead per question (and its
start-up, apart).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from chatserver import ChatServer  # noqa: E402
from scripted_browser import browsing_model  # noqa: E402

from webqa.batch import Item  # noqa: E402
from webqa.evaluate import evaluate  # noqa: E402

SITE = ROOT / "demos" / "solar-system"
CALLS = 5


def _items(n: int) -> list[Item]:
    rows = [json.loads(x) for x in (ROOT / "demos" / "solar-system-questions.jsonl")
            .read_text().splitlines() if x.strip()]
    return [Item(rows[i % len(rows)]["question"], f"q{i:04d}", rows[i % len(rows)]["answers"])
            for i in range(n)]


def _run(items: list[Item], url: str, concurrency: int, **extra: object) -> tuple[float, object]:
    with tempfile.TemporaryDirectory() as out:
        started = time.perf_counter()
        summary = evaluate(items, out, concurrency=concurrency, corpus=SITE, policy="llm",
                           model="m", base_url=url, max_actions=20, **extra)
        return time.perf_counter() - started, summary


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
    with ChatServer(default=browsing_model(), delay=args.delay) as server:
        wall, summary = _run(items, server.url, j)
        answered = summary.answered  # type: ignore[attr-defined]
        print(f"local  -j {j}: {len(items)} questions ({answered} answered) in {wall:.2f} s = "
              f"{len(items) / wall:.1f} q/s; ideal {ideal:.2f} s; efficiency {ideal / wall:.2f}")
        few = items[: args.best_of_questions]
        single, _ = _run(few, server.url, j)
        best, s4 = _run(few, server.url, j, best_of=4)
        print(f"best-of-4 -j {j}: {len(few)} questions in {best:.2f} s vs one sample "
              f"{single:.2f} s = {best / single:.2f}x (chosen answered: "
              f"{s4.answered})")  # type: ignore[attr-defined]
        if not args.no_ray:
            import ray

            t0 = time.perf_counter()
            ray.init(include_dashboard=False, log_to_driver=False)
            start_up = time.perf_counter() - t0
            rwall, rsummary = _run(items, server.url, j, ray="auto")
            ray.shutdown()
            print(f"ray    -j {j}: {len(items)} questions ({rsummary.answered} answered) in "  # type: ignore[attr-defined]
                  f"{rwall:.2f} s = {len(items) / rwall:.1f} q/s; efficiency "
                  f"{ideal / rwall:.2f}; overhead {(rwall - wall) / len(items) * 1000:.1f} ms "
                  f"per question over the local run; Ray start-up {start_up:.1f} s")


if __name__ == "__main__":
    main()
