"""Fetch speed and the memory cost of hostile responses, against a loopback site.

Run from the repository root::

    python benchmarks/bench_fetch.py [--pages 500] [--threads 8]

1. Throughput: a generated site of ``--pages`` HTML pages (each ~12 KB with 20 links) served
   on 127.0.0.1; ``--threads`` threads share one :class:`HttpSource` and fetch every page once:
   a pass that only fetches, then a pass that also renders each page with
   ``webqa.render.render_document`` when that exists (else the report says so). Server and
   client share one process (and its GIL), so the figures are a floor.
2. Memory: for each hostile response (a 50 MB page, a 1 GB gzip bomb, a 1 GB brotli bomb, a
   PDF announcing 300 MB), a fresh subprocess fetches it alone and reports its peak RSS
   (``ru_maxrss``), next to a subprocess that fetches one small page (the baseline).
   Target: under 200 MB for any single hostile response.
"""

from __future__ import annotations

import argparse
import json
import queue
import random
import resource
import subprocess
import sys
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.webserver import big_body, bomb, page, serve  # noqa: E402
from webqa.errors import FetchError  # noqa: E402
from webqa.web.fetch import FetchConfig, HttpSource  # noqa: E402

MB = 1_000_000
WORDS = (
    "river city music archive history theory signal network garden winter market light "
    "paper engine harbour story voice table bridge method"
).split()


def site_pages(n: int, seed: int = 1) -> dict[str, bytes]:
    """``n`` HTML pages of ~12 KB, each linking to 20 others."""
    rng = random.Random(seed)
    pages = {}
    for i in range(n):
        paras = "".join(
            f"<p>{' '.join(rng.choice(WORDS) for _ in range(80))} "
            f'<a href="/p/{rng.randrange(n)}">see page {rng.randrange(n)}</a>.</p>\n'
            for _ in range(20)
        )
        pages[f"/p/{i}"] = (
            f"<!doctype html><html><head><title>Page {i}</title></head><body>"
            f"<h1>Page {i}</h1><nav><a href='/p/0'>home</a></nav>{paras}</body></html>"
        ).encode()
    return pages


def throughput(n_pages: int, threads: int) -> None:
    """Print pages/s for fetching (and rendering) a generated site with ``threads`` threads."""
    try:
        from webqa.render import render_document
    except ImportError:
        render_document = None
    pages = site_pages(n_pages)
    size = sum(map(len, pages.values())) / MB
    with serve({path: page(body) for path, body in pages.items()}) as site:
        passes = [("fetch only", None)]
        if render_document is not None:
            passes.append(("fetch + render", render_document))
        else:
            print("webqa.render not found: measuring fetch only")
        for label, render in passes:
            elapsed, exact, errors = _run(site, pages, threads, render)
            print(
                f"throughput: {n_pages} pages ({size:.1f} MB), {threads} threads, {label}: "
                f"{n_pages / elapsed:.0f} pages/s ({elapsed:.2f} s); {exact}/{n_pages} texts byte-exact"
            )
            if errors:
                print(f"  {len(errors)} errors, first: {errors[0]}")


def _run(site, pages: dict[str, bytes], threads: int, render) -> tuple[float, int, list[str]]:
    """Fetch (and render) every page once with a fresh shared source: (seconds, exact, errors)."""
    source = HttpSource(FetchConfig(allow_private=True))
    todo: queue.Queue[str] = queue.Queue()
    for path in pages:
        todo.put(path)
    errors: list[str] = []
    exact = [0]

    def worker() -> None:
        while True:
            try:
                path = todo.get_nowait()
            except queue.Empty:
                return
            try:
                doc = source.fetch(site.url(path))
                exact[0] += doc.text == pages[path].decode()
                if render is not None:
                    render(doc)
            except Exception as exc:  # a benchmark reports failures, it does not stop
                errors.append(f"{path}: {exc}")

    start = time.perf_counter()
    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    elapsed = time.perf_counter() - start
    source.close()
    return elapsed, exact[0], errors


def child(url: str) -> None:
    """Subprocess side: fetch ``url`` once, print outcome and peak RSS as JSON."""
    source = HttpSource(FetchConfig(allow_private=True, retries=0))
    try:
        doc = source.fetch(url)
        outcome = f"ok, {len(doc.text) / MB:.1f} MB of text; notes: {list(doc.notes)}"
    except FetchError as exc:
        outcome = f"{type(exc).__name__}: {exc}"
    print(json.dumps({"outcome": outcome, "peak_mb": peak_rss_mb()}))


def peak_rss_mb() -> float:
    """This process's peak resident set size. Linux's ``ru_maxrss`` survives ``execve`` (a
    child would report its parent's peak), so the kernel's VmHWM is read where it exists."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024 if sys.platform == "darwin" else 1024)  # bytes on macOS


def memory() -> None:
    """Print the peak RSS of a fresh subprocess fetching each hostile response."""

    def announced_pdf(h):
        h.send_response(200)
        h.send_header("Content-Type", "application/pdf")
        h.send_header("Content-Length", str(300 * MB))
        h.end_headers()

    hostile = {
        "/small": ("baseline: one 12 KB page", page(site_pages(1)[("/p/0")])),
        "/big": ("50 MB HTML page", big_body(50 * MB)),
        "/gzip": (
            "gzip bomb, 1 GB decoded",
            page(bomb("gzip", 1000 * MB), "text/html", {"Content-Encoding": "gzip"}),
        ),
        "/br": (
            "brotli bomb, 1 GB decoded",
            page(bomb("br", 1000 * MB), "text/html", {"Content-Encoding": "br"}),
        ),
        "/pdf": ("PDF announcing 300 MB", announced_pdf),
    }
    with serve({path: route for path, (_, route) in hostile.items()}) as site:
        worst = 0.0
        for path, (label, _) in hostile.items():
            out = subprocess.run(
                [sys.executable, __file__, "--child", site.url(path)],
                capture_output=True,
                text=True,
                timeout=120,
                cwd=REPO,
            )
            try:
                result = json.loads(out.stdout.strip().splitlines()[-1])
            except (IndexError, ValueError):
                print(f"  {label}: child failed: {out.stderr[-500:]}")
                continue
            if path != "/small":
                worst = max(worst, result["peak_mb"])
            print(f"  {label:28s} peak RSS {result['peak_mb']:6.1f} MB   {result['outcome'][:110]}")
    print(
        f"memory: worst peak RSS for one hostile response {worst:.1f} MB (target < 200 MB): "
        f"{'PASS' if worst < 200 else 'FAIL'}"
    )


def main() -> None:
    """Run both parts (or, with ``--child``, one fetch in a subprocess)."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--pages", type=int, default=500)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--child", metavar="URL", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child)
        return
    throughput(args.pages, args.threads)
    print("memory, one subprocess per response:")
    memory()


if __name__ == "__main__":
    main()
