"""Pilot tests of the Calendar's week grid at 80×24: days × site-time hours with windows, outages
and reservations in their cells, the cursor hour (arrows, [ ], t, the mouse), enter opening the
event of an hour or the day, the 23- and 25-hour days of a DST week, and no database read while
the cursor moves. The clock is frozen at Sun 2026-02-15 10:00 New York."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from nodedesk.core.runtime import Runtime
from nodedesk.core.services.downtime import windows as window_svc
from nodedesk.core.services.views import calendar as cal
from nodedesk.tui.app import NodedeskApp, create_app
from nodedesk.tui.features.calendar.calendar import CalendarScreen
from nodedesk.tui.features.calendar.calendar_day import CalendarDayScreen
from nodedesk.tui.features.calendar.calendar_grid import MonthGrid
from nodedesk.tui.features.calendar.calendar_week import HOUR_WIDTH, WeekGrid, WeekPanel
from nodedesk.tui.features.help.help import HelpScreen
from nodedesk.tui.features.outages.outage_detail import OutageDetailScreen
from nodedesk.tui.features.reservations.reservation_detail import ReservationDetailScreen
from nodedesk.tui.features.windows.window_detail import WindowDetailScreen
from textual.pilot import Pilot
from textual.widgets import Static

from tests.helpers import local
from tests.tui.conftest import settle
from tests.tui.test_80x24_pilot import check_screen
from tests.tui.test_calendar_pilot import open_calendar, seed_calendar, title_text

MON, TUE, WED, THU, FRI, SAT, SUN = range(7)


async def open_week(pilot: Pilot) -> CalendarScreen:
    screen = await open_calendar(pilot)
    await pilot.press("w")
    await settle(pilot)
    assert screen.view == "week"
    return screen


def grid(app: NodedeskApp) -> WeekGrid:
    return app.screen.query_one(WeekGrid)


def grid_lines(app: NodedeskApp) -> list[str]:
    return grid(app).render().plain.splitlines()


def raw_cell(app: NodedeskApp, day: int, label: str) -> str:
    """The cell of weekday ``day`` in the row labelled ``label`` as drawn, its marker first."""
    width = grid(app).column_width()
    for line in grid_lines(app)[1:]:
        if line[:HOUR_WIDTH].rstrip() == label:
            return line[HOUR_WIDTH + day * width : HOUR_WIDTH + (day + 1) * width]
    raise AssertionError(f"no {label} row in view: {grid_lines(app)}")


def cell(app: NodedeskApp, day: int, label: str) -> str:
    return raw_cell(app, day, label)[1:].rstrip()


def panel_text(app: NodedeskApp) -> str:
    return app.screen.query_one(WeekPanel).render().plain


def event_id(screen: CalendarScreen, title: str, where: str = "") -> int:
    week = screen.usable_week()
    assert week is not None
    return next(e.id for e in week.span.events if e.title == title and where in e.where())


async def test_the_week_grid_draws_windows_outages_and_reservations_in_their_hours(runtime: Runtime) -> None:
    seed_calendar(runtime)
    app = create_app(runtime)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_week(pilot)
        assert grid(app).display and not app.screen.query_one(MonthGrid).display
        assert "Week 7 · 9–15 Feb 2026" in title_text(app)
        lines = grid_lines(app)
        assert all(len(line) <= 80 for line in lines)
        for head in ("Mon 9", "Tue 10", "Wed 11", "Thu 12", "Fri 13", "Sat 14", "▸Sun 15 ◆"):
            assert head in lines[0]
        assert lines[1].startswith("06:00")  # nothing starts earlier this week
        assert screen.selected == date(2026, 2, 15) and screen.row == (10, 0)  # today, now
        assert raw_cell(app, SUN, "10:00").startswith("▸")
        assert not raw_cell(app, SAT, "10:00").startswith("▸")
        # Tue 10: the completed firmware window 08:00–12:00
        assert cell(app, TUE, "07:00") == "·"
        assert cell(app, TUE, "08:00").startswith("⚒ Firm")
        assert cell(app, TUE, "09:00") == cell(app, TUE, "11:00") == "⚒ │"
        assert cell(app, TUE, "12:00") == "·"
        # Thu 12: the resolved PSU outage 09:00–11:30
        assert cell(app, THU, "09:00").startswith("⚠ PSU")
        assert cell(app, THU, "11:00") == "⚠ │" and cell(app, THU, "12:00") == "·"
        # Sat 14 08:00 the NVLink outage begins; still open on Sunday, where the top row names it
        assert cell(app, SAT, "07:00") == "·" and cell(app, SAT, "08:00").startswith("⚠ NVLink")
        assert cell(app, SUN, "06:00").startswith("⚠ NVLink")
        # Sun 15 08:00: the outage and the cooling window share the hour: the outage, +1
        assert cell(app, SUN, "08:00") == "⚠ │    +1"
        assert cell(app, SUN, "14:00") == "⚠ │"  # the window ended at 14:00
        panel = panel_text(app)
        assert "Sun 15 Feb 2026 · today  10:00–11:00  2 events" in panel
        assert "NVLink errors · node02" in panel and "Cooling inspection" in panel

        await pilot.press("right_square_bracket")  # the next week, same weekday and hour
        await settle(pilot)
        assert screen.selected == date(2026, 2, 22) and screen.row == (10, 0)
        assert "Week 8 · 16–22 Feb 2026" in title_text(app)
        assert cell(app, MON, "11:00") == "⚠ │" and cell(app, MON, "12:00") == "·"  # up to its ETR
        assert cell(app, TUE, "15:00") == "·" and cell(app, TUE, "16:00") == "▣ node02"  # pending
        assert cell(app, FRI, "16:00") == "▣ node01" and cell(app, FRI, "17:00") == "▣ │"
        sat = cell(app, SAT, "06:00")  # the kernel patch window over the night's reservation
        assert sat.startswith("⚒ Kern") and sat.endswith("+1")
        assert cell(app, SAT, "08:00") == "▣ │" and cell(app, SAT, "09:00") == "·"

        await pilot.press("slash", *"node02", "enter")  # the filter applies to the grid too
        await settle(pilot)
        assert screen.flt.node == "node02" and screen.row == (10, 0)
        assert cell(app, FRI, "16:00") == "·"  # node01's reservation is gone
        assert cell(app, TUE, "16:00") == "▣ node02" and cell(app, SAT, "06:00") == "⚒ Kernel…"  # all nodes


async def test_arrows_move_by_hour_and_day_and_enter_opens_what_is_in_the_hour(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed_calendar(runtime)
    with runtime.write() as ctx:
        draft = window_svc.WindowDraft("Early check", local("2026-02-21 02:00"), local("2026-02-21 03:00"))
        window_svc.create_window(ctx, draft)
    reads: list[date] = []
    real = cal.calendar_week

    def counted(ctx, day, *args, **kw):  # type: ignore[no-untyped-def]
        reads.append(day)
        return real(ctx, day, *args, **kw)

    monkeypatch.setattr(cal, "calendar_week", counted)
    app = create_app(runtime)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_week(pilot)
        nvlink, psu = event_id(screen, "NVLink errors"), event_id(screen, "PSU swap")
        reads.clear()
        await pilot.press("up", "left")
        await settle(pilot)
        assert (screen.selected, screen.row) == (date(2026, 2, 14), (9, 0))
        assert reads == []  # moving inside the week reads nothing
        assert raw_cell(app, SAT, "09:00").startswith("▸")
        assert "Sat 14 Feb 2026  09:00–10:00  1 event" in panel_text(app)
        await pilot.press("enter")  # one event in the hour: its own screen
        await settle(pilot)
        assert isinstance(app.screen, OutageDetailScreen) and app.screen.outage_id == nvlink
        await pilot.press("escape")
        await settle(pilot)
        assert app.screen is screen and screen.view == "week"
        assert (screen.selected, screen.row) == (date(2026, 2, 14), (9, 0))

        await pilot.press("left", "left", "enter")  # Thu 12 09:00
        await settle(pilot)
        assert isinstance(app.screen, OutageDetailScreen) and app.screen.outage_id == psu
        await pilot.press("escape")
        await settle(pilot)

        reads.clear()
        await pilot.press("right_square_bracket", "right", *["down"] * 7)  # Fri 20 16:00
        await settle(pilot)
        assert reads == [date(2026, 2, 16)]  # one read for the new week
        assert (screen.selected, screen.row) == (date(2026, 2, 20), (16, 0))
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, ReservationDetailScreen)
        assert app.screen.reservation_id == event_id(screen, "Protein Folding", "node01")
        await pilot.press("escape")
        await settle(pilot)

        await pilot.press("right", *["up"] * 10)  # Sat 21 06:00: the kernel patch and the reservation
        await settle(pilot)
        assert (screen.selected, screen.row) == (date(2026, 2, 21), (6, 0))
        await pilot.press("enter")  # several: the day, on the first of them
        await settle(pilot)
        day = app.screen
        assert isinstance(day, CalendarDayScreen) and day.day == date(2026, 2, 21)
        assert day.current_key() == f"window:{event_id(screen, 'Kernel patch')}"  # not Early check
        await pilot.press("escape")
        await settle(pilot)
        assert app.screen is screen and screen.selected == date(2026, 2, 21)

        await pilot.press(*["up"] * 10)  # stops at the day's first hour
        assert screen.row == (0, 0)
        await pilot.press("t")
        await settle(pilot)
        assert (screen.selected, screen.row) == (date(2026, 2, 15), (10, 0))


async def test_a_click_selects_an_hour_and_a_second_click_opens_it(runtime: Runtime) -> None:
    seed_calendar(runtime)
    app = create_app(runtime)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_week(pilot)
        g = grid(app)
        top, _count = g.visible_rows()
        y = 1 + screen.week_state().rows.index((9, 0)) - top
        x = HOUR_WIDTH + THU * g.column_width() + 2
        await pilot.click(WeekGrid, offset=(x, y))
        await settle(pilot)
        assert (screen.selected, screen.row) == (date(2026, 2, 12), (9, 0))
        await pilot.click(WeekGrid, offset=(x, y))
        await settle(pilot)
        assert isinstance(app.screen, OutageDetailScreen)
        assert app.screen.outage_id == event_id(screen, "PSU swap")


async def test_dst_weeks_have_the_hours_of_site_time(runtime: Runtime) -> None:
    seed_calendar(runtime)
    twice = datetime(2026, 11, 1, 6, 30, tzinfo=UTC)  # 01:30 EST: the second 01:00 hour
    with runtime.write() as ctx:
        draft = window_svc.WindowDraft("Chiller swap", twice, twice + timedelta(hours=1))
        window_svc.create_window(ctx, draft)
    app = create_app(runtime)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_week(pilot)
        # Spring: Sun 2026-03-08 has no 02:00.
        screen.select(date(2026, 3, 8))
        await settle(pilot)
        assert screen.row == (10, 0)  # the hour is kept; the view starts at the 00:00 window
        assert grid_lines(app)[1].startswith("00:00") and cell(app, WED, "00:00").startswith("⚒ Power")
        await pilot.press(*["up"] * 12)
        assert screen.row == (0, 0)
        assert len(screen.week_state().rows) == 24
        lines = grid_lines(app)
        assert "Sun 8 23h" in lines[0] and "Sat 7 " in lines[0]
        assert [line[:5] for line in lines[1:5]] == ["00:00", "01:00", "02:00", "03:00"]
        assert cell(app, SUN, "02:00") == "DST" and cell(app, SAT, "02:00") == "·"
        await pilot.press("down")
        assert "01:00 EST–03:00 EDT" in panel_text(app)  # the one real hour before the gap
        await pilot.press("down")
        assert "02:00 does not exist on this day" in panel_text(app)
        await pilot.press("enter")  # no hour, no event: the day
        await settle(pilot)
        day = app.screen
        assert isinstance(day, CalendarDayScreen) and day.day == date(2026, 3, 8)
        assert "23-hour day" in str(day.query_one("#calday-title", Static).render())
        await pilot.press("escape")
        await settle(pilot)

        # Autumn: Sun 2026-11-01 has 01:00 twice; the week has a second 01:00 row.
        screen.select(date(2026, 11, 1))
        await settle(pilot)
        await pilot.press(*["up"] * 3)
        assert screen.row == (0, 0)
        assert len(screen.week_state().rows) == 25
        lines = grid_lines(app)
        assert "Sun 1 25h" in lines[0]
        assert [line[:6].rstrip() for line in lines[1:5]] == ["00:00", "01:00", "01:00↺", "02:00"]
        assert cell(app, SUN, "01:00") == "·"
        assert cell(app, SUN, "01:00↺").startswith("⚒ Chill") and cell(app, SUN, "02:00") == "⚒ │"
        assert cell(app, SAT, "01:00↺") == ""  # Saturday has one 01:00
        await pilot.press("down")
        assert "01:00 EDT–01:00 EST  nothing scheduled" in panel_text(app)
        await pilot.press("down")
        assert screen.row == (1, 1) and "01:00–02:00 EST  1 event" in panel_text(app)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, WindowDetailScreen)


async def test_week_and_agenda_fit_80x24_and_help_lists_the_keys(runtime: Runtime) -> None:
    seed_calendar(runtime)
    app = create_app(runtime)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_week(pilot)
        assert check_screen(pilot, "Calendar week") == []
        assert len(grid_lines(app)) == 1 + 16  # the day row and 06:00 → 21:00
        await pilot.press("a")
        await settle(pilot)
        assert screen.view == "agenda" and not grid(app).display
        assert check_screen(pilot, "Calendar agenda") == []
        await pilot.press("w", "question_mark")
        await settle(pilot)
        help_screen = app.screen
        assert isinstance(help_screen, HelpScreen) and help_screen.topic == "calendar"
        keys = {k.key: k.description for k in help_screen.keys}
        assert keys["a"].startswith("Agenda view") and keys["m"] == "Month view"
        assert "week grid" in keys["⏎"]


@pytest.mark.parametrize("env", ["NO_COLOR", "TEXTUAL_COLOR_SYSTEM"])
async def test_kinds_and_the_cursor_show_in_16_colours_and_without_colour(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch, env: str
) -> None:
    for name in ("NO_COLOR", "NODEDESK_THEME", "TEXTUAL_THEME", "TEXTUAL_COLOR_SYSTEM"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv(env, "1" if env == "NO_COLOR" else "standard")
    seed_calendar(runtime)
    app = create_app(runtime)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_week(pilot)
        g = grid(app)
        kinds = [g.get_component_rich_style(f"week-grid--{k}") for k in ("outage", "window", "reservation")]
        cursor = g.get_component_rich_style("week-grid--cursor")
        if env == "NO_COLOR":
            assert app.has_class("-no-color") and cursor.reverse
        else:
            assert app.theme == "ansi-dark"
            assert len({str(k.bgcolor) for k in kinds}) == 3  # one colour per kind
            assert all(k.color != k.bgcolor for k in kinds)  # and the text readable on it
            assert cursor.bgcolor is not None
        # whatever the colours, the glyphs and the marker say it
        assert raw_cell(app, SUN, "10:00").startswith("▸⚠")
        assert cell(app, THU, "09:00").startswith("⚠ PSU") and cell(app, TUE, "08:00").startswith("⚒ Firm")
