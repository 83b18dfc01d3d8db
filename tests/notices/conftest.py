"""A small rental centre for the notices tests.

Users: ``pi`` (owner of Climate), ``tech`` (technical_admin of Climate), ``mem`` (member of
Climate), ``nomail`` (technical_admin of Climate, no email), ``gpi`` (owner of Genomics).
Nodes ``n1`` and ``n2`` (type A100). Approved reservations (site time America/New_York):
Climate n1 Feb 20 16:00 → Feb 22 09:00, Climate n2 Feb 20 16:00 → Feb 21 09:00,
Genomics n2 Feb 25 16:00 → Feb 26 09:00.
"""

from __future__ import annotations

from datetime import date

import pytest
from nodedesk.core.runtime import Runtime
from nodedesk.core.services.nodes import inventory
from nodedesk.core.services.rentals import projects, reservations
from nodedesk.core.services.site import users

PEOPLE = {
    "pi": ("Pat Investigator", "pi@example.org"),
    "tech": ("Tess Tech", "tech@example.org"),
    "mem": ("Max Member", "mem@example.org"),
    "nomail": ("No Mail", ""),
    "gpi": ("Gina Genomics", "gpi@example.org"),
}


@pytest.fixture
def centre(runtime: Runtime) -> Runtime:
    seed(runtime)
    return runtime


def seed(runtime: Runtime) -> None:
    with runtime.write() as ctx:
        for name, (full, email) in PEOPLE.items():
            users.add_user(ctx, name, "viewer", full_name=full, email=email)
        users.add_user(ctx, "rmgr", "rental_manager", email="rmgr@example.org")
        inventory.add_node_type(ctx, "A100", "GPU")
        inventory.add_node(ctx, "n1", "A100")
        inventory.add_node(ctx, "n2", "A100")
        projects.add_project(ctx, "Climate", "pi")
        projects.add_member(ctx, "Climate", "tech", "technical_admin")
        projects.add_member(ctx, "Climate", "mem", "member")
        projects.add_member(ctx, "Climate", "nomail", "technical_admin")
        projects.add_project(ctx, "Genomics", "gpi")
        for node, project, day, blocks in (
            ("n1", "Climate", "2026-02-20", 4),
            ("n2", "Climate", "2026-02-20", 2),
            ("n2", "Genomics", "2026-02-25", 2),
        ):
            reservations.record_reservation(
                ctx,
                reservations.ReservationDraft(
                    node,
                    project,
                    date.fromisoformat(day),
                    blocks,
                    requested_for="pi" if project == "Climate" else "gpi",
                ),
                approve=True,
                waive_policy=True,
            )
