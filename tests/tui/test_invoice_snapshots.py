"""SVG snapshots of the Invoices screens at 80x24, clock frozen at 2026-02-15 10:00 New York.

The section tabs in the header are pinned (eight sections, as if live), so that another section
becoming live does not change these pictures.

Update after an intended change with ``pytest tests/tui/test_invoice_snapshots.py --snapshot-update``
and look at the SVGs in ``tests/tui/__snapshots__/`` before committing them.
"""

from __future__ import annotations

import pytest
from nodedesk.core.runtime import Runtime
from nodedesk.tui.app import create_app
from nodedesk.tui.widgets import topbar
from nodedesk.tui.widgets.paged_table import PagedTable
from textual.pilot import Pilot

from tests.tui.conftest import settle, tab
from tests.tui.invoice_seed import finalize_and_correct, seed_invoices

TITLES = ("Windows", "Outages", "Reservations", "Calendar", "Invoices", "Activity", "Projects", "Rates")
PINNED = [
    tab(t.lower(), t, str(k), t.lower())
    for k, t in enumerate(TITLES, start=1)
]


@pytest.fixture(autouse=True)
def pinned_sections(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(topbar, "SECTIONS", PINNED)


def test_finalized_month_with_drift_banner_80x24(runtime: Runtime, snap_compare) -> None:  # type: ignore[no-untyped-def]
    """January finalized, then a window corrected by an admin: the banner says how it differs."""
    seed = seed_invoices(runtime)
    finalize_and_correct(runtime, seed)

    async def month(pilot: Pilot) -> None:
        await settle(pilot)
        await pilot.press("5")
        await settle(pilot)
        await pilot.press("enter")  # the cursor starts on January, the month just ended
        await settle(pilot)
        await pilot.press("j")  # Genomics
        await settle(pilot)

    assert snap_compare(create_app(runtime), terminal_size=(80, 24), run_before=month)


def test_line_with_its_downtime_sources_80x24(runtime: Runtime, snap_compare) -> None:  # type: ignore[no-untyped-def]
    """February's 29 h line: gross 41 − 12 h maintenance ('Firmware') = 29 h at $8 = $232."""
    seed = seed_invoices(runtime)

    async def line(pilot: Pilot) -> None:
        await settle(pilot)
        await pilot.press("5", "k")  # February
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        await pilot.press("j", "enter")  # Genomics
        await settle(pilot)
        table = pilot.app.screen.query_one(PagedTable)
        keys = [row.key.value for row in table.ordered_rows]
        table.move_cursor(row=keys.index(f"r{seed.r[2]}"))
        await pilot.press("enter")
        await settle(pilot)

    assert snap_compare(create_app(runtime), terminal_size=(80, 24), run_before=line)
