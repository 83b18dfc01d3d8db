"""One calendar day: its windows, outages and reservations with their times, one per row.

Opened with ``enter`` from the calendar (from an hour of the week grid holding several events:
with the cursor on the first of them). ``[``/``]`` walk to the previous/next day, ``n`` starts
a window on this day, ``enter`` on a maintenance window opens it. Closing returns the day shown
last, so the calendar follows.
"""

from __future__ import annotations

from datetime import date, timedelta

from nodedesk.core import timeutil
from nodedesk.core.errors import NodedeskError
from nodedesk.core.services.downtime import windows as window_svc
from nodedesk.core.services.views import calendar as svc
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.widgets import DataTable, Static

from ...kit import navigation, render
from ...kit.base import NodedeskScreen
from ...widgets.topbar import TopBar
from . import calendar_render as cr
from .calendar import open_new_window

WIDE = 110  # from this width on, "where" gets its own column


class CalendarDayScreen(NodedeskScreen):
    SECTION = "calendar"
    HELP_TOPIC = "calendar"
    HELP_TITLE = "day"

    CSS_PATH = "calendar.tcss"

    BINDINGS = [
        Binding("escape", "back", "Back"),
        Binding("enter", "open", "Open window", tooltip="Open the selected maintenance window"),
        Binding("n", "new_window", "New", tooltip="New maintenance window on this day"),
        Binding("left_square_bracket", "day(-1)", "Prev day", key_display="["),
        Binding("right_square_bracket", "day(1)", "Next day", key_display="]"),
        Binding("t", "today", "Today"),
        Binding("r", "reload", "Reload", show=False),
        Binding("j", "cursor(1)", "Down", show=False),
        Binding("k", "cursor(-1)", "Up", show=False),
    ]

    def __init__(self, day: date, flt: svc.CalendarFilter | None = None, *, focus: str | None = None) -> None:
        super().__init__()
        self.day = day
        self.flt = flt or svc.CalendarFilter()
        self.data: svc.CalendarDay | None = None
        self.events: dict[str, svc.CalendarEvent] = {}
        self._wide: bool | None = None
        self._same_day = True  # a reload of the same day keeps the cursor on its event
        self._focus = focus  # the event key the cursor starts on (None: the first)

    def crumbs(self) -> tuple[str, ...]:
        return (self.day.isoformat(),)

    # ------------------------------------------------------------------ layout

    def compose_body(self) -> ComposeResult:
        with Vertical(id="calday-body"):
            yield Static(id="calday-title")
            yield DataTable(id="calday-table", cursor_type="row", zebra_stripes=True)
            yield Static(id="calday-preview")

    def on_mount(self) -> None:
        self.table.focus()
        self._set_columns()
        self.reload()

    def on_resize(self) -> None:
        self._set_columns()

    @property
    def table(self) -> DataTable[object]:
        return self.query_one("#calday-table", DataTable)

    def _set_columns(self) -> None:
        wide = self.size.width >= WIDE
        if wide == self._wide:
            return
        self._wide = wide
        t = self.table
        t.clear(columns=True)
        t.add_column("", key="kind", width=1)
        t.add_column("Status", key="status", width=cr.STATUS_WIDTH)
        t.add_column("From", key="from", width=12)
        t.add_column("To", key="to", width=12)
        # Each column has one cell of padding on both sides; keep one for the scrollbar.
        if wide:
            t.add_column("What", key="what", width=max(self.size.width - 53 - 28, 20))
            t.add_column("Where", key="where", width=26)
        else:
            t.add_column("What", key="what", width=max(self.size.width - 53, 12))
        if self.data is not None:
            self._fill()

    # ------------------------------------------------------------------ loading

    def reload(self) -> None:
        day, flt = self.day, self.flt
        self.db(
            lambda ctx: svc.calendar(ctx, day, day, flt).day(day),
            self._show,
            on_error=self._failed,
            group="day",
            exclusive=True,
        )

    def _failed(self, exc: NodedeskError) -> None:
        self.refused(exc, "Could not load the day")

    def _show(self, data: svc.CalendarDay | None) -> None:
        if data is None or data.day != self.day:
            return  # an answer for a day we already left
        self.data = data
        self._fill()

    def _fill(self) -> None:
        data = self.data
        if data is None:
            return
        tz = self.session.tz
        today = timeutil.local_day(self.session.now(), tz)
        n = len(data.events)
        where = f"  ·  {self.flt.label()}" if not self.flt.empty else ""
        hours = f"  ·  {data.hours:g}-hour day (daylight saving)" if data.hours != 24 else ""
        self.query_one("#calday-title", Static).update(
            Content.assemble(
                (" " + cr.day_title(data.day, today, long=True), "bold $accent"),
                (f"  ·  {n} event{'s' if n != 1 else ''}{where}{hours}", "dim"),
            )
        )
        self.query_one("#calday-title").set_class(True, "loaded")
        t = self.table
        keep = self.current_key() if self.table.row_count and self._same_day else self._focus
        self._focus = None
        self._same_day = True
        t.clear()
        self.events = {e.key: e for e in data.events}
        for e in data.events:
            glyph, word, style = cr.status_parts(e)
            start, end = cr.when_span(e, tz)
            cells: list[object] = [
                Text(e.glyph, style=_rich(cr.KIND_STYLE[e.kind])),
                Text(f"{glyph} {word}", style=_rich(style)),
                start,
                end,
            ]
            if self._wide:
                cells += [render.text(e.title), render.text(e.where())]
            else:
                cells.append(render.text(f"{e.title} · {e.where()}"))
            t.add_row(*cells, key=e.key)
        if keep in self.events:
            t.move_cursor(row=list(self.events).index(keep))
        self._preview()
        self.refresh_bindings()

    def current_key(self) -> str | None:
        t = self.table
        if not t.row_count:
            return None
        try:
            return str(t.coordinate_to_cell_key(t.cursor_coordinate).row_key.value)
        except Exception:
            return None

    def current(self) -> svc.CalendarEvent | None:
        key = self.current_key()
        return self.events.get(key) if key else None

    def _preview(self) -> None:
        box = self.query_one("#calday-preview", Static)
        e = self.current()
        if e is None:
            empty = " Nothing scheduled on this day. n starts a maintenance window."
            box.update(Content.styled(empty, "dim"))
            return
        tz = self.session.tz
        glyph, word, style = cr.status_parts(e)
        first = Content.assemble(
            " ",
            cr.kind_content(e.kind),
            f" {svc.KIND_LABEL[e.kind]} #{e.id}  ",
            (f"{glyph} {word}", style),
            "  ",
            (render.one_line(e.title, max_len=80), "bold"),
        )
        end = timeutil.format_short(e.end, tz) if e.end else "open (still going)"
        facts = [f"{timeutil.format_short(e.start, tz)} → {end}"]
        if e.kind == "reservation":
            facts.append(f"node {e.where()} for {e.requested_for}")
        else:
            facts.append(e.where())
        if e.kind == "outage":
            if e.etr is not None:
                facts.append(f"ETR {timeutil.format_short(e.etr, tz)}")
            facts.append("credited" if e.credit else "not credited")
        second = Content(" " + render.one_line("  ·  ".join(facts)))
        third = (
            Content(" " + render.one_line(e.description, max_len=300))
            if e.description
            else Content.styled(" (no description)" if e.kind != "reservation" else " (no notes)", "dim")
        )
        box.update(Content("\n").join([first, second, third]))

    @on(DataTable.RowHighlighted)
    def _highlighted(self) -> None:
        self._preview()
        self.refresh_bindings()

    @on(DataTable.RowSelected)
    def _selected(self) -> None:
        self.action_open()

    # ------------------------------------------------------------------ actions

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "open":
            e = self.current()
            return e is not None and e.kind == "window"
        return True

    def action_back(self) -> None:
        self.dismiss(self.day)

    def action_open(self) -> None:
        e = self.current()
        if e is None or e.kind != "window":
            return
        navigation.go(self.app, "window.detail", e.id, section="calendar")

    def action_day(self, step: int) -> None:
        self.go(self.day + timedelta(days=step))

    def action_today(self) -> None:
        self.go(timeutil.local_day(self.session.now(), self.session.tz))

    def go(self, day: date) -> None:
        self.day = day
        self.data = None
        self._same_day = False  # a new day starts at its first event
        title = cr.day_title(day, day, long=True).removesuffix(" · today")
        self.query_one("#calday-title", Static).update(Content.styled(f" {title}  loading…", "dim"))
        self.query_one(TopBar).set_crumbs(day.isoformat())
        self.reload()

    def action_reload(self) -> None:
        self.reload()

    def action_cursor(self, step: int) -> None:
        self.table.action_cursor_down() if step > 0 else self.table.action_cursor_up()

    def action_new_window(self) -> None:
        open_new_window(self, self.day, self._window_saved)

    def _window_saved(self, result: window_svc.SaveResult | None) -> None:
        if result is not None:
            self.reload()


def _rich(style: str) -> str:
    """Content style names (``ansi_red``) → Rich style names (``red``) for table cells."""
    return " ".join(w.removeprefix("ansi_").replace("bright_", "bright_") for w in style.split())
