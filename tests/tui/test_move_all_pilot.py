"""Pilot tests of "move all" at 80x24: the impact panel of the window form and of a window's
detail names the free nodes of their type each affected reservation could move to; the key
(ctrl+t in the form, M on the detail) asks once, listing the moves, moves them in a worker,
says what it did and the panel reads the impact again (help/windows.md "Moving renters off a
window"). Seed: tests/tui/rentals_seed.py — ``later`` is pending on node01 on 2026-03-09 from
16:00; node02 (same type) is free then; node03 is not rentable."""

from __future__ import annotations

from nodedesk.core.runtime import Runtime
from nodedesk.core.services.downtime import windows
from nodedesk.core.services.rentals import reservations as res
from nodedesk.tui.app import create_app
from nodedesk.tui.features.windows.window_detail import WindowDetailScreen
from nodedesk.tui.features.windows.window_form import WindowFormScreen
from nodedesk.tui.kit.confirm import ConfirmScreen
from nodedesk.tui.widgets.footer import KeyFooter
from textual.pilot import Pilot
from textual.widgets import Static

from tests.helpers import local, runtime_as
from tests.tui.conftest import settle
from tests.tui.rentals_seed import Rentals, seed_rentals
from tests.tui.test_80x24_pilot import check_screen
from tests.tui.test_impact_pilot import impact_settled, text, typed
from tests.tui.test_nodes_pilot import notifications

SIZE = (80, 24)


def node_of(runtime: Runtime, reservation_id: int) -> str:
    with runtime.read() as ctx:
        return res.get_reservation(ctx, reservation_id).node


def board_swap(runtime: Runtime) -> int:
    """A saved window on node01 over ``later`` (2026-03-09 20:00–22:00)."""
    with runtime.write() as ctx:
        draft = windows.WindowDraft(
            "Board swap",
            local("2026-03-09 20:00"),
            local("2026-03-09 22:00"),
            scope=windows.Scope(("node01",)),
        )
        return windows.create_window(ctx, draft).window.id


async def open_detail(pilot: Pilot, wid: int) -> None:
    pilot.app.push_screen(WindowDetailScreen(wid))
    await settle(pilot)
    await impact_settled(pilot)


def footer(pilot: Pilot) -> str:
    return pilot.app.screen.query_one(KeyFooter).render_line(0).text


def question(pilot: Pilot) -> str:
    screen = pilot.app.screen
    assert isinstance(screen, ConfirmScreen)
    return str(screen.query_one(".dialog-text", Static).render())


async def test_ctrl_t_in_the_window_form_moves_the_renters_off(runtime: Runtime) -> None:
    seeded: Rentals = seed_rentals(runtime)
    app = create_app(runtime)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("1", "n")
        await settle(pilot)
        assert isinstance(app.screen, WindowFormScreen)
        assert "^t Move all" not in footer(pilot)  # nothing proposed yet: nothing to move
        await typed(pilot, "#title", "Board swap")
        await typed(pilot, "#nodes", "node01")
        await typed(pilot, "#start", "2026-03-09 20:00")
        await typed(pilot, "#end", "2026-03-09 22:00")
        assert text(app, "#impact-summary").startswith("Impact: 1 reservation(s) affected")
        moves = text(app, "#impact-moves").splitlines()
        assert moves == [
            "Move off: 1 of 1 can go to a free node · ^t moves them",
            f"  #{seeded.later} node01 → free: node02; move all takes node02",
        ]
        assert "^t Move all" in footer(pilot) and check_screen(pilot, "window form, move all") == []

        await pilot.press("ctrl+t")
        await settle(pilot)
        asked = question(pilot)
        assert asked.startswith("Move 1 reservation(s) off this window to a free node of the same type?")
        assert f"#{seeded.later} node01 → node02 (2026-03-09 16:00 → 2026-03-10 04:00)" in asked
        await pilot.press("n")  # kept: nothing moves
        await settle(pilot)
        assert node_of(runtime, seeded.later) == "node01"

        await pilot.press("ctrl+t")
        await settle(pilot)
        await pilot.press("y")
        await settle(pilot)
        await impact_settled(pilot)
        assert isinstance(app.screen, WindowFormScreen)
        assert node_of(runtime, seeded.later) == "node02"
        assert notifications(app)[-1] == (
            f"Reservation #{seeded.later} moved from node01 to node02 (2026-03-09 16:00 → 2026-03-10 04:00)"
        )
        # The panel read the impact again: nobody is hit any more, nothing to move.
        assert text(app, "#impact-summary") == "Impact: no pending or approved reservation on these 1 node(s)"
        assert "^t Move all" not in footer(pilot)
        with runtime.read() as ctx:
            assert windows.list_windows(ctx).total == 1  # the window itself is not saved yet


async def test_m_on_a_window_detail_moves_all_that_can_be_moved(runtime: Runtime) -> None:
    seeded = seed_rentals(runtime)
    wid = board_swap(runtime)
    app = create_app(runtime)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await open_detail(pilot, wid)
        assert f"#{seeded.later} node01 → free: node02; move all takes node02" in text(app, "#impact-moves")
        assert "M Move all" in footer(pilot) and check_screen(pilot, "window detail, move all") == []
        await pilot.press("M")
        await settle(pilot)
        assert f"#{seeded.later} node01 → node02" in question(pilot)
        await pilot.press("y")
        await settle(pilot)
        await impact_settled(pilot)
        assert isinstance(app.screen, WindowDetailScreen)
        assert node_of(runtime, seeded.later) == "node02"
        assert text(app, "#impact-summary") == "Impact: no pending or approved reservation on these 1 node(s)"
        assert "M Move all" not in footer(pilot)


async def test_a_viewer_sees_where_renters_could_go_but_may_not_move_them(runtime: Runtime) -> None:
    seeded = seed_rentals(runtime)
    wid = board_swap(runtime)
    app = create_app(runtime_as(runtime, "vic"))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await open_detail(pilot, wid)
        # What a viewer may do: read the impact and the free nodes.
        assert f"#{seeded.later} node01 → free: node02" in text(app, "#impact-moves")
        await pilot.press("M")
        await settle(pilot)
        assert isinstance(app.screen, WindowDetailScreen)  # no question: refused at once
        assert notifications(app)[-1].startswith("vic may not ")
    assert node_of(runtime, seeded.later) == "node01"
