"""The one LRU of webqa: thread-safe, bounded by entry count and optionally by total weight.

Used for rendered pages shared between runs and for fetched documents.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Generic, TypeVar

__all__ = ["LRU"]

K = TypeVar("K")
V = TypeVar("V")


class LRU(Generic[K, V]):
    """Keeps the most recently used ``max_entries`` values, and at most ``max_weight`` in
    total when a ``weight`` function is given (e.g. characters of text)."""

    def __init__(
        self,
        max_entries: int,
        *,
        max_weight: int | None = None,
        weight: Callable[[V], int] | None = None,
    ) -> None:
        self.max_entries, self.max_weight = max_entries, max_weight
        self._weight = weight or (lambda _: 0)
        self._data: OrderedDict[K, V] = OrderedDict()
        self._total = 0
        self._lock = threading.Lock()

    def get(self, key: K) -> V | None:
        """The value for ``key``, marked as recently used; None when absent."""
        with self._lock:
            value = self._data.get(key)
            if value is not None:
                self._data.move_to_end(key)
            return value

    def put(self, key: K, value: V) -> None:
        """Keep ``value`` under ``key``, dropping the least recently used past the bounds."""
        with self._lock:
            old = self._data.pop(key, None)
            if old is not None:
                self._total -= self._weight(old)
            self._data[key] = value
            self._total += self._weight(value)
            while self._data and (
                len(self._data) > self.max_entries
                or (self.max_weight is not None and self._total > self.max_weight)
            ):
                _, dropped = self._data.popitem(last=False)
                self._total -= self._weight(dropped)

    def __len__(self) -> int:
        return len(self._data)

    def __contains__(self, key: object) -> bool:
        with self._lock:
            return key in self._data
