"""The node actions shared by the node list and a node's detail: add, edit, rentable on/off,
retire and reinstate (help/nodes.md).

Every action has its binding, offered only when this session may take it for the selected node,
and a hidden stand-in on the same key that says why not (the user's roles, a read-only session,
no node selected). Retire and reinstate share ``R``: which one depends on the node. What an
action meets beyond that (a retired node made rentable, reservations a retirement must decide
on) is the service's to say, in the dialog or as a refusal.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from nodedesk.core.context import ServiceContext
from nodedesk.core.errors import NodedeskError
from nodedesk.core.services.nodes import inventory
from nodedesk.core.services.nodes import node_lifecycle as svc
from textual.binding import Binding

from ...kit.access import not_allowed
from ...kit.confirm import ConfirmScreen
from ...kit.render import LOCK

if TYPE_CHECKING:
    from ...session import AppSession

CAPABILITY = "manage_inventory"

# action -> (key, footer word, what it does)
ACTIONS: dict[str, tuple[str, str, str]] = {
    "new_node": ("n", "New", "Add a node: name, type, description, rentable"),
    "edit_node": ("e", "Edit", "Change the node's type or description"),
    "toggle_rentable": ("b", "Rentable", "Make the node rentable (bookable) or not"),
    "retire_node": ("R", "Retire", "Retire the node: it keeps its history and cannot be booked"),
    "reinstate_node": ("R", "Reinstate", "Bring the retired node back (it stays not rentable)"),
}


def action_bindings(*names: str) -> list[Binding]:
    """Each action's binding, then one hidden 'why not' stand-in per key."""
    result = [
        Binding(ACTIONS[n][0], n, ACTIONS[n][1], tooltip=ACTIONS[n][2], key_display=ACTIONS[n][0])
        for n in names
    ]
    for name in dict.fromkeys(names):
        key, label, _tip = ACTIONS[name]
        if any(b.action.startswith("why") and b.key == key for b in result):
            continue
        result.append(
            Binding(key, f"why('{name}')", f"{label} {LOCK}", show=False, tooltip=f"{label}: says why not")
        )
    return result


def refusal(session: AppSession, action: str, row: svc.NodeRow | None) -> str:
    """Why ``action`` is not offered for ``row`` now ('' when it is)."""
    why = not_allowed(session, CAPABILITY)
    if why or action == "new_node":
        return why
    if row is None:
        return "no node is selected"
    if action == "retire_node" and row.node.retired:
        return f"{row.name} is retired already; R reinstates it"
    if action == "reinstate_node" and not row.node.retired:
        return f"{row.name} is not retired; R retires it"
    return ""


class NodeActionsMixin:
    """Needs ``current_node()`` and ``node_changed(name)`` (reload, keeping ``name`` in view)."""

    session: AppSession
    app: Any
    explain: Callable[..., None]
    refused: Callable[..., None]
    notify: Callable[..., None]
    db: Callable[..., Any]

    def current_node(self) -> svc.NodeRow | None:
        raise NotImplementedError

    def node_changed(self, name: str | None) -> None:
        raise NotImplementedError

    def node_action_state(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """``check_action`` for the node actions (None: not one of ours)."""
        if action in ACTIONS:
            return not refusal(self.session, action, self.current_node())
        if action == "why" and parameters and parameters[0] in ACTIONS:
            name = str(parameters[0])
            if name in ("retire_node", "reinstate_node"):  # one key: silent when either is offered
                row = self.current_node()
                return bool(refusal(self.session, name, row)) and not any(
                    not refusal(self.session, a, row) for a in ("retire_node", "reinstate_node")
                )
            return bool(refusal(self.session, name, self.current_node()))
        return None

    def action_why(self, action: str) -> None:
        message = refusal(self.session, action, self.current_node())
        if message:
            self.explain(message, title=f"{ACTIONS[action][1]} {LOCK}")

    def run_or_explain(self, action: str) -> None:
        """For the command palette: do the action, or say why it cannot be done."""
        if refusal(self.session, action, self.current_node()):
            self.action_why(action)
        else:
            getattr(self, f"action_{action}")()

    def _done(self, name: str | None) -> Callable[[Any], None]:
        def done(result: Any) -> None:
            if result is not None:
                self.node_changed(name)

        return done

    def action_new_node(self) -> None:
        from .node_form import NodeFormScreen

        def added(result: inventory.NodeView | None) -> None:
            if result is not None:
                self.node_changed(result.name)

        self.app.push_screen(NodeFormScreen(None), added)

    def action_edit_node(self) -> None:
        row = self.current_node()
        if row is not None:
            from .node_form import NodeFormScreen

            self.app.push_screen(NodeFormScreen(row), self._done(row.name))

    def action_retire_node(self) -> None:
        row = self.current_node()
        if row is not None:
            from .node_retire import RetireNodeScreen

            self.app.push_screen(RetireNodeScreen(row), self._done(row.name))

    def action_reinstate_node(self) -> None:
        row = self.current_node()
        if row is not None:
            from .node_retire import ReinstateNodeScreen

            self.app.push_screen(ReinstateNodeScreen(row), self._done(row.name))

    def action_toggle_rentable(self) -> None:
        """Ask the service what the toggle would do; confirm when it says it matters."""
        row = self.current_node()
        if row is None:
            return
        name = row.name

        def previewed(change: svc.RentableChange) -> None:
            if change.problems:
                self.explain(str(change.problems[0].error), title="Not changed")
                return
            if not change.matters:
                self._toggle(change)
                return

            def answer(yes: bool | None) -> None:
                if yes:
                    self._toggle(change)

            question = change.question(self.session.tz)
            self.app.push_screen(ConfirmScreen(question, "Stop renting", "Keep rentable"), answer)

        self.db(
            lambda ctx: svc.preview_rentable(ctx, name),
            previewed,
            on_error=self._toggle_refused,
            group="rentable",
        )

    def _toggle(self, change: svc.RentableChange) -> None:
        name, version = change.node.name, change.version

        def work(ctx: ServiceContext) -> inventory.NodeView:
            return svc.toggle_rentable(ctx, name, expected_version=version)

        def done(view: inventory.NodeView) -> None:
            word = "rentable" if view.rentable else "not rentable"
            self.notify(f"{view.name} is now {word}.", title="Saved", markup=False)
            self.node_changed(view.name)

        self.db(work, done, on_error=self._toggle_refused, write=True, group="rentable")

    def _toggle_refused(self, exc: NodedeskError) -> None:
        self.refused(exc, "Not changed")
        self.node_changed(None)
