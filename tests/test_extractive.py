"""The extractive policy: relevance scoring and whole runs (no LLM)."""

import re
from pathlib import Path

from memcorpus import SITE, MemoryCorpus

from webqa.agent import Agent
from webqa.pages import WebLoader
from webqa.policies.extractive import ExtractivePolicy
from webqa.policies.relevance import Scorer, answer_kind, keywords, units
from webqa.render import render_html


def test_answer_kinds():
    assert answer_kind("When was the lens invented?") == "date"
    assert answer_kind("In what year did it open?") == "date"
    assert answer_kind("How many moons does Mars have?") == "number"
    assert answer_kind("Who built the Pharos?") == "person"
    assert answer_kind("Which photographer took the cover photo?") == "person"
    assert answer_kind("Which island is it on?") == "entity"
    assert answer_kind("Explain tides") == "other"


def test_keywords_drop_stop_words_and_repeats():
    assert keywords("Who was the builder of the Pharos of the Pharos island?") == (
        "builder Pharos island"
    )


def test_units_split_sentences_rows_and_captions():
    lines = [
        "The lens was invented in 1822 by a French engineer and physicist. It is",
        "flat and light.",
        "Republic of Lenses",
        "Lens Kingdom (old name)",
        "Height | about 100 metres",
        "• First order lenses are the largest.",
        "[Image: A lens] Lenses focus beams of light.",
    ]
    assert units(lines) == [
        "The lens was invented in 1822 by a French engineer and physicist.",
        "It is flat and light.",
        "Lens Kingdom (old name)",
        "Height | about 100 metres",
        "First order lenses are the largest.",
        "Lenses focus beams of light.",
    ]


def test_scorer_prefers_the_sentence_with_the_asked_for_kind():
    page = render_html(SITE["https://example.org/pharos.html"], "https://example.org/pharos.html")
    ranked = Scorer("When was the Pharos of Alexandria completed?").rank_page(
        page.title, page.lines
    )
    assert ranked[0][1] == "It was completed around 280 BC."
    ranked = Scorer("Who built the Pharos of Alexandria?").rank_page(page.title, page.lines)
    assert ranked[0][1].startswith("The Pharos of Alexandria was built by the Ptolemaic Kingdom")


def test_run_answers_with_verbatim_citations():
    corpus = MemoryCorpus(SITE)
    answer = Agent(ExtractivePolicy(), WebLoader(corpus, corpus)).run(
        "Who invented the Fresnel lens?"
    )
    assert answer.status == "answered"
    assert answer.text.startswith(
        "The Fresnel lens was invented by Augustin-Jean Fresnel in 1822. ["
    )
    assert all(c.url.startswith("https://example.org/") for c in answer.citations)


def test_no_match_searches_again_then_ends_without_quotes():
    corpus = MemoryCorpus(SITE)
    answer = Agent(ExtractivePolicy(), WebLoader(corpus, corpus)).run("Qwzx vrbl?")
    assert answer.status == "no_quotes"
    assert answer.usage.actions <= 5


def test_end_to_end_on_a_zim_built_here(tmp_path):
    from corpus_fixtures import make_zim

    import webqa
    from webqa.corpus import open_corpus

    zim = make_zim(tmp_path / "small.zim")
    answer = webqa.ask(
        "Which radio station recorded Ray Charles's 1959 concert at Herndon Stadium?",
        corpus=zim,
        policy="extractive",
        trace=tmp_path / "t.jsonl",
    )
    assert answer.status == "answered"
    assert "WAOK" in answer.text
    assert all(c.url.startswith("zim://") for c in answer.citations)
    with open_corpus(zim) as corpus:
        assert all(check.verbatim for check in webqa.verify_citations(answer, corpus))


def test_last_sentence_of_a_question_is_its_focus():
    from webqa.records import Page

    page = Page(
        "u",
        "https://e.org/cry",
        "Cry (song)",
        [
            "A concept album from 1964 opens with Cry, a song written in 1951 by Churchill Kohlman.",
            "The song was first recorded by Ruth Casey on the Cadillac label.",
        ],
    )
    question = (
        "A 1964 concept album opens with a song written in 1951 by Churchill Kohlman. "
        "Who first recorded that song?"
    )
    scorer = Scorer(question)
    score, unit = scorer.rank_units(page.title, page.lines)[0]
    assert unit.parts[scorer.lead(unit, page.title)] == (
        "The song was first recorded by Ruth Casey on the Cadillac label."
    )


# -- answers that lead with the answer: the demo site and a small manual ----------------------

import pytest  # noqa: E402

from webqa.scoring import first_sentence  # noqa: E402

DEMO = Path(__file__).resolve().parents[1] / "demos" / "solar-system"


@pytest.fixture(scope="module")
def demo_home(tmp_path_factory):
    import os

    home = tmp_path_factory.mktemp("home")
    old = os.environ.get("WEBQA_HOME")
    os.environ["WEBQA_HOME"] = str(home)
    yield home
    if old is None:
        os.environ.pop("WEBQA_HOME", None)
    else:
        os.environ["WEBQA_HOME"] = old


@pytest.mark.parametrize(
    ("question", "fact", "wrong"),
    [
        ("How long is a day on Venus?", "117 Earth days", "Mars"),
        ("How big is Ceres?", "940", "Charon"),
        ("Who was the first person to walk on the Moon?", "Neil Armstrong", "Cernan"),
    ],
)
def test_demo_answers_lead_with_the_right_fact(demo_home, question, fact, wrong):
    import webqa

    answer = webqa.ask(question, corpus=DEMO, policy="extractive", trace=False)
    lead = first_sentence(answer.text)
    assert fact in lead and wrong not in lead, answer.text
    marker = re.search(r"\[(\d+)\]", answer.text)
    assert marker is not None
    cited = next(c for c in answer.citations if c.n == int(marker.group(1)))
    assert fact in cited.quote


def test_a_manual_answer_quotes_the_parameter_and_leads_with_its_default(tmp_path):
    from docs_fixtures import write_docs

    import webqa
    from webqa.corpus import open_corpus

    root = write_docs(tmp_path / "manual")
    answer = webqa.ask(
        "How long does locks.acquire wait for a lock by default?",
        corpus=root,
        policy="extractive",
        trace=False,
    )
    assert "3 seconds" in first_sentence(answer.text), answer.text
    with open_corpus(root) as corpus:
        assert all(check.verbatim for check in webqa.verify_citations(answer, corpus))
    answer = webqa.ask(
        "How long does a background worker sleep between rounds by default?",
        corpus=root,
        policy="extractive",
        trace=False,
    )
    assert "200 milliseconds" in first_sentence(answer.text), answer.text
