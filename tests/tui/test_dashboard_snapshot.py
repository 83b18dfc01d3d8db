"""SVG snapshot of the Dashboard at 80x24 with the clock frozen at 2026-02-15 10:00 New York.

The section tabs are pinned (the dashboard and eight sections), so a new
section does not change this picture. Update after an intended change with
``pytest tests/tui/test_dashboard_snapshot.py --snapshot-update`` and look at the SVG.
"""

from __future__ import annotations

import pytest
from nodedesk.core.runtime import Runtime
from nodedesk.tui.app import create_app
from nodedesk.tui.widgets import topbar
from textual.pilot import Pilot

from tests.tui.conftest import settle, tab
from tests.tui.dashboard_seed import seed_dashboard

PINNED = [
    tab(i, t, str(k), i)
    for k, (i, t) in enumerate(
        [
            ("dashboard", "Dashboard"),
            ("windows", "Windows"),
            ("outages", "Outages"),
            ("reservations", "Reservations"),
            ("calendar", "Calendar"),
            ("invoices", "Invoices"),
            ("activity", "Activity"),
            ("projects", "Projects"),
            ("rates", "Rates"),
        ]
    )
]


@pytest.fixture(autouse=True)
def pinned_sections(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(topbar, "SECTIONS", PINNED)


def test_dashboard_80x24(runtime: Runtime, snap_compare) -> None:  # type: ignore[no-untyped-def]
    seed_dashboard(runtime)

    async def ready(pilot: Pilot) -> None:
        await settle(pilot)
        await pilot.press("j")  # the second item of "In progress now" selected
        await settle(pilot)

    assert snap_compare(create_app(runtime), terminal_size=(80, 24), run_before=ready)
