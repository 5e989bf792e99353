"""The ``webqa`` command line: parsing flags and printing results, nothing more.

argparse rather than a framework: ``webqa --help`` must start fast, and every heavy import
(lxml, openai, libzim, rich) happens inside the subcommand that needs it.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from . import __version__

__all__ = ["main", "build_parser", "COMMANDS"]

EXIT_OK, EXIT_NO_ANSWER, EXIT_USAGE = 0, 1, 2


def _ask(p: argparse.ArgumentParser) -> None:
    p.add_argument("question")
    _web_flags(p)
    _model_flags(p)
    p.add_argument("--json", action="store_true", help="print the whole Answer as JSON")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress on stderr")


def _batch(p: argparse.ArgumentParser) -> None:
    p.add_argument("questions")
    p.add_argument("-o", "--output", default="-", help="JSONL file for the answers (default: stdout)")
    p.add_argument("--concurrency", "-j", type=int, default=4, metavar="N",
                   help="questions answered at the same time (default 4)")
    p.add_argument("--traces", metavar="DIR", help="folder for one trace per question")
    _web_flags(p, trace=False)
    _model_flags(p)


def _browse(p: argparse.ArgumentParser) -> None:
    p.add_argument("question", nargs="?", help="the question (asked for when omitted)")
    _web_flags(p)
    p.add_argument("--max-actions", type=int, default=100, metavar="N")


def _index(p: argparse.ArgumentParser) -> None:
    p.add_argument("path", help="a folder of pages or a .warc/.warc.gz file")


def _show(p: argparse.ArgumentParser) -> None:
    p.add_argument("trace")
    p.add_argument("--html", metavar="OUT", help="write a self-contained HTML page instead")


def _replay(p: argparse.ArgumentParser) -> None:
    p.add_argument("trace")


def _export(p: argparse.ArgumentParser) -> None:
    p.add_argument("traces", nargs="+")
    p.add_argument("-o", "--output", required=True, help="the JSONL file to write")


#: name -> (one-line help, description, the function that adds its arguments)
COMMANDS = {
    "ask": ("answer a question by browsing",
            "Answer a question by browsing; print the answer and its numbered references. "
            "Exit 0 when answered.", _ask),
    "batch": ("answer a file of questions, several at a time",
              "Answer every question of a file (JSONL with 'question' and optional 'id' and "
              "'answers', or one question per line; - for stdin) and write one JSON answer per "
              "line. With gold 'answers', reports accuracy.", _batch),
    "browse": ("drive the browser yourself (records a demonstration)",
               "Drive the browser with the same commands a model uses. Reads commands from a "
               "pipe too (one per line; after End: Answer the next line is the answer).", _browse),
    "index": ("build or refresh the search index of a corpus", None, _index),
    "show": ("print a trace as readable text, or as an HTML page", None, _show),
    "replay": ("replay a trace offline and check it reproduces", None, _replay),
    "export": ("turn traces into chat fine-tuning data (JSONL)", None, _export),
}


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The argument parser; with ``command``, only that subcommand gets its arguments.

    Building every subcommand's arguments costs more than the rest of ``webqa --help``.
    """
    parser = argparse.ArgumentParser(
        prog="webqa",
        description="Answer questions by browsing, with verbatim quoted citations.",
    )
    parser.add_argument("--version", action="version", version=f"webqa {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (help_, description, populate) in COMMANDS.items():
        p = sub.add_parser(name, help=help_, description=description or help_.capitalize())
        if command in (None, name):
            populate(p)
    return parser


def _model_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--policy", choices=("auto", "llm", "extractive"), default="auto",
                   help="auto: an LLM when one is configured, else extractive (default)")
    p.add_argument("--model", help="model name (default: $WEBQA_MODEL)")
    p.add_argument("--base-url", help="OpenAI-compatible endpoint (default: $OPENAI_BASE_URL)")
    p.add_argument("--api-key", help="API key (default: $OPENAI_API_KEY)")
    p.add_argument("--temperature", type=float)
    p.add_argument("--seed", type=int)
    p.add_argument("--max-actions", type=int, default=100, metavar="N")


def _web_flags(p: argparse.ArgumentParser, trace: bool = True) -> None:
    p.add_argument("--corpus", metavar="PATH",
                   help="answer from a folder of pages, a .zim or a .warc (default: live web)")
    p.add_argument("--engine", help="live-web search engine: duckduckgo, searxng or brave "
                                    "(default: $WEBQA_ENGINE or duckduckgo)")
    p.add_argument("--searxng-url", help="base URL of a SearXNG instance (or $SEARXNG_URL)")
    p.add_argument("--allow-private", action="store_true",
                   help="allow fetching private/loopback addresses (intranets)")
    p.add_argument("--block", action="append", metavar="DOMAIN",
                   help="drop this domain from results and fetches (repeatable)")
    p.add_argument("--no-default-block", action="store_true",
                   help="do not drop reddit.com and quora.com (WebGPT's default block list)")
    if trace:
        p.add_argument("--trace", metavar="PATH", help="where to write the JSONL trace")
    p.add_argument("--window", type=int, default=30, metavar="LINES",
                   help="lines shown per screen (default 30)")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    command = next((a for a in argv if not a.startswith("-")), None)
    parser = build_parser(command if command in COMMANDS else None)
    args = parser.parse_args(argv)
    if not args.command:
        parser.print_help()
        return EXIT_USAGE
    from .errors import WebQAError

    try:
        from . import cli_commands

        return getattr(cli_commands, "run_" + args.command)(args)
    except WebQAError as exc:
        print(f"webqa: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("webqa: interrupted", file=sys.stderr)
        return 130


def _entry() -> None:  # pragma: no cover - the console script
    sys.exit(main())


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
