"""Index and query benchmark: webqa's folder corpus (SQLite FTS5) against bm25s.

    python benchmarks/bench_index.py --docs 100000

Generates a folder of synthetic HTML pages (~200 words each, Zipf-distributed vocabulary whose
most frequent words are English function words, as in real text), then runs each engine in
its own subprocess so peak RSS figures do not mix:

- webqa: ``FolderCorpus`` builds its index from the folder, then ``search(q, 10)`` (ranked
  results with titles and snippets) for every query;
- bm25s: reads the same files with the same text extraction, tokenizes (English stopwords)
  and indexes, then ``retrieve(k=10)`` (ranked ids only) for every query.

Queries are 2-5 words drawn from random documents, so common words occur in them as often as
in the text. Needs the ``bench`` extra (bm25s, psutil).
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

FUNCTION_WORDS = """the of and to a in is that for it as was with be by on not he i this are or
his from at which but have an they you were her she there one all we their been has would when
who will more if no out so said what up its about into than them can only other new some could
time these two may then do first any my now such like our over man me even most made after also
did many before must through back years where much your way well down should because each just
those people how too little state good very make world still own see men work long get here
between both life being under never day same another know while last might us great old year
off come since against go came right used take three""".split()


def vocabulary(size: int, rng: random.Random) -> list[str]:
    """Function words first, then made-up words, in frequency-rank order."""
    syllables = [c + v for c in "bcdfghjklmnprstvwz" for v in "aeiou"]
    words = list(dict.fromkeys(FUNCTION_WORDS))
    seen = set(words)
    while len(words) < size:
        w = "".join(rng.choice(syllables) for _ in range(rng.randint(2, 4)))
        if w not in seen:
            seen.add(w)
            words.append(w)
    return words


def generate(folder: Path, ndocs: int, nwords: int, vocab_size: int, seed: int) -> list[str]:
    """Write ``ndocs`` HTML files; return 2-5 word queries drawn from random documents."""
    import numpy as np

    rng = random.Random(seed)
    vocab = np.array(vocabulary(vocab_size, rng), dtype=object)
    weights = 1.0 / np.arange(1, vocab_size + 1) ** 1.07
    cdf = np.cumsum(weights) / weights.sum()
    nprng = np.random.default_rng(seed)
    samples: list[list[str]] = []
    for start in range(0, ndocs, 1000):
        n = min(1000, ndocs - start)
        sub = folder / f"d{start // 1000:04d}"
        sub.mkdir(parents=True, exist_ok=True)
        ids = np.searchsorted(cdf, nprng.random((n, nwords)))
        for k in range(n):
            text = vocab[ids[k]]
            title = " ".join(text[:5])
            body = "</p><p>".join(" ".join(text[i : i + 40]) for i in range(0, nwords, 40))
            (sub / f"{start + k}.html").write_text(
                f"<html><head><title>{title}</title></head><body><p>{body}</p></body></html>",
                encoding="utf-8",
            )
            if rng.random() < 0.01:
                samples.append(list(text))
    return [
        " ".join(rng.sample(doc, rng.randint(2, 5)))
        for doc in (rng.choice(samples) for _ in range(QUERIES))
    ]


QUERIES = 200


def peak_rss_mib() -> float:
    """Peak resident set size of this process so far, in MiB."""
    try:
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    except ImportError:  # not Linux/macOS: current RSS is the best psutil can say afterwards
        import psutil

        return psutil.Process().memory_info().rss / 2**20


def percentiles(times: list[float]) -> dict[str, float]:
    """p50/p95/max of a list of seconds, in milliseconds."""
    s = sorted(times)

    def pick(q: float) -> float:
        return s[min(len(s) - 1, int(q * len(s)))] * 1000

    return {"p50_ms": pick(0.50), "p95_ms": pick(0.95), "max_ms": s[-1] * 1000}


def run_webqa(folder: Path, queries: list[str], work: Path) -> dict:
    """Build the FTS5 index of ``folder`` and time ``search`` for each query."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from webqa.corpus import FolderCorpus

    t = time.perf_counter()
    corpus = FolderCorpus(folder, cache_dir=work / "index")
    build = time.perf_counter() - t
    times, hits = [], 0
    for q in queries:
        t = time.perf_counter()
        hits += len(corpus.search(q, 10))
        times.append(time.perf_counter() - t)
    ndocs = corpus.index.count()
    corpus.close()
    return {
        "engine": "webqa-fts5",
        "docs": ndocs,
        "build_s": build,
        "docs_per_s": ndocs / build,
        "results": hits,
        **percentiles(times),
        "peak_rss_mib": peak_rss_mib(),
    }


def run_bm25s(folder: Path, queries: list[str], work: Path) -> dict:
    """Read, tokenize and index the same files with bm25s; time ``retrieve`` per query."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    import bm25s

    from webqa.corpus.folder import extract

    t = time.perf_counter()
    texts = []
    for path in sorted(folder.rglob("*.html")):
        title, body = extract(path, path.read_bytes())
        texts.append(title + " " + body)
    retriever = bm25s.BM25()
    retriever.index(bm25s.tokenize(texts, stopwords="en", show_progress=False), show_progress=False)
    build = time.perf_counter() - t
    times, hits = [], 0
    for q in queries:
        t = time.perf_counter()
        tokens = bm25s.tokenize([q], stopwords="en", show_progress=False)
        k = min(10, len(texts))
        if tokens.vocab:
            docs, _ = retriever.retrieve(tokens, k=k, show_progress=False, n_threads=1)
            hits += docs.shape[1]
        times.append(time.perf_counter() - t)
    return {
        "engine": "bm25s",
        "docs": len(texts),
        "build_s": build,
        "docs_per_s": len(texts) / build,
        "results": hits,
        **percentiles(times),
        "peak_rss_mib": peak_rss_mib(),
    }


def child(engine: str, work: Path) -> None:
    """Run one engine (in a subprocess of the main run) and print its figures as JSON."""
    queries = json.loads((work / "queries.json").read_text())
    fn = run_webqa if engine == "webqa" else run_bm25s
    print(json.dumps(fn(work / "docs", queries, work)))


def main() -> None:
    """Generate the corpus, run both engines in subprocesses, print a comparison."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--docs", type=int, default=100_000)
    ap.add_argument("--words", type=int, default=200, help="words per document")
    ap.add_argument("--vocab", type=int, default=50_000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--workdir", type=Path, help="keep the corpus and index here")
    ap.add_argument("--child", choices=["webqa", "bm25s"], help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args.child, args.workdir)
        return
    tmp = None
    if args.workdir is None:
        tmp = tempfile.TemporaryDirectory(prefix="webqa-bench-")
        args.workdir = Path(tmp.name)
    work = args.workdir
    t = time.perf_counter()
    queries = generate(work / "docs", args.docs, args.words, args.vocab, args.seed)
    (work / "queries.json").write_text(json.dumps(queries))
    print(
        f"generated {args.docs} documents in {time.perf_counter() - t:.1f}s; "
        f"{len(queries)} queries, e.g. {queries[:3]}",
        flush=True,
    )
    results = {}
    for engine in ("webqa", "bm25s"):
        out = subprocess.run(
            [sys.executable, __file__, "--child", engine, "--workdir", str(work)],
            check=True,
            capture_output=True,
            text=True,
        )
        results[engine] = json.loads(out.stdout.strip().splitlines()[-1])
        r = results[engine]
        print(
            f"{r['engine']:>11}: build {r['build_s']:.1f}s ({r['docs_per_s']:.0f} docs/s), "
            f"query p50 {r['p50_ms']:.2f} ms, p95 {r['p95_ms']:.2f} ms, "
            f"max {r['max_ms']:.1f} ms, peak RSS {r['peak_rss_mib']:.0f} MiB",
            flush=True,
        )
    ours, ref = results["webqa"], results["bm25s"]
    print(
        "ratios (webqa / bm25s): "
        + ", ".join(
            f"{k} {ours[k] / ref[k]:.2f}"
            for k in ("docs_per_s", "p50_ms", "p95_ms", "peak_rss_mib")
        )
    )
    if tmp is not None:
        tmp.cleanup()


if __name__ == "__main__":
    main()
