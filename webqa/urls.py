"""URL helpers that also work for webqa's corpus schemes (``zim://``, ``local://``)."""

from __future__ import annotations

from urllib.parse import urldefrag, urljoin, urlsplit

__all__ = ["join", "domain", "strip_fragment", "CORPUS_SCHEMES"]

#: Schemes of offline corpora; urllib does not treat them as hierarchical, so join maps them.
CORPUS_SCHEMES = ("zim", "local")


def join(base: str, href: str) -> str:
    """Resolve ``href`` against ``base`` like a browser, for http(s) and corpus schemes alike."""
    scheme = urlsplit(base).scheme
    if scheme in CORPUS_SCHEMES:
        # Borrow http's rules for the join, then put the corpus scheme back.
        joined = urljoin("http" + base[len(scheme):], href)
        if joined.startswith("http://"):
            return scheme + joined[4:]
        return joined
    return urljoin(base, href)


def domain(url: str) -> str:
    """The host part of ``url`` ('' when it has none)."""
    return urlsplit(url).netloc


def strip_fragment(url: str) -> str:
    """``url`` without its ``#fragment``."""
    return urldefrag(url)[0]
