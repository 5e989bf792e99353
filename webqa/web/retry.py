"""The retry names the fetcher and the search engines use; the policy is :mod:`webqa.retry`."""

from __future__ import annotations

from webqa.retry import RETRY_STATUSES, RetryPolicy, Transient, parse_retry_after

__all__ = ["Transient", "RetryPolicy", "parse_retry_after", "RETRY_STATUSES"]
