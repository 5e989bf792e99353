"""The one assembly point: :class:`Session` builds runs for the CLI, the library, batches and
servers alike; :func:`ask` is one question through a session opened and closed around it.

A session opens the long-lived parts once — the corpus or the live web, the LLM client, the
render cache — and closes what it opened (never what the caller passed in). Each question is a
fresh run (see :class:`webqa.agent.Agent`), and every run's trace records the session's whole
configuration, so any trace replays.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from . import prompts
from .agent import Agent, StepInfo, TraceTo
from .browser import Limits
from .errors import ConfigError
from .pages import RenderCache, WebLoader
from .paths import llm_configured
from .policies import Policy
from .protocols import DocumentSource, SearchEngine
from .records import Answer

__all__ = ["Session", "ask", "PROTOCOLS"]

log = logging.getLogger("webqa")

#: How a model drives the browser: WebGPT's text commands, or the same commands as function
#: tools (:mod:`webqa.policies.tools`).
PROTOCOLS = ("text", "tools")

#: Said once when no LLM is configured and the extractive policy runs instead.
NO_LLM = (
    "webqa: no LLM configured (WEBQA_MODEL / OPENAI_BASE_URL); using the extractive "
    "policy, which quotes pages without an LLM"
)


class Session:
    """A configured webqa that answers any number of questions (thread-safe).

    Where the pages come from: ``corpus`` (a folder, ``.zim`` or ``.warc`` path) or the live
    web, searched with ``engine`` (a name, or your own :class:`~webqa.protocols.SearchEngine`)
    and fetched by ``source`` (your own :class:`~webqa.protocols.DocumentSource`, else the
    corpus or the guarded HTTP fetcher). Engine and source are independent: pass either.

    Who browses: ``policy`` is ``"auto"`` (an LLM when one is configured, else extractive),
    ``"llm"``, ``"extractive"`` or a :class:`~webqa.policies.Policy` object; ``model``,
    ``base_url``, ``api_key``, ``temperature``, ``seed`` and ``timeout`` configure the LLM
    (falling back to ``WEBQA_MODEL``, ``OPENAI_BASE_URL``, ``OPENAI_API_KEY``).

    ``notice`` receives the one-line messages a person should see once (which model is used,
    or that none is configured); library use without it only logs them.
    """

    def __init__(
        self,
        *,
        corpus: str | os.PathLike[str] | None = None,
        engine: str | SearchEngine | None = None,
        source: DocumentSource | None = None,
        policy: str | Policy = "auto",
        model: str | None = None,
        base_url: str | None = None,
        api_key: str | None = None,
        temperature: float | None = None,
        seed: int | None = None,
        timeout: float = 60.0,
        max_actions: int = 100,
        max_failures: int = 10,
        limits: Limits | None = None,
        protocol: str = "text",
        trace: TraceTo = None,
        cache: RenderCache | bool | None = None,
        allow_private: bool = False,
        allow_metadata: bool = False,
        block: list[str] | None = None,
        searxng_url: str | None = None,
        check_network: bool = True,
        on_step: Callable[[StepInfo], None] | None = None,
        notice: Callable[[str], None] | None = None,
    ) -> None:
        if max_actions < 1 or max_failures < 1:
            raise ConfigError("max_actions and max_failures must be at least 1")
        if protocol not in PROTOCOLS:
            raise ConfigError(f"unknown protocol {protocol!r}: use {', '.join(PROTOCOLS)}")
        self._notice = notice or (lambda text: log.info("%s", text))
        self._closers: list[Callable[[], None]] = []
        try:
            engine_obj, source_obj, where = self._open_pages(
                corpus,
                engine,
                source,
                allow_private=allow_private,
                allow_metadata=allow_metadata,
                block=block,
                searxng_url=searxng_url,
                check_network=check_network,
            )
            policy_obj, model_info = self._open_policy(
                policy,
                protocol=protocol,
                model=model,
                base_url=base_url,
                api_key=api_key,
                temperature=temperature,
                seed=seed,
                timeout=timeout,
            )
        except BaseException:
            self.close()
            raise
        if cache is None or cache is True:
            # Pages of an offline corpus never change, so runs share their renders; the live
            # web's may change between runs.
            cache = RenderCache() if corpus is not None or cache is True else None
        self.limits = limits or Limits()
        self.config: dict[str, Any] = {
            "policy": policy_obj.name,
            **model_info,
            **where,
            "protocol": protocol,
            "prompts": prompts.digests(),
        }
        # An empty cache has length 0: test its type, not its truth.
        shared = cache if isinstance(cache, RenderCache) else None
        self.agent = Agent(
            policy_obj,
            WebLoader(engine_obj, source_obj, cache=shared),
            limits=self.limits,
            max_actions=max_actions,
            max_failures=max_failures,
            trace=trace,
            on_step=on_step,
            config=self.config,
        )

    # -- assembly -------------------------------------------------------------------------
    def _open_pages(
        self,
        corpus: str | os.PathLike[str] | None,
        engine: str | SearchEngine | None,
        source: DocumentSource | None,
        **web: Any,
    ) -> tuple[SearchEngine, DocumentSource, dict[str, Any]]:
        if corpus is not None:
            from .corpus import open_corpus

            found = open_corpus(corpus)
            self._closers.append(found.close)
            if isinstance(engine, str):
                raise ConfigError(
                    f"--engine {engine} searches the live web; with --corpus "
                    "the corpus is the search engine"
                )
            engine_obj, source_obj = engine or found, source or found
            where: dict[str, Any] = {
                "corpus": str(Path(corpus).expanduser().resolve()),
                "corpus_kind": found.kind,
            }
        else:
            engine_obj, source_obj = self._open_live(engine, source, **web)
            where = {
                "corpus": None,
                "allow_private": web["allow_private"],
                "allow_metadata": web["allow_metadata"],
                "block": web["block"],
            }
        where["engine"] = getattr(engine_obj, "name", type(engine_obj).__name__)
        where["source"] = type(source_obj).__name__
        return engine_obj, source_obj, where

    def _open_live(
        self,
        engine: str | SearchEngine | None,
        source: DocumentSource | None,
        *,
        check_network: bool,
        **web: Any,
    ) -> tuple[SearchEngine, DocumentSource]:
        from .web import check_network as network_check
        from .web import open_live_web

        options = {k: v for k, v in web.items() if v is not None}
        named = engine is None or isinstance(engine, str)
        live_engine, live_source = open_live_web(engine=engine, **options)
        for part in ((live_engine,) if named else ()) + (() if source else (live_source,)):
            closer = getattr(part, "close", None)
            if closer:
                self._closers.append(closer)
        if source is not None:
            live_source.close()
        if named and check_network:
            network_check(live_engine)
        return live_engine, source or live_source

    def _open_policy(
        self, policy: str | Policy, *, protocol: str = "text", **llm: Any
    ) -> tuple[Policy, dict[str, Any]]:
        if not isinstance(policy, str):
            client = getattr(policy, "client", None)
            return policy, {
                "model": getattr(client, "model", None),
                "base_url": getattr(client, "base_url", None),
            }
        from .policies.extractive import ExtractivePolicy

        if policy not in ("auto", "llm", "extractive"):
            raise ConfigError(f"unknown policy {policy!r}: use auto, llm or extractive")
        if policy == "extractive" and protocol == "tools":
            raise ConfigError(
                "--protocol tools is how an LLM calls the browser's tools; the "
                "extractive policy uses no LLM (use --protocol text)"
            )
        if policy == "extractive":
            return ExtractivePolicy(), {"model": None, "base_url": None}
        if (
            policy == "auto"
            and protocol == "text"
            and not llm_configured(llm.get("model"), llm.get("base_url"))
        ):
            # No LLM: the extractive policy, without loading the LLM client at all.
            self._notice(NO_LLM)
            return ExtractivePolicy(), {"model": None, "base_url": None}
        from .llm import ChatClient
        from .policies.llm import LLMPolicy

        client = ChatClient.from_env(**llm, on_retry=self._notice)
        if client is None:
            if policy == "llm" or protocol == "tools":
                raise ConfigError(
                    "no LLM configured: pass --model / --base-url or set "
                    "WEBQA_MODEL or OPENAI_BASE_URL"
                )
            self._notice(NO_LLM)
            return ExtractivePolicy(), {"model": None, "base_url": None}
        self._closers.append(client.close)
        describe = getattr(client, "describe", None)
        self._notice(f"webqa: using {describe() if describe else client.model}")
        if protocol == "tools":
            from .policies.tools import ToolsPolicy

            return ToolsPolicy(client), {"model": client.model, "base_url": client.base_url}
        return LLMPolicy(client), {"model": client.model, "base_url": client.base_url}

    # -- use --------------------------------------------------------------------------------
    def ask(
        self,
        question: str,
        *,
        trace: TraceTo = None,
        on_step: Callable[[StepInfo], None] | None = None,
    ) -> Answer:
        """Answer ``question`` by browsing; every citation in the result is verbatim.

        ``trace`` overrides the session's trace destination for this run.
        """
        if not question.strip():
            raise ConfigError("the question is empty")
        return self.agent.run(question, trace=trace, on_step=on_step)

    def close(self) -> None:
        """Close what this session opened (idempotent)."""
        closers, self._closers = self._closers, []
        for close in reversed(closers):
            try:
                close()
            except Exception:  # closing must not hide the error that may be under way
                log.warning("webqa: closing %r failed", close, exc_info=True)

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def ask(question: str, *, trace: TraceTo = None, **options: Any) -> Answer:
    """Answer ``question`` by browsing; every citation in the result is verbatim from a page.

    ``options`` are :class:`Session`'s (``corpus``, ``policy``, ``model``, ``engine``, ...);
    ``trace`` is a file or folder path, None for the default location, or False for none.
    Everything opened is closed before it returns. For many questions, open one
    :class:`Session` and call its :meth:`~Session.ask`: the corpus is opened once.
    """
    if not question.strip():
        raise ConfigError("the question is empty")
    with Session(trace=trace, **options) as session:
        return session.ask(question)


def rerun(events: list[dict[str, Any]]) -> list[str]:
    """Run a trace's recorded actions again on its own page snapshots, with its recorded
    configuration; return the observations the replay showed (for ``webqa replay``)."""
    from dataclasses import fields

    from .pages import SnapshotLoader
    from .policies.replay import ReplayPolicy
    from .records import Page

    run = next((e for e in events if e.get("type") == "run"), {})
    config: dict[str, Any] = run["config"] if isinstance(run.get("config"), dict) else {}
    recorded: dict[str, Any] = config["limits"] if isinstance(config.get("limits"), dict) else {}
    names = {f.name for f in fields(Limits)}
    limits = Limits(**{k: v for k, v in recorded.items() if k in names and isinstance(v, int)})
    pages = []
    for event in events:
        if event.get("type") == "page":
            try:
                pages.append(Page.from_dict(event))
            except (KeyError, TypeError, ValueError, AttributeError):
                continue  # a damaged snapshot: the step that needs it will differ
    policy = ReplayPolicy(events)
    seen: list[str] = []
    agent = Agent(
        _Recording(policy, seen),
        SnapshotLoader(pages),
        limits=limits,
        max_actions=_positive(config.get("max_actions"), 100),
        max_failures=_positive(config.get("max_failures"), 10**6),
    )
    agent.run(str(run.get("question", "")), trace=False)
    return seen


class _Recording:
    """A policy wrapper that keeps every observation it is shown."""

    def __init__(self, inner: Policy, seen: list[str]) -> None:
        self.inner, self.seen, self.name = inner, seen, inner.name

    def start(self, question: str) -> _Recording:
        return _Recording(self.inner.start(question), self.seen)

    def act(self, obs: Any) -> Any:
        self.seen.append(obs.text)
        return self.inner.act(obs)

    def answer(self, question: str, quotes: list[Any], feedback: str | None = None) -> Any:
        return self.inner.answer(question, quotes, feedback)


def _positive(value: Any, default: int) -> int:
    return value if isinstance(value, int) and value > 0 else default
