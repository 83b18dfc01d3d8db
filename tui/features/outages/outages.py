"""Outages section: the paged list (newest first) with status word, glyph and colour."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from nodedesk.core import timeutil
from nodedesk.core.context import ServiceContext
from nodedesk.core.services.downtime import outages as svc
from nodedesk.core.services.nodes import inventory
from rich.text import Text
from textual.app import ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Horizontal
from textual.content import Content
from textual.widgets import Input, Static

from ...kit import render
from ...kit import rental_render as rr
from ...kit.list_screen import ListScreen, Part, clear_binding, cycle_bindings, filter_binding
from ...kit.query import Cycle, ListQuery
from ...widgets.paged_table import Col
from ..windows.window_actions import not_allowed
from ..windows.window_form import NameListSuggester
from .outage_actions import OUTAGE_ACTION_BINDINGS, OutageActionsMixin

# The status filter: everything, the open ones, then each status.
STATUS_CYCLE: list[str | None] = [None, "open", *svc.STATUSES]
STATUS = Cycle(
    "status",
    "f",
    tuple(STATUS_CYCLE),
    "Status",
    tooltip="Status filter: all → open → each status from reported to resolved",
    show=True,
)
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


class OutagesScreen(OutageActionsMixin, ListScreen):
    SECTION = "outages"
    HELP_TOPIC = "outages"
    REFRESH_SECONDS = 30.0  # open outages grow with the clock; others change things too
    LIST_TITLE = "Outages"
    NOUN = "outages"
    BODY_ID = "outages-body"
    TABLE_ID = "outages-table"
    FILTER_BOX = "#filters"
    FILTER_FIELDS = frozenset({"node"})
    CYCLES = (STATUS,)
    PREVIEW = True

    BINDINGS = [
        Binding("n", "new", "New", tooltip="Open (record) an outage"),
        *OUTAGE_ACTION_BINDINGS,
        filter_binding("Filter by affected node"),
        *cycle_bindings([STATUS]),
        # r resolves an outage here (outage_actions.py): reload is ctrl+r
        Binding("ctrl+r", "reload", "Reload", show=False, tooltip="Reload now (also every 30 s)"),
        clear_binding(),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.node = ""
        self.node_names: list[str] = []
        self.node_suggester = NameListSuggester()

    @property
    def status(self) -> str | None:
        return self.filters["status"]  # type: ignore[no-any-return]

    @property
    def compact(self) -> bool:
        return self.size.width < WIDE

    # ------------------------------------------------------------------ filter row

    def compose_filter(self) -> ComposeResult:
        with Horizontal(id="filters"):
            yield Static("Node", classes="filter-label")
            yield Input(
                placeholder="any node (enter applies)",
                id="filter-node",
                suggester=self.node_suggester,
                compact=True,
            )

    def read_filter(self) -> bool:
        node = self.query_one("#filter-node", Input).value.strip()
        changed, self.node = node != self.node, node
        return changed

    def reset_filter(self) -> None:
        self.node = ""
        self.query_one("#filter-node", Input).value = ""

    def filter_ready(self, box: Input) -> bool:
        """Apply as soon as the box holds a known node name (or nothing); enter applies anything."""
        value = box.value.strip()
        return not value or value in self.node_names

    @property
    def text_filtered(self) -> bool:
        return bool(self.node)

    def extra_filters(self) -> dict[str, Any]:
        return {"node": self.node}

    def on_mount(self) -> None:  # (Textual then runs ListScreen.on_mount too: no super() call)
        self.db(load_node_names, self._names_loaded, on_error=lambda exc: None, group="names")

    def _names_loaded(self, names: list[str]) -> None:
        self.node_names = names
        self.node_suggester.names = names

    # ------------------------------------------------------------------ the list

    def columns(self) -> list[Col]:
        when = self.time_width("start", "end", compact=self.compact)
        return [
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

    def fetch(self, ctx: ServiceContext, query: ListQuery) -> svc.OutagePage:
        status = query.get("status")
        q = svc.OutageQuery(
            open_only=status == "open",
            status=status if status != "open" else None,
            node=query.get("node") or None,
            offset=query.offset,
            limit=query.limit,
        )
        return svc.list_outages(ctx, q)

    def cells(self, o: svc.OutageView) -> Sequence[Any]:
        tz, now, compact = self.session.tz, self.session.now(), self.compact
        return [
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
        ]

    def status_parts(self) -> list[Part]:
        parts: list[Part] = [
            ("Outages ", "bold"),
            self.table.range_label(),
            "  ·  status: ",
            (self.status or "all", "bold"),
        ]
        if self.node:
            parts += ["  ·  node: ", (render.one_line(self.node, max_len=20), "bold $accent")]
        parts.append("  ·  newest first")
        return parts

    def empty_text(self) -> str:
        empty = "No outages match." if self.filtered else "No outages recorded."
        hint = "" if not_allowed(self.session, "manage_outages") else " Press n to open one."
        return empty + hint

    def preview(self, o: svc.OutageView | None) -> Content:
        if o is None:
            return Content(self.empty_text())
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
        return Content("\n").join([first, Content("  ·  ".join(bits))])

    def open(self, o: svc.OutageView) -> None:
        from .outage_detail import OutageDetailScreen

        self.app.push_screen(OutageDetailScreen(o.id), self._changed)

    # ------------------------------------------------------------------ actions

    def current_outage(self) -> svc.OutageView | None:
        return self.current_item()  # type: ignore[no-any-return]

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        state = self.outage_action_state(action, parameters)
        if state is not None:
            return state
        return super().check_action(action, parameters)

    def action_open(self) -> None:
        o = self.current_outage()
        if o is not None:
            self.open(o)

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
            self.select_key(str(result.outage.id))
            self.reload()

    def set_status(self, status: str | None) -> None:
        self.set_filter("status", status)

    def palette_commands(self) -> Iterable[SystemCommand]:
        yield SystemCommand("Open an outage", "Record unplanned downtime of nodes (n)", self.action_new)
        yield SystemCommand("Filter outages by node", "Only outages affecting a node (/)", self.action_filter)
        for status in STATUS_CYCLE:
            label = status or "all"
            yield SystemCommand(
                f"Show {label} outages", "Status filter (f cycles)", lambda s=status: self.set_status(s)
            )
