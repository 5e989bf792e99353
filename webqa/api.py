"""The library entry point: :func:`ask`, and the factories behind it.

``ask`` wires a corpus or the live web, a policy, a browser, a trace and the agent, so one call
answers a question. People composing their own engine, source or policy use the classes
directly (see the README's "Library" section).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .agent import Agent, StepInfo
from .browser import Browser, Limits
from .errors import ConfigError
from .pages import PageCache, Pages
from .policies import Policy
from .protocols import DocumentSource, SearchEngine
from .records import Answer
from .trace import TraceWriter

__all__ = ["ask", "open_web", "make_policy", "policy_factory"]


def open_web(corpus: str | Path | None = None, *, engine: str | None = None,
             allow_private: bool = False, block: list[str] | None = None,
             searxng_url: str | None = None, check_network: bool = True,
             ) -> tuple[SearchEngine, DocumentSource]:
    """The search engine and page source: an offline corpus at ``corpus``, else the live web."""
    if corpus is not None:
        from .corpus import open_corpus

        found = open_corpus(corpus)
        return found, found
    from .web import check_network as _check
    from .web import open_live_web

    kwargs: dict[str, Any] = {"engine": engine, "allow_private": allow_private}
    if block is not None:
        kwargs["block"] = block
    if searxng_url:
        kwargs["searxng_url"] = searxng_url
    search, source = open_live_web(**kwargs)
    if check_network:
        _check(search)
    return search, source


def policy_factory(policy: str = "auto", *, model: str | None = None,
                   base_url: str | None = None, api_key: str | None = None,
                   temperature: float | None = None, seed: int | None = None,
                   timeout: float = 60.0,
                   warn: Callable[[str], None] | None = None) -> Callable[[], Policy]:
    """A maker of fresh policies by name: ``llm``, ``extractive``, or ``auto`` (an LLM when one
    is configured). The choice is made, and the LLM client built, once; runs share the client.
    """
    from .policies.extractive import ExtractivePolicy

    if policy not in ("auto", "llm", "extractive"):
        raise ConfigError(f"unknown policy {policy!r}: use auto, llm or extractive")
    if policy == "extractive":
        return ExtractivePolicy
    from .llm import ChatClient
    from .policies.llm import LLMPolicy

    client = ChatClient.from_env(model=model, base_url=base_url, api_key=api_key,
                                 temperature=temperature, seed=seed, timeout=timeout)
    if client is None:
        if policy == "llm":
            raise ConfigError("no LLM configured: pass --model / --base-url or set WEBQA_MODEL "
                              "or OPENAI_BASE_URL")
        (warn or _stderr)("webqa: no LLM configured (WEBQA_MODEL / OPENAI_BASE_URL); "
                          "using the extractive policy, which quotes pages without an LLM")
        return ExtractivePolicy
    return lambda: LLMPolicy(client)


def make_policy(policy: str = "auto", **options: Any) -> Policy:
    """One policy by name (see :func:`policy_factory` for the names and options)."""
    return policy_factory(policy, **options)()


def ask(question: str, *, corpus: str | Path | None = None, policy: str | Policy = "auto",
        model: str | None = None, base_url: str | None = None, api_key: str | None = None,
        temperature: float | None = None, seed: int | None = None, max_actions: int = 100,
        limits: Limits | None = None, trace: str | Path | bool | None = None,
        engine: str | SearchEngine | None = None, source: DocumentSource | None = None,
        on_step: Callable[[StepInfo], None] | None = None, cache: PageCache | None = None,
        **web_options: Any) -> Answer:
    """Answer ``question`` by browsing; every citation in the result is verbatim from a page.

    ``corpus`` is a folder, ``.zim`` or ``.warc`` path (omit it for the live web). ``policy`` is
    ``"auto"``, ``"llm"``, ``"extractive"`` or a Policy object. ``trace`` is a path, ``None``
    for the default location, or ``False`` for none. Pass ``engine`` and ``source`` objects to
    browse your own search engine and page source; ``cache`` shares rendered pages between
    runs over the same unchanging corpus (see :func:`webqa.batch.run_batch`).
    """
    if not question.strip():
        raise ConfigError("the question is empty")
    if isinstance(engine, str) or engine is None or source is None:
        engine, source = open_web(corpus, engine=engine if isinstance(engine, str) else None,
                                  **web_options)
    chosen = policy if not isinstance(policy, str) else make_policy(
        policy, model=model, base_url=base_url, api_key=api_key, temperature=temperature,
        seed=seed)
    writer = None if trace is False else TraceWriter(None if trace in (None, True) else trace)
    config = {"policy": chosen.name, "model": getattr(getattr(chosen, "client", None), "model", None),
              "engine": getattr(engine, "name", type(engine).__name__),
              "corpus": str(corpus) if corpus else None, "max_actions": max_actions,
              "limits": (limits or Limits()).__dict__}
    browser = Browser(Pages(engine, source, cache=cache), limits or Limits())
    agent = Agent(chosen, browser, max_actions=max_actions, trace=writer, on_step=on_step,
                  config=config)
    return agent.run(question)


def _stderr(message: str) -> None:
    print(message, file=sys.stderr)
