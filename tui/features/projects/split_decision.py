"""Approve or reject a pending cost split, after seeing what it changes.

The dialog names the version, its parts and what was in force on its effective date until now.
Approving is confirmed with ``y``; rejecting needs a reason. The version decided is the one shown
(by id): if someone replaced it meanwhile, the service refuses and the dialog says so.
"""

from __future__ import annotations

from nodedesk.core.errors import NodedeskError
from nodedesk.core.services.rentals import projects, splits
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.widgets import Button, Input, Static

from ...kit import render
from ...kit.dialog import ActionDialog
from ...kit.form_parts import set_text
from ...kit.workers import run_db
from .project_actions import compact_split


class SplitDecisionScreen(ActionDialog[splits.SplitView | None]):
    BINDINGS = [
        Binding("escape", "cancel", "Cancel"),
        Binding("y", "yes", "Approve", show=False),
        Binding("n", "cancel", "No", show=False),
        Binding("ctrl+s", "confirm", "Confirm", show=False),
    ]

    def __init__(self, project: projects.ProjectView, pending: splits.SplitView, decision: str) -> None:
        super().__init__()
        if decision not in ("approve", "reject"):
            raise ValueError(decision)
        self.project = project
        self.pending = pending
        self.decision = decision
        self.busy = False

    def compose(self) -> ComposeResult:
        v, approve = self.pending, self.decision == "approve"
        verb = "Approve" if approve else "Reject"
        parts = "\n".join(f"  {p.cost_object:<24} {splits.format_percent(p.percent):>9} %" for p in v.parts)
        with Vertical(classes="dialog", id="decision-dialog"):
            yield Static(
                Content.assemble(
                    (f"{verb} split #{v.id} of ", "bold"),
                    (render.one_line(self.project.title, max_len=50), "bold $accent"),
                    ("?", "bold"),
                ),
                classes="dialog-title",
            )
            yield Static(
                Content(
                    f"Effective {v.effective_date.isoformat()} · proposed by {render.one_line(v.created_by)}"
                ),
            )
            yield Static(Content(parts), id="decision-parts", classes="dialog-text")
            yield Static(
                Content("Until now on that day: checking…"), id="decision-before", classes="dialog-text"
            )
            if approve:
                yield Static(
                    Content(
                        "Once approved it is the split in force from its effective date until the next "
                        "approved version; charges on those days are shared this way."
                    ),
                    classes="dialog-text",
                )
            else:
                yield Static(Content.styled("Reason (required, kept in the activity log):", "bold"))
                yield Input(placeholder="e.g. the award number is wrong", id="reason", compact=True)
            yield Static(id="decision-error", classes="field-error")
            with Horizontal(classes="dialog-buttons"):
                label = "Approve (y)" if approve else "Reject (enter)"
                yield Button(label, id="confirm", variant="success" if approve else "error", compact=True)
                yield Button("Cancel (esc)", id="cancel", compact=True)

    def on_mount(self) -> None:
        set_text(self, "#decision-error", "")
        (self.query_one("#reason") if self.decision == "reject" else self.query_one("#cancel")).focus()
        project_id, day = self.project.id, self.pending.effective_date
        run_db(
            self,
            lambda ctx: splits.split_in_force(ctx, project_id, day),
            on_done=self._before_loaded,
            on_error=lambda exc: None,
        )

    def _before_loaded(self, before: splits.SplitView | None) -> None:
        text = compact_split(before) if before else "UNALLOCATED (no approved split)"
        self.query_one("#decision-before", Static).update(
            Content(f"Until now on {self.pending.effective_date.isoformat()}: {render.one_line(text)}")
        )

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return self.decision == "approve" if action == "yes" else True

    def action_yes(self) -> None:
        self.action_confirm()

    @on(Button.Pressed, "#confirm")
    def _confirm_pressed(self) -> None:
        self.action_confirm()

    @on(Input.Submitted, "#reason")
    def _reason_submitted(self) -> None:
        self.action_confirm()

    def action_confirm(self) -> None:
        if self.busy:
            return
        project_id, version_id = self.project.id, self.pending.id
        if self.decision == "approve":
            work = lambda ctx: splits.approve_split(ctx, project_id, version_id=version_id)  # noqa: E731
        else:
            reason = self.query_one("#reason", Input).value
            if not reason.strip():
                set_text(self, "#decision-error", "reason: is required to reject a split")
                self.query_one("#reason").focus()
                return
            work = lambda ctx: splits.reject_split(ctx, project_id, reason, version_id=version_id)  # noqa: E731
        self.busy = True
        self.query_one("#confirm", Button).disabled = True
        run_db(self, work, on_done=self._decided, on_error=self._refused, write=True, group="decide")

    def _refused(self, exc: NodedeskError) -> None:
        self.busy = False
        self.query_one("#confirm", Button).disabled = False
        set_text(self, "#decision-error", "Refused: " + str(exc))

    def _decided(self, result: splits.SplitView) -> None:
        verb = "Approved" if result.status == "approved" else "Rejected"
        self.notify(
            f"{verb} split #{result.id} of {render.one_line(result.project, max_len=40)!r} "
            f"(from {result.effective_date.isoformat()}).",
            title=verb,
            markup=False,
        )
        self.dismiss(result)
