"""The one confirmation of an action on a list's marked rows (approve, decline or cancel
reservations; delete windows): core/services/rentals/bulk.py decides, this dialog shows it.

On opening, the service goes through every marked item in a dry-run unit of work (rolled back)
and says what would happen to each: its id, what it is (node and project, or title), its status
before and after, or why it would be refused. Confirming makes one service call, in one
transaction, for the items that would go through, each checked against the version the dialog
showed: if anything changed meanwhile the call is refused whole (nothing changed) and the dialog
reads the items again to be confirmed once more (help/reservations.md, help/windows.md,
"Several at once").
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from nodedesk.core.context import ServiceContext
from nodedesk.core.errors import NodedeskError
from nodedesk.core.services.rentals.bulk import BulkItem, BulkResult
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.widgets import Button, Input, Static
from textual.widgets.button import ButtonVariant

from ..session import session_of
from . import render
from .dialog import ActionDialog
from .form_parts import set_text
from .workers import run_db

# (ctx, ids, reason, expected versions, preview) -> the service's answer
BulkCall = Callable[[ServiceContext, list[int], str, Mapping[int, int] | None, bool], BulkResult]
OK, REFUSED = "✓", "✗"
# A decline needs a reason; the preview is asked before one is typed, with this stand-in (the
# dry run is rolled back; the saving call gets the reason typed, and refuses an empty one).
PREVIEW_REASON = "(the reason given when confirming)"


@dataclass(frozen=True)
class BulkAction:
    """What the dialog offers: the words, the reason field and the service call."""

    verb: str  # "Approve"
    done: str  # "approved"
    noun: str  # "reservation"
    meaning: str  # one or two sentences: what the action does
    call: BulkCall
    reason: str = "optional"  # required | optional | none
    variant: ButtonVariant = "warning"

    def count(self, n: int) -> str:
        return f"{n} {self.noun}{'s' if n != 1 else ''}"


def item_lines(item: BulkItem, tz: str) -> list[str]:
    """An item as the dialog lists it: what happens to it, or why it is refused."""
    lines = [f"{OK if item.ok else REFUSED} {render.one_line(item.describe(tz), max_len=300)}"]
    lines += [f"    {render.one_line(i.describe(tz), max_len=200)}" for i in item.impact]
    return lines


class BulkConfirmScreen(ActionDialog[BulkResult | None]):
    BINDINGS = [
        Binding("escape", "cancel", "Cancel"),
        Binding("ctrl+s", "confirm", "Confirm"),
    ]

    def __init__(self, action: BulkAction, ids: list[int]) -> None:
        super().__init__()
        self.action = action
        self.ids = ids
        self.preview: BulkResult | None = None
        self.busy = False

    def compose(self) -> ComposeResult:
        a = self.action
        with Vertical(classes="dialog", id="bulk-dialog"):
            yield Static(
                Content.styled(f"{a.verb} {a.count(len(self.ids))}?", "bold"), classes="dialog-title"
            )
            yield Static(Content(a.meaning), classes="dialog-text")
            with VerticalScroll(id="bulk-items"):
                yield Static(Content(f"Checking each {a.noun}…"), id="bulk-items-text")
            yield Static(id="bulk-summary", classes="dialog-text")
            if a.reason != "none":
                yield Input(placeholder=f"reason ({a.reason})", id="reason", max_length=2000, compact=True)
            yield Static(id="bulk-error", classes="field-error")
            with Horizontal(classes="dialog-buttons"):
                yield Button(
                    f"{a.verb} (ctrl+s)", id="confirm", variant=a.variant, compact=True, disabled=True
                )
                yield Button("Back, change nothing (esc)", id="back", compact=True)

    def on_mount(self) -> None:
        set_text(self, "#bulk-error", "")
        focus = "#reason" if self.action.reason == "required" else "#back"
        self.query_one(focus).focus()
        self.review()

    @property
    def reason(self) -> str:
        return self.query_one("#reason", Input).value if self.action.reason != "none" else ""

    def review(self) -> None:
        """Ask the service what would happen to each item (a dry run, in a worker)."""
        self.preview = None
        self.query_one("#confirm", Button).disabled = True
        call, ids = self.action.call, self.ids
        reason = self.reason or (PREVIEW_REASON if self.action.reason == "required" else "")
        run_db(
            self,
            lambda ctx: call(ctx, ids, reason, None, True),
            on_done=self._previewed,
            on_error=self._failed,
            write=True,
            dry_run=True,
            group="bulk-preview",
        )

    def _previewed(self, preview: BulkResult) -> None:
        a, tz = self.action, session_of(self).tz
        self.preview = preview
        lines = [line for item in preview.items for line in item_lines(item, tz)]
        self.query_one("#bulk-items-text", Static).update(Content("\n".join(lines)))
        ok = [i for i in preview.items if i.ok]
        summary = f"{a.count(len(ok))} will be {a.done}, in one transaction."
        if preview.refused:
            summary += f" {len(preview.refused)} refused ({REFUSED}): left as they are."
        if not ok:
            summary = f"Nothing to do: every marked {a.noun} would be refused ({REFUSED})."
        set_text(self, "#bulk-summary", summary)
        button = self.query_one("#confirm", Button)
        button.label = f"{a.verb} {len(ok)} (ctrl+s)"
        button.disabled = not ok
        button.refresh(layout=True)  # the label's width changed

    def _failed(self, exc: NodedeskError) -> None:
        self.busy = False
        set_text(self, "#bulk-error", f"Refused: {exc}")
        if self.preview is not None:  # the items changed since they were shown: show them as they are
            self.review()

    @on(Button.Pressed, "#confirm")
    @on(Input.Submitted, "#reason")
    def _confirm_pressed(self) -> None:
        self.action_confirm()

    @on(Button.Pressed, "#back")
    def _back_pressed(self) -> None:
        self.action_cancel()

    def action_confirm(self) -> None:
        preview = self.preview
        if self.busy or preview is None:
            return
        ok = [i.id for i in preview.items if i.ok]
        if not ok:
            return
        versions = {i: v for i, v in preview.versions().items() if i in ok}
        call, reason = self.action.call, self.reason
        set_text(self, "#bulk-error", "")
        self.busy = True
        self.query_one("#confirm", Button).disabled = True
        run_db(
            self,
            lambda ctx: call(ctx, ok, reason, versions, False),
            on_done=self._done,
            on_error=self._failed,
            write=True,
            group="bulk",
        )

    def _done(self, result: BulkResult) -> None:
        self.dismiss(result)


def result_line(action: BulkAction, result: BulkResult, refused: int) -> str:
    """The list's status line after the action: what was done, and what was left."""
    ids = ", ".join(f"#{i.id}" for i in result.items[:8]) + (" …" if len(result.items) > 8 else "")
    line = f"{action.done.capitalize()} {action.count(len(result.items))} ({ids}) in one transaction"
    if refused:
        line += f"; {refused} refused, left as they are and still marked"
    return line
