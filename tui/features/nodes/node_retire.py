"""Retire a node, or reinstate a retired one, as dialogs (help/nodes.md, "Retiring a node").

The retire dialog reads the service's plan (``preview_retire``): the node's pending and approved
reservations not ended yet. When there are any, it asks what happens to them, with the choices
the service supports (cancel them, or keep them), and a reason. The service's ``check_retire``
judges the answer as it is given; the retirement itself checks again, against the version of
the node the dialog was opened on.
"""

from __future__ import annotations

from nodedesk.core.errors import NodedeskError
from nodedesk.core.fieldcheck import FieldProblem
from nodedesk.core.services.nodes import inventory
from nodedesk.core.services.nodes import node_lifecycle as svc
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.widgets import Button, Input, RadioSet, Static

from ...kit import render
from ...kit.dialog import ActionDialog
from ...kit.form_parts import set_text
from ...kit.workers import run_db
from ...session import session_of
from ...widgets.choice import Choice

CHOICE_WORDS = {
    "cancel": "cancel them (each one audited; not if it has started)",
    "keep": "keep them (they run and are billed as booked)",
}


class RetireNodeScreen(ActionDialog[svc.RetireResult | None]):
    CSS_PATH = "nodes.tcss"

    BINDINGS = [
        Binding("escape", "cancel", "Cancel"),
        Binding("ctrl+s", "confirm", "Retire"),
    ]

    def __init__(self, row: svc.NodeRow) -> None:
        super().__init__()
        self.row = row
        self.plan: svc.RetirePlan | None = None
        self.busy = False

    def compose(self) -> ComposeResult:
        name = render.one_line(self.row.name, max_len=40)
        with Vertical(classes="dialog", id="retire-dialog"):
            yield Static(Content.styled(f"Retire node {name}?", "bold"), classes="dialog-title")
            yield Static(
                Content(
                    "It leaves service now and can no longer be booked (it becomes not rentable); "
                    "its reservations, windows, outages and activity stay."
                ),
                classes="dialog-text",
            )
            with VerticalScroll(id="retire-plan"):
                yield Static(Content("Reading its reservations…"), id="retire-plan-text")
            with RadioSet(id="reservations"):
                for choice in svc.RESERVATION_CHOICES:
                    yield Choice(CHOICE_WORDS.get(choice, choice), name=choice)
            yield Static(id="reservations-error", classes="field-error")
            yield Input(placeholder="reason (optional), e.g. end of warranty", id="reason", compact=True)
            yield Static(id="reason-error", classes="field-error")
            yield Static(id="retire-error", classes="field-error")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Retire (ctrl+s)", id="retire", variant="error", compact=True, disabled=True)
                yield Button("Cancel (esc)", id="cancel", compact=True)

    def on_mount(self) -> None:
        for box in ("#reservations-error", "#reason-error", "#retire-error"):
            set_text(self, box, "")
        self.query_one("#reservations", RadioSet).display = False
        self.query_one("#cancel", Button).focus()
        name = self.row.name
        run_db(self, lambda ctx: svc.preview_retire(ctx, name), on_done=self._planned, on_error=self._failed)

    # ------------------------------------------------------------------ the plan and its check

    def _planned(self, plan: svc.RetirePlan) -> None:
        self.plan = plan
        tz = session_of(self).tz
        if plan.reservations:
            lines = [f"{len(plan.reservations)} pending or approved reservation(s) not ended yet:"]
            for r in plan.reservations:
                started = " (started)" if r.start <= plan.now else ""
                start = render.when(r.start, tz, compact=True, now=plan.now)
                end = render.when(r.end, tz, compact=True, now=plan.now)
                project = render.one_line(r.project, max_len=24)
                lines.append(f"  #{r.id} {r.status} {project}  {start} → {end}{started}")
            lines.append("What happens to them?")
            self.query_one("#reservations", RadioSet).display = True
        else:
            lines = ["It has no pending or approved reservation from now on."]
        self.query_one("#retire-plan-text", Static).update(Content("\n".join(lines)))
        self.query_one("#retire", Button).disabled = False
        if plan.reservations:
            self.query_one("#reservations", RadioSet).focus()
        self.check()

    def choice(self) -> str | None:
        button = self.query_one("#reservations", RadioSet).pressed_button
        return button.name if button is not None else None

    def check(self, *, final: bool = False) -> None:
        """Ask the service about the answer so far; its refusals go under the field they name."""
        if self.plan is None:
            return
        name, choice, reason = self.row.name, self.choice(), self.query_one("#reason", Input).value
        run_db(
            self,
            lambda ctx: svc.check_retire(ctx, name, reservations_choice=choice, reason=reason),
            on_done=lambda problems: self._show(problems, final=final),
            on_error=self._failed,
            group="retire-check",
            exclusive=True,
        )

    def _show(self, problems: list[FieldProblem], *, final: bool) -> None:
        marks = {"reservations": "", "reason": "", "": ""}
        for p in problems:
            key = p.field if p.field in ("reservations", "reason") else ""
            if not marks[key]:
                marks[key] = str(p.error) if not key else p.message
        # Not choosing yet is no mistake until Retire is pressed.
        undecided = self.choice() is None and not final
        set_text(self, "#reservations-error", "" if undecided else marks["reservations"])
        set_text(self, "#reason-error", marks["reason"])
        set_text(self, "#retire-error", marks[""])
        if final and not problems:
            self._retire()
        elif final:
            self.busy = False
            self.query_one("#retire", Button).disabled = False

    def _failed(self, exc: NodedeskError) -> None:
        self.busy = False
        set_text(self, "#retire-error", render.one_line(str(exc)))
        self.query_one("#retire", Button).disabled = self.plan is None

    @on(RadioSet.Changed)
    def _chosen(self) -> None:
        self.check()

    @on(Input.Changed, "#reason")
    def _reason_changed(self) -> None:
        self.check()

    @on(Input.Submitted, "#reason")
    def _reason_submitted(self) -> None:
        self.action_confirm()

    @on(Button.Pressed, "#retire")
    def _retire_pressed(self) -> None:
        self.action_confirm()

    # ------------------------------------------------------------------ actions

    def action_confirm(self) -> None:
        if self.busy or self.plan is None:
            return
        self.busy = True
        self.query_one("#retire", Button).disabled = True
        self.check(final=True)

    def _retire(self) -> None:
        name, version = self.row.name, self.row.version
        choice, reason = self.choice(), self.query_one("#reason", Input).value
        run_db(
            self,
            lambda ctx: svc.retire_node(
                ctx, name, reservations_choice=choice, reason=reason, expected_version=version
            ),
            on_done=self._retired,
            on_error=self._failed,
            write=True,
            group="retire",
        )

    def _retired(self, result: svc.RetireResult) -> None:
        lines = [f"Retired node {result.node.name}; it can no longer be booked."]
        if result.cancelled:
            lines.append("Cancelled: " + ", ".join(f"#{r.id}" for r in result.cancelled))
        if result.kept:
            lines.append("Kept: " + ", ".join(f"#{r.id}" for r in result.kept))
        self.notify("\n".join(lines), title="Retired", markup=False)
        self.dismiss(result)


class ReinstateNodeScreen(ActionDialog[inventory.NodeView | None]):
    CSS_PATH = "nodes.tcss"

    BINDINGS = [
        Binding("escape", "cancel", "Cancel"),
        Binding("ctrl+s", "confirm", "Reinstate"),
    ]

    def __init__(self, row: svc.NodeRow) -> None:
        super().__init__()
        self.row = row
        self.busy = False

    def compose(self) -> ComposeResult:
        name = render.one_line(self.row.name, max_len=40)
        with Vertical(classes="dialog", id="reinstate-dialog"):
            yield Static(Content.styled(f"Reinstate node {name}?", "bold"), classes="dialog-title")
            yield Static(
                Content(
                    "It comes back into service and stays not rentable until you make it rentable "
                    "(b on the node list)."
                ),
                classes="dialog-text",
            )
            yield Input(placeholder="reason (optional), e.g. repaired", id="reason", compact=True)
            yield Static(id="reinstate-error", classes="field-error")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Reinstate (ctrl+s)", id="reinstate", variant="primary", compact=True)
                yield Button("Cancel (esc)", id="cancel", compact=True)

    def on_mount(self) -> None:
        set_text(self, "#reinstate-error", "")
        self.query_one("#reason", Input).focus()

    @on(Input.Submitted, "#reason")
    @on(Button.Pressed, "#reinstate")
    def _confirm(self) -> None:
        self.action_confirm()

    def action_confirm(self) -> None:
        if self.busy:
            return
        self.busy = True
        self.query_one("#reinstate", Button).disabled = True
        name, version, reason = self.row.name, self.row.version, self.query_one("#reason", Input).value
        run_db(
            self,
            lambda ctx: svc.reinstate_node(ctx, name, reason=reason, expected_version=version),
            on_done=self._done,
            on_error=self._failed,
            write=True,
        )

    def _failed(self, exc: NodedeskError) -> None:
        self.busy = False
        self.query_one("#reinstate", Button).disabled = False
        set_text(self, "#reinstate-error", "Not reinstated: " + render.one_line(str(exc)))

    def _done(self, view: inventory.NodeView) -> None:
        self.notify(f"Reinstated node {view.name}; it is not rentable yet.", title="Reinstated", markup=False)
        self.dismiss(view)
