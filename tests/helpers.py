"""Helpers for tests (import as ``from tests.helpers import ...``)."""

from __future__ import annotations

from datetime import UTC, datetime

from nodedesk.core.config import Config
from nodedesk.core.runtime import Runtime
from nodedesk.core.timeutil import parse_instant

SITE_TZ = "America/New_York"
# 2026-02-15 10:00 in New York: inside the month of the worked examples in help/billing-rules.md.
DEFAULT_NOW = datetime(2026, 2, 15, 15, 0, tzinfo=UTC)
ADMIN = "admin"


def runtime_as(runtime: Runtime, login: str, override: str | None = None) -> Runtime:
    """The same database and clock, acting as another OS login."""
    cfg = Config(
        database_url=runtime.config.database_url,
        user_override=override,
        private_dir=runtime.config.site_dir,  # the same site: the same audit key and anchor
    )
    return Runtime(cfg, clock=runtime.clock_for(SITE_TZ), login=login, database=runtime.database)


def local(text_: str) -> datetime:
    """``"2026-02-15 08:00"`` in the site timezone, as an aware UTC datetime."""
    return parse_instant(text_, SITE_TZ)
