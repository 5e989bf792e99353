"""When and how long to wait before trying a request again: the one retry policy of webqa.

Fetches, search APIs and the LLM client all retry through :class:`RetryPolicy`. A request
function signals "worth another try" by raising :class:`Transient`, which carries the error to
raise once the tries run out and, when the server said so, how long to wait. The rules:

- waits grow exponentially (``backoff``, doubling, optional jitter) up to ``max_wait``;
- a server's ``Retry-After`` (or ``retry-after-ms``) is honoured when it is within ``max_wait``;
  a longer one fails at once, since sleeping the cap and asking again would only be refused;
- with a :class:`Deadline`, a wait that would end past it fails at once, so the deadline
  bounds the whole call, waits included;
- every retry can be reported (``on_retry``) and every give-up explained (``give_up``) through
  a :class:`RetryEvent`, so the caller words the message and nothing is retried silently.
"""

from __future__ import annotations

import email.utils
import math
import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, TypeVar

import tenacity

from .errors import WebQAError

__all__ = [
    "Transient",
    "RetryPolicy",
    "RetryEvent",
    "Deadline",
    "Overdue",
    "call_within",
    "parse_retry_after",
    "retry_after_from_headers",
    "RETRY_STATUSES",
]

T = TypeVar("T")

#: Statuses that usually mean "try again shortly": rate limited, or a gateway hiccup.
RETRY_STATUSES = frozenset({429, 502, 503, 504})

#: Why a policy stopped trying: no tries left, the server asked for a wait longer than the cap,
#: or the next wait would end past the deadline.
GiveUpReason = Literal["tries", "retry_after", "deadline"]


class Transient(Exception):
    """A failure worth another try; ``error`` is what the caller sees when tries run out.

    ``retry_after`` is the wait the server asked for, in seconds. ``max_tries`` caps the tries
    for this kind of failure below the policy's own (a refused first connection, say).
    ``reason`` is a short phrase for the retry notice ("HTTP 500"); it defaults to the error.
    """

    def __init__(
        self,
        error: WebQAError,
        retry_after: float | None = None,
        *,
        max_tries: int | None = None,
        reason: str = "",
    ) -> None:
        super().__init__(str(error))
        self.error = error
        self.retry_after = retry_after
        self.max_tries = max_tries
        self.reason = reason or str(error)


@dataclass(frozen=True)
class RetryEvent:
    """One failed try, as reported to ``on_retry`` (``gave_up`` is None) or ``give_up``.

    ``tries`` counts the tries made so far, ``max_tries`` the most this failure allows;
    ``wait`` is the pause before the next try (or the one that was refused, when giving up).
    """

    transient: Transient
    tries: int
    max_tries: int
    wait: float
    gave_up: GiveUpReason | None = None

    @property
    def error(self) -> WebQAError:
        """The error the failed try carried."""
        return self.transient.error


class Deadline:
    """A point in time after which no more waiting or trying is allowed.

    ``seconds`` is the budget from creation; ``clock`` is injected so tests can move time.
    """

    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds = seconds
        self._clock = clock
        self._end = clock() + seconds

    def remaining(self) -> float:
        """Seconds left, never negative."""
        return max(0.0, self._end - self._clock())

    @property
    def expired(self) -> bool:
        """Whether no time is left."""
        return self.remaining() <= 0.0


class Overdue(Exception):
    """The deadline passed before the call finished (see :func:`call_within`)."""


def call_within(deadline: Deadline, call: Callable[[float], T], name: str = "webqa-call") -> T:
    """``call(seconds_left)``'s result, or :class:`Overdue` once ``deadline`` has passed.

    A client's timeouts bound each read, not the whole reply: a server dripping a byte a
    second, or a library that tries several servers in turn, holds a call for as long as it
    likes. So the call runs in a worker thread (named ``name``) and the caller stops waiting
    at the deadline; the abandoned worker ends with its connection (at the latest one read
    timeout after the server stops sending). Whatever ``call`` raises is raised here.
    """
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["value"] = call(max(deadline.remaining(), 0.001))
        except BaseException as exc:  # handed to the caller's thread below
            outcome["error"] = exc

    worker = threading.Thread(target=run, name=name, daemon=True)
    worker.start()
    worker.join(deadline.remaining())
    if worker.is_alive():
        raise Overdue()
    if "error" in outcome:
        raise outcome["error"]
    value: T = outcome["value"]
    return value


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta seconds or an HTTP date), or None.

    Fractional seconds are accepted (some LLM servers send them); a value too large for a float
    reads as infinity, which any cap refuses. Unreadable or negative values give None.
    """
    if not value:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():
        return float(value)
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        return seconds if seconds >= 0 and not math.isnan(seconds) else None
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def retry_after_from_headers(
    headers: Mapping[str, str], now: datetime | None = None
) -> float | None:
    """The wait a response asks for: ``retry-after-ms`` (OpenAI's), else ``Retry-After``."""
    ms = parse_retry_after(headers.get("retry-after-ms"), now)
    if ms is not None:
        return ms / 1000
    return parse_retry_after(headers.get("retry-after"), now)


@dataclass
class RetryPolicy:
    """Exponential backoff with a cap; a server's ``Retry-After`` wins when it is within the cap.

    ``attempts`` counts the first try. The n-th wait is ``backoff * 2**(n-1)`` plus up to
    ``jitter`` seconds at random, capped by ``max_wait``. ``sleep`` is injected so tests do
    not wait.
    """

    attempts: int = 3
    backoff: float = 0.5
    max_wait: float = 10.0
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False)
    jitter: float = 0.0

    def call(
        self,
        attempt: Callable[[], T],
        *,
        deadline: Deadline | None = None,
        on_retry: Callable[[RetryEvent], None] | None = None,
        give_up: Callable[[RetryEvent], BaseException] | None = None,
    ) -> T:
        """Run ``attempt`` until it returns, raises a non-transient error, or tries run out.

        ``on_retry`` hears of each retry before its wait. When the policy stops, ``give_up``
        turns the last failure into the exception to raise (by default the failure's ``error``),
        chained to what caused it.
        """
        stopped: dict[str, GiveUpReason] = {}

        def stop(state: tenacity.RetryCallState) -> bool:
            exc = _transient(state)
            reason = self._give_up_reason(exc, state.attempt_number, state.upcoming_sleep, deadline)
            if reason is not None:
                stopped["reason"] = reason
            return reason is not None

        def event(state: tenacity.RetryCallState) -> RetryEvent:
            exc = _transient(state)
            return RetryEvent(
                exc,
                state.attempt_number,
                self._max_tries(exc),
                state.upcoming_sleep,
                stopped.get("reason"),
            )

        def fail(state: tenacity.RetryCallState) -> T:
            ev = event(state)
            raise (give_up(ev) if give_up else ev.error) from ev.transient.__cause__

        def before_sleep(state: tenacity.RetryCallState) -> None:
            if on_retry is not None:
                on_retry(event(state))

        retrying = tenacity.Retrying(
            stop=stop,
            wait=self._wait,
            retry=tenacity.retry_if_exception_type(Transient),
            sleep=self.sleep,
            before_sleep=before_sleep,
            retry_error_callback=fail,
            reraise=True,
        )
        return retrying(attempt)

    def _max_tries(self, exc: Transient) -> int:
        tries = max(1, self.attempts)
        return min(tries, exc.max_tries) if exc.max_tries is not None else tries

    def _give_up_reason(
        self, exc: Transient, tries: int, wait: float, deadline: Deadline | None
    ) -> GiveUpReason | None:
        if exc.retry_after is not None and exc.retry_after > self.max_wait:
            return "retry_after"
        if tries >= self._max_tries(exc):
            return "tries"
        if deadline is not None and wait >= deadline.remaining():
            return "deadline"
        return None

    def _wait(self, state: tenacity.RetryCallState) -> float:
        exc = _transient(state)
        if exc.retry_after is not None:
            return min(exc.retry_after, self.max_wait)
        # min() first: 2**n for a huge attempt count would overflow a float
        exponent = min(state.attempt_number - 1, 64)
        wait = self.backoff * 2.0**exponent
        if self.jitter:
            wait += random.uniform(0, self.jitter)
        return min(wait, self.max_wait)


def _transient(state: tenacity.RetryCallState) -> Transient:
    exc = state.outcome.exception() if state.outcome else None
    assert isinstance(exc, Transient), "only Transient failures are retried"
    return exc
