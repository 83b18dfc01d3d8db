"""The behaviour every edit form shares: Save and Cancel buttons, and a cancel that asks before
throwing typed changes away. A form says what "changed" means (``dirty``) and how to save."""

from __future__ import annotations

from textual import on
from textual.widgets import Button, Checkbox, Input, Select, Static, TextArea

from .base import NodedeskScreen
from .confirm import ConfirmScreen

# The banner lines a failed save shows while fields are marked; each goes once none is marked.
MARKED_BANNERS = ("Not saved: fix the marked field", "Not saved: see the marked field")


class EditFormScreen(NodedeskScreen):
    DISCARD_QUESTION = "Discard your changes?"
    KEEPS_TYPED_KEYS = True  # a key typed on the form never switches sections (base.holds_key)
    saving: bool = False  # a save is in flight: cancel and a second save wait for it

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
