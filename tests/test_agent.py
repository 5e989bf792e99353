import json

import pytest
from memcorpus import SITE, MemoryCorpus, Watching

from webqa.agent import Agent
from webqa.browser import Limits
from webqa.pages import WebLoader
from webqa.policies import Reply, ScriptedPolicy
from webqa.session import rerun
from webqa.trace import load_trace, read_trace
from webqa.tracetools import export_examples, replay, trace_html, trace_text

Q = "When was the Pharos of Alexandria completed?"


def make_agent(policy, tmp_path, **kw):
    corpus = MemoryCorpus(SITE)
    path = tmp_path / "run.jsonl"
    path.unlink(missing_ok=True)
    return Agent(policy, WebLoader(corpus, corpus), trace=path, **kw), path


def replayed(path):
    return replay(load_trace(path), run=lambda trace: rerun(trace.events))


def test_full_run_cited_answer_and_trace(tmp_path):
    policy = ScriptedPolicy(
        [
            "Search Pharos Alexandria",
            "Clicked on link 0",
            "Find in page: completed",
            "Quote: It was completed around 280 BC.",
            "End: Answer",
        ],
        "It was completed around 280 BC [1].",
    )
    agent, path = make_agent(policy, tmp_path)
    answer = agent.run(Q)
    assert answer.status == "answered"
    assert answer.text == "It was completed around 280 BC [1]."
    assert answer.citations[0].quote == "It was completed around 280 BC."
    assert answer.citations[0].url == "https://example.org/pharos.html"
    assert answer.usage.actions == 5 and answer.usage.invalid_actions == 0
    events = read_trace(path)
    types = [e["type"] for e in events]
    assert types[0] == "run" and types[-1] == "end" and "answer" in types
    assert types.count("step") == 5
    pages = [e for e in events if e["type"] == "page"]
    assert {p["key"] for p in pages} == {
        "search:Pharos Alexandria",
        "https://example.org/pharos.html",
    }
    # Every quote in the trace is verbatim in its page's snapshot text.
    page_text = " ".join(" ".join(p["lines"]) for p in pages if p["key"].startswith("https"))
    for q in events[types.index("answer")]["quotes"]:
        assert q["text"] in page_text
    step = next(e for e in events if e["type"] == "step" and e["n"] == 2)
    assert "♦Question\n" + Q in step["observation"]
    assert "♦Actions left: 99" in step["observation"]


def test_invalid_actions_become_observations_and_use_an_action(tmp_path):
    policy = ScriptedPolicy(
        [
            "Let me think about this.",
            "Search Pharos\nClicked on link 0",
            "Clicked on link 42",
            "Search Pharos",
            "Clicked on link 0",
            "Quote: the moon is made of cheese",
            "Open https://example.org/nowhere.html",
            "End: Answer",
        ],
    )
    watch = Watching(policy)
    seen = watch.seen
    agent, path = make_agent(watch, tmp_path)
    answer = agent.run(Q)
    assert answer.status == "no_quotes"
    assert answer.usage.actions == 8 and answer.usage.invalid_actions == 4
    assert "Could not read a command" in seen[1] and "Reply with exactly one of" in seen[1]
    assert "several commands" in seen[2]
    assert "There is no link 42" in seen[3] or "No page is open" in seen[3]
    assert "not on this page" in seen[6]
    assert "not in this corpus" in seen[7]
    errors = [e["error"] for e in read_trace(path) if e["type"] == "step"]
    assert sum(e is not None for e in errors) == 5  # 4 invalid + 1 failed fetch


def test_refusal_budget_and_marker_cleanup(tmp_path):
    agent, _ = make_agent(ScriptedPolicy(["End: Controversial"]), tmp_path)
    refused = agent.run(Q)
    assert refused.status == "refused" and refused.refusal == "controversial"

    agent, _ = make_agent(ScriptedPolicy(["Top"] * 10), tmp_path, max_actions=3)
    assert agent.run(Q).status == "budget_exhausted"

    policy = ScriptedPolicy(
        [
            "Open https://example.org/pharos.html",
            "Quote: It was completed around 280 BC.",
            "End: Answer",
        ],
        "Completed in 280 BC [1][3] and tall [2, 1].",
    )
    agent, _ = make_agent(policy, tmp_path)
    answer = agent.run(Q)
    assert answer.text == "Completed in 280 BC [1] and tall [1]."
    assert answer.removed_markers == 2


def test_quote_budget_ends_browsing(tmp_path):
    policy = ScriptedPolicy(
        [
            "Open https://example.org/pharos.html",
            "Quote: It was completed around 280 BC.",
            "Top",
            "Top",
        ],
        "x [1]",
    )
    agent, _ = make_agent(policy, tmp_path, limits=Limits(max_quotes=1))
    answer = agent.run(Q)
    assert answer.status == "answered" and answer.usage.actions == 2


def test_end_event_written_when_interrupted(tmp_path):
    class Interrupting:
        name = "x"

        def start(self, question):
            return self

        def act(self, obs):
            if obs.page is not None:
                raise KeyboardInterrupt
            return Reply("Search Pharos")

        def answer(self, question, quotes, feedback=None):
            return Reply("")

    agent, path = make_agent(Interrupting(), tmp_path)
    with pytest.raises(KeyboardInterrupt):
        agent.run(Q)
    events = read_trace(path)
    assert [e["type"] for e in events] == ["run", "page", "step", "end"]
    assert events[-1]["status"] == "interrupted"
    assert events[-1]["error"] == "interrupted (Ctrl-C)"


def test_replay_reproduces_and_export(tmp_path):
    policy = ScriptedPolicy(
        [
            "Search Pharos Alexandria",
            "Clicked on link 0",
            "Quote: It was completed around 280 BC.",
            "Back",
            "Scrolled down 1",
            "End: Answer",
        ],
        "Around 280 BC [1].",
    )
    agent, path = make_agent(policy, tmp_path)
    agent.run(Q)
    verdict = replayed(path)
    assert (verdict.same, verdict.total, verdict.first_difference) == (6, 6, None)

    # A tampered snapshot is caught.
    lines = path.read_text().splitlines()
    events = [json.loads(x) for x in lines]
    for e in events:
        if e["type"] == "page" and e["key"].startswith("https"):
            e["lines"][0] = "something else"
    tampered = tmp_path / "tampered.jsonl"
    tampered.write_text("\n".join(json.dumps(e) for e in events) + "\n")
    verdict = replayed(tampered)
    assert verdict.first_difference == 3 and "something else" in verdict.diff

    out = tmp_path / "train.jsonl"
    report = export_examples([path], out)
    rows = [json.loads(x) for x in out.read_text().splitlines()]
    assert report.examples == len(rows) == 6  # 5 valid steps + the answer
    assert rows[0]["messages"][2] == {"role": "assistant", "content": "Search Pharos Alexandria"}
    assert rows[-1]["messages"][2]["content"] == "Around 280 BC [1]."
    assert "[1] Pharos of Alexandria (example.org)" in rows[-1]["messages"][1]["content"]

    text = trace_text(read_trace(path))
    assert "Quote: It was completed around 280 BC." in text and "Status: answered" in text
    assert "<details" in trace_html(read_trace(path))


def test_no_quotes_says_whether_nothing_was_found_or_nothing_could_be_opened(tmp_path):
    agent, _ = make_agent(ScriptedPolicy(["Search zzqx", "End: Answer"]), tmp_path)
    assert agent.run(Q).error.endswith("every search came back empty")

    agent, _ = make_agent(
        ScriptedPolicy(["Search Pharos", "Open https://example.org/gone.html", "End: Answer"]),
        tmp_path,
    )
    error = agent.run(Q).error
    assert "1 page could not be opened" in error and "gone.html" in error


def test_a_failing_search_engine_is_named_as_such(tmp_path):
    from webqa.errors import SearchError

    class Down(MemoryCorpus):
        def search(self, query, limit=10):
            raise SearchError("SearXNG at http://x answered HTTP 503")

    corpus = Down(SITE)
    watch = Watching(ScriptedPolicy(["Search Pharos", "End: Answer"]))
    seen = watch.seen
    answer = Agent(watch, WebLoader(corpus, corpus)).run(Q)
    assert "The search failed: SearXNG at http://x answered HTTP 503" in seen[1]
    assert answer.status == "no_quotes" and "the search failed (SearXNG" in answer.error
