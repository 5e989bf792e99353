"""What the agent is told: where it is, what its last action did, and what it may type."""

from __future__ import annotations

import pytest
from memcorpus import MemoryCorpus, Watching

from webqa.agent import Agent
from webqa.browser import Browser, Limits
from webqa.commands import parse
from webqa.errors import InvalidAction
from webqa.pages import WebLoader
from webqa.policies import ScriptedPolicy
from webqa.records import Document

DOC = "https://docs.example/config.html"
FILLER = "".join(f"<p>Filler paragraph number {i} says nothing of note.</p>" for i in range(40))
PAGES = {
    DOC: (
        "<html><head><title>Server configuration</title></head><body><main>"
        "<h1>Server configuration</h1><div class='toc'><a href='#timeout'>timeout</a> "
        "<a href='#retries'>retries</a></div>"
        + FILLER
        + "<dl><dt id='timeout'>timeout</dt><dd>The maximum number of seconds to wait. "
        "The default is 3 seconds.</dd></dl>"
        + FILLER
        + "<dl><dt id='retries'>retries</dt><dd>How often to try again. "
        "The default is 3 seconds between tries.</dd></dl></main></body></html>"
    ),
    "https://docs.example/moved.html": "<title>Moved</title><p>x</p>",
}


class Redirecting(MemoryCorpus):
    """Serves /old.html as the page at /config.html (a redirect)."""

    def fetch(self, url):
        if url.endswith("/old.html"):
            doc = super().fetch(DOC)
            return Document(DOC, doc.content_type, text=doc.text)
        return super().fetch(url)


@pytest.fixture
def browser():
    corpus = Redirecting(PAGES)
    return Browser(WebLoader(corpus, corpus), Limits(window=8))


def run(browser, text):
    return browser.execute(parse(text))


def test_find_says_which_match_of_how_many_and_when_it_wraps(browser):
    run(browser, f"Open {DOC}")
    first = run(browser, "Find in page: The default is 3")
    assert (first.match, first.matches, first.wrapped) == (1, 2, False)
    assert f"line {first.match_line}, match 1 of 2" in first.summary()
    second = run(browser, "Find in page: The default is 3")
    assert (second.match, second.wrapped) == (2, False) and second.match_line > first.match_line
    third = run(browser, "Find in page: The default is 3")
    assert third.match == 1 and third.wrapped and "wrapped" in third.summary()


def test_a_link_to_an_anchor_opens_at_its_line(browser):
    run(browser, f"Open {DOC}")
    page = browser.view.page
    assert page.anchors.get("retries"), "the renderer records anchor lines"
    retries = next(i for i, link in page.links.items() if link.url.endswith("#retries"))
    timeout = next(i for i, link in page.links.items() if link.url.endswith("#timeout"))
    assert retries != timeout  # each fragment is its own target
    outcome = run(browser, f"Clicked on link {retries}")
    assert outcome.line == page.anchors["retries"] and browser.view.top > 10
    assert any("retries" in line for line in browser.window()[1])


def test_a_quote_prefers_the_occurrence_in_view_and_says_it_was_ambiguous(browser):
    run(browser, f"Open {DOC}")
    run(
        browser,
        "Clicked on link "
        + str(
            next(i for i, link in browser.view.page.links.items() if link.url.endswith("#retries"))
        ),
    )
    outcome = run(browser, "Quote: The default is 3 seconds")
    quote = browser.quotes[0]
    assert quote.line_start >= browser.view.top  # the one on screen, not the first on the page
    assert outcome.matches == 2 and "2 times" in outcome.summary()


def test_a_missed_quote_shows_the_closest_text(browser):
    run(browser, f"Open {DOC}")
    with pytest.raises(InvalidAction, match="closest text on the page: 'The maximum number"):
        run(browser, "Quote: The maximal number of seconds to wait.")


def test_unquote_drops_a_quote_and_renumbers(browser):
    run(browser, f"Open {DOC}")
    run(browser, "Quote: The maximum number of seconds to wait.")
    run(browser, "Quote: How often to try again.")
    outcome = run(browser, "Unquote 1")
    assert outcome.quote == 1 and [q.text for q in browser.quotes] == ["How often to try again."]
    with pytest.raises(InvalidAction, match="no quote 5"):
        run(browser, "Unquote 5")


def test_trivial_quotes_are_refused(browser):
    run(browser, f"Open {DOC}")
    with pytest.raises(InvalidAction, match="at least"):
        run(browser, "Quote: te")


def test_a_redirect_is_said(browser):
    outcome = run(browser, "Open https://docs.example/old.html")
    assert outcome.redirected_from == "https://docs.example/old.html"
    assert "redirected from https://docs.example/old.html" in outcome.summary()


def test_the_observation_shows_url_last_action_numbered_quotes_and_past_actions():
    corpus = Redirecting(PAGES)
    watch = Watching(
        ScriptedPolicy(
            [
                f"Open {DOC}",
                "Find in page: maximum",
                "Quote: The maximum number of seconds to wait.",
                "Clicked on link 99",
                "End: Answer",
            ],
            "x [1]",
        )
    )
    Agent(watch, WebLoader(corpus, corpus)).run("What is the timeout default?")
    after_open, after_find, after_quote, after_bad = watch.seen[1:5]
    assert f"♦URL {DOC}" in after_open and "♦Last action\nOpened Server configuration" in after_open
    assert "♦Last action\nFound on line" in after_find and "match 1 of 1" in after_find
    assert "[1] From Server configuration (docs.example)" in after_quote
    assert "Quote: The maximum number of seconds to wait. → [1]" in after_quote
    assert "♦Last action failed\nThere is no link 99" in after_bad
    assert "Clicked on link 99 (failed: There is no link 99" in after_bad
    # Open is shown as Open, not as a click.
    assert f"Open {DOC}" in after_bad


def test_results_fit_one_screen_say_their_range_and_page_on():
    pages = {
        f"https://e.org/p{i}.html": f"<title>Page {i}</title><p>okapi fact {i}</p>"
        for i in range(25)
    }
    corpus = MemoryCorpus(pages)
    browser = Browser(WebLoader(corpus, corpus), Limits(window=30))
    outcome = run(browser, "Search okapi")
    lines = browser.view.page.lines
    assert outcome.results == 10 and lines[0] == "Results 1–10 for: okapi"
    assert len(lines) <= 30 and "Scrolled down 1" in lines[-1]
    assert "https://e.org/" in lines[1]  # each result shows its URL
    second = run(browser, "Scrolled down 1")
    assert second.results == 10 and browser.view.page.lines[0] == "Results 11–20 for: okapi"
    assert min(browser.view.page.links) == 10  # ids go on: an id names one result
    run(browser, "Scrolled down 1")
    assert browser.view.page.lines[0] == "Results 21–25 for: okapi"
    with pytest.raises(InvalidAction, match="end of the page"):
        run(browser, "Scrolled down 1")
    run(browser, "Back")
    assert browser.view.page.lines[0] == "Results 11–20 for: okapi"


def test_open_takes_a_page_title_and_suggests_close_ones():
    pages = {
        "https://e.org/ray.html": "<title>Ray Charles – Wiki</title><p>Singer.</p>",
        "https://e.org/hank.html": "<title>Hank Crawford – Wiki</title><p>Hank played "
        "with Ray Charles.</p>",
    }
    corpus = MemoryCorpus(pages)
    browser = Browser(WebLoader(corpus, corpus))
    outcome = run(browser, "Open Hank Crawford")
    assert outcome.url == "https://e.org/hank.html"
    with pytest.raises(InvalidAction, match="No page is titled 'Hank Crawfurd Ray'.*Hank Crawford"):
        run(browser, "Open Hank Crawfurd Ray")
    # A Wikipedia URL in an offline corpus opens the article of that title.
    assert run(browser, "Open https://en.wikipedia.org/wiki/Ray_Charles").url == (
        "https://e.org/ray.html"
    )
    assert run(browser, "Open hank.html").url == "https://e.org/hank.html"  # still a path


def test_a_result_opens_at_the_passage_that_matched_the_search(browser):
    run(browser, "Search retries default")
    outcome = run(browser, "Clicked on link 0")
    assert outcome.match_line is not None and browser.view.top > 10
    assert any("retries" in line for line in browser.window()[1])
    assert "best matches the search" in outcome.summary()


def test_browse_asks_again_for_an_empty_answer():
    from webqa.policies.human import HumanPolicy
    from webqa.records import Quote

    typed = iter(["", "   ", "Galle found it [1]."])
    shown: list[str] = []
    policy = HumanPolicy(lambda prompt: next(typed), shown.append)
    reply = policy.answer("Who?", [Quote("https://e.org/a", "A", "Galle found Neptune.")])
    assert reply.text == "Galle found it [1]."
    assert len(shown) == 3 and "answer is empty" in shown[-1] and "[1] A:" in shown[-1]


def test_results_drop_the_site_name_every_title_repeats():
    pages = {
        f"https://e.org/p{i}.html": f"<title>Topic {i} — Field Guide</title><p>okapi</p>"
        for i in range(4)
    }
    corpus = MemoryCorpus(pages)
    browser = Browser(WebLoader(corpus, corpus))
    run(browser, "Search okapi")
    lines = browser.view.page.lines
    assert "【0†Topic 0†e.org】" in lines[1] and "Field Guide" not in "\n".join(lines)
    assert browser.view.page.links[0].text == "Topic 0 — Field Guide"  # the link keeps it all


def test_the_line_a_find_landed_on_is_marked_and_a_quote_copied_with_the_mark_matches():
    corpus = Redirecting(PAGES)
    watch = Watching(
        ScriptedPolicy(
            [
                f"Open {DOC}",
                "Find in page: maximum number",
                "Quote: ▶ The maximum number of seconds to wait.",
                "End: Answer",
            ],
            "x [1]",
        )
    )
    answer = Agent(watch, WebLoader(corpus, corpus)).run("What is the timeout?")
    marked = [
        line for line in watch.seen[2].split("♦Text\n", 1)[1].splitlines() if line.startswith("▶ ")
    ]
    assert len(marked) == 1 and "maximum number" in marked[0]
    assert answer.citations[0].quote == "The maximum number of seconds to wait."


def test_runs_sharing_a_render_cache_render_a_page_once_even_at_the_same_time():
    import threading
    import time as _time

    from webqa.pages import RenderCache

    class Slow(MemoryCorpus):
        def fetch(self, url):
            _time.sleep(0.05)
            return super().fetch(url)

    corpus = Slow(PAGES)
    loader = WebLoader(corpus, corpus, cache=RenderCache())
    pages = []
    threads = [threading.Thread(target=lambda: pages.append(loader.open(DOC))) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert corpus.fetched == [DOC] and len({id(p) for p in pages}) == 1
