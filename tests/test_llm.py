"""ChatClient through the real openai package against the loopback chat server."""

from __future__ import annotations

import email.utils
import socket
import threading
import time

import pytest
from chatserver import ChatServer, count_tokens, prompt_text

from webqa.errors import ConfigError, ModelError
from webqa.llm import ChatClient, Completion, estimate_tokens

MESSAGES = [
    {"role": "system", "content": "You browse the web."},
    {"role": "user", "content": "♦Question\nWhat is a cat?\n♦Next action"},
]


class Waits(list):
    """An injected sleep that records the waits and does not sleep."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def client(server: ChatServer, **kw) -> ChatClient:
    kw.setdefault("sleep", Waits())
    return ChatClient("test-model", base_url=server.url, **kw)


def test_completion_with_usage():
    with ChatServer(["Search cats"]) as server:
        c = client(server, temperature=0, seed=7, max_tokens=50)
        out = c.complete(MESSAGES)
    assert out == Completion(
        "Search cats",
        count_tokens(prompt_text(server.requests[0])),
        count_tokens("Search cats"),
        "stop",
    )
    assert out.prompt_tokens > 0
    req = server.requests[0]
    assert req["model"] == "test-model" and req["messages"] == MESSAGES
    assert (req["temperature"], req["seed"], req["max_tokens"]) == (0, 7, 50)
    # a local endpoint without a key gets a placeholder, never an empty Authorization
    assert server.headers[0]["authorization"] == "Bearer not-needed"


def test_unset_sampling_parameters_are_not_sent():
    with ChatServer(["ok"]) as server:
        client(server).complete(MESSAGES)
    assert not {"temperature", "seed", "max_tokens"} & set(server.requests[0])


def test_429_honours_retry_after_then_succeeds():
    waits = Waits()
    with ChatServer([("status", 429, {"Retry-After": "1"}), "Top"]) as server:
        out = client(server, sleep=waits).complete(MESSAGES)
    assert out.text == "Top"
    assert len(server.requests) == 2
    assert waits == [1.0]


def test_retry_after_ms_and_http_date():
    date = email.utils.formatdate(time.time() + 30, usegmt=True)
    script = [
        ("status", 429, {"retry-after-ms": "250"}),
        ("status", 503, {"Retry-After": date}),
        ("status", 429, {"Retry-After": "1.5"}),
        "Back",
    ]
    waits = Waits()
    with ChatServer(script) as server:
        assert client(server, sleep=waits, max_wait=40).complete(MESSAGES).text == "Back"
    assert waits[0] == pytest.approx(0.25)
    assert 25 <= waits[1] <= 30  # an HTTP date, a few seconds passed
    assert waits[2] == 1.5


def test_500_until_retry_cap():
    waits = Waits()
    with ChatServer(default=("status", 500)) as server:
        with pytest.raises(ModelError) as err:
            client(server, max_retries=3, max_wait=5, sleep=waits).complete(MESSAGES)
    assert len(server.requests) == 4  # the first try and 3 retries
    assert str(err.value) == (
        f"the LLM at {server.url} answered HTTP 500 (chatserver: scripted HTTP 500), "
        "4 tries; giving up"
    )
    assert (err.value.status, err.value.tries, err.value.retryable) == (500, 4, True)
    assert len(waits) == 3
    assert all(0 < w <= 5 for w in waits)  # exponential backoff with jitter, capped
    assert waits[1] >= 2 and waits[2] >= 4


def test_5xx_then_reset_then_success():
    script = [("status", 502), ("status", 504), ("reset",), "Scrolled down 1"]
    with ChatServer(script) as server:
        assert client(server).complete(MESSAGES).text == "Scrolled down 1"
    assert len(server.requests) == 4


def test_hanging_server_times_out_within_the_total_timeout():
    with ChatServer(default=("hang", 10)) as server:
        started = time.monotonic()
        with pytest.raises(ModelError) as err:
            client(server, timeout=0.5, max_retries=2).complete(MESSAGES)
        elapsed = time.monotonic() - started
    # the timeout bounds the whole call: the one try used it all, no retry can fit
    assert (
        str(err.value) == f"the LLM at {server.url} did not answer within 0.5 s (1 try); giving up"
    )
    assert (err.value.status, err.value.tries, err.value.retryable) == (None, 1, True)
    assert len(server.requests) == 1
    assert elapsed < 1.5


def free_port() -> int:
    """A loopback port nothing listens on."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return port


def test_connection_refused():
    port = free_port()
    waits = Waits()
    c = ChatClient("m", base_url=f"http://127.0.0.1:{port}/v1", max_retries=2, sleep=waits)
    with pytest.raises(ModelError) as err:
        c.complete(MESSAGES)
    msg = str(err.value)
    assert msg.startswith(f"could not connect to the LLM at http://127.0.0.1:{port}/v1: ")
    # Refused before it ever answered: nothing is running there, so one more try, not three.
    assert msg.endswith("connection refused — is the server running? (2 tries)")
    assert len(waits) == 1


def test_refusal_after_the_server_answered_gets_the_full_retries():
    waits = Waits()
    with ChatServer(["Search a"]) as server:
        c = ChatClient("m", base_url=server.url, max_retries=2, sleep=waits)
        assert c.complete(MESSAGES).text == "Search a"
    port = free_port()
    # The same client, its server gone (a restart, say): point it at a closed port.
    c._client = c._client.with_options(base_url=f"http://127.0.0.1:{port}/v1")
    with pytest.raises(ModelError, match=r"connection refused .*\(3 tries\)"):
        c.complete(MESSAGES)
    assert len(waits) == 2


@pytest.mark.parametrize(
    ("status", "words"),
    [
        (401, "set OPENAI_API_KEY"),
        (404, "model name 'test-model' may be wrong"),
        (400, "rejected the request with HTTP 400"),
        (403, "HTTP 403"),
    ],
)
def test_client_errors_fail_at_once(status, words):
    waits = Waits()
    with ChatServer([("status", status, {}, "nope"), "never"]) as server:
        with pytest.raises(ModelError) as err:
            client(server, sleep=waits).complete(MESSAGES)
    assert len(server.requests) == 1 and waits == []
    assert words in str(err.value) and "nope" in str(err.value)


def test_empty_content_is_empty_text():
    with ChatServer([None]) as server:
        out = client(server).complete(MESSAGES)
    assert out.text == "" and out.finish_reason == "stop"


def test_missing_usage_counts_zero():
    with ChatServer(["Quote: cats purr"], usage=False, finish_reason="length") as server:
        out = client(server).complete(MESSAGES)
    assert (out.prompt_tokens, out.completion_tokens, out.usage_reported) == (0, 0, False)
    assert out.finish_reason == "length"


def test_estimate_tokens():
    assert [estimate_tokens(t) for t in ("", "a", "abcd", "abcde")] == [0, 1, 1, 2]


@pytest.mark.parametrize(
    "body",
    [{"id": "x", "object": "chat.completion", "created": 0, "model": "m", "choices": []}, "<html>"],
)
def test_no_choices_is_model_error(body):
    with ChatServer([("raw", body)]) as server:
        with pytest.raises(ModelError, match="no choices"):
            client(server).complete(MESSAGES)


def test_dropped_connections_until_retry_cap():
    with ChatServer(default=("reset",)) as server:
        with pytest.raises(ModelError) as err:
            client(server, max_retries=1).complete(MESSAGES)
    assert str(err.value).startswith(f"lost the connection to the LLM at {server.url}: ")
    assert str(err.value).endswith("(2 tries); giving up")
    assert len(server.requests) == 2


def test_callable_steps_and_concurrent_default_policy():
    def policy(req):
        return "echo " + req["messages"][-1]["content"]

    with ChatServer([lambda req: "first"], default=policy, delay=0.2) as server:
        c = client(server)
        assert c.complete(MESSAGES).text == "first"
        results: dict[int, str] = {}

        def run(i):
            results[i] = c.complete([{"role": "user", "content": f"q{i}"}]).text

        threads = [threading.Thread(target=run, args=(i,)) for i in range(8)]
        started = time.monotonic()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert time.monotonic() - started < 0.2 * 8 / 2  # the delays overlap
    assert results == {i: f"echo q{i}" for i in range(8)}
    assert len(server.requests) == 9


def test_from_env_none_without_model_or_base_url():
    assert ChatClient.from_env() is None


def test_from_env_reads_environment(monkeypatch):
    with ChatServer(["Back"]) as server:
        monkeypatch.setenv("WEBQA_MODEL", "env-model")
        monkeypatch.setenv("OPENAI_BASE_URL", server.url)
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
        c = ChatClient.from_env(sleep=Waits())
        assert c is not None and (c.model, c.base_url) == ("env-model", server.url)
        assert c.complete(MESSAGES).text == "Back"
        # explicit arguments win over the environment
        assert ChatClient.from_env(model="arg-model").model == "arg-model"
    assert server.requests[0]["model"] == "env-model"
    assert server.headers[0]["authorization"] == "Bearer sk-test"


def test_base_url_without_model_uses_served_model(monkeypatch):
    with ChatServer(["ok"], models=["qwen2.5:7b", "other"]) as server:
        monkeypatch.setenv("OPENAI_BASE_URL", server.url)
        c = ChatClient.from_env()
        assert c is not None and c.model == "qwen2.5:7b"
        c.complete(MESSAGES)
    assert server.requests[0]["model"] == "qwen2.5:7b"


def test_base_url_without_model_and_no_models_is_config_error():
    with ChatServer(models=[]) as server:
        with pytest.raises(ConfigError, match="lists no models"):
            ChatClient.from_env(base_url=server.url)


def test_unreachable_server_without_model_is_config_error():
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    with pytest.raises(ConfigError) as err:
        ChatClient.from_env(base_url=f"http://127.0.0.1:{port}/v1")
    assert str(err.value) == (
        f"could not connect to http://127.0.0.1:{port}/v1: connection refused — "
        "is the server running?"
    )


def test_openai_without_key_is_config_error(monkeypatch):
    monkeypatch.setenv("WEBQA_MODEL", "gpt-4o-mini")
    with pytest.raises(ConfigError, match="OPENAI_API_KEY"):
        ChatClient.from_env()


def test_shared_http_client_is_used():
    import httpx

    with ChatServer(["ok"]) as server, httpx.Client() as http:
        assert client(server, http_client=http).complete(MESSAGES).text == "ok"
