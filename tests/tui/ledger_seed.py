"""Seed data and helpers for the Projects and Rates screen tests (clock: 2026-02-15 10:00 New York).

Users: ``bmgr`` billing manager, ``rmgr`` rental manager, ``ratemgr`` rate manager, ``vic``,
``pi`` and ``ann`` viewers. Node type A100 (so SKU ``NODE_A100``).

- Climate (owner ann): split NIH-1 60 / NSF-2 40 from 2026-01-01, pending NIH-1 100 from 2026-03-01.
- Genomics (owner pi, ann member): no split (UNALLOCATED); ann's MAINT_STANDARD fee
  is billed to it.
- Old Study (owner pi): archived.
Rates: NODE_A100 4.50 from 2025-03-01; MAINT_STANDARD 25 from 2026-01-01.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from nodedesk.core.runtime import Runtime
from nodedesk.core.services.invoicing import rates
from nodedesk.core.services.nodes import inventory
from nodedesk.core.services.rentals import projects, splits, subscriptions
from nodedesk.core.services.site import users
from nodedesk.tui.app import NodedeskApp
from nodedesk.tui.widgets.paged_table import PagedTable
from textual.pilot import Pilot
from textual.widgets import Static, TextArea

from tests.tui.conftest import settle


@dataclass(frozen=True)
class Ledger:
    climate: int
    genomics: int
    old: int
    pending: int  # Climate's pending split version
    subscription: int


def seed_ledger(runtime: Runtime) -> Ledger:
    with runtime.write() as ctx:
        for name, role in (
            ("bmgr", "billing_manager"),
            ("rmgr", "rental_manager"),
            ("ratemgr", "rate_manager"),
            ("vic", "viewer"),
            ("pi", "viewer"),
            ("ann", "viewer"),
        ):
            users.add_user(ctx, name, role)
        inventory.add_node_type(ctx, "A100", "GPU")
        climate = projects.add_project(ctx, "Climate", "ann", "Ensemble runs")
        splits.propose_split(
            ctx, "Climate", [("NIH-1", "60"), ("NSF-2", "40")], date(2026, 1, 1), approve=True
        )
        pending = splits.propose_split(ctx, "Climate", [("NIH-1", "100")], date(2026, 3, 1))
        genomics = projects.add_project(ctx, "Genomics", "pi", "Sequencing pipelines")
        projects.add_member(ctx, "Genomics", "ann", "member")
        old = projects.add_project(ctx, "Old Study", "pi")
        projects.archive_project(ctx, "Old Study", reason="grant ended")
        rates.set_rate(ctx, "NODE_A100", "4.50", date(2025, 3, 1), "FY25")
        rates.set_rate(ctx, "MAINT_STANDARD", "25", date(2026, 1, 1))
        sub = subscriptions.add_subscription(ctx, "ann", "MAINT_STANDARD", "Genomics", date(2026, 1, 1))
        return Ledger(climate.id, genomics.id, old.id, pending.id, sub.id)


def cells(table: PagedTable, key: str) -> list[str]:
    return [
        str(getattr(table.get_cell(row.key, key), "plain", table.get_cell(row.key, key)))
        for row in table.ordered_rows
    ]


def text_of(app: NodedeskApp, selector: str) -> str:
    widget = app.screen.query_one(selector, Static)
    return str(widget.render()) if widget.display else ""



def footer_keys(app: NodedeskApp) -> dict[str, str]:
    """Key → description of what the footer offers right now."""
    return {
        key: active.binding.description
        for key, active in app.screen.active_bindings.items()
        if active.binding.show and active.enabled
    }


async def type_into(pilot: Pilot, selector: str, text: str) -> None:
    widget = pilot.app.screen.query_one(selector)
    widget.focus()
    if isinstance(widget, TextArea):
        widget.text = text
    else:
        widget.value = text  # type: ignore[attr-defined]
    await settle(pilot)
