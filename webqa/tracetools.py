"""Uses of a trace: read it as text or HTML, replay it offline, export it as training data."""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

from . import prompts
from .records import Quote
from .trace import read_trace

__all__ = ["trace_text", "trace_html", "replay", "export_examples"]


def _run(events: list[dict[str, Any]]) -> dict[str, Any]:
    return next((e for e in events if e["type"] == "run"), {})


def trace_text(events: list[dict[str, Any]]) -> str:
    """A terminal view: question, each step with its result, the answer and the end status."""
    run = _run(events)
    out = [f"Question: {run.get('question', '?')}",
           f"Config:   {json.dumps(run.get('config', {}), ensure_ascii=False)}", ""]
    for e in events:
        if e["type"] == "step":
            outcome = f"✗ {e['error']}" if e.get("error") else f"→ {e.get('result')}"
            out.append(f"{e['n']:>3}. {e.get('command') or e['action'].strip()[:100]}  {outcome}")
        elif e["type"] == "answer":
            out += ["", "Answer:", e["text"], ""]
            for c in e.get("citations", []):
                out.append(f"[{c['n']}] {c['title']} — {c['url']}\n    “{c['quote']}”")
        elif e["type"] == "end":
            out += ["", f"Status: {e['status']}" + (f" ({e['error']})" if e.get("error") else ""),
                    f"Usage:  {json.dumps(e.get('usage', {}))}"]
    return "\n".join(out)


def trace_html(events: list[dict[str, Any]]) -> str:
    """One self-contained HTML page: every step with the observation the policy saw."""
    run = _run(events)
    esc = html.escape
    parts = [f"<h1>{esc(run.get('question', ''))}</h1>",
             f"<p><code>{esc(json.dumps(run.get('config', {}), ensure_ascii=False))}</code></p>"]
    for e in events:
        if e["type"] == "step":
            cls = "bad" if e.get("error") else "ok"
            parts.append(
                f"<details class='{cls}'><summary>{e['n']}. {esc(e.get('command') or e['action'])}"
                f" — {esc(e.get('error') or str(e.get('result')))}</summary>"
                f"<pre>{esc(e['observation'])}</pre></details>")
        elif e["type"] == "answer":
            cites = "".join(f"<li><a href='{esc(c['url'])}'>{esc(c['title'])}</a>"
                            f"<blockquote>{esc(c['quote'])}</blockquote></li>"
                            for c in e.get("citations", []))
            parts.append(f"<h2>Answer</h2><p>{esc(e['text'])}</p><ol>{cites}</ol>")
        elif e["type"] == "end":
            parts.append(f"<p><b>Status:</b> {esc(e['status'])} {esc(e.get('error') or '')}</p>")
    style = ("body{font-family:sans-serif;max-width:60em;margin:auto}pre{white-space:pre-wrap;"
             "background:#f6f6f6;padding:.5em}.bad summary{color:#b00}blockquote{color:#444}")
    return (f"<!doctype html><meta charset='utf-8'><title>webqa trace</title>"
            f"<style>{style}</style>{''.join(parts)}")


def replay(path: str | Path) -> tuple[int, int, int | None]:
    """Replay a trace on its snapshots: (observations equal, steps, first differing step)."""
    from .agent import Agent
    from .browser import Browser, Limits
    from .policies.replay import ReplayPolicy, snapshot_pages

    events = read_trace(path)
    run = _run(events)
    limits = Limits(**run.get("config", {}).get("limits", {}) or {})
    policy = ReplayPolicy(events)
    recorded = [e["observation"] for e in events if e["type"] == "step"]
    max_actions = run.get("config", {}).get("max_actions", 100)
    Agent(policy, Browser(snapshot_pages(events), limits), max_actions=max_actions).run(
        run.get("question", ""))
    pairs = list(zip(recorded, policy.observations))
    same = sum(a == b for a, b in pairs)
    first = next((i for i, (a, b) in enumerate(pairs, 1) if a != b), None)
    if first is None and len(recorded) != len(policy.observations):
        first = min(len(recorded), len(policy.observations)) + 1
    return same, len(recorded), first


def export_examples(paths: list[Path], output: Path) -> int:
    """Write chat fine-tuning examples (OpenAI format): observation → command, quotes → answer.

    Only steps whose command was valid are exported: a demonstration's mistakes are not labels.
    """
    system, answer_system = prompts.load("system.md"), prompts.load("answer_system.md")
    count = 0
    with output.open("w", encoding="utf-8") as out:
        for path in paths:
            events = read_trace(path)
            question = _run(events).get("question", "")
            for e in events:
                if e["type"] == "step" and e.get("command") and not e.get("error"):
                    example = [system, e["observation"], e["command"]]
                elif e["type"] == "answer" and e.get("text"):
                    quotes = [Quote(**q) for q in e.get("quotes", [])]
                    user = prompts.render("answer.j2", question=question, quotes=quotes)
                    example = [answer_system, user, e["text"]]
                else:
                    continue
                roles = ("system", "user", "assistant")
                msgs = [{"role": r, "content": c} for r, c in zip(roles, example)]
                out.write(json.dumps({"messages": msgs}, ensure_ascii=False) + "\n")
                count += 1
    return count
