"""A small rentals centre for the Reservations and Outages pilot tests (clock: 2026-02-15 10:00).

Users: ``rmgr`` (rental_manager), ``vic`` (viewer), ``carol`` (rate_manager, member of Climate:
she may *request*). Nodes node01, node02 (A100, rentable) and node03 (not rentable). Projects
"Protein Folding" (admin) and "Climate" (carol member). A maintenance window "Kernel patch" on
all nodes 2026-02-21 06:00–08:00.

Reservations:
- ``folding`` approved, node01, 2026-02-20 16:00 → 02-21 09:00 (17 h, overlaps Kernel patch 2 h)
- ``climate`` pending, node02, 2026-02-23 16:00 → 02-25 09:00 (41 h)
- ``declined`` declined, node01, 2026-03-02 (2 blocks)
- ``later`` pending, node01, 2026-03-09 (1 block)

Outages: ``open`` (investigating, node02, since 06:00 today, ETR set at 08:00 then revised to
2026-02-16 12:00 — note the frozen clock, so both audit entries are at 10:00) and ``resolved``
(node01, 2026-02-10 06:00–09:00, not credited).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from nodedesk.core.runtime import Runtime
from nodedesk.core.services.downtime import outages, windows
from nodedesk.core.services.nodes import inventory
from nodedesk.core.services.rentals import projects
from nodedesk.core.services.rentals import reservations as res
from nodedesk.core.services.site import users

from tests.helpers import local


@dataclass(frozen=True)
class Rentals:
    folding: int
    climate: int
    declined: int
    later: int
    window: int
    open: int
    resolved: int


def seed_rentals(runtime: Runtime) -> Rentals:
    with runtime.write() as ctx:
        users.add_user(ctx, "rmgr", "rental_manager")
        users.add_user(ctx, "vic", "viewer")
        users.add_user(ctx, "carol", "rate_manager")
        inventory.add_node_type(ctx, "A100", "GPU")
        inventory.add_node(ctx, "node01", "A100")
        inventory.add_node(ctx, "node02", "A100")
        inventory.add_node(ctx, "node03", "A100", rentable=False)
        projects.add_project(ctx, "Protein Folding", "admin")
        projects.add_project(ctx, "Climate", "rmgr")
        projects.add_member(ctx, "Climate", "carol", "member")
        window = windows.create_window(
            ctx, windows.WindowDraft("Kernel patch", local("2026-02-21 06:00"), local("2026-02-21 08:00"))
        ).window.id

        def book(node: str, project: str, day: str, blocks: int, approve: bool) -> int:
            draft = res.ReservationDraft(node, project, date.fromisoformat(day), blocks)
            return res.record_reservation(ctx, draft, approve=approve, waive_policy=True).reservation.id

        folding = book("node01", "Protein Folding", "2026-02-20", 2, True)
        climate = book("node02", "Climate", "2026-02-23", 4, False)
        declined = book("node01", "Climate", "2026-03-02", 2, False)
        res.decline_reservation(ctx, declined, "node promised elsewhere")
        later = book("node01", "Protein Folding", "2026-03-09", 1, False)

        open_ = outages.create_outage(
            ctx,
            outages.OutageDraft(
                "GPU Xid 79 on node02",
                ("node02",),
                local("2026-02-15 06:00"),
                etr=local("2026-02-15 08:00"),
                status="investigating",
                description="GPU 2 fell off the bus",
            ),
        ).outage.id
        outages.revise_etr(ctx, open_, local("2026-02-16 12:00"))
        resolved = outages.create_outage(
            ctx,
            outages.OutageDraft(
                "Thermal shutdown",
                ("node01",),
                local("2026-02-10 06:00"),
                end=local("2026-02-10 09:00"),
                credit=False,
            ),
        ).outage.id
    return Rentals(folding, climate, declined, later, window, open_, resolved)
