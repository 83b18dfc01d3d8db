"""How the backup screens are reached: command palette entries and the Activity screen's ``b``.

``Export backup…`` and ``Import backup…`` are in the command palette on every screen; on the
Activity screen ``b`` opens :class:`BackupMenu` (export or import). Non-admins can open the
screens; they explain why the actions are unavailable (and the core refuses them anyway).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from textual import on
from textual.app import ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import ModalScreen, Screen
from textual.widgets import Button, Static

from ...sections import SECTIONS
from .backup_export import ExportScreen
from .backup_import import ImportScreen
from .backup_parts import backup_refusal

if TYPE_CHECKING:
    from textual.app import App


def open_backup(app: App, which: str) -> None:
    """Push the export or import screen on the current section's stack (a read-only session is
    told why not, without a screen to dismiss)."""
    session = getattr(app, "session", None)
    if session is not None and session.readonly:
        app.notify(backup_refusal(session), title="Not available", severity="warning", markup=False)
        return
    mode = app.current_mode
    section = mode if any(s.id == mode for s in SECTIONS) else "activity"
    app.push_screen(ExportScreen(section) if which == "export" else ImportScreen(section))


def backup_commands(app: App, screen: Screen) -> Iterable[SystemCommand]:
    if not isinstance(screen, ExportScreen):
        yield SystemCommand(
            "Export backup…",
            "Write the whole database to a directory, with checksums (admins)",
            lambda: open_backup(app, "export"),
        )
    if not isinstance(screen, ImportScreen):
        yield SystemCommand(
            "Import backup…",
            "Check an export's compatibility, then import it (admins)",
            lambda: open_backup(app, "import"),
        )


class BackupMenu(ModalScreen[str | None]):
    """``b`` on the Activity screen: export or import."""

    BINDINGS = [
        Binding("x", "choose('export')", "Export"),
        Binding("i", "choose('import')", "Import"),
        Binding("escape", "choose('')", "Cancel"),
    ]

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="backup-menu"):
            yield Static(Content.styled("Backup", "bold"), classes="dialog-title")
            yield Static(
                Content(
                    "Export writes the whole database to a directory of JSON files with checksums. "
                    "Import shows an export's compatibility report, then merges it in one transaction. "
                    "Both need the admin role."
                ),
                classes="dialog-text",
            )
            with Horizontal(classes="dialog-buttons"):
                yield Button("Export… (x)", id="export", variant="primary", compact=True)
                yield Button("Import… (i)", id="import", compact=True)
                yield Button("Cancel (esc)", id="cancel", compact=True)

    def on_mount(self) -> None:
        self.query_one("#export", Button).focus()

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.action_choose("" if event.button.id == "cancel" else str(event.button.id))

    def action_choose(self, which: str) -> None:
        self.dismiss(which or None)


def open_backup_menu(app: App) -> None:
    def chosen(which: str | None) -> None:
        if which:
            open_backup(app, which)

    app.push_screen(BackupMenu(), chosen)
