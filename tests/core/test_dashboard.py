"""The dashboard service on both back ends, at the frozen clock (2026-02-15 10:00 New York)."""

from __future__ import annotations

import json
from datetime import date, timedelta
from decimal import Decimal

from nodedesk.core.clock import FrozenClock
from nodedesk.core.runtime import Runtime
from nodedesk.core.services.downtime import windows
from nodedesk.core.services.invoicing import invoices
from nodedesk.core.services.rentals import reservations, splits
from nodedesk.core.services.views.dashboard import dashboard, slow_parts
from sqlalchemy import event

from tests.helpers import SITE_TZ, local
from tests.tui.dashboard_seed import seed_dashboard


def test_every_panel_at_the_frozen_clock(runtime: Runtime) -> None:
    seed = seed_dashboard(runtime)
    r = seed.rentals
    with runtime.read() as ctx:
        d = dashboard(ctx)
    assert d.near_until == local("2026-02-22 10:00") and d.far_until == local("2026-03-17 10:00")
    # in progress: the cooling window with its node, the open outage with its node
    assert [w.id for w in d.windows_now.items] == [seed.cooling]
    assert d.windows_now.items[0].nodes == ("node01",)
    assert [o.id for o in d.outages_now.items] == [r.open] and d.outages_now.items[0].nodes == ("node02",)
    # next 7 days: Kernel patch (all nodes) and Switch firmware, by start; Power work is later
    assert [w.id for w in d.windows_near.items] == [r.window, seed.network]
    assert d.windows_near.items[0].nodes == ("node01", "node02", "node03")
    assert d.windows_near.items[0].nodes_label() == "all nodes (3)"
    assert [w.id for w in d.windows_far.items] == [seed.power]
    assert d.windows_far.items[0].nodes == ("node01", "node02", "node03")  # by node type
    assert d.windows_far.items[0].nodes_label() == "A100 (3 nodes)"
    # the approved folding reservation starts within 7 days and loses 2 h to Kernel patch
    assert [a.id for a in d.at_risk.items] == [r.folding]
    assert d.at_risk.items[0].hours_affected == Decimal(2)
    # pending approvals
    assert [p.id for p in d.pending_reservations.items] == [r.climate, r.later]
    assert [(s.id, s.project) for s in d.pending_splits.items] == [(seed.split, "Climate")]
    # notices waiting: two pending, one failed (the sent one is not waiting)
    assert (d.notices.pending, d.notices.failed, d.notices.waiting) == (2, 1, 3)
    # this month is a draft with the live total of the invoice service
    with runtime.read() as ctx:
        expected = invoices.month_summary(ctx, "2026-02")
    assert d.invoice.period == "2026-02" and d.invoice.status == "draft"
    assert d.invoice.amount == Decimal(expected.amount) == Decimal("60.00")
    assert d.invoice.currency == "USD" and isinstance(d.invoice.amount, Decimal)
    assert d.last_month.period == "2026-01" and d.last_month.status == "draft"


def test_panels_follow_the_clock(runtime: Runtime, clock: FrozenClock) -> None:
    seed = seed_dashboard(runtime)
    clock.set(local("2026-02-21 07:00"))  # inside Kernel patch; cooling is over
    with runtime.read() as ctx:
        d = dashboard(ctx)
    assert [w.id for w in d.windows_now.items] == [seed.rentals.window]
    assert [w.id for w in d.windows_near.items] == [seed.network]
    assert [w.id for w in d.windows_far.items] == [seed.power]
    assert d.at_risk.items == ()  # folding already started: not "starting soon"


def test_changes_show_up_and_decided_items_leave(runtime: Runtime) -> None:
    seed = seed_dashboard(runtime)
    r = seed.rentals
    with runtime.write() as ctx:
        reservations.approve_reservation(ctx, r.climate)
        splits.reject_split(ctx, "Climate", "wrong codes")
        # a new pending booking on node02 within 7 days, and a window over its last 2 hours
        draft = reservations.ReservationDraft("node02", "Climate", date(2026, 2, 18), 2)
        booked = reservations.record_reservation(ctx, draft, approve=False, waive_policy=True).reservation
        windows.create_window(
            ctx,
            windows.WindowDraft(
                "Rack move",
                booked.end - timedelta(hours=2),
                booked.end + timedelta(hours=1),
                scope=windows.Scope(("node02",)),
            ),
        )
    with runtime.read() as ctx:
        d = dashboard(ctx)
    assert [p.id for p in d.pending_reservations.items] == [booked.id, r.later]
    assert d.pending_splits.items == () and d.pending_splits.total == 0
    assert [(a.id, a.hours_affected) for a in d.at_risk.items] == [
        (booked.id, Decimal(2)),
        (r.folding, Decimal(2)),
    ]


def test_finalized_and_drifted_months(runtime: Runtime, clock: FrozenClock) -> None:
    seed = seed_dashboard(runtime)
    clock.set(local("2026-03-02 10:00"))
    with runtime.write() as ctx:
        invoices.finalize(ctx, "2026-02")
    with runtime.read() as ctx:
        d = dashboard(ctx)
    assert (d.invoice.period, d.invoice.status) == ("2026-03", "draft")
    assert (d.last_month.period, d.last_month.status) == ("2026-02", "finalized")
    assert d.last_month.finalized_by == "admin"
    with runtime.write() as ctx:  # an admin correction changes February's downtime
        windows.update_window(
            ctx,
            seed.rentals.window,
            windows.WindowChanges(end=local("2026-02-21 09:00")),
            correction=True,
            reason="overran",
        )
    with runtime.read() as ctx:
        d = dashboard(ctx)
    assert d.last_month.status == "drifted" and d.last_month.drift_note
    clock.set(local("2026-02-15 10:00"))  # back in February: this month is the finalized one
    with runtime.read() as ctx:
        assert dashboard(ctx).invoice.status == "drifted"


def test_json_is_plain_and_site_local(runtime: Runtime) -> None:
    seed = seed_dashboard(runtime)
    with runtime.read() as ctx:
        doc = dashboard(ctx).to_json(SITE_TZ)
    json.dumps(doc)  # nothing but JSON types
    assert doc["now"] == "2026-02-15T10:00:00-05:00"
    assert doc["in_progress"]["windows"]["items"][0]["affected_nodes"] == ["node01"]
    assert doc["next_7_days"]["total"] == 2
    assert doc["reservations_at_risk"]["items"][0]["hours_affected"] == "2.00"
    assert doc["pending_approvals"]["splits"]["items"][0]["id"] == seed.split
    assert doc["notices"] == {"pending": 2, "failed": 1, "waiting": 3}
    assert doc["invoice"]["status"] == "draft" and doc["invoice"]["currency"] == "USD"


def test_query_count_does_not_grow_with_the_data(runtime: Runtime) -> None:
    seed_dashboard(runtime)

    def count() -> int:
        statements: list[str] = []

        def log(*args: object) -> None:
            statements.append(str(args[2]))

        engine = runtime.database.engine
        event.listen(engine, "before_cursor_execute", log)
        try:
            with runtime.read() as ctx:
                dashboard(ctx)
        finally:
            event.remove(engine, "before_cursor_execute", log)
        return len(statements)

    before = count()
    with runtime.write() as ctx:  # more of everything the panels list
        for day in range(16, 21):
            windows.create_window(
                ctx,
                windows.WindowDraft(
                    f"Patch {day}",
                    local(f"2026-02-{day} 06:00"),
                    local(f"2026-02-{day} 07:00"),
                    scope=windows.Scope(("node03",)),
                ),
            )
        for day in ("2026-03-16", "2026-03-23"):
            draft = reservations.ReservationDraft("node02", "Climate", date.fromisoformat(day), 1)
            reservations.record_reservation(ctx, draft, approve=False, waive_policy=True)
    assert count() == before


def test_a_new_site_has_an_empty_dashboard(runtime: Runtime) -> None:
    with runtime.read() as ctx:
        d = dashboard(ctx)
    panels = (d.windows_now, d.outages_now, d.windows_near, d.windows_far, d.at_risk)
    assert all(p.items == () and p.total == 0 for p in panels)
    assert d.pending_reservations.total == 0 and d.pending_splits.total == 0
    assert d.notices.waiting == 0
    assert (d.invoice.status, d.invoice.amount, d.invoice.projects) == ("draft", Decimal("0.00"), 0)


def test_horizons_keep_the_wall_clock_across_dst(runtime: Runtime, clock: FrozenClock) -> None:
    clock.set(local("2026-03-05 10:00"))  # EST; clocks go forward on 2026-03-08
    with runtime.read() as ctx:
        d = dashboard(ctx)
    assert d.near_until == local("2026-03-12 10:00")  # 10:00 EDT: 167 hours later, not 168
    assert (d.near_until - d.now).total_seconds() == 167 * 3600
    assert d.far_until == local("2026-04-04 10:00")


def test_quick_read_leaves_the_slow_parts_for_later(runtime: Runtime) -> None:
    """The app shows the quick panels first; quick + slow parts equal the one-call dashboard."""
    seed_dashboard(runtime)
    with runtime.read() as ctx:
        quick = dashboard(ctx, slow=False)
        parts = slow_parts(ctx)
        full = dashboard(ctx)
    assert (quick.at_risk, quick.invoice, quick.last_month) == (None, None, None)
    assert not quick.complete and full.complete
    doc = quick.to_json(SITE_TZ)
    assert doc["reservations_at_risk"] is None and doc["invoice"] is None
    assert quick.with_slow(parts).to_json(SITE_TZ) == full.to_json(SITE_TZ)
