"""Pilot tests of the Downtime section at 80x24: D opens it from anywhere, windows and outages in
one list with their glyph and word, the kind and phase cycles and the text filter, enter opening
the row's own detail (help/downtime.md)."""

from __future__ import annotations

import pytest
from nodedesk.core.runtime import Runtime
from nodedesk.tui.app import NodedeskApp, create_app
from nodedesk.tui.features.downtime.downtime import DowntimeScreen
from nodedesk.tui.features.outages.outage_detail import OutageDetailScreen
from nodedesk.tui.features.windows.window_detail import WindowDetailScreen
from nodedesk.tui.features.windows.windows import WindowsScreen
from nodedesk.tui.widgets.paged_table import PagedTable
from nodedesk.tui.widgets.topbar import TopBar
from textual.pilot import Pilot
from textual.widgets import Static

from tests.helpers import local
from tests.tui.conftest import settle
from tests.tui.rentals_seed import Rentals, seed_rentals


@pytest.fixture
def rentals(runtime: Runtime) -> Rentals:
    return seed_rentals(runtime)


def column(app: NodedeskApp, key: str) -> list[str]:
    t = app.screen.query_one(PagedTable)
    return [str(getattr(c, "plain", c)) for c in (t.get_cell(r.key, key) for r in t.ordered_rows)]


def text(app: NodedeskApp, selector: str) -> str:
    return str(app.screen.query_one(selector, Static).render())


async def open_downtime(pilot: Pilot) -> None:
    await settle(pilot)
    await pilot.press("D")
    await settle(pilot)


async def press(pilot: Pilot, *keys: str) -> None:
    await pilot.press(*keys)
    await settle(pilot)


async def test_d_opens_windows_and_outages_in_one_list(rentals: Rentals, runtime: Runtime) -> None:
    app = create_app(runtime)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_downtime(pilot)
        assert isinstance(app.screen, DowntimeScreen) and app.current_mode == "downtime"
        # newest start first: the upcoming window, the open outage, the resolved one
        assert column(app, "title") == ["Kernel patch", "GPU Xid 79 on node02", "Thermal shutdown"]
        assert column(app, "kind") == ["⚒ window", "⚠ outage", "⚠ outage"]
        assert column(app, "status") == ["◷ upcoming", "◐ investigating", "✓ resolved"]
        assert column(app, "end") == ["Feb 21 08:00", "ETR Feb 16 12:00", "Feb 10 09:00"]
        assert column(app, "renters") == ["Protein Folding", "-", "-"]
        assert "Downtime 1–3 of 3" in text(app, "#list-status")
        preview = text(app, "#preview")  # the cursor's row: the window, its nodes and renters
        assert "maintenance window" in preview and "all nodes (3)" in preview
        assert "Protein Folding (1 reservation)" in preview
        # the header shows the whole title of the section, the footer its keys whole
        tabs = app.screen.query_one(TopBar).render_line(1).text
        assert tabs.split()[-1] == "Down" and "1Win" in tabs.split()
        footer = app.screen.query_one("KeyFooter").render_line(0).text
        assert "t Kind" in footer and "f Phase" in footer and "/ Filter" in footer


async def test_kind_phase_and_text_filters(rentals: Rentals, runtime: Runtime) -> None:
    app = create_app(runtime)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_downtime(pilot)
        await press(pilot, "t")
        assert column(app, "kind") == ["⚒ window"] and "kind: windows" in text(app, "#list-status")
        await press(pilot, "t")
        assert column(app, "title") == ["GPU Xid 79 on node02", "Thermal shutdown"]
        assert set(column(app, "kind")) == {"⚠ outage"}
        await press(pilot, "t")
        assert len(column(app, "title")) == 3
        await press(pilot, "f")  # upcoming: the window only (an outage is never upcoming)
        assert column(app, "title") == ["Kernel patch"] and "phase: upcoming" in text(app, "#list-status")
        await press(pilot, "f")  # now: in progress or open
        assert column(app, "title") == ["GPU Xid 79 on node02"]
        await press(pilot, "f")  # past
        assert column(app, "title") == ["Thermal shutdown"]
        await press(pilot, "escape")
        assert len(column(app, "title")) == 3
        await press(pilot, "slash")
        await pilot.press(*"xid")
        await pilot.pause(0.4)
        await settle(pilot)
        assert column(app, "title") == ["GPU Xid 79 on node02"]
        await press(pilot, "enter", "S")  # keep the filter, then oldest first
        assert column(app, "title") == ["GPU Xid 79 on node02"]
        await press(pilot, "escape")
        assert column(app, "title") == ["Thermal shutdown", "GPU Xid 79 on node02", "Kernel patch"]
        assert "oldest first" in text(app, "#list-status")


async def test_enter_opens_the_window_detail_and_the_outage_detail(
    rentals: Rentals, runtime: Runtime
) -> None:
    app = create_app(runtime)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_downtime(pilot)
        await press(pilot, "enter")  # the first row: the window
        detail = app.screen
        assert isinstance(detail, WindowDetailScreen) and detail.window_id == rentals.window
        assert detail.SECTION == "downtime"  # the top bar stays on Downtime
        assert "Kernel patch" in text(app, "#detail-fields")
        await press(pilot, "escape")
        assert isinstance(app.screen, DowntimeScreen)
        await press(pilot, "down", "enter")  # the open outage
        detail = app.screen
        assert isinstance(detail, OutageDetailScreen) and detail.outage_id == rentals.open
        assert "GPU Xid 79 on node02" in text(app, "#detail-fields")
        await press(pilot, "escape")
        assert isinstance(app.screen, DowntimeScreen)
        assert column(app, "title")[1] == "GPU Xid 79 on node02"


async def test_d_reaches_downtime_from_the_windows_list(rentals: Rentals, runtime: Runtime) -> None:
    app = create_app(runtime)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await press(pilot, "1")
        assert isinstance(app.screen, WindowsScreen)
        # nothing on the screen hides the section key
        assert app.screen.active_bindings["D"].binding.action == "section('downtime')"
        await press(pilot, "D")
        assert isinstance(app.screen, DowntimeScreen)


async def test_an_overdue_etr_is_marked_without_colour(rentals: Rentals, runtime: Runtime) -> None:
    runtime.clock_for("America/New_York").set(local("2026-02-16 13:00"))  # an hour past the ETR
    app = create_app(runtime)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_downtime(pilot)
        assert column(app, "end")[1] == "ETR ⚠ Feb 16 12:00"
        await press(pilot, "down")
        assert "ETR 2026-02-16 12:00 (overdue)" in text(app, "#preview")


async def test_the_palette_sets_the_kind(rentals: Rentals, runtime: Runtime) -> None:
    app = create_app(runtime)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_downtime(pilot)
        await press(pilot, "ctrl+p")
        await pilot.press(*"Downtime: outages only")
        await pilot.pause(0.5)
        await press(pilot, "enter")
        assert isinstance(app.screen, DowntimeScreen)
        assert column(app, "kind") == ["⚠ outage", "⚠ outage"]
        assert "kind: outages" in text(app, "#list-status")
