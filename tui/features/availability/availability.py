"""Availability section: nodes × days (or hours), what each node does when (help/availability.md).

The grid opens on today and the days after it, as many as fit. Arrows (or hjkl) move the cell
cursor; ``[``/``]`` page the range; ``+``/``-`` zoom between days and hours; ``g`` goes to a
date; ``t`` cycles the node type. ``v`` (or space, or shift+arrows) marks a rectangle of nodes
× time; ``f`` asks which nodes are free from … to … and shows only those; ``b`` books the
cursor's node for the marked span (the reservation form), ``w`` plans a window on the marked
nodes and span (the window form, with its impact panel); ``enter`` opens what a cell shows.

Rows are read in blocks around the visible ones, in thread workers (timeline_data.py); the
screen re-reads when data changes (the change feed) and when a form it opened saved.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from nodedesk.core import timeutil
from nodedesk.core.context import ServiceContext
from nodedesk.core.errors import NodedeskError
from nodedesk.core.services.nodes import availability as svc
from nodedesk.core.services.nodes import inventory
from textual import on
from textual.app import ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.widgets import Static

from ...kit import navigation
from ...kit.access import may_request, not_allowed
from ...kit.base import NodedeskScreen
from . import timeline_data as td
from .availability_prompts import AvailabilityPrompt, Field
from .timeline_grid import GridState, TimelineGrid

CACHED_VIEWS = 4  # views whose rows are kept (paging back and forth shows them at once)
DATE_FORMAT = "YYYY-MM-DD"
TIME_FORMAT = "YYYY-MM-DD HH:mm"


@dataclass(frozen=True)
class FreeFilter:
    """A free query's answer, shown as the grid's only rows."""

    result: svc.FreeResult

    @property
    def nodes(self) -> tuple[str, ...]:
        return tuple(r.node for r in self.result.free)


def load_types(ctx: ServiceContext) -> list[str]:
    return [t.name for t in inventory.list_node_types(ctx)]


class AvailabilityScreen(NodedeskScreen):
    SECTION = "availability"
    HELP_TOPIC = "availability"

    CSS_PATH = "availability.tcss"

    BINDINGS = [
        Binding("enter", "open", "Open", tooltip="Open what the cell shows (window, outage, reservation)"),
        Binding("b", "book", "Book", tooltip="Book the cursor's node for the marked span (or the cell)"),
        Binding("w", "window", "Window", tooltip="Plan a window on the marked nodes and span (or the cell)"),
        Binding("f", "free", "Free", tooltip="Which nodes are free from … to …: show only those"),
        Binding("v,space", "mark", "Mark", tooltip="Mark a selection from the cursor (again: unmark)"),
        Binding("t", "node_type", "Type", tooltip="Next node type (all types, then each type)"),
        Binding("g", "jump", "Go to", tooltip="Go to a date"),
        Binding(
            "plus,equals_sign",
            "zoom(1)",
            "Hours",
            key_display="+",
            tooltip="Zoom in: the cursor's day by hours",
        ),
        Binding("minus", "zoom(-1)", "Days", key_display="-", tooltip="Zoom out: days"),
        Binding("right_square_bracket", "period(1)", "Later", key_display="]", tooltip="The days after"),
        Binding("left_square_bracket", "period(-1)", "Earlier", key_display="[", tooltip="The days before"),
        Binding(
            "escape", "clear", "Clear", show=False, tooltip="Unmark the selection, then show all nodes again"
        ),
        Binding("r", "reload", "Reload", show=False, tooltip="Reload now (the screen is live anyway)"),
        Binding("left,h", "move(0,-1)", "Earlier cell", show=False),
        Binding("right,l", "move(0,1)", "Later cell", show=False),
        Binding("up,k", "move(-1,0)", "Node above", show=False),
        Binding("down,j", "move(1,0)", "Node below", show=False),
        Binding("shift+left", "grow_mark(0,-1)", "Mark earlier", show=False),
        Binding("shift+right", "grow_mark(0,1)", "Mark later", show=False),
        Binding("shift+up", "grow_mark(-1,0)", "Mark the node above", show=False),
        Binding("shift+down", "grow_mark(1,0)", "Mark the node below", show=False),
        Binding("pageup", "rows(-1)", "A screen of nodes up", show=False),
        Binding("pagedown", "rows(1)", "A screen of nodes down", show=False),
        Binding("home", "edge(-1)", "First node", show=False),
        Binding("end", "edge(1)", "Last node", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.unit = "day"
        self.first = datetime(2000, 1, 1, tzinfo=UTC)  # the site's today, on mount
        self.columns = 14
        self.node_type: str | None = None
        self.free: FreeFilter | None = None
        self.loaded: td.Loaded | None = None
        self.fallback: td.Loaded | None = None  # the rows shown while a re-read is under way
        self.cache: dict[td.View, td.Loaded] = {}
        self.row = self.col = self.top = 0
        self.mark: td.Mark | None = None
        self.day_first: datetime | None = None  # the day view's first column, kept while zoomed in
        self.types: list[str] = []
        self.reads = 0  # blocks read (tests and the benchmark count them)
        self._legend_shown = False

    # ------------------------------------------------------------------ layout

    def compose_body(self) -> ComposeResult:
        with Vertical(id="avail-body"):
            yield Static(id="avail-title")
            yield Static(id="avail-legend")
            yield TimelineGrid(id="avail-grid")
            yield Static(id="avail-detail")

    @property
    def grid(self) -> TimelineGrid:
        return self.query_one("#avail-grid", TimelineGrid)

    @property
    def tz(self) -> str:
        return self.session.tz

    def on_mount(self) -> None:
        self.first = timeutil.start_of_day(self.today(), self.tz)
        self.grid.focus()
        self.db(load_types, self._types_loaded, on_error=lambda exc: None, group="types")
        self.call_after_refresh(self._fit)

    def today(self) -> date:
        return timeutil.local_day(self.session.now(), self.tz)

    @on(TimelineGrid.Resized)
    def _fit(self) -> None:
        """As many columns as fit; a change of width is a new view (more days read)."""
        columns = self.grid.columns_that_fit()
        if columns != self.columns or self.loaded is None:
            self.columns = columns
            self.col = min(self.col, columns - 1)
            self._view_changed()
        else:
            self._scroll()
            self._ensure_rows()
            self.redraw()

    def _types_loaded(self, types: list[str]) -> None:
        self.types = types

    # ------------------------------------------------------------------ the view and its rows

    @property
    def view(self) -> td.View:
        nodes = self.free.nodes if self.free is not None else ()
        return td.View(self.unit, self.first, self.columns, self.node_type, nodes)

    @property
    def bounds(self) -> tuple[datetime, ...]:
        assert self.loaded is not None
        return self.loaded.bounds

    def _view_changed(self, *, keep_rows: bool = False) -> None:
        """Show the view's rows read so far (a view seen lately keeps its rows), read the rest."""
        view = self.view
        self.fallback = self.loaded if keep_rows else None
        loaded = None if keep_rows else self.cache.get(view)
        if loaded is None:
            loaded = td.Loaded(view, view.bounds(self.tz))
            self.cache[view] = loaded
        self.loaded = loaded
        while len(self.cache) > CACHED_VIEWS:
            oldest = next(v for v in self.cache if v != view)
            del self.cache[oldest]
        self.col = max(0, min(self.col, len(loaded.bounds) - 2))
        self._clamp()
        self._ensure_rows()
        self.redraw()

    def visible_rows(self) -> int:
        return self.grid.rows_that_fit()

    def _ensure_rows(self, loaded: td.Loaded | None = None) -> None:
        """Read the blocks of the visible rows and the read-ahead that are not read yet."""
        target = loaded or self.loaded
        if target is None:
            return
        for index in target.wanted(self.top, self.top + self.visible_rows() - 1):
            self._read(target, index)

    def _read(self, target: td.Loaded, index: int) -> None:
        view, bounds = target.view, target.bounds

        def failed(exc: NodedeskError) -> None:
            target.asked.discard(index)
            if target is self.loaded:
                self.refused(exc, "Could not read the availability")

        self.reads += 1
        self.db(
            lambda ctx: td.read_block(ctx, view, bounds, index),
            lambda block: self._block_loaded(target, block),
            on_error=failed,
            group="availability-rows",
        )

    def _block_loaded(self, target: td.Loaded, block: td.Block) -> None:
        target.add(block)
        if target is not self.loaded:
            return  # read ahead for another view (kept in the cache), or no longer wanted
        if self.fallback is not None and self._visible_read():
            self.fallback = None
        self._clamp()
        self._ensure_rows()
        if self._visible_read():
            self._read_next_page()
        self.redraw()

    def _visible_read(self) -> bool:
        loaded = self.loaded
        if loaded is None or loaded.total is None:
            return False
        last = min(self.top + self.visible_rows(), loaded.total) - 1
        return all(loaded.row(i) is not None for i in range(self.top, last + 1))

    def _read_next_page(self) -> None:
        """Read ahead in time: the visible rows of the next page (``]`` shows them at once)."""
        view = self.view.shifted(self.columns, self.tz)
        ahead = self.cache.get(view)
        if ahead is None:
            ahead = td.Loaded(view, view.bounds(self.tz))
            self.cache = {view: ahead, **self.cache}  # the oldest: the first to go
        for index in ahead.wanted(self.top, self.top + self.visible_rows() - 1):
            self._read(ahead, index)

    def total(self) -> int | None:
        for loaded in (self.loaded, self.fallback):
            if loaded is not None and loaded.total is not None:
                return loaded.total
        return None

    def current_row(self) -> td.Row | None:
        for loaded in (self.loaded, self.fallback):
            row = loaded.row(self.row) if loaded is not None else None
            if row is not None and loaded is not None and len(row.cells) == len(loaded.bounds) - 1:
                return row
        return None

    def _clamp(self) -> None:
        total = self.total()
        if total is not None:
            self.row = max(0, min(self.row, total - 1))
        self._scroll()

    def _scroll(self) -> None:
        height = self.visible_rows()
        if self.row < self.top:
            self.top = self.row
        elif self.row >= self.top + height:
            self.top = self.row - height + 1
        total = self.total()
        if total is not None:
            self.top = max(0, min(self.top, total - height))
        self.top = max(self.top, 0)

    def reload(self) -> None:
        """Read the view again (its rows stay on screen until the new ones arrive)."""
        self.cache.clear()
        self._view_changed(keep_rows=True)

    def refresh_from_feed(self) -> None:
        if self.loaded is not None:
            self.reload()

    def action_reload(self) -> None:
        self.reload()

    # ------------------------------------------------------------------ the selection

    def cell_span(self, col: int | None = None) -> tuple[datetime, datetime]:
        c = self.col if col is None else col
        return self.bounds[c], self.bounds[c + 1]

    def selection(self) -> td.Selection | None:
        """The marked rectangle; without one, a free query's span over its nodes."""
        if self.loaded is None:
            return None
        if self.mark is not None:
            return td.Selection.between(self.mark, self.row, *self.cell_span())
        if self.free is not None:
            total = self.total() or len(self.free.nodes)
            return td.Selection(0, max(total - 1, 0), self.free.result.start, self.free.result.end)
        return None

    def target_span(self) -> tuple[datetime, datetime]:
        sel = self.selection()
        return (sel.start, sel.end) if sel is not None else self.cell_span()

    # ------------------------------------------------------------------ drawing

    def redraw(self) -> None:
        if not self.is_mounted or self.loaded is None:
            return
        self.grid.show(
            GridState(
                self.loaded,
                self.fallback,
                self.unit,
                self.bounds,
                self.tz,
                self.today(),
                self.top,
                self.row,
                self.col,
                self.selection(),
            )
        )
        self._draw_title()
        if not self._legend_shown:
            self.query_one("#avail-legend", Static).update(self.grid.legend())
            self._legend_shown = True
        self._draw_detail()
        self.refresh_bindings()

    def _draw_title(self) -> None:
        bounds = self.bounds
        span = td.span_label(bounds[0], bounds[-1], self.unit, self.tz)
        what = self.node_type or "all node types"
        if self.free is not None:
            what = f"free {self.free.result.node_type or 'nodes'}"
        total = self.total()
        where = f"node {self.row + 1} of {total}" if total else ""
        left = Content.assemble(
            (" ‹ ", "dim"),
            (span, "bold"),
            (" › ", "dim"),
            (what, "bold"),
            ("  by day" if self.unit == "day" else "  by hour", "dim"),
        )
        width = self.size.width
        gap = width - left.cell_length - len(where) - 1
        title = Content.assemble(left, " " * max(gap, 2), where) if gap >= 2 else left
        self.query_one("#avail-title", Static).update(title)

    def _draw_detail(self) -> None:
        lines: list[Content] = []
        row = self.current_row()
        if row is None:
            lines.append(Content.styled(" loading…" if self.total() != 0 else " no nodes here", "dim"))
        else:
            label = td.column_label(self.bounds, self.col, self.unit, self.tz)
            words = td.describe_cell(row, self.bounds, self.col, self.tz)
            more = f" (+{len(words) - 1} more)" if len(words) > 1 else ""
            opens = " · ⏎ opens" if td.cell_subject(row, self.bounds, self.col) else ""
            lines.append(Content.assemble(" ", (row.name, "bold"), f" · {label}: {words[0]}{more}{opens}"))
        sel = self.selection()
        if self.free is not None and self.mark is None:
            found = self.free.result
            span = td.span_label(found.start, found.end, "day", self.tz)
            lines.append(Content(f" {found.summary()} {span} · b books a row · esc: all nodes"))
        elif sel is not None:
            span = td.span_label(sel.start, sel.end, self.unit, self.tz)
            nodes = f"{sel.rows} node{'s' if sel.rows != 1 else ''}"
            lines.append(Content(f" Marked {nodes} × {span} · b book · w window · esc unmarks"))
        else:
            lines.append(
                Content.styled(" v marks nodes × time · f finds free nodes · g goes to a date", "dim")
            )
        self.query_one("#avail-detail", Static).update(Content("\n").join(lines))

    # ------------------------------------------------------------------ moving

    def _move_to(self, row: int, col: int) -> None:
        """Move the cursor; past the first or last column the range pages (a read)."""
        total = self.total()
        if total is not None:
            row = max(0, min(row, total - 1))
        self.row = max(row, 0)
        if col < 0 or col >= self.columns:
            step = -1 if col < 0 else 1
            self.first = self.view.shifted(step * self.columns, self.tz).first
            self.col = self.columns - 1 if step < 0 else 0
            self._view_changed()
            return
        self.col = col
        self._scroll()
        self._ensure_rows()
        self.redraw()

    def action_move(self, drow: int, dcol: int) -> None:
        if self.loaded is not None:
            self._move_to(self.row + drow, self.col + dcol)

    def action_grow_mark(self, drow: int, dcol: int) -> None:
        if self.loaded is None:
            return
        if self.mark is None:
            self.mark = td.Mark(self.row, *self.cell_span())
        self._move_to(self.row + drow, self.col + dcol)

    def action_rows(self, pages: int) -> None:
        self.action_move(pages * self.visible_rows(), 0)

    def action_edge(self, which: int) -> None:
        total = self.total()
        if total is not None:
            self.action_move((total - 1 if which > 0 else 0) - self.row, 0)

    def action_period(self, step: int) -> None:
        self.first = self.view.shifted(step * self.columns, self.tz).first
        self._view_changed()

    def action_mark(self) -> None:
        if self.loaded is None:
            return
        self.mark = None if self.mark is not None else td.Mark(self.row, *self.cell_span())
        self.redraw()

    def action_clear(self) -> None:
        if self.mark is not None:
            self.mark = None
            self.redraw()
        elif self.free is not None:
            self.free = None
            self.row = self.top = 0
            self._view_changed()

    def action_zoom(self, step: int) -> None:
        if self.loaded is None:
            return
        at, _end = self.cell_span()
        day = timeutil.local_day(at, self.tz)
        self.mark = None
        if step > 0 and self.unit == "day":
            self.day_first = self.first
            self.unit, self.first = "hour", timeutil.start_of_day(day, self.tz)
            now = self.session.now()
            self.col = 0
            if day == self.today():
                self.col = min(int((now - self.first) / timedelta(hours=1)), self.columns - 1)
        elif step < 0 and self.unit == "hour":
            self.unit = "day"
            kept = self.day_first
            self.first, self.col = timeutil.start_of_day(day, self.tz), 0
            if kept is not None:
                offset = (day - timeutil.local_day(kept, self.tz)).days
                if 0 <= offset < self.columns:
                    self.first, self.col = kept, offset
        else:
            return
        self._view_changed()

    def action_jump(self) -> None:
        if self.loaded is None:
            return
        tz, unit = self.tz, self.unit
        at = timeutil.to_local(self.cell_span()[0], tz)
        fmt, hint = (DATE_FORMAT, "a site day") if unit == "day" else (TIME_FORMAT, "a site day and hour")

        def answer(ctx: ServiceContext, values: dict[str, str]) -> datetime:
            return timeutil.parse_instant(values["date"], tz, field="date")

        self.app.push_screen(
            AvailabilityPrompt(
                "Go to a date",
                [Field("date", "Date", at.format(fmt), fmt)],
                answer,
                hint=f"{hint} ({fmt}); it becomes the first column",
            ),
            self._jumped,
        )

    def _jumped(self, at: datetime | None) -> None:
        if at is None:
            return
        if self.unit == "day":
            self.first = timeutil.start_of_day(timeutil.local_day(at, self.tz), self.tz)
        else:
            self.first = at.replace(minute=0, second=0, microsecond=0)
        self.col = 0
        self._view_changed()

    def action_node_type(self) -> None:
        """All node types, then each type in turn."""
        choices: list[str | None] = [None, *self.types]
        here = choices.index(self.node_type) if self.node_type in choices else 0
        self.set_type(choices[(here + 1) % len(choices)])

    def set_type(self, node_type: str | None) -> None:
        self.node_type = node_type
        self.free = None
        self.mark = None
        self.row = self.top = 0
        self._view_changed()

    @on(TimelineGrid.Clicked)
    def _clicked(self, event: TimelineGrid.Clicked) -> None:
        if event.row == self.row and event.col == self.col:
            self.action_open()
        else:
            self._move_to(event.row, event.col)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "zoom":
            return (parameters[0] == 1) == (self.unit == "day")  # offer the other unit only
        if action == "clear":
            return self.mark is not None or self.free is not None
        return True

    # ------------------------------------------------------------------ free from … to …

    def action_free(self) -> None:
        if self.loaded is None:
            return
        tz = self.tz
        start, end = self.target_span()
        if self.unit == "day":
            first = timeutil.to_local(start, tz).format(DATE_FORMAT)
            last = timeutil.to_local(end, tz).subtract(days=1).format(DATE_FORMAT)
        else:
            first = timeutil.to_local(start, tz).format(TIME_FORMAT)
            last = timeutil.to_local(end, tz).format(TIME_FORMAT)

        def answer(ctx: ServiceContext, values: dict[str, str]) -> svc.FreeResult:
            start = timeutil.day_or_time(values["from"], tz, "from", end_of_day=False)
            end = timeutil.day_or_time(values["to"], tz, "to", end_of_day=True)
            return svc.free_nodes(ctx, start, end, values["type"].strip() or None)

        self.app.push_screen(
            AvailabilityPrompt(
                "Which nodes are free for the whole span?",
                [
                    Field("from", "From", first, TIME_FORMAT),
                    Field("to", "To", last, "a day (all of it) or a time"),
                    Field("type", "Type", self.node_type or "", "empty: every type", tuple(self.types)),
                ],
                answer,
                hint="rentable nodes with no outage, window or reservation then",
            ),
            self._free_found,
        )

    def _free_found(self, found: svc.FreeResult | None) -> None:
        if found is None:
            return
        if not found.free:
            self.explain(f"{found.summary()}: none for the whole span", "Free nodes")
            return
        self.free = FreeFilter(found)
        self.node_type = found.node_type
        self.mark = None
        self.row = self.top = self.col = 0
        if self.unit == "day":
            self.first = timeutil.start_of_day(timeutil.local_day(found.start, self.tz), self.tz)
        else:
            self.first = found.start.replace(minute=0, second=0, microsecond=0)
        self._view_changed()

    # ------------------------------------------------------------------ open, book, plan

    def action_open(self) -> None:
        row = self.current_row()
        if row is None:
            return
        found = td.cell_subject(row, self.bounds, self.col)
        if found is not None:
            kind, ident = found
            navigation.go(self.app, td.ROUTES[kind], ident, section="availability")

    def action_book(self) -> None:
        refusal = may_request(self.session)
        if refusal:
            self.explain(refusal)
            return
        row = self.current_row()
        if row is None:
            self.explain("The node's row is still being read: try again in a moment", "Book")
            return
        start, end = self.target_span()
        navigation.go(
            self.app,
            "reservation.form",
            node=row.name,
            start=timeutil.local_day(start, self.tz),
            end=end,
            section="availability",
            then=self._saved,
        )

    def action_window(self) -> None:
        refusal = not_allowed(self.session, "manage_windows")
        if refusal:
            self.explain(refusal)
            return
        if self.loaded is None:
            return
        sel = self.selection()
        first, last = (sel.first, sel.last) if sel is not None else (self.row, self.row)
        start, end = self.target_span()
        names = [r.name for r in (self.loaded.row(i) for i in range(first, last + 1)) if r is not None]
        if len(names) == last - first + 1:
            self._plan(names, start, end)
            return
        view, bounds = self.loaded.view, self.loaded.bounds
        self.db(
            lambda ctx: td.read_names(ctx, view, bounds, first, last),
            lambda found: self._plan(found, start, end),
            on_error=lambda exc: self.refused(exc, "Could not read the nodes"),
        )

    def _plan(self, nodes: list[str], start: datetime, end: datetime) -> None:
        navigation.go(
            self.app,
            "window.form",
            "create",
            start=start,
            end=end,
            nodes=nodes,
            section="availability",
            then=self._saved,
        )

    def _saved(self, result: object) -> None:
        if result is not None:
            self.mark = None
            self.reload()

    def palette_commands(self) -> Iterable[SystemCommand]:
        yield SystemCommand(
            "Availability: all node types", "Every node (t cycles the types)", lambda: self.set_type(None)
        )
        for name in self.types:
            yield SystemCommand(
                f"Availability: node type {name}",
                "Only this node type's nodes (t cycles the types)",
                lambda name=name: self.set_type(name),
            )
        yield SystemCommand(
            "Availability: free from … to …", "Only the nodes free for a span (f)", self.action_free
        )
        yield SystemCommand("Availability: go to a date", "It becomes the first column (g)", self.action_jump)
