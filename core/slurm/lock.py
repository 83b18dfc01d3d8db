"""One sync at a time: an exclusive ``flock`` on ``slurm-sync.lock`` in the site's private
directory (beside the audit key). The kernel releases it when the process ends, however it
ends, so a killed sync never leaves a stale lock. Syncs of one site run from its service
account on one host (help/slurm.md), where the lock is seen by every one of them."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from types import TracebackType

from ..errors import ConflictError

LOCK_NAME = "slurm-sync.lock"


class SyncLock:
    def __init__(self, directory: Path) -> None:
        self.path = directory / LOCK_NAME
        self._fd: int | None = None

    def __enter__(self) -> SyncLock:
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 32).decode("ascii", "replace").strip()
            os.close(fd)
            who = f" (process {holder})" if holder.isdigit() else ""
            raise ConflictError(
                f"another Slurm sync is running{who}; nothing was done, try again when it is over",
                field="slurm sync",
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self._fd = fd
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._fd is not None:
            os.ftruncate(self._fd, 0)
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None
