"""Reservations at risk (core/services/at_risk.py, help/dashboard.md) on both back ends.

Clock: 2026-02-15 10:00 New York. Node type A100 at 6.50 an hour from 2026-01-01.
"""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import pytest
from nodedesk.core.errors import ValidationError
from nodedesk.core.runtime import Runtime
from nodedesk.core.services.downtime import at_risk, outages, windows
from nodedesk.core.services.invoicing import rates
from nodedesk.core.services.nodes import inventory
from nodedesk.core.services.rentals import projects
from nodedesk.core.services.rentals import reservations as res
from nodedesk.core.services.views import dashboard

from tests.centre.support import queries
from tests.helpers import SITE_TZ, local


def _book(ctx, node: str, day: str, blocks: int, *, approve: bool = True) -> int:  # type: ignore[no-untyped-def]
    draft = res.ReservationDraft(node, "Genomics", date.fromisoformat(day), blocks)
    return res.record_reservation(ctx, draft, approve=approve, waive_policy=True).reservation.id


def _centre(runtime: Runtime) -> dict[str, int]:
    with runtime.write() as ctx:
        inventory.add_node_type(ctx, "A100", "GPU")
        for i in range(1, 7):
            inventory.add_node(ctx, f"n{i}", "A100")
        projects.add_project(ctx, "Genomics", "admin")
        rates.set_rate(ctx, "NODE_A100", "6.50", date(2026, 1, 1))
        ids = {
            "running": _book(ctx, "n1", "2026-02-14", 6),  # 02-14 16:00 → 02-17 09:00
            "pending": _book(ctx, "n2", "2026-02-16", 2, approve=False),  # 02-16 16:00 → 02-17 09:00
            "later": _book(ctx, "n3", "2026-02-25", 2),  # beyond the 7 days
            "cancelled": _book(ctx, "n4", "2026-02-16", 2),
            "past": _book(ctx, "n5", "2026-02-10", 2),  # ended 02-11 09:00
        }
        res.cancel_reservation(ctx, ids["cancelled"], reason="not needed")
    return ids


def test_running_and_pending_reservations_hit_ahead_with_hours_and_money(runtime: Runtime) -> None:
    ids = _centre(runtime)
    with runtime.write() as ctx:
        # all nodes, tomorrow: the running (n1), the pending (n2) and the cancelled (n4) are under it
        windows.create_window(
            ctx, windows.WindowDraft("Patch Tuesday", local("2026-02-16 20:00"), local("2026-02-17 04:00"))
        )
        # the window past the horizon hits "later", which is not at risk in the 7 days
        windows.create_window(
            ctx, windows.WindowDraft("Later work", local("2026-02-25 20:00"), local("2026-02-25 22:00"))
        )
    with runtime.read() as ctx:
        report = at_risk.reservations_at_risk(ctx)
    assert report.until == local("2026-02-22 10:00")
    got = {line.reservation_id: (line.status, line.hours, line.not_billed) for line in report.lines}
    assert got == {
        ids["running"]: ("approved", Decimal(8), Decimal("52.00")),
        ids["pending"]: ("pending", Decimal(8), Decimal("52.00")),  # priced as if approved
    }
    assert (report.hours, report.not_billed) == (Decimal(16), Decimal("104.00"))
    assert report.summary() == "2 reservation(s) at risk: 16.00 h, 104.00 USD not billed"
    line = report.lines[0]
    assert [(d.source, d.title, d.start, d.end) for d in line.downtime] == [
        ("maintenance", "Patch Tuesday", local("2026-02-16 20:00"), local("2026-02-17 04:00"))
    ]
    doc = report.to_json(SITE_TZ)
    json.dumps(doc)
    assert doc["totals"] == {"reservations": 2, "hours": "16.00", "not_billed": "104.00"}
    assert doc["reservations"][0]["downtime"][0]["hours"] == "8.00"  # type: ignore[index]
    with runtime.read() as ctx:  # a longer horizon reaches "later"
        longer = at_risk.reservations_at_risk(ctx, days=14)
    assert ids["later"] in {x.reservation_id for x in longer.lines}


def test_only_the_part_ahead_counts_and_past_downtime_is_history(runtime: Runtime) -> None:
    ids = _centre(runtime)
    with runtime.write() as ctx:
        # started yesterday (backdated), ends in 2 h: only 10:00-12:00 of it is ahead
        windows.create_window(
            ctx,
            windows.WindowDraft(
                "Overrun", local("2026-02-14 18:00"), local("2026-02-15 12:00"), scope=windows.Scope(("n1",))
            ),
            reason="recorded late",
        )
    with runtime.read() as ctx:
        (line,) = at_risk.reservations_at_risk(ctx).lines
    assert (line.reservation_id, line.hours, line.not_billed) == (
        ids["running"],
        Decimal(2),
        Decimal("13.00"),
    )
    assert [(d.start, d.end) for d in line.downtime] == [
        (local("2026-02-15 10:00"), local("2026-02-15 12:00"))
    ]


def test_open_outage_counts_until_its_etr_and_uncredited_ones_not_at_all(runtime: Runtime) -> None:
    ids = _centre(runtime)
    with runtime.write() as ctx:
        outages.create_outage(
            ctx,
            outages.OutageDraft(
                "Fan", ("n2",), local("2026-02-15 06:00"), etr=local("2026-02-16 18:00"), status="identified"
            ),
        )
        outages.create_outage(  # not credited: billed anyway, so nothing is at risk
            ctx, outages.OutageDraft("Noisy", ("n1",), local("2026-02-15 08:00"), credit=False)
        )
    with runtime.read() as ctx:
        (line,) = at_risk.reservations_at_risk(ctx).lines
    # the pending booking starts 02-16 16:00; the outage is expected until its ETR, 18:00
    assert (line.reservation_id, line.hours) == (ids["pending"], Decimal(2))
    assert line.downtime[0].open and line.downtime[0].end == local("2026-02-16 18:00")


def test_dashboard_panel_carries_the_totals(runtime: Runtime) -> None:
    ids = _centre(runtime)
    with runtime.write() as ctx:
        windows.create_window(
            ctx, windows.WindowDraft("Patch Tuesday", local("2026-02-16 20:00"), local("2026-02-17 04:00"))
        )
    with runtime.read() as ctx:
        panel = dashboard.slow_parts(ctx).at_risk
        doc = dashboard.dashboard(ctx).to_json(SITE_TZ)["reservations_at_risk"]
    assert isinstance(panel, dashboard.RiskPanel)
    assert [a.id for a in panel.items] == [ids["running"], ids["pending"]]
    assert (panel.total, panel.hours, panel.not_billed, panel.currency) == (2, 16, Decimal("104.00"), "USD")
    assert doc["hours"] == "16.00" and doc["not_billed"] == "104.00"  # type: ignore[index]
    assert doc["items"][1]["not_billed"] == "52.00"  # type: ignore[index]


def test_bad_horizon_is_refused(runtime: Runtime) -> None:
    with runtime.read() as ctx, pytest.raises(ValidationError, match="days: must be between 1 and 366"):
        at_risk.reservations_at_risk(ctx, days=0)
    with runtime.read() as ctx, pytest.raises(ValidationError, match="until: must be after now"):
        at_risk.reservations_at_risk(ctx, until=local("2026-02-15 09:00"))


def test_a_fixed_number_of_queries(runtime: Runtime) -> None:
    _centre(runtime)
    with runtime.write() as ctx:
        windows.create_window(
            ctx, windows.WindowDraft("Patch", local("2026-02-16 20:00"), local("2026-02-17 04:00"))
        )

    def count() -> tuple[int, int]:
        found: list[int] = []
        n = queries(runtime, lambda ctx: found.append(len(at_risk.reservations_at_risk(ctx).lines)))
        return found[0], n

    few, before = count()
    with runtime.write() as ctx:
        for i in range(7, 17):
            inventory.add_node(ctx, f"n{i}", "A100")
            _book(ctx, f"n{i}", "2026-02-16", 2)
    many, after = count()
    assert (few, many) == (2, 12) and after == before
