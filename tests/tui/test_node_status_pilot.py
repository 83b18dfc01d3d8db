"""The calendar's "Nodes now" screen (s): each node's state at the clock's now, since when, and
its next change; enter returns to the calendar filtered to that node. Clock: 2026-02-15 10:00."""

from __future__ import annotations

from nodedesk.core.runtime import Runtime
from nodedesk.core.services.views import calendar as cal_svc
from nodedesk.tui.app import create_app
from nodedesk.tui.features.calendar.calendar_grid import DayPanel
from nodedesk.tui.features.calendar.node_status import NodeStatusScreen
from textual.widgets import DataTable, Static

from tests.tui.conftest import settle
from tests.tui.test_calendar_pilot import open_calendar, seed_calendar


def rows(screen: NodeStatusScreen) -> list[list[str]]:
    t = screen.query_one(DataTable)
    return [[str(getattr(c, "plain", c)) for c in t.get_row(r.key)] for r in t.ordered_rows]


async def test_nodes_now_lists_states_and_next_changes(runtime: Runtime) -> None:
    seed_calendar(runtime)
    app = create_app(runtime)
    async with app.run_test(size=(80, 24)) as pilot:
        calendar = await open_calendar(pilot)
        # Today's panel under the grid counts the nodes in each state now and names the key.
        head = app.screen.query_one(DayPanel).render().plain.splitlines()[0]
        assert head.endswith("·  nodes now ✖1 ⚒1 ○1 (s)"), head
        await pilot.press("l")  # another day: the panel is about that day only
        await settle(pilot)
        assert "nodes now" not in app.screen.query_one(DayPanel).render().plain
        await pilot.press("s")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, NodeStatusScreen)
        title = str(screen.query_one("#nodes-title", Static).render())
        assert "Nodes now · 2026-02-15 10:00" in title
        assert "1 outage · 1 maintenance · 1 free" in title
        assert rows(screen) == [
            ["h01", "○ free", "Feb 12 11:30", "Feb 21 06:00 → maintenance (window #3)"],
            ["node01", "⚒ maintenance", "Feb 15 08:00", "Feb 15 14:00 → free"],
            ["node02", "✖ outage", "Feb 14 08:00", "open outage, end unknown"],
        ]
        await pilot.press("j")
        await settle(pilot)
        preview = str(screen.query_one("#nodes-preview", Static).render())
        assert "node01 (A100)  ⚒ maintenance  window #2 'Cooling inspection'" in preview
        assert "next: 2026-02-15 14:00 → free" in preview
        await pilot.press("j")
        await settle(pilot)
        preview = str(screen.query_one("#nodes-preview", Static).render())
        assert "outage #1 'NVLink errors' (reported, ETR 2026-02-16 12:00)" in preview
        assert "next: open outage, end unknown" in preview

        await pilot.press("enter")  # back to the calendar, showing only node02
        await settle(pilot)
        assert app.screen is calendar
        assert calendar.flt == cal_svc.CalendarFilter(node="node02")

        # The calendar's filter applies: a node type shows only its nodes.
        calendar.set_filter(cal_svc.CalendarFilter(node_type="H100"))
        await settle(pilot)
        await pilot.press("s")
        await settle(pilot)
        assert [r[0] for r in rows(app.screen)] == ["h01"]  # type: ignore[arg-type]
        await pilot.press("escape")
        await settle(pilot)
        assert app.screen is calendar and calendar.flt.node_type == "H100"
