"""The base of the dialogs that act: a Cancel button and escape close them unless they are busy.

A dialog sets ``busy`` while its worker writes; closing it then would leave the outcome with
nobody to show it to, so Cancel waits until the work is done (the dialog says what happened).
"""

from __future__ import annotations

from typing import TypeVar

from textual import on
from textual.screen import ModalScreen
from textual.widgets import Button

ResultT = TypeVar("ResultT")


class ActionDialog(ModalScreen[ResultT]):
    busy: bool = False

    @on(Button.Pressed, "#cancel")
    def _cancel_pressed(self) -> None:
        self.action_cancel()

    def action_cancel(self) -> None:
        if not self.busy:
            self.dismiss(None)
