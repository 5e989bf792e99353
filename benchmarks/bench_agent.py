"""Agent benchmarks: batch efficiency, prompt tokens per step, CLI start-up time.

    python benchmarks/bench_agent.py [--corpus PATH] [--questions FILE] [--runs 200]
                                     [--concurrency 16] [--delay 0.5 0.1]

1. Batch harness efficiency: ``--runs`` questions on a corpus, a loopback chat-completions
   server (tests/chatserver.py, the same one the tests use, in its own process) answering every
   call after a fixed ``--delay`` (0.5 s, a short real completion, and 0.1 s), ``--concurrency``
   runs at once through ``webqa.batch.run_batch`` (threads, one shared client and page cache)
   and the real openai client. Efficiency = ideal / wall, where ideal = (LLM calls × delay) / concurrency. Target ≥ 0.9.
2. Prompt tokens per step: the extractive policy's actions on every question of ``--questions``
   replayed through the LLM prompt (system prompt + rendered observation), counted as the
   scripted server counts usage: characters / 4. That is an estimate (no tokenizer can be
   downloaded here); for English prose it is close to GPT tokenizers, and 【】† markers make
   the true count somewhat higher. Target: median ≤ 2,000; the max is bounded by the window,
   the quote budget and the past-actions cap.
3. ``webqa --help`` and ``webqa ask --help`` wall time against ``python -c pass``, fastest and
   median of 30 runs each (target ≤ 3×), and ``webqa ask`` answering on the demo site with the
   extractive policy, piped and as on a terminal (target ≤ 15× at the median).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from chatserver import ChatServer  # noqa: E402

from webqa import prompts  # noqa: E402
from webqa.agent import Agent  # noqa: E402
from webqa.batch import Item, run_batch  # noqa: E402
from webqa.corpus import open_corpus  # noqa: E402
from webqa.observation import Observation  # noqa: E402
from webqa.pages import WebLoader  # noqa: E402
from webqa.policies import Reply  # noqa: E402
from webqa.policies.extractive import ExtractivePolicy, keywords  # noqa: E402


def scripted_model(request: dict) -> str:
    """A stand-in model: search, open the first result, quote its first sentence, answer."""
    user = request["messages"][-1]["content"]
    if "■" in user:
        return "Here is what the page says [1]."
    question = user.split("♦Question\n", 1)[1].split("\n", 1)[0]
    if "(no page open" in user:
        return f"Search {keywords(question)}"
    if "♦Title\nSearch results for:" in user:
        return "Clicked on link 0"
    if "♦Quotes\n(none yet)" in user:
        text = user.split("♦Text\n", 1)[1].split("\n♦Actions left", 1)[0]
        for line in text.splitlines():
            line = line.strip()
            if len(line) > 30 and not line.startswith(("#", "[Note")) and "【" not in line:
                return f"Quote: {line}"
        return "End: Answer"
    return "End: Answer"


def _serve(delay: float, urls: multiprocessing.Queue, stop: multiprocessing.Event) -> None:
    with ChatServer(default=scripted_model, delay=delay) as server:
        urls.put(server.url)
        stop.wait()


def _ceiling(url: str, calls: int, concurrency: int, delay: float) -> float:
    """Efficiency of the bare client on the same server: ``calls`` completions of a typical
    prompt from ``concurrency`` threads, nothing else. What the server, the HTTP stack and
    the machine allow; webqa's batch can at best match it."""
    import threading

    from webqa.llm import ChatClient

    client = ChatClient(model="scripted", base_url=url)
    prompt = [
        {"role": "system", "content": prompts.system()},
        {"role": "user", "content": "♦Question\nHow big is Ceres?\n" + "text " * 800},
    ]
    client.complete(prompt)
    per = max(calls // concurrency, 1)

    def worker() -> None:
        for _ in range(per):
            client.complete(prompt)

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    client.close()
    return per * delay / (time.perf_counter() - started)


def _pool_bound(call_counts: list[int], concurrency: int, delay: float) -> float:
    """The shortest wall time a pool of ``concurrency`` workers taking the runs in order can
    reach when each LLM call takes exactly ``delay`` and nothing else takes any time: runs
    are whole, so the last ones leave workers idle."""
    import heapq

    free = [0.0] * concurrency
    for n in call_counts:
        heapq.heappush(free, heapq.heappop(free) + n * delay)
    return max(free)


def bench_batch(
    corpus_path: str, questions: list[str], runs: int, concurrency: int, delay: float
) -> None:
    """``webqa.batch.run_batch`` (what ``webqa batch`` runs) on ``runs`` questions; the model
    server is its own process, as a real one would be, so its work does not count against it.
    Printed beside it, from the same server in the same run: the bare client's efficiency
    (the ceiling) and the pool bound of the runs' own lengths."""
    urls: multiprocessing.Queue = multiprocessing.Queue()
    stop = multiprocessing.Event()
    server = multiprocessing.Process(target=_serve, args=(delay, urls, stop), daemon=True)
    server.start()
    model = {"model": "scripted", "base_url": urls.get(timeout=30)}
    items = [Item(questions[i % len(questions)], str(i)) for i in range(runs)]
    try:
        run_batch(
            items[:1], corpus=corpus_path, policy="llm", **model, max_actions=20, traces=False
        )  # warm up: imports, index, connection
        started = time.perf_counter()
        answers = run_batch(
            items,
            corpus=corpus_path,
            policy="llm",
            concurrency=concurrency,
            **model,
            max_actions=20,
            traces=False,
        )
        wall = time.perf_counter() - started
        calls = sum(a.usage.llm_calls for a in answers)
        ceiling = _ceiling(model["base_url"], calls, concurrency, delay)
    finally:
        stop.set()
        server.join(timeout=10)
    statuses: dict[str, int] = {}
    for a in answers:
        statuses[a.status] = statuses.get(a.status, 0) + 1
    ideal = calls * delay / concurrency
    bound = _pool_bound([a.usage.llm_calls for a in answers], concurrency, delay)
    efficiency = ideal / wall
    print(
        f"batch: {runs} runs, {concurrency} concurrent, {calls} LLM calls at {delay * 1000:.0f} ms"
    )
    print(
        f"  wall {wall:.2f} s, ideal {ideal:.2f} s: efficiency {efficiency:.3f} "
        "(target ≥ 0.9 at 100 ms, ≥ 0.95 at 500 ms)"
    )
    print(
        f"  ceilings in this run: bare client on this server {ceiling:.3f}; whole runs on "
        f"{concurrency} workers {ideal / bound:.3f}; both {ceiling * ideal / bound:.3f} -> "
        f"webqa reaches {efficiency / (ceiling * ideal / bound):.3f} of what this setup allows"
    )
    print(f"  statuses: {statuses}")


def bench_tokens(corpus_path: str, questions: list[str]) -> None:
    corpus = open_corpus(corpus_path)
    system = prompts.system()
    counts: list[int] = []

    class Counting(ExtractivePolicy):
        def start(self, question: str) -> ExtractivePolicy:
            run = super().start(question)
            act = run.act

            def counted(obs: Observation) -> Reply:
                counts.append((len(system) + len(obs.text)) // 4)
                return act(obs)

            run.act = counted  # type: ignore[method-assign]
            return run

    agent = Agent(Counting(), WebLoader(corpus, corpus))
    for q in questions:
        agent.run(q)
    counts.sort()
    p95 = counts[int(0.95 * (len(counts) - 1))]
    print(
        f"prompt tokens per step (chars/4 estimate): {len(counts)} steps over {len(questions)} "
        f"questions; median {statistics.median(counts):.0f}, p95 {p95}, max {max(counts)} "
        "(target median ≤ 2000)"
    )


def _times(cmds: dict[str, list[str]], n: int = 30, env: dict | None = None) -> dict:
    """Wall times of ``n`` runs of each command, the commands taking turns (so a busy moment
    of the machine falls on all of them alike): ``{name: (fastest, median)}``."""
    times: dict[str, list[float]] = {name: [] for name in cmds}
    for _ in range(n):
        for name, cmd in cmds.items():
            t = time.perf_counter()
            subprocess.run(
                cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False, env=env
            )
            times[name].append(time.perf_counter() - t)
    return {name: (min(ts), statistics.median(ts)) for name, ts in times.items()}


def bench_startup() -> None:
    """``--help`` (target ≤ 3×) and an extractive ``ask`` on the demo site (target ≤ 15×)
    against ``python -c pass``; the ask runs the installed ``webqa`` script as a user does,
    piped (no rich) and as on a terminal (``FORCE_COLOR=1`` takes the same path)."""
    import os
    import shutil
    import tempfile

    home = tempfile.mkdtemp(prefix="webqa-bench-")
    env = dict(os.environ, WEBQA_HOME=home)
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # a user's install has its bytecode written
    script = shutil.which("webqa") or str(Path(sys.executable).with_name("webqa"))
    ask = [script, "ask", "--corpus", str(ROOT / "demos/solar-system"), "How big is Ceres?"]
    subprocess.run(ask, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)  # index
    cmds = {
        "python -c pass": [sys.executable, "-c", "pass"],
        "--help": [script, "--help"],
        "ask --help": [script, "ask", "--help"],
        "ask (demo, piped)": ask,
        "ask (demo, FORCE_COLOR=1)": ["env", "FORCE_COLOR=1", *ask],
    }
    got = _times(cmds, env=env)
    base_min, base_med = got.pop("python -c pass")
    print(f"python -c pass: fastest {base_min * 1000:.1f} ms, median {base_med * 1000:.1f} ms")
    for name, (t_min, t_med) in got.items():
        target = 15 if name.startswith("ask (") else 3
        print(
            f"webqa {name}: fastest {t_min * 1000:.1f} ms = {t_min / base_min:.2f}×; median "
            f"{t_med * 1000:.1f} ms = {t_med / base_med:.2f}× (target ≤ {target}×)"
        )
    shutil.rmtree(home, ignore_errors=True)


_FIRST_SEARCH = """
import sys, time, json
from webqa.corpus import open_corpus
corpus = open_corpus(sys.argv[1])
t = time.perf_counter()
corpus.search(sys.argv[2], 10)
print(json.dumps(time.perf_counter() - t))
"""


def bench_first_search(corpus_path: str, questions: list[str], n: int = 10) -> None:
    """The first search of a fresh process (the corpus opened, imports done, not timed), for
    ``n`` different questions, twice: a ZIM keeps the scoring data of the articles a search
    read in its store (beside the index), so the second pass reads none of them again
    (target ≤ 50 ms at the median)."""
    for name in ("store as found", "store filled by the pass before"):
        times = []
        for q in questions[:n]:
            out = subprocess.run(
                [sys.executable, "-c", _FIRST_SEARCH, corpus_path, q],
                capture_output=True,
                text=True,
                check=True,
            )
            times.append(json.loads(out.stdout.strip().splitlines()[-1]))
        print(
            f"first search in a fresh process, {len(times)} questions, {name}: median "
            f"{statistics.median(times) * 1000:.1f} ms, max {max(times) * 1000:.1f} ms "
            "(target ≤ 50 ms)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--corpus",
        default=str(ROOT.parent / "shared/data/wikipedia_en_ray_charles_maxi_2019-08.zim"),
    )
    parser.add_argument("--questions", default=str(ROOT.parent / "shared/data/dev-questions.jsonl"))
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument(
        "--delay",
        type=float,
        nargs="+",
        default=[0.5, 0.1],
        help="LLM delays to measure, in seconds (default: 0.5 0.1)",
    )
    parser.add_argument("--startup-only", action="store_true", help="only the start-up figures")
    args = parser.parse_args()
    for path in (args.corpus, args.questions):
        if not Path(path).exists():
            sys.exit(
                f"not found: {path} (pass --corpus/--questions, e.g. demos/solar-system "
                "and demos/solar-system-questions.jsonl)"
            )
    questions = [json.loads(line)["question"] for line in open(args.questions, encoding="utf-8")]
    bench_startup()
    bench_first_search(args.corpus, questions)
    if args.startup_only:
        return
    bench_tokens(args.corpus, questions)
    for delay in args.delay:
        bench_batch(args.corpus, questions, args.runs, args.concurrency, delay)


if __name__ == "__main__":
    main()
