"""Relevance scoring without a model: query phrases, units of a page, answer-type cues."""

import time

from webqa.terms import title_phrases


def test_title_phrases_examples():
    phrases = title_phrases('Who played on Ray Charles\'s 1956 single "Hallelujah I Love Her So"?')
    assert phrases[:2] == ["Hallelujah I Love Her So", "Ray Charles"]
    assert "Dedicated to You" in title_phrases("Dedicated to You is a 1924 song")


def test_title_phrases_of_a_long_capitalised_run_is_linear():
    text = " ".join(f"Word{i}" for i in range(20_000))
    started = time.perf_counter()
    phrases = title_phrases(text, limit=10)
    assert time.perf_counter() - started < 1.0
    assert len(phrases) == 10
    assert phrases[0].startswith("Word0 Word1")
    assert len(set(phrases)) == 10


# -- units: whole sentences, list items and definitions ----------------------------------------

from pathlib import Path  # noqa: E402

import pytest  # noqa: E402
from docs_fixtures import DOCBOOK_TUNING, SPHINX_LOCKS  # noqa: E402

from webqa.policies.relevance import (  # noqa: E402
    Scorer,
    answer_kind,
    page_units,
    sentences,
    units,
)
from webqa.render import render_html  # noqa: E402
from webqa.scoring import first_sentence  # noqa: E402
from webqa.textmatch import PageMatcher  # noqa: E402

DEMO = Path(__file__).resolve().parents[1] / "demos" / "solar-system"


def test_sentences_keep_initials_and_abbreviations():
    text = (
        "Proboscidea is an order described by J. Illiger in 1811. It went to No. 1 on the "
        "chart. Mr. Smith left."
    )
    assert sentences(text) == [
        "Proboscidea is an order described by J. Illiger in 1811.",
        "It went to No. 1 on the chart.",
        "Mr. Smith left.",
    ]


def test_a_wrapped_list_item_is_one_unit():
    lines = [
        "• Apollo 11 landed in the Sea of Tranquility on 20 July 1969. Neil Armstrong and "
        "Buzz Aldrin walked",
        "on the surface while Michael Collins stayed in orbit.",
        "• Apollo 17, in December 1972, was the last crewed landing; Eugene Cernan was the "
        "last person to",
        "walk on the Moon.",
    ]
    found = units(lines)
    assert (
        "Apollo 17, in December 1972, was the last crewed landing; Eugene Cernan was the last "
        "person to walk on the Moon." in found
    )
    assert not any(u.endswith("person to") for u in found)
    assert (
        "Neil Armstrong and Buzz Aldrin walked on the surface while Michael Collins stayed in "
        "orbit." in found
    )


def _pages() -> list:
    pages = [
        render_html(SPHINX_LOCKS, "local://docs/locks.html"),
        render_html(DOCBOOK_TUNING, "local://docs/resource.html"),
    ]
    for path in sorted(DEMO.rglob("*.html")):
        pages.append(render_html(path.read_text(encoding="utf-8"), f"local://demo/{path.name}"))
    return pages


def test_no_unit_ends_inside_a_sentence_list_item_or_cell():
    # The browser carries a quote that stops where a line wraps mid-sentence on to the end of
    # that sentence: a unit it had to carry on was cut inside one.
    pages = _pages()
    assert len(pages) > 20
    checked = 0
    for page in pages:
        matcher = PageMatcher(page)
        for unit in page_units(page.lines):
            span = matcher.quote(unit.text)
            assert span is not None, (page.url, unit.text)
            assert not span.extended, (page.url, unit.text)
            checked += 1
    assert checked > 300


def test_definition_term_and_parameter_list_units():
    page = render_html(SPHINX_LOCKS, "local://docs/locks.html")
    texts = [u.text for u in page_units(page.lines)]
    assert (
        "timeout (float) – The maximum number of seconds to wait for the lock before giving up "
        "with an error. Setting it to 0 disables waiting altogether. The default is 3 seconds."
        in texts
    )
    assert (
        "locks.MAX_WAITERS The largest number of workers that may wait for one lock, 512." in texts
    )
    assert not any("Report a Bug" in t or "Copyright" in t for t in texts)


@pytest.mark.parametrize(
    ("question", "fact"),
    [
        ("How long does locks.acquire wait for the lock by default?", "3 seconds"),
        ("Since which version is locks.acquire available?", "New in version 2.1"),
        ("Which exception does locks.acquire raise when its timeout runs out?", "LockTimeout"),
        (
            "Which constant gives the largest number of workers that may wait for one lock?",
            "MAX_WAITERS",
        ),
        (
            "How long does a background worker sleep between rounds of activity by default?",
            "200 milliseconds",
        ),
        ("What is the default value of work_buffer?", "4MB"),
    ],
)
def test_the_best_unit_leads_with_the_asked_fact(question, fact):
    html = SPHINX_LOCKS if "lock" in question else DOCBOOK_TUNING
    page = render_html(html, "local://docs/page.html")
    scorer = Scorer(question)
    _, unit = scorer.rank_units(page.title, page.lines)[0]
    lead = unit.parts[scorer.lead(unit, page.title)]
    assert fact in (unit.text if unit.kind == "term" else lead), (question, unit)


def test_answer_kinds_of_documentation_questions():
    assert answer_kind("Since which Python version can you compute it?") == "version"
    assert answer_kind("Which exception does it raise on invalid input?") == "error"
    assert answer_kind("Which constant in the re module means no flags?") == "code"
    assert answer_kind("Which port does it listen on?") == "number"
    assert (
        answer_kind("What does the SyntaxError message say when a brace is unmatched?") == "message"
    )


def test_first_sentence_of_scoring_is_the_lead():
    assert (
        first_sentence("The default is 3 seconds. Setting it to 0 disables. [1]")
        == "The default is 3 seconds."
    )


def test_a_wrapped_line_starting_with_a_number_is_no_list_item():
    lines = [
        "Dynamite is an explosive made of nitroglycerin, sorbents, and stabilizers. It was "
        "invented by the",
        "Swedish chemist and engineer 【0†Alfred Nobel】 in Geesthacht, Northern Germany, and "
        "was patented in",
        "1867. It rapidly gained wide-scale use as a more robust alternative to black powder.",
    ]
    assert (
        "It was invented by the Swedish chemist and engineer Alfred Nobel in Geesthacht, "
        "Northern Germany, and was patented in 1867." in units(lines)
    )


def test_the_last_sentence_and_not_a_leading_clause_says_what_is_asked():
    assert (
        answer_kind(
            "Some copies were found in the library of a king. Whose favoured heir was "
            "he when he came to the throne?"
        )
        == "person"
    )
    assert (
        answer_kind(
            "When Python works out a line's indentation, tabs are expanded to a "
            "multiple of what number?"
        )
        == "number"
    )


def test_stems_agree_across_inflections_and_spellings():
    from webqa.terms import stem

    for a, b in [
        ("timeslices", "timeslice"),
        ("running", "run"),
        ("favoured", "favored"),
        ("matches", "match"),
        ("studies", "study"),
        ("walked", "walk"),
    ]:
        assert stem(a) == stem(b), (a, b)
    assert stem("class") == "class" and stem("status") == "status"
