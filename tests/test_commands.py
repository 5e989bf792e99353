import pytest

from webqa.commands import Command, parse
from webqa.errors import FormatError


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Search tallest lighthouse", Command("search", "tallest lighthouse")),
        ("search: 'tallest lighthouse'", Command("search", "tallest lighthouse")),
        ("SEARCH Pharos", Command("search", "Pharos")),
        ("Clicked on link 3", Command("click", "3")),
        ("Click 3", Command("click", "3")),
        ("click on link 【12†Pharos】", Command("click", "12")),
        ("Open https://example.org/a", Command("open", "https://example.org/a")),
        ("Find in page: Ptolemy", Command("find", "Ptolemy")),
        ("find Ptolemy", Command("find", "Ptolemy")),
        (
            "Quote: It was completed around 280 BC.",
            Command("quote", "It was completed around 280 BC."),
        ),
        ("Quote: The Pharos━280 BC.", Command("quote", "The Pharos━280 BC.")),
        ("Scrolled down 2", Command("scroll_down", "2")),
        ("Scroll down", Command("scroll_down", "1")),
        ("scrolled up 3", Command("scroll_up", "3")),
        ("Top", Command("top")),
        ("back", Command("back")),
        ("End: Answer", Command("end", "answer")),
        ("End: Nonsense", Command("end", "nonsense")),
        ("end: controversial", Command("end", "controversial")),
        ("```\nScrolled down 1\n```", Command("scroll_down", "1")),
        ("Next action: Back", Command("back")),
        ("♦Next action\nTop", Command("top")),
        ("I should look at the first result.\nClicked on link 0", Command("click", "0")),
        ("  Top.  ", Command("top")),
    ],
)
def test_parse_forgiving_forms(text, expected):
    assert parse(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        ("   \n ", "empty"),
        ("I think the answer is 42", "Could not read a command"),
        ("Search pharos\nClicked on link 2", "several commands"),
        ("Scrolled down 9", "1, 2 or 3"),
        ("Clicked on link first", "needs a number"),
        ("Clicked on link " + "9" * 5000, "longer than the limit|needs a number"),
        ("Clicked on link " + "9" * 4300, "needs a number"),
        ("End", "End takes Answer"),
        ("End.", "End takes Answer"),
        ("end answer", "End takes Answer"),
        ("End: maybe", "Answer, Nonsense or Controversial"),
        ("Quote:", "needs an argument"),
        ("Search", "needs an argument"),
    ],
)
def test_parse_rejects_with_clear_message(text, message):
    with pytest.raises(FormatError, match=message):
        parse(text)


def test_quote_may_span_lines():
    assert parse("Quote: first line\nsecond line").arg == "first line\nsecond line"


@pytest.mark.parametrize(
    "cmd",
    [
        Command("search", "a b"),
        Command("click", "4"),
        Command("open", "https://x.org/"),
        Command("find", "x"),
        Command("quote", "y z"),
        Command("scroll_down", "2"),
        Command("scroll_up", "1"),
        Command("top"),
        Command("back"),
        Command("end", "answer"),
        Command("end", "nonsense"),
        Command("unquote", "2"),
    ],
)
def test_canonical_form_round_trips(cmd):
    assert parse(str(cmd)) == cmd


def test_one_table_drives_parser_browser_and_prompt():
    from webqa import prompts
    from webqa.browser import Browser
    from webqa.commands import SPECS

    kinds = {spec.kind for spec in SPECS}
    browser = Browser(loader=None)  # type: ignore[arg-type]
    assert set(browser._handlers) == kinds
    taught = {entry["kind"] for entry in prompts.commands()}
    assert taught == kinds
    # Every taught example parses to its own kind.
    for entry in prompts.commands():
        assert parse(entry["example"]).kind == entry["kind"]


def test_no_private_helper_is_reachable_by_a_command_name():
    from webqa.browser import Browser

    browser = Browser(loader=None)  # type: ignore[arg-type]
    with pytest.raises(KeyError):
        browser.execute(Command("require_view"))  # type: ignore[arg-type]
