"""webqa: answers questions by browsing, citing verbatim quotes from the pages it read.

The public surface is listed in ``__all__``; names are imported on first use so that
``import webqa`` (and ``webqa --help``) stays fast.
"""

from __future__ import annotations

from importlib import import_module

__version__ = "0.1.0"

_EXPORTS = {
    "ask": "webqa.session",
    "Session": "webqa.session",
    "run_batch": "webqa.batch",
    "read_questions": "webqa.batch",
    "verify_citations": "webqa.verify",
    "CitationCheck": "webqa.verify",
    "Agent": "webqa.agent",
    "StepInfo": "webqa.agent",
    "Browser": "webqa.browser",
    "Limits": "webqa.browser",
    "Outcome": "webqa.browser",
    "Command": "webqa.commands",
    "parse": "webqa.commands",
    "WebLoader": "webqa.pages",
    "RenderCache": "webqa.pages",
    "SnapshotLoader": "webqa.pages",
    "Answer": "webqa.records",
    "Citation": "webqa.records",
    "Document": "webqa.records",
    "Link": "webqa.records",
    "Page": "webqa.records",
    "Quote": "webqa.records",
    "SearchResult": "webqa.records",
    "Usage": "webqa.records",
    "SearchEngine": "webqa.protocols",
    "DocumentSource": "webqa.protocols",
    "PageLoader": "webqa.protocols",
    "Policy": "webqa.policies",
    "Reply": "webqa.policies",
    "ScriptedPolicy": "webqa.policies",
    "ExtractivePolicy": "webqa.policies.extractive",
    "LLMPolicy": "webqa.policies.llm",
    "HumanPolicy": "webqa.policies.human",
    "ReplayPolicy": "webqa.policies.replay",
    "ChatClient": "webqa.llm",
    "Completion": "webqa.llm",
    "ToolCall": "webqa.llm",
    "TraceWriter": "webqa.trace",
    "read_trace": "webqa.trace",
    "load_trace": "webqa.trace",
    "TraceFile": "webqa.trace",
    "render_document": "webqa.render",
    "open_corpus": "webqa.corpus",
    "WebQAError": "webqa.errors",
    "ConfigError": "webqa.errors",
    "ActionError": "webqa.errors",
    "FormatError": "webqa.errors",
    "InvalidAction": "webqa.errors",
    "FetchError": "webqa.errors",
    "ModelError": "webqa.errors",
}

__all__ = ["__version__", *_EXPORTS]


def __getattr__(name: str) -> object:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'webqa' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
