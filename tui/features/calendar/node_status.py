"""Nodes now: every node's state at the clock's now, since when, and its next change.

Opened with ``s`` from the calendar (its node / node type filter applies). State precedence:
outage > maintenance > rented > free (the first that applies). ``enter`` goes back to the
calendar filtered to the selected node; ``escape`` goes back unchanged.
"""

from __future__ import annotations

from nodedesk.core import timeutil
from nodedesk.core.context import ServiceContext
from nodedesk.core.errors import NodedeskError
from nodedesk.core.services.nodes import node_status as svc
from nodedesk.core.services.views import calendar as cal_svc
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.widgets import DataTable, Static

from ...kit import render
from ...kit.base import NodedeskScreen
from . import calendar_render as cr

WIDE = 110  # from this width on, the detail gets its own column


def load_statuses(ctx: ServiceContext, flt: cal_svc.CalendarFilter) -> list[svc.NodeStatus]:
    found = svc.node_statuses(ctx, flt.node_type)
    if flt.node:
        found = [s for s in found if s.node == flt.node]
    return found


class NodeStatusScreen(NodedeskScreen):
    SECTION = "calendar"
    HELP_TOPIC = "calendar"
    HELP_TITLE = "nodes now"

    DEFAULT_CSS = """
    #nodes-body {
        height: 1fr;
    }
    #nodes-title {
        height: 1;
        text-wrap: nowrap;
        text-overflow: ellipsis;
    }
    #nodes-table {
        height: 1fr;
    }
    #nodes-preview {
        height: 3;
        background: $panel;
        text-wrap: nowrap;
        text-overflow: ellipsis;
    }
    """

    BINDINGS = [
        Binding("escape", "back", "Back"),
        Binding("enter", "show_node", "In calendar", tooltip="Back to the calendar, showing only this node"),
        Binding("r", "reload", "Reload", tooltip="Reload now (the screen is live anyway)"),
        Binding("j", "cursor(1)", "Down", show=False),
        Binding("k", "cursor(-1)", "Up", show=False),
    ]

    def __init__(self, flt: cal_svc.CalendarFilter | None = None) -> None:
        super().__init__()
        self.flt = flt or cal_svc.CalendarFilter()
        self.statuses: dict[str, svc.NodeStatus] = {}
        self.loaded = False
        self._wide: bool | None = None

    def crumbs(self) -> tuple[str, ...]:
        return ("nodes now",)

    def compose_body(self) -> ComposeResult:
        with Vertical(id="nodes-body"):
            yield Static(Content.styled(" Nodes now  loading…", "dim"), id="nodes-title")
            yield DataTable(id="nodes-table", cursor_type="row", zebra_stripes=True)
            yield Static(id="nodes-preview")

    def on_mount(self) -> None:
        self.table.focus()
        self._set_columns()
        self.reload()

    def on_resize(self) -> None:
        self._set_columns()

    @property
    def table(self) -> DataTable[object]:
        return self.query_one("#nodes-table", DataTable)

    def _set_columns(self) -> None:
        wide = self.size.width >= WIDE
        if wide == self._wide:
            return
        self._wide = wide
        t = self.table
        t.clear(columns=True)
        t.add_column("Node", key="node", width=10)
        t.add_column("Status", key="status", width=cr.NODE_STATE_WIDTH)
        t.add_column("Since", key="since", width=12)
        # Each column has one cell of padding on both sides; keep one for the scrollbar.
        rest = self.size.width - 10 - cr.NODE_STATE_WIDTH - 12 - 9
        if wide:
            t.add_column("Detail", key="detail", width=rest - 36)
            t.add_column("Next change", key="next", width=34)
        else:
            t.add_column("Next change", key="next", width=max(rest, 16))
        if self.loaded:
            self._fill()

    # ------------------------------------------------------------------ loading

    def reload(self) -> None:
        flt = self.flt
        self.db(
            lambda ctx: load_statuses(ctx, flt),
            self._show,
            on_error=self._failed,
            group="nodes",
            exclusive=True,
        )

    def _failed(self, exc: NodedeskError) -> None:
        self.refused(exc, "Could not load the nodes")

    def _show(self, statuses: list[svc.NodeStatus]) -> None:
        self.statuses = {s.node: s for s in statuses}
        self.loaded = True
        self._fill()

    def _when(self, status: svc.NodeStatus, which: str) -> str:
        instant = status.since if which == "since" else status.next_at
        if instant is None:
            return "-"
        return render.when(instant, self.session.tz, compact=True, now=self.session.now())

    def _next(self, s: svc.NodeStatus) -> str:
        if s.next_at is None or s.next_state is None:
            return "open outage, end unknown" if s.state == "outage" else "no change scheduled"
        return f"{self._when(s, 'next')} → {s.next_state.short()}"

    def _fill(self) -> None:
        tz = self.session.tz
        now = self.session.now()
        where = f"  ·  {self.flt.label()}" if not self.flt.empty else ""
        counts = cr.node_state_counts([s.state for s in self.statuses.values()]) or "no nodes"
        self.query_one("#nodes-title", Static).update(
            Content.assemble(
                (f" Nodes now · {timeutil.format_short(now, tz)}", "bold $accent"),
                (f"  ·  {counts}{where}", "dim"),
            )
        )
        t = self.table
        keep = self.current_name()
        t.clear()
        for s in self.statuses.values():
            word, style = cr.node_state_parts(s.state)
            cells: list[object] = [
                render.text(s.node),
                Text(word, style=_rich(style), no_wrap=True),
                self._when(s, "since"),
            ]
            if self._wide:
                cells.append(render.text(s.detail or "-"))
            cells.append(render.text(self._next(s)))
            t.add_row(*cells, key=s.node)
        if keep in self.statuses:
            t.move_cursor(row=list(self.statuses).index(keep))
        self._preview()

    def current_name(self) -> str | None:
        t = self.table
        if not t.row_count:
            return None
        try:
            return str(t.coordinate_to_cell_key(t.cursor_coordinate).row_key.value)
        except Exception:
            return None

    def current(self) -> svc.NodeStatus | None:
        name = self.current_name()
        return self.statuses.get(name) if name else None

    def _preview(self) -> None:
        box = self.query_one("#nodes-preview", Static)
        s = self.current()
        if s is None:
            box.update(
                Content.styled(" No nodes" + (" match the filter." if not self.flt.empty else "."), "dim")
            )
            return
        tz = self.session.tz
        word, style = cr.node_state_parts(s.state)
        first = Content.assemble(
            " ",
            (render.one_line(s.node), "bold"),
            f" ({render.one_line(s.node_type)}{', not rentable' if not s.rentable else ''})  ",
            (word, style),
            "  " + render.one_line(s.detail) if s.detail else "",
        )
        since = timeutil.format_short(s.since, tz) if s.since else "as far back as we look"
        second = Content(f" since {since}")
        if s.next_at is not None and s.next_state is not None:
            third = Content(
                " next: "
                + render.one_line(f"{timeutil.format_short(s.next_at, tz)} → {s.next_state.label()}")
            )
        else:
            third = Content.styled(" next: " + self._next(s), "dim")
        box.update(Content("\n").join([first, second, third]))

    @on(DataTable.RowHighlighted)
    def _highlighted(self) -> None:
        self._preview()

    @on(DataTable.RowSelected)
    def _selected(self) -> None:
        self.action_show_node()

    # ------------------------------------------------------------------ actions

    def action_back(self) -> None:
        self.dismiss(None)

    def action_show_node(self) -> None:
        s = self.current()
        if s is not None:
            self.dismiss(s.node)

    def action_reload(self) -> None:
        self.reload()

    def action_cursor(self, step: int) -> None:
        self.table.action_cursor_down() if step > 0 else self.table.action_cursor_up()


def _rich(style: str) -> str:
    """Content style names (``ansi_red``) → Rich style names (``red``) for table cells."""
    return " ".join(w.removeprefix("ansi_") for w in style.split())
