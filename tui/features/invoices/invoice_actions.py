"""What the three invoice screens share: the month being reviewed and its billing actions.

:class:`MonthState` holds one month's invoice (and, for a finalized month, the result of
comparing it with live data). The month screen, a project's lines and a single line all show
the same object: whichever screen changes the month (an override, finalize) recomputes it once
in a worker and bumps ``generation``; the screens below re-render from it when they resume.

Each billing action has three bindings on its key: the action (offered when it can be done
now), a ``🔒`` variant shown in the footer when it is the natural next step but not allowed
(read-only user, month not over, finalized month), and a hidden one that explains any other
refusal. The services check everything again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import pendulum
from nodedesk.core import timeutil
from nodedesk.core.errors import NodedeskError
from nodedesk.core.safetext import one_line
from nodedesk.core.services.invoicing import invoices as svc
from textual.binding import Binding

from ...kit.render import LOCK
from ...kit.workers import run_db
from ..windows.window_actions import not_allowed
from . import invoice_render as ir

if TYPE_CHECKING:
    from textual.dom import DOMNode

    from ...session import AppSession

Doc = dict[str, Any]

# action → (capability, footer label, what it does for the help modal)
ACTIONS: dict[str, tuple[str, str, str]] = {
    "finalize": (
        "manage_billing",
        "Finalize",
        "Finalize the month: store its immutable snapshot (confirmed)",
    ),
    "unfinalize": ("manage_billing", "Unfinalize", "Return the month to draft (a reason is required)"),
    "set_override": ("manage_billing", "Override", "Set or replace the line's override (reason required)"),
    "clear_override": ("manage_billing", "Clear", "Remove the line's override (reason required)"),
}
KEYS = {"finalize": "f", "unfinalize": "u", "set_override": "o", "clear_override": "c"}


def action_bindings(*names: str) -> list[Binding]:
    """For each action: the action, its visible 🔒 variant and its hidden 'why not' variant."""
    out: list[Binding] = []
    for name in names:
        _, label, tip = ACTIONS[name]
        key = KEYS[name]
        why = f"{tip} — not now; press to see why"
        out += [
            Binding(key, name, label, tooltip=tip),
            Binding(key, f"why('{name}')", f"{label} {LOCK}", tooltip=why),
            Binding(key, f"why_not('{name}')", f"{label} {LOCK}", show=False, tooltip=why),
        ]
    return out


@dataclass
class MonthState:
    """One month under review, shared by the invoice screens."""

    period: str
    invoice: svc.Invoice | None = None
    generation: int = 0
    verify: svc.VerifyResult | None = None
    verify_failed: str = ""
    verified_at: datetime | None = None  # when ``verify`` was read: it says nothing about later
    verifying: int = -1  # the generation being compared with live data
    changed: bool = False  # something was written: the month list refreshes this month's row

    @property
    def finalized(self) -> bool:
        return self.invoice is not None and self.invoice.status == "finalized"

    def set_invoice(self, inv: svc.Invoice) -> None:
        self.invoice = inv
        self.verify = None
        self.verify_failed = ""
        self.verified_at = None
        self.generation += 1

    def find_line(self, key: str) -> tuple[Doc, Doc] | None:
        if self.invoice is None:
            return None
        for project, line in self.invoice.lines():
            if ir.line_key(line) == key:
                return project, line
        return None

    def find_project(self, title: str) -> Doc | None:
        if self.invoice is None:
            return None
        return next((p for p in self.invoice.projects if p["project"] == title), None)

    def warnings_for(self, title: str | None) -> list[str]:
        """The month's warnings about one project (``None``: those about the whole month)."""
        if self.invoice is None:
            return []
        details = self.invoice.doc.get("warning_details") or []
        return [w["text"] for w in details if w.get("project") == title]


def load_invoice(
    node: DOMNode,
    state: MonthState,
    on_done: Callable[[], None],
    on_error: Callable[[NodedeskError], None] | None = None,
) -> None:
    """Recompute (or reload the snapshot of) ``state.period`` in a worker, then ``on_done()``.

    A finalized month is then compared with live data too (``on_done()`` runs again after).
    """
    period = state.period

    def done(inv: svc.Invoice) -> None:
        state.set_invoice(inv)
        on_done()
        if state.finalized:
            load_verify(node, state, on_done)

    run_db(
        node, lambda ctx: svc.compute_invoice(ctx, period), on_done=done, on_error=on_error, group="invoice"
    )


def load_verify(
    node: DOMNode, state: MonthState, on_done: Callable[[], None], *, again: bool = False
) -> None:
    """Compare a finalized month with live data (for the drift banner), then ``on_done()``.

    ``again``: compare once more although this invoice was compared already (live data may
    have been corrected since).
    """
    period, generation = state.period, state.generation
    if state.verifying == generation and not again:
        return  # already comparing this very invoice
    state.verifying = generation
    started = node.app.session.now()  # type: ignore[attr-defined]

    def done(result: svc.VerifyResult) -> None:
        if state.generation == generation:
            state.verify, state.verified_at = result, started
            on_done()

    def failed(exc: NodedeskError) -> None:
        if state.generation == generation:
            state.verify_failed = str(exc)
            on_done()

    run_db(node, lambda ctx: svc.verify(ctx, period), on_done=done, on_error=failed, group="verify")


def check_drift(
    node: DOMNode,
    state: MonthState,
    on_done: Callable[[], None],
    on_gone: Callable[[], None],
) -> None:
    """Compare a finalized month with live data afresh, then list the drift (``v``).

    The comparison made when the month was opened may be stale: another admin may have
    corrected data since. The result replaces the state's (the heading and banner follow);
    when the month is no longer the snapshot shown (unfinalized, or finalized again), the
    month is reloaded with ``on_gone()``.
    """
    period, generation = state.period, state.generation
    shown = state.invoice.sha256 if state.invoice is not None else None
    started = node.app.session.now()  # type: ignore[attr-defined]

    def done(result: svc.VerifyResult) -> None:
        from .invoice_dialogs import DriftScreen

        if state.generation == generation:
            state.verify, state.verify_failed, state.verified_at = result, "", started
            on_done()
        if result.sha256 != shown:
            state.changed = True
            on_gone()
        currency = state.invoice.currency if state.invoice is not None else ""
        node.app.push_screen(DriftScreen(result, currency))

    def failed(exc: NodedeskError) -> None:
        node.app.notify(str(exc), title="Could not compare", severity="error", markup=False, timeout=8)
        state.changed = True
        on_gone()

    run_db(node, lambda ctx: svc.verify(ctx, period), on_done=done, on_error=failed, group="verify")


def month_end(tz: str, period: str) -> pendulum.DateTime:
    """The instant a ``YYYY-MM`` month ends in the site timezone (the next 1st, 00:00)."""
    return pendulum.datetime(int(period[:4]), int(period[5:7]), 1, tz=tz).add(months=1)


def month_end_text(tz: str, period: str) -> str:
    """``2026-03-01 00:00 -05:00``."""
    return timeutil.format_local(month_end(tz, period), tz)


def month_over(session: AppSession, period: str) -> bool:
    """Whether the month has ended (site time) by the session clock: it may be finalized."""
    return session.now() >= month_end(session.tz, period)


def refusal(session: AppSession, action: str, state: MonthState, line: Doc | None = None) -> str:
    """Why ``action`` cannot be done right now ('' when it can)."""
    why = not_allowed(session, ACTIONS[action][0])
    if why:
        return why
    inv = state.invoice
    period = state.period
    if inv is None:
        return f"{period} is still loading"
    if action == "finalize":
        if inv.status == "finalized":
            fin = inv.doc.get("finalized") or {}
            return (
                f"{period} is already finalized (by {one_line(fin.get('by'))}); "
                "to change it, unfinalize it first (u, with a reason)"
            )
        if not month_over(session, period):
            return (
                f"{period} is not over yet (it ends {month_end_text(session.tz, period)}); "
                "a month can be finalized once it has ended"
            )
        return ""
    if action == "unfinalize":
        return (
            "" if inv.status == "finalized" else f"{period} is a live draft: there is nothing to unfinalize"
        )
    # overrides
    if inv.status == "finalized":
        return (
            f"{period} is finalized: its overrides cannot change. Unfinalize the month first "
            "(u on the month screen, with a reason)"
        )
    if line is None:
        return "select a line first"
    if line["type"] != "reservation":
        return "overrides apply to reservation lines; a fee line follows its subscription"
    if action == "clear_override" and not line.get("override"):
        return f"line #{line['reservation_id']} has no override to clear"
    return ""


def relevant(action: str, state: MonthState, line: Doc | None = None) -> bool:
    """Whether the action is the natural next step here (its 🔒 variant then shows in the footer)."""
    inv = state.invoice
    if inv is None:
        return False
    if action == "finalize":
        return inv.status == "draft"
    if action == "unfinalize":
        return inv.status == "finalized"
    if line is None or line["type"] != "reservation":
        return False
    if action == "clear_override":
        return bool(line.get("override"))
    return True


class InvoiceActionsMixin:
    """``check_action`` and the 'why not' actions; needs ``state`` and ``current_line()``."""

    session: AppSession
    state: MonthState
    explain: Callable[..., None]

    def current_line(self) -> Doc | None:
        return None

    def refusal_for(self, action: str) -> str:
        return refusal(self.session, action, self.state, self.current_line())

    def invoice_action_state(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ACTIONS:
            return not self.refusal_for(action)
        if action in ("why", "why_not") and parameters and parameters[0] in ACTIONS:
            name = str(parameters[0])
            if not self.refusal_for(name):
                return False
            shown = relevant(name, self.state, self.current_line())
            return shown if action == "why" else not shown
        return None

    def action_why(self, action: str) -> None:
        message = self.refusal_for(action)
        if message:
            self.explain(message, title=f"{ACTIONS[action][1]} {LOCK}")

    def action_why_not(self, action: str) -> None:
        self.action_why(action)

    def run_or_explain(self, action: str) -> None:
        """For the command palette: do the action, or say why it cannot be done."""
        if self.refusal_for(action):
            self.action_why(action)
        else:
            getattr(self, f"action_{action}")()
