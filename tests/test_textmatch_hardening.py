"""Quote matching stays fast and correct on hostile pages (issue 8)."""

import time

from webqa.records import Page
from webqa.textmatch import PageMatcher, PageText


def matcher(lines):
    return PageMatcher(Page("u", "https://e.org/p", "T", list(lines)))


def test_span_quote_on_a_two_megabyte_page_is_fast():
    lines = ["alpha beta gamma delta " * 4] * (2_000_000 // 92)
    text = matcher(lines + ["the end marker is here."])
    started = time.perf_counter()
    assert text.quote("alpha━zzzz") is None  # every start, no end: was quadratic (146 s)
    span = text.quote("delta━end marker", max_chars=1500)
    assert time.perf_counter() - started < 1.0
    assert span is not None and span.text.endswith("the end marker")
    assert len(span.text) <= 1500  # the shortest span, from the last start before the end


def test_span_over_the_limit_is_passed_over_for_one_that_fits():
    text = matcher(["Start here. " + "filler " * 400 + "finish.", "Start again, short finish."])
    span = text.quote("start━finish", max_chars=100)
    assert span is not None and span.text == "Start again, short finish"
    # When nothing fits, the shortest span comes back so the caller can report its length.
    only = matcher(["Start here. " + "filler " * 400 + "finish."])
    long = only.quote("start━finish", max_chars=100)
    assert long is not None and len(long.text) > 100


def test_span_is_the_shortest_reading():
    text = matcher(["beta one.", "beta two, then epsilon."])
    assert text.quote("beta━epsilon").text == "beta two, then epsilon"


def test_overlapping_starts_are_all_seen():
    text = matcher(["aaab"])
    assert text.quote("aa━b").text == "aab"


def test_old_name_is_an_alias():
    assert PageText is PageMatcher
