"""Render speed: webqa's ``render_html`` against gpt-oss's ``process_html`` on real Wikipedia pages.

Run from the repository root::

    python benchmarks/bench_render.py [--zim PATH] [--rounds 3]

The default corpus is ``../shared/data/wikipedia_en_ray_charles_maxi_2019-08.zim`` (relative to
the repository root): its 125 HTML articles (redirects skipped) are rendered once per round by
both renderers, page by page and side by side, after one warm-up round. No result is cached
across pages or rounds. It prints the median and p95 per-page time of each, the ratio
webqa / gpt-oss (target: at most 1.0), and a "kept facts" check, so that speed is not bought by
dropping content: how many article-to-article ``<a href>`` links become link markers (all of them,
and those in the running text, i.e. outside the navboxes, reference lists and hatnotes that
webqa drops on purpose), how many infobox rows (``table.infobox tr`` with a ``th`` and a ``td``) appear as ``th | td`` text, and
how many ``table.wikitable`` rows appear as ``cell | cell`` text. A digest of webqa's output
(lines and links of every page) is printed too, to check that an optimisation changed nothing.

gpt-oss is optional and not a webqa dependency. Install it and what ``page_contents`` imports::

    .venv/bin/pip install gpt-oss --ignore-requires-python --no-deps
    .venv/bin/pip install html2text tiktoken aiohttp pydantic

(``gpt_oss.tools.simple_browser``'s package ``__init__`` also pulls in structlog, openai-harmony,
chz, tenacity...; when those are missing the benchmark loads ``page_contents.py`` on its own,
which needs only the four packages above.) Without gpt-oss the benchmark says so and prints
webqa's figures alone.

Both renderers get the same text and the same base URL, ``https://<archive name>/<entry path>``:
an http base, so that gpt-oss (which only knows http links) resolves the ZIM's relative links
exactly as webqa does.
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import importlib.util
import re
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import urldefrag, urljoin

REPO = Path(__file__).resolve().parent.parent
DEFAULT_ZIM = REPO.parent / "shared" / "data" / "wikipedia_en_ray_charles_maxi_2019-08.zim"
INSTALL_HINT = (
    "  .venv/bin/pip install gpt-oss --ignore-requires-python --no-deps\n"
    "  .venv/bin/pip install html2text tiktoken aiohttp pydantic"
)

_MARKER = re.compile(r"【\d+†([^】†]*)(?:†[^】]*)?】")
_IMAGE = re.compile(r"\[Image(?: \d+)?(?::[^\]]*)?\]")
_NOWS = re.compile(r"\s+")
_SCHEME = re.compile(
    r"[A-Za-z][A-Za-z0-9+.-]*:"
)  # http:, mailto:... (not "Catchin'_Some_Rays:_...")


# --------------------------------------------------------------------------- loading


def load_pages(zim_path: Path) -> list[tuple[str, str, str]]:
    """(path, url, html) of every non-redirect text/html entry of the archive."""
    from libzim.reader import Archive

    archive = Archive(str(zim_path))
    host = zim_path.stem
    pages = []
    for i in range(archive.all_entry_count):
        entry = archive._get_entry_by_id(i)
        if entry.is_redirect:
            continue
        item = entry.get_item()
        if not item.mimetype.startswith("text/html"):
            continue
        html = bytes(item.content).decode("utf-8", errors="replace")
        pages.append((entry.path, f"https://{host}/{entry.path}", html))
    return pages


def load_gpt_oss():
    """gpt-oss's ``process_html``, or None with the reason."""
    try:
        from gpt_oss.tools.simple_browser.page_contents import process_html

        return process_html, ""
    except ImportError as exc:
        first_error = exc
    # The package __init__ imports the whole browser tool; page_contents.py alone needs less.
    spec = importlib.util.find_spec("gpt_oss")
    if spec is None or not spec.submodule_search_locations:
        return None, f"gpt-oss is not installed ({first_error})"
    path = (
        Path(next(iter(spec.submodule_search_locations)))
        / "tools"
        / "simple_browser"
        / "page_contents.py"
    )
    if not path.exists():
        return None, f"gpt-oss has no {path.name} ({first_error})"
    try:
        mod_spec = importlib.util.spec_from_file_location("_gpt_oss_page_contents", path)
        module = importlib.util.module_from_spec(mod_spec)
        sys.modules[mod_spec.name] = module  # pydantic resolves annotations through sys.modules
        mod_spec.loader.exec_module(module)
    except ImportError as exc:
        return None, f"gpt-oss's page_contents cannot be imported ({exc})"
    return module.process_html, ""


# --------------------------------------------------------------------------- kept facts


def _flat(text: str) -> str:
    """Rendered text with markers reduced to their text; images, ^, _, list bullets, whitespace removed."""
    text = _IMAGE.sub("", _MARKER.sub(r"\1", text))
    return _NOWS.sub("", text).replace("^", "").replace("_", "").replace("•", "")


def _has_class(*classes: str) -> str:
    return " or ".join(
        f"contains(concat(' ', normalize-space(@class), ' '), ' {c} ')" for c in classes
    )


# Footnote markers ("[1]") are left out of webqa's pages on purpose; the check ignores them.
_CELL_JUNK = f".//script | .//style | .//*[{_has_class('reference', 'mw-ref', 'mw-editsection')}]"
# Article links in the running text: not in navboxes, reference lists or hatnotes ("Main article:"),
# which webqa drops on purpose.
_BODY_LINK = f"not(ancestor::*[{_has_class('navbox', 'reflist', 'mw-references-wrap', 'references', 'hatnote')}])"


def _cell_text(cell) -> str:
    import copy

    cell = copy.deepcopy(cell)
    for junk in cell.xpath(_CELL_JUNK):
        junk.drop_tree()
    return (
        _NOWS.sub("", cell.text_content())
        .replace("^", "")
        .replace("_", "")
        .replace("【", "〖")
        .replace("】", "〗")
    )


def _rows(root, cls: str, need_th_td: bool) -> list[list[str]]:
    rows = []
    tables = root.xpath(f"//table[{_has_class(cls)}]")
    for table in tables:
        for tr in table.xpath("./tr | ./thead/tr | ./tbody/tr | ./tfoot/tr"):
            cells = [c for c in tr if c.tag in ("th", "td")]
            tags = {c.tag for c in cells}
            if need_th_td and tags != {"th", "td"}:
                continue
            texts = [_cell_text(c) for c in cells]
            if len(cells) >= 2 and any(texts):
                rows.append(texts)
    return rows


class Facts:
    """What the source pages hold, and how much of it each renderer kept."""

    def __init__(self) -> None:
        self.links = self.body_links = self.infobox = self.wikitable = 0
        self.kept: dict[str, list[int]] = {}

    def expected(self, url: str, html: str):
        import lxml.html

        root = lxml.html.document_fromstring(html)
        links, body_links = set(), set()
        for a in root.iter("a"):
            href = (a.get("href") or "").strip()
            if not href or href.startswith(("#", "../", "/")) or _SCHEME.match(href):
                continue
            target = urldefrag(urljoin(url, href))[0]
            if target != url and a.text_content().strip():
                links.add(target)
                if a.xpath(f"boolean(self::*[{_BODY_LINK}])"):
                    body_links.add(target)
        facts = (links, body_links, _rows(root, "infobox", True), _rows(root, "wikitable", False))
        self.links += len(links)
        self.body_links += len(body_links)
        self.infobox += len(facts[2])
        self.wikitable += len(facts[3])
        return facts

    def count(self, name: str, facts, text: str, link_urls: dict[int | str, str], sep: str) -> None:
        links, body_links, infobox, wikitable = facts
        flat = _flat(text)
        ids = {m.group(0).split("†")[0][1:] for m in re.finditer(r"【\d+†", text)}
        shown = {u for i, u in link_urls.items() if str(i) in ids}
        kept = self.kept.setdefault(name, [0, 0, 0, 0])
        kept[0] += len(links & shown)
        kept[1] += len(body_links & shown)
        kept[2] += sum(sep.join(r) in flat for r in infobox)
        kept[3] += sum(sep.join(r) in flat for r in wikitable)


# --------------------------------------------------------------------------- timing


def _pct(samples: list[float], q: float) -> float:
    s = sorted(samples)
    return s[min(len(s) - 1, round(q * (len(s) - 1)))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--zim", type=Path, default=DEFAULT_ZIM, help=f"ZIM archive (default {DEFAULT_ZIM})"
    )
    parser.add_argument(
        "--rounds", type=int, default=3, help="measured rounds after one warm-up (default 3)"
    )
    parser.add_argument("--no-gpt-oss", action="store_true", help="time webqa alone")
    args = parser.parse_args(argv)

    if not args.zim.exists():
        print(
            f"error: ZIM archive not found: {args.zim}\n"
            "  pass --zim PATH (e.g. shared/data/wikipedia_en_ray_charles_maxi_2019-08.zim)",
            file=sys.stderr,
        )
        return 2
    sys.path.insert(0, str(REPO))
    from webqa.render import render_html

    pages = load_pages(args.zim)
    print(
        f"corpus: {args.zim.name}: {len(pages)} HTML articles, "
        f"{sum(len(h) for _, _, h in pages) / 1e6:.2f} M characters"
    )

    process_html, why = (None, "skipped (--no-gpt-oss)") if args.no_gpt_oss else load_gpt_oss()
    if process_html is None:
        print(
            f"gpt-oss: not available: {why}\n  install it with:\n{INSTALL_HINT}\n  webqa's figures alone follow."
        )
    renderers = {"webqa": lambda html, url: render_html(html, url)}
    if process_html is not None:
        renderers["gpt-oss"] = lambda html, url: process_html(html, url, None)

    times: dict[str, list[float]] = {name: [] for name in renderers}
    for rnd in range(args.rounds + 1):  # round 0 warms up (imports, caches, trafilatura)
        for _, url, html in pages:
            for name, render in renderers.items():
                gc.collect()
                t0 = time.perf_counter()
                render(html, url)
                elapsed = time.perf_counter() - t0
                if rnd:
                    times[name].append(elapsed * 1000)

    print(f"\nrounds: {args.rounds} (+1 warm-up), samples per renderer: {len(pages) * args.rounds}")
    print(f"{'renderer':<10}{'pages':>7}{'median ms':>12}{'p95 ms':>10}{'total s/round':>16}")
    for name, samples in times.items():
        print(
            f"{name:<10}{len(pages):>7}{statistics.median(samples):>12.2f}{_pct(samples, 0.95):>10.2f}"
            f"{sum(samples) / 1000 / args.rounds:>16.3f}"
        )
    if "gpt-oss" in times:
        med = statistics.median(times["webqa"]) / statistics.median(times["gpt-oss"])
        p95 = _pct(times["webqa"], 0.95) / _pct(times["gpt-oss"], 0.95)
        verdict = "meets" if med <= 1.0 and p95 <= 1.0 else "misses"
        print(f"ratio webqa/gpt-oss: median {med:.2f}, p95 {p95:.2f} ({verdict} the target <= 1.0)")

    # Kept facts, from one more (untimed) render of every page.
    facts = Facts()
    digest = hashlib.sha256()
    for _, url, html in pages:
        expected = facts.expected(url, html)
        page = render_html(html, url)
        for line in page.lines:
            digest.update(line.encode() + b"\n")
        for link_id, link in sorted(page.links.items()):
            digest.update(f"{link_id} {link.url} {link.text}\n".encode())
        facts.count(
            "webqa", expected, "\n".join(page.lines), {i: l.url for i, l in page.links.items()}, "|"
        )
        if process_html is not None:
            result = process_html(html, url, None)
            facts.count("gpt-oss", expected, result.text, result.urls, "")
    print("\nkept facts (source count -> rendered):")
    print(f"  {'':<30}{'source':>8}" + "".join(f"{name:>10}" for name in facts.kept))
    for i, (label, total) in enumerate(
        (
            ("article links -> markers", facts.links),
            ("  of them in the text", facts.body_links),
            ("infobox th|td rows", facts.infobox),
            ("wikitable rows", facts.wikitable),
        )
    ):
        print(f"  {label:<30}{total:>8}" + "".join(f"{k[i]:>10}" for k in facts.kept.values()))
    print(
        "  links: distinct targets per page; 'in the text': outside navboxes, reference lists"
        " and hatnotes,"
        " which webqa drops\n  rows: all cells in order, whitespace and footnote marks ignored;"
        " webqa's cells must be separated by '|',"
        " gpt-oss's (no table format) by whitespace"
    )
    print(f"\nwebqa output digest: {digest.hexdigest()[:16]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
