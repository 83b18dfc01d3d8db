"""Calendar section: month, week and agenda views of maintenance windows, outages and reservations.

Everything is keyed on the *selected day*: arrows move it, ``[``/``]`` move it by a period,
``t`` brings it back to today, and the period shown (the month grid or the Monday–Sunday week)
is always the one containing it. The events come from the core calendar service for the whole
period in one worker call (a fixed number of queries) and are bucketed per site-local day there.

The week view is a grid of days × hours (calendar_week.py) with a cursor *hour* as well:
``↑``/``↓`` move it, and the service hands the week already cut into site-time hours, so moving
never reads the database. The agenda lists the same week day by day.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import pendulum
from nodedesk.core import timeutil
from nodedesk.core.context import ServiceContext
from nodedesk.core.errors import NodedeskError
from nodedesk.core.services.downtime import windows as window_svc
from nodedesk.core.services.nodes import inventory
from nodedesk.core.services.views import calendar as svc
from textual import on
from textual.app import ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.suggester import Suggester
from textual.widgets import Input, Static

from ...kit import navigation
from ...kit.access import not_allowed
from ...kit.base import NodedeskScreen
from ...kit.render import one_line
from . import calendar_render as cr
from .calendar_grid import CalendarState, DayPanel, MonthGrid
from .calendar_week import FIRST_HOUR, PLAIN_ROWS, WeekGrid, WeekPanel, WeekState, fit_row
from .node_status import load_statuses

VIEWS = ("month", "week", "agenda")
DETAIL_ROUTES = {"window": "window.detail", "outage": "outage.detail", "reservation": "reservation.detail"}
PANEL_MIN = 6  # rows kept for the selected day under the month grid
MAX_LINES_PER_WEEK = 5
NEW_WINDOW_HOUR = 8  # a new window from the calendar starts at 08:00 on the chosen day


@dataclass(frozen=True)
class Names:
    nodes: list[str]
    node_types: list[str]


def load_names(ctx: ServiceContext) -> Names:
    return Names(
        [n.name for n in inventory.list_nodes(ctx)], [t.name for t in inventory.list_node_types(ctx)]
    )


def period_of(view: str, day: date) -> tuple[date, date]:
    return svc.month_grid(day.year, day.month) if view == "month" else svc.week_of(day)


def shift_period(view: str, day: date, step: int) -> date:
    """The same day one period on (a month: day clamped to the month's length)."""
    if view != "month":
        return day + timedelta(days=7 * step)
    moved = pendulum.date(day.year, day.month, day.day).add(months=step)
    return date(moved.year, moved.month, moved.day)


def week_label(first: date, last: date) -> str:
    """``Week 47 · 16–22 Nov 2026``, ``Week 49 · 30 Nov – 6 Dec 2026``, across years in full."""
    week = first.isocalendar().week
    if first.year != last.year:
        span = f"{first.day} {first:%b %Y} – {last.day} {last:%b %Y}"
    elif first.month != last.month:
        span = f"{first.day} {first:%b} – {last.day} {last:%b %Y}"
    else:
        span = f"{first.day}–{last.day} {last:%b %Y}"
    return f"Week {week} · {span}"


def new_window_start(day: date, tz: str, now: datetime) -> datetime:
    """08:00 on the day; on today after 08:00, the next full hour (a window starting now-ish)."""
    start = timeutil.local_to_utc(datetime(day.year, day.month, day.day, NEW_WINDOW_HOUR), tz)
    if start < now and timeutil.local_day(now, tz) == day:
        local = timeutil.to_local(now, tz).replace(minute=0, second=0, microsecond=0).add(hours=1)
        return local.in_timezone("UTC")
    return start


def parse_filter(value: str, names: Names) -> svc.CalendarFilter:
    """``node2431`` or ``A100`` (also ``node:x`` / ``type:x``) → a filter; '' → none."""
    raw = value.strip()
    if not raw:
        return svc.CalendarFilter()
    kind, _, name = raw.partition(":") if re.match(r"^(node|type):", raw) else ("", "", raw)
    name = name.strip()
    lowered = {n.lower(): n for n in names.nodes}
    types = {t.lower(): t for t in names.node_types}
    if kind in ("", "type") and name.lower() in types:
        return svc.CalendarFilter(node_type=types[name.lower()])
    if kind in ("", "node") and name.lower() in lowered:
        return svc.CalendarFilter(node=lowered[name.lower()])
    what = {"node": "node", "type": "node type"}.get(kind, "node or node type")
    raise NodedeskError(f"no {what} named {one_line(name, max_len=40)!r}")


class NameSuggester(Suggester):
    """Completes node and node-type names in the filter box."""

    def __init__(self) -> None:
        super().__init__(use_cache=False, case_sensitive=False)
        self.names: list[str] = []

    async def get_suggestion(self, value: str) -> str | None:
        token = value.strip()
        if not token:
            return None
        for name in self.names:
            if name.lower().startswith(token.lower()) and name.lower() != token.lower():
                return name
        return None


class CalendarScreen(NodedeskScreen):
    SECTION = "calendar"
    HELP_TOPIC = "calendar"

    CSS_PATH = "calendar.tcss"

    BINDINGS = [
        Binding(
            "enter",
            "open_day",
            "Open",
            tooltip="Open the selected day: its events with times (week grid: the event in the hour)",
        ),
        Binding("n", "new_window", "New", tooltip="New maintenance window on the selected day"),
        Binding(
            "s",
            "node_status",
            "Nodes now",
            show=False,  # the 80-column footer is full; help (?) and the palette list it
            tooltip="Every node now: outage > maintenance > rented > free, since when, next change",
        ),
        Binding("left_square_bracket", "period(-1)", "Prev", key_display="[", tooltip="Previous month/week"),
        Binding("right_square_bracket", "period(1)", "Next", key_display="]", tooltip="Next month/week"),
        Binding("t", "today", "Today", tooltip="Go to today"),
        Binding("w", "view('week')", "Week", tooltip="Week view: days × hours"),
        Binding("m", "view('month')", "Month", tooltip="Month view"),
        Binding("a", "view('agenda')", "Agenda", tooltip="Agenda view: the week day by day, as a list"),
        Binding(
            "slash",
            "filter",
            "Filter",
            key_display="/",
            tooltip="Filter by a node or a node type (empty: all nodes)",
        ),
        Binding("escape", "clear_filter", "All nodes", show=False, tooltip="Clear the filter: all nodes"),
        Binding("r", "reload", "Reload", show=False, tooltip="Reload now (the screen is live anyway)"),
        Binding("left,h", "move(-1)", "Previous day", show=False),
        Binding("right,l", "move(1)", "Next day", show=False),
        Binding("up,k", "move_row(-1)", "Up a week (week: an hour; agenda: a day)", show=False),
        Binding("down,j", "move_row(1)", "Down a week (week: an hour; agenda: a day)", show=False),
        Binding("home,g", "edge('first')", "First day of the period", show=False),
        Binding("end,G", "edge('last')", "Last day of the period", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.view = "month"
        self.selected: date = date.today()  # replaced by the site's today on mount
        self.flt = svc.CalendarFilter()
        self.span: svc.CalendarRange | None = None
        self.week: svc.CalendarWeek | None = None  # the week view's hours
        self.row: tuple[int, int] = (FIRST_HOUR, 0)  # the week view's cursor hour (hour, fold)
        self._place_row = False  # put the cursor hour on the day's first event when the week arrives
        self.nodes_now = ""  # node states now, for today's panel (see the 's' screen)
        self.names = Names([], [])
        self.suggester = NameSuggester()
        self._loaded = False

    # ------------------------------------------------------------------ layout

    def compose_body(self) -> ComposeResult:
        with Vertical(id="calendar-body"):
            yield Static(id="cal-title")
            yield Input(
                placeholder="node or node type (e.g. node2431, A100); empty: all nodes",
                id="cal-filter",
                suggester=self.suggester,
                compact=True,
            )
            yield MonthGrid(id="cal-grid")
            yield DayPanel(id="cal-day")
            yield WeekGrid(id="cal-hours")
            yield WeekPanel(id="cal-hour-panel")
            with VerticalScroll(id="cal-week", can_focus=False):
                for i in range(7):
                    with Vertical(id=f"week-day-{i}", classes="week-day"):
                        yield Static(id=f"week-head-{i}", classes="week-head")
                        yield Static(id=f"week-events-{i}", classes="week-events")

    def on_mount(self) -> None:
        self.query_one("#cal-filter", Input).display = False
        self.selected = self.today()
        self.focus_view()
        self.redraw()
        self.reload()
        self.db(load_names, self._names_loaded, on_error=lambda exc: None, group="names")

    def on_resize(self) -> None:
        self.redraw()

    @property
    def grid(self) -> MonthGrid:
        return self.query_one("#cal-grid", MonthGrid)

    @property
    def hours(self) -> WeekGrid:
        return self.query_one("#cal-hours", WeekGrid)

    def focus_view(self) -> None:
        (self.hours if self.view == "week" else self.grid).focus()

    def today(self) -> date:
        return timeutil.local_day(self.session.now(), self.session.tz)

    def period(self) -> tuple[date, date]:
        return period_of(self.view, self.selected)

    # ------------------------------------------------------------------ loading

    def reload(self) -> None:
        first, last = self.period()
        flt = self.flt
        if self.view == "week":
            self.db(
                lambda ctx: svc.calendar_week(ctx, first, flt),
                self._loaded_week,
                on_error=self._load_failed,
                group="calendar",
                exclusive=True,
            )
        else:
            self.db(
                lambda ctx: svc.calendar(ctx, first, last, flt),
                self._loaded_span,
                on_error=self._load_failed,
                group="calendar",
                exclusive=True,
            )
        self.db(
            lambda ctx: (flt, [s.state for s in load_statuses(ctx, flt)]),
            self._nodes_now_loaded,
            on_error=lambda exc: None,  # the 's' screen reports problems; the panel just omits it
            group="nodes-now",
            exclusive=True,
        )

    def _nodes_now_loaded(self, found: tuple[svc.CalendarFilter, list[str]]) -> None:
        flt, states = found
        if flt != self.flt:
            return  # a newer filter is on its way
        self.nodes_now = cr.node_state_glyphs(states)
        self.redraw()

    def _ensure_loaded(self) -> None:
        first, last = self.period()
        if self.view == "week":
            if self.usable_week() is None:
                self.reload()
        elif self.span is None or not self.span.covers(first, last) or self.span.filter != self.flt:
            self.reload()

    def usable_week(self) -> svc.CalendarWeek | None:
        """The loaded week when it is the one shown, with the filter shown."""
        week = self.week
        if week is None or week.first != self.period()[0] or week.filter != self.flt:
            return None
        return week

    def _loaded_span(self, span: svc.CalendarRange) -> None:
        self._loaded = True
        if span.filter != self.flt:
            return  # a newer filter is on its way
        self.span = span
        self.redraw()

    def _loaded_week(self, week: svc.CalendarWeek) -> None:
        self._loaded = True
        if week.filter != self.flt:
            return  # a newer filter is on its way
        self.week = week
        if self.view == "week":  # (a late answer must not replace the month a view switch asked for)
            self.span = week.span
        if self._place_row and week.first == self.period()[0]:
            self._place_row = False
            self.row = self.first_event_row(week)
        self.redraw()

    def first_event_row(self, week: svc.CalendarWeek) -> tuple[int, int]:
        """Where the cursor hour starts on a day: now on today, else the hour the day's first
        event begins in (downtime first), else 06:00."""
        if self.selected == self.today():
            return self.now_row(week)
        for slot in week.slots(self.selected):
            if slot.starting():
                return slot.row
        return (FIRST_HOUR, 0)

    def now_row(self, week: svc.CalendarWeek | None) -> tuple[int, int]:
        now = self.session.now()
        if week is not None:
            for slot in week.slots(self.today()):
                if slot.start <= now < slot.end:
                    return slot.row
        return (timeutil.to_local(now, self.session.tz).hour, 0)

    def _load_failed(self, exc: NodedeskError) -> None:
        self.refused(exc, "Could not load the calendar")

    def _names_loaded(self, names: Names) -> None:
        self.names = names
        self.suggester.names = [*names.node_types, *names.nodes]

    # ------------------------------------------------------------------ drawing

    def state(self) -> CalendarState:
        first, last = self.period()
        span = self.span
        usable = span if span is not None and span.covers(first, last) and span.filter == self.flt else None
        return CalendarState(self.view, self.selected, self.today(), self.session.tz, usable, self.nodes_now)

    def week_state(self) -> WeekState:
        week = self.usable_week()
        rows = week.rows if week is not None else PLAIN_ROWS
        first = self.period()[0]
        return WeekState(first, self.selected, fit_row(self.row, rows), self.today(), self.session.tz, week)

    def redraw(self) -> None:
        if not self.is_mounted:
            return
        st = self.state()
        month, hours = self.view == "month", self.view == "week"
        self.grid.display = month
        self.query_one("#cal-day", DayPanel).display = month
        self.hours.display = hours
        self.query_one("#cal-hour-panel", WeekPanel).display = hours
        self.query_one("#cal-week").display = self.view == "agenda"
        self._draw_title(st)
        if month:
            self.grid.show(st, self._lines_per_week())
            self.query_one("#cal-day", DayPanel).show(st)
        elif hours:
            week = self.week_state()
            self.hours.show(week)
            self.query_one("#cal-hour-panel", WeekPanel).show(week)
        else:
            self._draw_agenda(st)
        self.refresh_bindings()

    def _lines_per_week(self) -> int:
        body = self.size.height - 3  # top bar (2) and footer (1)
        filter_row = 1 if self.query_one("#cal-filter", Input).display else 0
        room = body - 1 - filter_row - 1 - PANEL_MIN  # title, weekday header, the day panel
        return max(2, min(MAX_LINES_PER_WEEK, room // 6))

    def _draw_title(self, st: CalendarState) -> None:
        first, last = self.period()
        if self.view == "month":
            name = pendulum.date(st.selected.year, st.selected.month, 1).format("MMMM YYYY")
        else:
            name = week_label(first, last)
        loading = Content.styled("  loading…" if st.span is None else "", "dim")

        def left(hint: bool) -> Content:
            head = Content.assemble((" ‹ ", "dim"), (name, "bold $accent"), (" › ", "dim"), " ")
            if self.flt.empty:
                return Content.assemble(head, ("all nodes", "bold"), loading)
            extra = (" (esc: all)", "dim") if hint else ""
            return Content.assemble(head, (self.flt.label(), "bold $warning"), extra, loading)

        # The legend matters more than the escape hint; on a very narrow screen it goes too.
        width = self.size.width
        title = left(False)
        for hint, legend in ((True, cr.legend()), (False, cr.legend()), (False, cr.legend(" "))):
            text = left(hint)
            gap = width - text.cell_length - legend.cell_length - 1
            if gap >= 2:
                title = Content.assemble(text, " " * gap, legend, " ")
                break
        self.query_one("#cal-title", Static).update(title)

    def _draw_agenda(self, st: CalendarState) -> None:
        first, _last = self.period()
        width = 500  # the Static cuts each line to its width with an ellipsis (CSS)
        for i in range(7):
            day = first + timedelta(days=i)
            data = st.day(day)
            selected = day == st.selected
            head = Content.assemble(
                "▸ " if selected else "  ",
                (cr.day_title(day, st.today, year=False), "bold $accent" if day == st.today else "bold"),
                "  ",
                cr.counts_content(data),
            )
            self.query_one(f"#week-head-{i}", Static).update(head)
            if data is None:
                lines = [Content.styled("    loading…", "dim")]
            elif not data.events:
                lines = [Content.styled("    nothing scheduled", "dim")]
            else:
                lines = [cr.event_line(e, data, st.tz, width, indent=4) for e in data.events]
            self.query_one(f"#week-events-{i}", Static).update(Content("\n").join(lines))
            self.query_one(f"#week-day-{i}").set_class(selected, "-selected")
        self.call_after_refresh(self._scroll_agenda)

    def _scroll_agenda(self) -> None:
        """Keep the selected day in view (its heading first when the day is long)."""
        if self.view != "agenda":
            return
        first, _last = self.period()
        block = self.query_one(f"#week-day-{(self.selected - first).days}")
        self.query_one("#cal-week", VerticalScroll).scroll_to_widget(block, animate=False, top=False)

    # ------------------------------------------------------------------ moving

    def select(self, day: date) -> None:
        before = self.period()
        self.selected = day
        if self.view == "week" and self.period() != before:
            self.hours.reset_top()  # a new week starts its view at 06:00 or its first event
        self._ensure_loaded()
        self.redraw()

    def action_move(self, days: int) -> None:
        self.select(self.selected + timedelta(days=days))

    def action_move_row(self, step: int) -> None:
        if self.view == "week":
            self.move_hour(step)
            return
        self.select(self.selected + timedelta(days=(7 if self.view == "month" else 1) * step))

    def move_hour(self, step: int) -> None:
        """The cursor an hour up or down in the week grid (it stops at the day's ends)."""
        rows = self.week_state().rows
        i = rows.index(fit_row(self.row, rows)) + step
        self.row = rows[max(0, min(i, len(rows) - 1))]
        self._place_row = False
        self.redraw()

    def action_period(self, step: int) -> None:
        self.select(shift_period(self.view, self.selected, step))

    def action_today(self) -> None:
        if self.view == "week":
            self.row = self.now_row(self.usable_week())
            self._place_row = False
        self.select(self.today())

    def action_view(self, view: str) -> None:
        if view in VIEWS and view != self.view:
            self.view = view
            if view == "week":
                self._place_row = True
                self.hours.reset_top()
                week = self.usable_week()
                if week is not None or self.selected == self.today():
                    self._place_row = False
                    self.row = self.first_event_row(week) if week is not None else self.now_row(None)
            self.focus_view()
            self.select(self.selected)

    def action_edge(self, which: str) -> None:
        if self.view == "month":
            first = self.selected.replace(day=1)
            last = shift_period("month", first, 1) - timedelta(days=1)
        else:
            first, last = self.period()
        self.select(first if which == "first" else last)

    @on(MonthGrid.DayClicked)
    def _clicked(self, event: MonthGrid.DayClicked) -> None:
        if event.day == self.selected:
            self.action_open_day()
        else:
            self.select(event.day)

    @on(WeekGrid.CellClicked)
    def _cell_clicked(self, event: WeekGrid.CellClicked) -> None:
        if event.day == self.selected and event.row == self.week_state().row:
            self.action_open_day()
        else:
            self.row = event.row
            self._place_row = False
            self.select(event.day)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "view":
            return parameters[0] != self.view  # offer the other view only
        if action == "clear_filter":
            return not self.flt.empty or self.query_one("#cal-filter", Input).display
        return True

    # ------------------------------------------------------------------ the day, new window

    def action_open_day(self) -> None:
        from .calendar_day import CalendarDayScreen

        focus = None
        if self.view == "week":
            st = self.week_state()
            slot = st.slot(self.selected, st.row)
            if slot is not None and len(slot.events) == 1:
                e = slot.events[0]  # the one event in the hour: its own screen
                navigation.go(self.app, DETAIL_ROUTES[e.kind], e.id, section="calendar")
                return
            if slot is not None and slot.events:
                focus = slot.events[0].key  # several: the day, on the first of them
        self.app.push_screen(CalendarDayScreen(self.selected, self.flt, focus=focus), self._day_closed)

    def _day_closed(self, day: date | None) -> None:
        if day is not None and day != self.selected:
            self.select(day)

    def action_new_window(self) -> None:
        open_new_window(self, self.selected, self._window_saved)

    def action_node_status(self) -> None:
        from .node_status import NodeStatusScreen

        self.app.push_screen(NodeStatusScreen(self.flt), self._node_chosen)

    def _node_chosen(self, node: str | None) -> None:
        if node is not None:
            self.query_one("#cal-filter", Input).display = False
            self.focus_view()
            self.set_filter(svc.CalendarFilter(node=node))

    def _window_saved(self, result: window_svc.SaveResult | None) -> None:
        if result is not None:
            self.reload()

    # ------------------------------------------------------------------ filter

    def action_filter(self) -> None:
        box = self.query_one("#cal-filter", Input)
        if self.flt.node or self.flt.node_type:
            box.value = self.flt.node or self.flt.node_type or ""
        box.display = True
        box.focus()
        self.redraw()

    def action_clear_filter(self) -> None:
        box = self.query_one("#cal-filter", Input)
        box.value = ""
        box.display = False
        self.focus_view()
        self.set_filter(svc.CalendarFilter())

    def set_filter(self, flt: svc.CalendarFilter) -> None:
        changed = flt != self.flt
        self.flt = flt
        if changed:
            self.reload()
        self.redraw()

    @on(Input.Submitted, "#cal-filter")
    def _filter_submitted(self, event: Input.Submitted) -> None:
        try:
            flt = parse_filter(event.value, self.names)
        except NodedeskError as exc:
            self.refused(exc, "Filter")
            return
        event.input.display = False
        self.focus_view()
        self.set_filter(flt)

    def action_reload(self) -> None:
        self.reload()

    def palette_commands(self) -> Iterable[SystemCommand]:
        yield SystemCommand("Calendar: today", "Go to today (t)", self.action_today)
        yield SystemCommand("Calendar: month view", "m", lambda: self.action_view("month"))
        yield SystemCommand("Calendar: week view", "Days × hours (w)", lambda: self.action_view("week"))
        yield SystemCommand(
            "Calendar: agenda view", "The week as a list (a)", lambda: self.action_view("agenda")
        )
        yield SystemCommand("Calendar: open the selected day", "enter", self.action_open_day)
        yield SystemCommand("Calendar: new window on the selected day", "n", self.action_new_window)
        yield SystemCommand(
            "Calendar: nodes now", "Each node's status, since when, next change (s)", self.action_node_status
        )
        yield SystemCommand("Calendar: all nodes", "Clear the filter (escape)", self.action_clear_filter)
        for name in self.names.node_types:
            yield SystemCommand(
                f"Calendar: node type {name}",
                "Only what touches this node type (/ filters by any node or type)",
                lambda name=name: self.set_filter(svc.CalendarFilter(node_type=name)),
            )


def open_new_window(
    screen: NodedeskScreen, day: date, on_saved: Callable[[window_svc.SaveResult | None], None]
) -> None:
    """The windows form, prefilled to ``day`` (08:00, or the next hour today)."""
    refusal = not_allowed(screen.session, "manage_windows")
    if refusal:
        screen.explain(refusal)
        return
    start = new_window_start(day, screen.session.tz, screen.session.now())
    navigation.go(screen.app, "window.form", "create", start=start, section="calendar", then=on_saved)
