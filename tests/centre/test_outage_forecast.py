"""An open outage looks ahead to its effective end (core/downtime.py), the same everywhere."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from nodedesk.core.downtime import load_downtime, outage_effective_end
from nodedesk.core.errors import ValidationError
from nodedesk.core.runtime import Runtime
from nodedesk.core.services.downtime import impact, outages
from nodedesk.core.services.downtime.windows import Scope
from nodedesk.core.services.invoicing import rates
from nodedesk.core.services.nodes import inventory
from nodedesk.core.services.rentals import projects
from nodedesk.core.services.rentals import reservations as res
from nodedesk.core.services.site import settings

from tests.helpers import DEFAULT_NOW, local

NOW = DEFAULT_NOW


def test_effective_end_rule() -> None:
    start = NOW - timedelta(hours=5)
    resolved = NOW - timedelta(hours=1)
    assert outage_effective_end(start, resolved, None, NOW, 24) == resolved
    assert outage_effective_end(start, None, NOW + timedelta(hours=3), NOW, 24) == NOW + timedelta(hours=3)
    # no ETR, or an ETR already past: the default from now
    assert outage_effective_end(start, None, None, NOW, 24) == NOW + timedelta(hours=24)
    assert outage_effective_end(start, None, NOW - timedelta(hours=1), NOW, 6) == NOW + timedelta(hours=6)


@given(
    start=st.integers(-1000, 0),
    etr=st.one_of(st.none(), st.integers(-999, 1000)),
    default=st.integers(1, 720),
)
def test_an_open_outage_ends_after_now_and_its_start(start: int, etr: int | None, default: int) -> None:
    s = NOW + timedelta(hours=start)
    e = NOW + timedelta(hours=etr) if etr is not None and etr > start else None
    until = outage_effective_end(s, None, e, NOW, default)
    assert until > NOW and until > s
    assert until <= NOW + timedelta(hours=max(default, etr or 0))


def test_the_default_is_a_checked_site_setting(runtime: Runtime) -> None:
    with runtime.write() as ctx:
        assert settings.list_settings(ctx)["outage_default_hours"] == "24"
        assert settings.set_setting(ctx, "outage_default_hours", "6") == ("24", "6")
        assert ctx.site.outage_default_hours == 6
        with pytest.raises(ValidationError, match="outage_default_hours: must be between 1 and 720"):
            settings.set_setting(ctx, "outage_default_hours", "0")


def _node_with_booking(runtime: Runtime) -> None:
    with runtime.write() as ctx:
        inventory.add_node_type(ctx, "A100", "GPU")
        inventory.add_node(ctx, "n1", "A100")
        projects.add_project(ctx, "Genomics", "admin")
        rates.set_rate(ctx, "NODE_A100", "10.00", date(2026, 1, 1))
        draft = res.ReservationDraft("n1", "Genomics", date(2026, 2, 15), 4)  # 02-15 16:00 → 02-17 09:00
        res.record_reservation(ctx, draft, approve=True, waive_policy=True)
        outages.create_outage(ctx, outages.OutageDraft("PSU", ("n1",), local("2026-02-15 06:00")))


def test_previews_count_an_open_outage_until_its_effective_end(runtime: Runtime) -> None:
    _node_with_booking(runtime)
    with runtime.read() as ctx:
        # No ETR: the outage is expected until now + 24 h (02-16 10:00); a window 02-16 08:00-12:00
        # adds only the 2 hours after that, and the outage is a conflict.
        found = impact.assess(ctx, local("2026-02-16 08:00"), local("2026-02-16 12:00"), Scope(("n1",)))
        assert [line.hours for line in found.lines] == [Decimal(2)]
        assert found.lines[0].not_billed == Decimal("20.00")
        assert [o.until for o in found.outages] == [local("2026-02-16 10:00")]
        later = impact.assess(ctx, local("2026-02-16 12:00"), local("2026-02-16 14:00"), Scope(("n1",)))
        assert later.outages == () and [line.hours for line in later.lines] == [Decimal(2)]
        # Billing still counts it only up to now.
        index = load_downtime(ctx.session, local("2026-02-15 00:00"), local("2026-02-18 00:00"), ctx.now())
        (src,) = next(iter(index.outages_by_node.values()))
        assert src.interval.end == ctx.now()
    with runtime.write() as ctx:
        settings.set_setting(ctx, "outage_default_hours", "48")
    with runtime.read() as ctx:
        found = impact.assess(ctx, local("2026-02-16 12:00"), local("2026-02-16 14:00"), Scope(("n1",)))
        assert found.lines == () and len(found.outages) == 1


def test_an_etr_ahead_wins_over_the_default(runtime: Runtime) -> None:
    _node_with_booking(runtime)
    with runtime.write() as ctx:
        (o,) = outages.list_outages(ctx).items
        outages.revise_etr(ctx, o.id, local("2026-02-15 12:00"))
    with runtime.read() as ctx:
        found = impact.assess(ctx, local("2026-02-15 14:00"), local("2026-02-15 18:00"), Scope(("n1",)))
        assert found.outages == ()  # the ETR (12:00) is before the window
        assert [line.hours for line in found.lines] == [Decimal(2)]  # 16:00-18:00 of the booking
