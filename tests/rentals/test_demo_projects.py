"""The demo centre's projects, splits, rates and subscriptions (``nodedesk init --demo``)."""

from __future__ import annotations

from datetime import date

import pytest
from nodedesk.core import audit
from nodedesk.core.clock import FrozenClock
from nodedesk.core.config import Config
from nodedesk.core.db.engine import Database
from nodedesk.core.runtime import Runtime
from nodedesk.core.services.invoicing import rates
from nodedesk.core.services.rentals import projects, splits, subscriptions
from nodedesk.core.services.site.demo_projects import relative_day
from nodedesk.core.services.site.setup import initialize

from tests.helpers import ADMIN, DEFAULT_NOW, SITE_TZ


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("0m", date(2026, 2, 1)),
        ("-1m", date(2026, 1, 1)),
        ("-1m-end", date(2026, 1, 31)),
        ("-12m", date(2025, 2, 1)),
        ("1m-end", date(2026, 3, 31)),
        ("0m-end", date(2026, 2, 28)),
        ("-40d", date(2026, 1, 6)),
        ("+3d", date(2026, 2, 18)),
    ],
)
def test_relative_day(spec: str, expected: date) -> None:
    assert relative_day(date(2026, 2, 15), spec) == expected


def test_bad_relative_day() -> None:
    with pytest.raises(ValueError, match="bad relative date"):
        relative_day(date(2026, 2, 15), "yesterday")


def test_demo_projects_look_alive(database: Database, database_url: str) -> None:
    clock = FrozenClock(DEFAULT_NOW)
    result = initialize(database, ADMIN, timezone=SITE_TZ, clock=clock, demo=True)
    assert result.demo is not None
    assert result.demo["projects"] == 8
    runtime = Runtime(Config(database_url=database_url), clock=clock, login=ADMIN, database=database)
    today = date(2026, 2, 15)
    with runtime.read() as ctx:
        listed = projects.list_projects(ctx)
        assert len(listed) == 8
        in_force = {p.title: splits.split_in_force(ctx, p.id, today) for p in listed}
        pending = [p.title for p in listed if splits.pending_split(ctx, p.id)]
        changed = [p.title for p in listed if len(splits.split_history(ctx, p.id)) >= 2]
        skus = rates.list_skus(ctx)
        since = relative_day(today, "-2m")  # a rate change a month or two ago
        recent_changes = [s.code for s in skus if s.rate and s.rate.effective_date >= since]
        subs = subscriptions.list_subscriptions(ctx)
        assert audit.verify(ctx.session).ok
    assert [t for t, v in in_force.items() if v is None] == ["Astrophysics N-body"]  # UNALLOCATED
    assert pending == ["Genomics Variant Calling"]
    assert "Protein Folding at Scale" in changed
    assert all(s.rate is not None for s in skus)  # every SKU has a rate today
    assert {"NODE_A100", "NODE_H100", "MAINT_STANDARD"} <= set(recent_changes)
    assert len(subs) >= 8
    assert any(len(s.periods) == 2 and s.periods[0].project != s.periods[1].project for s in subs)
    assert {s.status for s in subs} == {"active", "ended"}
