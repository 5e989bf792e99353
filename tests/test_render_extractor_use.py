"""The main-content extractor runs only on pages where its choice can matter."""

from __future__ import annotations

import subprocess
import sys

PROBE = """
import sys
from webqa.render.html import render_html
page = render_html(sys.stdin.read(), "http://example.com/a")
print("trafilatura" in sys.modules)
print("\\n".join(page.lines))
"""


def _render(html: str) -> tuple[bool, str]:
    out = subprocess.run(
        [sys.executable, "-c", PROBE],
        input=html,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    used, _, text = out.partition("\n")
    return used == "True", text


def test_a_page_of_plain_prose_is_shown_whole_without_the_extractor():
    html = (
        "<html><head><title>Crab Nebula</title></head><body><h1>Crab Nebula</h1>"
        "<p><i>Supernova remnant</i></p><p>The nebula was discovered by English astronomer "
        "<a href='Bevis.html'>John Bevis</a> in 1731.</p><ul><li>Taurus</li></ul>"
        "<p>Topic: Physical sciences</p></body></html>"
    )
    used, text = _render(html)
    assert not used
    assert "discovered by English astronomer" in text and "Topic: Physical sciences" in text


def test_a_page_with_containers_or_link_lists_still_goes_through_the_extractor():
    prose = " ".join(["The okapi lives in the rainforest of the Congo."] * 20)
    menu = "".join(f"<li><a href='/s{i}'>Section {i}</a></li>" for i in range(40))
    for body in (f"<div><p>{prose}</p></div>", f"<p>{prose}</p><ul>{menu}</ul>"):
        used, text = _render(f"<html><body>{body}</body></html>")
        assert used and "okapi lives" in text
