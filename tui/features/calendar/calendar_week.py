"""The calendar's week grid: seven day columns × the week's wall-clock hours, and the line under it.

Both render from a :class:`WeekState` the screen hands them; the hours and the events in each
come from the core calendar service (``calendar_week``, read in a worker), so moving the cursor
only redraws. Rows are site time: the day the clocks go forward has no 02:00 (its cell says
``DST``), the week they go back has two 01:00 rows (the second marked ``↺``).

A cell shows the most severe event in it (outage, then window, then reservation) by its kind's
glyph, its name where it begins (or at the top of the view) and ``│`` where it continues, and
``+N`` when N more events share the hour. Colours come from the component classes in
``calendar.tcss`` (theme variables); the glyphs, words and the ``▸`` cursor need none.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from nodedesk.core import timeutil
from nodedesk.core.services.views.calendar import CalendarDay, CalendarWeek, HourSlot
from textual import events
from textual.content import Content
from textual.message import Message
from textual.style import Style
from textual.widget import Widget

from ...kit import render
from . import calendar_render as cr
from .calendar_grid import StatePanel

WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
HOUR_WIDTH = 6  # "06:00 ", "01:00↺"
MIN_COLUMN = 10  # a marker and nine cells: "⚒ Kernel…", "▣ nod… +3"
FIRST_HOUR = 6  # the view starts at 06:00, or earlier when something starts earlier that week
PLAIN_ROWS: tuple[tuple[int, int], ...] = tuple((h, 0) for h in range(24))  # while loading
CONTINUES = "│"
REPEATED = "↺"
TODAY = "◆"


@dataclass(frozen=True)
class WeekState:
    first: date  # the Monday
    selected: date
    row: tuple[int, int]  # the cursor's hour: (hour, fold)
    today: date
    tz: str
    week: CalendarWeek | None  # None while loading

    @property
    def rows(self) -> tuple[tuple[int, int], ...]:
        return self.week.rows if self.week is not None else PLAIN_ROWS

    def slot(self, day: date, row: tuple[int, int]) -> HourSlot | None:
        return self.week.slot(day, row) if self.week is not None else None

    def day(self, day: date) -> CalendarDay | None:
        return self.week.span.day(day) if self.week is not None else None


def fit_row(row: tuple[int, int], rows: tuple[tuple[int, int], ...]) -> tuple[int, int]:
    """``row`` if the week has it, else the same hour's first pass (a second 01:00 in a week
    without one)."""
    return row if row in rows else (row[0], 0)


def hour_label(row: tuple[int, int]) -> str:
    """``06:00``; in a week the clocks go back, the repeated hour's second row ``01:00↺``."""
    hour, fold = row
    return f"{hour:02d}:00" + (REPEATED if fold else "")


def slot_span(slot: HourSlot, tz: str, repeated: bool) -> str:
    """``10:00–11:00``; around a clock change with the zones (``01:00 EDT–01:00 EST``,
    ``01:00–02:00 EST`` for the repeated hour's second pass)."""
    start, end = timeutil.to_local(slot.start, tz), timeutil.to_local(slot.end, tz)
    zones = start.format("zz"), end.format("zz")
    if zones[0] != zones[1]:
        return f"{start:%H:%M} {zones[0]}–{end:%H:%M} {zones[1]}"
    text = f"{start:%H:%M}–{end:%H:%M}"
    return f"{text} {zones[0]}" if repeated else text


def event_name(slot: HourSlot) -> str:
    """What a cell calls its first event: a window's or outage's title, a reservation's node."""
    e = slot.events[0]
    return render.one_line(e.where() if e.kind == "reservation" else e.title)


def cell_text(slot: HourSlot | None, row: tuple[int, int], *, head: bool, width: int) -> tuple[str, str]:
    """The text of one cell, ``width`` cells wide, and the kind it is drawn as ('' when none).

    ``head``: the cell names its first event even if that began earlier (the top of the view)."""
    if slot is None:
        return ("DST" if row[1] == 0 else "").ljust(width), ""  # the skipped hour; no second pass
    if not slot.events:
        return "·".ljust(width), ""
    top = slot.events[0]
    more = f"+{len(slot.events) - 1}" if len(slot.events) > 1 else ""
    begins = slot.start <= top.start < slot.end or head
    body = f"{top.glyph} {event_name(slot) if begins else CONTINUES}"
    room = width - len(more)
    body = Content(body).truncate(room, ellipsis=True, pad=True).plain
    return body + more, top.kind


def first_row_index(week: CalendarWeek | None) -> int:
    """Where the view starts: 06:00, or the earliest hour in which something starts that week."""
    rows = week.rows if week is not None else PLAIN_ROWS
    start = rows.index((FIRST_HOUR, 0)) if (FIRST_HOUR, 0) in rows else 0
    if week is None:
        return start
    for i, row in enumerate(rows[:start]):
        if any(s.starting() for slots in week.hours for s in slots if s.row == row):
            return i
    return start


class WeekGrid(Widget, can_focus=True):
    """The hours of a week, Monday first; the cursor cell is drawn reversed and marked ``▸``."""

    COMPONENT_CLASSES = {
        "week-grid--head",
        "week-grid--today",
        "week-grid--hour",
        "week-grid--cursor",
        "week-grid--muted",
        "week-grid--window",
        "week-grid--outage",
        "week-grid--reservation",
    }

    DEFAULT_CSS = """
    WeekGrid {
        height: 1fr;
        width: 1fr;
    }
    """

    class CellClicked(Message):
        def __init__(self, day: date, row: tuple[int, int]) -> None:
            super().__init__()
            self.day = day
            self.row = row

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.state: WeekState | None = None
        self.top: int | None = None  # the first row shown; None: choose it when the week arrives
        self._styles: dict[tuple[str, ...], Style] = {}

    def show(self, state: WeekState) -> None:
        self.state = state
        self.refresh()

    def reset_top(self) -> None:
        """Start the view again at 06:00 (or the week's first event)."""
        self.top = None
        self.refresh()

    def column_width(self) -> int:
        return max(MIN_COLUMN, (self.size.width - HOUR_WIDTH) // 7)

    def visible_rows(self) -> tuple[int, int]:
        """The first row shown and how many fit; keeps the cursor's row in view."""
        st = self.state
        rows = st.rows if st is not None else PLAIN_ROWS
        room = max(self.size.height - 1, 1)
        top = self.top
        if top is None:
            top = first_row_index(st.week if st is not None else None)
            if st is not None and st.week is not None:
                self.top = top
        if st is not None:
            cursor = rows.index(fit_row(st.row, rows))
            top = min(top, cursor) if cursor < top else max(top, cursor - room + 1)
        top = max(0, min(top, len(rows) - room))
        if self.top is not None:
            self.top = top
        return top, min(room, len(rows) - top)

    def _style(self, *names: str) -> Style:
        # (the rich style keeps a component's background and reverse; the partial visual style
        # of Textual 8.2 drops the background)
        style = self._styles.get(names)
        if style is None:
            style = Style.from_rich_style(self.get_component_rich_style(*names, partial=True))
            self._styles[names] = style
        return style

    # ------------------------------------------------------------------ drawing

    def render(self) -> Content:
        st = self.state
        if st is None:
            return Content("")
        self._styles = {}  # (the theme may have changed since the last drawing)
        width = self.column_width()
        lines = [self._header(st, width)]
        top, count = self.visible_rows()
        rows = st.rows
        cursor_row = fit_row(st.row, rows)
        for i in range(top, top + count):
            row = rows[i]
            on_cursor_row = row == cursor_row
            label = hour_label(row).ljust(HOUR_WIDTH)
            hour_style = self._style("week-grid--hour") if on_cursor_row else self._muted()
            parts = [Content.styled(label, hour_style)]
            for d in range(7):
                day = st.first + timedelta(days=d)
                parts.append(self._cell(st, day, row, head=i == top, width=width, cursor=on_cursor_row))
            lines.append(Content.assemble(*parts))
        return Content("\n").join(lines)

    def _muted(self) -> Style:
        return self._style("week-grid--muted")

    def _header(self, st: WeekState, width: int) -> Content:
        parts = [Content(" " * HOUR_WIDTH)]
        for d in range(7):
            day = st.first + timedelta(days=d)
            text = f"{WEEKDAYS[d]} {day.day}"
            if day == st.today:
                text += f" {TODAY}"
            data = st.day(day)
            if data is not None and data.hours != 24:
                text += f" {data.hours:g}h"  # a DST day: 23 or 25 hours
            names = ["week-grid--head"] + (["week-grid--today"] if day == st.today else [])
            marker = "▸" if day == st.selected else " "
            cell = Content.assemble(marker, Content.styled(text, self._style(*names)))
            parts.append(cell.truncate(width, ellipsis=True, pad=True))
        return Content.assemble(*parts)

    def _cell(
        self, st: WeekState, day: date, row: tuple[int, int], *, head: bool, width: int, cursor: bool
    ) -> Content:
        slot = st.slot(day, row)
        if st.week is None:
            text, kind = " ".ljust(width - 1), ""
        else:
            text, kind = cell_text(slot, row, head=head, width=width - 1)
        body = Content.styled(text, self._style(f"week-grid--{kind}") if kind else self._muted())
        selected = cursor and day == st.selected
        cell = Content.assemble("▸" if selected else " ", body)
        return cell.stylize(self._style("week-grid--cursor")) if selected else cell

    # ------------------------------------------------------------------ mouse

    def cell_at(self, x: int, y: int) -> tuple[date, tuple[int, int]] | None:
        st = self.state
        if st is None or y < 1 or x < HOUR_WIDTH:
            return None
        col = (x - HOUR_WIDTH) // self.column_width()
        top, count = self.visible_rows()
        if col > 6 or y - 1 >= count:
            return None
        return st.first + timedelta(days=col), st.rows[top + y - 1]

    def on_click(self, event: events.Click) -> None:
        found = self.cell_at(event.x, event.y)
        if found is not None:
            self.post_message(self.CellClicked(*found))


class WeekPanel(StatePanel[WeekState]):
    """The cursor's hour under the grid: its events, as many as fit, then ``… N more``."""

    DEFAULT_CSS = """
    WeekPanel {
        height: 3;
    }
    """

    def render(self) -> Content:
        st = self.state
        if st is None:
            return Content("")
        width, height = self.size.width, max(self.size.height, 1)
        title = " " + cr.day_title(st.selected, st.today)
        row = fit_row(st.row, st.rows)
        data = st.day(st.selected)
        if st.week is None or data is None:
            return Content.assemble((title, "bold"), ("  loading…", "dim"))
        slot = st.slot(st.selected, row)
        if slot is None:
            hour = hour_label(row)
            why = (
                f"  {hour} does not exist on this day: the clocks go forward (daylight saving)"
                if row[1] == 0
                else f"  {hour[:5]} happens once on this day (the clocks go back on another day)"
            )
            return Content.assemble((title, "bold"), (why, "dim")).truncate(width, ellipsis=True)
        span = slot_span(slot, st.tz, st.week.repeated(slot.hour))
        summary = cr.event_count(len(slot.events))
        head = Content.assemble((title, "bold"), "  ", (span, "bold"), "  ", (summary, "dim"))
        return cr.panel_lines(head, slot.events, data, st.tz, width, height)

