from webqa.records import Page
from webqa.textmatch import PageMatcher, fold


def page(*lines):
    return PageMatcher(Page("u", "https://e.org/p", "T", list(lines)))


def test_fold_ignores_case_space_quotes_dashes():
    assert fold("“It’s  A —  Test…”") == fold('"it\'s a - test..."')


def test_quote_returns_page_text_across_lines_and_markup():
    text = page("The 【0†Pharos】 was built", "  by   Sostratus.")
    span = text.quote("the pharos WAS built by sostratus.")
    expected = ("The Pharos was built by Sostratus.", 0, 1)
    assert (span.text, span.line_start, span.line_end) == expected


def test_start_end_shorthand_and_ellipsis():
    text = page("Alpha beta gamma.", "Delta epsilon zeta.")
    assert text.quote("beta━epsilon").text == "beta gamma. Delta epsilon"
    assert text.quote("Alpha … zeta.").text == "Alpha beta gamma. Delta epsilon zeta."
    assert page("He said… fine.").quote("He said... fine.").text == "He said… fine."


def test_characters_that_lengthen_when_lowered():
    text = page("İstanbul is large.", "Second line here.")
    assert text.quote("istanbul is large").text == "İstanbul is large"
    assert text.quote("second line").line_start == 1


def test_find_from_line_wraps():
    text = page("apple one", "pear", "apple two")
    assert text.find("apple", from_line=1) == 2
    assert text.find("apple", from_line=3) == 0
    assert text.find("banana") is None
