"""The tools protocol: schemas from the command table, tool calls read into commands, whole runs
against the scripted tool-calling chat server, replay and export of their traces."""

import json
import time
from pathlib import Path

import pytest
from chatserver import ChatServer

from webqa import prompts
from webqa.commands import SPECS, Command, parse
from webqa.errors import ConfigError, FormatError
from webqa.llm import Completion, ToolCall
from webqa.policies.tools import read_reply
from webqa.session import Session
from webqa.toolspec import (
    FAILED_CALL_PREFIX,
    TOOLS,
    command_for_action,
    parse_tool_call,
    tool_call_examples,
    tool_call_for,
    tool_schemas,
)
from webqa.trace import load_trace
from webqa.tracetools import replay

DEMO = Path(__file__).resolve().parent.parent / "demos" / "solar-system"
Q = "Who discovered Neptune?"
EVIDENCE = (
    "Neptune was discovered on 23 September 1846 by Johann Galle at the Berlin "
    "Observatory, using predictions by Urbain Le Verrier."
)


def call(name, args):
    return ("tool_calls", [(name, args if isinstance(args, str) else json.dumps(args))])


GOOD = [
    call("search", {"query": "Neptune discovered"}),
    call("click", {"link": 0}),
    call("find", {"text": "discovered"}),
    call("quote", {"text": EVIDENCE}),
    call("answer", {}),
    "Johann Galle discovered Neptune [1].",
]


def session(server, tmp_path, **kw):
    return Session(
        corpus=DEMO,
        base_url=server.url,
        model="m",
        protocol="tools",
        trace=tmp_path / "run.jsonl",
        timeout=10,
        **kw,
    )


def completion(*calls, text=""):
    return Completion(
        text,
        0,
        0,
        "tool_calls",
        tool_calls=[ToolCall(f"c{i}", n, a) for i, (n, a) in enumerate(calls)],
    )


# -- schemas ---------------------------------------------------------------------------------


def test_every_command_is_a_tool_and_every_tool_is_described():
    kinds = {k for tool in TOOLS for k in tool.kinds}
    assert kinds == {spec.kind for spec in SPECS}
    schemas = tool_schemas()
    names = [s["function"]["name"] for s in schemas]
    assert names == [
        "search",
        "click",
        "open",
        "find",
        "quote",
        "unquote",
        "scroll",
        "top",
        "back",
        "answer",
        "refuse",
    ]
    for s in schemas:
        assert s["type"] == "function" and s["function"]["description"]
        params = s["function"]["parameters"]
        assert params["type"] == "object" and params["additionalProperties"] is False
        for p in params["properties"].values():
            assert p["description"] and p["type"] in ("string", "integer")
    click = schemas[1]["function"]["parameters"]
    assert click["properties"]["link"]["type"] == "integer" and click["required"] == ["link"]
    refuse = schemas[-1]["function"]["parameters"]["properties"]["reason"]
    assert refuse["enum"] == ["nonsense", "controversial"]


def test_every_taught_example_round_trips_through_its_tool_call():
    for entry in prompts.commands():
        cmd = parse(entry["example"])
        name, args = tool_call_for(cmd)
        assert parse_tool_call(name, json.dumps(args)) == cmd
        assert parse_tool_call(name, args) == cmd  # MCP hands arguments already decoded


def test_forgiving_where_models_are_sloppy():
    assert parse_tool_call("click", '{"link": "3"}') == Command("click", "3")
    assert parse_tool_call("click", '{"link": 3.0}') == Command("click", "3")
    assert parse_tool_call("scroll", '{"direction": "UP"}') == Command("scroll_up", "1")
    assert parse_tool_call("answer", "") == Command("end", "answer")
    assert parse_tool_call("back", "null") == Command("back")
    assert parse_tool_call("refuse", '{"reason": "Nonsense"}') == Command("end", "nonsense")


@pytest.mark.parametrize(
    "name, args, words",
    [
        ("fly", "{}", "There is no tool 'fly'; the tools are search, click"),
        ("click", "{}", "click needs the argument 'link'"),
        ("click", '{"link": true}', "'link' of click must be a whole number (got true)"),
        ("click", '{"link": "third"}', 'must be a whole number (got "third")'),
        ("click", '{"link": -1}', "must be a whole number"),
        ("search", '{"query": ""}', "search needs the argument 'query'"),
        ("search", '{"query": ["a"]}', "'query' of search must be a string"),
        ("search", '{"q": "x"}', "search takes no argument 'q' (it takes query)"),
        ("search", "[1, 2]", "not a JSON object (got a JSON list)"),
        ("search", '{"query": "x"', "The arguments of search are not a JSON object"),
        ("scroll", '{"direction": "left"}', 'must be one of down, up (got "left")'),
        ("scroll", '{"direction": "down", "screens": 9}', "must be one of 1, 2, 3 (got 9)"),
        ("refuse", '{"reason": "answer"}', "must be one of nonsense, controversial"),
        ("top", '{"x": 1}', "top takes no argument 'x' (it takes no arguments)"),
    ],
)
def test_calls_that_fail_the_schema_say_what_is_wrong(name, args, words):
    with pytest.raises(FormatError) as err:
        parse_tool_call(name, args)
    assert words in str(err.value)


def test_huge_and_deep_arguments_fail_fast():
    started = time.monotonic()
    with pytest.raises(FormatError, match="1000013 characters long; the limit is 160000"):
        parse_tool_call("search", json.dumps({"query": "a" * 1_000_000}))
    with pytest.raises(FormatError, match="20000 characters"):
        parse_tool_call("quote", json.dumps({"text": "b" * 100_000}))
    with pytest.raises(FormatError, match="not a JSON object"):
        parse_tool_call("search", "[" * 100_000)
    assert time.monotonic() - started < 2


def test_replies_with_no_call_or_several_are_rejected_with_a_message():
    text, cmd = read_reply(completion(text="I would search for Neptune."))
    assert isinstance(cmd, FormatError) and "called no tool" in str(cmd)
    assert text.startswith(FAILED_CALL_PREFIX) and "search, click" in text.splitlines()[0]
    assert json.loads(text.splitlines()[1])["content"] == "I would search for Neptune."
    text, cmd = read_reply(completion(("search", '{"query": "a"}'), ("back", "{}")))
    assert isinstance(cmd, FormatError) and "called 2 tools at once" in str(cmd)
    assert [c["name"] for c in json.loads(text.splitlines()[1])["calls"]] == ["search", "back"]
    # The recorded action gives back the same error, and the text parser rejects it too.
    assert str(command_for_action(text)) == str(cmd)
    with pytest.raises(FormatError):
        parse(text)


def test_canonical_text_reads_back_to_the_same_command():
    text, cmd = read_reply(completion(("search", '{"query": "Neptune\\nClicked on link 3"}')))
    assert cmd == Command("search", "Neptune Clicked on link 3") and parse(text) == cmd
    quote = "Line one of a poem,\nline two of it."
    text, cmd = read_reply(completion(("quote", json.dumps({"text": quote}))))
    assert parse(text) == cmd == Command("quote", quote)
    text, cmd = read_reply(completion(("click", '{"link": 7}'), text="<think>hmm</think>"))
    assert text == "Clicked on link 7" and command_for_action(text) == cmd


# -- whole runs ------------------------------------------------------------------------------


def test_tools_run_answers_with_verbatim_citation_and_bounded_prompt(tmp_path):
    with ChatServer(GOOD) as server, session(server, tmp_path) as s:
        answer = s.ask(Q)
        requests = server.requests
    assert answer.status == "answered"
    assert answer.text == "Johann Galle discovered Neptune [1]."
    assert answer.citations[0].quote == EVIDENCE
    assert answer.citations[0].url.endswith("neptune.html")
    page = (DEMO / "neptune.html").read_text(encoding="utf-8")
    assert "Johann Galle at the Berlin Observatory" in page
    for req in requests[:5]:  # browsing: a fresh, short context with the tools every call
        assert [m["role"] for m in req["messages"]] == ["system", "user"]
        assert req["tool_choice"] == "required"
        assert [t["function"]["name"] for t in req["tools"]][:2] == ["search", "click"]
        assert req["messages"][1]["content"].startswith("♦Question\n" + Q)
    assert "tools" not in requests[5]  # the answer phase is plain text
    trace = load_trace(answer.trace_path)
    assert trace.run["config"]["protocol"] == "tools" and trace.complete
    assert [e["command"] for e in trace.steps] == [
        "Search Neptune discovered",
        "Clicked on link 0",
        "Find in page: discovered",
        f"Quote: {EVIDENCE}",
        "End: Answer",
    ]
    assert replay(trace).ok


def test_malformed_calls_are_invalid_actions_and_the_run_goes_on(tmp_path):
    script = [
        ("tool_calls", []),
        "Search Neptune",
        call("fly", {}),
        ("tool_calls", [("search", "{}"), ("back", "{}")]),
        call("click", '{"link": 99}'),
        call("search", {"query": "Neptune discovered"}),
        call("click", {"link": "x"}),
        call("click", {"link": 0}),
        call("quote", {"text": "Neptune is made of cheese."}),
        call("quote", {"text": EVIDENCE}),
        call("answer", {}),
        "Galle [1].",
    ]
    with ChatServer(script) as server, session(server, tmp_path) as s:
        answer = s.ask(Q)
    assert answer.status == "answered" and answer.citations[0].quote == EVIDENCE
    assert answer.usage.invalid_actions == 7
    trace = load_trace(answer.trace_path)
    steps = trace.steps
    actions = [e["action"].splitlines()[0] for e in steps]
    assert (
        actions[0] == f"{FAILED_CALL_PREFIX}The reply called no tool; call exactly one "
        "tool per turn (search, click, open, find, quote, unquote, scroll, top, back, answer, "
        "refuse)."
    )
    assert "called no tool" in actions[1]  # text instead of a call is not a call
    assert "There is no tool 'fly'" in actions[2]
    assert "called 2 tools at once" in actions[3]
    assert steps[4]["error"].startswith("No page is open yet")
    assert "must be a whole number" in actions[6]
    assert "That text is not on this page" in steps[8]["error"]
    assert all(e["error"] for e in steps[:5])
    # the model is told what it sent, in the next observation
    assert "There is no tool 'fly'" in steps[3]["observation"]
    # ... in the call's own words, not as text that could not be read
    assert steps[2]["error"].startswith("There is no tool 'fly'")
    assert "Could not read a command" not in steps[3]["observation"]
    assert replay(trace).ok
    rows = tool_call_examples(trace)
    assert [r["messages"][2]["tool_calls"][0]["function"]["name"] for r in rows] == [
        "search",
        "click",
        "quote",
        "answer",
    ]


def test_export_rows_are_openai_tool_call_chat_format(tmp_path):
    with ChatServer(GOOD) as server, session(server, tmp_path) as s:
        answer = s.ask(Q)
    rows = tool_call_examples(load_trace(answer.trace_path))
    assert len(rows) == 5
    first = rows[0]
    assert [m["role"] for m in first["messages"]] == ["system", "user", "assistant", "tool"]
    assert first["messages"][0]["content"].startswith("You are a research assistant")
    assert first["messages"][1]["content"].startswith("♦Question")
    tc = first["messages"][2]["tool_calls"][0]
    assert tc["type"] == "function" and tc["function"]["name"] == "search"
    assert json.loads(tc["function"]["arguments"]) == {"query": "Neptune discovered"}
    assert first["messages"][3]["tool_call_id"] == tc["id"]
    assert first["messages"][3]["content"].startswith("Search showed")
    assert first["tools"] == tool_schemas()
    quote = rows[3]["messages"][2]["tool_calls"][0]["function"]
    assert json.loads(quote["arguments"]) == {"text": EVIDENCE}
    json.dumps(rows)  # every row is JSON


def test_a_server_refusing_tool_choice_required_is_asked_with_auto(tmp_path):
    script = [("status", 400, {}, "tool_choice 'required' is not supported"), *GOOD]
    with ChatServer(script) as server, session(server, tmp_path) as s:
        answer = s.ask(Q)
        choices = [r.get("tool_choice") for r in server.requests]
    assert answer.status == "answered"
    assert choices[:3] == ["required", "auto", "auto"]


def test_tools_protocol_needs_an_llm(tmp_path, monkeypatch):
    monkeypatch.delenv("WEBQA_MODEL", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    with pytest.raises(ConfigError, match="no LLM configured"):
        Session(corpus=DEMO, protocol="tools")
    with pytest.raises(ConfigError, match="extractive policy uses no LLM"):
        Session(corpus=DEMO, protocol="tools", policy="extractive")
    with pytest.raises(ConfigError, match="unknown protocol"):
        Session(corpus=DEMO, protocol="json")


def test_cli_offers_the_protocol_flag():
    from webqa.cli import build_parser

    args = build_parser("ask").parse_args(["ask", "--protocol", "tools", "q"])
    assert args.protocol == "tools"
    assert build_parser("ask").parse_args(["ask", "q"]).protocol == "text"


def test_cli_ask_with_the_tools_protocol_answers_and_sends_tools(tmp_path, capsys):
    from webqa.cli import main

    trace = tmp_path / "t.jsonl"
    with ChatServer(GOOD) as server:
        code = main(
            [
                "ask",
                "--protocol",
                "tools",
                "--corpus",
                str(DEMO),
                "--base-url",
                server.url,
                "--model",
                "m",
                "--trace",
                str(trace),
                "-q",
                Q,
            ]
        )
        first = server.requests[0]
    assert code == 0 and "tools" in first
    assert load_trace(trace).run["config"]["protocol"] == "tools"
