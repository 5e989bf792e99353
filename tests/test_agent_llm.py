"""The LLM path end to end: a loopback chat-completions server, the real openai client."""

import json

from chatserver import ChatServer
from memcorpus import SITE, MemoryCorpus

from webqa.agent import Agent
from webqa.llm import ChatClient
from webqa.pages import WebLoader
from webqa.policies.llm import LLMPolicy
from webqa.trace import TraceWriter, read_trace

Q = "When was the Pharos of Alexandria completed?"
GOOD = [
    "Search Pharos Alexandria",
    "Clicked on link 0",
    "Quote: It was completed around 280 BC.",
    "End: Answer",
    "The Pharos was completed around 280 BC [1].",
]


def run(server, tmp_path, **client_kw):
    corpus = MemoryCorpus(SITE)
    client = ChatClient("scripted-model", base_url=server.url, sleep=lambda s: None, **client_kw)
    path = tmp_path / "llm.jsonl"
    agent = Agent(LLMPolicy(client), WebLoader(corpus, corpus), trace=TraceWriter(path))
    return agent.run(Q), read_trace(path)


def test_full_run_to_cited_answer(tmp_path):
    with ChatServer(GOOD) as server:
        answer, events = run(server, tmp_path)
        requests = server.requests
    assert answer.status == "answered"
    assert answer.text == "The Pharos was completed around 280 BC [1]."
    assert answer.citations[0].quote == "It was completed around 280 BC."
    assert answer.usage.llm_calls == 5
    assert answer.usage.prompt_tokens > 0 and answer.usage.completion_tokens > 0
    assert (
        sum(json.dumps(e.get("usage", {})).count("prompt") for e in events if e["type"] == "step")
        == 4
    )
    # Each browsing step is a fresh context: system prompt + one observation.
    first = requests[0]["messages"]
    assert [m["role"] for m in first] == ["system", "user"]
    assert first[1]["content"].startswith("♦Question\n" + Q)
    # The answer prompt is WebGPT's: question■ then [n] title (domain) + extract■.
    last = requests[-1]["messages"][1]["content"]
    assert last.startswith(Q + "■") and "[1] Pharos of Alexandria (example.org)" in last


def test_429_with_retry_after_then_success(tmp_path):
    waits = []
    with ChatServer([("status", 429, {"Retry-After": "2"}), *GOOD]) as server:
        corpus = MemoryCorpus(SITE)
        client = ChatClient("m", base_url=server.url, sleep=waits.append)
        answer = Agent(LLMPolicy(client), WebLoader(corpus, corpus)).run(Q)
    assert answer.status == "answered"
    assert waits == [2.0]


def test_500s_until_cap_end_with_clear_error_and_complete_trace(tmp_path):
    script = [
        "Search Pharos Alexandria",
        "Clicked on link 0",
        "Quote: It was completed around 280 BC.",
    ] + [("status", 500)] * 10
    with ChatServer(script) as server:
        answer, events = run(server, tmp_path, max_retries=2)
    assert answer.status == "error"
    assert "500" in answer.error and "3 tries" in answer.error
    assert [e["type"] for e in events].count("step") == 3
    assert events[-1]["type"] == "end" and events[-1]["status"] == "error"
    assert answer.citations and answer.citations[0].quote == "It was completed around 280 BC."


def test_hanging_server_times_out(tmp_path):
    with ChatServer([("hang", 5)] * 3) as server:
        answer, events = run(server, tmp_path, timeout=0.3, max_retries=1)
    assert answer.status == "error" and "did not answer within" in answer.error
    assert events[-1]["type"] == "end"


def test_bad_replies_are_invalid_actions_not_crashes(tmp_path):
    script = [
        "",
        "I am not sure what to do here.",
        "Search Pharos\nClicked on link 0",
        "Search Pharos Alexandria",
        "Clicked on link 77",
        "Clicked on link 0",
        "Quote: the Pharos was made of gold",
        "Quote: It was completed around 280 BC.",
        "End: Answer",
        "Around 280 BC [1] [4].",
    ]
    with ChatServer(script) as server:
        answer, events = run(server, tmp_path)
        requests = server.requests
    assert answer.status == "answered"
    assert answer.usage.invalid_actions == 5
    assert answer.removed_markers == 1 and answer.text == "Around 280 BC [1]."
    shown = [r["messages"][1]["content"] for r in requests[1:8]]
    assert "The reply was empty" in shown[0]
    assert "Could not read a command" in shown[1]
    assert "several commands" in shown[2]
    assert "There is no link 77" in shown[4]
    assert "not on this page" in shown[6]


def test_reasoning_blocks_are_not_read_as_commands_or_answers(tmp_path):
    script = [
        "<think>Maybe Search lighthouses\nor Clicked on link 2</think>\nSearch Pharos Alexandria",
        "<think>\nThe first result.\n</think>Clicked on link 0",
        "Quote: It was completed around 280 BC.",
        "End: Answer",
        "<think>Quote [1] says 280 BC.</think>\nAround 280 BC [1].",
    ]
    with ChatServer(script) as server:
        answer, _ = run(server, tmp_path)
    assert answer.status == "answered" and answer.usage.invalid_actions == 0
    assert answer.text == "Around 280 BC [1]."


def test_an_answer_citing_missing_quotes_gets_one_chance_to_fix_it(tmp_path):
    replies = iter(
        [
            "Search Pharos",
            "Clicked on link 0",
            "Quote: It was completed around 280 BC.",
            "End: Answer",
            "Completed in 280 BC [4].",
            "Completed in 280 BC [1].",
        ]
    )
    seen = []

    def model(request):
        seen.append(request["messages"][-1]["content"])
        return next(replies)

    corpus = MemoryCorpus(SITE)
    with ChatServer(default=model) as server:
        client = ChatClient("m", base_url=server.url)
        answer = Agent(LLMPolicy(client), WebLoader(corpus, corpus)).run(Q)
    assert answer.text == "Completed in 280 BC [1]." and answer.removed_markers == 0
    assert "not in the list of quotes (there are 1)" in seen[-1]
    assert answer.usage.llm_calls == 6
