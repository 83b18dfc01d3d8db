"""The confirmation dialog for approving, declining or cancelling a reservation.

It names the reservation, says what the decision does, takes the reason (required to decline)
and only then calls the service, which re-checks everything (for an approval: node still
rentable, project still active, no overlap, month not finalized). A refusal is shown in the
dialog, which stays open so the user can read it; nothing was changed.
"""

from __future__ import annotations

from nodedesk.core.errors import LockedError, NodedeskError
from nodedesk.core.services.rentals import reservations as svc
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Static

from ...kit import render
from ...kit import rental_render as rr
from ...kit.workers import run_db
from ...widgets.tickbox import TickBox

VERB = {"approve": "Approve", "decline": "Decline", "cancel": "Cancel"}
DONE = {"approve": "Approved", "decline": "Declined", "cancel": "Cancelled"}


class DecideReservationScreen(ModalScreen[svc.ReservationResult | None]):
    BINDINGS = [
        Binding("escape", "back", "Back"),
        Binding("ctrl+s", "confirm", "Confirm"),
    ]

    def __init__(self, what: str, reservation: svc.ReservationView) -> None:
        super().__init__()
        if what not in VERB:
            raise ValueError(f"bad decision {what!r}")
        self.what = what
        self.reservation = reservation
        self.busy = False

    def _explanation(self) -> str:
        r = self.reservation
        if self.what == "approve":
            return (
                "Approving re-checks that the node is still rentable, the project still active and "
                "that nothing overlaps. Approved reservations are billed."
            )
        if self.what == "decline":
            return "Declining is final and frees the slot. A reason is required (kept in the activity log)."
        billed = " It will no longer be billed." if r.status == "approved" else ""
        return f"Cancelling is final and frees the slot.{billed} A reason is optional."

    def compose(self) -> ComposeResult:
        r = self.reservation
        tz = self.app.session.tz  # type: ignore[attr-defined]
        lines = [
            Content.assemble(
                (f"#{r.id} ", "bold"),
                (render.one_line(r.node), "bold"),
                " for ",
                (render.one_line(r.project, max_len=50), "bold $accent"),
                f" · for {render.one_line(r.requested_for)}",
            ),
            Content.assemble(
                rr.span(r.start, r.end, tz),
                f" · {r.blocks} block(s) · {rr.hours(r.hours)} · ",
                rr.as_content(rr.reservation_status(r.status)),
            ),
        ]
        if r.downtime:
            lines.append(
                Content.styled(
                    f"Overlaps downtime: {rr.hours(r.downtime_hours)} of it will not be billed.", "$warning"
                )
            )
        with Vertical(classes="dialog", id="decide-dialog"):
            yield Static(
                Content.styled(f"{VERB[self.what]} reservation #{r.id}?", "bold"), classes="dialog-title"
            )
            yield Static(Content("\n").join(lines), classes="dialog-text")
            yield Static(Content(self._explanation()), classes="dialog-text")
            placeholder = "reason (required)" if self.what == "decline" else "reason (optional)"
            yield Input(placeholder=placeholder, id="reason", max_length=2000, compact=True)
            yield TickBox(
                "Admin correction: the finalized month is flagged as drifted (reason required)",
                id="correction",
                compact=True,
            )
            yield Static(id="decide-error", classes="field-error")
            with Horizontal(classes="dialog-buttons"):
                variant = "success" if self.what == "approve" else "error"
                yield Button(
                    f"{VERB[self.what]} reservation (ctrl+s)", id="confirm", variant=variant, compact=True
                )
                yield Button("Back, change nothing (esc)", id="back", compact=True)

    def on_mount(self) -> None:
        self.query_one("#decide-error").display = False
        self.query_one("#correction").display = False  # offered when a finalized month refuses
        if self.what == "approve":
            self.query_one("#confirm", Button).focus()
        else:
            self.query_one("#reason", Input).focus()

    def _show_error(self, message: str) -> None:
        box = self.query_one("#decide-error", Static)
        box.update(Content(message))
        box.display = bool(message)

    @on(Button.Pressed, "#confirm")
    def _confirm_pressed(self) -> None:
        self.action_confirm()

    @on(Button.Pressed, "#back")
    def _back_pressed(self) -> None:
        self.action_back()

    @on(Input.Submitted, "#reason")
    def _reason_submitted(self) -> None:
        self.action_confirm()

    def action_back(self) -> None:
        if not self.busy:
            self.dismiss(None)

    def action_confirm(self) -> None:
        if self.busy:
            return
        reason = self.query_one("#reason", Input).value
        correction = self.query_one("#correction", TickBox).value
        if (self.what == "decline" or correction) and not reason.strip():
            why = "for an admin correction" if correction else ""
            self._show_error(f"Not {DONE[self.what].lower()}: a reason is required {why}".rstrip() + ".")
            self.query_one("#reason").focus()
            return
        self._show_error("")
        self.busy = True
        self.query_one("#confirm", Button).disabled = True
        rid, version, what = self.reservation.id, self.reservation.version, self.what

        def work(ctx):  # type: ignore[no-untyped-def]
            if what == "approve":
                return svc.approve_reservation(
                    ctx, rid, expected_version=version, reason=reason, correction=correction
                )
            if what == "decline":
                return svc.decline_reservation(ctx, rid, reason, expected_version=version)
            return svc.cancel_reservation(
                ctx, rid, reason=reason, expected_version=version, correction=correction
            )

        run_db(self, work, on_done=self._done, on_error=self._refused, write=True, group="decide")

    def _refused(self, exc: NodedeskError) -> None:
        self.busy = False
        self.query_one("#confirm", Button).disabled = False
        message = str(exc)
        finalized = isinstance(exc, LockedError) and "finalized invoice" in message
        if finalized and self.app.session.can("correct"):  # type: ignore[attr-defined]
            message = message.replace(
                "an admin correction (--correct --reason) is needed",
                "tick 'Admin correction' and give a reason to do it anyway",
            )
            self.query_one("#correction").display = True
        elif finalized:
            message = message.replace("(--correct --reason) ", "by an admin ")
        self._show_error(f"Refused, nothing changed: {message}")

    def _done(self, result: svc.ReservationResult) -> None:
        tz = self.app.session.tz  # type: ignore[attr-defined]
        r = result.reservation
        lines = [
            f"{DONE[self.what]} reservation #{r.id} ({render.one_line(r.node)}, "
            f"{render.one_line(r.project, max_len=40)})."
        ]
        if self.what == "approve" and r.downtime:
            lines.append(f"Note: it overlaps downtime; {rr.hours(r.downtime_hours)} will not be billed:")
            lines += ["  " + rr.downtime_line(d, tz) for d in r.downtime[:3]]
        if result.drifted_months:
            lines.append("Finalized invoices now drifted: " + ", ".join(result.drifted_months))
        self.notify("\n".join(lines), title=DONE[self.what], markup=False, timeout=8)
        self.dismiss(result)
