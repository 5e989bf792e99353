"""A run owns its state: agents, policies and sessions are reusable, close what they open,
record their whole configuration, and end every run honestly."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from memcorpus import SITE, MemoryCorpus, Watching

import webqa
from webqa.agent import Agent
from webqa.browser import Limits
from webqa.errors import SearchError
from webqa.pages import WebLoader
from webqa.policies import Reply, ScriptedPolicy
from webqa.policies.extractive import ExtractivePolicy
from webqa.session import Session, rerun
from webqa.trace import load_trace, read_trace
from webqa.tracetools import replay

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "demos" / "solar-system"
Q = "When was the Pharos of Alexandria completed?"
SCRIPT = [
    "Search Pharos Alexandria",
    "Clicked on link 0",
    "Quote: It was completed around 280 BC.",
    "End: Answer",
]


def memory_agent(policy, **kw):
    corpus = MemoryCorpus(SITE)
    return Agent(policy, WebLoader(corpus, corpus), **kw)


def test_one_agent_runs_twice_with_the_same_result_and_two_traces(tmp_path):
    agent = memory_agent(ScriptedPolicy(SCRIPT, "Around 280 BC [1]."), trace=tmp_path)
    answers = [agent.run(Q) for _ in range(3)]
    assert [len(a.citations) for a in answers] == [1, 1, 1]
    assert len({a.text for a in answers}) == 1
    traces = sorted(tmp_path.iterdir())
    assert len(traces) == 3 and {a.trace_path for a in answers} == {str(p) for p in traces}
    for path in traces:
        events = read_trace(path)
        assert events[0]["type"] == "run" and events[-1]["type"] == "end"
        assert events[-1]["status"] == "answered"


def test_one_extractive_policy_answers_the_same_question_twice():
    policy = ExtractivePolicy()
    first = webqa.ask("Who discovered the planet Neptune?", corpus=DEMO, policy=policy, trace=False)
    second = webqa.ask(
        "Who discovered the planet Neptune?", corpus=DEMO, policy=policy, trace=False
    )
    assert first.status == second.status == "answered"
    assert first.text == second.text


def test_runs_from_threads_are_identical():
    agent = memory_agent(ExtractivePolicy())
    results: list[str] = []

    def one() -> None:
        results.append(agent.run("Who invented the Fresnel lens?").text)

    threads = [threading.Thread(target=one) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(results) == 6 and len(set(results)) == 1 and "Fresnel" in results[0]


def _open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def test_fifty_asks_keep_open_descriptors_stable(tmp_path):
    webqa.ask("Who discovered the planet Neptune?", corpus=DEMO, trace=False)  # warm imports
    before = _open_fds()
    for _ in range(50):
        answer = webqa.ask("Who discovered the planet Neptune?", corpus=DEMO, trace=False)
        assert answer.status == "answered"
    assert _open_fds() <= before + 1


def test_a_session_closes_what_it_opened_and_nothing_else():
    class Engine(MemoryCorpus):
        closed = False

        def close(self) -> None:
            self.closed = True

    engine = Engine(SITE)
    with Session(engine=engine, source=engine, policy="extractive", trace=False) as session:
        assert session.ask("Who invented the Fresnel lens?").status == "answered"
    assert not engine.closed  # the caller's object: the caller closes it


def test_an_engine_object_without_a_source_is_used_not_duckduckgo():
    class Engine:
        name = "mine"

        def __init__(self) -> None:
            self.queries: list[str] = []

        def search(self, query: str, limit: int = 10):
            self.queries.append(query)
            return [webqa.SearchResult("Local", "http://127.0.0.1:9/x", "")]

    engine = Engine()
    with Session(engine=engine, policy="extractive", trace=False) as session:
        answer = session.ask("Who invented the Fresnel lens?")
        assert session.config["engine"] == "mine"
    assert engine.queries, "the given engine was not used"
    # The live source still guards fetches: the loopback result is refused, and said so.
    assert answer.status == "no_quotes" and "loopback" in (answer.error or "")


def test_the_run_event_records_the_whole_configuration(tmp_path):
    trace = tmp_path / "t.jsonl"
    webqa.ask(
        "Who discovered the planet Neptune?",
        corpus=DEMO,
        trace=trace,
        limits=Limits(window=10),
        max_actions=40,
        max_failures=5,
    )
    config = read_trace(trace)[0]["config"]
    assert config["policy"] == "extractive" and config["engine"].startswith("folder:")
    assert config["corpus"] == str(DEMO) and config["max_actions"] == 40
    assert config["max_failures"] == 5 and config["limits"]["window"] == 10
    assert config["protocol"] == "text" and "observation.j2" in config["prompts"]


def test_browse_with_a_window_replays(tmp_path):
    trace = tmp_path / "browse.jsonl"
    commands = (
        "\n".join(
            [
                "Search Neptune discovery",
                "Clicked on link 0",
                "Scrolled down 1",
                "Find in page: Galle",
                "Quote: Neptune was discovered on 23 September 1846 by Johann Galle",
                "End: Answer",
                "Galle found it [1].",
            ]
        )
        + "\n"
    )
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "webqa.cli",
            "browse",
            "--corpus",
            str(DEMO),
            "--window",
            "10",
            "--trace",
            str(trace),
            "Who discovered Neptune?",
        ],
        input=commands,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "WEBQA_HOME": str(tmp_path / "home")},
    )
    assert out.returncode == 0, out.stderr
    verdict = replay(load_trace(trace), run=lambda t: rerun(t.events))
    assert verdict.ok and verdict.total == 6, verdict.report()
    assert read_trace(trace)[0]["config"]["limits"]["window"] == 10


def test_an_unexpected_exception_is_named_in_the_end_event(tmp_path):
    class Broken:
        name = "broken"

        def start(self, question):
            return self

        def act(self, obs):
            raise ValueError("boom")

        def answer(self, question, quotes, feedback=None):
            return Reply("")

    trace = tmp_path / "t.jsonl"
    answer = memory_agent(Broken(), trace=trace).run(Q)
    assert answer.status == "error" and answer.error == "internal error: ValueError: boom"
    end = read_trace(trace)[-1]
    assert end["type"] == "end" and end["exception"]["type"] == "ValueError"
    assert end["exception"]["message"] == "boom"


def test_sigterm_writes_the_end_event(tmp_path):
    trace = tmp_path / "t.jsonl"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "webqa.cli",
            "browse",
            "--corpus",
            str(DEMO),
            "--trace",
            str(trace),
            "Who discovered Neptune?",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "WEBQA_HOME": str(tmp_path / "home")},
    )
    assert proc.stdin is not None
    proc.stdin.write("Search Neptune\n")
    proc.stdin.flush()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if trace.exists() and '"step"' in trace.read_text():
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    proc.communicate(timeout=30)
    events = read_trace(trace)
    assert events[-1]["type"] == "end" and events[-1]["status"] == "interrupted"
    assert "SIGTERM" in events[-1]["error"]


def test_the_same_failing_action_stops_the_run_at_once():
    agent = memory_agent(ScriptedPolicy(["Clicked on link 7"] * 100))
    answer = agent.run(Q)
    assert answer.status == "stuck" and answer.usage.actions == 3
    assert "3 times in a row" in answer.error


def test_consecutive_different_failures_stop_after_max_failures():
    script = [f"Open https://example.org/missing-{i}.html" for i in range(100)]
    answer = memory_agent(ScriptedPolicy(script), max_failures=5).run(Q)
    assert answer.status == "stuck" and answer.usage.actions == 5


def test_a_dead_search_engine_ends_the_extractive_run_quickly():
    class Dead(MemoryCorpus):
        calls = 0

        def search(self, query, limit=10):
            Dead.calls += 1
            raise SearchError("SearXNG at http://127.0.0.1:9 did not answer")

    corpus = Dead(SITE)
    watch = Watching(ExtractivePolicy())
    answer = Agent(watch, WebLoader(corpus, corpus)).run("Who invented the Fresnel lens?")
    assert answer.status == "no_quotes" and "the search failed" in answer.error
    assert Dead.calls <= 2 and answer.usage.actions <= 3


def test_the_question_mark_alone_does_not_burn_actions():
    answer = webqa.ask("?", corpus=DEMO, trace=False)
    assert answer.status == "no_quotes" and answer.usage.actions == 1


@pytest.mark.parametrize("command", ["show", "replay", "export"])
def test_trace_tools_refuse_a_file_that_is_not_a_trace(command, tmp_path):
    args = [command, str(ROOT / "README.md")] + (
        ["-o", str(tmp_path / "o.jsonl")] if command == "export" else []
    )
    out = subprocess.run(
        [sys.executable, "-m", "webqa.cli", *args], capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 2 and "not a webqa trace" in out.stderr


def test_replay_of_an_interrupted_trace_gives_one_verdict(tmp_path):
    trace = tmp_path / "t.jsonl"
    memory_agent(ScriptedPolicy(SCRIPT, "x [1]"), trace=trace).run(Q)
    lines = trace.read_text().splitlines()
    cut = tmp_path / "cut.jsonl"
    cut.write_text("\n".join(lines[:-3]) + "\n")  # the run was killed: no answer, no end
    out = subprocess.run(
        [sys.executable, "-m", "webqa.cli", "replay", str(cut)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "cut off" in out.stdout and "difference" not in out.stdout + out.stderr


def test_library_code_prints_nothing(capsys, tmp_path):
    webqa.ask("Who discovered the planet Neptune?", corpus=DEMO, trace=tmp_path / "t.jsonl")
    out, err = capsys.readouterr()
    assert out == "" and err == ""


def test_no_llm_notice_reaches_the_callback_once():
    seen: list[str] = []
    with Session(corpus=DEMO, notice=seen.append, trace=False) as session:
        session.ask("Who discovered the planet Neptune?")
        session.ask("When was Voyager 1 launched?")
    assert len(seen) == 1 and "no LLM configured" in seen[0]


def test_answers_json_round_trip():
    answer = webqa.ask("Who discovered the planet Neptune?", corpus=DEMO, trace=False)
    data = json.loads(json.dumps(answer.to_dict()))
    assert data["status"] == "answered" and data["citations"]


def test_a_session_over_a_corpus_shares_one_render_cache():
    from webqa.pages import RenderCache

    with Session(corpus=DEMO, trace=False) as session:
        cache = session.agent.loader.cache  # type: ignore[attr-defined]
        assert isinstance(cache, RenderCache)
        session.ask("Who discovered the planet Neptune?")
        assert len(cache) > 0
