"""The behaviour every edit form shares: Save and Cancel buttons, and a cancel that asks before
throwing typed changes away. A form says what "changed" means (``dirty``) and how to save."""

from __future__ import annotations

from textual import on
from textual.widgets import Button

from .base import NodedeskScreen
from .confirm import ConfirmScreen


class EditFormScreen(NodedeskScreen):
    DISCARD_QUESTION = "Discard your changes?"
    KEEPS_TYPED_KEYS = True  # a key typed on the form never switches sections (base.holds_key)
    saving: bool = False  # a save is in flight: cancel and a second save wait for it

    def dirty(self) -> bool:
        """Whether any field differs from what the form opened with."""
        raise NotImplementedError

    def action_save(self) -> None:
        raise NotImplementedError

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
