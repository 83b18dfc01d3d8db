"""Pieces shared by the project, split and rate forms: a labelled field row with its error line.

The layout and classes are the window form's (``.field-row``, ``.field-label``, ``.field-error``
in ``app.tcss``), so every form in the app looks the same.
"""

from __future__ import annotations

from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.dom import DOMNode
from textual.widget import Widget
from textual.widgets import Label, Static


def field_row(label: str, field: str, *widgets: Widget, hint: bool = False) -> Horizontal:
    """``Label  [widgets] hint`` with an error line under the widgets (hidden while empty)."""
    extra: list[Widget] = [Static(id=f"{field}-hint", classes="hint")] if hint else []
    return Horizontal(
        Label(label, classes="field-label"),
        Vertical(
            Horizontal(*widgets, *extra, classes="field-line"),
            Static(id=f"{field}-error", classes="field-error"),
            classes="field-body",
        ),
        classes="field-row",
        id=f"{field}-row",
    )


def set_error(node: DOMNode, field: str, message: str) -> None:
    box = node.query_one(f"#{field}-error", Static)
    box.update(Content(message))
    box.display = bool(message)
    node.query_one(f"#{field}-row").set_class(bool(message), "has-error")


def set_text(node: DOMNode, selector: str, message: str | Content) -> None:
    """Update a message line, hiding it while empty."""
    box = node.query_one(selector, Static)
    box.update(message if isinstance(message, Content) else Content(message))
    box.display = bool(message.plain if isinstance(message, Content) else message)


FIX_FIELDS = "Not saved: fix the marked field"


def fields_fixed(node: DOMNode) -> None:
    """Every field is fine again: drop a "fix the marked fields" line (other messages stay)."""
    box = node.query_one("#form-error", Static)
    if str(box.render()).startswith(FIX_FIELDS):
        set_text(node, "#form-error", "")
