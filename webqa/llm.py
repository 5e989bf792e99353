"""The LLM client: chat completions from any OpenAI-compatible endpoint.

OpenAI, vLLM, Ollama (``http://localhost:11434/v1``) and the llama.cpp server all speak the same
protocol, so one :class:`ChatClient` over the official ``openai`` package serves them all.
Retries are webqa's (:class:`webqa.retry.RetryPolicy`), not openai's, so that every wait is
visible (logged on ``webqa.llm`` and passed to ``on_retry``), capped, injectable in tests, and
bounded with the tries themselves by one deadline per call; every failure ends as one
:class:`~webqa.errors.ModelError` that says what happened. Replies are read by webqa, not by
openai's models, so a malformed reply is a ``ModelError`` too, never a foreign exception.
"""

from __future__ import annotations

import json
import logging
import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import openai

from .errors import ConfigError, ModelError
from .paths import llm_configured
from .retry import (
    Deadline,
    Overdue,
    RetryEvent,
    RetryPolicy,
    Transient,
    call_within,
    retry_after_from_headers,
)

__all__ = ["ChatClient", "Completion", "ToolCall", "estimate_tokens"]

log = logging.getLogger("webqa.llm")
# The library prints nothing: without this, logging's last-resort handler would write these
# warnings to stderr in a program that configured no logging. Configured handlers still get them.
log.addHandler(logging.NullHandler())

# Statuses worth another try: rate limits, overload, gateways, request timeouts.
_RETRY_STATUSES = {408, 429, 500, 502, 503, 504}
# Local servers (vLLM, Ollama, llama.cpp) accept any key, but the openai package insists on one.
_PLACEHOLDER_KEY = "not-needed"
# A lone surrogate cannot be encoded as UTF-8: it would break the request or the trace writer.
_SURROGATE = re.compile("[\ud800-\udfff]")
# How much of a bad reply a message quotes.
_SNIPPET = 200


@dataclass(frozen=True)
class ToolCall:
    """One function call the model asked for.

    ``arguments`` is the server's JSON text as sent, unparsed: a malformed one is the model's
    mistake for the caller to report, not a transport failure. ``id`` is "" when none was sent.
    """

    id: str
    name: str
    arguments: str


@dataclass(frozen=True)
class Completion:
    """One model reply. ``text`` is "" when the server sent no content.

    Token counts are the server's; when it reports no usage they are 0 and ``usage_reported`` is
    False, so a caller that wants a number can fall back to :func:`estimate_tokens`.
    ``tool_calls`` holds the calls of a reply to a request that offered tools, in order.
    """

    text: str
    prompt_tokens: int
    completion_tokens: int
    finish_reason: str | None
    usage_reported: bool = True
    tool_calls: list[ToolCall] = field(default_factory=list)


def estimate_tokens(text: str) -> int:
    """A rough token count, ``ceil(len(text) / 4)``.

    Only an estimate (about four characters per token for English), meant for when the server
    reports no usage; never use it where the server's own count is available.
    """
    return (len(text) + 3) // 4


class ChatClient:
    """Chat completions with retries, one deadline per call, and plain-language errors.

    Settings come from the arguments, then the environment (``WEBQA_MODEL``, ``OPENAI_BASE_URL``,
    ``OPENAI_API_KEY``). With a base URL but no model, the server's first listed model is used
    and :meth:`describe` says so. ``timeout`` bounds each :meth:`complete` call in seconds, its
    tries and waits together. ``max_retries`` counts retries after the first try; ``max_wait``
    caps any single wait, and a server asking (``Retry-After``) for a longer one fails at once.
    Each retry is logged at WARNING on ``webqa.llm`` and its text passed to ``on_retry``.
    ``sleep`` and ``clock`` are injected so tests can record the waits and move time.
    Use as a context manager, or call :meth:`close`; an injected ``http_client`` is left open.
    """

    def __init__(
        self,
        model: str | None,
        *,
        base_url: str | None = None,
        api_key: str | None = None,
        temperature: float | None = None,
        seed: int | None = None,
        max_tokens: int | None = None,
        timeout: float = 60.0,
        max_retries: int = 5,
        max_wait: float = 60.0,
        http_client: Any = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        on_retry: Callable[[str], None] | None = None,
    ) -> None:
        base_url = base_url or os.environ.get("OPENAI_BASE_URL") or None
        api_key = api_key or os.environ.get("OPENAI_API_KEY") or None
        if not api_key:
            if not base_url:
                raise ConfigError(
                    "no API key for the OpenAI API: set OPENAI_API_KEY, "
                    "or set OPENAI_BASE_URL to a local server (Ollama, vLLM, llama.cpp)"
                )
            api_key = _PLACEHOLDER_KEY
        self.timeout, self.max_retries, self.max_wait = timeout, max_retries, max_wait
        self.on_retry = on_retry
        self._clock = clock
        self._retry = RetryPolicy(
            attempts=max_retries + 1, backoff=1.0, max_wait=max_wait, sleep=sleep, jitter=1.0
        )
        self._reached = False  # has the server ever answered this client?
        self._closed = False
        self._owns_http = http_client is None
        # max_retries=0: openai's own retries would hide waits and double ours.
        self._client = openai.OpenAI(
            api_key=api_key,
            base_url=base_url,
            timeout=timeout,
            max_retries=0,
            http_client=http_client,
        )
        self.base_url = str(self._client.base_url).rstrip("/")
        self._params = {
            k: v
            for k, v in {"temperature": temperature, "seed": seed, "max_tokens": max_tokens}.items()
            if v is not None  # some local servers reject parameters they do not know
        }
        self._model_note = ""
        if model:
            self.model = model
        elif env_model := os.environ.get("WEBQA_MODEL"):
            self.model, self._model_note = env_model, " (from WEBQA_MODEL)"
        else:
            try:
                self.model = self._discover_model(base_url)
            except BaseException:
                self.close()
                raise

    @classmethod
    def from_env(cls, **overrides: Any) -> ChatClient | None:
        """A client from ``overrides`` and the environment, or None when no LLM is configured.

        An LLM is configured when a model name or a base URL is given (argument or environment).
        """
        model = overrides.pop("model", None)
        if not llm_configured(model, overrides.get("base_url")):
            return None
        return cls(model, **overrides)  # the constructor reads WEBQA_MODEL, and says so

    def describe(self) -> str:
        """Which model at which endpoint, and how the model was chosen, in one line."""
        return f"model {self.model} at {self.base_url}{self._model_note}"

    def __enter__(self) -> ChatClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the HTTP connections this client opened; calling it again does nothing."""
        if self._closed:
            return
        self._closed = True
        if self._owns_http:
            self._client.close()

    # -- the model --------------------------------------------------------------------------

    def _discover_model(self, base_url: str | None) -> str:
        if not base_url:
            raise ConfigError("no model given: pass --model or set WEBQA_MODEL")
        hint = "pass --model or set WEBQA_MODEL"
        try:
            raw = call_within(
                Deadline(self.timeout, self._clock),
                lambda timeout: self._client.get(
                    "/models", cast_to=bytes, options={"timeout": timeout}
                ),
                "webqa-llm-request",
            )
        except (openai.APITimeoutError, Overdue) as exc:
            raise ConfigError(
                f"the server at {self.base_url} did not answer within {self.timeout:g} s "
                f"when asked for its models: is it the right address? (or {hint})"
            ) from exc
        except openai.APIConnectionError as exc:
            if _refused(exc):
                raise ConfigError(
                    f"could not connect to {self.base_url}: connection refused — "
                    "is the server running?"
                ) from exc
            raise ConfigError(f"could not connect to {self.base_url}: {_describe(exc)}") from exc
        except openai.OpenAIError as exc:
            raise ConfigError(
                f"no model given, and the server at {self.base_url} did not list its models "
                f"({_status_text(exc)}): {hint}"
            ) from exc
        ids = _model_ids(raw)
        if ids is None:
            raise ConfigError(
                f"no model given, and the server at {self.base_url} answered /models with "
                f"something that is not a model list ({_snippet(raw)}): {hint}"
            )
        if not ids:
            raise ConfigError(f"no model given, and the server at {self.base_url} lists no models")
        if len(ids) == 1:
            self._model_note = " (the one model the server lists)"
        else:
            shown = ", ".join(ids[:10]) + (", …" if len(ids) > 10 else "")
            self._model_note = f" (picked the first of {len(ids)} listed models: {shown})"
            log.info("no model given: using %s%s", ids[0], self._model_note)
        return ids[0]

    # -- completions ------------------------------------------------------------------------

    def complete(
        self,
        messages: list[dict[str, Any]],
        *,
        tools: list[dict[str, Any]] | None = None,
        tool_choice: str | dict[str, Any] | None = None,
    ) -> Completion:
        """Send ``messages`` and return the reply; raises :class:`ModelError` after retries.

        ``tools`` are OpenAI function-tool schemas (``{"type": "function", "function": {...}}``)
        and ``tool_choice`` the usual ``"auto"``, ``"required"``, ``"none"`` or a named tool;
        the calls the model makes come back in :attr:`Completion.tool_calls`.
        """
        if self._closed:
            raise ModelError(f"the client for the LLM at {self.base_url} is closed")
        body: dict[str, Any] = {"model": self.model, "messages": _clean(messages), **self._params}
        if tools is not None:
            body["tools"] = _clean(tools)
        if tool_choice is not None:
            body["tool_choice"] = _clean(tool_choice)
        deadline = Deadline(self.timeout, self._clock)
        tries = 0

        def attempt() -> bytes:
            nonlocal tries
            tries += 1
            try:
                return self._post_within(body, deadline, tries)
            except openai.OpenAIError as exc:
                raise self._failure(exc, tries) from exc

        raw = self._retry.call(
            attempt, deadline=deadline, on_retry=self._report_retry, give_up=self._give_up
        )
        self._reached = True
        return self._parse(raw, tries)

    def _post_within(self, body: dict[str, Any], deadline: Deadline, tries: int) -> bytes:
        """One POST that returns (or fails) by the deadline, whatever the server does."""
        try:
            # The client's plain POST, read as bytes: webqa reads the reply itself, so a
            # malformed one is reported plainly, and no time goes on building typed models.
            return call_within(
                deadline,
                lambda timeout: self._client.post(
                    "/chat/completions", cast_to=bytes, body=body, options={"timeout": timeout}
                ),
                "webqa-llm-request",
            )
        except Overdue:
            log.warning(
                "the LLM at %s had not finished answering at the %g s deadline; request abandoned",
                self.base_url,
                self.timeout,
            )
            raise ModelError(
                f"the LLM at {self.base_url} did not answer within {self.timeout:g} s "
                f"({_tries(tries)}); giving up",
                tries=tries,
                retryable=True,
            ) from None

    def _failure(self, exc: openai.OpenAIError, tries: int) -> Exception:
        """The exception a failed try raises: a Transient to retry, or the final ModelError."""
        message = self._message(exc, tries)
        if isinstance(exc, openai.APIStatusError):
            self._reached = True
            code = exc.status_code
            error = ModelError(message, status=code, tries=tries, retryable=code in _RETRY_STATUSES)
            if not error.retryable:
                return error
            wait = retry_after_from_headers(exc.response.headers)
            return Transient(error, wait, reason=f"HTTP {code} from")
        if isinstance(exc, openai.APIConnectionError):  # timeouts included
            error = ModelError(message, tries=tries, retryable=True)
            if isinstance(exc, openai.APITimeoutError):
                return Transient(error, reason="no answer from")
            if _refused(exc):
                # A server that refuses the very first connection is not running: say so after
                # one more try instead of backing off for half a minute. Once it has answered,
                # a refusal is a restart, and the full retries apply.
                limit = None if self._reached else 2
                return Transient(error, max_tries=limit, reason="connection refused by")
            return Transient(error, reason="lost the connection to")
        return ModelError(message, tries=tries)

    def _report_retry(self, event: RetryEvent) -> None:
        text = (
            f"{event.transient.reason} the LLM at {self.base_url}, retrying in "
            f"{_seconds(event.wait)} s (try {event.tries + 1} of {event.max_tries})"
        )
        log.warning("%s", text)
        if self.on_retry is not None:
            self.on_retry(text)

    def _give_up(self, event: RetryEvent) -> ModelError:
        error = event.error
        assert isinstance(error, ModelError)
        cause = event.transient.__cause__
        at, n = f"the LLM at {self.base_url}", _tries(event.tries)
        asked = event.transient.retry_after
        detail = _describe(cause) if cause is not None else str(error)
        if event.gave_up == "retry_after" and asked is not None:
            message = (
                f"{at} answered HTTP {error.status} ({detail}) and asked to wait {asked:g} s, "
                f"longer than the {self.max_wait:g} s this client waits ({n}); giving up"
            )
        elif event.gave_up == "deadline" and isinstance(cause, openai.APITimeoutError):
            message = f"{at} did not answer within {self.timeout:g} s ({n}); giving up"
        elif event.gave_up == "deadline" and asked is not None:
            message = (
                f"{at} answered HTTP {error.status} ({detail}) and asked to wait {asked:g} s, "
                f"past the {self.timeout:g} s allowed for one call ({n}); giving up"
            )
        elif event.gave_up == "deadline":
            message = (
                f"{at} gave no usable answer within {self.timeout:g} s ({n}; the last: "
                f"{_short(cause) if cause is not None else error}); giving up"
            )
        else:
            message = self._message(cause, event.tries) if cause is not None else str(error)
        return ModelError(message, status=error.status, tries=event.tries, retryable=True)

    def _message(self, exc: BaseException, tries: int) -> str:
        at, n = f"the LLM at {self.base_url}", _tries(tries)
        if isinstance(exc, openai.APITimeoutError):
            return f"{at} did not answer within {self.timeout:g} s ({n}); giving up"
        if isinstance(exc, openai.APIConnectionError):
            why, chain = _describe(exc), _chain(exc)
            if any(isinstance(c, ConnectionRefusedError) for c in chain):
                return (
                    f"could not connect to {at}: connection refused — is the server running? ({n})"
                )
            if any(type(c).__name__ == "ConnectError" for c in chain):  # httpx's, e.g. DNS failure
                return f"could not connect to {at}: {why} ({n})"
            return f"lost the connection to {at}: {why} ({n}); giving up"
        if not isinstance(exc, openai.APIStatusError):
            return f"{at} failed: {_describe(exc)}"
        code, detail = exc.status_code, _describe(exc)
        if code == 401:
            return (
                f"{at} refused the API key (HTTP 401: {detail}): set OPENAI_API_KEY to a valid key"
            )
        if code == 403:
            return (
                f"{at} denied access (HTTP 403: {detail}): "
                f"the key may lack access to {self.model!r}"
            )
        if code == 404:
            return (
                f"{at} answered HTTP 404 ({detail}): the model name {self.model!r} may be wrong, "
                "or the base URL may lack /v1"
            )
        if code in _RETRY_STATUSES:
            return f"{at} answered HTTP {code} ({detail}), {n}; giving up"
        return f"{at} rejected the request with HTTP {code}: {detail}"

    # -- reading replies --------------------------------------------------------------------

    def _parse(self, raw: bytes, tries: int) -> Completion:
        """The reply read from the body of an HTTP 200; a malformed one is a ModelError."""
        at = f"the LLM at {self.base_url}"

        def bad(what: str, shown: Any = raw) -> ModelError:
            return ModelError(f"{at} {what}: {_snippet(shown)}", status=200, tries=tries)

        try:
            data = json.loads(raw)
        except RecursionError as exc:
            raise bad("answered with JSON nested too deeply to read") from exc
        except ValueError as exc:
            if raw.lstrip()[:1] == b"<":
                raise bad(
                    "answered with a web page, not a chat completion (is the base URL the "
                    "API's, usually ending in /v1?)"
                ) from exc
            raise bad("answered with malformed JSON") from exc
        choices = data.get("choices") if isinstance(data, dict) else None
        if choices is None or choices == []:
            raise bad("answered with no choices")
        if not isinstance(choices, list):
            raise bad("answered with 'choices' that is not a list", choices)
        choice = choices[0]
        if not isinstance(choice, dict):
            raise bad("answered with a choice that is not an object", choice)
        message = choice.get("message")
        if message is None:
            message = {}
        if not isinstance(message, dict):
            raise bad("answered with a 'message' that is not an object", message)
        text = _content_text(message.get("content"))
        if text is None:
            raise bad("answered with 'content' that is not text", message.get("content"))
        calls = _tool_calls(message.get("tool_calls"))
        if calls is None:
            raise bad("answered with unreadable 'tool_calls'", message.get("tool_calls"))
        usage = data.get("usage")
        if usage is not None and not isinstance(usage, dict):
            raise bad("answered with 'usage' that is not an object", usage)
        usage = usage or None
        counts = [
            _count(usage.get(k)) if usage else 0 for k in ("prompt_tokens", "completion_tokens")
        ]
        if None in counts:
            raise bad("answered with token counts that are not whole numbers", usage)
        finish = choice.get("finish_reason")
        return Completion(
            text=text,
            prompt_tokens=counts[0] or 0,
            completion_tokens=counts[1] or 0,
            finish_reason=_fix_text(finish) if isinstance(finish, str) else None,
            usage_reported=usage is not None,
            tool_calls=calls,
        )


def _content_text(content: Any) -> str | None:
    """A message's content as text: a string, null, or a list of parts whose text parts are
    joined (the content-parts format); None when it is none of these."""
    if content is None:
        return ""
    if isinstance(content, str):
        return _fix_text(content)
    if not isinstance(content, list):
        return None
    texts = []
    for part in content:
        if isinstance(part, str):
            texts.append(part)
        elif isinstance(part, dict) and isinstance(part.get("text"), str):
            texts.append(part["text"])
        elif isinstance(part, dict) and part.get("type") not in (None, "text"):
            continue  # a part of another kind (an image, say) carries no text
        else:
            return None
    return _fix_text("".join(texts))


def _tool_calls(value: Any) -> list[ToolCall] | None:
    """The tool calls of a message, or None when their structure is unreadable.

    Only the structure is checked: names and argument texts are returned as sent, for the
    caller to accept or reject; arguments sent as a JSON object (some servers do) become text.
    """
    if value is None:
        return []
    if not isinstance(value, list):
        return None
    calls = []
    for item in value:
        function = item.get("function") if isinstance(item, dict) else None
        if not isinstance(function, dict):
            return None
        name, arguments, call_id = function.get("name"), function.get("arguments"), item.get("id")
        if not isinstance(name, str | None) or not isinstance(call_id, str | int | None):
            return None
        if arguments is None:
            arguments = ""
        elif not isinstance(arguments, str):
            arguments = json.dumps(arguments, ensure_ascii=False)
        calls.append(
            ToolCall(_fix_text(str(call_id or "")), _fix_text(name or ""), _fix_text(arguments))
        )
    return calls


def _count(value: Any) -> int | None:
    """A token count: a whole, non-negative number (or absent, as 0); None when it is not."""
    if value is None:
        return 0
    if isinstance(value, bool):
        return None
    if isinstance(value, int) and value >= 0:
        return value
    if isinstance(value, float) and value.is_integer() and value >= 0:
        return int(value)
    return None


def _model_ids(raw: bytes) -> list[str] | None:
    """The model ids of a ``/models`` body (each cut to 100 characters), or None if unreadable."""
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):
        return None
    models = data.get("data") if isinstance(data, dict) else None
    if not isinstance(models, list):
        return None
    return [
        _fix_text(m["id"])[:100]
        for m in models
        if isinstance(m, dict) and isinstance(m.get("id"), str)
    ]


def _fix_text(text: str) -> str:
    """``text`` with lone surrogates replaced by U+FFFD, so it can be encoded as UTF-8."""
    return _SURROGATE.sub("\ufffd", text)


def _clean(value: Any) -> Any:
    """A JSON value with every string passed through :func:`_fix_text` (pages can carry lone
    surrogates into prompts, and the request body must be UTF-8)."""
    if isinstance(value, str):
        return _fix_text(value)
    if isinstance(value, dict):
        return {_clean(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value


def _snippet(value: Any) -> str:
    """The start of a bad reply (or of a part of it), for a message."""
    if isinstance(value, bytes):
        text = value.decode("utf-8", "replace")
    elif isinstance(value, str):
        text = value
    else:
        try:
            text = json.dumps(value, ensure_ascii=False)
        except (TypeError, ValueError, RecursionError):
            text = repr(value)
    text = _fix_text(" ".join(text.split()))
    return text[:_SNIPPET] + ("…" if len(text) > _SNIPPET else "") if text else "(empty)"


def _tries(n: int) -> str:
    return f"{n} {'try' if n == 1 else 'tries'}"


def _seconds(s: float) -> str:
    return f"{s:.2g}" if s < 100 else f"{s:.0f}"


def _status_text(exc: BaseException) -> str:
    if isinstance(exc, openai.APIStatusError):
        return f"HTTP {exc.status_code}: {_describe(exc)}"
    return _describe(exc)


def _short(exc: BaseException) -> str:
    """What a failed try met, in a few words."""
    if isinstance(exc, openai.APIStatusError):
        return f"HTTP {exc.status_code} ({_describe(exc)})"
    if _refused(exc):
        return "connection refused"
    return _describe(exc)


def _describe(exc: BaseException) -> str:
    """The most telling short text of an openai error: the server's message, or the root cause."""
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        err = body.get("error", body)
        msg = err.get("message") if isinstance(err, dict) else err
        if msg:
            return _fix_text(str(msg))[:300]
    root = _chain(exc)[-1]
    return _fix_text(str(root) or type(root).__name__)[:300]


def _refused(exc: BaseException) -> bool:
    """Whether the connection was refused (nothing listens at the address)."""
    return (
        isinstance(exc, openai.APIConnectionError)
        and not isinstance(exc, openai.APITimeoutError)
        and any(isinstance(e, ConnectionRefusedError) for e in _chain(exc))
    )


def _chain(exc: BaseException) -> list[BaseException]:
    """``exc`` and the exceptions it was raised from, outermost first."""
    chain = [exc]
    while (nxt := chain[-1].__cause__ or chain[-1].__context__) is not None and nxt not in chain:
        chain.append(nxt)
    return chain
