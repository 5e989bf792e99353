"""The LLM client: chat completions from any OpenAI-compatible endpoint.

OpenAI, vLLM, Ollama (``http://localhost:11434/v1``) and the llama.cpp server all speak the same
protocol, so one :class:`ChatClient` over the official ``openai`` package serves them all.
Retries are ours (tenacity), not openai's, so that every wait is visible, capped, injectable in
tests, and every failure ends as one :class:`~webqa.errors.ModelError` that says what happened.
"""

from __future__ import annotations

import email.utils
import os
import time
from dataclasses import dataclass
from typing import Any, Callable

import openai
from tenacity import Retrying, retry_if_exception, stop_after_attempt, wait_exponential_jitter

from .errors import ConfigError, ModelError

__all__ = ["ChatClient", "Completion", "estimate_tokens"]

# Statuses worth another try: rate limits, overload, gateways, request timeouts.
_RETRY_STATUSES = {408, 429, 500, 502, 503, 504}
# Local servers (vLLM, Ollama, llama.cpp) accept any key, but the openai package insists on one.
_PLACEHOLDER_KEY = "not-needed"


@dataclass(frozen=True)
class Completion:
    """One model reply. ``text`` is "" when the server sent no content.

    Token counts are the server's; when it reports no usage they are 0 and ``usage_reported`` is
    False, so a caller that wants a number can fall back to :func:`estimate_tokens`.
    """

    text: str
    prompt_tokens: int
    completion_tokens: int
    finish_reason: str | None
    usage_reported: bool = True


def estimate_tokens(text: str) -> int:
    """A rough token count, ``ceil(len(text) / 4)``.

    Only an estimate (about four characters per token for English), meant for when the server
    reports no usage; never use it where the server's own count is available.
    """
    return (len(text) + 3) // 4


class ChatClient:
    """Chat completions with retries and plain-language errors.

    Settings come from the arguments, then the environment (``WEBQA_MODEL``, ``OPENAI_BASE_URL``,
    ``OPENAI_API_KEY``). With a base URL but no model, the server's only (or first) model is used.
    ``max_retries`` counts retries after the first try; ``max_wait`` caps any single wait,
    including a server's ``Retry-After``. ``sleep`` is injected so tests can record the waits.
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
        self.timeout, self.max_retries, self.max_wait, self._sleep = timeout, max_retries, max_wait, sleep
        self._reached = False  # has the server ever answered this client?
        # max_retries=0: openai's own retries would hide waits and double ours.
        self._client = openai.OpenAI(
            api_key=api_key, base_url=base_url, timeout=timeout, max_retries=0, http_client=http_client
        )
        self.base_url = str(self._client.base_url).rstrip("/")
        self._params = {
            k: v for k, v in {"temperature": temperature, "seed": seed, "max_tokens": max_tokens}.items()
            if v is not None  # some local servers reject parameters they do not know
        }
        self.model = model or os.environ.get("WEBQA_MODEL") or self._discover_model(base_url)

    @classmethod
    def from_env(cls, **overrides: Any) -> ChatClient | None:
        """A client from ``overrides`` and the environment, or None when no LLM is configured.

        An LLM is configured when a model name or a base URL is given (argument or environment).
        """
        model = overrides.pop("model", None) or os.environ.get("WEBQA_MODEL")
        if not (model or overrides.get("base_url") or os.environ.get("OPENAI_BASE_URL")):
            return None
        return cls(model, **overrides)

    def _discover_model(self, base_url: str | None) -> str:
        if not base_url:
            raise ConfigError("no model given: pass --model or set WEBQA_MODEL")
        try:
            ids = [m.id for m in self._client.models.list()]
        except openai.OpenAIError as exc:
            raise ConfigError(
                f"no model given, and the server at {self.base_url} did not list its models "
                f"({_describe(exc)}): pass --model or set WEBQA_MODEL"
            ) from exc
        if not ids:
            raise ConfigError(f"no model given, and the server at {self.base_url} lists no models")
        return ids[0]  # local servers serve one model

    def complete(self, messages: list[dict[str, Any]]) -> Completion:
        """Send ``messages`` and return the reply; raises :class:`ModelError` after retries."""
        tries = 0

        def worth_retrying(exc: BaseException) -> bool:
            # A server that refuses the very first connection is not running: say so after one
            # more try instead of backing off for half a minute. Once it has answered, a refusal
            # is a restart, and the full retries apply.
            if not self._reached and _refused(exc):
                return tries < 2
            return _retryable(exc)

        retrying = Retrying(
            stop=stop_after_attempt(self.max_retries + 1),
            wait=self._wait,
            retry=retry_if_exception(worth_retrying),
            sleep=self._sleep,
            reraise=True,
        )
        try:
            for attempt in retrying:
                with attempt:
                    tries += 1
                    # The client's plain POST: the typed create() spends milliseconds per call
                    # validating our own messages and building models we only read two fields of.
                    resp = self._client.post(
                        "/chat/completions", cast_to=object,
                        body={"model": self.model, "messages": messages, **self._params},
                    )
        except openai.OpenAIError as exc:
            raise ModelError(self._message(exc, tries)) from exc
        self._reached = True
        # A wrong base URL can answer 200 with a web page instead of a completion.
        choices = resp.get("choices") if isinstance(resp, dict) else None
        if not choices or not isinstance(choices[0], dict):
            raise ModelError(f"the LLM at {self.base_url} answered with no choices: {str(resp)[:200]}")
        choice, usage = choices[0], resp.get("usage") or None
        return Completion(
            text=(choice.get("message") or {}).get("content") or "",
            prompt_tokens=int(usage.get("prompt_tokens") or 0) if usage else 0,
            completion_tokens=int(usage.get("completion_tokens") or 0) if usage else 0,
            finish_reason=choice.get("finish_reason"),
            usage_reported=usage is not None,
        )

    def close(self) -> None:
        """Close the HTTP connections."""
        self._client.close()

    def _wait(self, state: Any) -> float:
        # A server's Retry-After knows better than our backoff; both are capped by max_wait.
        exc = state.outcome.exception() if state.outcome else None
        hinted = _retry_after(exc) if isinstance(exc, openai.APIStatusError) else None
        if hinted is not None:
            return min(hinted, self.max_wait)
        return wait_exponential_jitter(initial=1, max=self.max_wait, jitter=1)(state)

    def _message(self, exc: openai.OpenAIError, tries: int) -> str:
        at, n = f"the LLM at {self.base_url}", f"{tries} {'try' if tries == 1 else 'tries'}"
        if isinstance(exc, openai.APITimeoutError):
            return f"{at} did not answer within {self.timeout:g} s ({n}); giving up"
        if isinstance(exc, openai.APIConnectionError):
            why, chain = _describe(exc), _chain(exc)
            if any(isinstance(c, ConnectionRefusedError) for c in chain):
                return f"could not connect to {at}: connection refused — is the server running? ({n})"
            if any(type(c).__name__ == "ConnectError" for c in chain):  # httpx's, e.g. DNS failure
                return f"could not connect to {at}: {why} ({n})"
            return f"lost the connection to {at}: {why} ({n}); giving up"
        if not isinstance(exc, openai.APIStatusError):
            return f"{at} failed: {_describe(exc)}"
        code, detail = exc.status_code, _describe(exc)
        if code == 401:
            return f"{at} refused the API key (HTTP 401: {detail}): set OPENAI_API_KEY to a valid key"
        if code == 403:
            return f"{at} denied access (HTTP 403: {detail}): the key may lack access to {self.model!r}"
        if code == 404:
            return (f"{at} answered HTTP 404 ({detail}): the model name {self.model!r} may be wrong, "
                    "or the base URL may lack /v1")
        if code in _RETRY_STATUSES:
            return f"{at} answered HTTP {code} ({detail}), {n}; giving up"
        return f"{at} rejected the request with HTTP {code}: {detail}"


def _retryable(exc: BaseException) -> bool:
    # APITimeoutError is a kind of APIConnectionError.
    if isinstance(exc, openai.APIConnectionError):
        return True
    return isinstance(exc, openai.APIStatusError) and exc.status_code in _RETRY_STATUSES


def _retry_after(exc: openai.APIStatusError) -> float | None:
    """Seconds the server asked us to wait: ``retry-after-ms``, or ``Retry-After`` in seconds or
    as an HTTP date; None when it did not ask (or asked unreadably)."""
    headers = exc.response.headers
    try:
        if ms := headers.get("retry-after-ms"):
            return max(float(ms) / 1000, 0.0)
        value = headers.get("retry-after")
        if not value:
            return None
        try:
            return max(float(value), 0.0)
        except ValueError:
            when = email.utils.parsedate_to_datetime(value)
            return max(when.timestamp() - time.time(), 0.0)
    except (ValueError, TypeError, OverflowError):
        return None


def _describe(exc: BaseException) -> str:
    """The most telling short text of an openai error: the server's message, or the root cause."""
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        err = body.get("error", body)
        msg = err.get("message") if isinstance(err, dict) else err
        if msg:
            return str(msg)[:300]
    root = _chain(exc)[-1]
    return (str(root) or type(root).__name__)[:300]


def _refused(exc: BaseException) -> bool:
    """Whether the connection was refused (nothing listens at the address)."""
    return isinstance(exc, openai.APIConnectionError) and not isinstance(
        exc, openai.APITimeoutError) and any(isinstance(e, ConnectionRefusedError)
                                              for e in _chain(exc))


def _chain(exc: BaseException) -> list[BaseException]:
    """``exc`` and the exceptions it was raised from, outermost first."""
    chain = [exc]
    while (nxt := chain[-1].__cause__ or chain[-1].__context__) is not None and nxt not in chain:
        chain.append(nxt)
    return chain
