"""``webqa --help`` for a newcomer: every option explained with its default, examples, variables."""

from __future__ import annotations

import argparse
import subprocess
import sys

import pytest

from webqa.cli import COMMANDS, ENVIRONMENT, build_parser, main

#: every environment variable webqa reads; each --help must name them all
VARIABLES = (
    "WEBQA_HOME",
    "WEBQA_MODEL",
    "WEBQA_ENGINE",
    "WEBQA_PROMPTS",
    "OPENAI_BASE_URL",
    "OPENAI_API_KEY",
    "SEARXNG_URL",
    "BRAVE_API_KEY",
    "NO_COLOR",
)


def subparser(command: str) -> argparse.ArgumentParser:
    """The parser of one subcommand, built the way ``main`` builds it."""
    parser = build_parser(command)
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return sub.choices[command]


def shown_default(default: object) -> str:
    """How a default reads in help text: 60.0 is written 60."""
    return format(default, "g") if isinstance(default, float) else str(default)


def documented(action: argparse.Action) -> bool:
    return action.default not in (None, False, argparse.SUPPRESS) and not action.required


@pytest.mark.parametrize("command", list(COMMANDS))
def test_every_option_has_help_with_its_default(command):
    actions = [a for a in subparser(command)._actions if not isinstance(a, argparse._HelpAction)]
    assert actions, f"{command} has no arguments"
    for action in actions:
        name = "/".join(action.option_strings) or action.dest
        assert action.help and action.help.strip(), f"{command} {name}: no help"
        # argparse expands help with the action's own attributes; do the same to read it as shown
        text = action.help % dict(vars(action), prog="webqa")
        if documented(action):
            assert f"default: {shown_default(action.default)}" in text, (
                f"{command} {name}: help does not state its default {action.default!r}: {text!r}"
            )


def test_options_without_a_value_still_say_where_the_value_comes_from():
    ask = {a.dest: a for a in subparser("ask")._actions}
    for dest, variable in [
        ("model", "$WEBQA_MODEL"),
        ("base_url", "$OPENAI_BASE_URL"),
        ("api_key", "$OPENAI_API_KEY"),
        ("engine", "$WEBQA_ENGINE"),
        ("searxng_url", "$SEARXNG_URL"),
    ]:
        assert variable in (ask[dest].help or ""), dest


@pytest.mark.parametrize("command", [None, *COMMANDS])
def test_help_shows_an_example_and_every_variable(command, capsys):
    argv = ["--help"] if command is None else [command, "--help"]
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    assert "examples:" in out
    examples = out.split("examples:", 1)[1].split("environment variables:", 1)[0]
    assert "webqa " + (command or "") in examples
    variables = out.split("environment variables:", 1)[1]
    for variable in VARIABLES:
        assert f"\n  {variable} " in variables, f"{variable} missing from {command} --help"
    assert {name for name, _ in ENVIRONMENT} == set(VARIABLES)


@pytest.mark.parametrize("command", ["ask", "batch", "browse"])
def test_runs_take_quiet_and_loop_guard_flags(command):
    args = build_parser(command).parse_args([command, "-q", "--max-failures", "3", "question"])
    assert args.quiet is True and args.max_failures == 3
    defaults = build_parser(command).parse_args([command, "question"])
    assert defaults.quiet is False and defaults.max_failures == 10
    assert defaults.max_actions == 100


@pytest.mark.parametrize("command", ["ask", "batch"])
def test_llm_timeout_defaults_to_a_minute(command):
    parser = build_parser(command)
    assert parser.parse_args([command, "q"]).timeout == 60.0
    assert parser.parse_args([command, "q", "--timeout", "2.5"]).timeout == 2.5


@pytest.mark.parametrize("command", ["ask", "batch", "browse"])
def test_metadata_addresses_are_a_separate_opt_in(command):
    parser = build_parser(command)
    plain = parser.parse_args([command, "q", "--allow-private"])
    assert plain.allow_private is True and plain.allow_metadata is False
    both = parser.parse_args([command, "q", "--allow-private", "--allow-metadata"])
    assert both.allow_metadata is True


def test_version_comes_from_the_package(capsys):
    from webqa import __version__

    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out.strip() == f"webqa {__version__}"


def test_help_imports_nothing_heavy():
    # --help must start fast: none of the heavy libraries may load for it
    code = (
        "import sys; from webqa.cli import main\n"
        "try: main(['ask', '--help'])\n"
        "except SystemExit: pass\n"
        # shutil brings bz2 and lzma: a tenth of the start-up, only to read the terminal width
        "heavy = {'httpx', 'openai', 'lxml', 'rich', 'libzim', 'trafilatura', 'jinja2', 'shutil'}\n"
        "print(sorted(heavy & {m.split('.')[0] for m in sys.modules}))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=30, check=True
    ).stdout
    assert out.strip().splitlines()[-1] == "[]"


def test_help_wraps_to_the_terminal_width(monkeypatch, capsys):
    monkeypatch.setenv("COLUMNS", "60")
    with pytest.raises(SystemExit):
        main(["ask", "--help"])
    options = capsys.readouterr().out.split("options:", 1)[1].split("examples:", 1)[0]
    assert max(len(line) for line in options.splitlines()) <= 60
    monkeypatch.setenv("COLUMNS", "200")
    with pytest.raises(SystemExit):
        main(["ask", "--help"])
    wide = capsys.readouterr().out.split("options:", 1)[1].split("examples:", 1)[0]
    assert max(len(line) for line in wide.splitlines()) > 100


def test_an_extractive_ask_does_not_load_the_llm_client(tmp_path):
    import os
    import subprocess
    import sys
    from pathlib import Path

    demo = Path(__file__).resolve().parent.parent / "demos" / "solar-system"
    code = (
        f"import sys, runpy; sys.argv = ['webqa', 'ask', '--corpus', {str(demo)!r}, '-q', "
        "'Who discovered Neptune?']\n"
        "try:\n    runpy.run_module('webqa.cli', run_name='__main__')\n"
        "except SystemExit:\n    pass\n"
        "print('openai' in sys.modules)"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("WEBQA_MODEL", "OPENAI_BASE_URL")}
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        env={**env, "WEBQA_HOME": str(tmp_path)},
    )
    assert out.stdout.strip().splitlines()[-1] == "False", out.stderr
