"""The command line, end to end on the demo site (no LLM, no network)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from webqa import verify_citations
from webqa.cli import main
from webqa.corpus import open_corpus

ROOT = Path(__file__).resolve().parent.parent
SITE = ROOT / "demos" / "solar-system"


def test_ask_json_answer_is_cited_verbatim(tmp_path, capsys):
    trace = tmp_path / "t.jsonl"
    code = main(
        [
            "ask",
            "--corpus",
            str(SITE),
            "Who discovered the planet Neptune?",
            "--json",
            "--trace",
            str(trace),
        ]
    )
    out, err = capsys.readouterr()
    assert code == 0
    answer = json.loads(out)
    assert answer["status"] == "answered"
    assert "Galle" in answer["text"]
    assert answer["citations"] and answer["trace_path"] == str(trace)
    # Verbatim against the pages rendered afresh, and against the trace's own snapshots.
    from webqa.records import Answer, Citation

    cited = Answer("q", answer["text"], [Citation(**c) for c in answer["citations"]], "answered")
    with open_corpus(SITE) as corpus:
        checks = verify_citations(cited, corpus)
    assert checks and all(c.verbatim for c in checks)
    assert all(c.verbatim for c in verify_citations(trace))
    assert "no LLM configured" in err
    assert trace.exists()


def test_quiet_ask_prints_nothing_on_stderr(tmp_path, capsys):
    code = main(
        [
            "ask",
            "--corpus",
            str(SITE),
            "Who discovered the planet Neptune?",
            "--json",
            "--trace",
            str(tmp_path / "t.jsonl"),
            "-q",
        ]
    )
    out, err = capsys.readouterr()
    assert code == 0 and json.loads(out)["status"] == "answered"
    assert err == ""


def test_quiet_ask_in_text_prints_nothing_on_stderr(tmp_path, capsys):
    trace = tmp_path / "t.jsonl"
    code = main(["ask", "--corpus", str(SITE), "How big is Ceres?", "--trace", str(trace), "-q"])
    out, err = capsys.readouterr()
    assert code == 0 and "940" in out and "References" in out
    assert err == ""  # not even the trace path
    assert trace.exists()


@pytest.mark.parametrize("flags", [[], ["--json"]])
def test_a_reader_that_goes_away_ends_the_ask_quietly(tmp_path, flags):
    # `webqa ask ... | head -1` where head has already exited: no traceback, exit status 1.
    proc = subprocess.Popen(
        [sys.executable, "-m", "webqa.cli", "ask", "--corpus", str(SITE), "-q", *flags]
        + ["--trace", str(tmp_path / "t.jsonl"), "How big is Ceres?"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={"WEBQA_HOME": str(tmp_path / "home"), "PATH": "/usr/bin:/bin"},
    )
    proc.stdout.close()  # the reader is gone before anything is written
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 1
    assert b"Traceback" not in err and b"BrokenPipe" not in err, err.decode()[-2000:]


def test_ask_prints_answer_and_references(tmp_path, capsys):
    code = main(
        [
            "ask",
            "--corpus",
            str(SITE),
            "When was Voyager 1 launched?",
            "--trace",
            str(tmp_path / "t.jsonl"),
        ]
    )
    out, err = capsys.readouterr()
    assert code == 0
    assert "5 September 1977" in out
    assert "References" in out and "[1] " in out and "local://solar-system/" in out
    assert "Search" in err and "left)" in err  # progress on stderr
    assert "\x1b[" not in out + err  # no colour codes when not on a terminal


def test_missing_corpus_is_a_clear_error(capsys):
    assert main(["ask", "--corpus", "/no/such/folder", "q"]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_no_answer_exit_code(tmp_path, capsys):
    code = main(
        [
            "ask",
            "--corpus",
            str(SITE),
            "zzqx vvkw plorb?",
            "--trace",
            str(tmp_path / "t.jsonl"),
            "--quiet",
        ]
    )
    assert code == 1
    assert "no answer" in capsys.readouterr().err


def _browse(args, stdin):
    return subprocess.run(
        [sys.executable, "-m", "webqa.cli", "browse", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )


def test_browse_from_a_pipe_records_a_replayable_trace(tmp_path):
    trace = tmp_path / "demo.jsonl"
    commands = (
        "\n".join(
            [
                "Search Neptune discovered",
                "Clicked on link 0",
                "Find in page: discovered on",
                "Quote: Neptune was discovered on 23 September 1846 by Johann Galle",
                "Quote: this sentence is not on the page",
                "Back",
                "End: Answer",
                "Johann Galle discovered Neptune in 1846 [1].",
            ]
        )
        + "\n"
    )
    done = _browse(
        ["--corpus", str(SITE), "--trace", str(trace), "Who discovered Neptune?"], commands
    )
    assert done.returncode == 0, done.stderr
    assert "♦Question\nWho discovered Neptune?" in done.stdout
    assert "not on this page" in done.stdout
    assert "Johann Galle discovered Neptune in 1846 [1]." in done.stdout
    events = [json.loads(x) for x in trace.read_text().splitlines()]
    assert events[0]["config"]["policy"] == "human"
    assert events[-1]["status"] == "answered"
    assert main(["replay", str(trace)]) == 0
    out = tmp_path / "train.jsonl"
    assert main(["export", str(trace), "-o", str(out)]) == 0
    assert len(out.read_text().splitlines()) == 7  # 6 valid commands + the answer
    assert main(["show", str(trace)]) == 0
    assert main(["show", str(trace), "--html", str(tmp_path / "t.html")]) == 0
    assert "<details" in (tmp_path / "t.html").read_text()


def test_help_lists_commands(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    for cmd in ("ask", "browse", "index", "show", "replay", "export"):
        assert cmd in out
