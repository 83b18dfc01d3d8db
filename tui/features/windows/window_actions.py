"""Edit / move end / delete / correct actions shared by the window list and the detail screen.

The footer shows what is possible *for the selected window right now*: ``Edit`` for an upcoming
window, ``Move end`` for one in progress, ``Edit 🔒`` / ``Delete 🔒`` when locked (pressing them
says why), and ``Correct`` for admins on locked windows. The services enforce every rule again.
With windows marked on the list, ``d`` (and ``D``, as a correction) deletes all of them after one
confirmation listing what the service would do to each (``open_bulk_delete``, tui/kit/bulk.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from nodedesk.core.services.downtime import windows as svc
from textual.binding import Binding

from ...kit.access import not_allowed
from ...kit.render import LOCK

if TYPE_CHECKING:
    from collections.abc import Callable

    from ...session import AppSession

WINDOW_ACTION_BINDINGS = [
    Binding("e", "edit", "Edit"),
    Binding("e", "move_end", "Move end"),
    Binding("e", "locked('edit')", f"Edit {LOCK}"),
    Binding("d", "delete", "Delete"),
    Binding("d", "locked('delete')", f"Delete {LOCK}"),
    Binding("C", "correct", "Correct", key_display="C"),
    # not D: shift+d opens the Downtime section from every screen (tui/sections.py)
    Binding("X", "delete_correction", "Delete as correction", show=False, key_display="X"),
]


class WindowActionsMixin:
    """Needs ``current_window()``, ``open_form(mode, window)`` and ``open_delete(window, correction)``;
    a list with marks also ``marked_ids()`` and ``open_bulk_delete(ids, correction)``."""

    session: AppSession
    explain: Callable[..., None]  # NodedeskScreen's

    def current_window(self) -> svc.WindowView | None:
        raise NotImplementedError

    def open_form(self, mode: str, window: svc.WindowView) -> None:
        raise NotImplementedError

    def open_delete(self, window: svc.WindowView, correction: bool) -> None:
        raise NotImplementedError

    def marked_ids(self) -> list[int]:
        """The marked windows ``d`` deletes (none: the selected one)."""
        return []

    def open_bulk_delete(self, ids: list[int], correction: bool) -> None:
        raise NotImplementedError

    def window_action_state(self, action: str, parameters: tuple[object, ...] = ()) -> bool | None:
        """``check_action`` for the shared window actions (None: not one of ours)."""
        if action not in ("edit", "move_end", "locked", "delete", "correct", "delete_correction"):
            return None
        may = not not_allowed(self.session, "manage_windows")
        if self.marked_ids() and (action in ("delete", "delete_correction") or parameters == ("delete",)):
            # On the marks: offered to whoever may delete; the service says which it refuses.
            if action == "delete":
                return may
            if action == "locked":
                return not may
            return not not_allowed(self.session, "correct")
        w = self.current_window()
        if w is None:
            return False
        if action == "edit":
            return may and w.status == "upcoming"
        if action == "move_end":
            return may and w.status == "in_progress"
        if action == "delete":
            return may and w.status == "upcoming"
        if action == "locked":
            return not may or w.status != "upcoming"
        # correct: admins, locked windows only (upcoming ones are simply edited)
        return w.locked and not not_allowed(self.session, "correct")

    def action_edit(self) -> None:
        w = self.current_window()
        if w is not None:
            self.open_form("edit", w)

    def action_move_end(self) -> None:
        w = self.current_window()
        if w is not None:
            self.open_form("move_end", w)

    def action_correct(self) -> None:
        w = self.current_window()
        if w is not None:
            self.open_form("correct", w)

    def action_delete_correction(self) -> None:
        if self.marked_ids():
            self.open_bulk_delete(self.marked_ids(), correction=True)
            return
        w = self.current_window()
        if w is not None:
            self.open_delete(w, correction=True)

    def action_delete(self) -> None:
        if self.marked_ids():
            self.open_bulk_delete(self.marked_ids(), correction=False)
            return
        w = self.current_window()
        if w is not None:
            self.open_delete(w, correction=False)

    def action_locked(self, what: str) -> None:
        """Explain why edit/delete is unavailable for the selected window."""
        w = self.current_window()
        if w is None:
            return
        refusal = not_allowed(self.session, "manage_windows")
        if refusal:
            self.explain(refusal)
            return
        tz = self.session.tz
        if what == "edit" and w.status == "in_progress":
            self.open_form("move_end", w)
            return
        message = f"Window #{w.id} is {w.lock_reason(tz)}."
        if what == "delete" and w.status == "in_progress":
            message += " To finish it early, move its end (e) to now."
        if not not_allowed(self.session, "correct"):
            if what == "delete":
                message += " Press X to delete it as an admin correction (a reason is required)."
            else:
                message += " Press C to make an admin correction (a reason is required)."
        self.explain(message, title=f"{LOCK} Locked")
