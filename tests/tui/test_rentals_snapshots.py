"""SVG snapshots of the Reservations form and the Outages list (clock frozen at 2026-02-15 10:00
New York). The header's section tabs are pinned to six sections, so another section
becoming live does not change these pictures. Update after an intended change with
``--snapshot-update`` and look at the SVGs in ``tests/tui/__snapshots__/test_rentals_snapshots/``
before committing them."""

from __future__ import annotations

import pytest
from nodedesk.core.runtime import Runtime
from nodedesk.tui.app import create_app
from nodedesk.tui.widgets import topbar
from nodedesk.tui.widgets.tickbox import TickBox
from textual.pilot import Pilot
from textual.widgets import Input

from tests.tui.conftest import settle, tab
from tests.tui.rentals_seed import seed_rentals

PINNED = [
    tab(i, i.title(), str(k), i)
    for k, i in enumerate(("windows", "outages", "reservations", "calendar", "invoices", "activity"), 1)
]


@pytest.fixture(autouse=True)
def pinned_sections(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(topbar, "SECTIONS", PINNED)


async def steady(pilot: Pilot) -> None:
    """Settle, and stop cursors blinking so the picture does not depend on timing."""
    await settle(pilot)
    for widget in pilot.app.screen.query("Input, TextArea"):
        widget.cursor_blink = False  # type: ignore[attr-defined]
    await pilot.pause()


def test_reservation_form_conflict_80x24(runtime: Runtime, snap_compare) -> None:  # type: ignore[no-untyped-def]
    """Live preview (end, hours), the lead-time rule waived, and the clash named."""
    seed_rentals(runtime)

    async def conflict(pilot: Pilot) -> None:
        await settle(pilot)
        await pilot.press("3")
        await settle(pilot)
        await pilot.press("n")
        await settle(pilot)
        for field, value in (("node", "node01"), ("project", "Climate"), ("start_date", "2026-02-20")):
            pilot.app.screen.query_one(f"#{field}", Input).value = value
        pilot.app.screen.query_one("#waive", TickBox).value = True
        pilot.app.screen.query_one("#blocks", Input).focus()
        await pilot.pause(0.4)  # the availability check is debounced
        await steady(pilot)

    assert snap_compare(create_app(runtime), terminal_size=(80, 24), run_before=conflict)


def test_outage_list_80x24(runtime: Runtime, snap_compare) -> None:  # type: ignore[no-untyped-def]
    seed_rentals(runtime)

    async def outages(pilot: Pilot) -> None:
        await settle(pilot)
        await pilot.press("2")
        await steady(pilot)

    assert snap_compare(create_app(runtime), terminal_size=(80, 24), run_before=outages)
