"""Reservations section: the paged list, filtered by status, node and project in SQL."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from nodedesk.core.context import ServiceContext
from nodedesk.core.services.nodes import inventory
from nodedesk.core.services.rentals import bulk, projects
from nodedesk.core.services.rentals import reservations as svc
from nodedesk.core.services.site import users
from rich.text import Text
from textual.app import ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Horizontal
from textual.content import Content
from textual.widgets import Input, Static

from ...kit import render
from ...kit import rental_render as rr
from ...kit.access import may_request
from ...kit.bulk import BulkAction, BulkCall
from ...kit.form_parts import NameListSuggester
from ...kit.list_screen import (
    ListScreen,
    Part,
    clear_binding,
    cycle_bindings,
    filter_binding,
    mark_bindings,
    reload_binding,
    sort_bindings,
)
from ...kit.query import Cycle, ListQuery, Sort
from ...widgets.paged_table import Col
from .reservation_actions import RESERVATION_ACTION_BINDINGS, ReservationActionsMixin

SORTS = (
    Sort("start", "start", True),
    Sort("end", "end", True),
    Sort("node", "node"),
    Sort("project", "project"),
    Sort("status", "status"),
    Sort("id", "id", True),
)
SORT_LABELS = {s.key: s.label for s in SORTS}
SORT_DESCENDING = {s.key: s.descending for s in SORTS}
STATUS_CYCLE: list[str | None] = [None, *svc.STATUSES]
STATUS = Cycle(
    "status",
    "f",
    tuple(STATUS_CYCLE),
    "Status",
    tooltip="Status filter: all → pending → approved → declined → cancelled",
    show=True,
)
CURRENT = Cycle("current", "u", (False, True), "Current", tooltip="Only reservations not over yet (on/off)")
WIDE = 136


def _bulk_call(what: str) -> BulkCall:
    def call(
        ctx: ServiceContext, ids: list[int], reason: str, versions: Mapping[int, int] | None, preview: bool
    ) -> bulk.BulkResult:
        return bulk.reservations(ctx, what, ids, reason=reason, expected_versions=versions, preview=preview)

    return call


# What a key does on the marked reservations (the words of reservation_decide.py).
BULK = {
    "approve": BulkAction(
        "Approve",
        "approved",
        "reservation",
        "Each is checked as when approved one at a time (node rentable, project active, nothing "
        "overlapping, month not finalized). Approved reservations are billed.",
        _bulk_call("approve"),
        variant="success",
    ),
    "decline": BulkAction(
        "Decline",
        "declined",
        "reservation",
        "Declining is final and frees the slots. A reason is required (kept in the activity log).",
        _bulk_call("decline"),
        reason="required",
        variant="error",
    ),
    "cancel": BulkAction(
        "Cancel",
        "cancelled",
        "reservation",
        "Cancelling is final and frees the slots; approved ones are no longer billed.",
        _bulk_call("cancel"),
        variant="error",
    ),
}


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


class ReservationsScreen(ReservationActionsMixin, ListScreen):
    SECTION = "reservations"
    HELP_TOPIC = "reservations"
    REFRESH_SECONDS = 30.0
    LIST_TITLE = "Reservations"
    NOUN = "reservations"
    BODY_ID = "reservations-body"
    TABLE_ID = "reservations-table"
    FILTER_BOX = "#filters"
    FILTER_FIELDS = frozenset({"node", "project"})
    SORTS = SORTS
    CYCLES = (STATUS, CURRENT)
    PREVIEW = True
    MARKS = True

    BINDINGS = [
        Binding("n", "new", "New", tooltip="Request or record a reservation"),
        *RESERVATION_ACTION_BINDINGS,
        filter_binding("Filter by node and project"),
        *cycle_bindings([STATUS]),
        Binding("u", "toggle_current", "Current", show=False, tooltip=CURRENT.tooltip),
        *sort_bindings("Sort by start, end, node, project, status or number"),
        reload_binding("Reload now (the list also refreshes every 30 s)"),
        clear_binding(),
        *mark_bindings(),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.node = ""
        self.project = ""
        self.names = Names([], [], [], [], [])
        self.node_suggester = NameListSuggester()
        self.project_suggester = NameListSuggester()

    @property
    def status(self) -> str | None:
        return self.filters["status"]

    @property
    def current_only(self) -> bool:
        return bool(self.filters["current"])

    @property
    def compact(self) -> bool:
        return not self.exporting and self.size.width < WIDE

    # ------------------------------------------------------------------ filter row

    def compose_filter(self) -> ComposeResult:
        with Horizontal(id="filters"):
            yield Static("Node", classes="filter-label")
            yield Input(placeholder="any node", id="filter-node", suggester=self.node_suggester, compact=True)
            yield Static("Project", classes="filter-label")
            yield Input(
                placeholder="any project",
                id="filter-project",
                suggester=self.project_suggester,
                compact=True,
            )

    def _boxes(self) -> tuple[str, str]:
        node = self.query_one("#filter-node", Input).value.strip()
        project = self.query_one("#filter-project", Input).value.strip()
        return node, project

    def read_filter(self) -> bool:
        boxes = self._boxes()
        changed = boxes != (self.node, self.project)
        self.node, self.project = boxes
        return changed

    def reset_filter(self) -> None:
        self.node = self.project = ""
        self.query_one("#filter-node", Input).value = ""
        self.query_one("#filter-project", Input).value = ""

    def _known(self, value: str, names: list[str]) -> bool:
        return not value or value.lower() in {n.lower() for n in names}

    def filter_ready(self, box: Input) -> bool:
        """Apply as soon as both boxes hold a known name (or nothing); enter applies anything."""
        node, project = self._boxes()
        return self._known(node, self.names.nodes) and self._known(project, self.names.projects)

    @property
    def text_filtered(self) -> bool:
        return bool(self.node or self.project)

    def extra_filters(self) -> dict[str, Any]:
        start_from = self.session.now() if self.current_only else None
        return {"node": self.node, "project": self.project, "start_from": start_from}

    def on_mount(self) -> None:  # (Textual then runs ListScreen.on_mount too: no super() call)
        self.db(load_names, self._names_loaded, on_error=lambda exc: None, group="names")

    def _names_loaded(self, names: Names) -> None:
        self.names = names
        self.node_suggester.names = names.nodes
        self.project_suggester.names = names.projects

    # ------------------------------------------------------------------ the list

    def columns(self) -> list[Col]:
        when = self.time_width("start", "end", compact=self.compact)
        return [
            Col("id", "#", 4, sort_key="id"),
            Col("status", "Status", 11, sort_key="status"),
            Col("node", "Node", 9, sort_key="node"),
            Col("project", "Project", None, min_width=10, sort_key="project"),
            Col("start", "Start", when, sort_key="start"),
            Col("end", "End", when, sort_key="end"),
            Col("hours", "Hours", 7, essential=False),
            Col("downtime", "Downtime", 9, essential=False),
            Col("for", "For", 10, essential=False),
        ]

    def fetch(self, ctx: ServiceContext, query: ListQuery) -> svc.ReservationPage:
        q = svc.ReservationQuery(
            status=query.get("status"),
            node=query.get("node") or None,
            project=query.get("project") or None,
            start_from=query.get("start_from"),
            sort=query.sort or "start",
            descending=query.descending,
            offset=query.offset,
            limit=query.limit,
        )
        return svc.list_reservations(ctx, q)

    def cells(self, r: svc.ReservationView) -> Sequence[Any]:
        tz, now, compact = self.session.tz, self.session.now(), self.compact
        return [
            Text(str(r.id), justify="right"),
            r.status if self.exporting else rr.reservation_status(r.status),
            render.text(r.node),
            render.text(r.project),
            render.when(r.start, tz, compact=compact, now=now),
            render.when(r.end, tz, compact=compact, now=now),
            Text(f"{r.hours:.2f}", justify="right"),
            Text(f"−{r.downtime_hours:.2f} h", justify="right", style="yellow") if r.downtime else Text(""),
            render.text(r.requested_for),
        ]

    def status_parts(self) -> list[Part]:
        arrow = "↓" if self.descending else "↑"
        parts: list[Part] = [
            ("Reservations ", "bold"),
            self.table.range_label(),
            "  ·  status: ",
            (self.status or "all", "bold"),
        ]
        if self.current_only:
            parts += ["  ·  ", ("not over yet", "bold")]
        if self.node:
            parts += ["  ·  node: ", (render.one_line(self.node, max_len=20), "bold $accent")]
        if self.project:
            parts += ["  ·  project: ", (render.one_line(self.project, max_len=30), "bold $accent")]
        parts += ["  ·  sort: ", (f"{SORT_LABELS[self.sort or 'start']} {arrow}", "bold")]
        return parts

    def empty_text(self) -> str:
        empty = "No reservations match." if self.filtered else "No reservations yet."
        hint = "" if may_request(self.session) else " Press n to request or record one."
        return empty + hint

    def preview(self, r: svc.ReservationView | None) -> Content:
        if r is None:
            return Content(self.empty_text())
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
        return Content("\n").join([first, second])

    def open(self, r: svc.ReservationView) -> None:
        from .reservation_detail import ReservationDetailScreen

        self.app.push_screen(ReservationDetailScreen(r.id), self._changed)

    # ------------------------------------------------------------------ actions

    def current_reservation(self) -> svc.ReservationView | None:
        return self.current_item()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        state = self.reservation_action_state(action, parameters)
        if state is not None:
            return state
        return super().check_action(action, parameters)

    def action_open(self) -> None:
        r = self.current_reservation()
        if r is not None:
            self.open(r)

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

    def marked_ids(self) -> list[int]:
        return [int(k) for k in self.marked_keys()]

    def open_bulk(self, what: str, ids: list[int]) -> None:
        self.confirm_on_marks(BULK[what], ids)

    def _changed(self, result: svc.ReservationResult | None) -> None:
        if result is not None:
            self.select_key(str(result.reservation.id))
            self.reload()

    def set_status(self, status: str | None) -> None:
        self.set_filter("status", status)

    def action_toggle_current(self) -> None:
        self.cycle("current")

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
                self.set_sort(key)

            yield SystemCommand(f"Sort reservations by {label}", "s cycles, S reverses", sort)
