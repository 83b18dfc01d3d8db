"""SVG snapshots of the Windows screens with the clock frozen at 2026-02-15 10:00 New York.

The section tabs in the header are pinned to six sections, so that another
section becoming live does not change these pictures of the Windows screens.

Update after an intended change with ``pytest tests/tui/test_snapshots.py --snapshot-update``
and look at the SVGs in ``tests/tui/__snapshots__/`` before committing them.
"""

from __future__ import annotations

import pytest
from nodedesk.core.runtime import Runtime
from nodedesk.tui.app import NodedeskApp, create_app
from nodedesk.tui.sections import section
from nodedesk.tui.widgets import topbar
from textual.pilot import Pilot
from textual.widgets import Input

from tests.tui.conftest import Seeded, seed_reservation, settle, tab

PINNED = [
    section("windows"),
    *(
        tab(i, i.title(), k, "overview")
        for k, i in zip("2345", ("outages", "reservations", "calendar", "invoices"), strict=True)
    ),
    tab("activity", "Activity", "6", "activity"),
]


async def steady(pilot: Pilot) -> None:
    """Settle, and stop cursors blinking so the picture does not depend on timing."""
    await settle(pilot)
    for widget in pilot.app.screen.query("Input, TextArea"):
        widget.cursor_blink = False  # type: ignore[attr-defined]
    await pilot.pause()


@pytest.fixture(autouse=True)
def pinned_sections(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(topbar, "SECTIONS", PINNED)
    monkeypatch.setattr(NodedeskApp, "DEFAULT_MODE", "windows")  # the app opens on the Dashboard


def test_window_list_80x24(runtime: Runtime, seeded: Seeded, snap_compare) -> None:  # type: ignore[no-untyped-def]
    assert snap_compare(create_app(runtime), terminal_size=(80, 24), run_before=steady)


def test_window_list_120x40_in_progress_selected(runtime: Runtime, seeded: Seeded, snap_compare) -> None:  # type: ignore[no-untyped-def]
    async def select(pilot: Pilot) -> None:
        await settle(pilot)
        await pilot.press("j", "j")
        await steady(pilot)

    assert snap_compare(create_app(runtime), terminal_size=(120, 40), run_before=select)


def test_form_with_errors_80x24(runtime: Runtime, seeded: Seeded, snap_compare) -> None:  # type: ignore[no-untyped-def]
    async def bad_form(pilot: Pilot) -> None:
        await settle(pilot)
        await pilot.press("n")
        await settle(pilot)
        pilot.app.screen.query_one("#end", Input).value = "2026-02-16 07:00"  # before the start
        pilot.app.screen.query_one("#nodes", Input).value = "node01, node99"
        await pilot.press("ctrl+s")
        await steady(pilot)

    assert snap_compare(create_app(runtime), terminal_size=(80, 24), run_before=bad_form)


def test_help_modal_80x24(runtime: Runtime, seeded: Seeded, snap_compare) -> None:  # type: ignore[no-untyped-def]
    async def help_(pilot: Pilot) -> None:
        await settle(pilot)
        await pilot.press("question_mark")
        await steady(pilot)

    assert snap_compare(create_app(runtime), terminal_size=(80, 24), run_before=help_)


def test_delete_confirmation_with_impact_80x24(runtime: Runtime, seeded: Seeded, snap_compare) -> None:  # type: ignore[no-untyped-def]
    seed_reservation(runtime)

    async def delete(pilot: Pilot) -> None:
        await settle(pilot)
        await pilot.press("j", "d")  # the 'Kernel patch' window, over the reservation
        await steady(pilot)

    assert snap_compare(create_app(runtime), terminal_size=(80, 24), run_before=delete)
