"""A centre with something in every dashboard panel (clock: 2026-02-15 10:00 New York).

On top of :func:`tests.tui.rentals_seed.seed_rentals` (nodes node01–03 of type A100, the open
outage on node02, "Kernel patch" on all nodes 02-21 06:00–08:00, the approved "folding"
reservation it overlaps by 2 h, the pending "climate" and "later" reservations):

- ``cooling`` in progress now, node01, 2026-02-15 08:00–14:00
- ``network`` upcoming within 7 days, node02, 2026-02-22 06:00–10:00 (no reservation under it)
- ``power`` upcoming later, node type A100, 2026-03-04 00:00–06:00
- NODE_A100 billed at 4.00 an hour from 2026-01-01 (February so far: 15 h of folding = 60.00)
- a pending cost split of Climate (effective 2026-03-01)
- notices: two pending, one failed, one sent
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from nodedesk.core.models import Notice
from nodedesk.core.runtime import Runtime
from nodedesk.core.services.downtime import windows
from nodedesk.core.services.invoicing import rates
from nodedesk.core.services.rentals import splits

from tests.helpers import local
from tests.tui.rentals_seed import Rentals, seed_rentals


@dataclass(frozen=True)
class DashSeed:
    rentals: Rentals
    cooling: int
    network: int
    power: int
    split: int


def _notice(n: int, status: str) -> Notice:
    return Notice(
        created_at=local("2026-02-15 09:00"),
        event_key=f"window.created:{n}",
        event="window.created",
        subject_type="window",
        subject_id=n,
        recipient="admin",
        email="admin@example.org",
        subject=f"Maintenance notice {n}",
        body="A window was planned.",
        ics="",
        status=status,
        attempts=1 if status != "pending" else 0,
        last_error="connection refused" if status == "failed" else "",
    )


def seed_dashboard(runtime: Runtime) -> DashSeed:
    rentals = seed_rentals(runtime)
    with runtime.write() as ctx:
        rates.set_rate(ctx, "NODE_A100", "4.00", date(2026, 1, 1))

        def make(title: str, start: str, end: str, scope: windows.Scope) -> int:
            draft = windows.WindowDraft(title, local(start), local(end), scope=scope)
            past = local(start) < ctx.now()
            return windows.create_window(ctx, draft, reason="seeded" if past else "").window.id

        cooling = make(
            "Cooling inspection", "2026-02-15 08:00", "2026-02-15 14:00", windows.Scope(("node01",))
        )
        network = make("Switch firmware", "2026-02-22 06:00", "2026-02-22 10:00", windows.Scope(("node02",)))
        power = make("Power work", "2026-03-04 00:00", "2026-03-04 06:00", windows.Scope((), ("A100",)))
        split = splits.propose_split(ctx, "Climate", [("CLIM-01", "60"), ("CLIM-02", "40")], date(2026, 3, 1))
        ctx.session.add_all(
            [_notice(1, "pending"), _notice(2, "pending"), _notice(3, "failed"), _notice(4, "sent")]
        )
    return DashSeed(rentals, cooling, network, power, split.id)
