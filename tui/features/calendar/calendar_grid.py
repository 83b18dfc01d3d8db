"""The calendar's drawn widgets: the month grid and the selected day's panel.

Both render from a :class:`CalendarState` the screen hands them (no database work here). The
grid is 7 columns of at least 10 cells (fits 80 columns); each week takes two lines — the day
number, then per-kind counts like ``⚒2 ⚠1 ▣5`` — and more lines with event titles when the
terminal is taller.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Generic, TypeVar

from nodedesk.core.services.views.calendar import CalendarDay, CalendarRange, days_between, month_grid
from textual import events
from textual.content import Content
from textual.message import Message
from textual.widget import Widget

from ...kit import render
from . import calendar_render as cr

WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
MIN_COLUMN = 10
SELECTED = "bold on $primary"  # and the ▸ marker: the selection never relies on colour alone
S = TypeVar("S")


@dataclass(frozen=True)
class CalendarState:
    view: str  # "month" | "week" | "agenda"
    selected: date
    today: date
    tz: str
    span: CalendarRange | None  # None (or not covering the period) while loading
    nodes_now: str = ""  # node states at the clock's now, e.g. "✖1 ⚒2 ●5 ○12" (shown on today)

    def day(self, day: date) -> CalendarDay | None:
        return self.span.day(day) if self.span is not None else None


class MonthGrid(Widget, can_focus=True):
    """Six (or four, or five) weeks, Monday first; the selected day is drawn reversed."""

    DEFAULT_CSS = """
    MonthGrid {
        height: auto;
        width: 1fr;
    }
    MonthGrid:focus {
        background-tint: $foreground 0%;
    }
    """

    class DayClicked(Message):
        def __init__(self, day: date) -> None:
            super().__init__()
            self.day = day

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.state: CalendarState | None = None
        self.lines_per_week = 2

    def show(self, state: CalendarState, lines_per_week: int) -> None:
        self.state = state
        self.lines_per_week = lines_per_week
        first, last = self.period()
        self.styles.height = 1 + ((last - first).days + 1) // 7 * lines_per_week
        self.refresh()

    def period(self) -> tuple[date, date]:
        assert self.state is not None
        return month_grid(self.state.selected.year, self.state.selected.month)

    def column_width(self) -> int:
        """Cells per day column: a marker, the text, a gap (11 at 80 columns, 17 at 120)."""
        return max(MIN_COLUMN, self.size.width // 7)

    # ------------------------------------------------------------------ drawing

    def render(self) -> Content:
        st = self.state
        if st is None:
            return Content("")
        width = self.column_width()
        header = [
            Content.styled(f" {name}".ljust(width), "bold" if i < 5 else "bold dim")
            for i, name in enumerate(WEEKDAYS)
        ]
        lines = [Content.assemble(*header)]
        first, last = self.period()
        days = days_between(first, last)
        for w in range(len(days) // 7):
            week = days[w * 7 : w * 7 + 7]
            for line in range(self.lines_per_week):
                lines.append(Content.assemble(*[self._cell(st, d, line, width) for d in week]))
        return Content("\n").join(lines)

    def _cell(self, st: CalendarState, day: date, line: int, width: int) -> Content:
        """One line of one day: ``▸21 today`` / ``⚒2 ⚠1 ▣5`` / titles, ``width`` cells wide."""
        in_month = day.month == st.selected.month
        selected = day == st.selected
        data = st.day(day)
        if line == 0:
            label = f"{day.day:>2}"
            if day == st.today:
                content = Content.assemble((label, "bold $accent"), " ", ("today", "$accent"))
            else:
                label += f" {day:%b}" if day.day == 1 else ""
                content = Content.styled(label, "bold" if in_month else "dim")
        elif line == 1:
            content = cr.counts_content(data)
        else:
            content = self._title_line(data, line - 2, width - 2)
        marker = "▸" if selected and line == 0 else " "
        content = Content.assemble(marker, content).truncate(width - 1, ellipsis=True, pad=True)
        if not in_month:
            content = content.stylize("dim")
        if selected:
            content = content.stylize_before(SELECTED)
        return content + " "

    def _title_line(self, data: CalendarDay | None, index: int, width: int) -> Content:
        """Extra lines on tall terminals: downtime by title, then the booked nodes (``▣ node2431 +2``),
        then ``+3 more`` when they do not fit."""
        if data is None:
            return Content("")
        room = self.lines_per_week - 2
        downtime = [e for e in data.events if e.kind != "reservation"]
        booked = [e for e in data.events if e.kind == "reservation"]
        # Lines: one per downtime event, then one for all the booked nodes. Only the line asked
        # for is built (a busy day has hundreds of events and every line of it is drawn).
        count = len(downtime) + (1 if booked else 0)
        if count > room and index == room - 1:
            hidden = max(len(downtime) - index, 0) + (len(booked) if len(downtime) >= index else 0)
            return Content.styled(f"+{hidden} more", "dim")
        if index >= count:
            return Content("")
        if index < len(downtime):
            e = downtime[index]
            line = Content.assemble(cr.kind_content(e.kind), " ", render.one_line(e.title))
        else:
            names = list(dict.fromkeys(e.where() for e in booked))
            nodes = names[0] + (f" +{len(names) - 1}" if len(names) > 1 else "")
            line = Content.assemble(cr.kind_content("reservation"), " ", render.one_line(nodes))
        return line.truncate(width, ellipsis=True)

    # ------------------------------------------------------------------ mouse

    def day_at(self, x: int, y: int) -> date | None:
        if self.state is None or y < 1 or x < 0:
            return None
        first, last = self.period()
        col = x // self.column_width()
        week = (y - 1) // self.lines_per_week
        if col > 6:
            return None
        day = first + timedelta(days=week * 7 + col)
        return day if day <= last else None

    def on_click(self, event: events.Click) -> None:
        day = self.day_at(event.x, event.y)
        if day is not None:
            self.post_message(self.DayClicked(day))


class StatePanel(Widget, Generic[S]):
    """A panel drawn from the state the screen hands it (``show``)."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.state: S | None = None

    def show(self, state: S) -> None:
        self.state = state
        self.refresh()


class DayPanel(StatePanel[CalendarState]):
    """The selected day under the month grid: its events, as many as fit, then ``… N more``."""

    DEFAULT_CSS = """
    DayPanel {
        height: 1fr;
        min-height: 3;
        background: $panel;
        padding: 0 0;
    }
    """

    def render(self) -> Content:
        st = self.state
        if st is None:
            return Content("")
        width, height = self.size.width, max(self.size.height, 1)
        data = st.day(st.selected)
        title = Content.styled(" " + cr.day_title(st.selected, st.today), "bold")
        if data is None:
            return Content.assemble(title, ("  loading…", "dim"))
        head = Content.assemble(title, "  ", (cr.event_count(len(data.events)), "dim"))
        if st.selected == st.today and st.nodes_now:
            head = Content.assemble(head, ("  ·  nodes now ", "dim"), st.nodes_now, (" (s)", "dim"))
        return cr.panel_lines(head, data.events, data, st.tz, width, height)
