"""Results kept while nothing changed, for a long-running reader such as the HTTP API.

Every change writes one activity entry, so the log's head (core/changes.py) moves if and only if
data changed. A result computed under one head stays true until the head moves or the clock
reaches the first instant at which the result would read differently (a window that starts, a
reservation that ends, a token that expires): the computing code says which instant that is.
Reading the head is one indexed query, so a reader that finds its result kept answers at the
cost of that query.

The head is read before the result is computed, in the same unit of work: a result is never
kept under a head newer than the data it was computed from.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar, cast

from .changes import ChangeHead

T = TypeVar("T")


@dataclass(frozen=True)
class _Kept:
    head: ChangeHead
    until: datetime | None  # None: true until the head moves
    value: Any


class HeadMemo:
    """A bounded, thread-safe map of results by key, each kept under the head it was computed at.

    ``hits`` and ``misses`` count lookups (for the benchmark's figures and the tests)."""

    def __init__(self, size: int = 512) -> None:
        self.size = size
        self._items: OrderedDict[Hashable, _Kept] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def fetch(
        self,
        head: ChangeHead,
        key: Hashable,
        now: datetime,
        compute: Callable[[], tuple[T, datetime | None]],
    ) -> T:
        """The value kept for ``key`` if it was computed under ``head`` and ``now`` is before its
        end of validity; else ``compute()`` → (value, valid until), kept. An exception in
        ``compute`` keeps nothing."""
        with self._lock:
            kept = self._items.get(key)
            if kept is not None and kept.head == head and (kept.until is None or now < kept.until):
                self._items.move_to_end(key)
                self.hits += 1
                return cast(T, kept.value)  # what compute() gave for this key
            self.misses += 1
        value, until = compute()
        with self._lock:
            self._items[key] = _Kept(head, until, value)
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        return value

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


def earliest(*instants: datetime | None) -> datetime | None:
    """The first of the instants given (None: no limit)."""
    known = [t for t in instants if t is not None]
    return min(known) if known else None
