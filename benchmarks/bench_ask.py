"""Extractive answering as users run it: ``webqa ask`` per question, ``webqa batch -j N``.

    python benchmarks/bench_ask.py [--set QUESTIONS CORPUS]... [--questions 15]
                                   [--compare OTHER_CHECKOUT] [--batch QUESTIONS CORPUS]

1. ``ask``: for each ``--set`` (default: the Ray Charles ZIM and its 40 dev questions under
   ``../shared/data``), the first ``--questions`` questions asked one ``webqa ask --policy
   extractive`` process each, with this checkout's code and, with ``--compare``, another
   checkout's (a worktree of an older commit, say), the two taking turns so that a busy
   moment of the machine falls on both. Each side has its own data dir (indexes of other
   versions do not mix), warmed by one ask first. Prints the median wall time of each and the
   ratio, and how many answers differ.
2. ``batch``: ``webqa batch --policy extractive`` on ``--batch`` (default: the same ZIM set)
   with ``-j 1`` and ``-j 2``, three times each in turns; prints the median wall times, the
   speed-up and whether the answers are the same.

Both run the installed ``webqa`` entry point's code (``webqa.cli._entry``) in fresh
interpreters, as a shell would.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data"
ENTRY = "import sys; from webqa.cli import _entry; sys.argv[0] = 'webqa'; sys.exit(_entry())"


def _run(code: Path, home: Path, args: list[str]) -> tuple[float, subprocess.CompletedProcess]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env.update(PYTHONPATH=str(code), WEBQA_HOME=str(home))
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", ENTRY, *args], capture_output=True, text=True, env=env, cwd=code
    )
    return time.perf_counter() - started, done


def _questions(path: Path, n: int | None = None) -> list[str]:
    with open(path, encoding="utf-8") as fh:
        rows = [json.loads(line)["question"] for line in fh if line.strip()]
    return rows[:n] if n else rows


def bench_asks(sets: list[tuple[Path, Path]], n: int, sides: dict[str, Path], work: Path) -> None:
    """Median ``webqa ask`` wall time per corpus for each side, taking turns."""
    for questions, corpus in sets:
        asked = _questions(questions, n)
        times: dict[str, list[float]] = {name: [] for name in sides}
        answers: dict[str, list[str]] = {name: [] for name in sides}
        homes = {name: work / f"home-{name}" for name in sides}
        base = ["ask", "--corpus", str(corpus), "--policy", "extractive", "-q", "--json"]
        for name, code in sides.items():  # warm: the index, the article store, bytecode
            _run(code, homes[name], [*base, asked[0]])
        for q in asked:
            for name, code in sides.items():
                took, done = _run(code, homes[name], [*base, q])
                times[name].append(took)
                text = json.loads(done.stdout)["text"] if done.returncode in (0, 1) else "?"
                answers[name].append(text)
        medians = {name: statistics.median(ts) for name, ts in times.items()}
        line = ", ".join(f"{name} {m:.2f} s" for name, m in medians.items())
        print(f"ask, {corpus.name}, {len(asked)} questions, median: {line}")
        if "before" in medians:
            differ = sum(a != b for a, b in zip(answers["before"], answers["now"], strict=True))
            print(
                f"  now / before = {medians['now'] / medians['before']:.2f}x "
                f"(target ≤ 0.5x); {differ} of {len(asked)} answers differ"
            )


def bench_batch(questions: Path, corpus: Path, work: Path, rounds: int = 3) -> None:
    """``webqa batch -j 1`` against ``-j 2`` on the same questions."""
    home = work / "home-batch"
    times: dict[int, list[float]] = {1: [], 2: []}
    outputs: dict[int, dict[str, str]] = {}
    base = ["batch", str(questions), "--corpus", str(corpus), "--policy", "extractive", "-q"]
    _run(ROOT, home, [*base, "-j", "1", "-o", os.devnull])  # warm
    for _ in range(rounds):
        for j in (1, 2):
            out = work / f"batch-{j}.jsonl"
            took, done = _run(ROOT, home, [*base, "-j", str(j), "-o", str(out)])
            if done.returncode not in (0, 1):
                sys.exit(f"webqa batch failed: {done.stderr[-500:]}")
            times[j].append(took)
            rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
            outputs[j] = {r["id"]: r["text"] for r in rows}
    one, two = statistics.median(times[1]), statistics.median(times[2])
    same = "the same" if outputs[1] == outputs[2] else "NOT the same"
    print(
        f"batch, {corpus.name}, {len(outputs[1])} questions: -j 1 {one:.2f} s, -j 2 {two:.2f} s "
        f"= {one / two:.2f}x faster (target ≥ 1.6x); answers {same}"
    )


def main() -> None:
    """Parse the flags, run both measures."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--set", nargs=2, action="append", metavar=("QUESTIONS", "CORPUS"))
    ap.add_argument("--questions", type=int, default=15, help="questions per set (default: 15)")
    ap.add_argument("--compare", type=Path, help="another checkout, measured as 'before'")
    ap.add_argument("--batch", nargs=2, metavar=("QUESTIONS", "CORPUS"))
    ap.add_argument("--no-batch", action="store_true")
    args = ap.parse_args()
    zim_set = (DATA / "dev-questions.jsonl", DATA / "wikipedia_en_ray_charles_maxi_2019-08.zim")
    sets = [(Path(q), Path(c)) for q, c in args.set] if args.set else [zim_set]
    for questions, corpus in [*sets, *([tuple(map(Path, args.batch))] if args.batch else [])]:
        if not questions.exists() or not corpus.exists():
            sys.exit(f"not found: {questions} or {corpus} (pass --set QUESTIONS CORPUS)")
    sides = {"now": ROOT}
    if args.compare:
        sides = {"before": args.compare.resolve(), "now": ROOT}
    with tempfile.TemporaryDirectory(prefix="webqa-bench-ask-") as tmp:
        work = Path(tmp)
        bench_asks(sets, args.questions, sides, work)
        if not args.no_batch:
            q, c = (Path(args.batch[0]), Path(args.batch[1])) if args.batch else sets[0]
            bench_batch(q, c, work)


if __name__ == "__main__":
    main()
