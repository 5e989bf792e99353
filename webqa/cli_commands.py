"""What each ``webqa`` subcommand does: wire the parts, print the results.

Output rules: results on stdout, progress and messages on stderr; colour only on a terminal
and never when ``NO_COLOR`` is set (rich's console handles both).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from .records import Answer

__all__ = ["run_ask", "run_batch", "run_browse", "run_index", "run_show", "run_replay",
           "run_export"]


def _console(stderr: bool = False) -> Any:
    from rich.console import Console

    return Console(stderr=stderr, highlight=False, soft_wrap=True)


def _web_options(args: argparse.Namespace) -> dict[str, Any]:
    block = None
    if args.block or args.no_default_block:
        from .web.guard import DEFAULT_BLOCK

        block = list(args.block or []) + ([] if args.no_default_block else list(DEFAULT_BLOCK))
    return {"allow_private": args.allow_private, "block": block, "searxng_url": args.searxng_url}


def run_ask(args: argparse.Namespace) -> int:
    """``webqa ask``: browse, then print the answer and numbered references (or JSON)."""
    from .api import ask
    from .browser import Limits

    err = _console(stderr=True)

    def progress(step: Any) -> None:
        mark = "[red]✗[/]" if step.error else "[green]·[/]"
        why = f" [red]{_escape(_short(step.error))}[/]" if step.error else ""
        err.print(f"{mark} [dim]{step.n:>3}[/] {_escape(step.action)}{why} "
                  f"[dim]({step.actions_left} left)[/]")

    answer = ask(
        args.question, corpus=args.corpus, policy=args.policy, **_model_options(args),
        max_actions=args.max_actions, limits=Limits(window=args.window),
        trace=args.trace, engine=args.engine, on_step=None if args.quiet else progress,
        **_web_options(args),
    )
    if args.json:
        print(json.dumps(answer.to_dict(), ensure_ascii=False, indent=2))
    else:
        print_answer(answer)
    if answer.status != "answered":
        print(f"webqa: {_reason(answer)}", file=sys.stderr)
        return 1
    return 0


def _model_options(args: argparse.Namespace) -> dict[str, Any]:
    return {"model": args.model, "base_url": args.base_url, "api_key": args.api_key,
            "temperature": args.temperature, "seed": args.seed}


def run_batch(args: argparse.Namespace) -> int:
    """``webqa batch``: answer a file of questions concurrently, one JSON answer per line."""
    import threading

    from .batch import is_correct, read_questions, run_batch as batch
    from .browser import Limits

    items = read_questions(args.questions)
    err = _console(stderr=True)
    lock = threading.Lock()
    done = {"n": 0, "answered": 0, "correct": 0, "graded": 0}

    def report(item: Any, answer: Answer) -> None:
        with lock:
            done["n"] += 1
            done["answered"] += answer.status == "answered"
            mark = ""
            if item.answers:
                ok = is_correct(answer.text, item.answers)
                done["graded"] += 1
                done["correct"] += ok
                mark = " [green]correct[/]" if ok else " [red]wrong[/]"
            err.print(f"[dim]{done['n']:>4}/{len(items)}[/] {_escape(item.id)} "
                      f"{answer.status}{mark}")

    answers = batch(items, corpus=args.corpus, policy=args.policy, concurrency=args.concurrency,
                    traces=args.traces, on_answer=report, model_options=_model_options(args),
                    max_actions=args.max_actions, limits=Limits(window=args.window),
                    engine=args.engine, **_web_options(args))
    out = sys.stdout if args.output == "-" else open(args.output, "w", encoding="utf-8")
    try:
        for item, answer in zip(items, answers):
            row = {"id": item.id, **answer.to_dict()}
            if item.answers:
                row["correct"] = is_correct(answer.text, item.answers)
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
    finally:
        if out is not sys.stdout:
            out.close()
    summary = f"answered {done['answered']}/{len(items)}"
    if done["graded"]:
        summary += (f"; correct {done['correct']}/{done['graded']} "
                    f"({100 * done['correct'] / done['graded']:.1f}%)")
    print(f"webqa: {summary}", file=sys.stderr)
    return 0


def _reason(answer: Answer) -> str:
    if answer.status == "refused":
        return f"no answer: the question was judged {answer.refusal}"
    if answer.status == "error":
        return f"the run failed: {answer.error}"
    if answer.status == "budget_exhausted":
        return "no answer: the action limit was reached before any quote was collected"
    return f"no answer: {answer.error or answer.status}"


def _short(text: str, limit: int = 140) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)


def print_answer(answer: Answer) -> None:
    """The answer text, then each reference: title, URL and the quote."""
    out = _console()
    if answer.text:
        out.print(_escape(answer.text))
    if answer.citations:
        out.print("\n[bold]References[/]")
    for c in answer.citations:
        out.print(f"[bold][{c.n}][/] {_escape(c.title)} — [cyan]{_escape(c.url)}[/]"
                  + ("" if c.cited else " [dim](not cited)[/]"))
        out.print(f"    “{_escape(c.quote)}”")
    if answer.trace_path:
        _console(stderr=True).print(f"[dim]trace: {_escape(answer.trace_path)}[/]")


def run_browse(args: argparse.Namespace) -> int:
    """``webqa browse``: a person (or a pipe) drives the browser; the run is traced."""
    from .agent import Agent
    from .api import open_web
    from .browser import Browser, Limits
    from .pages import Pages
    from .policies.human import HumanPolicy, enable_line_editing
    from .paths import user_dir
    from .trace import TraceWriter

    interactive = sys.stdin.isatty()
    if interactive:
        enable_line_editing(str(user_dir() / "browse_history"))
        read = input
    else:
        def read(prompt: str) -> str:
            line = sys.stdin.readline()
            if not line:
                raise EOFError
            print(f"{prompt}{line.rstrip()}")
            return line
    question = args.question or read("question> ").strip()
    engine, source = open_web(args.corpus, engine=args.engine, **_web_options(args))
    writer = TraceWriter(args.trace)
    config = {"policy": "human", "engine": getattr(engine, "name", "?"),
              "corpus": args.corpus, "max_actions": args.max_actions}
    agent = Agent(HumanPolicy(read, print), Browser(Pages(engine, source), Limits(window=args.window)),
                  max_actions=args.max_actions, trace=writer, config=config)
    answer = agent.run(question)
    print()
    print_answer(answer)
    if answer.status != "answered":
        print(f"webqa: {_reason(answer)}", file=sys.stderr)
        return 1
    return 0


def run_index(args: argparse.Namespace) -> int:
    """``webqa index PATH``: build or refresh a corpus index, showing progress."""
    from rich.progress import Progress

    from .corpus import build_index

    with Progress(console=_console(stderr=True), transient=False) as bar:
        task = bar.add_task("indexing", total=None)

        def progress(done: int, total: int | None = None, *_: Any) -> None:
            bar.update(task, completed=done, total=total)

        summary = build_index(args.path, progress=progress)
    print(summary)
    return 0


def run_show(args: argparse.Namespace) -> int:
    """``webqa show TRACE``: the run as readable text, or ``--html OUT`` as one HTML page."""
    from .inspect import trace_html, trace_text
    from .trace import read_trace

    events = read_trace(args.trace)
    if args.html:
        Path(args.html).write_text(trace_html(events), encoding="utf-8")
        print(f"wrote {args.html}", file=sys.stderr)
    else:
        print(trace_text(events))
    return 0


def run_replay(args: argparse.Namespace) -> int:
    """``webqa replay TRACE``: re-run the trace's actions on its own snapshots and compare."""
    from .inspect import replay

    same, total, first_diff = replay(args.trace)
    print(f"{same} of {total} observations reproduced")
    if first_diff is not None:
        print(f"first difference at step {first_diff}", file=sys.stderr)
        return 1
    return 0


def run_export(args: argparse.Namespace) -> int:
    """``webqa export TRACES -o OUT``: one chat example per valid step and per answer."""
    from .inspect import export_examples

    count = export_examples([Path(p) for p in args.traces], Path(args.output))
    print(f"wrote {count} examples to {args.output}", file=sys.stderr)
    return 0
