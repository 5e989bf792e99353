import pytest
from memcorpus import SITE, MemoryCorpus

from webqa.browser import Browser, Limits
from webqa.commands import parse
from webqa.errors import FetchError, InvalidAction
from webqa.pages import WebLoader

INDEX = "https://example.org/index.html"


@pytest.fixture
def browser():
    corpus = MemoryCorpus(SITE)
    return Browser(
        WebLoader(corpus, corpus), Limits(window=3, max_quotes=3, max_total_quote_chars=300)
    )


def run(browser, text):
    return browser.execute(parse(text))


def test_search_click_back(browser):
    run(browser, "Search Pharos Alexandria")
    assert browser.view.page.title == "Search results for: Pharos Alexandria"
    assert browser.view.page.links[0].url == "https://example.org/pharos.html"
    run(browser, "Clicked on link 0")
    assert browser.view.page.title == "Pharos of Alexandria"
    run(browser, "Back")
    assert browser.view.page.key.startswith("search:")


def test_scroll_top_and_window(browser):
    run(browser, "Open https://example.org/pharos.html")
    top, lines = browser.window()
    assert top == 0 and len(lines) <= 3
    run(browser, "Scrolled down 1")
    assert browser.view.top == 3
    run(browser, "Scrolled down 3")
    assert browser.view.top == len(browser.view.page.lines) - 3  # stops at the last screen
    with pytest.raises(InvalidAction, match="end of the page"):
        run(browser, "Scrolled down 1")
    run(browser, "Top")
    assert browser.view.top == 0
    with pytest.raises(InvalidAction, match="top of the page"):
        run(browser, "Scrolled up 1")


def test_find_next_occurrence_with_context_and_wrap(browser):
    run(browser, "Open https://example.org/pharos.html")
    lines = browser.view.page.lines
    hits = [i for i, line in enumerate(lines) if "pharos" in line.lower()]
    assert hits == [0, 1, 3]
    found = []
    for _ in range(4):
        result = run(browser, "Find in page: PHAROS")
        found.append((browser.view.cursor, browser.view.top))
    assert found == [(0, 0), (1, 0), (3, 1), (0, 0)]  # two lines of context above a match
    assert result.wrapped and "wrapped" in result.summary()
    run(browser, "Scrolled down 1")
    assert browser.view.cursor is None  # a scroll starts the next find from the new top
    # No match is information, not a failure: the view stays where it was.
    missed = run(browser, "Find in page: submarine")
    assert missed.ok and missed.matches == 0 and "Not found" in missed.summary()


def test_quote_is_page_text_not_retyping(browser):
    run(browser, "Open https://example.org/pharos.html")
    run(browser, "Quote: IT WAS COMPLETED   AROUND 280 bc.")
    quote = browser.quotes[0]
    assert quote.text == "It was completed around 280 BC."
    assert quote.url == "https://example.org/pharos.html"
    assert quote.title == "Pharos of Alexandria"


def test_quote_errors_and_limits(browser):
    run(browser, "Search Pharos")
    with pytest.raises(InvalidAction, match="Search results cannot be quoted"):
        run(browser, "Quote: Pharos")
    run(browser, "Clicked on link 0")
    with pytest.raises(InvalidAction, match="not on this page"):
        run(browser, "Quote: The Colossus of Rhodes")
    with pytest.raises(InvalidAction, match="at most"):
        browser.limits.max_quote_chars = 10
        run(browser, "Quote: It was completed around 280 BC.")
    browser.limits.max_quote_chars = 1500
    run(browser, "Quote: The Pharos of Alexandria━Philadelphus.")
    run(browser, "Quote: It was completed around 280 BC.")
    browser.limits.max_total_quote_chars = browser.quote_chars + 20
    with pytest.raises(InvalidAction, match="characters of quote budget"):
        run(browser, "Quote: It was badly damaged━1323 AD.")


def test_bad_link_back_on_first_page_and_no_page(browser):
    with pytest.raises(InvalidAction, match="No page is open"):
        run(browser, "Clicked on link 0")
    run(browser, f"Open {INDEX}")
    with pytest.raises(InvalidAction, match="There is no link 99"):
        run(browser, "Clicked on link 99")
    with pytest.raises(InvalidAction, match="no previous page"):
        run(browser, "Back")


def test_fetch_failure_leaves_view_unchanged(browser):
    run(browser, f"Open {INDEX}")
    with pytest.raises(FetchError, match="not in this corpus"):
        run(browser, "Open https://example.org/missing.html")
    assert browser.view.page.url == INDEX


def test_relative_open_and_external_link(browser):
    run(browser, f"Open {INDEX}")
    run(browser, "Open lens.html")
    assert browser.view.page.title == "Fresnel lens"


def test_no_results_page_says_so():
    corpus = MemoryCorpus(SITE)
    b = Browser(WebLoader(corpus, corpus))
    b.execute(parse("Search zzzzqqq"))
    assert "No results for 'zzzzqqq'" in b.view.page.lines[0]
    assert b.view.page.links == {}
