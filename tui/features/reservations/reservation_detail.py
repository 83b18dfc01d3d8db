"""One reservation: every field, its decision, and the downtime that overlaps it (not billed)."""

from __future__ import annotations

from nodedesk.core import timeutil
from nodedesk.core.errors import NodedeskError, NotFoundError
from nodedesk.core.services.rentals import reservations as svc
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.content import Content
from textual.widgets import Static

from ...kit import render
from ...kit import rental_render as rr
from ...kit.base import NodedeskScreen
from .reservation_actions import RESERVATION_ACTION_BINDINGS, ReservationActionsMixin, decision_refusal


class ReservationDetailScreen(ReservationActionsMixin, NodedeskScreen):
    SECTION = "reservations"
    HELP_TOPIC = "reservations"
    HELP_TITLE = "reservation detail"

    BINDINGS = [
        Binding("escape", "back", "Back"),
        *RESERVATION_ACTION_BINDINGS,
        Binding("r", "reload", "Reload", show=False),
        Binding("j", "scroll('down')", "Down", show=False),
        Binding("k", "scroll('up')", "Up", show=False),
    ]

    def __init__(self, reservation_id: int) -> None:
        super().__init__()
        self.reservation_id = reservation_id
        self.reservation: svc.ReservationView | None = None
        self.changed: svc.ReservationResult | None = None  # handed back to the list on escape

    def crumbs(self) -> tuple[str, ...]:
        return (f"#{self.reservation_id}",)

    def compose_body(self) -> ComposeResult:
        with VerticalScroll(id="detail-body"):
            yield Static(Content("Loading…"), id="detail-fields")
            yield Static(id="detail-downtime")
            yield Static(id="detail-notes")
            yield Static(id="detail-meta")
            yield Static(id="detail-hint")

    def on_mount(self) -> None:
        self.query_one("#detail-body").focus()
        self.reload()

    def reload(self) -> None:
        rid = self.reservation_id
        self.db(lambda ctx: svc.get_reservation(ctx, rid), self._show, on_error=self._failed, group="detail")

    def _failed(self, exc: NodedeskError) -> None:
        if isinstance(exc, NotFoundError):
            self.explain(f"Reservation #{self.reservation_id} no longer exists.", "Gone")
            self.dismiss(self.changed)
            return
        self.refused(exc, "Could not load the reservation")

    def _show(self, r: svc.ReservationView) -> None:
        self.reservation = r
        tz, now = self.session.tz, self.session.now()
        width = 10

        def row(label: str, value: Content | str) -> Content:
            return Content.assemble((label.ljust(width), "bold"), value)

        phase = r.phase(now).replace("_", " ")
        rows = [
            Content.assemble(
                (f"#{r.id}  ", "bold"),
                (render.one_line(r.node), "bold"),
                " for ",
                (render.one_line(r.project), "bold $accent"),
            ),
            Content(""),
            row("Status", Content.assemble(rr.as_content(rr.reservation_status(r.status)), f"  ({phase})")),
            row("Node", f"{render.one_line(r.node)} ({render.one_line(r.node_type)})"),
            row("Project", render.one_line(r.project)),
            row("For", render.one_line(r.requested_for)),
            row("Start", rr.with_weekday(r.start, tz)),
            row("End", rr.with_weekday(r.end, tz)),
            row("Length", f"{r.blocks} block(s) · {rr.hours(r.hours)} elapsed"),
            row("Policy", "waived by a rental manager (lead time / horizon)" if r.policy_waived else "met"),
            row("Created", f"{timeutil.format_local(r.created_at, tz)} by {render.one_line(r.created_by)}"),
        ]
        if r.decided_at is not None:
            decided = timeutil.format_local(r.decided_at, tz)
            rows.append(row("Decided", f"{r.status} {decided} by {render.one_line(r.decided_by)}"))
        if r.decision_reason:
            rows.append(row("Reason", render.one_line(r.decision_reason)))
        self.query_one("#detail-fields", Static).update(Content("\n").join(rows))
        meta = [row("Version", str(r.version)), row("UUID", r.uuid)]
        self.query_one("#detail-meta", Static).update(Content("\n").join(meta))

        notes = self.query_one("#detail-notes", Static)
        if r.notes:
            notes.update(Content.assemble(("Notes\n", "bold"), render.content(r.notes, multiline=True)))
        else:
            notes.update(Content.styled("No notes.", "dim"))

        down = self.query_one("#detail-downtime", Static)
        if r.downtime:
            lines = [
                Content.styled(
                    f"⚠ Downtime inside this reservation: {rr.hours(r.downtime_hours)} of "
                    f"{rr.hours(r.hours)} will not be billed",
                    "bold $warning",
                )
            ]
            lines += [Content("  • " + rr.downtime_line(d, tz)) for d in r.downtime]
            down.update(Content("\n").join(lines))
        else:
            down.update(Content.styled("No downtime overlaps this reservation.", "dim"))
        self.query_one("#detail-hint", Static).update(Content.styled(self._hint(r), "dim"))
        self.refresh_bindings()

    def _hint(self, r: svc.ReservationView) -> str:
        keys = []
        if r.status == "pending" and not decision_refusal(self.session, "approve"):
            keys += ["a approve", "x decline"]
        if r.status in svc.ACTIVE and not decision_refusal(self.session, "cancel"):
            keys.append("d cancel")
        if r.status not in svc.ACTIVE:
            keys.append(f"{r.status} is final")
        elif not keys:
            keys.append(decision_refusal(self.session, "approve"))
        return " · ".join([*keys, "escape back"])

    # ------------------------------------------------------------------ actions

    def current_reservation(self) -> svc.ReservationView | None:
        return self.reservation

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        state = self.reservation_action_state(action, parameters)
        return True if state is None else state

    def action_back(self) -> None:
        self.dismiss(self.changed)

    def action_reload(self) -> None:
        self.reload()

    def action_scroll(self, direction: str) -> None:
        body = self.query_one("#detail-body", VerticalScroll)
        body.scroll_down() if direction == "down" else body.scroll_up()

    def open_decision(self, what: str, reservation: svc.ReservationView) -> None:
        from .reservation_decide import DecideReservationScreen

        self.app.push_screen(DecideReservationScreen(what, reservation), self._decided)

    def _decided(self, result: svc.ReservationResult | None) -> None:
        if result is not None:
            self.changed = result
            self._show(result.reservation)
