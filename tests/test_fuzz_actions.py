"""A seeded fuzz of whole runs: thousands of hostile actions over small corpora of each kind.

Whatever a model types — huge link ids, broken URLs, NUL bytes, lone surrogates, megabyte
arguments, commands glued together — each action becomes an observation, a run never ends in an
internal error, every observation stays bounded, and the trace stays readable.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from corpus_fixtures import make_folder, make_warc, make_zim

from webqa.agent import Agent
from webqa.corpus import open_corpus
from webqa.observation import MAX_OBSERVATION_CHARS
from webqa.pages import WebLoader
from webqa.policies import Reply
from webqa.trace import load_trace

PIECES = [
    "Search",
    "search:",
    "Clicked on link",
    "Click",
    "Open",
    "Find in page:",
    "Quote:",
    "Unquote",
    "Scrolled down",
    "Scrolled up",
    "Top",
    "Back",
    "End:",
    "End",
    "end answer",
    "Next action:",
    "```",
    "♦Next action",
    "【3†x】",
    "━",
    "...",
    "…",
]
WORDS = [
    "Ray",
    "Charles",
    "Neptune",
    "okapi",
    "the",
    "1959",
    "of",
    "Genius",
    "concert",
    "Herndon",
    "Stadium",
    "radio",
    "station",
    "soul",
    "music",
]
ODD = [
    "9" * 5000,
    "-1",
    "0x10",
    "http://[",
    "http://xn--127-0.0.1/",
    "local://x/%00",
    "zim://none/A/" + "a" * 300,
    "file:///etc/passwd",
    "http://127.0.0.1:9/",
    "\ud800",
    "\x00",
    "\udfff\ud800",
    "ＲＥＤＤＩＴ.com",
    "../../../etc/passwd",
    "#top",
    "a" * 300,
    "https://en.wikipedia.org/wiki/Ray_Charles",
    "【】♦",
    "\x1b[2J",
    "\r\n",
]


def action(rng: random.Random) -> str:
    """One hostile or half-right action."""
    kind = rng.random()
    words = " ".join(rng.choice(WORDS) for _ in range(rng.randint(0, 6)))
    if kind < 0.5:
        return f"{rng.choice(PIECES)} {rng.choice([words, str(rng.randint(0, 40)), *ODD])}"
    if kind < 0.7:
        return "\n".join(action(rng) for _ in range(rng.randint(2, 3)))
    if kind < 0.8:
        return "Quote: " + rng.choice(WORDS) + " " + "x" * rng.choice([1, 2000, 100_000])
    if kind < 0.9:
        return rng.choice(ODD) * rng.randint(1, 3)
    return rng.choice(["Search " + words, "Clicked on link 0", "Scrolled down 1", "Back", "Top"])


class Fuzzing:
    """A policy that types seeded random actions, then answers citing numbers at random."""

    name = "fuzz"

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)

    def start(self, question: str) -> Fuzzing:
        return self

    def act(self, obs) -> Reply:
        assert len(obs.text) <= MAX_OBSERVATION_CHARS
        return Reply(action(self.rng))

    def answer(self, question, quotes, feedback=None) -> Reply:
        return Reply(f"It is so [{self.rng.randint(0, 12)}] \ud800 [1].")


@pytest.fixture(scope="module")
def corpora(tmp_path_factory):
    root = tmp_path_factory.mktemp("fuzz")
    folder = make_folder(
        root / "site",
        {
            "a.html": "<title>Ray Charles</title><p>Ray Charles played soul music in 1959.</p>"
            "<a href='b.html#x'>b</a><a href='http://[bad'>bad</a>",
            "b.html": "<title>Concert</title><p id='x'>The concert at Herndon Stadium.</p>" * 20,
            "c.txt": "okapi " * 5000,
        },
    )
    return [folder, make_zim(root / "small.zim"), make_warc(root / "small.warc.gz")]


@pytest.mark.parametrize("kind", [0, 1, 2], ids=["folder", "zim", "warc"])
def test_thousands_of_hostile_actions_never_escape(kind, corpora, tmp_path):
    corpus = open_corpus(corpora[kind], cache_dir=tmp_path / "index")
    try:
        for seed in range(3):
            trace = tmp_path / f"run-{seed}.jsonl"
            agent = Agent(
                Fuzzing(seed * 7 + kind),
                WebLoader(corpus, corpus),
                max_actions=400,
                max_failures=10**6,
                trace=trace,
            )
            answer = agent.run("Which radio station recorded Ray Charles in 1959?")
            assert answer.status != "error", answer.error
            assert "internal error" not in (answer.error or "")
            loaded = load_trace(trace)
            assert loaded.complete and not loaded.bad_lines
            assert len(loaded.steps) == answer.usage.actions
    finally:
        corpus.close()


def test_the_fuzzer_reaches_real_pages_and_quotes(corpora, tmp_path):
    """Not a vacuous fuzz: its actions open pages and take quotes too."""
    corpus = open_corpus(corpora[0], cache_dir=tmp_path / "index")
    try:
        kinds: set[str] = set()
        for seed in range(3):
            trace = tmp_path / f"r{seed}.jsonl"
            Agent(
                Fuzzing(seed),
                WebLoader(corpus, corpus),
                max_actions=400,
                max_failures=10**6,
                trace=trace,
            ).run("q?")
            kinds |= {
                s["outcome"].get("kind") for s in load_trace(trace).steps if not s.get("error")
            }
        assert {"search", "click", "back", "top"} <= kinds
    finally:
        corpus.close()


def test_a_one_megabyte_action_costs_a_bounded_observation(tmp_path):
    from memcorpus import SITE, MemoryCorpus

    from webqa.policies import ScriptedPolicy

    corpus = MemoryCorpus(SITE)
    huge = "Search " + "pharos " * 150_000
    seen: list[int] = []

    class Sizes(ScriptedPolicy):
        def start(self, question):
            run = super().start(question)
            act = run.act
            run.act = lambda obs: (seen.append(len(obs.text)), act(obs))[1]  # type: ignore
            return run

    trace = tmp_path / "t.jsonl"
    Agent(Sizes([huge, huge, "Top"]), WebLoader(corpus, corpus), trace=trace).run("q?")
    assert max(seen) < 5_000  # the echoed argument is clipped
    assert Path(trace).stat().st_size < 200_000  # ... and in the trace the action is kept once


def test_a_trace_with_a_clipped_action_still_replays(tmp_path):
    from memcorpus import SITE, MemoryCorpus

    from webqa.policies import ScriptedPolicy
    from webqa.tracetools import replay

    corpus = MemoryCorpus(SITE)
    trace = tmp_path / "t.jsonl"
    Agent(
        ScriptedPolicy(["Search " + "x" * 200_000, "Search Pharos", "End: Answer"]),
        WebLoader(corpus, corpus),
        trace=trace,
    ).run("q?")
    step = load_trace(trace).steps[0]
    assert step["action_chars"] == 200_007 and len(step["action"]) < 21_000
    assert replay(load_trace(trace)).ok
