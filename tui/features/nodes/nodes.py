"""Nodes section: every node with what it is doing now, filtered by text, type and state, and the
last Slurm sync under the table when one has run (help/nodes.md)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from nodedesk.core import timeutil
from nodedesk.core.context import ServiceContext
from nodedesk.core.errors import NodedeskError
from nodedesk.core.services.nodes import inventory, node_status
from nodedesk.core.services.nodes import node_lifecycle as svc
from nodedesk.core.slurm import status as slurm_status
from textual.app import ComposeResult, SystemCommand
from textual.binding import Binding
from textual.content import Content
from textual.widgets import Static

from ...kit import navigation, render
from ...kit.access import not_allowed
from ...kit.form_parts import set_text
from ...kit.list_screen import ListScreen, Part, clear_binding, cycle_bindings, filter_binding, reload_binding
from ...kit.query import Cycle, ListQuery
from ...widgets.paged_table import Col
from .node_actions import ACTIONS, NodeActionsMixin, action_bindings
from .node_render import rentable_text, slurm_line, state_text

STATE = Cycle(
    "state",
    "f",
    (None, *node_status.STATES),
    "State",
    tooltip="State now: all, outage, maintenance, rented, free",
    labels={s: f"{node_status.STATE_GLYPHS[s]} {s}" for s in node_status.STATES},
)
RETIRED = Cycle(
    "retired",
    "i",
    (False, True),
    "Retired",
    tooltip="Include retired nodes (on/off)",
    labels={False: "hidden", True: "shown"},
)


EMERGENCY_TIP = "Emergency window on this node: maintenance from now on, notices at once"


class NodesScreen(NodeActionsMixin, ListScreen):
    CSS_PATH = "nodes.tcss"

    SECTION = "nodes"
    HELP_TOPIC = "nodes"
    REFRESH_SECONDS = 30.0  # states follow the clock; other admins change things too
    LIST_TITLE = "Nodes"
    NOUN = "nodes"
    BODY_ID = "nodes-body"
    TABLE_ID = "nodes-table"
    FILTER_PLACEHOLDER = "filter: text in the node's name or description"
    CYCLES = (STATE, RETIRED)
    PREVIEW = True

    BINDINGS = [
        *action_bindings("new_node", "edit_node", "toggle_rentable", "retire_node", "reinstate_node"),
        Binding("exclamation_mark", "emergency", "Emergency", key_display="!", tooltip=EMERGENCY_TIP),
        filter_binding("Filter by name or description"),
        *cycle_bindings([STATE]),
        Binding("t", "cycle_type", "Type", show=False, tooltip="Node type: all, then each type in turn"),
        *cycle_bindings([RETIRED]),
        reload_binding("Reload (also every 30 s)"),
        clear_binding(),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.node_type: str | None = None
        self.types: list[str] = []
        self.slurm: slurm_status.SyncSummary | None = None

    # ------------------------------------------------------------------ layout and filters

    def compose_body(self) -> ComposeResult:
        yield from super().compose_body()
        yield Static(id="nodes-slurm")

    def on_mount(self) -> None:  # (Textual then runs ListScreen.on_mount too: no super() call)
        set_text(self, "#nodes-slurm", "")
        self.db(
            lambda ctx: [t.name for t in inventory.list_node_types(ctx)],
            self._types_loaded,
            on_error=lambda exc: None,
            group="types",
        )

    def _types_loaded(self, names: list[str]) -> None:
        self.types = names

    @property
    def text_filtered(self) -> bool:
        return bool(self.text or self.node_type)

    def reset_filter(self) -> None:
        super().reset_filter()
        self.node_type = None

    def action_clear_filter(self) -> None:
        if self.node_type and self.filter_box is not None and not self.filter_box.display:
            self.node_type = None  # (the base resets the box only when there is one)
        super().action_clear_filter()

    def extra_filters(self) -> dict[str, Any]:
        return {"type": self.node_type}

    def action_cycle_type(self) -> None:
        values: list[str | None] = [None, *self.types]
        index = values.index(self.node_type) if self.node_type in values else -1
        self.node_type = values[(index + 1) % len(values)]
        self.requery()

    def status_parts(self) -> list[Part]:
        parts: list[Part] = [("Nodes ", "bold"), self.table.range_label()]
        parts += ["  ·  state: ", (STATE.label(self.filters["state"]), "bold")]
        parts += ["  ·  type: ", (render.one_line(self.node_type or "all", max_len=16), "bold")]
        if self.filters["retired"]:
            parts += ["  ·  ", ("with retired", "bold")]
        if self.text:
            parts += ["  ·  filter: ", (render.one_line(self.text, max_len=20), "bold $accent")]
        return parts

    # ------------------------------------------------------------------ the list

    def columns(self) -> list[Col]:
        # At 80 columns the next change shows whole; since and the renter scroll in from the
        # right (the preview under the table says both for the selected node).
        return [
            Col("name", "Node", 10),
            Col("type", "Type", 6),
            Col("rentable", "Rent", 4),
            Col("state", "State", 13),
            Col("next", "Next change", None, min_width=24),
            Col("since", "Since", 12, essential=False),
            Col("renter", "Renter", 18, essential=False),
        ]

    def fetch(self, ctx: ServiceContext, query: ListQuery) -> svc.NodePage:
        return svc.node_page(
            ctx,
            svc.NodeQuery(
                node_type=query.get("type"),
                state=query.get("state"),
                text=query.text,
                include_retired=bool(query.get("retired")),
                offset=query.offset,
                limit=query.limit,
            ),
        )

    def key(self, item: svc.NodeRow) -> str:
        return item.name

    def cells(self, r: svc.NodeRow) -> Sequence[Any]:
        tz, now = self.session.tz, self.session.now()
        since = render.when(r.status.since, tz, compact=True, now=now) if r.status.since else "-"
        renter = f"{r.status.now.project} ({r.status.now.renter})" if r.state == "rented" else "-"
        return [
            render.text(r.name),
            render.text(r.node.node_type),
            rentable_text(r.node.rentable),
            state_text(r),
            render.text(self._next(r)),
            since,
            render.text(renter),
        ]

    def _next(self, r: svc.NodeRow) -> str:
        """``Dec 09 07:00 → ⚒ maintenance #6``: the next change in a cell (the preview says it
        in full)."""
        s, tz = r.status, self.session.tz
        if s.next_at is None or s.next_state is None:
            return r.next_text(tz)  # "expected back …" or "no change scheduled"
        nxt = s.next_state
        what = f"{node_status.STATE_GLYPHS[nxt.state]} {nxt.state}"
        if nxt.state == "rented":
            what += f" by {nxt.project}"
        elif nxt.subject_id is not None:
            what += f" #{nxt.subject_id}"
        return f"{render.when(s.next_at, tz, compact=True, now=self.session.now())} → {what}"

    def open(self, item: svc.NodeRow) -> None:
        navigation.go(self.app, "node.detail", item.name, then=lambda _r: self.node_changed(item.name))

    def action_emergency(self) -> None:
        """Declare an emergency window on the node under the cursor (or say why not)."""
        row = self.current_node()
        refusal = not_allowed(self.session, "manage_windows") or ("" if row else "no node is selected")
        if refusal or row is None:
            self.explain(refusal, title=f"Emergency {render.LOCK}")
            return
        name = row.name
        navigation.go(
            self.app,
            "window.emergency",
            nodes=(name,),
            section=self.SECTION,
            then=lambda _r: self.node_changed(name),
        )

    def empty_text(self) -> str:
        empty = "No nodes match." if self.filtered else "No nodes yet."
        hint = "" if self.node_action_state("new_node", ()) is False else " Press n to add one."
        return empty + hint

    def preview(self, r: svc.NodeRow | None) -> Content:
        if r is None:
            return Content(self.empty_text())
        tz = self.session.tz
        node = r.node
        first = Content.assemble(
            (render.one_line(r.name), "bold"),
            f" ({render.one_line(node.node_type)}, {node.category})  ·  ",
            "rentable" if node.rentable else "not rentable",
            "  ·  ",
            render.one_line(r.status.now.label(), max_len=60),
            f"  ·  {render.one_line(node.description, max_len=80)}" if node.description else "",
        )
        since = f"since {r.status.since_text(tz)}  ·  next: {r.next_text(tz)}"
        if r.state == "rented":
            since = f"{r.status.now.renter} for {r.status.now.project}  ·  " + since
        if node.retired_at is not None:
            since = f"retired {timeutil.format_short(node.retired_at, tz)} (R reinstates)  ·  " + since
        second = Content(render.one_line(since, max_len=300))
        return Content("\n").join([first, second])

    # ------------------------------------------------------------------ the last Slurm sync

    def reload(self, *args: Any, **kwargs: Any) -> None:
        super().reload(*args, **kwargs)
        self.db(slurm_status.sync_summary, self._slurm_loaded, on_error=self._slurm_failed, group="slurm")

    def _slurm_loaded(self, summary: slurm_status.SyncSummary) -> None:
        self.slurm = summary
        set_text(self, "#nodes-slurm", slurm_line(summary, self.session.tz))

    def _slurm_failed(self, exc: NodedeskError) -> None:
        set_text(self, "#nodes-slurm", "Slurm: could not read the last sync: " + render.one_line(str(exc)))

    # ------------------------------------------------------------------ actions

    def current_node(self) -> svc.NodeRow | None:
        item = self.current_item()
        return item if isinstance(item, svc.NodeRow) else None

    def node_changed(self, name: str | None) -> None:
        if name is not None:
            self.select_key(name)
        self.reload(keep_scroll=True)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        state = self.node_action_state(action, parameters)
        if state is not None:
            return state
        return super().check_action(action, parameters)

    def palette_commands(self) -> Iterable[SystemCommand]:
        for action, (key, label, tip) in ACTIONS.items():

            def run(action: str = action) -> None:
                self.run_or_explain(action)

            yield SystemCommand(f"Node: {label.lower()}", f"{tip} ({key})", run)
        yield SystemCommand("Node: emergency window", f"{EMERGENCY_TIP} (!)", self.action_emergency)
        yield SystemCommand("Filter nodes", "Text in name or description (/)", self.action_filter)
        for state in STATE.values:

            def show(state: str | None = state) -> None:
                self.set_filter("state", state)

            yield SystemCommand(f"Show {STATE.label(state)} nodes", "State filter (f cycles)", show)
        yield SystemCommand("Nodes: next node type", "Type filter (t cycles)", self.action_cycle_type)
        yield SystemCommand(
            "Nodes: show or hide retired nodes", "Retired filter (i)", lambda: self.cycle("retired")
        )
