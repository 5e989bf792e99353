"""The trace writer never fails on content; the reader checks its input and reports bad lines."""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from webqa.errors import ConfigError
from webqa.trace import FORMAT, TraceWriter, check_events, load_trace, read_trace

DEMOS = sorted((Path(__file__).parent.parent / "demos" / "traces").glob("*.jsonl"))


def lines_of(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines()]


# ---------------------------------------------------------------------------------- writer


@dataclass
class Box:
    text: str


class Unprintable:
    def __str__(self) -> str:
        raise RuntimeError("no")


def test_lone_surrogates_anywhere_are_written_as_replacement_characters(tmp_path):
    path = tmp_path / "t.jsonl"
    with TraceWriter(path) as w:
        w.write("run", format=FORMAT, question="what is \ud800?")
        w.write(
            "step",
            n=1,
            observation="obs \udfff",
            action="Search \ud83d\ude00",
            nested={"k\ud800": ["x\udc00", Box("y\ud801")]},
        )
    events = read_trace(path)
    assert [e["type"] for e in events] == ["run", "step"]
    assert events[0]["question"] == "what is \ufffd?"
    step = events[1]
    assert step["observation"] == "obs \ufffd"
    assert step["action"] == "Search 😀"  # a surrogate pair is joined, not replaced
    assert step["nested"] == {"k\ufffd": ["x\ufffd", {"text": "y\ufffd"}]}
    path.read_bytes().decode("utf-8")  # the file is valid UTF-8


def test_values_json_cannot_hold_are_written_by_a_fallback(tmp_path):
    path = tmp_path / "t.jsonl"
    loop: list = []
    loop.append(loop)
    with TraceWriter(path) as w:
        w.write("run", format=FORMAT, question="q")
        w.write(
            "step",
            n=1,
            observation="o",
            weird=object(),
            nan=math.nan,
            loop=loop,
            bad=Unprintable(),
            keys={(1, 2): "tuple key"},
            tags={"a"},
        )
    step = read_trace(path)[1]
    assert step["weird"].startswith("<object object")
    assert step["nan"] == "nan"
    assert step["loop"] == ["<list not written: nested too deep or circular>"]
    assert step["bad"] == "<Unprintable object>"
    assert step["keys"] == {"(1, 2)": "tuple key"}
    assert step["tags"] == ["a"]


def test_the_writer_keeps_its_own_type_time_and_run_id(tmp_path):
    path = tmp_path / "t.jsonl"
    with TraceWriter(path, run_id="r1") as w:
        w.write("run", format=FORMAT, question="q", run="forged", t=-1)
    event = read_trace(path)[0]
    assert event["run"] == "r1" and event["t"] >= 0 and event["type"] == "run"


def test_write_after_close_is_a_webqa_error_and_close_is_idempotent(tmp_path):
    w = TraceWriter(tmp_path / "t.jsonl")
    w.write("run", format=FORMAT, question="q")
    w.close()
    w.close()
    with pytest.raises(ConfigError, match="is closed; cannot write a 'step' event"):
        w.write("step", n=1, observation="o")
    with TraceWriter(tmp_path / "u.jsonl") as w2:
        pass
    assert w2.closed


def test_an_unwritable_trace_path_is_a_config_error(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(ConfigError, match="cannot write the trace"):
        TraceWriter(tmp_path / "file" / "t.jsonl")


# ---------------------------------------------------------------------------------- reader


def test_demo_traces_load_complete():
    assert DEMOS
    for path in DEMOS:
        trace = load_trace(path)
        assert trace.complete and not trace.cut_off and not trace.bad_lines
        assert trace.format == FORMAT and trace.run["type"] == "run"
        assert trace.end is not None and trace.end["status"] == "answered"
        assert trace.last_step == len(trace.steps) > 0
        assert read_trace(path) == trace.events


@pytest.mark.parametrize(
    ("content", "why"),
    [
        (b"# webqa\n\nA browser-assisted QA agent.\n", "no run event at its start"),
        (b"", "empty file"),
        (b"\n\n  \n", "empty file"),
        (b'{"name": "package", "version": "1.0"}\n', "its first event is None, not 'run'"),
        (b'{"type": "page", "key": "k", "lines": []}\n', "its first event is 'page'"),
        (b'{"type": "run", "question": "q"}\n', "format None"),
        (b'{"type": "run", "format": "other/1"}\n', "format 'other/1'"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" * 50, "no run event at its start"),
        (b"[1, 2, 3]\n" * 100, "no run event at its start"),
    ],
)
def test_a_file_that_is_not_a_trace_is_a_config_error(tmp_path, content, why):
    path = tmp_path / "x.jsonl"
    path.write_bytes(content)
    with pytest.raises(ConfigError, match="is not a webqa trace") as info:
        load_trace(path)
    assert why in str(info.value) and str(path) in str(info.value)


def test_a_missing_file_and_a_directory_are_config_errors(tmp_path):
    with pytest.raises(ConfigError, match="cannot read trace"):
        load_trace(tmp_path / "missing.jsonl")
    with pytest.raises(ConfigError, match="cannot read trace"):
        load_trace(tmp_path)


def test_an_unknown_format_version_names_it_and_the_supported_one(tmp_path):
    path = tmp_path / "t.jsonl"
    path.write_text(json.dumps({"type": "run", "format": "webqa-trace/9", "question": "q"}))
    with pytest.raises(ConfigError) as info:
        load_trace(path)
    assert "'webqa-trace/9'" in str(info.value) and "webqa-trace/1" in str(info.value)


def test_damaged_lines_are_skipped_and_reported_and_the_rest_stands(tmp_path):
    events = lines_of(DEMOS[0])
    raw = [json.dumps(e, ensure_ascii=False).encode("utf-8") for e in events]
    steps = [i for i, e in enumerate(events) if e["type"] == "step"]
    damaged = {
        steps[0]: raw[steps[0]][:40] + b"\xff\xfe" + raw[steps[0]][40:],  # a bad byte
        steps[1]: b"[1, 2, 3]",  # not an object
        steps[2]: json.dumps(
            {k: v for k, v in events[steps[2]].items() if k != "observation"}
        ).encode(),  # a key missing
        steps[3]: b"{this is not json",
        steps[4]: json.dumps({**events[steps[4]], "n": "five"}).encode(),  # a wrong type
    }
    text = "naïve “quote” é".encode()
    cut = json.dumps(
        {"type": "step", "n": 99, "observation": "x", "action": "é"}, ensure_ascii=False
    ).encode()
    raw = [damaged.get(i, line) for i, line in enumerate(raw)] + [text[:-1], cut[:-3]]
    path = tmp_path / "t.jsonl"
    path.write_bytes(b"\n".join(raw))  # the last line is cut inside a multi-byte character
    trace = load_trace(path)
    reasons = dict(trace.bad_lines)
    assert sorted(reasons) == sorted([i + 1 for i in damaged] + [len(raw) - 1, len(raw)])
    assert reasons[steps[0] + 1].startswith("not UTF-8 (byte 0xff")
    assert reasons[steps[1] + 1] == "not an event (it is an array)"
    assert reasons[steps[2] + 1] == "step event without 'observation'"
    assert reasons[steps[3] + 1].startswith("not JSON")
    assert reasons[steps[4] + 1] == "step event: 'n' is a string"
    assert reasons[len(raw)].startswith("not UTF-8")
    assert len(trace.steps) == len(steps) - 5
    assert trace.end is not None and trace.answer is not None  # the rest stands
    assert not trace.complete and not trace.cut_off


def test_a_trace_without_end_is_cut_off(tmp_path):
    events = lines_of(DEMOS[0])
    path = tmp_path / "t.jsonl"
    kept = [e for e in events if e["type"] != "end"][:9]
    path.write_text("".join(json.dumps(e) + "\n" for e in kept))
    trace = load_trace(path)
    assert trace.cut_off and not trace.complete and trace.end is None
    assert trace.last_step == max(e["n"] for e in kept if e["type"] == "step")


def test_optional_keys_are_filled_in_so_readers_can_index(tmp_path):
    trace = check_events(
        [
            {"type": "run", "format": FORMAT},
            {"type": "step", "n": 1, "observation": "o"},
            {"type": "answer"},
            {"type": "end", "status": "answered"},
            {"type": "something-new", "x": 1},
        ]
    )
    step = trace.steps[0]
    assert (step["command"], step["error"], step["action"], step["usage"]) == (None, None, "", {})
    assert trace.answer == {
        "type": "answer",
        "text": "",
        "citations": [],
        "quotes": [],
    }
    assert trace.run["config"] == {} and trace.question == ""
    assert [e["type"] for e in trace.events][-1] == "something-new"


def test_hostile_lines_are_bounded(tmp_path):
    head = json.dumps({"type": "run", "format": FORMAT, "question": "q"})
    deep = "[" * 200_000 + "]" * 200_000
    digits = '{"type": "step", "n": ' + "9" * 50_000 + ', "observation": "o"}'
    links = json.dumps(
        {"type": "page", "key": "k", "lines": [], "links": {"9" * 5000: {"url": "u", "text": "t"}}}
    )
    path = tmp_path / "t.jsonl"
    path.write_text("\n".join([head, deep, digits, links]))
    start = time.monotonic()
    trace = load_trace(path)
    assert time.monotonic() - start < 2
    assert [n for n, _ in trace.bad_lines] == [2, 3, 4]
    assert trace.bad_lines[0][1] == "not JSON (nested too deep)"
