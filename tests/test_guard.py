"""The SSRF guard and the block list: unit checks, and fetches through a fake internet.

Guarded-mode fetches resolve public-looking names with an injected resolver and connect
through :class:`ToSite`, which sends every connection to one loopback server. So if a check
were missing, the request would really arrive there, and these tests would see it.
"""

from __future__ import annotations

import pytest

from tests.webserver import PUBLIC_IP, ToSite, fake_resolver, page, redirect, serve
from webqa.errors import BlockedError, FetchError
from webqa.records import SearchResult
from webqa.web.fetch import FetchConfig, HttpSource
from webqa.web.guard import DomainBlock, GuardedBackend, address_problem, check_scheme

REFUSED = [
    ("127.0.0.1", "loopback"),
    ("127.8.9.10", "loopback"),
    ("10.0.0.1", "private"),
    ("172.16.5.4", "private"),
    ("192.168.1.1", "private"),
    ("169.254.169.254", "metadata"),
    ("169.254.1.1", "link-local"),
    ("100.64.0.1", "shared"),
    ("224.0.0.1", "multicast"),
    ("0.0.0.0", "unspecified"),
    ("240.0.0.1", "reserved"),
    ("255.255.255.255", "reserved"),
    ("192.0.2.1", "private"),
    ("::1", "loopback"),
    ("::", "unspecified"),
    ("fe80::1", "link-local"),
    ("fe80::1%eth0", "link-local"),
    ("fc00::1", "private"),
    ("fd12:3456::1", "private"),
    ("ff02::1", "multicast"),
    ("::ffff:127.0.0.1", "loopback"),
    ("::ffff:10.1.2.3", "private"),
    ("::ffff:169.254.169.254", "metadata"),
    ("2002:7f00:1::", "loopback"),
    ("2002:a00:1::1", "private"),
    ("64:ff9b::7f00:1", "loopback"),
    ("64:ff9b::a9fe:a9fe", "metadata"),
    ("::7f00:1", "reserved"),
    ("2001:db8::1", "private"),
]
ALLOWED = [
    "93.184.215.14",
    "8.8.8.8",
    "1.1.1.1",
    "2606:4700:4700::1111",
    "2a00:1450:4001::200e",
    "::ffff:8.8.8.8",
    "64:ff9b::808:808",
    "2002:808:808::1",
]


@pytest.mark.parametrize("address,why", REFUSED)
def test_non_public_addresses_are_refused(address, why):
    assert why in address_problem(address)


@pytest.mark.parametrize("address", ALLOWED)
def test_public_addresses_pass(address):
    assert address_problem(address) is None


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "ftp://example.com/x",
        "gopher://example.com:70/",
        "data:text/html,<h1>hi</h1>",
        "javascript:alert(1)",
        "example.com/page",
        "http:///nohost",
    ],
)
def test_non_http_urls_are_refused(url):
    with pytest.raises(BlockedError, match="refused"):
        check_scheme(url)
    with pytest.raises(BlockedError):
        HttpSource(FetchConfig(allow_private=True)).fetch(url)


def test_file_url_is_refused_even_with_private_addresses_allowed():
    with pytest.raises(BlockedError, match="only http and https URLs can be fetched, not file:"):
        HttpSource(FetchConfig(allow_private=True)).fetch("file:///etc/passwd")


# -- fetches through the guard ------------------------------------------------------------------


def guarded(site, names: dict[str, list[str]], **config) -> tuple[HttpSource, ToSite]:
    """A guarded source on a fake internet where every connection reaches ``site``."""
    net = ToSite(site)
    src = HttpSource(
        FetchConfig(retries=0, **config), resolver=fake_resolver(names), network_backend=net
    )
    return src, net


def test_public_name_reaches_the_site_through_the_guard():
    with serve({"/": page("<p>public page</p>")}) as site:
        src, net = guarded(site, {"www.example.com": [PUBLIC_IP]})
        doc = src.fetch("http://www.example.com/")
    assert "public page" in doc.text and net.asked == [PUBLIC_IP]


def test_public_name_resolving_to_loopback_is_refused():
    with serve({"/": page("<p>secret admin page</p>")}) as site:
        src = HttpSource(
            FetchConfig(retries=0), resolver=fake_resolver({"evil.example": ["127.0.0.1"]})
        )
        with pytest.raises(
            BlockedError,
            match=(
                r"evil\.example resolves to 127\.0\.0\.1, a loopback address; "
                r"pass --allow-private"
            ),
        ):
            src.fetch(f"http://evil.example:{site.port}/")
    assert site.hits["/"] == 0


def test_literal_loopback_url_is_refused_by_default():
    with serve({"/": page("<p>secret</p>")}) as site:
        with pytest.raises(
            BlockedError, match=r"refused http://127\.0\.0\.1:\d+/: 127\.0\.0\.1 is a loopback"
        ):
            HttpSource(FetchConfig(retries=0)).fetch(site.url("/"))
    assert site.hits["/"] == 0


def test_only_checked_addresses_are_connected_to():
    # A DNS answer mixing private and public addresses: only the public one is used.
    with serve({"/": page("<p>ok</p>")}) as site:
        src, net = guarded(site, {"mixed.example": ["10.0.0.7", "127.0.0.1", PUBLIC_IP]})
        src.fetch("http://mixed.example/")
    assert net.asked == [PUBLIC_IP]


@pytest.mark.parametrize(
    "target",
    [
        "http://127.0.0.1/admin",
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.1/",
        "http://[::1]/",
        "http://[::ffff:127.0.0.1]/",
        "http://localhost.example/",
        "http://0.0.0.0/",
    ],
)
def test_redirect_to_a_private_address_is_refused(target):
    with serve(
        {
            "/go": redirect(target),
            "/admin": page("secret"),
            "/latest/meta-data/": page("secret"),
            "/": page("secret"),
        }
    ) as site:
        src, net = guarded(
            site, {"www.example.com": [PUBLIC_IP], "localhost.example": ["127.0.0.1"]}
        )
        with pytest.raises(BlockedError, match="refused") as info:
            src.fetch("http://www.example.com/go")
    assert net.asked == [PUBLIC_IP]  # the redirect's address was never connected to
    assert site.hits["/go"] == 1 and sum(site.hits.values()) == 1
    assert info.value.url == target


def test_redirect_to_file_scheme_is_refused():
    with serve({"/go": redirect("file:///etc/passwd")}) as site:
        src, _ = guarded(site, {"www.example.com": [PUBLIC_IP]})
        with pytest.raises(BlockedError, match="not file:"):
            src.fetch("http://www.example.com/go")


def test_allow_private_lets_loopback_through():
    with serve({"/": page("<p>intranet</p>")}) as site:
        assert "intranet" in HttpSource(FetchConfig(allow_private=True)).fetch(site.url("/")).text
        named = HttpSource(
            FetchConfig(allow_private=True), resolver=fake_resolver({"wiki.corp": ["127.0.0.1"]})
        )
        assert "intranet" in named.fetch(f"http://wiki.corp:{site.port}/").text


def test_unresolvable_name_is_a_fetch_error():
    with pytest.raises(FetchError, match="could not connect to nowhere.example .*cannot resolve"):
        HttpSource(FetchConfig(retries=0), resolver=fake_resolver({})).fetch(
            "http://nowhere.example/"
        )


def test_unix_sockets_are_refused():
    with pytest.raises(BlockedError, match="Unix socket"):
        GuardedBackend().connect_unix_socket("/var/run/docker.sock")


# -- block list -----------------------------------------------------------------------------------


def test_block_list_matches_domains_and_subdomains_only():
    block = DomainBlock()
    assert block.blocked("https://www.reddit.com/r/python") == "reddit.com"
    assert block.blocked("https://old.reddit.com/") == "reddit.com"
    assert block.blocked("https://QUORA.com./q") == "quora.com"
    assert block.blocked("https://notreddit.com/") is None
    assert block.blocked("https://example.com/reddit.com") is None
    assert DomainBlock(["Example.ORG"]).blocked("http://a.example.org/") == "example.org"


def test_block_list_filters_search_results():
    results = [
        SearchResult("a", "https://www.reddit.com/r/x"),
        SearchResult("b", "https://python.org/"),
        SearchResult("c", "javascript:alert(1)"),
        SearchResult("d", "https://quora.com/q"),
    ]
    assert [r.title for r in DomainBlock().filter(results)] == ["b"]
    assert [r.title for r in DomainBlock([]).filter(results)] == ["a", "b", "d"]


def test_blocked_domain_is_refused_before_connecting_and_after_redirects():
    with serve({"/go": redirect("https://old.reddit.com/r/x"), "/": page("reddit")}) as site:
        src, net = guarded(site, {"www.reddit.com": [PUBLIC_IP], "www.example.com": [PUBLIC_IP]})
        with pytest.raises(BlockedError, match="reddit.com is on the block list"):
            src.fetch("http://www.reddit.com/")
        assert net.asked == []
        with pytest.raises(BlockedError, match="reddit.com is on the block list"):
            src.fetch("http://www.example.com/go")
        open_src, _ = guarded(site, {"www.reddit.com": [PUBLIC_IP]}, blocked_domains=())
        assert open_src.fetch("http://www.reddit.com/").text == "reddit"
