"""Seed data for the Invoices screen tests (clock frozen at 2026-02-15 10:00 New York).

The billing reference centre of help/billing-rules.md (project Genomics, split GRANT-A 60 /
GRANT-B 40, $8.00/h, reservations r1…r6 on node2431…node2436 with their windows), plus:

- r7 on node2431 in January (Jan 10 16:00 → Jan 12 09:00, 41 h) reduced by a credited outage
  (Jan 11 00:00–06:00) and a window (Jan 11 04:00–08:00) that overlap: 8 h counted once.
- Climate (owner carol, no cost split): carol's MAINT_STANDARD fee ($25/month) is billed to it,
  so January and February carry an "unallocated" warning.
- Users ``bmgr`` (billing manager) and ``vic`` (viewer).

January has ended (it may be finalized); February is still open.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from nodedesk.core.runtime import Runtime
from nodedesk.core.services.downtime import windows as window_svc
from nodedesk.core.services.invoicing import invoices

from tests.billing.factory import Builder, reference_centre
from tests.helpers import local


@dataclass(frozen=True)
class InvoiceSeed:
    r: dict[int, int]  # reservation number → id (1…6 as in the reference table, 7 above)
    firmware: int  # the window that takes 12 h off r2 in February
    jan31: int  # the window that takes 24 h off r6 in January
    outage: int
    overlap_window: int


def seed_invoices(runtime: Runtime, *, extra_lines: int = 0) -> InvoiceSeed:
    """``extra_lines``: that many more one-hour reservations of Genomics in February (paging)."""
    with runtime.write() as ctx:
        b = Builder(ctx.session, ctx.now())
        b.user("bmgr", ("billing_manager",))
        b.user("vic", ("viewer",))
        made = reference_centre(b)
        nodes = made["nodes"]  # type: ignore[index]
        genomics = made["project"]
        r = {k: v.id for k, v in made["reservations"].items()}  # type: ignore[attr-defined]
        r7 = b.reservation(nodes[1], genomics, "2026-01-10 16:00", "2026-01-12 09:00", blocks=4)
        r[7] = r7.id
        outage = b.outage("PSU failure", "2026-01-11 00:00", "2026-01-11 06:00", nodes=(nodes[1],))
        overlap = b.window("Rack power check", "2026-01-11 04:00", "2026-01-11 08:00", nodes=(nodes[1],))
        climate = b.project("Climate", "carol")
        b.rate("MAINT_STANDARD", "25.00", date(2026, 1, 1))
        b.fee("carol", "MAINT_STANDARD", climate, date(2026, 1, 1))
        for i in range(extra_lines):
            day, hour = 3 + i // 20, i % 20
            b.reservation(
                nodes[6], genomics, f"2026-02-{day:02d} {hour:02d}:00", f"2026-02-{day:02d} {hour:02d}:30"
            )
        from nodedesk.core.models import MaintenanceWindow
        from sqlalchemy import select

        ids = {w.title: w.id for w in ctx.session.scalars(select(MaintenanceWindow))}
        return InvoiceSeed(r, ids["Firmware"], ids["Jan 31"], outage.id, overlap.id)


def finalize_and_correct(runtime: Runtime, seed: InvoiceSeed) -> None:
    """Finalize January, then shorten its 'Jan 31' window by an admin correction (drift)."""
    with runtime.write() as ctx:
        invoices.finalize(ctx, "2026-01")
    with runtime.write() as ctx:
        changes = window_svc.WindowChanges(end=local("2026-01-31 12:00"))
        window_svc.update_window(
            ctx, seed.jan31, changes, correction=True, reason="the work ended at noon (log checked)"
        )
