"""When and how long to wait before trying a request again (fetches and search APIs alike).

A request function signals "worth another try" by raising :class:`Transient`, which carries
the error to raise once the tries run out and, when the server said so, how long to wait.
"""

from __future__ import annotations

import email.utils
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TypeVar

import tenacity

from webqa.errors import FetchError

__all__ = ["Transient", "RetryPolicy", "parse_retry_after", "RETRY_STATUSES"]

T = TypeVar("T")

#: Statuses that usually mean "try again shortly": rate limited, or a gateway hiccup.
RETRY_STATUSES = frozenset({429, 502, 503, 504})


class Transient(Exception):
    """A failure worth another try; ``error`` is what the caller sees when tries run out."""

    def __init__(self, error: FetchError, retry_after: float | None = None) -> None:
        super().__init__(str(error))
        self.error = error
        self.retry_after = retry_after


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta seconds or an HTTP date), or None."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - (now or datetime.now(timezone.utc))).total_seconds())


@dataclass
class RetryPolicy:
    """Exponential backoff with a cap; a server's ``Retry-After`` wins when it is within the cap.

    ``attempts`` counts the first try. ``sleep`` is injected so tests do not wait.
    """

    attempts: int = 3
    backoff: float = 0.5
    max_wait: float = 10.0
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False)

    def call(self, attempt: Callable[[], T]) -> T:
        """Run ``attempt`` until it returns, raises a non-transient error, or tries run out."""
        retrying = tenacity.Retrying(
            stop=tenacity.stop_after_attempt(max(1, self.attempts)),
            wait=self._wait,
            retry=tenacity.retry_if_exception(self._worth_retrying),
            sleep=self.sleep,
            reraise=True,
        )
        try:
            return retrying(attempt)
        except Transient as exc:
            raise exc.error from exc.__cause__

    def _worth_retrying(self, exc: BaseException) -> bool:
        # A server asking for a longer pause than we are willing to wait gets no retry:
        # sleeping the cap and asking again would only be refused again.
        return isinstance(exc, Transient) and (exc.retry_after or 0) <= self.max_wait

    def _wait(self, state: tenacity.RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, Transient) and exc.retry_after is not None:
            return min(exc.retry_after, self.max_wait)
        return min(self.backoff * 2 ** (state.attempt_number - 1), self.max_wait)
