"""The ``webqa`` command line: parsing flags and printing results, nothing more.

argparse rather than a framework: ``webqa --help`` must start fast, and every heavy import
(lxml, openai, libzim, rich) happens inside the subcommand that needs it. Every option states
its default in its help, and every ``--help`` ends with examples and the environment variables.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from . import __version__

__all__ = ["main", "build_parser", "COMMANDS", "ENVIRONMENT"]

EXIT_OK, EXIT_NO_ANSWER, EXIT_USAGE = 0, 1, 2

#: (variable, what it sets) for every environment variable webqa reads; shown in every --help
ENVIRONMENT = (
    (
        "WEBQA_HOME",
        "where indexes, caches, traces and history are kept\n"
        "(default: the platform's user data dir, e.g. ~/.local/share/webqa)",
    ),
    ("WEBQA_MODEL", "model for the LLM policy (default: the server's only or first model)"),
    ("WEBQA_ENGINE", "live-web search engine: duckduckgo, searxng or brave (default: duckduckgo)"),
    ("WEBQA_PROMPTS", "a folder of your own prompt templates (default: the shipped ones)"),
    (
        "OPENAI_BASE_URL",
        "OpenAI-compatible endpoint, e.g. http://localhost:11434/v1 for Ollama\n"
        "(default: the OpenAI API)",
    ),
    ("OPENAI_API_KEY", "key for that endpoint (a local server needs none)"),
    ("SEARXNG_URL", "base URL of a SearXNG instance, for --engine searxng"),
    ("BRAVE_API_KEY", "Brave Search API key, for --engine brave"),
    ("NO_COLOR", "set to anything to turn colour off (colour is used only on a terminal)"),
)

_DEMO = 'webqa ask --corpus demos/solar-system "Who discovered Neptune?"'

#: name -> example command lines shown at the end of its --help
EXAMPLES = {
    None: [
        _DEMO,
        'webqa ask "When was the Eiffel Tower last painted?"',
        "webqa batch questions.jsonl -j 8 -o answers.jsonl",
        "webqa show trace.jsonl --html trace.html",
    ],
    "ask": [
        _DEMO + " --json",
        'webqa ask --base-url http://localhost:11434/v1 --model llama3.1 "Who discovered Neptune?"',
        'webqa ask --engine searxng --searxng-url http://localhost:8888 "..."',
    ],
    "batch": [
        "webqa batch demos/solar-system-questions.jsonl --corpus demos/solar-system "
        "-o answers.jsonl",
        "webqa batch questions.txt -j 8 --traces traces/ -o answers.jsonl",
    ],
    "browse": [
        'webqa browse --corpus demos/solar-system "Who discovered Neptune?"',
        "printf 'Search Neptune discovery\\nEnd: Answer\\nGalle\\n' | "
        'webqa browse --corpus demos/solar-system "Who discovered Neptune?"',
    ],
    "index": ["webqa index demos/solar-system", "webqa index crawl.warc.gz"],
    "show": [
        "webqa show demos/traces/neptune-discovery.jsonl",
        "webqa show demos/traces/neptune-discovery.jsonl --html neptune.html",
    ],
    "replay": ["webqa replay demos/traces/neptune-discovery.jsonl"],
    "export": [
        "webqa export demos/traces/*.jsonl -o finetune.jsonl",
        "webqa export runs/dev/traces/*.jsonl --status answered --correct --results "
        "runs/dev/results.jsonl -o sft.jsonl",
        "webqa export comparisons.jsonl --format dpo -o dpo.jsonl",
    ],
    "eval": [
        "webqa eval demos/solar-system-questions.jsonl --corpus demos/solar-system --out runs/demo",
        "webqa eval questions.jsonl --corpus wiki.zim --out runs/b4 --best-of 4 --temperature 0.8",
        "webqa eval questions.jsonl --corpus /shared/wiki.zim --out runs/r --ray head:6379",
    ],
    "compare": [
        "webqa compare runs/a/traces/q1.jsonl runs/b/traces/q1.jsonl -o comparisons.jsonl",
        "webqa compare runs/b4 --judge -o comparisons.jsonl",
    ],
    "mcp": [
        "webqa mcp --corpus demos/solar-system",
        "webqa mcp --corpus demos/solar-system --http 8765 --traces traces/",
    ],
}


def _epilog(command: str | None) -> str:
    """Examples for ``command`` (None: the top level), then the environment variables."""
    width = max(len(name) for name, _ in ENVIRONMENT) + 2
    lines = [
        "examples:",
        *("  " + line for line in EXAMPLES[command]),
        "",
        "environment variables:",
    ]
    for name, text in ENVIRONMENT:
        first, *rest = text.split("\n")
        lines.append(f"  {name:<{width}}{first}")
        lines += [" " * (width + 2) + more for more in rest]
    return "\n".join(lines)


def _columns() -> int:
    """The terminal's width as ``shutil.get_terminal_size`` reads it ($COLUMNS, then the tty)."""
    try:
        return int(os.environ["COLUMNS"]) or 80
    except (KeyError, ValueError):
        pass
    if sys.__stdout__ is None:
        return 80
    try:
        return os.get_terminal_size(sys.__stdout__.fileno()).columns or 80
    except (AttributeError, ValueError, OSError):  # not a terminal, or a stream without a file
        return 80


def _formatter(prog: str) -> argparse.HelpFormatter:
    # Raw: the epilog's columns and the hand-wrapped descriptions are kept as written. The width
    # is given so that argparse does not import shutil (and with it bz2 and lzma) to find it:
    # a tenth of `webqa --help`'s time.
    return argparse.RawDescriptionHelpFormatter(prog, max_help_position=28, width=_columns() - 2)


def _ask(p: argparse.ArgumentParser) -> None:
    p.add_argument("question", help="the question to answer (quote it)")
    _web_flags(p)
    _model_flags(p)
    _limit_flags(p)
    p.add_argument(
        "--json",
        action="store_true",
        help="print the whole Answer (text, citations, status, usage) as JSON",
    )
    _quiet_flag(p)


def _batch(p: argparse.ArgumentParser) -> None:
    p.add_argument("questions", help="JSONL or one-question-per-line file; - reads stdin")
    p.add_argument(
        "-o",
        "--output",
        default="-",
        metavar="PATH",
        help="JSONL file for the answers, - for stdout (default: %(default)s)",
    )
    p.add_argument(
        "-j",
        "--concurrency",
        type=int,
        default=4,
        metavar="N",
        help="questions answered at the same time (default: %(default)s)",
    )
    p.add_argument(
        "--traces", metavar="DIR", help="folder for one trace per question (default: no traces)"
    )
    _web_flags(p, trace=False)
    _model_flags(p)
    _limit_flags(p)
    _quiet_flag(p)


def _browse(p: argparse.ArgumentParser) -> None:
    p.add_argument("question", nargs="?", help="the question (asked for when omitted)")
    _web_flags(p)
    _limit_flags(p)
    _quiet_flag(p)


def _index(p: argparse.ArgumentParser) -> None:
    p.add_argument("path", help="a folder of pages or a .warc/.warc.gz file")
    p.add_argument(
        "--full",
        action="store_true",
        help="compare every file with the index (finds files rewritten in place in a large "
        "folder; a plain refresh compares only each subfolder's mtime there)",
    )


def _show(p: argparse.ArgumentParser) -> None:
    p.add_argument("trace", help="a webqa trace (.jsonl)")
    p.add_argument(
        "--html",
        metavar="OUT",
        help="write a self-contained HTML page to OUT instead of printing text",
    )


def _replay(p: argparse.ArgumentParser) -> None:
    p.add_argument("trace", help="a webqa trace (.jsonl) to re-run on its own page snapshots")


def _export(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "traces",
        nargs="+",
        metavar="FILE",
        help="webqa traces (.jsonl) to convert; comparison files for --format dpo/comparisons",
    )
    p.add_argument(
        "-o", "--output", required=True, metavar="PATH", help="the JSONL file to write (required)"
    )
    p.add_argument(
        "--format",
        choices=("sft", "dpo", "comparisons"),
        default="sft",
        help="sft: OpenAI chat fine-tuning examples; dpo: prompt/chosen/rejected from "
        "comparisons; comparisons: webgpt_comparisons rows (default: %(default)s)",
    )
    p.add_argument(
        "--status",
        action="append",
        metavar="STATUS",
        help="only traces whose run ended with this status (answered, refused, stuck, ...); "
        "repeatable (default: all)",
    )
    p.add_argument(
        "--correct",
        action="store_true",
        help="only traces whose answer is correct in --results (default: all)",
    )
    p.add_argument(
        "--results",
        metavar="PATH",
        help="an eval results.jsonl that grades the traces, for --correct "
        "(default: results.jsonl beside a traces/ folder)",
    )


def _eval(p: argparse.ArgumentParser) -> None:
    p.add_argument("questions", help="JSONL file ('question', optional 'id' and 'answers')")
    p.add_argument(
        "--out",
        required=True,
        metavar="DIR",
        help="folder for traces/, results.jsonl and summary.json; an existing one is resumed",
    )
    p.add_argument(
        "-j",
        "--concurrency",
        type=int,
        default=4,
        metavar="N",
        help="questions answered at the same time (default: %(default)s)",
    )
    p.add_argument(
        "--best-of",
        type=int,
        default=1,
        metavar="N",
        help="browse N samples per question and keep the best (default: %(default)s)",
    )
    p.add_argument(
        "--scorer",
        choices=("support", "judge", "reward"),
        default="support",
        help="how --best-of picks: support (citations and agreement), judge (the LLM), "
        "reward (an HTTP reward model) (default: %(default)s)",
    )
    p.add_argument("--reward-url", metavar="URL", help="the reward endpoint, for --scorer reward")
    p.add_argument(
        "--ray",
        nargs="?",
        const="local",
        metavar="ADDRESS",
        help="run the questions as Ray tasks: on the cluster at ADDRESS (HOST:PORT, auto), or "
        "on a Ray instance started here when no address is given (default: no Ray)",
    )
    p.add_argument("-v", "--verbose", action="store_true", help="print a per-question table too")
    _web_flags(p, trace=False)
    _model_flags(p)
    _limit_flags(p)
    _quiet_flag(p)


def _compare(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "inputs",
        nargs="+",
        metavar="PATH",
        help="two traces of one question, or an eval folder run with --best-of "
        "(its samples are compared in pairs)",
    )
    p.add_argument(
        "-o",
        "--output",
        default="comparisons.jsonl",
        metavar="PATH",
        help="JSONL file the comparisons are appended to (default: %(default)s)",
    )
    p.add_argument("--judge", action="store_true", help="ask the LLM judge instead of a person")
    p.add_argument(
        "--dataset", default="webqa", help="the question's dataset name (default: %(default)s)"
    )
    p.add_argument("--model", help="judge model (default: $WEBQA_MODEL, else the server's)")
    p.add_argument("--base-url", metavar="URL", help="judge endpoint (default: $OPENAI_BASE_URL)")
    p.add_argument("--api-key", metavar="KEY", help="API key (default: $OPENAI_API_KEY)")
    p.add_argument(
        "--timeout",
        type=float,
        default=60.0,
        metavar="SECONDS",
        help="deadline for each judge call (default: %(default)g)",
    )


def _mcp(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--http",
        type=int,
        metavar="PORT",
        help="serve streamable HTTP on PORT (0: a free port) instead of stdio (default: stdio)",
    )
    p.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on with --http (default: %(default)s, loopback only)",
    )
    p.add_argument(
        "--traces",
        metavar="DIR",
        help="folder for one trace per browsing session and per ask (default: $WEBQA_HOME/traces)",
    )
    p.add_argument(
        "--idle-timeout",
        type=float,
        default=1800.0,
        metavar="SECONDS",
        help="end a browsing session after this long without a call (default: %(default)g)",
    )
    p.add_argument(
        "--session-actions",
        type=int,
        default=1000,
        metavar="N",
        help="browser actions one session may take; then it ends and the next call starts a "
        "new one (default: %(default)s)",
    )
    p.add_argument(
        "--max-sessions",
        type=int,
        default=100,
        metavar="N",
        help="browsing sessions held at once (default: %(default)s)",
    )
    _web_flags(p, trace=False)
    _model_flags(p)
    _limit_flags(p)
    _quiet_flag(p)


#: name -> (one-line help, description, the function that adds its arguments)
COMMANDS = {
    "ask": (
        "answer a question by browsing",
        "Answer a question by browsing; print the answer and its numbered references.\n"
        "Exit 0 when answered, 1 when not, 2 on a usage or setup error.",
        _ask,
    ),
    "batch": (
        "answer a file of questions, several at a time",
        "Answer every question of a file (JSONL with 'question' and optional 'id' and\n"
        "'answers', or one question per line; - for stdin) and write one JSON answer per\n"
        "line. With gold 'answers', reports accuracy.",
        _batch,
    ),
    "browse": (
        "drive the browser yourself (records a demonstration)",
        "Drive the browser with the same commands a model uses. Reads commands from a\n"
        "pipe too (one per line; after End: Answer the next line is the answer).",
        _browse,
    ),
    "index": ("build or refresh the search index of a corpus", None, _index),
    "show": ("print a trace as readable text, or as an HTML page", None, _show),
    "replay": ("replay a trace offline and check it reproduces", None, _replay),
    "export": ("turn traces into chat fine-tuning data (JSONL)", None, _export),
    "eval": (
        "evaluate on a question file: traces, scored results, summary",
        "Answer and score every question of a file into a folder: one trace per question,\n"
        "results.jsonl (answer, status, correct, first-sentence correct, token F1, citations\n"
        "verbatim, actions, tokens, seconds) and summary.json. The same --out resumes.\n"
        "Exit 0 unless every question failed.",
        _eval,
    ),
    "compare": (
        "compare two answers to one question (a person or --judge)",
        "Show two answers to one question with their quotes and record which is better on\n"
        "WebGPT's 5-point scale, as JSONL in the openai/webgpt_comparisons schema.",
        _compare,
    ),
    "mcp": (
        "serve the browser to MCP clients (stdio, or streamable HTTP)",
        "Serve webqa as a Model Context Protocol server: the tools search, click, open,\n"
        "find, quote, scroll and back drive one browser per session, cited_answer lists the\n"
        "quotes kept, ask answers a whole question. Every session writes a trace.",
        _mcp,
    ),
}


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The argument parser; with ``command``, only that subcommand gets its arguments.

    ``command=""`` adds no subcommand's arguments: enough for ``webqa --help`` and ``--version``.
    Building every subcommand's arguments costs more than the rest of ``webqa --help``.
    """
    parser = argparse.ArgumentParser(
        prog="webqa",
        description="Answer questions by browsing, with verbatim quoted citations.",
        epilog=_epilog(None),
        formatter_class=_formatter,
    )
    parser.add_argument(
        "--version",
        action="version",
        version=f"webqa {__version__}",
        help="print the version and exit",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (help_, description, populate) in COMMANDS.items():
        p = sub.add_parser(
            name,
            help=help_,
            description=description or help_.capitalize(),
            epilog=_epilog(name),
            formatter_class=_formatter,
        )
        if command in (None, name):
            populate(p)
    return parser


def _model_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--policy",
        choices=("auto", "llm", "extractive"),
        default="auto",
        help="who picks the actions: auto is an LLM when one is configured, else the "
        "built-in extractive policy (default: %(default)s)",
    )
    p.add_argument(
        "--model",
        help="model name (default: $WEBQA_MODEL, else the server's only or first listed model)",
    )
    p.add_argument(
        "--base-url",
        metavar="URL",
        help="OpenAI-compatible endpoint (default: $OPENAI_BASE_URL, else the OpenAI API)",
    )
    p.add_argument(
        "--api-key",
        metavar="KEY",
        help="API key (default: $OPENAI_API_KEY; a local server needs none)",
    )
    p.add_argument(
        "--temperature",
        type=float,
        metavar="T",
        help="sampling temperature (default: the server's)",
    )
    p.add_argument(
        "--seed",
        type=int,
        metavar="N",
        help="sampling seed, for servers that honour one (default: none)",
    )
    p.add_argument(
        "--timeout",
        type=float,
        default=60.0,
        metavar="SECONDS",
        help="deadline for each LLM call, before retries (default: %(default)g)",
    )
    p.add_argument(
        "--protocol",
        choices=("text", "tools"),
        default="text",
        help="how the LLM drives the browser: text commands (any chat model) or function "
        "tool calls (tool-capable models) (default: %(default)s)",
    )


def _limit_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--max-actions",
        type=int,
        default=100,
        metavar="N",
        help="browser actions per question, as in WebGPT (default: %(default)s)",
    )
    p.add_argument(
        "--max-failures",
        type=int,
        default=10,
        metavar="N",
        help="stop after N failed actions in a row (default: %(default)s)",
    )


def _quiet_flag(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "-q",
        "--quiet",
        action="store_true",
        help="no progress or notices on stderr; errors are still shown",
    )


def _web_flags(p: argparse.ArgumentParser, trace: bool = True) -> None:
    p.add_argument(
        "--corpus",
        metavar="PATH",
        help="answer from a folder of pages, a .zim or a .warc (default: the live web)",
    )
    p.add_argument(
        "--engine",
        help="live-web search engine: duckduckgo, searxng or brave "
        "(default: $WEBQA_ENGINE, else duckduckgo)",
    )
    p.add_argument(
        "--searxng-url",
        metavar="URL",
        help="base URL of a SearXNG instance (default: $SEARXNG_URL)",
    )
    p.add_argument(
        "--allow-private",
        action="store_true",
        help="allow fetching private and loopback addresses (intranets)",
    )
    p.add_argument(
        "--allow-metadata",
        action="store_true",
        help="with --allow-private, also allow cloud metadata addresses "
        "(169.254.169.254 and the like)",
    )
    p.add_argument(
        "--block",
        action="append",
        metavar="DOMAIN",
        help="drop this domain from results and fetches; repeatable, adds to the default list",
    )
    p.add_argument(
        "--no-default-block",
        action="store_true",
        help="do not drop reddit.com and quora.com (WebGPT's default block list)",
    )
    if trace:
        p.add_argument(
            "--trace",
            metavar="PATH",
            help="where to write the JSONL trace (default: a new file under $WEBQA_HOME/traces)",
        )
    p.add_argument(
        "--window",
        type=int,
        default=30,
        metavar="LINES",
        help="lines shown per screen (default: %(default)s)",
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    command = next((a for a in argv if not a.startswith("-")), None)
    # no subcommand named: the top-level help or an error, neither needs subcommand arguments
    parser = build_parser(command if command in COMMANDS else "")
    args = parser.parse_args(argv)
    if not args.command:
        parser.print_help()
        return EXIT_USAGE
    # The program, not the library, decides what other libraries may say: pypdf logs every
    # recoverable oddity of real-world PDFs as a warning, which is noise on a terminal.
    import logging

    from .errors import WebQAError

    logging.getLogger("pypdf").setLevel(logging.ERROR)
    try:
        from . import subcommands

        code: int = getattr(subcommands, "run_" + args.command)(args)
        sys.stdout.flush()  # here, where a reader gone away is caught, not at exit
        return code
    except WebQAError as exc:
        print(f"webqa: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("webqa: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader of stdout went away (`webqa ... | head`)
        from .console import silence_broken_pipe

        silence_broken_pipe(sys.stdout)
        return 1


def _entry() -> None:  # pragma: no cover - the console script
    """The ``webqa`` script: :func:`main`, tuned for a process that lives for one command."""
    import gc

    # Start-up allocates mostly long-lived objects (modules, classes, compiled patterns and
    # templates): at the default threshold of 700 the cyclic collector runs ~60 times in one
    # demo `ask` and frees a few hundred objects. Collections still run, every 50,000
    # allocations, so a long `batch` or `mcp` run keeps collecting.
    gc.set_threshold(50_000, 20, 20)
    code = main()
    # The objects left are freed by the exit itself; no need to walk them once more.
    gc.freeze()
    sys.exit(code)


if __name__ == "__main__":  # pragma: no cover
    _entry()
