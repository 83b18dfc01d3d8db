"""Delete confirmation: what is deleted and which reservations get billable hours back.

The dialog reads the window afresh before it offers the delete (the screen behind may show an
older version: another admin may have changed it), shows the window as read, and deletes exactly
that version: when it changed in between, nothing is deleted and the dialog shows it again as it
is now, to be confirmed once more (help/windows.md).
"""

from __future__ import annotations

from nodedesk.core import timeutil
from nodedesk.core.errors import ConflictError, NodedeskError
from nodedesk.core.services.downtime import windows as svc
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.widgets import Button, Input, Static

from ...kit import render
from ...kit.dialog import ActionDialog
from ...kit.workers import run_db
from ...session import session_of


class DeleteWindowScreen(ActionDialog[svc.DeleteResult | None]):
    BINDINGS = [
        Binding("escape", "cancel", "Cancel"),
        Binding("ctrl+d", "confirm", "Delete"),
    ]

    def __init__(self, window: svc.WindowView, *, correction: bool = False) -> None:
        super().__init__()
        self.window = window
        self.correction = correction
        self.preview: svc.DeleteResult | None = None
        self.busy = False

    def compose(self) -> ComposeResult:
        w = self.window
        heading = f"Delete window #{w.id}?" if not self.correction else f"Delete window #{w.id} (correction)?"
        with Vertical(classes="dialog", id="delete-dialog"):
            yield Static(Content.styled(heading, "bold"), classes="dialog-title")
            yield Static(self._window_text(w), id="delete-window", classes="dialog-text")
            yield Static(id="delete-changed", classes="dialog-text warning")
            with VerticalScroll(id="impact"):
                yield Static(Content("Billing impact: checking reservations…"), id="impact-text")
            if self.correction:
                yield Static(
                    Content(
                        "An admin correction of a locked window: it is audited with the reason, and "
                        "finalized invoices of the months it touches are flagged as drifted."
                    ),
                    classes="dialog-text warning",
                )
                yield Input(placeholder="reason (required)", id="reason", compact=True)
            yield Static(id="delete-error", classes="field-error")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Delete (ctrl+d)", id="delete", variant="error", compact=True, disabled=True)
                yield Button("Cancel (esc)", id="cancel", compact=True)

    def _window_text(self, w: svc.WindowView) -> Content:
        tz = session_of(self).tz
        return Content.assemble(
            (render.one_line(w.title, max_len=70), "bold $accent"),
            f"\n{timeutil.format_local(w.start, tz)} → {timeutil.format_local(w.end, tz)}"
            f" · {timeutil.format_duration(w.duration)}\nScope: {render.one_line(w.scope.label())}"
            f" · {render.STATUS_WORD[w.status]}",
        )

    def on_mount(self) -> None:
        self.query_one("#delete-error").display = False
        self.query_one("#delete-changed").display = False
        (self.query_one("#reason") if self.correction else self.query_one("#cancel")).focus()
        self.review()

    def review(self) -> None:
        """Read the window and its billing impact as they are now (in a worker), then show them."""
        self.preview = None
        self.query_one("#delete", Button).disabled = True
        window_id = self.window.id
        run_db(
            self,
            lambda ctx: svc.preview_delete(ctx, window_id),
            on_done=self._previewed,
            on_error=self._failed,
        )

    def _previewed(self, preview: svc.DeleteResult) -> None:
        self.preview = preview
        tz = session_of(self).tz
        fresh = preview.window
        changed = self.query_one("#delete-changed", Static)
        changed.display = fresh.version != self.window.version
        if changed.display:
            changed.update(
                Content(
                    f"Changed by {render.one_line(fresh.modified_by)} since it was shown "
                    f"(version {self.window.version} → {fresh.version}): this is the window now."
                )
            )
        self.window = fresh  # what the dialog shows is what it deletes
        self.query_one("#delete-window", Static).update(self._window_text(fresh))
        if preview.impact:
            lines = [f"Billing impact: {len(preview.impact)} reservation(s) get billable hours back:"]
            for i in preview.impact:
                hours = abs(i.delta_hours)
                lines.append(
                    f"  • reservation #{i.reservation_id} on {render.one_line(i.node)} for "
                    f"{render.one_line(i.project, max_len=40)} ({i.status})"
                )
                lines.append(
                    f"    {timeutil.format_short(i.start, tz)} → {timeutil.format_short(i.end, tz)}: "
                    f"{hours:.2f} h billable again"
                )
        else:
            lines = [
                "Billing impact: no pending or approved reservation overlaps this window; "
                "nothing becomes billable again."
            ]
        self.query_one("#impact-text", Static).update(Content("\n".join(lines)))
        self.query_one("#delete", Button).disabled = False

    def _failed(self, exc: NodedeskError) -> None:
        self.busy = False
        box = self.query_one("#delete-error", Static)
        box.update(Content(str(exc)))
        box.display = True
        self.query_one("#delete", Button).disabled = self.preview is None
        if isinstance(exc, ConflictError) and exc.field == "version":
            box.update(Content(f"Not deleted: {exc}. Shown again as it is now: confirm once more."))
            self.review()

    @on(Button.Pressed, "#delete")
    def _delete_pressed(self) -> None:
        self.action_confirm()

    @on(Input.Submitted, "#reason")
    def _reason_submitted(self) -> None:
        self.action_confirm()

    def action_confirm(self) -> None:
        if self.busy or self.preview is None:
            return
        reason = self.query_one("#reason", Input).value if self.correction else ""
        if self.correction and not reason.strip():
            self._failed(NodedeskError("is required for a correction", field="reason"))
            self.query_one("#reason").focus()
            return
        self.busy = True
        self.query_one("#delete", Button).disabled = True
        window_id, version, correction = self.window.id, self.window.version, self.correction
        run_db(
            self,
            lambda ctx: svc.delete_window(
                ctx, window_id, expected_version=version, correction=correction, reason=reason
            ),
            on_done=self._deleted,
            on_error=self._failed,
            write=True,
            group="delete",
        )

    def _deleted(self, result: svc.DeleteResult) -> None:
        tz = session_of(self).tz
        lines = [f"Deleted window #{result.window.id} {render.one_line(result.window.title, max_len=40)!r}."]
        lines += [render.one_line(i.describe(tz)) for i in result.impact[:5]]
        if result.drifted_months:
            lines.append("Finalized invoices now drifted: " + ", ".join(result.drifted_months))
        self.notify("\n".join(lines), title="Deleted", markup=False, timeout=8)
        self.dismiss(result)
