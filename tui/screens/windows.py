"""Windows section: the paged, sortable, filterable list of maintenance windows."""

from __future__ import annotations

from collections.abc import Iterable

from nodedesk.core import timeutil
from nodedesk.core.errors import NodedeskError
from nodedesk.core.services import windows as svc
from rich.text import Text
from textual import on
from textual.app import ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.timer import Timer
from textual.widgets import DataTable, Input, Static

from .. import render
from ..widgets.paged_table import Col, PagedTable, Row
from .base import NodedeskScreen
from .window_actions import WINDOW_ACTION_BINDINGS, WindowActionsMixin, not_allowed

SORT_LABELS = {
    "start": "start",
    "end": "end",
    "title": "title",
    "duration": "duration",
    "created_by": "creator",
    "id": "id",
}
# The direction each sort starts in: newest / longest / A→Z first.
SORT_DESCENDING = {
    "start": True,
    "end": True,
    "title": False,
    "duration": True,
    "created_by": False,
    "id": True,
}
STATUS_CYCLE: list[str | None] = [None, "upcoming", "in_progress", "completed"]
WIDE = 136  # from this width on, times show the full date (narrower: "Feb 15 08:00")


class WindowsScreen(WindowActionsMixin, NodedeskScreen):
    SECTION = "windows"
    HELP_TOPIC = "windows"
    REFRESH_SECONDS = 30.0  # statuses follow the clock; other admins change things too

    BINDINGS = [
        Binding("n", "new", "New"),
        *WINDOW_ACTION_BINDINGS,
        Binding(
            "slash", "filter", "Filter", key_display="/", tooltip="Filter by title, description, creator"
        ),
        Binding(
            "f", "cycle_status", "Status", show=False, tooltip="Status: all, upcoming, in progress, completed"
        ),
        Binding(
            "s", "cycle_sort", "Sort", show=False, tooltip="Sort by start, end, title, duration, creator, #"
        ),
        Binding("S", "reverse_sort", "Reverse sort", show=False, key_display="S"),
        Binding("r", "reload", "Reload", show=False, tooltip="Reload (also every 30 s)"),
        Binding("escape", "clear_filter", "Clear filter"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.status: str | None = None
        self.text = ""
        self.sort = "start"
        self.descending = True  # newest first: upcoming and current windows on top
        self.page: dict[str, svc.WindowView] = {}
        self._debounce: Timer | None = None
        self._compact: bool | None = None
        self._loaded = False
        self._select: str | None = None  # a row to put the cursor on once it is loaded

    # ------------------------------------------------------------------ layout

    def compose_body(self) -> ComposeResult:
        with Vertical(id="windows-body"):
            yield Input(placeholder="filter: text in title, description or creator", id="filter")
            yield Static(id="list-status")
            yield PagedTable(id="windows-table")
            yield Static(id="preview")

    def on_mount(self) -> None:
        self.query_one("#filter", Input).display = False
        self.table.focus()
        self._set_columns()
        self.reload()
        self.set_interval(self.REFRESH_SECONDS, self.reload)

    def on_screen_resume(self) -> None:
        if self._loaded:
            self.reload()

    def on_resize(self) -> None:
        self._set_columns()

    @property
    def table(self) -> PagedTable:
        return self.query_one("#windows-table", PagedTable)

    def _set_columns(self) -> None:
        compact = self.size.width < WIDE
        if compact == self._compact:
            return
        self._compact = compact
        when = 12 if compact else 16
        self.table.set_columns(
            [
                Col("id", "#", 4, sort_key="id"),
                Col("status", "Status", 14),
                Col("title", "Title", None, min_width=16, sort_key="title"),
                Col("start", "Start", when, sort_key="start"),
                Col("end", "End", when, sort_key="end"),
                Col("duration", "Duration", 8, sort_key="duration", essential=False),
                Col("scope", "Scope", 14 if compact else 18, essential=False),
                Col("by", "By", 10, sort_key="created_by", essential=False),
            ]
        )
        if self.page:
            self._refill()

    # ------------------------------------------------------------------ loading

    def window_query(self, offset: int) -> svc.WindowQuery:
        return svc.WindowQuery(
            status=self.status,
            text=self.text,
            sort=self.sort,
            descending=self.descending,
            offset=offset,
            limit=self.table.page_size,
        )

    def reload(self, offset: int | None = None, cursor: str = "keep") -> None:
        query = self.window_query(self.table.page_offset if offset is None else offset)
        self.db(
            lambda ctx: svc.list_windows(ctx, query),
            lambda page: self._show(page, cursor),
            on_error=self._load_failed,
            group="list",
            exclusive=True,
        )

    def _load_failed(self, exc: NodedeskError) -> None:
        self.table.request_failed()
        self.refused(exc, "Could not load windows")

    def _show(self, page: svc.WindowPage, cursor: str) -> None:
        if page.items == [] and page.total and page.offset >= page.total:
            self.reload(self.table.last_offset if page.total else 0, "last")  # the page shrank
            return
        self._loaded = True
        self.page = {str(w.id): w for w in page.items}
        self.table.show_page(self._rows(page.items), page.total, page.offset, cursor)  # type: ignore[arg-type]
        if self._select is not None:
            keys = [str(w.id) for w in page.items]
            if self._select in keys:
                self.table.move_cursor(row=keys.index(self._select))
            self._select = None
        self._update_status()
        self._update_preview()
        self.refresh_bindings()

    def _refill(self) -> None:
        t = self.table
        t.show_page(self._rows(list(self.page.values())), t.page_total, t.page_offset)

    def _rows(self, items: list[svc.WindowView]) -> list[Row]:
        tz, now, compact = self.session.tz, self.session.now(), bool(self._compact)
        return [
            Row(
                str(w.id),
                [
                    Text(str(w.id), justify="right"),
                    render.status_text(w.status, locked=w.locked),
                    render.text(w.title),
                    render.when(w.start, tz, compact=compact, now=now),
                    render.when(w.end, tz, compact=compact, now=now),
                    Text(timeutil.format_duration(w.duration), justify="right"),
                    render.text(w.scope.label()),
                    render.text(w.created_by),
                ],
            )
            for w in items
        ]

    @on(PagedTable.PageRequest)
    def _page_request(self, event: PagedTable.PageRequest) -> None:
        self.reload(event.page_offset, event.cursor)

    # ------------------------------------------------------------------ status and preview

    def _update_status(self) -> None:
        status = render.STATUS_WORD[self.status] if self.status else "all"
        arrow = "newest first" if self.descending else "oldest first"
        if self.sort not in ("start", "end"):
            arrow = "↓" if self.descending else "↑"
        parts: list[str | tuple[str, str]] = [
            ("Windows ", "bold"),
            self.table.range_label(),
            "  ·  status: ",
            (status, "bold"),
            "  ·  sort: ",
            (f"{SORT_LABELS[self.sort]} {arrow}", "bold"),
        ]
        if self.text:
            parts += ["  ·  filter: ", (render.one_line(self.text, max_len=30), "bold $accent")]
        self.query_one("#list-status", Static).update(Content.assemble(*parts))

    def _update_preview(self) -> None:
        w = self.current_window()
        preview = self.query_one("#preview", Static)
        if w is None:
            empty = "No windows match." if (self.text or self.status) else "No maintenance windows yet."
            hint = "" if not_allowed(self.session, "manage_windows") else " Press n to schedule one."
            preview.update(Content(empty + hint))
            return
        tz = self.session.tz
        first = Content.assemble(
            (f"#{w.id} ", "bold"),
            (render.one_line(w.title, max_len=60), "bold"),
            f"  ·  {timeutil.format_duration(w.duration)}  ·  {render.one_line(w.scope.label(), max_len=40)}"
            f"  ·  by {render.one_line(w.created_by)}",
        )
        if w.locked:
            second = Content.assemble((f"{render.LOCK} {w.lock_reason(tz)}", "$warning"))
        elif w.description:
            second = Content(render.one_line(w.description, max_len=300))
        else:
            second = Content.styled("upcoming: may be edited or deleted", "dim")
        preview.update(Content("\n").join([first, second]))

    @on(DataTable.RowHighlighted)
    def _highlighted(self) -> None:
        self._update_preview()
        self.refresh_bindings()

    @on(DataTable.RowSelected)
    def _selected(self, event: DataTable.RowSelected) -> None:
        self.action_open()

    @on(DataTable.HeaderSelected)
    def _header(self, event: DataTable.HeaderSelected) -> None:
        col = next((c for c in self.table.cols if c.key == event.column_key.value), None)
        if col is None or col.sort_key is None:
            return
        if col.sort_key == self.sort:
            self.descending = not self.descending
        else:
            self.sort, self.descending = col.sort_key, SORT_DESCENDING[col.sort_key]
        self.reload(0, "first")

    # ------------------------------------------------------------------ actions

    def current_window(self) -> svc.WindowView | None:
        key = self.table.current_key() if self.is_mounted else None
        return self.page.get(key) if key else None

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        state = self.window_action_state(action)
        if state is not None:
            return state
        if action == "clear_filter":
            return bool(self.text or self.status) or self.query_one("#filter", Input).display
        return True

    def action_open(self) -> None:
        w = self.current_window()
        if w is not None:
            from .window_detail import WindowDetailScreen

            self.app.push_screen(WindowDetailScreen(w.id))

    def action_new(self) -> None:
        refusal = not_allowed(self.session, "manage_windows")
        if refusal:
            self.explain(refusal)
            return
        from .window_form import WindowFormScreen

        self.app.push_screen(WindowFormScreen("create"), self._saved)

    def open_form(self, mode: str, window: svc.WindowView) -> None:
        from .window_form import WindowFormScreen

        self.app.push_screen(WindowFormScreen(mode, window), self._saved)

    def open_delete(self, window: svc.WindowView, correction: bool) -> None:
        from .window_delete import DeleteWindowScreen

        self.app.push_screen(DeleteWindowScreen(window, correction=correction), self._deleted)

    def _saved(self, result: svc.SaveResult | None) -> None:
        if result is not None:
            self._select = str(result.window.id)  # show the saved window (if on this page)
            self.reload()

    def _deleted(self, result: svc.DeleteResult | None) -> None:
        if result is not None:
            self.reload()

    def action_reload(self) -> None:
        self.reload()

    def action_filter(self) -> None:
        box = self.query_one("#filter", Input)
        box.display = True
        box.focus()
        self.refresh_bindings()

    def action_clear_filter(self) -> None:
        box = self.query_one("#filter", Input)
        changed = bool(self.text or self.status)
        self.text, self.status = "", None
        box.value = ""
        box.display = False
        self.table.focus()
        self.refresh_bindings()
        if changed:
            self.reload(0, "first")

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        if self._debounce is not None:
            self._debounce.stop()
        self._debounce = self.set_timer(0.25, lambda: self._apply_filter(event.value))

    def _apply_filter(self, value: str) -> None:
        if value.strip() != self.text:
            self.text = value.strip()
            self.reload(0, "first")

    @on(Input.Submitted, "#filter")
    def _filter_submitted(self, event: Input.Submitted) -> None:
        if self._debounce is not None:
            self._debounce.stop()
        self._apply_filter(event.value)
        if not self.text:
            event.input.display = False
        self.table.focus()

    def action_cycle_status(self) -> None:
        self.status = STATUS_CYCLE[(STATUS_CYCLE.index(self.status) + 1) % len(STATUS_CYCLE)]
        self.reload(0, "first")
        self.refresh_bindings()

    def action_cycle_sort(self) -> None:
        keys = list(SORT_LABELS)
        self.sort = keys[(keys.index(self.sort) + 1) % len(keys)]
        self.descending = SORT_DESCENDING[self.sort]
        self.reload(0, "first")

    def action_reverse_sort(self) -> None:
        self.descending = not self.descending
        self.reload(0, "first")

    def palette_commands(self) -> Iterable[SystemCommand]:
        yield SystemCommand("New maintenance window", "Schedule a window (n)", self.action_new)
        yield SystemCommand("Filter windows", "Text in title, description or creator (/)", self.action_filter)
        for status in STATUS_CYCLE:
            label = render.STATUS_WORD[status] if status else "all"

            def show(status: str | None = status) -> None:
                self.status = status
                self.reload(0, "first")

            yield SystemCommand(f"Show {label} windows", "Status filter (f cycles)", show)
        for key, label in SORT_LABELS.items():

            def sort(key: str = key) -> None:
                self.sort, self.descending = key, SORT_DESCENDING[key]
                self.reload(0, "first")

            yield SystemCommand(f"Sort windows by {label}", "s cycles, S reverses", sort)
