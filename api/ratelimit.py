"""Failed authentication, limited per client address (help/api.md, "Failed logins").

An address that failed :data:`LIMIT` times within :data:`WINDOW_S` seconds is refused (429)
until the oldest of those failures is that old. The server's worker processes share one count:
the failures live in a small file in the site's private directory (``api-failed-logins.json``,
mode 0600), written under an exclusive lock on a failure and re-read by a worker only when it
changed, so a request with a good token costs one ``stat``. Behind a reverse proxy the address
is the proxy's unless ``nodedesk serve --trusted-proxy`` names it.
"""

from __future__ import annotations

import fcntl
import json
import math
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

LIMIT = 10
WINDOW_S = 60.0
MAX_ADDRESSES = 10_000  # size bound: the addresses that failed longest ago are forgotten first
FILE_NAME = "api-failed-logins.json"

Failures = dict[str, list[float]]


class FailedLogins:
    """The failures of the last ``window_s`` seconds by address: in this process only, or shared
    through ``path`` by every process given the same file. Times are wall-clock seconds, which
    every process (and a restarted server) reads alike."""

    def __init__(
        self,
        limit: int = LIMIT,
        window_s: float = WINDOW_S,
        clock: Callable[[], float] = time.time,
        path: Path | None = None,
    ) -> None:
        self.limit = limit
        self.window_s = window_s
        self.clock = clock
        self.path = path
        self._failures: Failures = {}
        self._seen: tuple[int, int] | None = None  # the file's (mtime_ns, size) when last read
        self._lock = threading.Lock()

    # ---------------------------------------------------------------- the shared file

    def _stamp(self) -> tuple[int, int] | None:
        assert self.path is not None
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            return None
        return (st.st_mtime_ns, st.st_size)

    @staticmethod
    def _parse(text: str) -> Failures:
        """The file's failures; anything damaged reads as none (never as a refusal)."""
        try:
            doc = json.loads(text) if text.strip() else {}
        except ValueError:
            return {}
        if not isinstance(doc, dict):
            return {}
        return {
            str(address): [float(t) for t in times if isinstance(t, int | float)]
            for address, times in doc.items()
            if isinstance(times, list)
        }

    def _current(self) -> Failures:
        """The failures as the file holds them now (re-read only when it changed)."""
        if self.path is None:
            return self._failures
        stamp = self._stamp()
        if stamp != self._seen:
            try:
                self._failures = self._parse(self.path.read_text()) if stamp else {}
            except OSError:
                self._failures = {}
            self._seen = stamp
        return self._failures

    def _pruned(self, failures: Failures, now: float) -> Failures:
        kept = {a: [t for t in ts if t > now - self.window_s] for a, ts in failures.items()}
        return {a: ts[-self.limit :] for a, ts in kept.items() if ts}

    # ---------------------------------------------------------------- what the server asks

    def failed(self, address: str) -> None:
        now = self.clock()
        with self._lock:
            if self.path is None:
                self._failures = self._add(self._pruned(self._failures, now), address, now)
                return
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                with os.fdopen(os.dup(fd), "r+") as file:
                    failures = self._add(self._pruned(self._parse(file.read()), now), address, now)
                    file.seek(0)
                    file.truncate()
                    file.write(json.dumps(failures, separators=(",", ":")))
                self._failures, self._seen = failures, None  # the next look reads its stamp
            finally:
                os.close(fd)  # (releases the lock)

    def _add(self, failures: Failures, address: str, now: float) -> Failures:
        times = failures.pop(address, [])  # re-inserted last: the newest failure
        failures[address] = [*times, now][-self.limit :]
        while len(failures) > MAX_ADDRESSES:
            failures.pop(next(iter(failures)))
        return failures

    def blocked_for(self, address: str) -> int:
        """Seconds until ``address`` may try again (0: it may now)."""
        now = self.clock()
        with self._lock:
            times = [t for t in self._current().get(address, ()) if t > now - self.window_s]
        if len(times) < self.limit:
            return 0
        return max(1, math.ceil(times[-self.limit] + self.window_s - now))


def shared(site_dir: Path) -> FailedLogins:
    """The limiter every worker of a server over the site in ``site_dir`` shares (a site without
    its private directory yet: this process's own count)."""
    return FailedLogins(path=site_dir / FILE_NAME if site_dir.is_dir() else None)
