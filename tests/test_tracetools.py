"""The trace tools: text and HTML views, the replay verdict, export, and a fuzz over damage."""

from __future__ import annotations

import json
import os
import random
import time
from html.parser import HTMLParser
from pathlib import Path

import pytest

from webqa.errors import ConfigError
from webqa.trace import load_trace, parse_trace
from webqa.tracetools import (
    DIFF_LINES,
    compare_observations,
    export_examples,
    replay,
    run_quotes,
    trace_html,
    trace_text,
)

DEMOS = sorted((Path(__file__).parent.parent / "demos" / "traces").glob("*.jsonl"))
MOON = next(p for p in DEMOS if p.name == "largest-moon.jsonl")


def events_of(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines()]


def write(path: Path, events: list[dict]) -> Path:
    path.write_text("".join(json.dumps(e, ensure_ascii=False) + "\n" for e in events))
    return path


def cut_before(events: list[dict], step: int) -> list[dict]:
    """The trace as a kill just before step ``step`` was written leaves it."""
    index = next(i for i, e in enumerate(events) if e["type"] == "step" and e["n"] == step)
    return events[:index]


# ---------------------------------------------------------------------------------- show


def test_text_says_where_a_run_was_cut_off_and_keeps_its_quotes(tmp_path):
    path = write(tmp_path / "cut.jsonl", cut_before(events_of(MOON), 7))
    text = trace_text(load_trace(path))
    assert "Status: run cut off after step 6 (no end event)" in text
    assert "Quotes collected before the cut:" in text
    assert "Ganymede is the largest moon in the Solar System" in text
    assert "it is larger than the planet Mercury" in text  # the last step's quote, as typed


def test_text_lists_the_bad_lines_skipped(tmp_path):
    lines = MOON.read_text(encoding="utf-8").splitlines()
    lines[3] = "{broken"
    path = tmp_path / "t.jsonl"
    path.write_text("\n".join(lines))
    text = trace_text(load_trace(path))
    assert "Skipped 1 bad line:\n  line 4: not JSON" in text
    assert "Status: answered" in text


def test_text_and_html_accept_plain_event_lists():
    events = events_of(MOON)
    assert "Status: answered" in trace_text(events)
    assert "id='ref-1'" in trace_html(events)


class Tree(HTMLParser):
    """Every element with its attributes and the text inside it (enough to check structure)."""

    VOID = {"meta", "br", "hr", "img", "link", "input"}

    def __init__(self, page: str) -> None:
        super().__init__()
        self.elements: list[dict] = []
        self.open: list[dict] = []
        self.feed(page)

    def handle_starttag(self, tag, attrs):
        element = {
            "tag": tag,
            "attrs": dict(attrs),
            "text": "",
            "classes": (dict(attrs).get("class") or "").split(),
        }
        self.elements.append(element)
        if tag not in self.VOID:
            self.open.append(element)

    def handle_endtag(self, tag):
        while self.open:
            if self.open.pop()["tag"] == tag:
                break

    def handle_data(self, data):
        for element in self.open:
            element["text"] += data

    def find(self, tag=None, cls=None, **attrs):
        return [
            e
            for e in self.elements
            if (tag is None or e["tag"] == tag)
            and (cls is None or cls in e["classes"])
            and all(e["attrs"].get(k) == v for k, v in attrs.items())
        ]

    def by_id(self, ident):
        found = [e for e in self.elements if e["attrs"].get("id") == ident]
        assert len(found) == 1, ident
        return found[0]


def check_self_contained(tree: Tree) -> None:
    ids = [e["attrs"]["id"] for e in tree.elements if "id" in e["attrs"]]
    assert len(ids) == len(set(ids)), "ids are unique"
    for e in tree.elements:
        assert e["tag"] not in ("script", "link", "img", "iframe", "object", "embed")
        assert "src" not in e["attrs"]
        href = e["attrs"].get("href")
        if href is not None:
            assert href.startswith(("#", "http://", "https://")), href
            if href.startswith("#"):
                assert href[1:] in ids, f"dangling link {href}"
    style = "".join(e["text"] for e in tree.find("style"))
    assert "url(" not in style and "@import" not in style


def test_html_of_a_finished_run(tmp_path):
    page = trace_html(load_trace(MOON))
    tree = Tree(page)
    check_self_contained(tree)
    assert "status-answered" in tree.by_id("status")["classes"]

    # [n] markers link to their references; cited and uncited references differ.
    cites = tree.find("a", cls="cite")
    assert [(c["attrs"]["href"], c["text"]) for c in cites] == [("#ref-1", "[1]")]
    assert tree.by_id("ref-1")["classes"] == ["ref", "cited"]
    assert tree.by_id("ref-2")["classes"] == ["ref", "uncited"]
    assert "not cited in the answer" in tree.by_id("ref-2")["text"]

    # Every step's observation is labelled as the one shown before its action.
    steps = tree.find("details", cls="step")
    assert len(steps) == 7
    for n, step in enumerate(steps, 1):
        assert step["attrs"]["id"] == f"step-{n}"
        assert (
            f"Observation shown before this action (what the policy saw when it chose step {n})"
            in step["text"]
        )

    # Link markers are visible text, never raw 【】 boxes; local:// links are not dead links.
    assert "【" not in page and "】" not in page
    boxes = tree.find("span", cls="lk")
    assert boxes and all(b["text"].startswith(f"[{b['attrs']['data-link']}]") for b in boxes)
    assert not [e for e in tree.elements if e["attrs"].get("href", "").startswith("local://")]
    jupiter = next(b for b in boxes if "Jupiter" in b["text"] and "local://" in b["text"])
    assert "local://solar-system/jupiter.html" in jupiter["text"]  # not a snapshot: URL shown
    to_snapshot = [a for a in tree.find("a") if a["attrs"]["href"].startswith("#page-")]
    assert to_snapshot  # search results link to the pages the run opened

    # Quotes are highlighted inside their page snapshot.
    marks = [m["text"] for m in tree.find("mark")]
    assert (
        "Ganymede is the largest moon in the Solar System, with a diameter of 5,268 "
        "kilometres." in marks
    )
    quoted = tree.find("li", cls="quoted")
    answer = next(e for e in events_of(MOON) if e["type"] == "answer")
    first = answer["citations"][0]["line_start"]
    assert {q["attrs"]["id"] for q in quoted} == {f"page-2-L{first}", f"page-2-L{first + 1}"}
    assert tree.by_id(f"page-2-L{first}")["attrs"]["data-quotes"] == "ref-1 ref-2"

    # Usage is shown.
    usage = tree.by_id("usage")["text"]
    assert "actions" in usage and "7" in usage and "completion_tokens" in usage


def test_html_of_a_cut_off_run_shows_where_and_the_quotes_it_had(tmp_path):
    path = write(tmp_path / "cut.jsonl", cut_before(events_of(MOON), 7))
    tree = Tree(trace_html(load_trace(path)))
    check_self_contained(tree)
    status = tree.by_id("status")
    assert "cut-off" in status["classes"]
    assert status["text"] == "Run cut off after step 6 (no end event)"
    quotes = tree.by_id("quotes")["text"]
    assert "Ganymede is the largest moon in the Solar System" in quotes
    assert "it is larger than the planet Mercury" in quotes
    assert "as typed" in quotes
    # The recovered quotes are found in their page.
    marked = " ".join(m["text"] for m in tree.find("mark"))
    assert "Ganymede is the largest moon in the Solar System, with a diameter of 5,268" in marked
    assert "It is larger" in marked
    line = load_trace(path).steps[-1]["result"].rsplit("line ", 1)[1].rstrip(".")
    assert [a["attrs"]["href"] for a in tree.find("a", cls="in-page")] == [f"#page-2-L{line}"] * 2
    assert "summed from the recorded steps" in tree.by_id("usage")["text"]


def test_html_shows_bad_lines_and_escapes_what_pages_hold(tmp_path):
    events = events_of(MOON)
    events[2]["observation"] = "<script>alert(1)</script> 【0†a <b>】"
    lines = [json.dumps(e, ensure_ascii=False) for e in events]
    lines.insert(3, "not json")
    path = tmp_path / "t.jsonl"
    path.write_text("\n".join(lines))
    page = trace_html(load_trace(path))
    tree = Tree(page)
    check_self_contained(tree)
    assert "line 4: not JSON" in tree.by_id("bad-lines")["text"]
    assert "<script>alert(1)</script>" in tree.by_id("step-1")["text"]


def test_a_quote_across_lines_and_link_markers_is_marked_exactly():
    run = {"type": "run", "format": "webqa-trace/1", "question": "q"}
    page = {
        "type": "page",
        "key": "https://example.org/a",
        "url": "https://example.org/a",
        "title": "A",
        "lines": ["intro", "The four largest moons of 【0†Jupiter】: Io, Europa", "and Callisto."],
        "links": {"0": {"url": "https://example.org/jupiter", "text": "Jupiter"}},
    }
    quote = {"url": page["url"], "title": "A", "line_start": 1, "line_end": 2}
    answer = {
        "type": "answer",
        "text": "Io [1], and more [7].",
        "citations": [{**quote, "n": 1, "quote": "moons of Jupiter: Io, Europa and Callisto"}],
        "quotes": [{**quote, "text": "moons of Jupiter: Io, Europa and Callisto"}],
    }
    far = {**answer["citations"][0], "n": 2, "line_start": 90, "line_end": 95, "cited": False}
    answer["citations"].append(far)
    tree = Tree(trace_html([run, page, answer]))
    check_self_contained(tree)
    assert [m["text"] for m in tree.find("mark")] == [
        "moons of [0]Jupiter: Io, Europa",
        "and Callisto",
    ]
    assert tree.find("a", href="https://example.org/jupiter")  # a web link stays a link
    assert tree.find("span", cls="cite-missing")[0]["text"] == "[7]"
    assert "show in page" not in tree.by_id("ref-2")["text"]  # lines the page does not have
    assert "open" in tree.by_id("page-1")["attrs"]  # a page with a quote starts open


def test_run_quotes_prefers_the_answer():
    quotes = run_quotes(load_trace(MOON))
    assert [q["text"][:8] for q in quotes] == ["Ganymede", "It is la"]
    assert all(q["url"].startswith("local://") for q in quotes)


# -------------------------------------------------------------------------------- replay


def test_equal_observations_are_one_ok_verdict():
    verdict = compare_observations(["a", "b"], ["a", "b"], complete=True)
    assert verdict.ok and (verdict.same, verdict.total, verdict.first_difference) == (2, 2, None)
    assert verdict.message == "all 2 observations reproduced" and verdict.diff == ""


def test_a_difference_is_shown_as_a_diff_of_the_first_differing_observation():
    recorded = ["same", "line 1\nline 2\nline 3", "x"]
    replayed = ["same", "line 1\nline TWO\nline 3", "y"]
    verdict = compare_observations(recorded, replayed, complete=True)
    assert not verdict.ok and verdict.first_difference == 2 and verdict.same == 1
    assert verdict.message == "1 of 3 observations reproduced; first difference at step 2"
    assert "-line 2\n+line TWO" in verdict.diff
    assert verdict.diff.startswith("--- recorded step 2\n+++ replayed step 2")
    assert verdict.report() == f"{verdict.message}\n{verdict.diff}"


def test_the_diff_is_limited():
    recorded = ["\n".join(f"line {i}" for i in range(500))]
    replayed = ["\n".join(f"other {i}" for i in range(500))]
    diff = compare_observations(recorded, replayed, complete=True).diff.splitlines()
    assert len(diff) == DIFF_LINES + 1 and diff[-1].endswith("more diff lines)")


def test_a_cut_off_trace_compares_only_the_steps_it_has():
    verdict = compare_observations(["a"] * 8, ["a"] * 12, complete=False)
    assert verdict.ok and verdict.first_difference is None
    assert "all 8 recorded observations reproduced" in verdict.message
    assert "4 further steps not compared" in verdict.message


def test_a_finished_trace_replayed_further_is_one_consistent_failure():
    verdict = compare_observations(["a"] * 8, ["a"] * 9, complete=True)
    assert not verdict.ok and verdict.first_difference == 9 and verdict.same == 8
    assert "went on past the recorded end" in verdict.message and "+a" in verdict.diff


def test_a_replay_that_stops_early_is_a_difference():
    verdict = compare_observations(["a", "b", "c"], ["a"], complete=False)
    assert not verdict.ok and verdict.first_difference == 2
    assert "the replay stopped after step 1" in verdict.message and "-b" in verdict.diff


def test_replay_of_an_interrupted_trace_has_no_false_difference(tmp_path):
    events = events_of(MOON)
    full = [e["observation"] for e in events if e["type"] == "step"]
    path = write(tmp_path / "cut.jsonl", cut_before(events, 6))
    seen = []

    def run(trace):
        seen.append(trace)
        return full  # the replay runs on past the cut, as the real one does

    verdict = replay(path, run=run)
    assert seen[0].cut_off
    assert verdict.ok and verdict.total == 5 and verdict.same == 5


def test_replay_of_a_tampered_trace_names_the_step_and_shows_the_change(tmp_path):
    events = events_of(MOON)
    replayed = [e["observation"] for e in events if e["type"] == "step"]
    n = next(i for i, o in enumerate(replayed) if "Galilean moons are" in o)
    replayed[n] = replayed[n].replace("Galilean moons are", "Galilean moons were")
    verdict = replay(MOON, run=lambda trace: replayed)
    assert verdict.first_difference == n + 1 and verdict.same == 6 and verdict.total == 7
    assert f"replayed step {n + 1}" in verdict.diff
    assert "Galilean moons were" in verdict.diff or "Galilean moons are" in verdict.diff


def test_replay_with_a_lost_step_line_compares_up_to_the_gap(tmp_path):
    lines = MOON.read_text(encoding="utf-8").splitlines()
    index = next(i for i, x in enumerate(lines) if '"n": 4,' in x)
    lines[index] = lines[index][:50]
    path = tmp_path / "t.jsonl"
    path.write_text("\n".join(lines))
    observations = [e["observation"] for e in events_of(MOON) if e["type"] == "step"]
    verdict = replay(path, run=lambda trace: observations)
    assert verdict.ok and verdict.total == 3


def test_replay_of_a_non_trace_is_a_config_error(tmp_path):
    path = tmp_path / "README.md"
    path.write_text("# hello\n")
    with pytest.raises(ConfigError, match="is not a webqa trace"):
        replay(path, run=lambda trace: [])


# -------------------------------------------------------------------------------- export


def test_export_refuses_a_file_that_is_not_a_trace_and_writes_nothing(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text("# webqa\n")
    out = tmp_path / "train.jsonl"
    with pytest.raises(ConfigError, match="README.md is not a webqa trace"):
        export_examples([MOON, readme], out)
    assert not out.exists()


def test_export_keeps_the_good_steps_of_a_damaged_trace_and_reports_the_rest(tmp_path):
    lines = MOON.read_text(encoding="utf-8").splitlines()
    lines[2] = lines[2][:30]  # step 1, cut
    path = tmp_path / "t.jsonl"
    path.write_text("\n".join(lines))
    out = tmp_path / "train.jsonl"
    report = export_examples([path], out)
    rows = [json.loads(x) for x in out.read_text().splitlines()]
    assert report.examples == len(rows) == 7  # 6 valid steps + the answer
    assert (report.step_examples, report.answer_examples) == (6, 1)
    assert [(p, n) for p, n, _ in report.bad_lines] == [(str(path), 3)]
    assert "skipped 1 damaged line (" in report.message and "line 3: not JSON" in report.message
    assert rows[-1]["messages"][2]["content"].startswith("Ganymede")
    assert "[1] The Galilean Moons" in rows[-1]["messages"][1]["content"]


def test_export_of_valid_traces_without_examples_says_why(tmp_path):
    events = events_of(MOON)
    kept = [e for e in events if e["type"] == "run"]
    kept += [{**e, "error": "bad"} for e in events if e["type"] == "step"]
    path = write(tmp_path / "t.jsonl", kept)
    report = export_examples([path], tmp_path / "train.jsonl")
    assert report.examples == 0 and report.steps_left_out == 7
    assert report.message.startswith("wrote 0 examples (0 steps, 0 answers) from 1 trace to ")
    assert "no step had a valid command and no run had an answer" in report.message


# ---------------------------------------------------------------------------------- fuzz


def _mutate(rng: random.Random, data: bytes) -> bytes:
    """Damage a trace the ways files get damaged, and the ways a buggy writer would."""
    kind = rng.choice(["flip", "truncate", "drop", "delete", "retype", "retype", "nested"])
    if kind == "flip":
        data = bytearray(data)
        for _ in range(rng.randint(1, 8)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        return bytes(data)
    if kind == "truncate":
        return data[: rng.randrange(len(data))]
    lines = data.split(b"\n")
    i = rng.randrange(len(lines))
    if kind == "drop":
        del lines[i]
        return b"\n".join(lines)
    try:
        event = json.loads(lines[i])
    except ValueError:
        return data
    odd = [None, 0, -1, 2**40, 1.5, True, "", "x", [], [1, "a"], {}, {"n": 1}]
    if kind == "delete" and isinstance(event, dict) and event:
        del event[rng.choice(list(event))]
    elif kind == "retype" and isinstance(event, dict) and event:
        event[rng.choice(list(event))] = rng.choice(odd)
    elif kind == "nested" and isinstance(event, dict):
        # Reach into citations, quotes, links, lines, usage and config.
        holders = [v for v in event.values() if isinstance(v, (dict, list)) and v]
        if holders:
            holder = rng.choice(holders)
            if isinstance(holder, list):
                j = rng.randrange(len(holder))
                item = holder[j]
                if isinstance(item, dict) and item and rng.random() < 0.6:
                    key = rng.choice(list(item))
                    if rng.random() < 0.5:
                        del item[key]
                    else:
                        item[key] = rng.choice(odd)
                else:
                    holder[j] = rng.choice(odd)
            else:
                key = rng.choice(list(holder))
                holder[rng.choice([key, "9" * rng.randint(1, 12)])] = rng.choice(odd)
    lines[i] = json.dumps(event, ensure_ascii=False).encode("utf-8")
    return b"\n".join(lines)


def test_fuzzed_traces_raise_nothing_but_config_errors(tmp_path):
    rng = random.Random(20261201)
    originals = [p.read_bytes() for p in DEMOS]
    path, out = tmp_path / "t.jsonl", tmp_path / "out.jsonl"
    outcomes = {"read": 0, "refused": 0, "bad lines": 0, "cut off": 0}
    start = time.monotonic()
    for number in range(1000):
        data = rng.choice(originals)
        for _ in range(rng.randint(1, 3)):
            data = _mutate(rng, data) or b" "
        # Every tenth goes through a file, as the CLI reads it; the rest stay in memory.
        through_file = number % 10 == 0
        if through_file:
            path.write_bytes(data)
        try:
            trace = load_trace(path) if through_file else parse_trace(data, "mutant")
        except ConfigError:
            outcomes["refused"] += 1
            if through_file:
                with pytest.raises(ConfigError):
                    export_examples([path], out)
            continue
        outcomes["read"] += 1
        outcomes["bad lines"] += bool(trace.bad_lines)
        outcomes["cut off"] += trace.cut_off
        assert isinstance(trace_text(trace), str)
        page = trace_html(trace)
        assert page.endswith("</html>")
        if outcomes["read"] % 10 == 0:
            check_self_contained(Tree(page))
        run_quotes(trace)
        if through_file:
            export_examples([path], out)
        else:
            export_examples([trace], os.devnull)
        replay(trace, run=lambda t: [s["observation"] for s in t.steps])
    elapsed = time.monotonic() - start
    assert elapsed < 20, elapsed
    # The mutants reach every path: refused files, damaged lines and cut-off runs.
    assert outcomes["refused"] > 20 and outcomes["bad lines"] > 200 and outcomes["cut off"] > 50


# ---------------------------------------------------------------- export formats and filters

SOLAR = Path(__file__).parent.parent / "demos" / "solar-system"


def _eval_dir(tmp_path: Path) -> Path:
    from webqa.batch import Item
    from webqa.evaluate import evaluate

    items = [
        Item("Who discovered the planet Neptune?", "n", ["Johann Galle"]),
        Item("Who discovered the planet Neptune?", "w", ["Isaac Newton"]),
        Item("What is the boiling point of unobtainium?", "x", ["12 K"]),
    ]
    evaluate(items, tmp_path / "run", corpus=SOLAR, policy="extractive", max_actions=15)
    return tmp_path / "run"


def _check_sft_line(row: dict) -> None:
    assert set(row) == {"messages"}
    assert [m["role"] for m in row["messages"]] == ["system", "user", "assistant"]
    assert all(isinstance(m["content"], str) and m["content"] for m in row["messages"])


def test_export_sft_filters_by_status_and_correctness(tmp_path):
    run = _eval_dir(tmp_path)
    traces = sorted((run / "traces").glob("*.jsonl"))
    everything = export_examples(traces, tmp_path / "all.jsonl")
    correct = export_examples(traces, tmp_path / "c.jsonl", correct=True)
    assert correct.traces_left_out == 2 and "2 traces left out by the filters" in correct.message
    statuses = {load_trace(t).end["status"] for t in traces}
    other = export_examples(traces, tmp_path / "s.jsonl", status=["no-such-status"])
    assert other.examples == 0 and other.traces_left_out == 3
    answered = export_examples(traces, tmp_path / "a.jsonl", status=["answered"])
    assert "answered" in statuses and answered.traces_left_out == sum(
        load_trace(t).end["status"] != "answered" for t in traces
    )
    for name, report in (("all", everything), ("c", correct), ("a", answered)):
        lines = (tmp_path / f"{name}.jsonl").read_text().splitlines()
        assert len(lines) == report.examples > 0
        for line in lines:
            _check_sft_line(json.loads(line))
    assert correct.examples < everything.examples
    with pytest.raises(ConfigError, match="no such file"):
        export_examples(traces, tmp_path / "x.jsonl", correct=True, results=tmp_path / "nope")


def _comparisons(tmp_path: Path) -> Path:
    from webqa.compare import comparison, side_from_trace

    run = _eval_dir(tmp_path)
    a = side_from_trace(run / "traces" / "n.jsonl")
    b = side_from_trace(run / "traces" / "w.jsonl")
    rows = [
        comparison(a, b, 0.5),
        comparison(b, a, -1.0),
        comparison(a, b, 0.0),
        comparison(a, b, None, judge="model m", error="nonsense twice"),
    ]
    path = tmp_path / "comparisons.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows) + "{broken\n")
    return path


def test_export_dpo_writes_prompt_chosen_rejected_from_comparisons(tmp_path):
    path = _comparisons(tmp_path)
    out = tmp_path / "dpo.jsonl"
    report = export_examples([path], out, format="dpo")
    assert (report.pairs, report.ties, len(report.problems)) == (2, 1, 2)
    assert "wrote 2 preference pairs" in report.message and "1 tie left out" in report.message
    lines = out.read_text().splitlines()
    assert len(lines) == 2
    records = [json.loads(x) for x in path.read_text().splitlines()[:2]]
    for line, record in zip(lines, records, strict=True):
        row = json.loads(line)
        assert set(row) == {"prompt", "chosen", "rejected"}
        assert row["prompt"] == [{"role": "user", "content": record["question"]["full_text"]}]
        for key in ("chosen", "rejected"):
            assert [m["role"] for m in row[key]] == ["assistant"]
        better = "0" if record["score_0"] > record["score_1"] else "1"
        assert row["chosen"][0]["content"].startswith(record[f"answer_{better}"])
        assert "References:\n[1] " in row["chosen"][0]["content"]


def test_export_comparisons_keeps_only_valid_records(tmp_path):
    from webqa.compare import comparison_problem

    path = _comparisons(tmp_path)
    out = tmp_path / "cmp.jsonl"
    report = export_examples([path], out, format="comparisons")
    lines = out.read_text().splitlines()
    assert report.pairs == len(lines) == 3
    assert all(comparison_problem(json.loads(x)) == "" for x in lines)
    assert any("failed comparison" in p for p in report.problems)
    with pytest.raises(ConfigError, match="unknown export format"):
        export_examples([path], out, format="csv")


def test_cli_export_format_flag(tmp_path, capsys):
    from webqa.cli import main

    path = _comparisons(tmp_path)
    assert main(["export", str(path), "--format", "dpo", "-o", str(tmp_path / "d.jsonl")]) == 0
    assert "wrote 2 preference pairs" in capsys.readouterr().err
