"""The live web: a search engine plus an HTTP page source, guarded and capped.

::

    engine, source = open_live_web(engine="searxng", searxng_url="http://localhost:8888")
    check_network(engine)             # fails fast, with a hint, when offline
    results = engine.search("who invented the telephone")
    doc = source.fetch(results[0].url)
"""

from __future__ import annotations

import ipaddress
import os
import socket
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from typing import Any

import httpx

from webqa.errors import ConfigError
from webqa.protocols import SearchEngine
from webqa.web.engines import ENGINES, make_engine
from webqa.web.fetch import FetchConfig, HttpSource
from webqa.web.guard import DEFAULT_BLOCK, DomainBlock

__all__ = [
    "open_live_web",
    "check_network",
    "FetchConfig",
    "HttpSource",
    "make_engine",
    "ENGINES",
    "DEFAULT_BLOCK",
]


def open_live_web(
    *,
    engine: str | SearchEngine | None = None,
    allow_private: bool = False,
    allow_metadata: bool = False,
    block: Iterable[str] | None = None,
    searxng_url: str | None = None,
    brave_api_key: str | None = None,
    config: FetchConfig | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    client: httpx.Client | None = None,
    env: Mapping[str, str] | None = None,
) -> tuple[SearchEngine, HttpSource]:
    """A search engine and a page source for the live web, sharing one block list.

    ``engine`` is an engine name (see :data:`ENGINES`; default ``$WEBQA_ENGINE`` or
    duckduckgo) or a ready :class:`SearchEngine`. ``block`` is the whole list of refused
    domains (with their subdomains); None means :data:`DEFAULT_BLOCK` (reddit.com, quora.com)
    and an empty list blocks nothing. ``allow_private`` lets fetches reach loopback and
    private addresses, but never the cloud metadata service (169.254.169.254 and kin), which
    only ``allow_metadata`` opens. ``client`` is for the search API only; the page source
    always builds its own guarded client.
    """
    domains = DEFAULT_BLOCK if block is None else tuple(block)
    config = replace(
        config or FetchConfig(),
        allow_private=allow_private,
        allow_metadata=allow_metadata,
        blocked_domains=domains,
    )
    if engine is None or isinstance(engine, str):
        engine = make_engine(
            engine,
            client=client,
            base_url=searxng_url,
            api_key=brave_api_key,
            block=DomainBlock(domains),
            env=env,
        )
    return engine, HttpSource(config, cache_dir=cache_dir)


def check_network(
    engine: SearchEngine | None = None,
    *,
    timeout: float = 2.0,
    resolve: Callable[[str], Any] | None = None,
) -> None:
    """Raise :class:`ConfigError` at once if the search engine's host cannot be looked up.

    One DNS lookup, bounded by ``timeout`` seconds: cheap, and enough to tell "offline" from
    "online" before a run starts. ``resolve`` replaces the lookup (tests).
    """
    name = getattr(engine, "name", "duckduckgo")
    host = getattr(engine, "host", "duckduckgo.com") or ""
    if not host or _is_ip(host):
        return  # an address needs no lookup; the first search will tell
    resolve = resolve or (lambda h: socket.getaddrinfo(h, 443, type=socket.SOCK_STREAM))
    outcome: list[BaseException | None] = []

    def lookup() -> None:
        try:
            resolve(host)
            outcome.append(None)
        except Exception as exc:  # whatever the resolver raises means the same: offline
            outcome.append(exc)

    # getaddrinfo has no timeout of its own, so it runs in a thread that is not waited for.
    worker = threading.Thread(target=lookup, name="webqa-dns-check", daemon=True)
    worker.start()
    worker.join(timeout)
    if outcome and outcome[0] is None:
        return
    why = f"{outcome[0]}" if outcome else f"no answer within {timeout:g} s"
    raise ConfigError(
        f"no network: cannot reach the search engine {name} (looking up {host} failed: {why}); "
        "use --corpus PATH to answer from an offline corpus"
    )


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True
