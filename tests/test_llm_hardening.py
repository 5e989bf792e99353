"""The LLM client under hostile or broken servers: bounded time, visible retries, no foreign
exceptions, and tool calls read as sent. All against the loopback chat server."""

from __future__ import annotations

import json
import logging
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import openai
import pytest
from chatserver import ChatServer

from webqa.errors import ConfigError, ModelError
from webqa.llm import ChatClient, Completion, ToolCall
from webqa.retry import Deadline, RetryPolicy, Transient

MESSAGES = [{"role": "user", "content": "♦Question\nWhat is a cat?\n♦Next action"}]

SEARCH_TOOL = {
    "type": "function",
    "function": {
        "name": "search",
        "description": "Search the web.",
        "parameters": {
            "type": "object",
            "properties": {"query": {"type": "string"}},
            "required": ["query"],
        },
    },
}


class Waits(list):
    """An injected sleep that records the waits and does not sleep."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


class FakeTime:
    """A clock and a sleep that moves it, so deadlines can be tested without waiting."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.waits: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.now += seconds


def client(server: ChatServer, **kw) -> ChatClient:
    kw.setdefault("sleep", Waits())
    return ChatClient("test-model", base_url=server.url, **kw)


def free_port() -> int:
    """A loopback port nothing listens on."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return port


def completion(message: object, **extra: object) -> dict:
    """A chat completion body around ``message`` (any value, for malformed replies)."""
    body = {
        "id": "x",
        "object": "chat.completion",
        "created": 0,
        "model": "m",
        "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
    }
    body.update(extra)
    return body


# -- Retry-After and the cap -----------------------------------------------------------------


@pytest.mark.timeout(10)
@pytest.mark.parametrize(
    ("headers", "asked"), [({"Retry-After": "3600"}, "3600"), ({"retry-after-ms": "120000"}, "120")]
)
def test_retry_after_longer_than_the_cap_fails_at_once(headers, asked):
    with ChatServer([("status", 429, headers), "never"]) as server:
        started = time.monotonic()
        with pytest.raises(ModelError) as err:
            # the real sleep: a wait would show in the elapsed time
            ChatClient("test-model", base_url=server.url).complete(MESSAGES)
        elapsed = time.monotonic() - started
    assert elapsed < 2 and len(server.requests) == 1
    assert str(err.value) == (
        f"the LLM at {server.url} answered HTTP 429 (chatserver: scripted HTTP 429) and asked "
        f"to wait {asked} s, longer than the 60 s this client waits (1 try); giving up"
    )
    assert (err.value.status, err.value.tries, err.value.retryable) == (429, 1, True)


def test_retry_after_past_the_deadline_fails_at_once():
    waits = Waits()
    with ChatServer([("status", 503, {"Retry-After": "30"}), "never"]) as server:
        with pytest.raises(ModelError) as err:
            client(server, sleep=waits, timeout=10).complete(MESSAGES)
    assert waits == [] and len(server.requests) == 1
    assert "asked to wait 30 s, past the 10 s allowed for one call (1 try)" in str(err.value)


def test_retry_after_within_the_cap_is_honoured():
    waits = Waits()
    with ChatServer([("status", 429, {"Retry-After": "59"}), "ok"]) as server:
        assert client(server, sleep=waits, timeout=100).complete(MESSAGES).text == "ok"
    assert waits == [59.0]


# -- every retry is visible ------------------------------------------------------------------


def test_each_retry_is_logged_and_passed_to_on_retry(caplog):
    notices: list[str] = []
    script = [("status", 500), ("status", 503, {"Retry-After": "2"}), ("reset",), "ok"]
    with ChatServer(script) as server:
        c = client(server, on_retry=notices.append)
        with caplog.at_level(logging.WARNING, logger="webqa.llm"):
            assert c.complete(MESSAGES).text == "ok"
    url = re.escape(server.url)
    assert len(notices) == 3
    assert re.fullmatch(
        rf"HTTP 500 from the LLM at {url}, retrying in [\d.]+ s \(try 2 of 6\)", notices[0]
    )
    assert notices[1] == f"HTTP 503 from the LLM at {server.url}, retrying in 2 s (try 3 of 6)"
    assert notices[2].startswith(f"lost the connection to the LLM at {server.url}, retrying in ")
    assert notices[2].endswith("(try 4 of 6)")
    records = [r for r in caplog.records if r.name == "webqa.llm"]
    assert [r.getMessage() for r in records] == notices
    assert all(r.levelno == logging.WARNING for r in records)


def test_refused_first_connection_is_reported_once_before_giving_up():
    notices: list[str] = []
    port = free_port()
    c = ChatClient(
        "m", base_url=f"http://127.0.0.1:{port}/v1", sleep=Waits(), on_retry=notices.append
    )
    with pytest.raises(ModelError) as err:
        c.complete(MESSAGES)
    assert notices == [
        f"connection refused by the LLM at http://127.0.0.1:{port}/v1, retrying in "
        + notices[0].split("retrying in ")[1]
    ]
    assert notices[0].endswith("(try 2 of 2)")
    assert (err.value.status, err.value.tries, err.value.retryable) == (None, 2, True)


def test_the_library_prints_nothing(capsys):
    with ChatServer(default=("status", 500)) as server:
        with pytest.raises(ModelError):
            client(server, max_retries=2).complete(MESSAGES)
    with ChatServer([("body", "{trunc")]) as server:
        with pytest.raises(ModelError):
            client(server).complete(MESSAGES)
    assert capsys.readouterr() == ("", "")


@pytest.mark.timeout(30)
def test_nothing_reaches_stderr_in_a_program_without_logging_setup():
    # pytest captures logging, so the plain-program case runs in a child process.
    code = (
        "import sys; sys.path.insert(0, 'tests')\n"
        "from chatserver import ChatServer\n"
        "from webqa.llm import ChatClient\n"
        "with ChatServer([('status', 500), ('drip', 0.05)]) as s:\n"
        "    c = ChatClient('m', base_url=s.url, timeout=1.5, max_wait=0.01)\n"
        "    try:\n"
        "        c.complete([{'role': 'user', 'content': 'q'}])\n"
        "    except Exception as exc:\n"
        "        print(type(exc).__name__)\n"
    )
    root = Path(__file__).resolve().parent.parent
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=root, capture_output=True, text=True, timeout=25
    )
    assert (done.stdout, done.stderr) == ("ModelError\n", "")


# -- one deadline per call -------------------------------------------------------------------


@pytest.mark.timeout(10)
def test_hanging_server_fails_within_the_timeout():
    # Before: each try had the whole timeout, then backoff: 6 tries and ~31 s of waits.
    with ChatServer(default=("hang", 30)) as server:
        started = time.monotonic()
        with pytest.raises(ModelError) as err:
            ChatClient("test-model", base_url=server.url, timeout=1).complete(MESSAGES)
        elapsed = time.monotonic() - started
    assert elapsed < 1 + 1
    assert str(err.value) == f"the LLM at {server.url} did not answer within 1 s (1 try); giving up"
    assert (err.value.status, err.value.tries, err.value.retryable) == (None, 1, True)


@pytest.mark.timeout(10)
def test_deadline_covers_retries_then_a_hang():
    script = [("reset",), ("status", 502), ("hang", 30)]
    with ChatServer(script) as server:
        started = time.monotonic()
        with pytest.raises(ModelError) as err:
            ChatClient("test-model", base_url=server.url, timeout=1.5, max_wait=0.05).complete(
                MESSAGES
            )
        elapsed = time.monotonic() - started
    assert elapsed < 1.5 + 1
    assert str(err.value) == (
        f"the LLM at {server.url} did not answer within 1.5 s (3 tries); giving up"
    )


def test_deadline_counts_the_waits():
    fake = FakeTime()
    with ChatServer(default=("status", 500)) as server:
        with pytest.raises(ModelError) as err:
            client(server, timeout=10, max_retries=20, sleep=fake.sleep, clock=fake.clock).complete(
                MESSAGES
            )
    # waits of 1+j, 2+j, 4+j s...: the one that would pass 10 s is not taken
    assert sum(fake.waits) < 10 and 2 <= len(fake.waits) <= 3
    tries = len(fake.waits) + 1
    assert len(server.requests) == tries
    assert str(err.value) == (
        f"the LLM at {server.url} gave no usable answer within 10 s ({tries} tries; the last: "
        "HTTP 500 (chatserver: scripted HTTP 500)); giving up"
    )
    assert (err.value.status, err.value.tries, err.value.retryable) == (500, tries, True)


def test_retry_policy_alone_reports_and_explains():
    fake = FakeTime()
    seen, calls = [], []

    def attempt() -> str:
        calls.append(1)
        if len(calls) < 3:
            raise Transient(ModelError("busy"), reason="busy at")
        return "done"

    policy = RetryPolicy(attempts=5, backoff=1.0, max_wait=8.0, sleep=fake.sleep)
    assert policy.call(attempt, on_retry=seen.append) == "done"
    assert [(e.tries, e.max_tries, e.wait, e.gave_up) for e in seen] == [
        (1, 5, 1.0, None),
        (2, 5, 2.0, None),
    ]

    def slow() -> str:
        raise Transient(ModelError("limited"), retry_after=9.0)

    with pytest.raises(ModelError, match="gave up: retry_after after 1"):
        policy.call(slow, give_up=lambda e: ModelError(f"gave up: {e.gave_up} after {e.tries}"))
    deadline = Deadline(2.5, clock=fake.clock)
    calls.clear()
    with pytest.raises(ModelError, match="deadline after 2"):
        policy.call(
            lambda: attempt() and slow(),
            deadline=deadline,
            give_up=lambda e: ModelError(f"{e.gave_up} after {e.tries}"),
        )


# -- ModelError's attributes -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("step", "status", "retryable"),
    [(("status", 401), 401, False), (("status", 400), 400, False), (("status", 404), 404, False)],
)
def test_client_errors_carry_status_and_are_not_retryable(step, status, retryable):
    with ChatServer([step]) as server:
        with pytest.raises(ModelError) as err:
            client(server).complete(MESSAGES)
    assert (err.value.status, err.value.tries, err.value.retryable) == (status, 1, retryable)


# -- malformed replies -----------------------------------------------------------------------

MALFORMED = {
    "truncated JSON": (("body", '{"choices": [{"message": {"content": "hi'), "malformed JSON"),
    "content a number": (("raw", completion({"role": "assistant", "content": 42})), "not text"),
    "usage not integers": (
        (
            "raw",
            completion({"content": "hi"}, usage={"prompt_tokens": "many", "completion_tokens": 1}),
        ),
        "token counts that are not whole numbers",
    ),
    "usage fractional": (
        (
            "raw",
            completion({"content": "hi"}, usage={"prompt_tokens": 1.5, "completion_tokens": 1}),
        ),
        "token counts that are not whole numbers",
    ),
    "usage a list": (("raw", completion({"content": "hi"}, usage=[1, 2])), "'usage'"),
    "message a string": (("raw", completion("Search cats")), "'message' that is not an object"),
    "choices not a list": (
        ("raw", {"choices": {"0": {"message": {"content": "hi"}}}}),
        "'choices' that is not a list",
    ),
    "choice not an object": (("raw", {"choices": ["hi"]}), "a choice that is not an object"),
    "html page": (
        (
            "body",
            "<!doctype html><html><body>Welcome</body></html>",
            200,
            {"Content-Type": "text/html"},
        ),
        "answered with a web page, not a chat completion",
    ),
    "empty body": (("body", b""), "malformed JSON"),
    "deeply nested": (("body", "[" * 200_000), "nested too deeply"),
    "not an object": (("raw", [1, 2]), "no choices"),
    "content parts not text": (("raw", completion({"content": [1, 2]})), "not text"),
}


@pytest.mark.timeout(10)
@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_malformed_reply_is_a_model_error(case):
    step, words = MALFORMED[case]
    with ChatServer([step, "never"]) as server:
        with pytest.raises(ModelError) as err:  # a foreign exception fails this test
            client(server).complete(MESSAGES)
    message = str(err.value)
    assert message.startswith(f"the LLM at {server.url} ") and words in message
    assert len(message) < 600  # a bad reply is quoted, not pasted whole
    assert (err.value.status, err.value.tries, err.value.retryable) == (200, 1, False)
    assert len(server.requests) == 1  # a malformed reply is not retried


def test_content_parts_are_joined():
    parts = [{"type": "text", "text": "Search "}, {"type": "image_url", "image_url": {}}, "cats"]
    with ChatServer([("raw", completion({"role": "assistant", "content": parts}))]) as server:
        out = client(server).complete(MESSAGES)
    assert out.text == "Search cats"
    assert (out.prompt_tokens, out.usage_reported) == (0, False)


def test_lone_surrogate_in_the_reply_is_replaced():
    body = '{"choices": [{"message": {"content": "Quote: a\\ud800b"}, "finish_reason": "stop"}]}'
    with ChatServer([("body", body)]) as server:
        out = client(server).complete(MESSAGES)
    assert out.text == "Quote: a\ufffdb"
    out.text.encode("utf-8")  # what the trace writer will do


def test_lone_surrogate_in_the_prompt_is_replaced():
    messages = [{"role": "user", "content": "a page said \ud800 here"}]
    with ChatServer(["ok"]) as server:
        assert client(server).complete(messages).text == "ok"
    assert server.requests[0]["messages"][0]["content"] == "a page said \ufffd here"


def test_closed_client_fails_plainly_and_close_is_idempotent():
    with ChatServer(["ok", "ok"]) as server, httpx.Client() as http:
        with client(server, http_client=http) as c:
            assert c.complete(MESSAGES).text == "ok"
        c.close()
        with pytest.raises(ModelError, match="is closed") as err:
            c.complete(MESSAGES)
        assert (err.value.tries, err.value.retryable) == (0, False)
        # the caller's HTTP client is the caller's to close
        assert not http.is_closed
        assert http.get(server.url + "/models").status_code == 200


def test_own_http_client_is_closed():
    with ChatServer([]) as server:
        c = client(server)
        c.close()
        assert c._client.is_closed()


# -- the model and the endpoint, said once ---------------------------------------------------


def test_describe_names_the_model_and_how_it_was_chosen(monkeypatch):
    monkeypatch.delenv("WEBQA_MODEL", raising=False)
    with ChatServer(models=["a", "b", "c"]) as server:
        assert client(server).describe() == f"model test-model at {server.url}"
        picked = ChatClient(None, base_url=server.url)
        assert picked.model == "a"
        assert picked.describe() == (
            f"model a at {server.url} (picked the first of 3 listed models: a, b, c)"
        )
        monkeypatch.setenv("WEBQA_MODEL", "env-model")
        assert ChatClient(None, base_url=server.url).describe() == (
            f"model env-model at {server.url} (from WEBQA_MODEL)"
        )
        from_env = ChatClient.from_env(base_url=server.url)
        assert from_env is not None
        assert from_env.describe() == f"model env-model at {server.url} (from WEBQA_MODEL)"
    monkeypatch.delenv("WEBQA_MODEL")
    with ChatServer(models=["only"]) as server:
        assert ChatClient(None, base_url=server.url).describe() == (
            f"model only at {server.url} (the one model the server lists)"
        )
    many = [f"m{i}" for i in range(30)]
    with ChatServer(models=many) as server:
        text = ChatClient(None, base_url=server.url).describe()
    assert text.endswith("(picked the first of 30 listed models: " + ", ".join(many[:10]) + ", …)")


@pytest.mark.timeout(10)
@pytest.mark.parametrize(
    ("step", "words"),
    [
        (("status", 404), "did not list its models (HTTP 404: chatserver: scripted HTTP 404)"),
        (("raw", {"data": "nope"}), "answered /models with something that is not a model list"),
        (("body", "<html>"), "answered /models with something that is not a model list"),
        (("hang", 30), "did not answer within 1 s when asked for its models"),
        (("drip", 0.05), "did not answer within 1 s when asked for its models"),
    ],
)
def test_model_discovery_failures_are_config_errors(step, words, monkeypatch):
    monkeypatch.delenv("WEBQA_MODEL", raising=False)
    with ChatServer(models_step=step) as server:
        started = time.monotonic()
        with pytest.raises(ConfigError) as err:
            ChatClient(None, base_url=server.url, timeout=1)
        assert time.monotonic() - started < 2.5
    assert words in str(err.value) and server.url in str(err.value)


# -- tool calls ------------------------------------------------------------------------------


def test_one_tool_call_is_parsed_and_tools_are_sent():
    with ChatServer([("tool_calls", [("search", '{"query": "cats"}')])]) as server:
        out = client(server).complete(MESSAGES, tools=[SEARCH_TOOL], tool_choice="required")
    assert out.tool_calls == [ToolCall("call_0", "search", '{"query": "cats"}')]
    assert (out.text, out.finish_reason) == ("", "tool_calls")
    assert out.completion_tokens > 0
    request = server.requests[0]
    assert request["tools"] == [SEARCH_TOOL] and request["tool_choice"] == "required"


def test_tools_are_not_sent_unless_given():
    with ChatServer(["Search cats"]) as server:
        out = client(server).complete(MESSAGES)
    assert out.tool_calls == [] and "tools" not in server.requests[0]


def test_several_and_malformed_tool_calls_come_back_as_sent():
    calls = [
        ("search", '{"query": "cats"}'),
        ("search", '{"query": '),  # bad JSON: the caller rejects it
        ("fly", "{}"),  # an unknown tool: the caller rejects it
        {"id": "x9", "type": "function", "function": {"name": "open", "arguments": {"url": "u"}}},
        {"type": "function", "function": {"name": "back"}},
    ]
    with ChatServer([("tool_calls", calls, "thinking aloud")]) as server:
        out = client(server).complete(MESSAGES, tools=[SEARCH_TOOL])
    assert out.text == "thinking aloud"
    assert out.tool_calls == [
        ToolCall("call_0", "search", '{"query": "cats"}'),
        ToolCall("call_1", "search", '{"query": '),
        ToolCall("call_2", "fly", "{}"),
        ToolCall("x9", "open", '{"url": "u"}'),  # an object sent as arguments becomes its text
        ToolCall("", "back", ""),
    ]


def test_a_reply_without_a_tool_call_is_text():
    with ChatServer(["I would rather not call anything."]) as server:
        out = client(server).complete(MESSAGES, tools=[SEARCH_TOOL])
    assert out == Completion(out.text, out.prompt_tokens, out.completion_tokens, "stop")
    assert out.tool_calls == [] and out.text.startswith("I would")


@pytest.mark.parametrize(
    "calls",
    ["search", [1], [{"id": "a", "function": "search"}], [{"function": {"name": 7}}]],
)
def test_unreadable_tool_call_structure_is_a_model_error(calls):
    with ChatServer([("tool_calls", calls)]) as server:
        with pytest.raises(ModelError, match="unreadable 'tool_calls'") as err:
            client(server).complete(MESSAGES, tools=[SEARCH_TOOL])
    assert (err.value.status, err.value.retryable) == (200, False)


def test_tool_results_go_back_in_the_conversation():
    with ChatServer([("tool_calls", [("search", '{"query": "cats"}')]), "Cats purr."]) as server:
        c = client(server)
        first = c.complete(MESSAGES, tools=[SEARCH_TOOL])
        call = first.tool_calls[0]
        history = [
            *MESSAGES,
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": call.id,
                        "type": "function",
                        "function": {"name": call.name, "arguments": call.arguments},
                    }
                ],
            },
            {"role": "tool", "tool_call_id": call.id, "content": "0 results"},
        ]
        assert c.complete(history, tools=[SEARCH_TOOL]).text == "Cats purr."
    assert server.requests[1]["messages"][-1] == {
        "role": "tool",
        "tool_call_id": "call_0",
        "content": "0 results",
    }


def test_scripted_tool_calls_read_by_the_openai_client_itself():
    # The scripted server's tool-call replies are what the typed openai client expects.
    with ChatServer([("tool_calls", [("search", '{"query": "cats"}'), ("top", "{}")])]) as server:
        with openai.OpenAI(api_key="k", base_url=server.url, max_retries=0) as oc:
            reply = oc.chat.completions.create(
                model="m",
                messages=MESSAGES,
                tools=[SEARCH_TOOL],  # type: ignore[list-item]
            )
    calls = reply.choices[0].message.tool_calls or []
    assert [(c.id, c.function.name, json.loads(c.function.arguments)) for c in calls] == [
        ("call_0", "search", {"query": "cats"}),
        ("call_1", "top", {}),
    ]
    assert reply.choices[0].finish_reason == "tool_calls"


@pytest.mark.timeout(10)
def test_a_dripping_server_is_cut_off_at_the_deadline():
    # Before: each read was quick, so a reply dripped a byte every 50 ms took 24 s under "1 s".
    with ChatServer([("drip", 0.05)]) as server:
        started = time.monotonic()
        with pytest.raises(ModelError) as err:
            client(server, timeout=1).complete(MESSAGES)
        elapsed = time.monotonic() - started
    assert elapsed < 1 + 1
    assert str(err.value) == f"the LLM at {server.url} did not answer within 1 s (1 try); giving up"
    assert (err.value.status, err.value.tries, err.value.retryable) == (None, 1, True)
