"""The ``webqa`` command line: parsing flags and printing results, nothing more.

argparse rather than a framework: ``webqa --help`` must start fast, and every heavy import
(lxml, openai, libzim, rich) happens inside the subcommand that needs it.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from . import __version__

__all__ = ["main", "build_parser"]

EXIT_OK, EXIT_NO_ANSWER, EXIT_USAGE = 0, 1, 2


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for all subcommands."""
    parser = argparse.ArgumentParser(
        prog="webqa",
        description="Answer questions by browsing, with verbatim quoted citations.",
    )
    parser.add_argument("--version", action="version", version=f"webqa {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    ask = sub.add_parser("ask", help="answer a question by browsing",
                         description="Answer a question by browsing; print the answer and its "
                                     "numbered references. Exit 0 when answered.")
    ask.add_argument("question")
    _web_flags(ask)
    ask.add_argument("--policy", choices=("auto", "llm", "extractive"), default="auto",
                     help="auto: an LLM when one is configured, else extractive (default)")
    ask.add_argument("--model", help="model name (default: $WEBQA_MODEL)")
    ask.add_argument("--base-url", help="OpenAI-compatible endpoint (default: $OPENAI_BASE_URL)")
    ask.add_argument("--api-key", help="API key (default: $OPENAI_API_KEY)")
    ask.add_argument("--temperature", type=float)
    ask.add_argument("--seed", type=int)
    ask.add_argument("--max-actions", type=int, default=100, metavar="N")
    ask.add_argument("--json", action="store_true", help="print the whole Answer as JSON")
    ask.add_argument("--quiet", "-q", action="store_true", help="no progress on stderr")

    browse = sub.add_parser("browse", help="drive the browser yourself (records a demonstration)",
                            description="Drive the browser with the same commands a model uses. "
                                        "Reads commands from a pipe too (one per line; after "
                                        "End: Answer the next line is the answer).")
    browse.add_argument("question", nargs="?", help="the question (asked for when omitted)")
    _web_flags(browse)
    browse.add_argument("--max-actions", type=int, default=100, metavar="N")

    index = sub.add_parser("index", help="build or refresh the search index of a corpus")
    index.add_argument("path", help="a folder of pages or a .warc/.warc.gz file")

    show = sub.add_parser("show", help="print a trace as readable text, or as an HTML page")
    show.add_argument("trace")
    show.add_argument("--html", metavar="OUT", help="write a self-contained HTML page instead")

    replay = sub.add_parser("replay", help="replay a trace offline and check it reproduces")
    replay.add_argument("trace")

    export = sub.add_parser("export", help="turn traces into chat fine-tuning data (JSONL)")
    export.add_argument("traces", nargs="+")
    export.add_argument("-o", "--output", required=True, help="the JSONL file to write")
    return parser


def _web_flags(p: argparse.ArgumentParser) -> None:
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
    p.add_argument("--trace", metavar="PATH", help="where to write the JSONL trace")
    p.add_argument("--window", type=int, default=30, metavar="LINES",
                   help="lines shown per screen (default 30)")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code."""
    parser = build_parser()
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
