"""The at-risk and open-outage defects, reproduced through the services the admins use.

- A maintenance window tomorrow that hits reservations already running: they are at risk (the
  dashboard used to count only reservations *starting* within the horizon).
- An open outage whose ETR is tomorrow: it is not a conflict for schedule occurrences after the
  ETR (it used to be one on every future occurrence).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from nodedesk.core.runtime import Runtime
from nodedesk.core.services.downtime import outages, schedules, windows
from nodedesk.core.services.invoicing import rates
from nodedesk.core.services.nodes import inventory
from nodedesk.core.services.rentals import projects
from nodedesk.core.services.rentals import reservations as res
from nodedesk.core.services.views import dashboard

from tests.helpers import local


def _centre(runtime: Runtime) -> list[int]:
    """Two A100 nodes, each with an approved reservation running now (clock: 02-15 10:00)."""
    with runtime.write() as ctx:
        inventory.add_node_type(ctx, "A100", "GPU")
        inventory.add_node(ctx, "n1", "A100")
        inventory.add_node(ctx, "n2", "A100")
        projects.add_project(ctx, "Genomics", "admin")
        rates.set_rate(ctx, "NODE_A100", "5.00", date(2026, 1, 1))
        ids = []
        for node in ("n1", "n2"):
            draft = res.ReservationDraft(node, "Genomics", date(2026, 2, 14), 6)  # 02-14 16:00 → 02-17 09:00
            ids.append(res.record_reservation(ctx, draft, approve=True, waive_policy=True).reservation.id)
    return ids


def test_running_reservations_hit_by_tomorrows_window_are_at_risk(runtime: Runtime) -> None:
    running = _centre(runtime)
    with runtime.write() as ctx:
        windows.create_window(
            ctx, windows.WindowDraft("Patch Tuesday", local("2026-02-16 08:00"), local("2026-02-16 12:00"))
        )
    with runtime.read() as ctx:
        panel = dashboard.slow_parts(ctx).at_risk
    assert sorted(a.id for a in panel.items) == sorted(running)
    assert [a.hours_affected for a in panel.items] == [Decimal(4), Decimal(4)]


def test_open_outage_with_etr_tomorrow_is_no_conflict_after_its_etr(runtime: Runtime) -> None:
    _centre(runtime)
    with runtime.write() as ctx:
        outages.create_outage(
            ctx,
            outages.OutageDraft(
                "PSU",
                ("n1",),
                local("2026-02-15 06:00"),
                etr=local("2026-02-16 12:00"),
                status="investigating",
            ),
        )
    with runtime.read() as ctx:
        preview = schedules.preview_draft(
            ctx,
            schedules.ScheduleDraft("Weekly patch", "FREQ=DAILY", "06:00", duration="2h"),
            count=5,
        )
    conflicts = {o.local_date.isoformat(): [c.id for c in o.impact.outages] for o in preview.occurrences}
    # 02-16 06:00-08:00 is before the ETR: the outage overlaps it; the later ones are after it.
    assert conflicts["2026-02-16"] != []
    assert [day for day, found in conflicts.items() if found] == ["2026-02-16"]
