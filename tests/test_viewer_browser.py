"""The HTML trace viewer, checked in a real headless Chromium on the rendered page: links that
resolve, [n] markers that reach their references, cited and uncited references styled apart,
quotes highlighted in their pages, usage shown, no 【】 glyphs left to render as boxes, and an
interrupted run's quotes shown."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from webqa.trace import check_events
from webqa.tracetools import trace_html

DEMOS = Path(__file__).parent.parent / "demos" / "traces"
MOON = DEMOS / "largest-moon.jsonl"

# Runs in the page after layout; its verdict replaces the body, which --dump-dom prints.
PROBE = r"""
<script>
window.addEventListener('load', () => {
  const out = {};
  const links = [...document.querySelectorAll('a[href]')];
  out.links = links.length;
  out.dead = links.map(a => a.getAttribute('href'))
    .filter(h => h.startsWith('#') ? !document.getElementById(decodeURIComponent(h.slice(1)))
                                   : !/^https?:/.test(h));
  const answer = document.querySelector('#answer');
  out.markers = answer ? [...answer.querySelectorAll('a')].map(a => a.getAttribute('href')) : [];
  const style = sel => { const e = document.querySelector(sel); if (!e) return null;
    const s = getComputedStyle(e); return [s.color, s.backgroundColor, s.borderLeftColor,
                                           s.opacity, s.fontStyle].join('|'); };
  out.cited = style('li.ref.cited'); out.uncited = style('li.ref.uncited');
  const marks = [...document.querySelectorAll('#pages mark')];
  out.marks = marks.length;
  out.markBackgrounds = [...new Set(marks.map(m => getComputedStyle(m).backgroundColor))];
  document.querySelectorAll('details').forEach(d => d.open = true);
  const text = document.body.innerText;
  out.brackets = (text.match(/[\u3010\u3011]/g) || []).length;
  out.obsLabel = text.includes('Observation shown before this action');
  out.usageRows = document.querySelectorAll('#usage tr').length;
  out.quotes = document.querySelectorAll('#quotes li').length;
  out.status = (document.querySelector('#status') || {}).innerText || '';
  document.body.innerHTML = '<pre id="verdict"></pre>';
  document.getElementById('verdict').textContent = JSON.stringify(out);
});
</script>
"""


def _chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if not found:
        pytest.fail("Chromium is needed for the viewer check (.ci/run installs Debian's chromium)")
    return found


def _render(html: str, tmp_path: Path) -> dict:
    page = tmp_path / "trace.html"
    page.write_text(html.replace("</body>", PROBE + "</body>"), encoding="utf-8")
    done = subprocess.run(
        [
            _chromium(),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            f"--user-data-dir={tmp_path / 'profile'}",
            "--virtual-time-budget=5000",
            "--dump-dom",
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=50,
    )
    dom = done.stdout
    start = dom.find('<pre id="verdict">')
    assert start >= 0, f"the probe did not run: {done.stderr[-2000:]}"
    text = dom[start + len('<pre id="verdict">') : dom.index("</pre>", start)]
    return json.loads(
        text.replace("&quot;", '"').replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">")
    )


def _events(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines()]


def test_a_finished_run_renders_as_a_reviewable_page(tmp_path):
    html = trace_html(check_events(_events(MOON)))
    v = _render(html, tmp_path)
    assert v["links"] > 5 and v["dead"] == []
    assert v["markers"] and all(h.startswith("#ref-") for h in v["markers"])
    assert v["cited"] and v["uncited"] and v["cited"] != v["uncited"]
    assert v["marks"] >= 1 and all(
        b not in ("rgba(0, 0, 0, 0)", "transparent") for b in v["markBackgrounds"]
    )
    assert v["brackets"] == 0
    assert v["obsLabel"] and v["usageRows"] >= 3
    assert "answered" in v["status"]


def test_an_interrupted_run_shows_the_quotes_it_had(tmp_path):
    events = _events(MOON)
    last_quote = max(
        i
        for i, e in enumerate(events)
        if e.get("type") == "step" and str(e.get("command", "")).startswith("Quote")
    )
    cut = events[: last_quote + 1]
    v = _render(trace_html(check_events(cut)), tmp_path)
    assert v["quotes"] >= 1 and v["dead"] == [] and v["brackets"] == 0
    assert "cut off" in v["status"].lower() or "stopped" in v["status"].lower()
