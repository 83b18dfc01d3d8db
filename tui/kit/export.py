"""``ctrl+e`` on any list: the whole list, as it is filtered and sorted now, to a CSV file.

The dialog asks for the file (``<section>-<site date>.csv`` in the current folder unless another
name is typed; ``~`` is the home folder). Export reads every page of the list in one read unit of
work in a worker, turns the rows into the list's own cell text on the UI thread
(:meth:`ListScreen.export_cells`), and writes them in a worker through
core/services/list_export.py: formula-guarded cells, a temporary file renamed into place, and the
refusals of a folder, a missing folder or an unwritable place as one line. An existing file is
only replaced after a yes/no question. Nothing is half-written (help/keys.md, "Lists").
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nodedesk.core.errors import ConflictError, NodedeskError
from nodedesk.core.services import list_export
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.widgets import Button, Input, Static

from .confirm import ConfirmScreen
from .dialog import ActionDialog
from .form_parts import field_row, set_error, set_text
from .query import Page
from .workers import run_db, run_job

if TYPE_CHECKING:
    from .list_screen import ListScreen


class ExportListScreen(ActionDialog[Path | None]):
    BINDINGS = [
        Binding("escape", "cancel", "Cancel"),
        Binding("ctrl+s", "confirm", "Export"),
    ]

    def __init__(self, screen: ListScreen) -> None:
        super().__init__()
        self.screen_behind = screen
        self.query_now = screen.export_query()  # the list as it is filtered and sorted now
        self.headers = screen.export_header_line()
        self.rows: list[list[str]] | None = None  # read once, written to whichever path
        self.busy = False

    def compose(self) -> ComposeResult:
        s = self.screen_behind
        total = s.table.page_total
        what = (
            f"All {total} {s.NOUN} of the list as filtered and sorted now (every page, not only the "
            f"rows on screen), with the columns {', '.join(h for h in self.headers if h) or '-'}."
        )
        with Vertical(classes="dialog", id="export-list-dialog"):
            yield Static(Content.styled(f"Export {s.NOUN} as CSV", "bold"), classes="dialog-title")
            yield Static(Content(what), id="export-what", classes="dialog-text")
            yield field_row("File", "path", Input(s.export_name, id="path", compact=True))
            yield Static(
                Content(f"A name alone goes into {os.getcwd()}; ~ is your home folder."),
                classes="dialog-text muted",
                id="export-where",
            )
            yield Static(id="dialog-error", classes="field-error")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Export (ctrl+s)", id="confirm", variant="primary", compact=True)
                yield Button("Cancel (esc)", id="cancel", compact=True)

    def on_mount(self) -> None:
        set_error(self, "path", "")
        set_text(self, "#dialog-error", "")
        self.query_one("#path", Input).focus()

    @property
    def path_text(self) -> str:
        return self.query_one("#path", Input).value

    def show_error(self, message: str) -> None:
        set_text(self, "#dialog-error", message)

    def _busy(self, busy: bool) -> None:
        self.busy = busy
        self.query_one("#confirm", Button).disabled = busy

    # ------------------------------------------------------------------ actions

    @on(Button.Pressed, "#confirm")
    @on(Input.Submitted, "#path")
    def _confirm_pressed(self) -> None:
        self.action_confirm()

    def action_confirm(self) -> None:
        if self.busy:
            return
        self.show_error("")
        self._busy(True)
        if self.rows is None:
            self._read()
        else:
            self._write(overwrite=False)

    def _read(self) -> None:
        set_text(self, "#export-what", f"Reading every row of the {self.screen_behind.NOUN} list…")
        screen, query = self.screen_behind, self.query_now
        if screen.LOCAL:  # the rows are in memory: page through them here
            pages = [screen.page_in_memory(query)]
            while pages[-1].items and pages[-1].offset + len(pages[-1].items) < pages[-1].total:
                pages.append(screen.page_in_memory(query.at(pages[-1].offset + len(pages[-1].items))))
            self._pages_read(pages)
            return
        run_db(
            self,
            lambda ctx: screen.read_pages(ctx, query),
            on_done=self._pages_read,
            on_error=self._refused,
            group="export",
        )

    def _pages_read(self, pages: list[Page]) -> None:
        screen = self.screen_behind
        for page in pages:
            screen.page_read(page)
        self.rows = screen.export_rows([item for page in pages for item in page.items])
        set_text(
            self,
            "#export-what",
            f"{len(self.rows)} {screen.NOUN} read (the list as filtered and sorted when you pressed "
            f"export), with the columns {', '.join(h for h in self.headers if h) or '-'}.",
        )
        self._write(overwrite=False)

    def _write(self, *, overwrite: bool) -> None:
        raw, headers, rows = self.path_text, self.headers, self.rows or []
        run_job(
            self,
            lambda _runtime, _progress: list_export.export_csv(raw, headers, rows, overwrite=overwrite),
            on_done=self._written,
            on_error=self._refused,
            group="export",
        )

    def _refused(self, exc: NodedeskError) -> None:
        self._busy(False)
        if isinstance(exc, ConflictError) and exc.field == "path":
            question = f"{exc.message}. Replace it with this list?"
            self.app.push_screen(ConfirmScreen(question, yes="Replace", no="Keep it"), self._overwrite)
            return
        self.show_error(f"Not written: {exc}")
        self.query_one("#path", Input).focus()

    def _overwrite(self, answer: Any) -> None:
        if answer:
            self._busy(True)
            self._write(overwrite=True)
        else:
            self.show_error("Not written: the file is kept; type another name.")
            self.query_one("#path", Input).focus()

    def _written(self, path: Path) -> None:
        count = len(self.rows or [])
        line = f"Wrote {count} {self.screen_behind.NOUN} to {path}"
        self.notify(line, title="Exported", markup=False)
        self.screen_behind.say(line)
        self.dismiss(path)
