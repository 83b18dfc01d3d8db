"""The availability screen's small questions: go to a date, and "free from … to …".

A prompt reads its fields, hands them to ``answer(ctx, values)`` in a thread worker (core
parses and judges them: ``timeutil``, ``availability.free_nodes``) and closes with the answer;
a refusal stays in the dialog as one line naming the field and the rule, with what was typed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from nodedesk.core.context import ServiceContext
from nodedesk.core.errors import NodedeskError
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

from ...kit.bindings import ensure_ids
from ...kit.form_parts import NameListSuggester, set_text
from ...kit.workers import run_db


@dataclass(frozen=True)
class Field:
    id: str
    label: str
    value: str = ""
    placeholder: str = ""
    names: tuple[str, ...] = ()  # suggested as you type (node types)


class AvailabilityPrompt(ModalScreen[Any]):
    """A few fields, OK and Cancel; closes with ``answer``'s result (None when cancelled)."""

    BINDINGS = [
        Binding("escape", "cancel", "Cancel"),
        Binding("ctrl+s", "confirm", "OK"),
    ]

    def __init__(
        self,
        title: str,
        fields: list[Field],
        answer: Callable[[ServiceContext, dict[str, str]], Any],
        *,
        hint: str = "",
    ) -> None:
        ensure_ids()
        super().__init__()
        self.title_text = title
        self.fields = fields
        self.answer = answer
        self.hint = hint
        self.busy = False

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(Content.styled(self.title_text, "bold"), classes="dialog-title")
            for f in self.fields:
                suggester = NameListSuggester()
                suggester.names = list(f.names)
                with Horizontal(classes="prompt-row"):
                    yield Label(f.label, classes="prompt-label")
                    yield Input(
                        f.value,
                        id=f"prompt-{f.id}",
                        placeholder=f.placeholder,
                        compact=True,
                        suggester=suggester,
                    )
            yield Static(Content(self.hint), id="prompt-hint")
            yield Static(id="prompt-error")
            with Horizontal(classes="dialog-buttons"):
                yield Button("OK (enter)", id="ok", variant="primary", compact=True)
                yield Button("Cancel (esc)", id="cancel", compact=True)

    def on_mount(self) -> None:
        set_text(self, "#prompt-error", "")
        set_text(self, "#prompt-hint", self.hint)
        first = self.query_one(f"#prompt-{self.fields[0].id}", Input)
        first.focus()

    def values(self) -> dict[str, str]:
        return {f.id: self.query_one(f"#prompt-{f.id}", Input).value for f in self.fields}

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        last = self.fields[-1].id
        if event.input.id == f"prompt-{last}":
            self.action_confirm()
        else:
            self.focus_next()

    @on(Input.Changed)
    def _changed(self) -> None:
        set_text(self, "#prompt-error", "")

    @on(Button.Pressed, "#ok")
    def _ok(self) -> None:
        self.action_confirm()

    @on(Button.Pressed, "#cancel")
    def _cancel(self) -> None:
        self.action_cancel()

    def action_cancel(self) -> None:
        self.dismiss(None)

    def action_confirm(self) -> None:
        if self.busy:
            return
        self.busy = True
        values = self.values()

        def done(result: Any) -> None:
            self.busy = False
            self.dismiss(result)

        def refused(exc: NodedeskError) -> None:
            self.busy = False
            set_text(self, "#prompt-error", str(exc))
            field = next((f.id for f in self.fields if f.id == exc.field), None)
            if field is not None:
                self.query_one(f"#prompt-{field}", Input).focus()

        run_db(self, lambda ctx: self.answer(ctx, values), on_done=done, on_error=refused)
