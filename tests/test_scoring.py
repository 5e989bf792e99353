"""Scoring measures: containment, first sentence, token F1, citations verbatim."""

from __future__ import annotations

from webqa.records import Answer, Citation, Document, Usage
from webqa.scoring import (
    citations_verbatim,
    first_sentence,
    first_sentence_correct,
    is_correct,
    score,
    sentences,
    token_f1,
)


def test_containment_is_whole_words_ignoring_case_accents_and_markers() -> None:
    assert is_correct("It was written by Kenneth Lee Karpe.[1]", ["kenneth lee karpe"])
    assert is_correct("Born in Málaga.", ["Malaga"])
    assert not is_correct("The Ceresian belt", ["Ceres"])
    # a citation marker is not a number in the answer
    assert not is_correct("It opened in May.[1]", ["1"])
    assert not is_correct("anything", [""])


def test_sentences_split_at_ends_not_at_initials_or_abbreviations() -> None:
    text = "J. S. Bach wrote it in 1723.[1] Dr. Who was not there! Was it 8000? Yes [2]."
    assert sentences(text) == [
        "J. S. Bach wrote it in 1723.",
        "Dr. Who was not there!",
        "Was it 8000?",
        "Yes.",
    ]
    assert first_sentence("") == ""
    assert first_sentence("No end") == "No end"


def test_first_sentence_correct_needs_the_answer_first() -> None:
    lead = "A day on Venus lasts 243 Earth days.[1] A sol on Mars is 24 hours.[2]"
    late = "A sol on Mars is 24 hours.[1] A day on Venus lasts 243 Earth days.[2]"
    assert first_sentence_correct(lead, ["243 Earth days"])
    assert not first_sentence_correct(late, ["243 Earth days"])
    assert is_correct(late, ["243 Earth days"])


def test_token_f1_is_squad_style() -> None:
    assert token_f1("The Kenneth Lee Karpe", ["Kenneth Lee Karpe"]) == 1.0
    # 2 common of 4 predicted and 3 gold tokens: P=1/2, R=2/3 -> F1=4/7
    assert abs(token_f1("Kenneth Karpe wrote notes", ["Kenneth Lee Karpe"]) - 4 / 7) < 1e-9
    assert token_f1("nothing here", ["Karpe"]) == 0.0
    assert token_f1("Karpe", []) == 0.0
    # the best gold counts
    assert token_f1("port 8000", ["eight thousand", "8000"]) == 2 * 0.5 / 1.5


def test_score_says_not_applicable_without_golds() -> None:
    s = score("It listens on port 8000.[1]", [])
    assert (s.correct, s.first_sentence_correct, s.token_f1, s.words) == (None, None, None, 5)
    s = score("It listens on port 8000.[1]", ["8000"])
    assert s.correct and s.first_sentence_correct and s.token_f1 == round(2 * 0.2 / 1.2, 4)


class _Source:
    def fetch(self, url: str) -> Document:
        return Document(url, "text/plain", text="The server listens to port 8000 by default.")


def test_citations_verbatim_counts_quotes_on_their_pages() -> None:
    good = Citation(1, "local://a", "A", "listens to port 8000")
    bad = Citation(2, "local://a", "A", "listens to port 9000")
    answer = Answer("q", "8000 [1][2]", [good, bad], "answered", Usage())
    assert citations_verbatim(answer, _Source()) == (1, 2)
