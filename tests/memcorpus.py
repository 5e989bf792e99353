"""An in-memory corpus for tests: pages by URL, naive keyword search."""

from __future__ import annotations

import re

from webqa.errors import FetchError
from webqa.records import Document, SearchResult


class MemoryCorpus:
    """Search and serve a dict of ``url -> html``; search ranks by shared words."""

    name = "memory"

    def __init__(self, pages: dict[str, str], content_type: str = "text/html") -> None:
        self.pages = pages
        self.content_type = content_type
        self.fetched: list[str] = []

    def search(self, query: str, limit: int = 10) -> list[SearchResult]:
        words = set(re.findall(r"\w+", query.lower()))
        scored = []
        for url, html in self.pages.items():
            text = re.sub(r"<[^>]+>", " ", html).lower()
            score = sum(text.count(w) for w in words)
            if score:
                title = re.search(r"<title>(.*?)</title>", html, re.S)
                scored.append((-score, url, title.group(1) if title else url))
        scored.sort()
        return [SearchResult(t, u, "") for _, u, t in scored[:limit]]

    def fetch(self, url: str) -> Document:
        self.fetched.append(url)
        if url not in self.pages:
            raise FetchError(f"not in this corpus: {url}", url=url)
        return Document(url, self.content_type, text=self.pages[url])


SITE = {
    "https://example.org/index.html": """<html><head><title>Lighthouses</title></head><body>
<nav><a href="/about.html">About us</a></nav>
<main><h1>Lighthouses</h1>
<p>The <a href="/pharos.html">Pharos of Alexandria</a> was one of the Seven Wonders.
See also <a href="https://other.net/eddystone">Eddystone</a> and <a href="#top">top</a>.</p>
<p>Modern lighthouses use <a href="/lens.html">Fresnel lenses</a>.</p>
</main><footer>Copyright footer text</footer></body></html>""",
    "https://example.org/pharos.html": """<html><head><title>Pharos of Alexandria</title></head>
<body><main><h1>Pharos of Alexandria</h1>
<p>The Pharos of Alexandria was built by the Ptolemaic Kingdom during the reign of Ptolemy II
Philadelphus. It was completed around 280 BC. Estimates of its height range from 100 to 130 metres.</p>
<table class="infobox"><tr><th>Location</th><td>Pharos island, Alexandria</td></tr>
<tr><th>Height</th><td>about 100 m</td></tr></table>
<p>It was badly damaged by earthquakes between 956 and 1323 AD.</p>
<p>Back to <a href="index.html">Lighthouses</a>.</p></main></body></html>""",
    "https://example.org/lens.html": """<html><head><title>Fresnel lens</title></head><body>
<main><h1>Fresnel lens</h1><p>The Fresnel lens was invented by Augustin-Jean Fresnel in 1822.
It allowed light to be seen from much farther away.</p>
<ul><li>First order lenses are the largest.</li><li>Sixth order lenses are the smallest.</li></ul>
</main></body></html>""",
}


class Watching:
    """A policy wrapper that records every observation text it is shown (across runs)."""

    def __init__(self, inner, seen=None):
        self.inner, self.name = inner, inner.name
        self.seen = [] if seen is None else seen

    def start(self, question):
        return Watching(self.inner.start(question), self.seen)

    def act(self, obs):
        self.seen.append(obs.text)
        return self.inner.act(obs)

    def answer(self, question, quotes, feedback=None):
        return self.inner.answer(question, quotes, feedback)
