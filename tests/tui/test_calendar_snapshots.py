"""SVG snapshots of the Calendar section at 80×24, clock frozen at Sun 2026-02-15 10:00 New York.

The section tabs in the header are pinned to six sections (as in
test_snapshots.py), so another section becoming live does not change these pictures.

Update after an intended change with
``pytest tests/tui/test_calendar_snapshots.py --snapshot-update`` and look at the SVGs in
``tests/tui/__snapshots__/test_calendar_snapshots/`` before committing them.
"""

from __future__ import annotations

import pytest
from nodedesk.core.runtime import Runtime
from nodedesk.tui.app import create_app
from nodedesk.tui.sections import section
from nodedesk.tui.widgets import topbar
from textual.pilot import Pilot

from tests.tui.conftest import settle, tab
from tests.tui.test_calendar_pilot import seed_calendar

PINNED = [
    section("windows"),
    *(tab(i, i.title(), k, "overview") for k, i in (("2", "outages"), ("3", "reservations"))),
    section("calendar"),
    tab("invoices", "Invoices", "5"),
    tab("activity", "Activity", "6", "activity"),
]


@pytest.fixture(autouse=True)
def pinned_sections(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(topbar, "SECTIONS", PINNED)


async def _calendar(pilot: Pilot, *keys: str) -> None:
    await settle(pilot)
    await pilot.press("4", *keys)
    await settle(pilot)


def test_calendar_month_80x24(runtime: Runtime, snap_compare) -> None:  # type: ignore[no-untyped-def]
    seed_calendar(runtime)

    async def month(pilot: Pilot) -> None:
        await _calendar(pilot)

    assert snap_compare(create_app(runtime), terminal_size=(80, 24), run_before=month)


def test_calendar_week_80x24(runtime: Runtime, snap_compare) -> None:  # type: ignore[no-untyped-def]
    seed_calendar(runtime)

    async def week(pilot: Pilot) -> None:
        await _calendar(pilot, "w", "right", "down")  # the grid of Feb 16–22, Monday 11:00 selected

    assert snap_compare(create_app(runtime), terminal_size=(80, 24), run_before=week)


def test_calendar_agenda_80x24(runtime: Runtime, snap_compare) -> None:  # type: ignore[no-untyped-def]
    seed_calendar(runtime)

    async def agenda(pilot: Pilot) -> None:
        await _calendar(pilot, "a", "down")  # the list of Feb 16–22, Monday selected

    assert snap_compare(create_app(runtime), terminal_size=(80, 24), run_before=agenda)
