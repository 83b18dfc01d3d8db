"""One node: its facts and state now, its availability for the coming weeks, what the last Slurm
sync saw of it (once a sync has run) and its history (help/nodes.md, "A node's detail").

From here ``o`` opens an outage on the node, ``w`` plans a maintenance window on it and ``!``
declares an emergency window on it (the forms of those sections, opened by route with the node
filled in); the node actions of the list work here too.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from nodedesk.core.context import ServiceContext
from nodedesk.core.errors import NodedeskError, NotFoundError
from nodedesk.core.services.nodes import node_lifecycle as svc
from nodedesk.core.services.nodes import node_sync, node_timeline
from textual.app import ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.content import Content
from textual.widgets import Static

from ...kit import navigation
from ...kit.access import not_allowed
from ...kit.base import NodedeskScreen
from ...kit.render import LOCK
from .node_actions import ACTIONS, NodeActionsMixin, action_bindings
from .node_render import fact_lines, history_lines, slurm_lines, timeline_lines


@dataclass(frozen=True)
class Loaded:
    detail: svc.NodeDetail
    timeline: node_timeline.Timeline
    sync: node_sync.NodeSync | None


def load(ctx: ServiceContext, name: str) -> Loaded:
    return Loaded(
        svc.node_detail(ctx, name), node_timeline.node_timeline(ctx, name), node_sync.node_sync(ctx, name)
    )


# route's key -> (capability, the footer word, what it opens)
PLANS = {
    "o": ("manage_outages", "Outage", "outage.form", "Open an outage on this node"),
    "w": ("manage_windows", "Window", "window.form", "Plan a maintenance window on this node"),
    "!": ("manage_windows", "Emergency", "window.emergency", "Emergency window: maintenance from now on"),
}


class NodeDetailScreen(NodeActionsMixin, NodedeskScreen):
    CSS_PATH = "nodes.tcss"

    SECTION = "nodes"
    HELP_TOPIC = "nodes"
    HELP_TITLE = "node detail"

    BINDINGS = [
        Binding("escape", "back", "Back"),
        Binding("o", "plan('o')", "Outage", tooltip=PLANS["o"][3]),
        Binding("w", "plan('w')", "Window", tooltip=PLANS["w"][3]),
        Binding(
            "exclamation_mark",
            "plan('!')",
            "Emergency",
            tooltip=PLANS["!"][3],
            key_display="!",
            id="node_detail.emergency",
        ),
        *action_bindings("edit_node", "toggle_rentable", "retire_node", "reinstate_node"),
        Binding("r", "reload", "Reload", show=False),
        Binding("j", "scroll('down')", "Down", show=False),
        Binding("k", "scroll('up')", "Up", show=False),
    ]

    def __init__(self, name: str) -> None:
        super().__init__()
        self.node_name = name
        self.loaded: Loaded | None = None

    def crumbs(self) -> tuple[str, ...]:
        return (self.node_name,)

    def compose_body(self) -> ComposeResult:
        with VerticalScroll(id="node-body"):
            yield Static(Content("Loading…"), id="node-facts")
            yield Static(id="node-timeline")
            yield Static(id="node-slurm")
            yield Static(id="node-history")

    def on_mount(self) -> None:
        self.query_one("#node-body").focus()
        self.reload()

    def reload(self) -> None:
        name = self.node_name
        self.db(
            lambda ctx: load(ctx, name), self._show, on_error=self._failed, group="detail", exclusive=True
        )

    def _failed(self, exc: NodedeskError) -> None:
        if isinstance(exc, NotFoundError):
            self.explain(f"Node {self.node_name} no longer exists.", "Gone")
            self.dismiss(None)
            return
        self.refused(exc, "Could not load the node")

    def _show(self, loaded: Loaded) -> None:
        self.loaded = loaded
        tz, now = self.session.tz, self.session.now()
        d = loaded.detail
        self.query_one("#node-facts", Static).update(Content("\n").join(fact_lines(d.row, d, tz)))
        self.query_one("#node-timeline", Static).update(
            Content("\n").join(timeline_lines(loaded.timeline, tz, now))
        )
        slurm = self.query_one("#node-slurm", Static)
        slurm.display = loaded.sync is not None
        slurm.update(Content("\n").join(slurm_lines(loaded.sync, tz)))
        self.query_one("#node-history", Static).update(Content("\n").join(history_lines(d.activity, tz)))
        self.refresh_bindings()

    # ------------------------------------------------------------------ actions

    def current_node(self) -> svc.NodeRow | None:
        return self.loaded.detail.row if self.loaded is not None else None

    def node_changed(self, name: str | None) -> None:
        self.reload()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        state = self.node_action_state(action, parameters)
        return True if state is None else state

    def action_back(self) -> None:
        self.dismiss(None)

    def action_reload(self) -> None:
        self.reload()

    def action_scroll(self, direction: str) -> None:
        body = self.query_one("#node-body", VerticalScroll)
        body.scroll_down() if direction == "down" else body.scroll_up()

    def action_plan(self, key: str) -> None:
        """Open the outage or window form with this node filled in (or say why not)."""
        capability, word, route, _tip = PLANS[key]
        refusal = not_allowed(self.session, capability)
        if refusal:
            self.explain(refusal, title=f"{word} {LOCK}")
            return
        mode = () if route == "window.emergency" else ("create",)
        navigation.go(
            self.app, route, *mode, nodes=(self.node_name,), section=self.SECTION, then=self._planned
        )

    def _planned(self, result: object) -> None:
        if result is not None:
            self.reload()

    def palette_commands(self) -> Iterable[SystemCommand]:
        for key, (_cap, word, _route, tip) in PLANS.items():

            def plan(key: str = key) -> None:
                self.action_plan(key)

            yield SystemCommand(f"Node {self.node_name}: {word.lower()}", f"{tip} ({key})", plan)
        for action, (key, label, tip) in ACTIONS.items():
            if action == "new_node":
                continue

            def run(action: str = action) -> None:
                self.run_or_explain(action)

            yield SystemCommand(f"Node {self.node_name}: {label.lower()}", f"{tip} ({key})", run)
