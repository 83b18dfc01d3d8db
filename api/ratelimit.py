"""Failed authentication, limited per client address (help/api.md, "Failed logins").

An address that failed :data:`LIMIT` times within :data:`WINDOW_S` seconds is refused (429)
until the oldest of those failures is that old. Counted per server process: with
``--workers N`` an address may fail up to N x LIMIT times per window. Behind a reverse proxy
the address is the proxy's unless ``nodedesk serve --trusted-proxy`` names it.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable

LIMIT = 10
WINDOW_S = 60.0
MAX_ADDRESSES = 10_000  # memory bound: the oldest addresses are forgotten first


class FailedLogins:
    def __init__(
        self, limit: int = LIMIT, window_s: float = WINDOW_S, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.limit = limit
        self.window_s = window_s
        self.clock = clock
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, address: str, now: float) -> deque[float]:
        times = self._failures.get(address)
        if times is None:
            return deque()
        while times and times[0] <= now - self.window_s:
            times.popleft()
        if not times:
            del self._failures[address]
        return times

    def failed(self, address: str) -> None:
        now = self.clock()
        with self._lock:
            times = self._recent(address, now)
            if address not in self._failures:
                if len(self._failures) >= MAX_ADDRESSES:
                    self._failures.pop(next(iter(self._failures)))
                self._failures[address] = times
            times.append(now)
            while len(times) > self.limit:
                times.popleft()

    def blocked_for(self, address: str) -> int:
        """Seconds until ``address`` may try again (0: it may now)."""
        now = self.clock()
        with self._lock:
            times = self._recent(address, now)
            if len(times) < self.limit:
                return 0
            return max(1, math.ceil(times[0] + self.window_s - now))
