"""Pilot tests of the Availability section at 80×24: each kind's glyph at its cell, moving,
zooming, paging and going to a date, node types, the free query, booking from a selection (and
the booking showing once saved), planning a window on a two-node selection, opening a cell,
and the grid without colour. The clock is frozen at Sun 2026-02-15 10:00 New York, so the grid
opens on Feb 15 (column 0), Feb 16 (1), Feb 17 (2) and so on."""

from __future__ import annotations

from datetime import date

import pytest
from nodedesk.core.runtime import Runtime
from nodedesk.core.services.downtime import outages
from nodedesk.core.services.downtime import windows as window_svc
from nodedesk.core.services.nodes import availability as svc
from nodedesk.core.services.nodes import inventory
from nodedesk.core.services.rentals import projects, reservations
from nodedesk.tui.app import NodedeskApp, create_app
from nodedesk.tui.features.availability.availability import AvailabilityScreen
from nodedesk.tui.features.availability.availability_prompts import AvailabilityPrompt
from nodedesk.tui.features.availability.timeline_grid import CELL, GUTTER, TimelineGrid
from nodedesk.tui.features.reservations.reservation_form import ReservationFormScreen
from nodedesk.tui.features.windows.window_detail import WindowDetailScreen
from nodedesk.tui.features.windows.window_form import WindowFormScreen
from nodedesk.tui.widgets.impact_panel import ImpactPanel
from textual.pilot import Pilot
from textual.widgets import Input, Static

from tests.helpers import local
from tests.tui.conftest import settle

G = svc.GLYPHS


def seed(runtime: Runtime) -> None:
    """A100 nodes node01–node04 and an H100 node h01 (rows: h01, node01, …, node04):
    a window on node01 Feb 17 06:00–10:00, an open outage on node02 until its ETR Feb 16 12:00, an approved
    reservation on node03 Feb 20 16:00 → 21 09:00, a pending one on node04 Feb 18 16:00 → 19 04:00."""
    with runtime.write() as ctx:
        inventory.add_node_type(ctx, "A100", "GPU")
        inventory.add_node_type(ctx, "H100", "GPU")
        for name in ("node01", "node02", "node03", "node04"):
            inventory.add_node(ctx, name, "A100")
        inventory.add_node(ctx, "h01", "H100")
        window_svc.create_window(
            ctx,
            window_svc.WindowDraft(
                "Rack work",
                local("2026-02-17 06:00"),
                local("2026-02-17 10:00"),
                scope=window_svc.Scope(("node01",)),
            ),
        )
        outages.create_outage(  # open, expected back Feb 16 12:00
            ctx,
            outages.OutageDraft(
                "PSU swap", ("node02",), local("2026-02-14 08:00"), etr=local("2026-02-16 12:00")
            ),
        )
        projects.add_project(ctx, "Protein Folding", "admin")
        approved = reservations.ReservationDraft("node03", "Protein Folding", date(2026, 2, 20), 2)
        reservations.record_reservation(ctx, approved, approve=True, waive_policy=True)
        pending = reservations.ReservationDraft("node04", "Protein Folding", date(2026, 2, 18), 1)
        reservations.record_reservation(ctx, pending, waive_policy=True)


@pytest.fixture
def app(runtime: Runtime) -> NodedeskApp:
    seed(runtime)
    return create_app(runtime)


async def open_availability(pilot: Pilot) -> AvailabilityScreen:
    await settle(pilot)
    await pilot.press("A")
    await settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, AvailabilityScreen)
    return screen


def lines(app: NodedeskApp) -> list[str]:
    return app.screen.query_one(TimelineGrid).render().plain.split("\n")


def row_line(app: NodedeskApp, node: str) -> str:
    found = [line for line in lines(app) if line[1:].startswith(node + " ")]
    assert len(found) == 1, (node, lines(app))
    return found[0]


def cell(app: NodedeskApp, node: str, col: int) -> str:
    """The cell's text, e.g. `` ⚒ `` or ``[⚒]`` (the cursor)."""
    line = row_line(app, node)
    return line[GUTTER + col * CELL : GUTTER + (col + 1) * CELL]


def glyphs(app: NodedeskApp, node: str, cols: range) -> list[str]:
    return [cell(app, node, c)[1] for c in cols]


def detail(app: NodedeskApp) -> str:
    return str(app.screen.query_one("#avail-detail", Static).render())


async def press(pilot: Pilot, *keys: str) -> None:
    await pilot.press(*keys)
    await settle(pilot)


async def test_opens_with_shift_a_on_today_and_each_kind_has_its_glyph_at_its_cell(app: NodedeskApp) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_availability(pilot)
        assert app.current_mode == "availability"
        head = lines(app)[1]
        assert head.startswith("5 nodes") and head[GUTTER:].split()[:4] == ["15", "16", "17", "18"]
        assert screen.columns == (80 - GUTTER) // CELL  # as many days as fit: three weeks and a day
        assert glyphs(app, "node01", range(4)) == [G["free"], G["free"], G["maintenance"], G["free"]]
        assert glyphs(app, "node02", range(3)) == [G["outage"], G["outage"], G["free"]]
        assert glyphs(app, "node03", range(4, 8)) == [G["free"], G["rented"], G["rented"], G["free"]]
        assert glyphs(app, "node04", range(2, 6)) == [G["free"], G["pending"], G["pending"], G["free"]]
        assert cell(app, "h01", 0) == f"[{G['free']}]"  # the cursor: first node, today
        legend = str(app.screen.query_one("#avail-legend", Static).render())
        for kind in svc.KINDS:
            assert f"{G[kind]} {kind}" in legend
        assert detail(app).startswith(" h01 · Sun 15 Feb: ○ free")


async def test_moves_zooms_pages_and_goes_to_a_date_without_reading_again_for_a_move(
    app: NodedeskApp,
) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_availability(pilot)
        reads = screen.reads
        await press(pilot, "down", "l", "right")  # node01, Feb 17
        assert cell(app, "node01", 2) == f"[{G['maintenance']}]"
        assert "node01 · Tue 17 Feb: ⚒ maintenance, window #1 'Rack work' 06:00–10:00 · ⏎ opens" in detail(
            app
        )
        await press(pilot, "j", "k", "h", "l")
        assert (screen.row, screen.col) == (1, 2) and screen.reads == reads  # moves read nothing
        await press(pilot, "plus")  # the cursor's day by hours
        assert screen.unit == "hour" and lines(app)[1][GUTTER:].split()[:3] == ["00", "01", "02"]
        assert "Tue 17 Feb" in lines(app)[0]
        assert glyphs(app, "node01", range(5, 11)) == [G["free"]] + [G["maintenance"]] * 4 + [G["free"]]
        await press(pilot, "minus")
        assert screen.unit == "day" and (screen.row, screen.col) == (1, 2)
        assert cell(app, "node01", 2) == f"[{G['maintenance']}]"
        await press(pilot, "right_square_bracket")  # the next days
        first = lines(app)[1][GUTTER:].split()[0]
        assert int(first) == 15 + screen.columns - 28  # Feb has 28 days: the next page starts in March
        await press(pilot, "left_square_bracket")
        assert lines(app)[1][GUTTER:].split()[0] == "15"
        await press(pilot, "g")
        prompt = app.screen
        assert isinstance(prompt, AvailabilityPrompt)
        box = prompt.query_one("#prompt-date", Input)
        assert box.value == "2026-02-17"  # the cursor's day
        box.value = "2026-02-30"
        await press(pilot, "enter")
        assert app.screen is prompt  # refused in one line, what was typed kept
        assert "date: '2026-02-30' is not a real calendar date" in str(
            prompt.query_one("#prompt-error").render()
        )
        box.value = "2026-03-04"
        await press(pilot, "enter")
        assert app.screen is screen and lines(app)[1][GUTTER:].split()[0] == "4"
        assert "‹ Wed 4 – Wed 25 Mar ›" in str(app.screen.query_one("#avail-title", Static).render())


async def test_node_types_cycle_and_show_only_their_nodes(app: NodedeskApp) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_availability(pilot)
        await press(pilot, "t")
        assert screen.node_type == "A100" and lines(app)[1].startswith("4 nodes")
        assert [line[1:7] for line in lines(app)[2:]] == ["node01", "node02", "node03", "node04"]
        await press(pilot, "t")
        assert screen.node_type == "H100" and lines(app)[2].startswith("▸h01")
        await press(pilot, "t")
        assert screen.node_type is None and lines(app)[1].startswith("5 nodes")


async def test_free_query_shows_only_the_nodes_free_for_the_whole_span(app: NodedeskApp) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_availability(pilot)
        await press(pilot, "f")
        prompt = app.screen
        assert isinstance(prompt, AvailabilityPrompt)
        prompt.query_one("#prompt-from", Input).value = "2026-02-16"
        prompt.query_one("#prompt-to", Input).value = "2026-02-17"
        prompt.query_one("#prompt-type", Input).value = "B200"
        await press(pilot, "ctrl+s")
        assert app.screen is prompt
        assert "type: no node type named 'B200'" in str(prompt.query_one("#prompt-error").render())
        prompt.query_one("#prompt-type", Input).value = "A100"
        await press(pilot, "ctrl+s")
        assert app.screen is screen
        # node01 (window on the 17th) and node02 (outage on the 16th) are busy then
        assert [line[1:7] for line in lines(app)[2:]] == ["node03", "node04"]
        assert "2 of 4 rentable A100 nodes free Mon 16 – Tue 17 Feb" in detail(app)
        assert lines(app)[1][GUTTER:].split()[0] == "16"  # the span starts the grid
        await press(pilot, "escape")
        assert screen.free is None and lines(app)[1].startswith("4 nodes")  # still A100


async def test_book_opens_the_form_with_the_node_and_span_and_the_booking_shows_once_saved(
    app: NodedeskApp,
) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_availability(pilot)
        await press(pilot, *["down"] * 3, *["right"] * 8)  # node03, Mon 23 Feb
        await press(pilot, "v", "l", "l")  # to Wed 25 Feb
        assert "Marked 1 node × Mon 23 – Wed 25 Feb" in detail(app)
        await press(pilot, "b")
        form = app.screen
        assert isinstance(form, ReservationFormScreen)
        assert form.value("node") == "node03" and form.value("start_date") == "2026-02-23"
        assert form.value("blocks") == "4"  # Mon 16:00 → Wed 09:00, inside the marked days
        form.query_one("#project", Input).value = "Protein Folding"
        await press(pilot, "ctrl+s")
        assert app.screen is screen
        assert glyphs(app, "node03", range(7, 12)) == [
            G["free"],
            G["pending"],
            G["pending"],
            G["pending"],
            G["free"],
        ]
        assert screen.mark is None


async def test_plan_a_window_on_a_two_node_selection(app: NodedeskApp) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_availability(pilot)
        await press(pilot, "down", *["right"] * 8, "v", "shift+down", "shift+right")  # node01–02, Feb 23–24
        assert "Marked 2 nodes × Mon 23 – Tue 24 Feb" in detail(app)
        await press(pilot, "w")
        form = app.screen
        assert isinstance(form, WindowFormScreen)
        assert form.value("nodes") == "node01, node02"
        assert (form.value("start"), form.value("end")) == ("2026-02-23 00:00", "2026-02-25 00:00")
        assert form.query_one(ImpactPanel) is not None  # who it hits, as the form is filled in
        form.query_one("#title", Input).value = "Cabling"
        await press(pilot, "ctrl+s")
        assert app.screen is screen
        for node in ("node01", "node02"):
            assert glyphs(app, node, range(7, 11)) == [
                G["free"],
                G["maintenance"],
                G["maintenance"],
                G["free"],
            ]
        assert glyphs(app, "node03", range(8, 10)) == [G["free"], G["free"]]


async def test_enter_opens_what_the_cell_shows_and_nothing_on_free(app: NodedeskApp) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_availability(pilot)
        await press(pilot, "down", "enter")  # node01 today: free
        assert app.screen is screen
        await press(pilot, "right", "right", "enter")
        assert isinstance(app.screen, WindowDetailScreen)
        await press(pilot, "escape")
        assert app.screen is screen


async def test_without_colour_every_kind_cursor_and_selection_still_reads(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    seed(runtime)
    app = create_app(runtime)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_availability(pilot)
        assert app.no_color
        await press(pilot, "down", "v", "right")
        grid = app.screen.query_one(TimelineGrid)
        # the glyphs differ without colour; the cursor has brackets, reverse video; a selection underlines
        seen = {cell(app, n, c)[1] for n, c in (("node01", 2), ("node02", 1), ("node03", 5), ("node04", 3))}
        assert seen == {G["maintenance"], G["outage"], G["rented"], G["pending"]}
        assert cell(app, "node01", 1) == f"[{G['free']}]"
        assert grid._style("free", "cursor").reverse
        assert grid._style("free", "selected").underline
