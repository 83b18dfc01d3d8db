"""Reservations section: the paged list, filtered by status, node and project in SQL."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from nodedesk.core.context import ServiceContext
from nodedesk.core.errors import NodedeskError
from nodedesk.core.services import inventory, projects, users
from nodedesk.core.services import reservations as svc
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
from .reservation_actions import RESERVATION_ACTION_BINDINGS, ReservationActionsMixin, may_request
from .window_form import NameListSuggester

SORT_LABELS = {
    "start": "start",
    "end": "end",
    "node": "node",
    "project": "project",
    "status": "status",
    "id": "id",
}
SORT_DESCENDING = {"start": True, "end": True, "node": False, "project": False, "status": False, "id": True}
STATUS_CYCLE: list[str | None] = [None, *svc.STATUSES]
WIDE = 136


@dataclass(frozen=True)
class Names:
    """Node and project names for the filter and form suggestions (loaded in a worker)."""

    nodes: list[str]
    rentable: list[str]
    projects: list[str]
    active_projects: list[str]
    users: list[str]  # active users (who a reservation may be for)


def load_names(ctx: ServiceContext) -> Names:
    nodes = inventory.list_nodes(ctx)
    projs = projects.list_projects(ctx)
    return Names(
        [n.name for n in nodes],
        [n.name for n in nodes if n.rentable],
        [p.title for p in projs],
        [p.title for p in projs if p.status == "active"],
        [u.username for u in users.list_users(ctx) if u.active],
    )


class ReservationsScreen(ReservationActionsMixin, NodedeskScreen):
    SECTION = "reservations"
    HELP_TOPIC = "reservations"
    REFRESH_SECONDS = 30.0

    BINDINGS = [
        Binding("n", "new", "New", tooltip="Request or record a reservation"),
        *RESERVATION_ACTION_BINDINGS,
        Binding("slash", "filter", "Filter", key_display="/", tooltip="Filter by node and project"),
        Binding(
            "f",
            "cycle_status",
            "Status",
            tooltip="Status filter: all → pending → approved → declined → cancelled",
        ),
        Binding(
            "u", "toggle_current", "Current", show=False, tooltip="Only reservations not over yet (on/off)"
        ),
        Binding(
            "s",
            "cycle_sort",
            "Sort",
            show=False,
            tooltip="Sort by start, end, node, project, status or number",
        ),
        Binding("S", "reverse_sort", "Reverse sort", show=False, key_display="S"),
        Binding(
            "r", "reload", "Reload", show=False, tooltip="Reload now (the list also refreshes every 30 s)"
        ),
        Binding("escape", "clear_filter", "Clear filter"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.status: str | None = None
        self.node = ""
        self.project = ""
        self.current_only = False
        self.sort = "start"
        self.descending = True
        self.page: dict[str, svc.ReservationView] = {}
        self.names = Names([], [], [], [], [])
        self.node_suggester = NameListSuggester()
        self.project_suggester = NameListSuggester()
        self.problem = ""  # why the last load failed (e.g. an unknown node in the filter)
        self._debounce: Timer | None = None
        self._compact: bool | None = None
        self._loaded = False
        self._select: str | None = None

    # ------------------------------------------------------------------ layout

    def compose_body(self) -> ComposeResult:
        with Vertical(id="reservations-body", classes="list-body"):
            with Horizontal(id="filters"):
                yield Static("Node", classes="filter-label")
                yield Input(
                    placeholder="any node", id="filter-node", suggester=self.node_suggester, compact=True
                )
                yield Static("Project", classes="filter-label")
                yield Input(
                    placeholder="any project",
                    id="filter-project",
                    suggester=self.project_suggester,
                    compact=True,
                )
            yield Static(id="list-status")
            yield PagedTable(id="reservations-table")
            yield Static(id="preview")

    def on_mount(self) -> None:
        self.query_one("#filters").display = False
        self.table.focus()
        self._set_columns()
        self.reload()
        self.db(load_names, self._names_loaded, on_error=lambda exc: None, group="names")
        self.set_interval(self.REFRESH_SECONDS, self.reload)

    def _names_loaded(self, names: Names) -> None:
        self.names = names
        self.node_suggester.names = names.nodes
        self.project_suggester.names = names.projects

    def on_screen_resume(self) -> None:
        if self._loaded:
            self.reload()

    def on_resize(self) -> None:
        self._set_columns()

    @property
    def table(self) -> PagedTable:
        return self.query_one("#reservations-table", PagedTable)

    def _set_columns(self) -> None:
        compact = self.size.width < WIDE
        if compact == self._compact:
            return
        self._compact = compact
        when = 12 if compact else 16
        self.table.set_columns(
            [
                Col("id", "#", 4, sort_key="id"),
                Col("status", "Status", 11, sort_key="status"),
                Col("node", "Node", 9, sort_key="node"),
                Col("project", "Project", None, min_width=14, sort_key="project"),
                Col("start", "Start", when, sort_key="start"),
                Col("end", "End", when, sort_key="end"),
                Col("hours", "Hours", 7, essential=False),
                Col("downtime", "Downtime", 9, essential=False),
                Col("for", "For", 10, essential=False),
            ]
        )
        if self.page:
            self._refill()

    # ------------------------------------------------------------------ loading

    def reservation_query(self, offset: int) -> svc.ReservationQuery:
        return svc.ReservationQuery(
            status=self.status,
            node=self.node or None,
            project=self.project or None,
            start_from=self.session.now() if self.current_only else None,
            sort=self.sort,
            descending=self.descending,
            offset=offset,
            limit=self.table.page_size,
        )

    def reload(self, offset: int | None = None, cursor: str = "keep") -> None:
        query = self.reservation_query(self.table.page_offset if offset is None else offset)
        self.db(
            lambda ctx: svc.list_reservations(ctx, query),
            lambda page: self._show(page, cursor),
            on_error=self._load_failed,
            group="list",
            exclusive=True,
        )

    def _load_failed(self, exc: NodedeskError) -> None:
        self.table.request_failed()
        if exc.field in ("node", "project"):  # a filter naming nothing: say so in the status line
            self.problem = str(exc)
            self.page = {}
            self.table.show_page([], 0, 0, "first")
            self._update_status()
            self._update_preview()
            return
        self.refused(exc, "Could not load reservations")

    def _show(self, page: svc.ReservationPage, cursor: str) -> None:
        if page.items == [] and page.total and page.offset >= page.total:
            self.reload(self.table.last_offset if page.total else 0, "last")
            return
        self._loaded = True
        self.problem = ""
        self.page = {str(r.id): r for r in page.items}
        self.table.show_page(self._rows(page.items), page.total, page.offset, cursor)  # type: ignore[arg-type]
        if self._select is not None:
            keys = [str(r.id) for r in page.items]
            if self._select in keys:
                self.table.move_cursor(row=keys.index(self._select))
            self._select = None
        self._update_status()
        self._update_preview()
        self.refresh_bindings()

    def _refill(self) -> None:
        t = self.table
        t.show_page(self._rows(list(self.page.values())), t.page_total, t.page_offset)

    def _rows(self, items: list[svc.ReservationView]) -> list[Row]:
        tz, now, compact = self.session.tz, self.session.now(), bool(self._compact)
        return [
            Row(
                str(r.id),
                [
                    Text(str(r.id), justify="right"),
                    rr.reservation_status(r.status),
                    render.text(r.node),
                    render.text(r.project),
                    render.when(r.start, tz, compact=compact, now=now),
                    render.when(r.end, tz, compact=compact, now=now),
                    Text(f"{r.hours:.2f}", justify="right"),
                    Text(f"−{r.downtime_hours:.2f} h", justify="right", style="yellow")
                    if r.downtime
                    else Text(""),
                    render.text(r.requested_for),
                ],
            )
            for r in items
        ]

    @on(PagedTable.PageRequest)
    def _page_request(self, event: PagedTable.PageRequest) -> None:
        self.reload(event.page_offset, event.cursor)

    # ------------------------------------------------------------------ status line and preview

    def _update_status(self) -> None:
        status = self.status or "all"
        arrow = "↓" if self.descending else "↑"
        parts: list[str | tuple[str, str]] = [
            ("Reservations ", "bold"),
            self.table.range_label(),
            "  ·  status: ",
            (status, "bold"),
        ]
        if self.current_only:
            parts += ["  ·  ", ("not over yet", "bold")]
        if self.node:
            parts += ["  ·  node: ", (render.one_line(self.node, max_len=20), "bold $accent")]
        if self.project:
            parts += ["  ·  project: ", (render.one_line(self.project, max_len=30), "bold $accent")]
        parts += ["  ·  sort: ", (f"{SORT_LABELS[self.sort]} {arrow}", "bold")]
        content = Content.assemble(*parts)
        if self.problem:
            content = Content.assemble((render.one_line(self.problem, max_len=100), "bold $error"))
        self.query_one("#list-status", Static).update(content)

    def _update_preview(self) -> None:
        r = self.current_reservation()
        preview = self.query_one("#preview", Static)
        if r is None:
            filtered = self.status or self.node or self.project or self.current_only
            empty = "No reservations match." if filtered else "No reservations yet."
            hint = "" if may_request(self.session) else " Press n to request or record one."
            preview.update(Content(empty + hint))
            return
        tz = self.session.tz
        first = Content.assemble(
            (f"#{r.id} ", "bold"),
            (render.one_line(r.node), "bold"),
            " · ",
            (render.one_line(r.project, max_len=50), "bold"),
            f" · for {render.one_line(r.requested_for)} · {r.blocks} block(s) · {rr.hours(r.hours)}",
        )
        if r.downtime:
            d = r.downtime[0]
            more = f" (+{len(r.downtime) - 1} more)" if len(r.downtime) > 1 else ""
            second = Content.styled(
                f"⚠ overlaps downtime, {rr.hours(r.downtime_hours)} not billed: "
                f"{'maintenance window' if d.source == 'maintenance' else 'outage'} #{d.id} "
                f"{render.one_line(d.title, max_len=40)}{more}",
                "$warning",
            )
        else:
            extra = " · policy waived" if r.policy_waived else ""
            note = f" · {render.one_line(r.notes, max_len=80)}" if r.notes else ""
            second = Content(f"{rr.span(r.start, r.end, tz)}{extra}{note}")
        preview.update(Content("\n").join([first, second]))

    @on(DataTable.RowHighlighted)
    def _highlighted(self) -> None:
        self._update_preview()
        self.refresh_bindings()

    @on(DataTable.RowSelected)
    def _selected(self) -> None:
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

    def current_reservation(self) -> svc.ReservationView | None:
        key = self.table.current_key() if self.is_mounted else None
        return self.page.get(key) if key else None

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        state = self.reservation_action_state(action, parameters)
        if state is not None:
            return state
        if action == "clear_filter":
            filtered = bool(self.status or self.node or self.project or self.current_only)
            return filtered or self.query_one("#filters").display
        return True

    def action_open(self) -> None:
        r = self.current_reservation()
        if r is not None:
            from .reservation_detail import ReservationDetailScreen

            self.app.push_screen(ReservationDetailScreen(r.id), self._changed)

    def action_new(self) -> None:
        refusal = may_request(self.session)
        if refusal:
            self.explain(refusal)
            return
        from .reservation_form import ReservationFormScreen

        self.app.push_screen(ReservationFormScreen(node=self.node, project=self.project), self._changed)

    def open_decision(self, what: str, reservation: svc.ReservationView) -> None:
        from .reservation_decide import DecideReservationScreen

        self.app.push_screen(DecideReservationScreen(what, reservation), self._changed)

    def _changed(self, result: svc.ReservationResult | None) -> None:
        if result is not None:
            self._select = str(result.reservation.id)
            self.reload()

    def action_reload(self) -> None:
        self.reload()

    def action_filter(self) -> None:
        self.query_one("#filters").display = True
        self.query_one("#filter-node", Input).focus()
        self.refresh_bindings()

    def action_clear_filter(self) -> None:
        changed = bool(self.status or self.node or self.project or self.current_only)
        self.status, self.node, self.project, self.current_only = None, "", "", False
        self.query_one("#filter-node", Input).value = ""
        self.query_one("#filter-project", Input).value = ""
        self.query_one("#filters").display = False
        self.table.focus()
        self.refresh_bindings()
        if changed or self.problem:
            self.reload(0, "first")

    def _known(self, value: str, names: list[str]) -> bool:
        return not value or value.lower() in {n.lower() for n in names}

    @on(Input.Changed, "#filter-node, #filter-project")
    def _filter_changed(self) -> None:
        """Apply as soon as both boxes hold a known name (or nothing); enter applies anything."""
        if self._debounce is not None:
            self._debounce.stop()
        node = self.query_one("#filter-node", Input).value.strip()
        project = self.query_one("#filter-project", Input).value.strip()
        if self._known(node, self.names.nodes) and self._known(project, self.names.projects):
            self._debounce = self.set_timer(0.25, self._apply_filter)

    def _apply_filter(self) -> None:
        node = self.query_one("#filter-node", Input).value.strip()
        project = self.query_one("#filter-project", Input).value.strip()
        if (node, project) != (self.node, self.project) or self.problem:
            self.node, self.project = node, project
            self.reload(0, "first")

    @on(Input.Submitted, "#filter-node, #filter-project")
    def _filter_submitted(self) -> None:
        if self._debounce is not None:
            self._debounce.stop()
        self._apply_filter()
        if not (self.node or self.project):
            self.query_one("#filters").display = False
        self.table.focus()
        self.refresh_bindings()

    def action_cycle_status(self) -> None:
        self.status = STATUS_CYCLE[(STATUS_CYCLE.index(self.status) + 1) % len(STATUS_CYCLE)]
        self.reload(0, "first")
        self.refresh_bindings()

    def set_status(self, status: str | None) -> None:
        self.status = status
        self.reload(0, "first")
        self.refresh_bindings()

    def action_toggle_current(self) -> None:
        self.current_only = not self.current_only
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
        yield SystemCommand("New reservation", "Request or record a reservation (n)", self.action_new)
        yield SystemCommand("Filter reservations", "By node and project (/)", self.action_filter)
        yield SystemCommand(
            "Reservations not over yet",
            "Toggle: hide reservations that have ended (u)",
            self.action_toggle_current,
        )
        for status in STATUS_CYCLE:
            label = status or "all"
            yield SystemCommand(
                f"Show {label} reservations", "Status filter (f cycles)", lambda s=status: self.set_status(s)
            )
        for key, label in SORT_LABELS.items():

            def sort(key: str = key) -> None:
                self.sort, self.descending = key, SORT_DESCENDING[key]
                self.reload(0, "first")

            yield SystemCommand(f"Sort reservations by {label}", "s cycles, S reverses", sort)
