"""verify_citations: verbatim quotes pass, altered ones fail, from an answer or a trace."""

import json

import pytest
from memcorpus import SITE, MemoryCorpus

from webqa import verify_citations
from webqa.agent import Agent
from webqa.errors import ConfigError
from webqa.pages import WebLoader
from webqa.policies import ScriptedPolicy
from webqa.records import Answer, Citation

URL = "https://example.org/pharos.html"


def test_answer_checked_against_its_source_and_trace(tmp_path):
    corpus = MemoryCorpus(SITE)
    trace = tmp_path / "t.jsonl"
    script = ["Open " + URL, "Quote: It was completed around 280 BC.", "End: Answer"]
    answer = Agent(
        ScriptedPolicy(script, "280 BC [1]."), WebLoader(corpus, corpus), trace=trace
    ).run("When?")
    assert [c.verbatim for c in verify_citations(answer, corpus)] == [True]
    assert [c.verbatim for c in verify_citations(trace)] == [True]

    forged = Answer(
        "q", "x [1]", [Citation(1, URL, "Pharos", "It was completed around 300 BC.")], "answered"
    )
    check = verify_citations(forged, corpus)[0]
    assert not check.verbatim and check.reason == "not on the page"
    gone = Answer(
        "q", "x [1]", [Citation(1, "https://example.org/none", "None", "Hi there.")], "answered"
    )
    assert "not in this corpus" in (verify_citations(gone, corpus)[0].reason or "")

    events = [json.loads(line) for line in trace.read_text().splitlines()]
    for e in events:
        if e["type"] == "answer":
            e["citations"][0]["quote"] = "It was completed around 300 BC."
    tampered = tmp_path / "tampered.jsonl"
    tampered.write_text("".join(json.dumps(e) + "\n" for e in events))
    assert [c.verbatim for c in verify_citations(tampered)] == [False]


def test_an_answer_without_its_source_is_a_clear_error():
    with pytest.raises(ConfigError, match="document source"):
        verify_citations(Answer("q", "", [], "answered"))
