"""The plain console reads markup as rich does, so a pipe shows what a terminal shows."""

from __future__ import annotations

import io
import random
import subprocess
import sys

import pytest
from rich.markup import escape as rich_escape
from rich.text import Text

from webqa.console import PlainConsole, console, escape, plain

HOSTILE = [
    "",
    "plain",
    "[1] a quote marker",
    "[bold]x[/]",
    "list[int] and dict[str, Any]",
    "a \\[dim] literal",
    "ends with a backslash \\",
    "\\\\[bold]two backslashes[/]",
    "\\\\\\[red]three[/red]",
    "[link=https://example.com]x[/link]",
    "[@click]handler[/]",
    "[#ff0000]hex[/]",
    "C:\\path\\[to]\\file",
    "[[nested]]",
    "[/]",
    "x[/unopened]",
    ":fire: stays text",
]


def _random_strings(n: int) -> list[str]:
    rng = random.Random(11)
    alphabet = "ab[]/\\#@=: x1"
    return ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 24))) for _ in range(n)]


@pytest.mark.parametrize("text", HOSTILE + _random_strings(400))
def test_escape_is_riches_escape_but_for_a_backslash_bracket(text):
    if "\\[" not in text and not text.endswith("\\\\"):
        assert escape(text) == rich_escape(text)


@pytest.mark.parametrize("text", HOSTILE + _random_strings(400))
def test_escaped_text_shows_as_itself_in_both(text):
    markup = f"[dim]{escape(text)}[/] [bold]{escape(text)}[/]"
    assert plain(markup) == Text.from_markup(markup, emoji=False).plain
    assert plain(markup) == f"{text} {text}"
    if not text.endswith("\\"):  # at the very end, rich shows an escaped backslash twice
        assert plain(escape(text)) == text == Text.from_markup(escape(text), emoji=False).plain


@pytest.mark.parametrize("markup", HOSTILE + _random_strings(400))
def test_plain_reads_tags_as_rich_does(markup):
    try:
        expected = Text.from_markup(markup, emoji=False).plain
    except Exception:  # rich refuses a closing tag with nothing open; ours drops it
        return
    assert plain(markup) == expected


def test_plain_console_writes_text_without_tags(monkeypatch):
    out = io.StringIO()
    monkeypatch.setattr(sys, "stdout", out)
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    con = console()
    assert isinstance(con, PlainConsole) and not con.is_terminal
    con.print(f"[bold][1][/] {escape('[dim] is text')} — [cyan]url[/]")
    assert out.getvalue() == "[1] [dim] is text — url\n"


def test_a_piped_ask_does_not_import_rich(tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    (site / "a.html").write_text(
        "<title>Ceres</title><p>Ceres is about 940 kilometres across and orbits the Sun.</p>"
    )
    code = (
        "import sys; from webqa.cli import main; rc = main(['ask', '--corpus', sys.argv[1], "
        "'--trace', sys.argv[2], 'How big is Ceres?']); "
        "print('RICH' if any(m.startswith('rich') for m in sys.modules) else 'NO-RICH'); "
        "sys.exit(rc)"
    )
    env = {"WEBQA_HOME": str(tmp_path / "home"), "PATH": "/usr/bin:/bin"}
    proc = subprocess.run(
        [sys.executable, "-c", code, str(site), str(tmp_path / "t.jsonl")],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert "940 kilometres" in proc.stdout
    assert proc.stdout.strip().endswith("NO-RICH")
    assert "[dim]" not in proc.stderr and "trace:" in proc.stderr


@pytest.mark.timeout(10)
def test_a_huge_run_of_backslashes_is_read_in_linear_time():
    # A page or an answer may hold anything; each start inside a run of backslashes used
    # to be tried, quadratic in the run (hours at this size).
    text = "\\" * 300_000 + "[dim]x" + "\\" * 300_000
    assert plain(f"[bold]{escape(text)}[/]") == text
