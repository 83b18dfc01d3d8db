"""Approve / decline / cancel, shared by the reservation list and the detail screen.

The footer offers what fits the selected reservation: ``Approve`` and ``Decline`` for a pending
one, ``Cancel`` for a pending or approved one. A user who may not do it sees the action with a
lock (``Approve 🔒``); pressing it says why. Every decision goes through a confirmation dialog
(:class:`DecideReservationScreen`), and the service checks everything again. With rows marked
on the list the same keys act on all of them, after one confirmation listing what the service
would do to each (``open_bulk``, tui/kit/bulk.py).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from nodedesk.core.services.rentals import reservations as svc
from textual.binding import Binding

from ...kit.access import may_request, not_allowed
from ...kit.render import LOCK

if TYPE_CHECKING:
    from ...session import AppSession

RESERVATION_ACTION_BINDINGS = [
    Binding("a", "approve", "Approve", tooltip="Approve the pending reservation (confirmed first)"),
    Binding("a", "unavailable('approve')", f"Approve {LOCK}"),
    Binding("x", "decline", "Decline", tooltip="Decline the pending reservation (a reason is required)"),
    Binding("x", "unavailable('decline')", f"Decline {LOCK}"),
    Binding("d", "cancel_booking", "Cancel", tooltip="Cancel the reservation (confirmed first)"),
    Binding("d", "unavailable('cancel')", f"Cancel {LOCK}"),
]
# What each decision applies to.
ELIGIBLE = {"approve": ("pending",), "decline": ("pending",), "cancel": svc.ACTIVE}


def decision_refusal(session: AppSession, what: str) -> str:
    """Why the UI does not offer ``what`` (approve/decline/cancel) to this user, or ''.

    Cancelling is offered to every user who may request: the service decides whether they are
    on the project and whether the reservation has started."""
    manager = not_allowed(session, "manage_reservations")
    if what == "cancel" and manager:
        return may_request(session)
    return manager


class ReservationActionsMixin:
    """Needs ``current_reservation()`` and ``open_decision(what, reservation)``; a list with
    marks also ``marked_ids()`` and ``open_bulk(what, ids)``."""

    session: AppSession
    explain: Callable[..., None]

    def current_reservation(self) -> svc.ReservationView | None:
        raise NotImplementedError

    def open_decision(self, what: str, reservation: svc.ReservationView) -> None:
        raise NotImplementedError

    def marked_ids(self) -> list[int]:
        """The marked reservations the keys act on (none: the selected one)."""
        return []

    def open_bulk(self, what: str, ids: list[int]) -> None:
        raise NotImplementedError

    def reservation_action_state(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """``check_action`` for the shared decisions (None: not one of ours)."""
        names = {"approve": "approve", "decline": "decline", "cancel_booking": "cancel"}
        if self.marked_ids() and (action in names or action == "unavailable"):
            # On the marks: offered to whoever may decide; the service says which it refuses.
            what = str(parameters[0]) if action == "unavailable" and parameters else names.get(action, "")
            refused = bool(decision_refusal(self.session, what)) if what else False
            return refused if action == "unavailable" else not refused
        if action == "unavailable" and parameters:
            what = str(parameters[0])
            r = self.current_reservation()
            return r is not None and r.status in ELIGIBLE[what] and bool(decision_refusal(self.session, what))
        if action not in names:
            return None
        r = self.current_reservation()
        what = names[action]
        return r is not None and r.status in ELIGIBLE[what] and not decision_refusal(self.session, what)

    def _decide(self, what: str) -> None:
        ids = self.marked_ids()
        if ids:
            self.open_bulk(what, ids)
            return
        r = self.current_reservation()
        if r is None:
            return
        if r.status not in ELIGIBLE[what]:
            self.explain(f"Reservation #{r.id} is {r.status}; it cannot be {what}d.", "Not possible")
            return
        self.open_decision(what, r)

    def action_approve(self) -> None:
        self._decide("approve")

    def action_decline(self) -> None:
        self._decide("decline")

    def action_cancel_booking(self) -> None:
        self._decide("cancel")

    def action_unavailable(self, what: str) -> None:
        """Explain why approve/decline/cancel is not offered to this user."""
        refusal = decision_refusal(self.session, what)
        if refusal:
            self.explain(refusal, f"{LOCK} Not allowed")
