"""URL helpers that also work for webqa's corpus schemes (``zim://``, ``local://``).

None of them raises: pages hold any text in their links (``http://[``, ``http://[::1``,
NUL bytes, lone surrogates), and a bad link must cost that link, not the page. A URL that
cannot be parsed is passed through as written, so fetching it later fails with a
:class:`~webqa.errors.FetchError` that quotes it.
"""

from __future__ import annotations

import logging
import re
from urllib.parse import urldefrag, urljoin, urlsplit

__all__ = ["join", "domain", "strip_fragment", "CORPUS_SCHEMES"]

#: Schemes of offline corpora; urllib does not treat them as hierarchical, so join maps them.
CORPUS_SCHEMES = ("zim", "local")

log = logging.getLogger("webqa.web")

#: The authority of a URL by plain scanning, for URLs urllib refuses to split.
_AUTHORITY = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://([^/?#]*)")


def join(base: str, href: str) -> str:
    """Resolve ``href`` against ``base`` like a browser, for http(s) and corpus schemes alike.

    When either cannot be parsed, ``href`` comes back as written (stripped).
    """
    try:
        scheme = urlsplit(base).scheme
        if scheme in CORPUS_SCHEMES:
            # Borrow http's rules for the join, then put the corpus scheme back.
            joined = urljoin("http" + base[len(scheme) :], href)
            if joined.startswith("http://"):
                return scheme + joined[4:]
            return joined
        return urljoin(base, href)
    except ValueError as exc:  # "Invalid IPv6 URL" and kin
        log.debug("cannot resolve %r against %r (%s); keeping it as written", href, base, exc)
        return href.strip()


def domain(url: str) -> str:
    """The host part of ``url`` ('' when it has none), even for a URL urllib cannot split."""
    try:
        return urlsplit(url).netloc
    except ValueError:
        m = _AUTHORITY.match(url)
        return m.group(1).rpartition("@")[2] if m else ""


def strip_fragment(url: str) -> str:
    """``url`` without its ``#fragment``."""
    try:
        return urldefrag(url)[0]
    except ValueError:
        return url.partition("#")[0]
