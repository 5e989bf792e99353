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
