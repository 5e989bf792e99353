"""What each ``webqa`` subcommand does: build a session, run it, print the results.

Output rules: results on stdout, progress and messages on stderr; colour only on a terminal
and never when ``NO_COLOR`` is set (see :mod:`webqa.console`). Every run goes through
:class:`webqa.session.Session`, the one assembly point.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .console import console, escape, rich_console
from .records import Answer

__all__ = [
    "run_ask",
    "run_batch",
    "run_browse",
    "run_index",
    "run_show",
    "run_replay",
    "run_export",
    "print_answer",
]


def _sigterm_as_interrupt() -> None:
    """Let SIGTERM end a run as Ctrl-C does: the trace gets its ``end`` event."""
    from .agent import Interrupted

    def handler(signum: int, frame: Any) -> None:
        raise Interrupted()

    # Only the main thread may set handlers (a test runner's thread may not).
    with contextlib.suppress(ValueError):
        signal.signal(signal.SIGTERM, handler)


def _session_options(args: argparse.Namespace, err: Any) -> dict[str, Any]:
    """Session arguments from the flags every running subcommand shares."""
    from .browser import Limits

    block = None
    if args.block or args.no_default_block:
        from .web.guard import DEFAULT_BLOCK

        block = list(args.block or []) + ([] if args.no_default_block else list(DEFAULT_BLOCK))
    options: dict[str, Any] = {
        "corpus": args.corpus,
        "engine": args.engine,
        "allow_private": args.allow_private,
        "allow_metadata": getattr(args, "allow_metadata", False),
        "block": block,
        "searxng_url": args.searxng_url,
        "max_actions": args.max_actions,
        "max_failures": getattr(args, "max_failures", 10),
        "limits": Limits(window=args.window),
        "notice": lambda text: err.print(f"[dim]{escape(text)}[/]"),
    }
    if hasattr(args, "model"):
        options.update(
            policy=args.policy,
            model=args.model,
            base_url=args.base_url,
            api_key=args.api_key,
            temperature=args.temperature,
            seed=args.seed,
            timeout=getattr(args, "timeout", 60.0),
            protocol=getattr(args, "protocol", "text"),
        )
    return options


def _progress(err: Any) -> Any:
    def progress(step: Any) -> None:
        mark = "[red]✗[/]" if step.error else "[green]·[/]"
        why = f" [red]{escape(_short(step.error))}[/]" if step.error else ""
        err.print(
            f"{mark} [dim]{step.n:>3}[/] {escape(_short(step.action))}{why} "
            f"[dim]({step.actions_left} left)[/]"
        )

    return progress


def run_ask(args: argparse.Namespace) -> int:
    """``webqa ask``: browse, then print the answer and numbered references (or JSON)."""
    from .session import Session

    _sigterm_as_interrupt()
    quiet = getattr(args, "quiet", False)
    err = console(stderr=True)
    options = _session_options(args, err)
    if quiet:
        options["notice"] = lambda text: None
    with Session(**options, trace=args.trace) as session:
        answer = session.ask(args.question, on_step=None if quiet else _progress(err))
    if args.json:
        print(json.dumps(answer.to_dict(), ensure_ascii=False, indent=2))
    else:
        print_answer(answer, show_trace=not quiet)
    if answer.removed_markers and not quiet:
        err.print(
            f"[yellow]webqa: {answer.removed_markers} citation marker(s) pointed at no "
            "quote and were removed[/]"
        )
    if answer.status != "answered":
        print(f"webqa: {_reason(answer)}", file=sys.stderr)
        return 1
    return 0


def run_batch(args: argparse.Namespace) -> int:
    """``webqa batch``: answer a file of questions concurrently, one JSON answer per line,
    each written as soon as it (and those before it) are done."""
    import threading

    from .batch import InOrder, is_correct, read_questions
    from .batch import run_batch as batch

    _sigterm_as_interrupt()
    items = read_questions(args.questions)
    err = console(stderr=True)
    quiet = getattr(args, "quiet", False)
    lock = threading.Lock()
    done = {"n": 0, "answered": 0, "correct": 0, "graded": 0}
    # Closed in the finally below, after the last row (a with-block would end before the batch).
    out = sys.stdout if args.output == "-" else open(args.output, "w", encoding="utf-8")  # noqa: SIM115

    def write(row: dict[str, Any]) -> None:
        out.write(json.dumps(row, ensure_ascii=False) + "\n")
        out.flush()

    rows = InOrder(write)

    def report(index: int, item: Any, answer: Answer) -> None:
        row = {"id": item.id, "index": index, **answer.to_dict()}
        with lock:
            done["n"] += 1
            done["answered"] += answer.status == "answered"
            mark = ""
            if item.answers:
                row["correct"] = ok = is_correct(answer.text, item.answers)
                done["graded"] += 1
                done["correct"] += ok
                mark = " [green]correct[/]" if ok else " [red]wrong[/]"
            if not quiet:
                err.print(
                    f"[dim]{done['n']:>4}/{len(items)}[/] {escape(item.id)} {answer.status}{mark}"
                )
        rows.add(index, row)

    options = _session_options(args, err)
    try:
        batch(items, concurrency=args.concurrency, traces=args.traces, on_answer=report, **options)
    except KeyboardInterrupt:
        rows.flush()
        print(f"webqa: interrupted; {done['n']} finished answers were written", file=sys.stderr)
        return 130
    finally:
        if out is not sys.stdout:
            out.close()
    summary = f"answered {done['answered']}/{len(items)}"
    if done["graded"]:
        summary += (
            f"; correct {done['correct']}/{done['graded']} "
            f"({100 * done['correct'] / done['graded']:.1f}%)"
        )
    print(f"webqa: {summary}", file=sys.stderr)
    return 0 if done["answered"] else 1


def _reason(answer: Answer) -> str:
    if answer.status == "refused":
        return f"no answer: the question was judged {answer.refusal}"
    if answer.status in ("error", "stuck", "interrupted"):
        return f"the run {'failed' if answer.status == 'error' else 'stopped'}: {answer.error}"
    if answer.status == "budget_exhausted":
        return "no answer: the action limit was reached before any quote was collected"
    return f"no answer: {answer.error or answer.status}"


def _short(text: str, limit: int = 140) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def print_answer(answer: Answer, *, show_trace: bool = True) -> None:
    """The answer text, then each reference: title, URL and the quote; then, on stderr, the
    trace path (unless ``show_trace`` is False: ``-q``)."""
    out = console()
    if answer.text:
        out.print(escape(answer.text))
    if answer.citations:
        out.print("\n[bold]References[/]")
    for c in answer.citations:
        out.print(
            f"[bold][{c.n}][/] {escape(c.title)} — [cyan]{escape(c.url)}[/]"
            + ("" if c.cited else " [dim](not cited)[/]")
        )
        out.print(f"    “{escape(c.quote)}”")
    if answer.trace_path and show_trace:
        console(stderr=True).print(f"[dim]trace: {escape(answer.trace_path)}[/]")


def run_browse(args: argparse.Namespace) -> int:
    """``webqa browse``: a person (or a pipe) drives the browser; the run is traced."""
    from .paths import user_dir
    from .policies.human import HumanPolicy, enable_line_editing
    from .session import Session

    _sigterm_as_interrupt()
    interactive = sys.stdin.isatty()
    read: Callable[[str], str]
    show: Callable[[str], None] = print
    if interactive:
        enable_line_editing(str(user_dir() / "browse_history"))
        read = _shell_input
        if sys.stdout.isatty():
            show = _redraw
    else:
        # A stray non-UTF-8 byte on a pipe becomes U+FFFD rather than ending the session.
        reconfigure = getattr(sys.stdin, "reconfigure", None)
        if reconfigure:
            reconfigure(errors="replace")

        def read(prompt: str) -> str:
            line = sys.stdin.readline()
            if not line:
                raise EOFError
            print(f"{prompt}{line.rstrip()}")
            return line

    question = args.question or read("question> ").strip()
    err = console(stderr=True)
    options = _session_options(args, err)
    with Session(**options, policy=HumanPolicy(read, show), trace=args.trace) as session:
        answer = session.ask(question)
    print()
    print_answer(answer)
    if answer.status != "answered":
        print(f"webqa: {_reason(answer)}", file=sys.stderr)
        return 1
    return 0


def _shell_input(prompt: str) -> str:
    """``input()`` where Ctrl-C drops the line being typed and asks again, as a shell does
    (Ctrl-D, end of input, ends the session)."""
    while True:
        try:
            return input(prompt)
        except KeyboardInterrupt:
            print("^C")


def _redraw(screen: str) -> None:
    """Show one observation as the whole terminal screen, so the quotes and the result of the
    last action stay in view instead of scrolling away."""
    sys.stdout.write("\x1b[H\x1b[2J" + screen.rstrip("\n") + "\n")
    sys.stdout.flush()


def run_index(args: argparse.Namespace) -> int:
    """``webqa index PATH``: build or refresh a corpus index, showing progress."""
    from rich.progress import Progress

    from .corpus import build_index

    with Progress(console=rich_console(stderr=True), transient=False) as bar:
        task = bar.add_task("indexing", total=None)

        def progress(done: int, total: int | None = None, *_: Any) -> None:
            bar.update(task, completed=done, total=total)

        summary = build_index(args.path, progress=progress, full=getattr(args, "full", False))
    print(summary)
    return 0


def run_show(args: argparse.Namespace) -> int:
    """``webqa show TRACE``: the run as readable text, or ``--html OUT`` as one HTML page."""
    from .trace import load_trace
    from .tracetools import trace_html, trace_text

    trace = load_trace(args.trace)
    if args.html:
        try:
            Path(args.html).write_text(trace_html(trace), encoding="utf-8")
        except OSError as exc:
            print(f"webqa: cannot write {args.html}: {exc}", file=sys.stderr)
            return 2
        print(f"wrote {args.html}", file=sys.stderr)
    else:
        print(trace_text(trace))
    return 0


def run_replay(args: argparse.Namespace) -> int:
    """``webqa replay TRACE``: re-run the trace's actions on its own snapshots and compare."""
    from .trace import load_trace
    from .tracetools import replay

    verdict = replay(load_trace(args.trace))
    print(verdict.message)
    if not verdict.ok:
        print(verdict.diff, file=sys.stderr)
        return 1
    return 0


def run_export(args: argparse.Namespace) -> int:
    """``webqa export FILES -o OUT``: sft (one chat example per valid step and per answer),
    dpo or comparisons (from comparison files), filtered by status and correctness."""
    from .tracetools import export_examples

    report = export_examples(
        [Path(p) for p in args.traces],
        Path(args.output),
        format=getattr(args, "format", "sft"),
        status=getattr(args, "status", None),
        correct=getattr(args, "correct", False),
        results=getattr(args, "results", None),
    )
    print(report.message, file=sys.stderr)
    return 0 if report.examples else 1


def run_eval(args: argparse.Namespace) -> int:
    """``webqa eval QUESTIONS --out DIR``: answer, score and keep every question; print the
    summary table (and with ``--verbose`` one line per question). Exit 1 when all failed."""
    from .batch import read_question_file
    from .evaluate import evaluate

    _sigterm_as_interrupt()
    err = console(stderr=True)
    quiet = args.quiet
    items, problems = read_question_file(args.questions)
    for problem in problems:
        err.print(f"[yellow]webqa: {escape(problem)}[/]")
    options = _session_options(args, err)
    if quiet:
        options["notice"] = lambda text: None
    bar: Any = None
    if not quiet and err.is_terminal:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

        bar = Progress(
            "[progress.description]{task.description}",
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            console=err,
            transient=True,
        )

    def report(row: dict[str, Any], done: int, total: int) -> None:
        if bar is not None:
            bar.update(task, completed=done, total=total)
        elif not quiet:
            mark = {True: " [green]correct[/]", False: " [red]wrong[/]"}.get(row["correct"], "")
            err.print(f"[dim]{done:>4}/{total}[/] {escape(row['id'])} {row['status']}{mark}")

    run = dict(
        concurrency=args.concurrency,
        best_of=args.best_of,
        scorer=args.scorer,
        reward_url=args.reward_url,
        ray=args.ray,
        problems=problems,
        on_result=report,
    )
    try:
        if bar is not None:
            with bar:
                task = bar.add_task("eval", total=len(items))
                summary = evaluate(items, args.out, **run, **options)
        else:
            summary = evaluate(items, args.out, **run, **options)
    except KeyboardInterrupt:
        print(f"webqa: interrupted; finished questions are in {args.out}", file=sys.stderr)
        return 130
    if args.verbose:
        _print_results(items, args.out)
    _print_summary(summary, args.out)
    return 1 if summary.all_failed else 0


def _print_results(items: list[Any], out: str) -> None:
    from rich.table import Table

    from .evaluate import load_results

    rows = load_results(out)
    table = Table(show_edge=False, pad_edge=False)
    for column in ("id", "status", "correct", "first", "F1", "verbatim", "s", "answer"):
        table.add_column(column, overflow="fold")
    flag = {True: "yes", False: "no", None: "n/a"}
    for item in items:
        row = rows.get(item.id)
        if row is None:
            continue
        table.add_row(
            escape(item.id),
            row["status"],
            flag[row["correct"]],
            flag[row["first_sentence_correct"]],
            "n/a" if row["token_f1"] is None else f"{row['token_f1']:.2f}",
            flag[row["citations_verbatim"]],
            f"{row['seconds']:.1f}",
            escape(_short(row["error"] or row["answer"] or "", 80)),
        )
    rich_console().print(table)


def _print_summary(summary: Any, out: str) -> None:
    from rich.table import Table

    s = summary

    def share(k: int, n: int) -> str:
        return f"{k}/{n} ({100 * k / n:.1f}%)" if n else "n/a"

    table = Table(title=f"webqa eval: {out}", show_header=False, show_edge=False)
    table.add_column("measure")
    table.add_column("value", justify="right")
    rows = [
        ("questions", f"{s.questions} ({s.ran} run now, {s.resumed} from earlier runs)"),
        ("answered", share(s.answered, s.questions)),
        ("failed", str(s.failed)),
        ("correct (containment)", share(s.correct, s.graded)),
        ("first sentence correct", share(s.first_sentence_correct, s.graded)),
        ("token F1", "n/a" if s.token_f1 is None else f"{s.token_f1:.3f}"),
        ("citations verbatim", share(s.citations_verbatim, s.citations)),
        ("answers with every citation verbatim", share(s.answers_all_verbatim, s.answered)),
        ("answer length (words)", "n/a" if s.words is None else f"{s.words:.1f}"),
        (
            "seconds per question",
            "n/a" if s.seconds_per_question is None else f"{s.seconds_per_question:.2f}",
        ),
        (
            "actions per question",
            "n/a" if s.actions_per_question is None else f"{s.actions_per_question:.1f}",
        ),
        ("tokens", str(s.tokens)),
        ("wall time (this run)", f"{s.wall_seconds:.1f} s"),
    ]
    if s.best_of > 1:
        rows.append(("best of", f"{s.best_of}, chosen by {s.scorer}"))
    others = {k: v for k, v in s.statuses.items() if k not in ("answered", "error")}
    if others:
        rows.append(("other statuses", ", ".join(f"{k} {v}" for k, v in sorted(others.items()))))
    for name, value in rows:
        table.add_row(name, value)
    rich_console().print(table)


def run_compare(args: argparse.Namespace) -> int:
    """``webqa compare A.jsonl B.jsonl`` or ``webqa compare EVAL_DIR``: record preferences
    (a person at the terminal, or ``--judge``) as webgpt_comparisons JSONL."""
    from .compare import compare, pairs_from_eval, side_from_trace

    inputs = [Path(p) for p in args.inputs]
    if len(inputs) == 1 and inputs[0].is_dir():
        pairs = pairs_from_eval(inputs[0])
    elif len(inputs) == 2:
        pairs = [(side_from_trace(inputs[0]), side_from_trace(inputs[1]))]
    else:
        print("webqa: compare takes two traces or one eval folder", file=sys.stderr)
        return 2
    judge = None
    if args.judge:
        from .llm import ChatClient

        judge = ChatClient.from_env(
            model=args.model, base_url=args.base_url, api_key=args.api_key, timeout=args.timeout
        )
        if judge is None:
            print(
                "webqa: --judge needs a model: pass --model / --base-url or set WEBQA_MODEL "
                "or OPENAI_BASE_URL",
                file=sys.stderr,
            )
            return 2
    try:
        report = compare(
            pairs,
            args.output,
            judge=judge,
            ask=None if judge else _shell_input,
            dataset=args.dataset,
        )
    finally:
        if judge is not None:
            judge.close()
    failed = f", {report.failed} failed (recorded with their error)" if report.failed else ""
    skipped = f", {report.skipped} skipped" if report.skipped else ""
    print(
        f"webqa: wrote {report.written} comparison(s) to {report.output}{failed}{skipped}",
        file=sys.stderr,
    )
    return 0 if report.written else 1


def run_mcp(args: argparse.Namespace) -> int:
    """``webqa mcp``: serve the browser to MCP clients over stdio, or streamable HTTP with
    ``--http PORT``; every browsing session (and every ``ask``) writes a trace."""
    import os

    from .mcp_server import build_server, serve_http, serve_stdio
    from .session import Session

    _sigterm_as_interrupt()  # a terminated server still ends its sessions' traces
    err = console(stderr=True)  # stdout belongs to the protocol on stdio
    options = _session_options(args, err)
    if args.quiet:
        options["notice"] = lambda text: None
    traces = Path(args.traces).expanduser() if args.traces else None
    if traces is not None:
        try:
            traces.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            print(f"webqa: cannot create {traces}: {exc}", file=sys.stderr)
            return 2
    with Session(**options, trace=traces) as session:
        server, store = build_server(
            session,
            single=args.http is None,
            trace_dir=traces,
            max_actions=args.session_actions,
            idle_timeout=args.idle_timeout,
            max_sessions=args.max_sessions,
        )
        if args.http is None:
            try:
                serve_stdio(server, store)  # ends every session's trace, however it stops
            except KeyboardInterrupt:
                session.close()
                print("webqa: interrupted", file=sys.stderr, flush=True)
                # The SDK reads stdin in a thread that only end of input wakes, and interpreter
                # exit would wait for it: the traces are closed, so leave now.
                os._exit(130)
        else:

            def ready(url: str) -> None:
                if not args.quiet:
                    err.print(f"webqa: MCP server at {escape(url)}")

            serve_http(
                server,
                store,
                host=args.host,
                port=args.http,
                on_ready=ready,
                idle_timeout=args.idle_timeout,
            )
    return 0
