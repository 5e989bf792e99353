"""Search engine adapters against loopback servers replaying the APIs' real JSON shapes."""

from __future__ import annotations

import json
import threading
import time

import httpx
import pytest
from ddgs.exceptions import DDGSException, RatelimitException, TimeoutException

from tests.webserver import page, send, sequence, serve, status
from webqa.errors import ConfigError, SearchError
from webqa.protocols import SearchEngine
from webqa.retry import RetryPolicy
from webqa.web import check_network, open_live_web
from webqa.web.engines import Brave, DuckDuckGo, SearXNG, make_engine
from webqa.web.fetch import HttpSource
from webqa.web.guard import DomainBlock

# Shapes as the APIs answer (trimmed to a few results; fields webqa ignores kept on purpose).
SEARXNG_JSON = {
    "query": "python",
    "number_of_results": 0,
    "results": [
        {
            "url": "https://www.python.org/",
            "title": "Welcome to Python.org",
            "content": "The official home of the Python Programming Language",
            "publishedDate": None,
            "thumbnail": "",
            "engine": "duckduckgo",
            "template": "default.html",
            "parsed_url": ["https", "www.python.org", "/", "", "", ""],
            "img_src": "",
            "priority": "",
            "engines": ["duckduckgo", "brave"],
            "positions": [1, 1],
            "score": 4.0,
            "category": "general",
        },
        {
            "url": "https://www.reddit.com/r/Python/",
            "title": "r/Python",
            "content": "News about Python",
            "engine": "brave",
            "engines": ["brave"],
            "positions": [2],
            "score": 0.5,
            "category": "general",
        },
        {
            "url": "https://en.wikipedia.org/wiki/Python_(programming_language)",
            "title": "Python (programming language) - Wikipedia",
            "content": "Python is a high-level, general-purpose programming language &amp; more.",
            "engine": "wikipedia",
            "engines": ["wikipedia"],
            "positions": [3],
            "score": 0.3,
            "category": "general",
        },
    ],
    "answers": [],
    "corrections": [],
    "infoboxes": [],
    "suggestions": ["python download"],
    "unresponsive_engines": [["google", "timeout"]],
}
BRAVE_JSON = {
    "query": {
        "original": "python",
        "show_strict_warning": False,
        "is_navigational": True,
        "spellcheck_off": True,
        "country": "us",
        "more_results_available": True,
    },
    "mixed": {
        "type": "mixed",
        "main": [{"type": "web", "index": 0, "all": False}],
        "top": [],
        "side": [],
    },
    "type": "search",
    "web": {
        "type": "search",
        "family_friendly": True,
        "results": [
            {
                "title": "Welcome to <strong>Python</strong>.org",
                "url": "https://www.python.org/",
                "is_source_local": False,
                "description": (
                    "The official home of the <strong>Python</strong> Programming Language"
                ),
                "profile": {
                    "name": "Python",
                    "url": "https://www.python.org/",
                    "long_name": "python.org",
                },
                "language": "en",
                "family_friendly": True,
                "type": "search_result",
                "subtype": "generic",
                "meta_url": {
                    "scheme": "https",
                    "netloc": "python.org",
                    "hostname": "www.python.org",
                    "path": "",
                },
            },
            {
                "title": "Python - Quora",
                "url": "https://www.quora.com/topic/Python",
                "description": "Q&amp;A",
            },
            {
                "title": "Python tutorial",
                "url": "https://docs.python.org/3/tutorial/",
                "description": "Start here.",
            },
        ],
    },
}
BRAVE_ERROR = {
    "type": "ErrorResponse",
    "error": {
        "id": "7d4b…",
        "status": 422,
        "code": "SUBSCRIPTION_TOKEN_INVALID",
        "detail": "The provided subscription token is invalid.",
        "meta": {"component": "authentication"},
    },
    "time": 1,
}
BRAVE_429 = {
    "type": "ErrorResponse",
    "error": {
        "id": "9a1c…",
        "status": 429,
        "code": "RATE_LIMITED",
        "detail": "Request rate limit exceeded for plan.",
        "meta": {"plan": "Free", "rate_limit": 1, "rate_current": 1, "component": "rate_limiter"},
    },
    "time": 1,
}


def json_page(data, code=200, headers=None):
    body = json.dumps(data).encode()
    return lambda h: send(h, code, body, "application/json", headers)


def retry_policy(sleeps: list[float]) -> RetryPolicy:
    return RetryPolicy(attempts=3, backoff=1.0, max_wait=20.0, sleep=sleeps.append)


# -- SearXNG ---------------------------------------------------------------------------------


def searxng(site, sleeps=None) -> SearXNG:
    return SearXNG(
        site.base + "/",
        client=httpx.Client(),
        retry=retry_policy(sleeps if sleeps is not None else []),
    )


def test_searxng_results_and_block_list():
    with serve({"/search": json_page(SEARXNG_JSON)}) as site:
        results = searxng(site).search("python", limit=5)
        assert isinstance(searxng(site), SearchEngine)
    assert [r.url for r in results] == [
        "https://www.python.org/",
        "https://en.wikipedia.org/wiki/Python_(programming_language)",
    ]
    assert results[0].title == "Welcome to Python.org"
    assert (
        results[1].snippet == "Python is a high-level, general-purpose programming language & more."
    )
    path = site.requests[0][0]
    assert path.startswith("/search?") and "q=python" in path and "format=json" in path


def test_searxng_limit():
    with serve({"/search": json_page(SEARXNG_JSON)}) as site:
        assert len(searxng(site).search("python", limit=1)) == 1


def test_searxng_403_explains_the_json_setting():
    with serve({"/search": status(403, body=b"Forbidden")}) as site:
        with pytest.raises(SearchError, match=r"search\.formats: \[html, json\]") as info:
            searxng(site).search("python")
    assert "SearXNG" in str(info.value) and site.hits["/search"] == 1


def test_searxng_429_honours_retry_after_then_succeeds():
    route = sequence(status(429, {"Retry-After": "3"}), json_page(SEARXNG_JSON))
    with serve({"/search": route}) as site:
        sleeps: list[float] = []
        assert len(searxng(site, sleeps).search("python")) == 2
    assert sleeps == [3.0]


def test_searxng_500_is_an_error_naming_the_engine_and_503_is_retried():
    with serve({"/search": status(500)}) as site:
        with pytest.raises(SearchError, match=r"SearXNG failed: HTTP 500 Internal Server Error"):
            searxng(site).search("python")
        assert site.hits["/search"] == 1
    with serve({"/search": status(503)}) as site:
        sleeps: list[float] = []
        with pytest.raises(SearchError, match="HTTP 503"):
            searxng(site, sleeps).search("python")
        assert site.hits["/search"] == 3 and sleeps == [1.0, 2.0]


def test_searxng_no_results_because_engines_failed():
    failed = {
        "query": "x",
        "results": [],
        "unresponsive_engines": [["google", "Suspended: too many requests"]],
    }
    with serve({"/search": json_page(failed), "/empty": json_page({"results": []})}) as site:
        with pytest.raises(
            SearchError, match="engines failed: google \\(Suspended: too many requests\\)"
        ):
            searxng(site).search("x")


def test_searxng_not_json_and_unreachable():
    with serve({"/search": page("<html>login</html>")}) as site:
        with pytest.raises(SearchError, match="not JSON"):
            searxng(site).search("x")
    port = site.port  # closed now: nothing listens there
    sleeps: list[float] = []
    engine = SearXNG(f"http://127.0.0.1:{port}", client=httpx.Client(), retry=retry_policy(sleeps))
    with pytest.raises(SearchError, match="cannot reach SearXNG at http://127.0.0.1"):
        engine.search("x")
    assert len(sleeps) == 2


# -- Brave ----------------------------------------------------------------------------------------


def brave(site, sleeps=None) -> Brave:
    return Brave(
        "test-key",
        base_url=site.base,
        client=httpx.Client(),
        retry=retry_policy(sleeps if sleeps is not None else []),
    )


def test_brave_results_key_and_markup():
    with serve({"/res/v1/web/search": json_page(BRAVE_JSON)}) as site:
        results = brave(site).search("python", limit=10)
    assert [r.url for r in results] == [
        "https://www.python.org/",
        "https://docs.python.org/3/tutorial/",
    ]
    assert results[0].title == "Welcome to Python.org"
    assert results[0].snippet == "The official home of the Python Programming Language"
    path, headers = site.requests[0]
    assert headers["x-subscription-token"] == "test-key" and "q=python" in path


def test_brave_invalid_key_shows_the_api_detail():
    with serve({"/res/v1/web/search": json_page(BRAVE_ERROR, 422)}) as site:
        with pytest.raises(
            SearchError, match="Brave Search failed: HTTP 422 .*subscription token is invalid"
        ):
            brave(site).search("python")
    with serve({"/res/v1/web/search": status(401, body=b"")}) as site:
        with pytest.raises(SearchError, match="HTTP 401 Unauthorized.*check BRAVE_API_KEY"):
            brave(site).search("python")


def test_brave_429_uses_ratelimit_reset_then_succeeds():
    route = sequence(
        json_page(BRAVE_429, 429, {"X-RateLimit-Reset": "3, 1419704"}), json_page(BRAVE_JSON)
    )
    with serve({"/res/v1/web/search": route}) as site:
        sleeps: list[float] = []
        assert len(brave(site, sleeps).search("python")) == 2
    assert sleeps == [3.0]


def test_brave_429_for_too_long_fails_with_the_wait():
    with serve({"/res/v1/web/search": json_page(BRAVE_429, 429, {"Retry-After": "86400"})}) as site:
        with pytest.raises(
            SearchError, match="rate limited; it asks to wait 86400 s.*rate limit exceeded"
        ):
            brave(site).search("python")
        assert site.hits["/res/v1/web/search"] == 1


def test_brave_without_key_is_a_config_error():
    with pytest.raises(ConfigError, match="BRAVE_API_KEY"):
        Brave("")
    with pytest.raises(ConfigError, match="BRAVE_API_KEY"):
        make_engine("brave", env={})


# -- DuckDuckGo (ddgs faked) ---------------------------------------------------------------------


class FakeDDGS:
    """Stands in for ``ddgs.DDGS``: answers from a script of results or exceptions."""

    script: list = []
    calls: list = []

    def __init__(self, timeout=None):
        self.timeout = timeout

    def text(self, query, **kwargs):
        FakeDDGS.calls.append((query, kwargs))
        outcome = FakeDDGS.script.pop(0) if len(FakeDDGS.script) > 1 else FakeDDGS.script[0]
        if isinstance(outcome, Exception):
            raise outcome
        return outcome


DDG_ROWS = [
    {
        "title": "Welcome to Python.org",
        "href": "https://www.python.org/",
        "body": "The official home",
    },
    {"title": "r/Python", "href": "https://old.reddit.com/r/Python", "body": "forum"},
    {"title": "Python &amp; you", "href": "https://example.org/py", "body": "<b>bold</b> claim"},
]


def ddg(*script, sleeps=None) -> DuckDuckGo:
    FakeDDGS.script, FakeDDGS.calls = list(script), []
    return DuckDuckGo(
        ddgs_factory=FakeDDGS,
        retry=RetryPolicy(attempts=2, sleep=(sleeps if sleeps is not None else []).append),
    )


def test_duckduckgo_results_and_block_list():
    results = ddg(DDG_ROWS).search("python", limit=5)
    assert [r.url for r in results] == ["https://www.python.org/", "https://example.org/py"]
    assert results[1].title == "Python & you" and results[1].snippet == "bold claim"
    query, kwargs = FakeDDGS.calls[0]
    assert query == "python" and kwargs["max_results"] >= 5


def test_a_duckduckgo_search_that_never_ends_is_cut_at_its_total_timeout():
    release = threading.Event()

    class Stuck:
        """ddgs trying one backend after another, each slow but within its own timeout."""

        def __init__(self, timeout=None):
            self.timeout = timeout

        def text(self, query, **kwargs):
            release.wait(30)
            return DDG_ROWS

    sleeps: list[float] = []
    engine = DuckDuckGo(
        ddgs_factory=Stuck, timeout=0.3, retry=RetryPolicy(attempts=2, sleep=sleeps.append)
    )
    started = time.monotonic()
    try:
        with pytest.raises(SearchError, match=r"did not answer within 0.3 s"):
            engine.search("python")
    finally:
        release.set()
    assert time.monotonic() - started < 5  # one try, cut at 0.3 s: not retried, not 30 s
    assert sleeps == []


def test_duckduckgo_no_results_is_an_empty_list():
    assert ddg(DDGSException("No results found.")).search("zzz") == []


def test_duckduckgo_rate_limit_is_retried_then_named():
    sleeps: list[float] = []
    engine = ddg(RatelimitException("https://duckduckgo.com 202 Ratelimit"), sleeps=sleeps)
    with pytest.raises(SearchError, match="DuckDuckGo is rate-limiting searches.*--engine searxng"):
        engine.search("python")
    assert len(FakeDDGS.calls) == 2 and len(sleeps) == 1
    assert (
        ddg(RatelimitException("x"), DDG_ROWS).search("python")[0].title == "Welcome to Python.org"
    )


@pytest.mark.parametrize(
    "exc,match",
    [
        (TimeoutException("timed out"), "did not answer in time"),
        (DDGSException("boom"), "search failed \\(boom\\)"),
        (RuntimeError("parser broke"), "RuntimeError: parser broke"),
    ],
)
def test_duckduckgo_failures_become_search_errors(exc, match):
    with pytest.raises(SearchError, match="DuckDuckGo.*" + match):
        ddg(exc).search("python")


# -- factory, network check, open_live_web ------------------------------------------------------


def test_make_engine_names_and_environment():
    assert make_engine(env={}).name == "duckduckgo"
    assert (
        make_engine(env={"WEBQA_ENGINE": "searxng", "SEARXNG_URL": "http://localhost:8888"}).name
        == "searxng"
    )
    assert make_engine("brave", env={"BRAVE_API_KEY": "k"}).name == "brave"
    assert make_engine("SearXNG", base_url="http://127.0.0.1:1", env={}).host == "127.0.0.1"
    with pytest.raises(ConfigError, match="SEARXNG_URL"):
        make_engine("searxng", env={})
    with pytest.raises(ConfigError, match="retired on 11 August 2025.*duckduckgo, searxng, brave"):
        make_engine("bing", env={})
    with pytest.raises(
        ConfigError,
        match="unknown search engine 'google'; choose one of: duckduckgo, searxng, brave",
    ):
        make_engine("google", env={})


def test_make_engine_applies_the_block_list():
    with serve({"/search": json_page(SEARXNG_JSON)}) as site:
        engine = make_engine(
            "searxng",
            base_url=site.base,
            client=httpx.Client(),
            env={},
            block=DomainBlock(["python.org"]),
        )
        urls = [r.url for r in engine.search("python")]
    assert urls == [
        "https://www.reddit.com/r/Python/",
        "https://en.wikipedia.org/wiki/Python_(programming_language)",
    ]


def test_check_network_fails_fast_with_a_hint():
    def offline(host):
        raise OSError("Temporary failure in name resolution")

    with pytest.raises(
        ConfigError, match="no network: cannot reach the search engine duckduckgo .*--corpus PATH"
    ):
        check_network(resolve=offline)
    never = threading.Event()
    with pytest.raises(ConfigError, match="no answer within 0.05 s"):
        check_network(timeout=0.05, resolve=lambda host: never.wait(5))
    seen = []
    check_network(resolve=seen.append)
    assert seen == ["duckduckgo.com"]
    engine = make_engine("brave", env={"BRAVE_API_KEY": "k"})
    check_network(engine, resolve=seen.append)
    assert seen[-1] == "api.search.brave.com"
    never.set()


def test_open_live_web():
    engine, source = open_live_web(engine="searxng", searxng_url="http://127.0.0.1:9", env={})
    assert engine.name == "searxng" and isinstance(source, HttpSource)
    assert source.config.blocked_domains == ("reddit.com", "quora.com")
    assert not source.config.allow_private
    _, mine = open_live_web(engine=engine, block=["example.net"])
    assert mine.config.blocked_domains == ("example.net",)
    _, open_source = open_live_web(engine=engine, block=[], allow_private=True)
    assert open_source.config.blocked_domains == () and open_source.config.allow_private


def test_open_live_web_block_list_reaches_the_engine():
    with serve({"/search": json_page(SEARXNG_JSON)}) as site:
        engine, _ = open_live_web(
            engine="searxng", searxng_url=site.base, block=["wikipedia.org"], env={}
        )
        urls = [r.url for r in engine.search("python")]
    assert urls == ["https://www.python.org/", "https://www.reddit.com/r/Python/"]
