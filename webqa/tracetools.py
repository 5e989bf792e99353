"""Uses of a trace: read it as text or HTML, replay it offline, export it as training data.

Every tool reads through :func:`webqa.trace.load_trace` (or :func:`~webqa.trace.check_events`
for events already in memory), so a file that is not a trace is a ``ConfigError`` and a damaged
line is skipped and reported, never a traceback.
"""

from __future__ import annotations

import difflib
import html
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import prompts
from .errors import ConfigError
from .records import Quote
from .trace import TraceFile, check_events, load_trace

__all__ = [
    "trace_text",
    "trace_html",
    "run_quotes",
    "ReplayVerdict",
    "compare_observations",
    "replay",
    "ExportReport",
    "export_examples",
    "EXPORT_FORMATS",
]

TraceInput = TraceFile | list[dict[str, Any]]
"""What the viewers accept: a checked trace, or events (checked on the way in)."""

DIFF_LINES = 40
"""How many lines of the first differing observation's diff a replay verdict keeps."""


def _as_trace(trace: TraceInput) -> TraceFile:
    return trace if isinstance(trace, TraceFile) else check_events(trace)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _cut_off_line(trace: TraceFile) -> str:
    return f"run cut off after step {trace.last_step} (no end event)"


def _bad_lines_text(trace: TraceFile) -> list[str]:
    if not trace.bad_lines:
        return []
    lines = [f"Skipped {_count(len(trace.bad_lines), 'bad line')}:"]
    lines += [f"  line {n}: {reason}" for n, reason in trace.bad_lines[:20]]
    if len(trace.bad_lines) > 20:
        lines.append(f"  ... and {len(trace.bad_lines) - 20} more")
    return lines


# ------------------------------------------------------------------------- quotes of a run


_QUOTED_LINES = re.compile(r"lines? (\d+)(?:\s*[-–]\s*(\d+))?")


def run_quotes(trace: TraceInput) -> list[dict[str, Any]]:
    """The quotes a run collected, as ``{url, title, text, line_start, line_end}`` dicts.

    From the answer event when there is one. A run cut off before its answer still had quotes:
    they are read from the last observation's ``♦Quotes`` section (title and text; the URL is
    the snapshot's of that title, the lines those the quoting steps report), plus the last
    step's quote when that step quoted successfully (its text as typed; marked ``approximate``).
    """
    t = _as_trace(trace)
    answer = t.answer
    if answer is not None and answer["quotes"]:
        return [dict(q) for q in answer["quotes"]]
    steps = t.steps
    if not steps:
        return []
    last = steps[-1]
    quotes = _observation_quotes(last["observation"])
    quoting = [
        s for s in steps if (s["command"] or "").lower().startswith("quote") and not s["error"]
    ]
    if quoting and quoting[-1] is last:
        title = _observation_title(last["observation"])
        quotes.append(
            {
                "url": "",
                "title": title,
                "text": last["command"].partition(":")[2].strip() or last["command"],
                "approximate": True,
            }
        )
    # Quotes are shown in the order they were taken, so the quoting steps say where each lies.
    spans = [_QUOTED_LINES.search(str(s.get("result") or "")) for s in quoting]
    for q, span in zip(quotes, spans if len(spans) == len(quotes) else [], strict=False):
        if span:
            q["line_start"], q["line_end"] = int(span[1]), int(span[2] or span[1])
    for q in quotes:
        q["url"] = _url_for_title(t, q["title"])
    return quotes


def _section(observation: str, name: str) -> list[str]:
    lines = observation.splitlines()
    try:
        start = lines.index(f"♦{name}") + 1
    except ValueError:
        return []
    end = next((i for i in range(start, len(lines)) if lines[i].startswith("♦")), len(lines))
    return lines[start:end]


_QUOTE_HEAD = re.compile(r"(?:\[\d+\] )?From ")


def _observation_quotes(observation: str) -> list[dict[str, Any]]:
    quotes: list[dict[str, Any]] = []
    for line in _section(observation, "Quotes"):
        # "[n] From <title>" (numbered as the answer cites them), or "From <title>" in older traces
        head = _QUOTE_HEAD.match(line)
        if head:
            quotes.append({"url": "", "title": _strip_domain(line[head.end() :]), "text": ""})
        elif quotes and (line.startswith("> ") or quotes[-1]["text"]):
            text = line[2:] if line.startswith("> ") and not quotes[-1]["text"] else line
            quotes[-1]["text"] = f"{quotes[-1]['text']}\n{text}" if quotes[-1]["text"] else text
    for q in quotes:
        q["text"] = q["text"].rstrip()
    return [q for q in quotes if q["text"]]


def _observation_title(observation: str) -> str:
    title = next((line for line in _section(observation, "Title") if line.strip()), "")
    return _strip_domain(title)


def _strip_domain(title: str) -> str:
    return re.sub(r" \([^()\s]*\)$", "", title.strip())


def _url_for_title(trace: TraceFile, title: str) -> str:
    return next((p["url"] for p in trace.pages if p["title"] == title and p["url"]), "")


# -------------------------------------------------------------------------------- text view


def trace_text(trace: TraceInput) -> str:
    """A terminal view: question, each step with its result, the answer and the end status."""
    t = _as_trace(trace)
    out = [
        f"Question: {t.question or '?'}",
        f"Config:   {json.dumps(t.run['config'], ensure_ascii=False, default=str)}",
        *_bad_lines_text(t),
        "",
    ]
    for e in t.events:
        if e["type"] == "step":
            outcome = f"✗ {e['error']}" if e["error"] else f"→ {e.get('result')}"
            shown = e["command"] or e["action"].strip()
            out.append(f"{e['n']:>3}. {shown[:100]}  {outcome}")
        elif e["type"] == "answer":
            out += ["", "Answer:", e["text"], ""]
            for c in e["citations"]:
                mark = "" if c.get("cited", True) else "  (not cited)"
                out.append(f"[{c['n']}] {c['title']} — {c['url']}{mark}\n    “{c['quote']}”")
        elif e["type"] == "end":
            error = f" ({e['error']})" if e["error"] else ""
            out += ["", f"Status: {e['status']}{error}", f"Usage:  {json.dumps(e['usage'])}"]
    if t.cut_off:
        out += ["", f"Status: {_cut_off_line(t)}"]
        quotes = [] if t.answer else run_quotes(t)
        if quotes:
            out.append("Quotes collected before the cut:")
            out += [f"  {q['title']}: “{q['text']}”" for q in quotes]
    return "\n".join(out)


# -------------------------------------------------------------------------------- HTML view


_MARKER = re.compile(r"【(\d+)†([^】†\n]*)(?:†([^】\n]*))?】")
_WEB_URL = re.compile(r"https?://[^\s'\"<>]+$", re.IGNORECASE)
_CITE = re.compile(r"\[(\d{1,6})\]")
_STYLE = """
body{font-family:system-ui,sans-serif;max-width:64em;margin:auto;padding:0 1em;color:#222}
pre{white-space:pre-wrap;word-break:break-word;background:#f6f6f6;padding:.5em;margin:.3em 0}
.banner{padding:.4em .6em;border-radius:4px}
.status-answered{background:#e6f4e6}.cut-off,.status-error{background:#fde8e8;color:#900}
.status-other{background:#fff4d6}
details.step{border-left:3px solid #8a8;margin:.3em 0;padding-left:.5em}
details.step.bad{border-left-color:#c66}.bad summary .result{color:#b00}
.obs-label{font-size:.85em;color:#555;margin:.4em 0 0}
.lk{border:1px solid #99b;border-radius:3px;padding:0 .2em;background:#eef;white-space:nowrap}
.lk .lid{font-weight:bold;color:#447;margin-right:.3em}.lk .dom{color:#777;margin-left:.3em}
.lk-open,.lk-close{color:#999}
.url{font-family:monospace;font-size:.85em;color:#555;word-break:break-all}
a.cite{text-decoration:none;font-weight:bold}.cite-missing{color:#b00}
.ref.cited{border-left:4px solid #2a7;padding-left:.5em}
.ref.uncited{border-left:4px dashed #bbb;padding-left:.5em;color:#666}
.ref .tag{font-size:.8em;padding:0 .3em;border-radius:3px;background:#eee}
.ref.cited .tag{background:#d6f0de}
blockquote{margin:.3em 0 .3em 1em;color:#444}
ol.lines{font-family:monospace;font-size:.85em;padding-left:4em}
ol.lines li{white-space:pre-wrap;word-break:break-word}
li.quoted{background:#fff3b0}mark{background:#ffd54a}
table.usage td,table.usage th{padding:.1em .8em;text-align:left}
"""


class _Pages:
    """Which page snapshot a URL has, so links inside the document point at it."""

    def __init__(self, trace: TraceFile) -> None:
        self.ids: dict[str, str] = {}
        for i, page in enumerate(trace.pages, 1):
            for key in (page["key"], page["url"], page["url"].split("#")[0]):
                if key:
                    self.ids.setdefault(key, f"page-{i}")

    def anchor(self, url: str) -> str | None:
        return self.ids.get(url) or self.ids.get(url.split("#")[0])


def _url_html(url: str, pages: _Pages) -> str:
    """A URL that works in a saved file: a link to its snapshot or web page, else plain text."""
    esc = html.escape
    anchor = pages.anchor(url)
    if anchor:
        return f"<a href='#{anchor}' title='{esc(url)}'>{esc(url)}</a>"
    if _WEB_URL.match(url):
        return f"<a href='{esc(url)}' rel='noreferrer'>{esc(url)}</a>"
    return f"<span class='url dead-link'>{esc(url)}</span>"


def _marked(text: str, links: dict[str, dict[str, Any]] | None, pages: _Pages) -> str:
    """Escaped ``text`` with each ``【id†text】`` link marker drawn as a visible labelled box."""
    out: list[str] = []
    pos = 0
    for m in _MARKER.finditer(text):
        out.append(_loose_brackets(text[pos : m.start()]))
        link_id, label, domain = m[1], m[2], m[3]
        inner = f"<span class='lid'>[{link_id}]</span>{html.escape(label)}"
        if domain:
            inner += f"<span class='dom'>{html.escape(domain)}</span>"
        target = (links or {}).get(link_id)
        if target is not None:
            inner = _link_box(target["url"], inner, pages)
        out.append(f"<span class='lk' data-link='{link_id}'>{inner}</span>")
        pos = m.end()
    out.append(_loose_brackets(text[pos:]))
    return "".join(out)


def _link_box(url: str, inner: str, pages: _Pages) -> str:
    esc = html.escape
    anchor = pages.anchor(url)
    if anchor:
        return f"<a href='#{anchor}' title='{esc(url)}'>{inner}</a>"
    if _WEB_URL.match(url):
        return f"<a href='{esc(url)}' rel='noreferrer' title='{esc(url)}'>{inner}</a>"
    return f"{inner} <span class='url'>{esc(url)}</span>"


def _loose_brackets(text: str) -> str:
    """Escape, drawing a marker bracket left over (a marker cut by wrapping) as plain text."""
    return (
        html.escape(text)
        .replace("【", "<span class='lk-open'>[</span>")
        .replace("】", "<span class='lk-close'>]</span>")
    )


class _Highlights:
    """Where each quote lies in its page snapshot: character spans per line, or whole lines."""

    def __init__(self, trace: TraceFile, pages: _Pages) -> None:
        self.pages = {f"page-{i}": p for i, p in enumerate(trace.pages, 1)}
        self.anchors = pages
        self.spans: dict[str, dict[int, list[tuple[int, int, str]]]] = {}

    def add(self, url: str, quote: dict[str, Any], text: str, ref: str) -> str:
        """Record a quote; returns a "show in page" link, or '' when its page is not here."""
        anchor = self.anchors.anchor(url) if url else None
        start, end = quote.get("line_start"), quote.get("line_end", quote.get("line_start"))
        if anchor is None or not isinstance(start, int) or not isinstance(end, int):
            return ""
        lines = self.pages[anchor]["lines"]
        first, last = max(start, 0), min(end, start + 200, len(lines) - 1)
        if first > last:
            return ""
        spans = self.spans.setdefault(anchor, {})
        found = _find_quote(lines[first : last + 1], text)
        for n in range(first, last + 1):
            if found is None:
                spans.setdefault(n, []).append((0, len(lines[n]), ref))
            elif n - first in found:
                a, b = found[n - first]
                spans.setdefault(n, []).append((a, b, ref))
        return f" <a class='in-page' href='#{anchor}-L{first}'>show in page</a>"


def _find_quote(lines: list[str], text: str) -> dict[int, tuple[int, int]] | None:
    """The span ``text`` takes in ``lines`` (markers read as their link text), per line."""
    words = text.split()[:400]
    if not words:
        return None
    joined = "\n".join(lines)
    plain: list[str] = []
    where: list[int] = []  # the index in ``joined`` of each character of ``plain``
    pos = 0
    for marker in _MARKER.finditer(joined):
        plain.append(joined[pos : marker.start()])
        where.extend(range(pos, marker.start()))
        label_at = marker.start(2)
        plain.append(marker[2])
        where.extend(range(label_at, label_at + len(marker[2])))
        pos = marker.end()
    plain.append(joined[pos:])
    where.extend(range(pos, len(joined)))
    pattern = r"\s+".join(re.escape(w) for w in words)
    match = re.search(pattern, "".join(plain), re.IGNORECASE)
    if match is None or match.end() == match.start():
        return None
    a, b = where[match.start()], where[match.end() - 1] + 1
    found: dict[int, tuple[int, int]] = {}
    offset = 0
    for n, line in enumerate(lines):
        s, e = max(a, offset), min(b, offset + len(line))
        if s < e:
            found[n] = (s - offset, e - offset)
        offset += len(line) + 1
    return found


def _page_html(
    index: int, page: dict[str, Any], spans: dict[int, list[tuple[int, int, str]]], pages: _Pages
) -> str:
    esc = html.escape
    pid = f"page-{index}"
    rows = []
    for n, line in enumerate(page["lines"]):
        quoted = spans.get(n, [])
        cls = " class='quoted'" if quoted else ""
        refs = " ".join(dict.fromkeys(ref for _, _, ref in quoted))
        data = f" data-quotes='{esc(refs)}'" if quoted else ""
        body = _line_html(line, [(a, b) for a, b, _ in quoted], page["links"], pages)
        rows.append(f"<li value='{n}' id='{pid}-L{n}'{cls}{data}>{body}</li>")
    where = (
        f"<span class='url'>{esc(page['url'])}</span>"
        if page["url"]
        else "<span class='url'>search results</span>"
    )
    # A page holding a quote starts open, so "show in page" lands on visible text.
    opened = " open" if spans else ""
    return (
        f"<details class='page' id='{pid}'{opened}><summary>{esc(page['title'] or page['key'])} "
        f"{where}</summary><ol class='lines' start='0'>{''.join(rows)}</ol></details>"
    )


def _line_html(
    line: str, spans: list[tuple[int, int]], links: dict[str, dict[str, Any]], pages: _Pages
) -> str:
    """A page line with the parts quotes took marked; a mark never cuts a link marker."""
    markers = [m.span() for m in _MARKER.finditer(line)]
    widened = []
    for a, b in spans:
        for s, e in markers:
            if s < b and a < e:
                a, b = min(a, s), max(b, e)
        widened.append((a, b))
    merged: list[tuple[int, int]] = []
    for a, b in sorted(widened):
        if merged and a <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(b, merged[-1][1]))
        else:
            merged.append((a, b))
    out, pos = [], 0
    for a, b in merged:
        out.append(_marked(line[pos:a], links, pages))
        out.append(f"<mark>{_marked(line[a:b], links, pages)}</mark>")
        pos = b
    out.append(_marked(line[pos:], links, pages))
    return "".join(out)


def _answer_html(text: str, numbers: set[int]) -> str:
    def cite(m: re.Match[str]) -> str:
        n = int(m[1])
        if n in numbers:
            return f"<a class='cite' href='#ref-{n}'>[{n}]</a>"
        return f"<span class='cite-missing' title='no such reference'>[{n}]</span>"

    return _CITE.sub(cite, html.escape(text))


def _usage(trace: TraceFile) -> tuple[dict[str, Any], str]:
    if trace.end is not None and trace.end["usage"]:
        return trace.end["usage"], ""
    usage: dict[str, Any] = {"actions": len(trace.steps)}
    for step in trace.steps:
        for key, value in step["usage"].items():
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                usage[key] = usage.get(key, 0) + value
    return usage, "summed from the recorded steps (the run has no end event)"


def trace_html(trace: TraceInput) -> str:
    """One self-contained HTML page for reviewing a run.

    Question and status (or where the run was cut off), skipped lines, usage, the answer with its
    ``[n]`` markers linked to the references (cited and uncited ones styled apart), every step
    with the observation shown *before* its action, and every page snapshot with the quotes
    highlighted. Links point into the page's own snapshots; no external resources are loaded.
    """
    t = _as_trace(trace)
    esc = html.escape
    pages = _Pages(t)
    answer = t.answer
    parts = [f"<header><h1>{esc(t.question or '(no question)')}</h1>"]
    parts.append(
        f"<p class='meta'>run <code>{esc(str(t.run.get('run', '')))}</code> · "
        f"format <code>{esc(t.format)}</code></p>"
    )
    if t.end is not None:
        status = str(t.end["status"])
        cls = {"answered": "status-answered", "error": "status-error"}.get(status, "status-other")
        error = f" — {esc(t.end['error'])}" if t.end["error"] else ""
        parts.append(f"<p class='banner {cls}' id='status'>Status: {esc(status)}{error}</p>")
    else:
        parts.append(
            f"<p class='banner cut-off' id='status'>{esc(_cut_off_line(t)).capitalize()}</p>"
        )
    sections = [
        ("usage", "Usage"),
        ("answer" if answer else "quotes", "Answer" if answer else "Quotes"),
        ("steps", "Steps"),
        ("pages", "Pages"),
        ("config", "Configuration"),
    ]
    if t.bad_lines:
        sections.insert(0, ("bad-lines", "Skipped lines"))
    if answer is not None:
        sections.insert(2, ("references", "References"))
    nav = " · ".join(f"<a href='#{ident}'>{label}</a>" for ident, label in sections)
    parts.append(f"<nav>{nav}</nav></header>")

    if t.bad_lines:
        items = "".join(f"<li>line {n}: {esc(reason)}</li>" for n, reason in t.bad_lines[:200])
        more = len(t.bad_lines) - 200
        extra = f"<li>… and {more} more</li>" if more > 0 else ""
        parts.append(
            f"<section id='bad-lines'><h2>Skipped lines ({len(t.bad_lines)})</h2>"
            f"<ul>{items}{extra}</ul></section>"
        )

    usage, note = _usage(t)
    rows = "".join(
        f"<tr><th>{esc(str(k))}</th><td>{esc(str(v))}</td></tr>" for k, v in usage.items()
    )
    note_html = f"<p class='note'>{esc(note)}</p>" if note else ""
    parts.append(
        f"<section id='usage'><h2>Usage</h2><table class='usage'>{rows}</table>{note_html}"
        "</section>"
    )

    # Quotes: the references of the answer, or what an unfinished run had collected.
    highlights = _Highlights(t, pages)
    mark = highlights.add

    if answer is not None:
        numbers = {c["n"] for c in answer["citations"]}
        parts.append(
            "<section id='answer'><h2>Answer</h2>"
            f"<p class='answer-text'>{_answer_html(answer['text'], numbers)}</p></section>"
        )
        refs = []
        for c in answer["citations"]:
            cited = bool(c.get("cited", True))
            link = mark(c["url"], c, c["quote"], f"ref-{c['n']}")
            tag = "cited in the answer" if cited else "not cited in the answer"
            refs.append(
                f"<li id='ref-{c['n']}' value='{c['n']}' class='ref "
                f"{'cited' if cited else 'uncited'}'><b>{esc(c['title'])}</b> "
                f"<span class='tag'>{tag}</span><br>{_url_html(c['url'], pages)}"
                f"<blockquote>{esc(c['quote'])}</blockquote>{_lines_label(c)}{link}</li>"
            )
        parts.append(
            f"<section id='references'><h2>References</h2><ol class='refs'>{''.join(refs)}</ol>"
            "</section>"
        )
    else:
        quotes = run_quotes(t)
        entries = []
        for i, q in enumerate(quotes, 1):
            link = mark(q["url"], q, q["text"], f"quote-{i}")
            approx = " <span class='tag'>as typed</span>" if q.get("approximate") else ""
            where = _url_html(q["url"], pages) if q["url"] else ""
            entries.append(
                f"<li id='quote-{i}' class='ref uncited'><b>{esc(q['title'])}</b>{approx}<br>"
                f"{where}<blockquote>{esc(q['text'])}</blockquote>{_lines_label(q)}{link}</li>"
            )
        body = f"<ol class='refs'>{''.join(entries)}</ol>" if entries else "<p>(none)</p>"
        parts.append(
            "<section id='quotes'><h2>Quotes collected (the run has no answer)</h2>"
            f"{body}</section>"
        )

    steps = []
    for e in t.steps:
        cls = "bad" if e["error"] else "ok"
        shown = (e["command"] or e["action"].strip())[:300]
        outcome = e["error"] if e["error"] else str(e.get("result"))
        tokens = e["usage"]
        meta = f"{esc(str(e.get('ms', '?')))} ms"
        if tokens:
            meta += " · " + esc(", ".join(f"{k} {v}" for k, v in tokens.items()))
        steps.append(
            f"<details class='step {cls}' id='step-{e['n']}'><summary><span class='n'>"
            f"{e['n']}.</span> <code>{esc(shown)}</code> — <span class='result'>"
            f"{esc(outcome[:300])}</span></summary>"
            f"<p class='obs-label'>Observation shown before this action (what the policy saw "
            f"when it chose step {e['n']}):</p>"
            f"<pre class='obs'>{_marked(e['observation'], None, pages)}</pre>"
            f"<p class='obs-label'>Action as written:</p><pre class='raw'>{esc(e['action'])}</pre>"
            f"<p class='obs-label'>{meta}</p></details>"
        )
    parts.append(f"<section id='steps'><h2>Steps ({len(steps)})</h2>{''.join(steps)}</section>")

    snapshots = [
        _page_html(i, p, highlights.spans.get(f"page-{i}", {}), pages)
        for i, p in enumerate(t.pages, 1)
    ]
    parts.append(
        f"<section id='pages'><h2>Page snapshots ({len(snapshots)})</h2>{''.join(snapshots)}"
        "</section>"
    )
    config = json.dumps(t.run["config"], ensure_ascii=False, indent=1, default=str)
    parts.append(f"<section id='config'><h2>Configuration</h2><pre>{esc(config)}</pre></section>")
    title = esc(f"webqa trace: {t.question}"[:200])
    return (
        f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{title}</title>"
        f"<style>{_STYLE}</style></head><body>{''.join(parts)}</body></html>"
    )


def _lines_label(quote: dict[str, Any]) -> str:
    start, end = quote.get("line_start"), quote.get("line_end")
    if not isinstance(start, int):
        return ""
    span = f"line {start}" if end in (None, start) else f"lines {start}–{end}"
    return f"<span class='lines-label'>{span}</span>"


# ----------------------------------------------------------------------------------- replay


@dataclass
class ReplayVerdict:
    """How a replay compared with its trace: one verdict, with the first difference shown."""

    same: int
    """Observations compared and found equal."""
    total: int
    """Observations compared: the recorded steps (a cut-off trace compares only those)."""
    first_difference: int | None
    """The step whose observation first differs, or where one side ran out; None when equal."""
    diff: str
    """A unified diff (recorded → replayed) of the first differing observation, cut short."""
    message: str
    """The verdict in one sentence."""

    @property
    def ok(self) -> bool:
        """The replay reproduced every compared observation."""
        return self.first_difference is None

    def report(self) -> str:
        """The verdict as printed: its message, then the diff when there is one."""
        return f"{self.message}\n{self.diff}" if self.diff else self.message


def compare_observations(recorded: list[str], replayed: list[str], complete: bool) -> ReplayVerdict:
    """Compare recorded observations with replayed ones, step by step.

    ``complete`` says the trace holds the whole run; when it does not (no ``end``, or lines
    lost), the replay may run on past the last recorded step and only the recorded ones count.
    """
    pairs = list(zip(recorded, replayed, strict=False))
    same = sum(a == b for a, b in pairs)
    first = next((i for i, (a, b) in enumerate(pairs, 1) if a != b), None)
    total = len(recorded)
    diff = ""
    if first is not None:
        diff = _diff(recorded[first - 1], replayed[first - 1], first)
        message = f"{same} of {total} observations reproduced; first difference at step {first}"
    elif len(replayed) < len(recorded):
        first = len(replayed) + 1
        diff = _diff(recorded[first - 1], "", first)
        message = (
            f"{same} of {total} observations reproduced; the replay stopped after step "
            f"{len(replayed)}, the trace goes on to step {total}"
        )
    elif len(replayed) > len(recorded) and complete:
        first = len(recorded) + 1
        diff = _diff("", replayed[first - 1], first)
        message = (
            f"{same} of {total} observations reproduced, but the replay went on past the "
            f"recorded end: {_count(len(replayed) - total, 'more step')}, the first at step {first}"
        )
    elif len(replayed) > len(recorded):
        message = (
            f"all {total} recorded observations reproduced (the trace was cut off after step "
            f"{total}; the replay's {_count(len(replayed) - total, 'further step')} not compared)"
        )
    else:
        message = f"all {total} observations reproduced"
    return ReplayVerdict(same, total, first, diff, message)


def _diff(recorded: str, replayed: str, step: int) -> str:
    lines = list(
        difflib.unified_diff(
            recorded.splitlines(),
            replayed.splitlines(),
            f"recorded step {step}",
            f"replayed step {step}",
            lineterm="",
            n=2,
        )
    )
    if len(lines) > DIFF_LINES:
        lines = [*lines[:DIFF_LINES], f"... ({len(lines) - DIFF_LINES} more diff lines)"]
    return "\n".join(lines)


def replay(
    path: str | Path | TraceFile, run: Callable[[TraceFile], list[str]] | None = None
) -> ReplayVerdict:
    """Replay a trace on its own snapshots and compare the observations.

    ``run`` re-runs the trace and returns the observations it showed, in order; by default
    :func:`webqa.session.rerun`, which rebuilds the run from the trace's recorded
    configuration. Steps are compared in order up to the first one missing from the
    trace (a damaged line), so one lost line cannot shift every later comparison.
    """
    trace = path if isinstance(path, TraceFile) else load_trace(path)
    recorded: list[str] = []
    for expected, step in enumerate(sorted(trace.steps, key=lambda e: e["n"]), 1):
        if step["n"] != expected:
            break
        recorded.append(step["observation"])
    complete = trace.complete and len(recorded) == len(trace.steps)
    if run is None:
        from .session import rerun

        def run(trace: TraceFile) -> list[str]:
            return rerun(trace.events)

    replayed = run(trace)
    return compare_observations(recorded, replayed, complete)


# ----------------------------------------------------------------------------------- export

#: what ``webqa export --format`` writes
EXPORT_FORMATS = ("sft", "dpo", "comparisons")


@dataclass
class ExportReport:
    """What :func:`export_examples` wrote, and what it left out."""

    output: str
    traces: int = 0
    step_examples: int = 0
    answer_examples: int = 0
    steps_left_out: int = 0
    """Steps without a valid command: a demonstration's mistakes are not labels."""
    bad_lines: list[tuple[str, int, str]] = field(default_factory=list)
    """``(trace, line number, reason)`` for every damaged line skipped."""
    format: str = "sft"
    traces_left_out: int = 0
    """Traces the status or correctness filter left out."""
    pairs: int = 0
    """Comparison records (dpo, comparisons) written."""
    ties: int = 0
    """Comparisons with no preference, which make no dpo pair."""
    problems: list[str] = field(default_factory=list)
    """Comparison lines left out, and why."""

    @property
    def examples(self) -> int:
        """Examples written."""
        return self.step_examples + self.answer_examples + self.pairs

    @property
    def message(self) -> str:
        """A one-paragraph summary for people."""
        if self.format != "sft":
            noun = "preference pair" if self.format == "dpo" else "comparison"
            text = f"wrote {_count(self.pairs, noun)} to {self.output}"
            if self.ties:
                text += f"; {_count(self.ties, 'tie')} left out (no preference)"
            if self.problems:
                more = f"; ... {len(self.problems) - 3} more" if len(self.problems) > 3 else ""
                text += (
                    f"; {_count(len(self.problems), 'line')} left out ("
                    + "; ".join(self.problems[:3])
                    + more
                    + ")"
                )
            return text
        text = (
            f"wrote {_count(self.examples, 'example')} ({_count(self.step_examples, 'step')}, "
            f"{_count(self.answer_examples, 'answer')}) from {_count(self.traces, 'trace')} "
            f"to {self.output}"
        )
        if self.traces_left_out:
            text += f"; {_count(self.traces_left_out, 'trace')} left out by the filters"
        if not self.examples:
            text += (
                f"; no example: no step had a valid command and no run had an answer"
                f" ({_count(self.steps_left_out, 'step')} left out)"
            )
        elif self.steps_left_out:
            text += f"; {_count(self.steps_left_out, 'step')} without a valid command left out"
        if self.bad_lines:
            shown = "; ".join(f"{p} line {n}: {r}" for p, n, r in self.bad_lines[:5])
            more = f"; ... {len(self.bad_lines) - 5} more" if len(self.bad_lines) > 5 else ""
            text += f"; skipped {_count(len(self.bad_lines), 'damaged line')} ({shown}{more})"
        return text


def _graded(results: str | Path | None, paths: list[Path]) -> dict[str, bool | None]:
    """Correctness by resolved trace path, from eval results (given, or beside traces/)."""
    files = (
        [Path(results)]
        if results
        else sorted({p.parent.parent / "results.jsonl" for p in paths if p.parent.name == "traces"})
    )
    graded: dict[str, bool | None] = {}
    for f in files:
        if not f.exists():
            if results:
                raise ConfigError(f"cannot read {f}: no such file")
            continue
        for line in f.read_text(encoding="utf-8", errors="replace").splitlines():
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(row, dict) and isinstance(row.get("trace"), str):
                graded[str(Path(row["trace"]).resolve())] = row.get("correct")
    return graded


def export_examples(
    paths: Iterable[str | Path | TraceFile],
    output: str | Path,
    *,
    format: str = "sft",
    status: Iterable[str] | None = None,
    correct: bool = False,
    results: str | Path | None = None,
) -> ExportReport:
    """Write training data to ``output`` (JSONL), one example per line.

    ``sft`` (the default): chat fine-tuning examples in the OpenAI format from traces —
    observation → command per valid step, question + quotes → answer per answer (a trace
    recorded with the ``tools`` protocol gives its tool-call examples instead). ``status``
    keeps only traces that ended with one of those statuses; ``correct`` only those graded
    correct in eval ``results`` (default: ``results.jsonl`` beside a ``traces/`` folder).
    ``dpo`` and ``comparisons`` read comparison files (:mod:`webqa.compare`): ``dpo`` writes
    ``{"prompt", "chosen", "rejected"}`` in the conversational form preference-tuning
    libraries (TRL's DPOTrainer) read; ``comparisons`` writes the valid records as they are.
    Every input is checked before anything is written, so a file that is not a trace
    (``ConfigError``) leaves no partial output.
    """
    if format not in EXPORT_FORMATS:
        raise ConfigError(f"unknown export format {format!r}: use {', '.join(EXPORT_FORMATS)}")
    if format != "sft":
        return _export_pairs([p for p in paths if not isinstance(p, TraceFile)], output, format)
    listed = list(paths)
    traces = [p if isinstance(p, TraceFile) else load_trace(p) for p in listed]
    report = ExportReport(str(output), traces=len(traces))
    wanted = set(status) if status else None
    graded = _graded(results, [Path(t.path) for t in traces]) if correct else {}
    system, answer_system = prompts.system(), prompts.load("answer_system.md")
    roles = ("system", "user", "assistant")
    rows: list[str] = []
    for trace in traces:
        report.bad_lines += [(trace.path, n, r) for n, r in trace.bad_lines]
        ended = (trace.end or {}).get("status")
        if (wanted is not None and ended not in wanted) or (
            correct and graded.get(str(Path(trace.path).resolve())) is not True
        ):
            report.traces_left_out += 1
            continue
        config: dict[str, Any] = (
            trace.run["config"] if isinstance(trace.run.get("config"), dict) else {}
        )
        if config.get("protocol") == "tools":
            for tool_example in _tool_call_examples(trace):
                rows.append(json.dumps(tool_example, ensure_ascii=False) + "\n")
                report.step_examples += 1
            continue
        for e in trace.events:
            if e["type"] == "step":
                if not e["command"] or e["error"]:
                    report.steps_left_out += 1
                    continue
                example = [system, e["observation"], e["command"]]
                report.step_examples += 1
            elif e["type"] == "answer" and e["text"]:
                quotes = [_quote(q) for q in e["quotes"]]
                user = prompts.render("answer.j2", question=trace.question, quotes=quotes)
                example = [answer_system, user, e["text"]]
                report.answer_examples += 1
            else:
                continue
            msgs = [{"role": r, "content": c} for r, c in zip(roles, example, strict=True)]
            rows.append(json.dumps({"messages": msgs}, ensure_ascii=False) + "\n")
    _write_rows(output, rows)
    return report


def _tool_call_examples(trace: TraceFile) -> list[dict[str, Any]]:
    try:
        from .toolspec import tool_call_examples
    except ImportError as exc:
        raise ConfigError(
            f"{trace.path} was recorded with the tools protocol, and this webqa "
            "cannot export tool-call examples (webqa.toolspec."
            "tool_call_examples is missing)"
        ) from exc
    return list(tool_call_examples(trace))


def _write_rows(output: str | Path, rows: list[str]) -> None:
    try:
        Path(output).write_text("".join(rows), encoding="utf-8", errors="replace")
    except OSError as exc:
        raise ConfigError(f"cannot write {output}: {exc}") from exc


def _with_references(answer: str, titles: list[str], extracts: list[str]) -> str:
    """The answer as the assistant's reply: its text, then the quotes its markers refer to."""
    refs = "\n".join(
        f"[{n}] {t}: \u201c{e}\u201d"
        for n, (t, e) in enumerate(zip(titles, extracts, strict=False), 1)
    )
    return f"{answer}\n\nReferences:\n{refs}" if refs else answer


def _export_pairs(paths: list[str | Path], output: str | Path, format: str) -> ExportReport:
    from .compare import read_comparisons

    report = ExportReport(str(output), format=format)
    rows: list[str] = []
    for path in paths:
        records, problems = read_comparisons(path)
        report.problems += problems
        for r in records:
            if format == "comparisons":
                rows.append(json.dumps(r, ensure_ascii=False) + "\n")
                report.pairs += 1
                continue
            if r["score_0"] == r["score_1"]:
                report.ties += 1
                continue
            better, worse = ("0", "1") if r["score_0"] > r["score_1"] else ("1", "0")

            def reply(side: str, r: dict[str, Any] = r) -> list[dict[str, str]]:
                text = _with_references(
                    r[f"answer_{side}"],
                    r[f"quotes_{side}"]["title"],
                    r[f"quotes_{side}"]["extract"],
                )
                return [{"role": "assistant", "content": text}]

            rows.append(
                json.dumps(
                    {
                        "prompt": [{"role": "user", "content": r["question"]["full_text"]}],
                        "chosen": reply(better),
                        "rejected": reply(worse),
                    },
                    ensure_ascii=False,
                )
                + "\n"
            )
            report.pairs += 1
    _write_rows(output, rows)
    return report


def _quote(q: dict[str, Any]) -> Quote:
    def line(key: str) -> int:
        value = q.get(key, 0)
        return value if isinstance(value, int) and not isinstance(value, bool) else 0

    return Quote(q["url"], q["title"], q["text"], line("line_start"), line("line_end"))
