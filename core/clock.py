"""The one source of "now".

Services never call ``datetime.now()``; they ask a :class:`Clock`. ``NODEDESK_NOW`` freezes the
clock (tests, reproducing an invoice); the audit log records when it was frozen. Every time rule
follows it, so it is honoured only when the real user is an admin (``Runtime.check_clock``,
help/security.md).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

ENV_NOW = "NODEDESK_NOW"


class Clock(Protocol):
    frozen: bool

    def now(self) -> datetime:
        """Current instant, timezone-aware UTC."""
        ...


@dataclass
class SystemClock:
    frozen: bool = False

    def now(self) -> datetime:
        return datetime.now(UTC)


@dataclass
class FrozenClock:
    instant: datetime
    frozen: bool = True

    def __post_init__(self) -> None:
        if self.instant.tzinfo is None:
            raise ValueError("FrozenClock needs a timezone-aware instant")
        self.instant = self.instant.astimezone(UTC)

    def now(self) -> datetime:
        return self.instant

    def set(self, instant: datetime) -> None:
        """Move the frozen clock (tests)."""
        self.instant = instant.astimezone(UTC)


def clock_from_env(site_timezone: str, environ: dict[str, str] | None = None) -> Clock:
    """``NODEDESK_NOW`` (read in the site timezone when it has no offset) or the system clock."""
    from .timeutil import parse_instant  # local import: timeutil imports nothing from here

    env = os.environ if environ is None else environ
    raw = env.get(ENV_NOW, "").strip()
    if not raw:
        return SystemClock()
    return FrozenClock(parse_instant(raw, site_timezone, field=ENV_NOW))
