"""Update / resolve actions shared by the outage list and the detail screen.

``Update`` is offered for every outage, ``Resolve`` for open ones. A user who may not manage
outages sees them with a lock (``Update 🔒``); pressing one says why. The service checks again.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from nodedesk.core.services.downtime import outages as svc
from textual.binding import Binding

from ...kit.render import LOCK
from ..windows.window_actions import not_allowed

if TYPE_CHECKING:
    from ...session import AppSession

OUTAGE_ACTION_BINDINGS = [
    Binding("e", "update", "Update", tooltip="Change status, ETR, description, nodes or credit"),
    Binding("e", "unavailable('update')", f"Update {LOCK}"),
    Binding("r", "resolve", "Resolve", tooltip="Mark the open outage resolved (its end is required)"),
    Binding("r", "unavailable('resolve')", f"Resolve {LOCK}"),
]


class OutageActionsMixin:
    """Needs ``current_outage()`` and ``open_form(mode, outage)``."""

    session: AppSession
    explain: Callable[..., None]

    def current_outage(self) -> svc.OutageView | None:
        raise NotImplementedError

    def open_form(self, mode: str, outage: svc.OutageView | None) -> None:
        raise NotImplementedError

    def _eligible(self, what: str) -> bool:
        o = self.current_outage()
        return o is not None and (what == "update" or o.open)

    def outage_action_state(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """``check_action`` for update/resolve (None: not one of ours)."""
        refused = bool(not_allowed(self.session, "manage_outages"))
        if action == "unavailable" and parameters and parameters[0] in ("update", "resolve"):
            return self._eligible(str(parameters[0])) and refused
        if action in ("update", "resolve"):
            return self._eligible(action) and not refused
        return None

    def action_update(self) -> None:
        o = self.current_outage()
        if o is not None:
            self.open_form("update", o)

    def action_resolve(self) -> None:
        o = self.current_outage()
        if o is None:
            return
        if not o.open:
            self.explain(f"Outage #{o.id} is already resolved.", "Not possible")
            return
        self.open_form("resolve", o)

    def action_unavailable(self, what: str) -> None:
        refusal = not_allowed(self.session, "manage_outages")
        if refusal:
            self.explain(refusal, f"{LOCK} Not allowed")
