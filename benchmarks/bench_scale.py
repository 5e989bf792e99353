"""The scale curve of a folder corpus: 10k, 100k and 1M documents.

    python benchmarks/bench_scale.py [--sizes 10000,100000,1000000] [--no-bm25s]
                                     [--compare OTHER_CHECKOUT]

Folders of synthetic HTML pages (see ``bench_index.generate``: ~200 words each, Zipf vocabulary,
1,000 files per subfolder) are generated once under ``$WEBQA_BENCH_DIR`` (default
``/work/corpora/scale``) and kept between runs; indexes live there too, never in the
repository. For each size, every measure runs in its own subprocess (so peak RSS figures do
not mix):

- build: a from-scratch ``FolderCorpus`` build (time, docs/s, peak RSS of the writing process
  and of its largest extraction worker, index size), and
  bm25s reading, tokenizing and indexing the same files (time, peak RSS);
- open: opening the up-to-date index (median of 5 opens in fresh processes, and its RSS);
- refresh: the open after one file was added to one subfolder (then removed again);
- full: ``build_index(path, full=True)``, which compares every file;
- query p50/p95 of ``search(q, 10)`` for 200 queries;
- ask: ``webqa ask --policy extractive`` wall time (median of 3) and peak RSS.

``--compare DIR`` runs the open/refresh/ask/build measures with another checkout's code as
well (for example a worktree of the previous commit), with its own index files, so the
before/after ratios come from the same run. Needs numpy, bm25s and psutil (the ``bench``
extra).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))

from bench_index import generate, peak_rss_mib, percentiles  # noqa: E402

QUESTION = "What does the page about {} say?"
# What the installed ``webqa`` script runs, importable from any checkout on PYTHONPATH.
ENTRY = "import sys; from webqa.cli import _entry; sys.argv[0] = 'webqa'; sys.exit(_entry())"


def bench_dir() -> Path:
    """Where generated folders and their indexes are kept between runs."""
    return Path(os.environ.get("WEBQA_BENCH_DIR", "/work/corpora/scale"))


def ensure_folder(n: int, words: int, seed: int) -> tuple[Path, list[str]]:
    """The generated folder of ``n`` documents and its queries (generated on first use)."""
    base = bench_dir() / f"docs-{n}"
    done = base / ".complete"
    queries = base / ".queries.json"
    if not done.exists():
        if base.exists():
            shutil.rmtree(base)
        t = time.perf_counter()
        qs = generate(base / "site", n, words, 50_000, seed)
        queries.write_text(json.dumps(qs))
        done.write_text(json.dumps({"docs": n, "words": words, "seed": seed}))
        print(f"generated {n} documents in {time.perf_counter() - t:.0f} s", flush=True)
    return base / "site", json.loads(queries.read_text())


# -- measures, each run in a child process -----------------------------------------------------


def _use(code: Path) -> None:
    sys.path.insert(0, str(code))


def m_build(folder: Path, home: Path, code: Path) -> dict:
    """A from-scratch build."""
    _use(code)
    from webqa.corpus import FolderCorpus

    shutil.rmtree(home / "index", ignore_errors=True)
    t = time.perf_counter()
    corpus = FolderCorpus(folder, cache_dir=home / "index")
    build = time.perf_counter() - t
    docs = corpus.index.count()
    path = corpus.index.path
    corpus.close()
    size = sum(p.stat().st_size for p in path.parent.glob(path.name + "*"))
    import resource

    workers = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {
        "build_s": build,
        "docs": docs,
        "docs_per_s": docs / build,
        "build_rss_mib": peak_rss_mib(),
        "worker_rss_mib": workers,
        "index_mib": size / 2**20,
    }


def m_bm25s(folder: Path, home: Path, code: Path) -> dict:
    """bm25s over the same files with webqa's text extraction."""
    _use(code)
    import bm25s

    from webqa.corpus.folder import extract

    t = time.perf_counter()
    texts = []
    for sub in sorted(os.scandir(folder), key=lambda e: e.name):
        for entry in sorted(os.scandir(sub.path), key=lambda e: e.name):
            path = Path(entry.path)
            title, body = extract(path, path.read_bytes())
            texts.append(title + " " + body)
    retriever = bm25s.BM25()
    retriever.index(bm25s.tokenize(texts, stopwords="en", show_progress=False), show_progress=False)
    return {"bm25s_build_s": time.perf_counter() - t, "bm25s_rss_mib": peak_rss_mib()}


def m_open(folder: Path, home: Path, code: Path) -> dict:
    """One open of the up-to-date index (imports excluded)."""
    _use(code)
    from webqa.corpus import FolderCorpus

    t = time.perf_counter()
    corpus = FolderCorpus(folder, cache_dir=home / "index")
    took = time.perf_counter() - t
    corpus.close()
    return {"open_s": took, "open_rss_mib": peak_rss_mib()}


def m_full(folder: Path, home: Path, code: Path) -> dict:
    """A forced full check (every file compared)."""
    _use(code)
    from webqa.corpus import build_index

    t = time.perf_counter()
    try:
        build_index(folder, cache_dir=home / "index", full=True)
    except TypeError:  # a checkout without full checks: every refresh is one
        build_index(folder, cache_dir=home / "index")
    return {"full_s": time.perf_counter() - t, "full_rss_mib": peak_rss_mib()}


def m_query(folder: Path, home: Path, code: Path) -> dict:
    """search(q, 10) for every query."""
    _use(code)
    from webqa.corpus import FolderCorpus

    queries = json.loads((folder.parent / ".queries.json").read_text())
    corpus = FolderCorpus(folder, cache_dir=home / "index")
    times = []
    for q in queries:
        t = time.perf_counter()
        corpus.search(q, 10)
        times.append(time.perf_counter() - t)
    corpus.close()
    p = percentiles(times)
    return {"query_p50_ms": p["p50_ms"], "query_p95_ms": p["p95_ms"]}


MEASURES = {"build": m_build, "bm25s": m_bm25s, "open": m_open, "full": m_full, "query": m_query}


def child(name: str, folder: Path, home: Path, code: Path) -> dict:
    """Run one measure in a fresh interpreter; its JSON result."""
    out = subprocess.run(
        [
            sys.executable,
            __file__,
            "--child",
            name,
            "--folder",
            str(folder),
            "--home",
            str(home),
            "--code",
            str(code),
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def timed_ask(folder: Path, home: Path, code: Path, question: str) -> tuple[float, float]:
    """Wall seconds and peak RSS (MiB) of one ``webqa ask`` in a fresh process."""
    env = dict(os.environ, WEBQA_HOME=str(home), PYTHONPATH=str(code))
    cmd = [
        sys.executable,
        "-c",
        ENTRY,
        "ask",
        "--corpus",
        str(folder),
        "--policy",
        "extractive",
        "--trace",
        os.devnull,
        "-q",
        question,
    ]
    t = time.perf_counter()
    proc = subprocess.Popen(
        cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=str(home)
    )
    _, _, usage = os.wait4(proc.pid, 0)
    return time.perf_counter() - t, usage.ru_maxrss / 1024


def touch_one(folder: Path) -> Path:
    """Add one page to the first subfolder (what a refresh must find)."""
    sub = sorted(p for p in folder.iterdir() if p.is_dir())[0]
    page = sub / "added-by-bench.html"
    page.write_text("<title>Added</title><p>a page added by the benchmark</p>")
    return page


def measure(n: int, folder: Path, queries: list[str], code: Path, tag: str, bm25: bool) -> dict:
    """Every measure for one folder size with one checkout's code."""
    home = bench_dir() / f"home-{n}-{tag}"
    home.mkdir(parents=True, exist_ok=True)
    row: dict = {"docs": n, "code": tag}
    row |= child("build", folder, home, code)
    print(f"  [{tag}] build {row['build_s']:.1f} s", flush=True)
    if bm25:
        row |= child("bm25s", folder, home, code)
        print(f"  [{tag}] bm25s {row['bm25s_build_s']:.1f} s", flush=True)
    opens = [child("open", folder, home, code) for _ in range(5)]
    row["open_s"] = statistics.median(o["open_s"] for o in opens)
    row["open_rss_mib"] = max(o["open_rss_mib"] for o in opens)
    page = touch_one(folder)
    try:
        row["refresh_s"] = child("open", folder, home, code)["open_s"]
    finally:
        page.unlink()
    child("open", folder, home, code)  # the removal, so the index is up to date again
    row |= child("full", folder, home, code)
    row |= child("query", folder, home, code)
    asks = [
        timed_ask(folder, home, code, QUESTION.format(" ".join(queries[i].split()[:3])))
        for i in range(3)
    ]
    row["ask_s"] = statistics.median(a[0] for a in asks)
    row["ask_rss_mib"] = max(a[1] for a in asks)
    return row


COLUMNS = [
    ("docs", "docs", "{:d}"),
    ("code", "code", "{}"),
    ("build_s", "build s", "{:.1f}"),
    ("docs_per_s", "docs/s", "{:.0f}"),
    ("bm25s_build_s", "bm25s s", "{:.1f}"),
    ("vs_bm25s", "x bm25s", "{:.2f}"),
    ("build_rss_mib", "RSS MiB", "{:.0f}"),
    ("worker_rss_mib", "worker MiB", "{:.0f}"),
    ("bm25s_rss_mib", "bm25s MiB", "{:.0f}"),
    ("rss_ratio", "RSS/bm25s", "{:.3f}"),
    ("index_mib", "index MiB", "{:.0f}"),
    ("open_s", "open ms", "{:.1f}"),
    ("refresh_s", "refresh ms", "{:.1f}"),
    ("full_s", "full s", "{:.2f}"),
    ("query_p50_ms", "q p50 ms", "{:.2f}"),
    ("query_p95_ms", "q p95 ms", "{:.2f}"),
    ("ask_s", "ask s", "{:.2f}"),
    ("ask_rss_mib", "ask MiB", "{:.0f}"),
]


def table(rows: list[dict]) -> str:
    """The scale curve as a Markdown table."""
    out = ["| " + " | ".join(h for _, h, _ in COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    for r in rows:
        if "bm25s_build_s" in r:
            r["vs_bm25s"] = r["bm25s_build_s"] / r["build_s"]
            r["rss_ratio"] = r["build_rss_mib"] / r["bm25s_rss_mib"]
        cells = []
        for key, _, fmt in COLUMNS:
            value = r.get(key)
            if value is None:
                cells.append("")
            elif key in ("open_s", "refresh_s"):
                cells.append(fmt.format(value * 1000))
            else:
                cells.append(fmt.format(value))
        out.append("| " + " | ".join(cells) + " |")
    return "\n".join(out)


def main() -> None:
    """Generate (once) and measure every size; print the table and the ratios."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="10000,100000,1000000")
    ap.add_argument("--words", type=int, default=200)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--no-bm25s", action="store_true")
    ap.add_argument("--compare", type=Path, help="another checkout to measure as 'before'")
    ap.add_argument("--json", type=Path, help="also write the rows here")
    ap.add_argument("--child", choices=sorted(MEASURES), help=argparse.SUPPRESS)
    ap.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--home", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--code", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(MEASURES[args.child](args.folder, args.home, args.code)))
        return
    rows = []
    sizes = [int(s) for s in args.sizes.split(",")]
    for n in sizes:
        folder, queries = ensure_folder(n, args.words, args.seed)
        print(f"{n} documents:", flush=True)
        if args.compare:
            rows.append(measure(n, folder, queries, args.compare.resolve(), "before", False))
        rows.append(measure(n, folder, queries, REPO, "now", not args.no_bm25s))
        if args.json:
            args.json.write_text(json.dumps(rows, indent=1))
    print(table(rows))
    now = [r for r in rows if r["code"] == "now"]
    if len(now) > 1:
        print(
            f"open {now[-1]['docs']} vs {now[0]['docs']} files: "
            f"{now[-1]['open_s'] / now[0]['open_s']:.2f}x"
        )
    for r in rows:
        if "vs_bm25s" in r:
            print(
                f"{r['docs']} docs: build {r['vs_bm25s']:.2f}x bm25s's speed, "
                f"peak RSS {r['rss_ratio']:.3f}x bm25s's"
            )


if __name__ == "__main__":
    main()
