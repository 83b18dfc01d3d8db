"""Pilot tests of the Calendar section: the month grid and the agenda, moving the selected day
(arrows, [ ], t, g/G), switching views (the week grid: test_calendar_week_pilot.py), the node /
node-type filter, the day view (enter), and new windows prefilled to the chosen day. The clock is
frozen at Sun 2026-02-15 10:00 New York."""

from __future__ import annotations

from datetime import date

from nodedesk.core.runtime import Runtime
from nodedesk.core.services.downtime import outages
from nodedesk.core.services.downtime import windows as svc
from nodedesk.core.services.nodes import inventory
from nodedesk.core.services.rentals import reservations
from nodedesk.tui.app import NodedeskApp, create_app
from nodedesk.tui.features.calendar.calendar import CalendarScreen, parse_filter, week_label
from nodedesk.tui.features.calendar.calendar_day import CalendarDayScreen
from nodedesk.tui.features.calendar.calendar_grid import DayPanel, MonthGrid
from nodedesk.tui.features.help.help import HelpScreen
from nodedesk.tui.features.windows.window_detail import WindowDetailScreen
from nodedesk.tui.features.windows.window_form import WindowFormScreen
from textual.pilot import Pilot
from textual.widgets import DataTable, Input, Static

from tests.helpers import local
from tests.tui.conftest import notifications, seed_reservation, seed_windows, settle


def seed_calendar(runtime: Runtime) -> None:
    """The Windows tests' data (windows on Feb 10, 15, 21 and Mar 4; a reservation on node01
    Feb 20 16:00 → 21 09:00) plus an H100 node, outages and a pending reservation."""
    seed_windows(runtime)
    seed_reservation(runtime)
    with runtime.write() as ctx:
        inventory.add_node_type(ctx, "H100", "GPU")
        inventory.add_node(ctx, "h01", "H100")
        outages.create_outage(
            ctx,
            outages.OutageDraft(
                "NVLink errors", ("node02",), local("2026-02-14 08:00"), etr=local("2026-02-16 12:00")
            ),
        )
        outages.create_outage(
            ctx,
            outages.OutageDraft("PSU swap", ("h01",), local("2026-02-12 09:00"), local("2026-02-12 11:30")),
        )
        draft = reservations.ReservationDraft("node02", "Protein Folding", date(2026, 2, 17), 4)
        reservations.record_reservation(ctx, draft, waive_policy=True)  # pending


async def open_calendar(pilot: Pilot) -> CalendarScreen:
    await settle(pilot)
    await pilot.press("4")
    await settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, CalendarScreen)
    return screen


def grid_text(app: NodedeskApp) -> str:
    return app.screen.query_one(MonthGrid).render().plain


def panel_text(app: NodedeskApp) -> str:
    return app.screen.query_one(DayPanel).render().plain


def title_text(app: NodedeskApp) -> str:
    return str(app.screen.query_one("#cal-title", Static).render())


def week_text(app: NodedeskApp) -> str:
    return "\n".join(
        str(app.screen.query_one(f"#week-{part}-{i}", Static).render())
        for i in range(7)
        for part in ("head", "events")
    )


def day_rows(app: NodedeskApp) -> list[list[str]]:
    t = app.screen.query_one(DataTable)
    return [[str(getattr(c, "plain", c)) for c in t.get_row_at(i)] for i in range(t.row_count)]


async def test_month_opens_on_today_with_counts_legend_and_the_day_panel(runtime: Runtime) -> None:
    seed_calendar(runtime)
    app = create_app(runtime)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_calendar(pilot)
        assert screen.selected == date(2026, 2, 15) and screen.view == "month"
        grid = grid_text(app)
        assert "▸15 today" in grid
        assert grid.splitlines()[0].split() == ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
        assert len(grid.splitlines()) == 1 + 5 * 2  # Jan 26 → Mar 1: five weeks of two lines
        assert all(len(line) <= 80 for line in grid.splitlines())
        assert "⚒1 ⚠1" in grid  # Feb 15: the in-progress window and the open outage
        title = title_text(app)
        assert "February 2026" in title and "all nodes" in title
        assert "⚒ window" in title and "⚠ outage" in title and "▣ reservation" in title
        panel = panel_text(app)
        assert "Sun 15 Feb 2026 · today" in panel and "2 events" in panel
        lines = panel.splitlines()
        assert "⚠ ● reported" in lines[1] and "→ open" in lines[1] and "NVLink errors · node02" in lines[1]
        assert (
            "⚒ ▶ in progress" in lines[2] and "08:00–14:00" in lines[2] and "Cooling inspection" in lines[2]
        )


async def test_arrows_brackets_today_and_edges_move_the_selected_day(runtime: Runtime) -> None:
    seed_calendar(runtime)
    app = create_app(runtime)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_calendar(pilot)
        steps = [
            ("right", date(2026, 2, 16)),
            ("down", date(2026, 2, 23)),
            ("k", date(2026, 2, 16)),
            ("h", date(2026, 2, 15)),
            ("l", date(2026, 2, 16)),
            ("j", date(2026, 2, 23)),
            ("right_square_bracket", date(2026, 3, 23)),
            ("left_square_bracket", date(2026, 2, 23)),
            ("g", date(2026, 2, 1)),
            ("G", date(2026, 2, 28)),
            ("t", date(2026, 2, 15)),
        ]
        for key, expected in steps:
            await pilot.press(key)
            assert screen.selected == expected, key
        await pilot.press("G", "right")  # across the month's end: the grid follows
        await settle(pilot)
        assert screen.selected == date(2026, 3, 1)
        assert "March 2026" in title_text(app)
        assert "▸ 1 Mar" in grid_text(app)
        assert "Power work" in [e.title for e in screen.span.events]  # type: ignore[union-attr]  # Mar 4
        await pilot.press("right", "right", "right")
        await settle(pilot)
        assert "Power work" in panel_text(app)
        screen.select(date(2026, 1, 31))
        await pilot.press("right_square_bracket")  # there is no Feb 31: clamped, not skipped
        assert screen.selected == date(2026, 2, 28)


async def test_agenda_view_lists_each_days_events_and_moves_by_day(runtime: Runtime) -> None:
    seed_calendar(runtime)
    app = create_app(runtime)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_calendar(pilot)
        await pilot.press("a")
        await settle(pilot)
        assert screen.view == "agenda"
        assert not app.screen.query_one(MonthGrid).display
        assert "Week 7 · 9–15 Feb 2026" in title_text(app)
        text = week_text(app)
        assert "Tue 10 Feb" in text and "✓ completed" in text and "08:00–12:00" in text
        assert "Thu 12 Feb" in text and "✓ resolved" in text and "PSU swap · h01" in text
        assert "▸ Sun 15 Feb · today" in text
        assert "Mon 9 Feb" in text and "nothing scheduled" in text
        await pilot.press("down")  # one day in the agenda
        await settle(pilot)
        assert screen.selected == date(2026, 2, 16)
        assert "Week 8 · 16–22 Feb 2026" in title_text(app)
        text = week_text(app)
        assert "Tue 17 Feb" in text and "… pending" in text and "Protein Folding · node02" in text
        assert "Sat 21 Feb" in text and "Kernel patch" in text and "→ 09:00" in text
        await pilot.press("right_square_bracket")
        assert screen.selected == date(2026, 2, 23)
        await pilot.press("up", "m")
        await settle(pilot)
        assert screen.view == "month" and screen.selected == date(2026, 2, 22)
        assert app.screen.query_one(MonthGrid).display


def test_week_labels_across_months_and_years() -> None:
    assert week_label(date(2026, 2, 9), date(2026, 2, 15)) == "Week 7 · 9–15 Feb 2026"
    assert week_label(date(2026, 11, 30), date(2026, 12, 6)) == "Week 49 · 30 Nov – 6 Dec 2026"
    assert week_label(date(2026, 12, 28), date(2027, 1, 3)) == "Week 53 · 28 Dec 2026 – 3 Jan 2027"


async def test_filter_by_node_or_node_type_and_escape_clears(runtime: Runtime) -> None:
    seed_calendar(runtime)
    app = create_app(runtime)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_calendar(pilot)
        await pilot.press("slash", *"node02", "enter")
        await settle(pilot)
        assert screen.flt.node == "node02"
        assert "node node02" in title_text(app)
        panel = panel_text(app)
        assert "NVLink errors" in panel and "Cooling inspection" not in panel  # that one is on node01
        await pilot.press("slash")
        box = app.screen.query_one("#cal-filter", Input)
        box.value = "h100"  # case does not matter; a type name makes a type filter
        await pilot.press("enter")
        await settle(pilot)
        assert screen.flt.node_type == "H100" and screen.flt.node is None
        assert "node type H100" in title_text(app)
        assert "Power work" not in [e.title for e in screen.span.events]  # type: ignore[union-attr]
        await pilot.press("slash")
        box.value = "node99"
        await pilot.press("enter")
        await settle(pilot)
        assert screen.flt.node_type == "H100"  # refused: the filter stays
        assert any("no node or node type named 'node99'" in n for n in notifications(app))
        await pilot.press("escape")
        await settle(pilot)
        assert screen.flt.empty and not box.display
        assert "all nodes" in title_text(app) and "Cooling inspection" in panel_text(app)


def test_filter_text_is_matched_against_known_names() -> None:
    from nodedesk.tui.features.calendar.calendar import Names

    names = Names(["node01", "A100x"], ["A100"])
    assert parse_filter("", names).empty
    assert parse_filter(" a100 ", names).node_type == "A100"
    assert parse_filter("node:NODE01", names).node == "node01"
    assert parse_filter("type:a100", names).node_type == "A100"


async def test_enter_opens_the_day_with_times_and_brackets_walk_days(runtime: Runtime) -> None:
    seed_calendar(runtime)
    app = create_app(runtime)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_calendar(pilot)
        await pilot.press("right", "right", "right", "right", "right")  # Fri Feb 20
        await pilot.press("enter")
        await settle(pilot)
        day = app.screen
        assert isinstance(day, CalendarDayScreen) and day.day == date(2026, 2, 20)
        assert "Friday 20 February 2026" in str(day.query_one("#calday-title", Static).render())
        rows = day_rows(app)
        assert rows[0][1:4] == ["✓ approved", "Feb 20 16:00", "Feb 21 09:00"]
        assert "Protein Folding · node01" in rows[0][4]
        await pilot.press("right_square_bracket")
        await settle(pilot)
        assert day.day == date(2026, 2, 21)
        rows = day_rows(app)
        assert [r[1] for r in rows] == ["◷ upcoming", "✓ approved"]  # downtime first
        assert rows[0][2:4] == ["Feb 21 06:00", "Feb 21 08:00"] and "Kernel patch" in rows[0][4]
        await pilot.press("enter")  # a maintenance window opens its detail
        await settle(pilot)
        assert isinstance(app.screen, WindowDetailScreen)
        await pilot.press("escape")
        await settle(pilot)
        await pilot.press("escape")  # back to the calendar, which follows the day
        await settle(pilot)
        assert app.screen is screen and screen.selected == date(2026, 2, 21)


async def test_a_dst_day_says_how_long_it_is(runtime: Runtime) -> None:
    app = create_app(runtime)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_calendar(pilot)
        screen.select(date(2026, 3, 8))
        await pilot.press("enter")
        await settle(pilot)
        title = str(app.screen.query_one("#calday-title", Static).render())
        assert "Sunday 8 March 2026" in title and "23-hour day" in title and "0 events" in title


async def test_n_starts_a_window_prefilled_to_the_selected_day(runtime: Runtime) -> None:
    seed_calendar(runtime)
    app = create_app(runtime)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_calendar(pilot)
        await pilot.press("n")  # today, after 08:00: the next full hour
        await settle(pilot)
        form = app.screen
        assert isinstance(form, WindowFormScreen)
        assert form.query_one("#start", Input).value == "2026-02-15 11:00"
        await pilot.press("escape")
        await settle(pilot)
        await pilot.press("down", "right", "right", "right")  # Wed Feb 25
        await pilot.press("n")
        await settle(pilot)
        form = app.screen
        assert isinstance(form, WindowFormScreen)
        assert form.query_one("#start", Input).value == "2026-02-25 08:00"
        assert form.query_one("#end", Input).value == "2026-02-25 12:00"
        await pilot.press(*"Rack move")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.screen is screen
        assert "Rack move" in panel_text(app)
        await pilot.press("enter", "right_square_bracket", "n")  # from the day view: Feb 26
        await settle(pilot)
        assert app.screen.query_one("#start", Input).value == "2026-02-26 08:00"
    with runtime.read() as ctx:
        (w,) = svc.list_windows(ctx, svc.WindowQuery(text="Rack move")).items
        assert (w.start, w.end) == (local("2026-02-25 08:00"), local("2026-02-25 12:00"))


async def test_user_text_is_inert_and_help_has_the_calendar_topic(runtime: Runtime) -> None:
    with runtime.write() as ctx:
        title = "[b]bold[/b] [@click=app.quit]$accent[/]"
        svc.create_window(ctx, svc.WindowDraft(title, local("2026-02-15 12:00"), local("2026-02-15 13:00")))
    app = create_app(runtime)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_calendar(pilot)
        assert "[b]bold[/b] [@click=app.quit]$accent[/]" in panel_text(app)
        await pilot.press("question_mark")
        await settle(pilot)
        help_screen = app.screen
        assert isinstance(help_screen, HelpScreen) and help_screen.topic == "calendar"
        keys = {k.key: k.description for k in help_screen.keys}
        assert keys["["] == "Previous month/week" and keys["t"] == "Go to today"
        assert keys["⏎"].startswith("Open the selected day")
