"""The behaviour every edit form shares: Save and Cancel buttons, and a cancel that asks before
throwing typed changes away. A form says what "changed" means (``dirty``) and how to save.

Rules come from core: a form gathers what is typed into the service's draft (``draft_check``)
and the service's ``check_*`` judges it in a worker, as the user types; the form marks each
field the service names with the service's message (``show_problems``). Checks coalesce: while
one runs, further typing only asks for one more run after it. A save runs the check and the
save in one unit of work (``checked_save``): the service checks again in its own transaction.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from nodedesk.core.context import ServiceContext
from nodedesk.core.errors import NodedeskError
from nodedesk.core.fieldcheck import FieldProblem
from textual import on
from textual.widgets import Button, Checkbox, Input, Select, Static, TextArea

from .base import NodedeskScreen
from .confirm import ConfirmScreen

# The banner lines a failed save shows while fields are marked; each goes once none is marked.
MARKED_BANNERS = ("Not saved: fix the marked field", "Not saved: see the marked field")


Check = Callable[[ServiceContext], list[FieldProblem]]


@dataclass(frozen=True)
class CheckedSave:
    """What a checked save gives back: the problems that stopped it, or the service's result."""

    problems: list[FieldProblem]
    result: Any = None


def problem_field(problem: FieldProblem, fields: dict[str, str]) -> str | None:
    """The form field that shows ``problem`` (its ``fix`` first), or None for the form line."""
    for name in (problem.fix, problem.field):
        if name and name in fields:
            return fields[name]
    return None


class EditFormScreen(NodedeskScreen):
    DISCARD_QUESTION = "Discard your changes?"
    KEEPS_TYPED_KEYS = True  # a key typed on the form never switches sections (base.holds_key)
    saving: bool = False  # a save is in flight: cancel and a second save wait for it
    # service field (as named by a refusal) -> the form field that shows it
    PROBLEM_FIELDS: dict[str, str] = {}
    _checking: bool = False
    _check_again: bool = False

    # ------------------------------------------------------------------ the service's check

    def draft_check(self, *, final: bool) -> tuple[list[FieldProblem], Check | None]:
        """Problems found while reading the typed text (core's parsers) and the service check
        for the draft it gives (None while the text cannot make a draft)."""
        raise NotImplementedError

    def show_problems(self, problems: list[FieldProblem], *, final: bool) -> None:
        """Mark the fields the problems name (a form may also update hints or panels)."""
        raise NotImplementedError

    def refresh_check(self) -> None:
        """Ask the service about the fields as typed now (one check in flight at a time)."""
        if self._checking:
            self._check_again = True
            return
        parsed, check = self.draft_check(final=False)
        if check is None:
            self.show_problems(parsed, final=False)
            return
        self._checking = True

        def done(problems: list[FieldProblem]) -> None:
            self._checking = False
            if self._check_again:  # the fields changed meanwhile: this answer is stale
                self._check_again = False
                self.refresh_check()
                return
            self.show_problems(parsed + problems, final=False)

        def failed(exc: NodedeskError) -> None:
            self._checking = False
            self._check_again = False
            self.show_problems([*parsed, FieldProblem.of(exc)], final=False)

        self.db(check, done, on_error=failed, group="form-check")

    def checked_save(
        self,
        save: Callable[[ServiceContext], Any],
        on_saved: Callable[[Any], None],
        on_refused: Callable[[NodedeskError], None],
    ) -> None:
        """Check the draft with the service, then save it in the same unit of work.

        Every problem is marked at once and the first one's field gets the focus; nothing is
        written while any problem stands."""
        parsed, check = self.draft_check(final=True)
        if check is None:
            self.show_problems(parsed, final=True)
            return
        if parsed:  # nothing to save: still mark every other field the service refuses
            self.db(
                check,
                lambda problems: self.show_problems(parsed + problems, final=True),
                on_error=lambda exc: self.show_problems([*parsed, FieldProblem.of(exc)], final=True),
                group="form-check",
            )
            return

        def work(ctx: ServiceContext) -> CheckedSave:
            problems = check(ctx)
            return CheckedSave(problems) if problems else CheckedSave([], save(ctx))

        def done(outcome: CheckedSave) -> None:
            self.saving = False
            if outcome.problems:
                self.show_problems(outcome.problems, final=True)
                return
            on_saved(outcome.result)

        def refused(exc: NodedeskError) -> None:
            self.saving = False
            on_refused(exc)

        self.saving = True
        self.db(work, done, on_error=refused, write=True, group="save")

    def dirty(self) -> bool:
        """Whether any field differs from what the form opened with."""
        raise NotImplementedError

    def action_save(self) -> None:
        raise NotImplementedError

    def show_field(self, field: str) -> None:
        """Focus a field a save refused and scroll its row (label, field, error) into view.

        The scroll waits for the next refresh: the banner and error lines just shown move the
        field down, and scrolling before they are laid out could leave it off-screen.
        """
        widget = self.query_one(f"#{field}")
        widget.focus(scroll_visible=False)
        rows = self.query(f"#{field}-row")
        target = rows.first() if rows else widget

        def scroll() -> None:
            target.scroll_visible(animate=False)
            widget.scroll_visible(animate=False)

        self.call_after_refresh(scroll)

    @on(Input.Changed)
    @on(TextArea.Changed)
    @on(Select.Changed)
    @on(Checkbox.Changed)
    def _maybe_fixed(self) -> None:
        # after the form's own handler has judged the field (it may debounce to the next refresh)
        self.call_after_refresh(self._drop_fixed_banner)

    def _drop_fixed_banner(self) -> None:
        """A "fix the marked field" banner goes as soon as no field is marked any more."""
        boxes = self.query("#form-error")
        if not boxes:
            return
        box = boxes.first(Static)
        if str(box.render()).startswith(MARKED_BANNERS) and not self.query(".field-row.has-error"):
            box.update("")
            box.display = False

    @on(Button.Pressed, "#save")
    def _save_pressed(self) -> None:
        self.action_save()

    @on(Button.Pressed, "#cancel")
    def _cancel_pressed(self) -> None:
        self.action_cancel()

    def action_cancel(self) -> None:
        if self.saving:
            return
        if not self.dirty():
            self.dismiss(None)
            return

        def answer(discard: bool | None) -> None:
            if discard:
                self.dismiss(None)

        self.app.push_screen(ConfirmScreen(self.DISCARD_QUESTION, "Discard", "Keep editing"), answer)
