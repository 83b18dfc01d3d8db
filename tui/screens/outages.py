"""Outages section: the paged list (newest first) with status word, glyph and colour."""

from __future__ import annotations

from collections.abc import Iterable

from nodedesk.core import timeutil
from nodedesk.core.context import ServiceContext
from nodedesk.core.errors import NodedeskError
from nodedesk.core.services import inventory
from nodedesk.core.services import outages as svc
from rich.text import Text
from textual import on
from textual.app import ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.timer import Timer
from textual.widgets import DataTable, Input, Static

from .. import render
from .. import rental_render as rr
from ..widgets.paged_table import Col, PagedTable, Row
from .base import NodedeskScreen
from .outage_actions import OUTAGE_ACTION_BINDINGS, OutageActionsMixin
from .window_actions import not_allowed
from .window_form import NameListSuggester

# The status filter: everything, the open ones, then each status.
STATUS_CYCLE: list[str | None] = [None, "open", *svc.STATUSES]
WIDE = 136


def load_node_names(ctx: ServiceContext) -> list[str]:
    return [n.name for n in inventory.list_nodes(ctx)]


def etr_text(o: svc.OutageView, tz: str, *, compact: bool, now) -> Text:  # type: ignore[no-untyped-def]
    """The ETR cell: the time, flagged when it has passed on an open outage."""
    if o.etr is None:
        return Text("—" if o.open else "", style="dim")
    when = render.when(o.etr, tz, compact=compact, now=now)
    if o.etr_overdue:
        return Text(f"⚠ {when}", style="bold red", no_wrap=True)
    return Text(when, no_wrap=True)


class OutagesScreen(OutageActionsMixin, NodedeskScreen):
    SECTION = "outages"
    HELP_TOPIC = "outages"
    REFRESH_SECONDS = 30.0  # open outages grow with the clock; others change things too

    BINDINGS = [
        Binding("n", "new", "New", tooltip="Open (record) an outage"),
        *OUTAGE_ACTION_BINDINGS,
        Binding("slash", "filter", "Filter", key_display="/", tooltip="Filter by affected node"),
        Binding(
            "f",
            "cycle_status",
            "Status",
            tooltip="Status filter: all → open → each status from reported to resolved",
        ),
        Binding("ctrl+r", "reload", "Reload", show=False, tooltip="Reload now (also every 30 s)"),
        Binding("escape", "clear_filter", "Clear filter"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.status: str | None = None
        self.node = ""
        self.page: dict[str, svc.OutageView] = {}
        self.node_names: list[str] = []
        self.node_suggester = NameListSuggester()
        self.problem = ""
        self._debounce: Timer | None = None
        self._compact: bool | None = None
        self._loaded = False
        self._select: str | None = None

    # ------------------------------------------------------------------ layout

    def compose_body(self) -> ComposeResult:
        with Vertical(id="outages-body", classes="list-body"):
            with Horizontal(id="filters"):
                yield Static("Node", classes="filter-label")
                yield Input(
                    placeholder="any node (enter applies)",
                    id="filter-node",
                    suggester=self.node_suggester,
                    compact=True,
                )
            yield Static(id="list-status")
            yield PagedTable(id="outages-table")
            yield Static(id="preview")

    def on_mount(self) -> None:
        self.query_one("#filters").display = False
        self.table.focus()
        self._set_columns()
        self.reload()
        self.db(load_node_names, self._names_loaded, on_error=lambda exc: None, group="names")
        self.set_interval(self.REFRESH_SECONDS, self.reload)

    def _names_loaded(self, names: list[str]) -> None:
        self.node_names = names
        self.node_suggester.names = names

    def on_screen_resume(self) -> None:
        if self._loaded:
            self.reload()

    def on_resize(self) -> None:
        self._set_columns()

    @property
    def table(self) -> PagedTable:
        return self.query_one("#outages-table", PagedTable)

    def _set_columns(self) -> None:
        compact = self.size.width < WIDE
        if compact == self._compact:
            return
        self._compact = compact
        when = 12 if compact else 16
        self.table.set_columns(
            [
                Col("id", "#", 4),
                Col("status", "Status", 15),
                Col("title", "Title", None, min_width=16),
                Col("start", "Start", when),
                Col("end", "End", when),
                Col("duration", "Duration", 8, essential=False),
                Col("etr", "ETR", when + 2, essential=False),
                Col("credit", "Credit", 6, essential=False),
                Col("nodes", "Nodes", 18, essential=False),
            ]
        )
        if self.page:
            self._refill()

    # ------------------------------------------------------------------ loading

    def outage_query(self, offset: int) -> svc.OutageQuery:
        return svc.OutageQuery(
            open_only=self.status == "open",
            status=self.status if self.status != "open" else None,
            node=self.node or None,
            offset=offset,
            limit=self.table.page_size,
        )

    def reload(self, offset: int | None = None, cursor: str = "keep") -> None:
        query = self.outage_query(self.table.page_offset if offset is None else offset)
        self.db(
            lambda ctx: svc.list_outages(ctx, query),
            lambda page: self._show(page, cursor),
            on_error=self._load_failed,
            group="list",
            exclusive=True,
        )

    def _load_failed(self, exc: NodedeskError) -> None:
        self.table.request_failed()
        if exc.field == "node":
            self.problem = str(exc)
            self.page = {}
            self.table.show_page([], 0, 0, "first")
            self._update_status()
            self._update_preview()
            return
        self.refused(exc, "Could not load outages")

    def _show(self, page: svc.OutagePage, cursor: str) -> None:
        if page.items == [] and page.total and page.offset >= page.total:
            self.reload(self.table.last_offset if page.total else 0, "last")
            return
        self._loaded = True
        self.problem = ""
        self.page = {str(o.id): o for o in page.items}
        self.table.show_page(self._rows(page.items), page.total, page.offset, cursor)  # type: ignore[arg-type]
        if self._select is not None:
            keys = [str(o.id) for o in page.items]
            if self._select in keys:
                self.table.move_cursor(row=keys.index(self._select))
            self._select = None
        self._update_status()
        self._update_preview()
        self.refresh_bindings()

    def _refill(self) -> None:
        t = self.table
        t.show_page(self._rows(list(self.page.values())), t.page_total, t.page_offset)

    def _rows(self, items: list[svc.OutageView]) -> list[Row]:
        tz, now, compact = self.session.tz, self.session.now(), bool(self._compact)
        return [
            Row(
                str(o.id),
                [
                    Text(str(o.id), justify="right"),
                    rr.outage_status(o.status),
                    render.text(o.title),
                    render.when(o.start, tz, compact=compact, now=now),
                    render.when(o.end, tz, compact=compact, now=now)
                    if o.end is not None
                    else Text("open", style="bold"),
                    Text(timeutil.format_duration(o.duration), justify="right"),
                    etr_text(o, tz, compact=compact, now=now),
                    Text("yes" if o.credit else "no", style="" if o.credit else "bold"),
                    render.text(", ".join(o.nodes)),
                ],
            )
            for o in items
        ]

    @on(PagedTable.PageRequest)
    def _page_request(self, event: PagedTable.PageRequest) -> None:
        self.reload(event.page_offset, event.cursor)

    # ------------------------------------------------------------------ status line and preview

    def _update_status(self) -> None:
        parts: list[str | tuple[str, str]] = [
            ("Outages ", "bold"),
            self.table.range_label(),
            "  ·  status: ",
            (self.status or "all", "bold"),
        ]
        if self.node:
            parts += ["  ·  node: ", (render.one_line(self.node, max_len=20), "bold $accent")]
        parts.append("  ·  newest first")
        content = Content.assemble(*parts)
        if self.problem:
            content = Content.styled(render.one_line(self.problem, max_len=100), "bold $error")
        self.query_one("#list-status", Static).update(content)

    def _update_preview(self) -> None:
        o = self.current_outage()
        preview = self.query_one("#preview", Static)
        if o is None:
            empty = "No outages match." if (self.status or self.node) else "No outages recorded."
            hint = "" if not_allowed(self.session, "manage_outages") else " Press n to open one."
            preview.update(Content(empty + hint))
            return
        tz = self.session.tz
        state = "open for" if o.open else "lasted"
        first = Content.assemble(
            (f"#{o.id} ", "bold"),
            (render.one_line(o.title, max_len=50), "bold"),
            f"  ·  {state} {timeutil.format_duration(o.duration)}  ·  "
            f"{render.one_line(', '.join(o.nodes), max_len=40)}",
        )
        bits = []
        if o.open and o.etr is not None:
            overdue = " (overdue)" if o.etr_overdue else ""
            bits.append(f"ETR {rr.day_time(o.etr, tz)}{overdue}")
        bits.append(
            "credited: renters are not billed for it" if o.credit else "not credited: billed as usual"
        )
        if o.description:
            bits.append(render.one_line(o.description, max_len=120))
        preview.update(Content("\n").join([first, Content("  ·  ".join(bits))]))

    @on(DataTable.RowHighlighted)
    def _highlighted(self) -> None:
        self._update_preview()
        self.refresh_bindings()

    @on(DataTable.RowSelected)
    def _selected(self) -> None:
        self.action_open()

    # ------------------------------------------------------------------ actions

    def current_outage(self) -> svc.OutageView | None:
        key = self.table.current_key() if self.is_mounted else None
        return self.page.get(key) if key else None

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        state = self.outage_action_state(action, parameters)
        if state is not None:
            return state
        if action == "clear_filter":
            return bool(self.status or self.node) or self.query_one("#filters").display
        return True

    def action_open(self) -> None:
        o = self.current_outage()
        if o is not None:
            from .outage_detail import OutageDetailScreen

            self.app.push_screen(OutageDetailScreen(o.id), self._changed)

    def action_new(self) -> None:
        refusal = not_allowed(self.session, "manage_outages")
        if refusal:
            self.explain(refusal)
            return
        self.open_form("create", None)

    def open_form(self, mode: str, outage: svc.OutageView | None) -> None:
        from .outage_form import OutageFormScreen

        self.app.push_screen(OutageFormScreen(mode, outage), self._changed)

    def _changed(self, result: svc.OutageResult | None) -> None:
        if result is not None:
            self._select = str(result.outage.id)
            self.reload()

    def action_reload(self) -> None:
        self.reload()

    def action_filter(self) -> None:
        self.query_one("#filters").display = True
        self.query_one("#filter-node", Input).focus()
        self.refresh_bindings()

    def action_clear_filter(self) -> None:
        changed = bool(self.status or self.node)
        self.status, self.node = None, ""
        self.query_one("#filter-node", Input).value = ""
        self.query_one("#filters").display = False
        self.table.focus()
        self.refresh_bindings()
        if changed or self.problem:
            self.reload(0, "first")

    @on(Input.Changed, "#filter-node")
    def _filter_changed(self, event: Input.Changed) -> None:
        """Apply as soon as the box holds a known node name (or nothing); enter applies anything."""
        if self._debounce is not None:
            self._debounce.stop()
        value = event.value.strip()
        if not value or value in self.node_names:
            self._debounce = self.set_timer(0.25, self._apply_filter)

    def _apply_filter(self) -> None:
        node = self.query_one("#filter-node", Input).value.strip()
        if node != self.node or self.problem:
            self.node = node
            self.reload(0, "first")

    @on(Input.Submitted, "#filter-node")
    def _filter_submitted(self) -> None:
        if self._debounce is not None:
            self._debounce.stop()
        self._apply_filter()
        if not self.node:
            self.query_one("#filters").display = False
        self.table.focus()
        self.refresh_bindings()

    def set_status(self, status: str | None) -> None:
        self.status = status
        self.reload(0, "first")
        self.refresh_bindings()

    def action_cycle_status(self) -> None:
        self.set_status(STATUS_CYCLE[(STATUS_CYCLE.index(self.status) + 1) % len(STATUS_CYCLE)])

    def palette_commands(self) -> Iterable[SystemCommand]:
        yield SystemCommand("Open an outage", "Record unplanned downtime of nodes (n)", self.action_new)
        yield SystemCommand("Filter outages by node", "Only outages affecting a node (/)", self.action_filter)
        for status in STATUS_CYCLE:
            label = status or "all"
            yield SystemCommand(
                f"Show {label} outages", "Status filter (f cycles)", lambda s=status: self.set_status(s)
            )
