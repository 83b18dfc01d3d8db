"""SVG snapshots of the Projects and Rates screens at 80x24, clock frozen at 2026-02-15 10:00 New York.

The section tabs in the header are pinned (all eight sections, as if live), so that another
section becoming live does not change these pictures.

Update after an intended change with ``pytest tests/tui/test_ledger_snapshots.py --snapshot-update``
and look at the SVGs in ``tests/tui/__snapshots__/`` before committing them.
"""

from __future__ import annotations

import pytest
from nodedesk.core.runtime import Runtime
from nodedesk.tui.app import create_app
from nodedesk.tui.sections import SECTIONS
from nodedesk.tui.widgets import topbar
from textual.pilot import Pilot
from textual.widgets import TextArea

from tests.tui.conftest import settle, tab
from tests.tui.ledger_seed import seed_ledger

TITLES = ("Windows", "Outages", "Reservations", "Calendar", "Invoices", "Activity", "Projects", "Rates")
PINNED = [
    tab(t.lower(), t, str(k), t.lower())
    for k, t in enumerate(TITLES, start=1)
]


@pytest.fixture(autouse=True)
def pinned_sections(monkeypatch: pytest.MonkeyPatch) -> None:
    assert set(TITLES) <= {s.title for s in SECTIONS}  # later sections (Schedules...) may follow
    monkeypatch.setattr(topbar, "SECTIONS", PINNED)


async def steady(pilot: Pilot) -> None:
    """Settle, and stop cursors blinking so the picture does not depend on timing."""
    await settle(pilot)
    for widget in pilot.app.screen.query("Input, TextArea"):
        widget.cursor_blink = False  # type: ignore[attr-defined]
    await pilot.pause()


def test_projects_list_80x24(runtime: Runtime, snap_compare) -> None:  # type: ignore[no-untyped-def]
    seed_ledger(runtime)

    async def projects(pilot: Pilot) -> None:
        await settle(pilot)
        await pilot.press("7")
        await steady(pilot)

    assert snap_compare(create_app(runtime), terminal_size=(80, 24), run_before=projects)


def test_split_form_sum_short_of_100_80x24(runtime: Runtime, snap_compare) -> None:  # type: ignore[no-untyped-def]
    seed_ledger(runtime)

    async def propose(pilot: Pilot) -> None:
        await settle(pilot)
        await pilot.press("7", "enter")
        await settle(pilot)
        await pilot.press("p")
        await settle(pilot)
        pilot.app.screen.query_one("#parts", TextArea).text = "NIH-1=60\nNSF-2=39.99"
        await steady(pilot)

    assert snap_compare(create_app(runtime), terminal_size=(80, 24), run_before=propose)
