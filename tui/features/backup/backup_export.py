"""Export a backup: a directory, two options, a progress bar per kind, then where it went.

The export itself is ``core.backup.export_backup`` (one consistent snapshot, files written to a
private temporary directory renamed into place when complete); this screen only collects the
options, runs it in a thread worker and shows the result. What the directory field will do
(create, write into, refuse) is worked out in a worker too, as you type.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

import pendulum
from nodedesk.core.backup import ExportResult, export_backup, registry
from nodedesk.core.errors import NodedeskError
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.content import Content
from textual.timer import Timer
from textual.widgets import Button, Input, Static

from ...kit.base import NodedeskScreen
from ...kit.confirm import ConfirmScreen
from ...kit.form_parts import field_row, set_error, set_text
from ...widgets.tickbox import TickBox
from . import backup_render
from .backup_parts import KindProgress, PathSuggester, StoppedByUser, backup_refusal, inert_path, run_job


@dataclass(frozen=True)
class Target:
    """What exporting to the typed directory would do."""

    hint: str
    error: str = ""


def describe_target(text: str, timestamp: bool) -> Target:
    """Runs in a worker: it looks at the file system."""
    path = Path(text).expanduser()
    shown = inert_path(path if path.is_absolute() else path.absolute())
    if path.exists() and not path.is_dir():
        return Target("", f"{shown} is a file, not a directory")
    if timestamp:
        if path.is_dir():
            return Target(f"→ a new nodedesk-export-<UTC time> directory inside {shown}")
        if not path.parent.exists():
            return Target("", f"{inert_path(path.parent)} does not exist")
        return Target(f"→ creates {shown}, then a nodedesk-export-<UTC time> directory in it")
    if path.is_dir():
        if any(path.iterdir()):
            return Target(
                "", f"{shown} is not empty: choose a new directory, or tick 'timestamped subdirectory'"
            )
        return Target(f"→ writes into the empty directory {shown}")
    if not path.parent.exists():
        return Target("", f"{inert_path(path.parent)} does not exist")
    return Target(f"→ creates {shown}")


class ExportScreen(NodedeskScreen):
    HELP_TOPIC = "backup"
    HELP_TITLE = "export backup"
    KEEPS_TYPED_KEYS = True  # a path typed off the field never switches sections (base.holds_key)

    BINDINGS = [
        Binding("ctrl+s", "run", "Export"),
        Binding("escape", "back", "Back"),
    ]

    DEFAULT_CSS = """
    ExportScreen #directory-where {
        padding-left: 14;
        color: $text-muted;
    }
    ExportScreen #export-result {
        margin-top: 1;
    }
    """

    def __init__(self, section: str = "activity") -> None:
        super().__init__()
        self.SECTION = section
        self.running = False
        self.stop = threading.Event()
        self.result: ExportResult | None = None
        self.target = Target("")
        self._debounce: Timer | None = None

    def crumbs(self) -> tuple[str, ...]:
        return ("export backup",)

    def default_directory(self) -> str:
        today = pendulum.instance(self.session.now()).in_timezone(self.session.tz)
        return f"~/nodedesk-export-{today.format('YYYY-MM-DD')}"

    def compose_body(self) -> ComposeResult:
        with VerticalScroll(id="form-body"):
            yield Static(
                Content.assemble(
                    ("Export a backup", "bold"),
                    ": the whole database as JSON files with SHA-256 checksums",
                ),
                id="form-heading",
            )
            yield Static(id="form-error")
            yield field_row(
                "Directory",
                "directory",
                Input(self.default_directory(), id="directory", suggester=PathSuggester(), compact=True),
            )
            yield Static(id="directory-where")
            yield field_row(
                "Options",
                "options",
                TickBox("timestamped subdirectory", id="timestamp", compact=True),
                TickBox("dry run (write nothing)", id="dry_run", compact=True),
            )
            yield field_row(
                "Source name",
                "source",
                Input(
                    id="source", placeholder="default: this server's host name", max_length=200, compact=True
                ),
            )
            with Horizontal(id="form-buttons"):
                yield Button("Export (ctrl+s)", id="run", variant="primary", compact=True)
                yield Button("Back (esc)", id="back", compact=True)
            yield Static(id="export-result")
            yield KindProgress(id="progress")

    def on_mount(self) -> None:
        for field in ("directory", "options", "source"):
            set_error(self, field, "")
        set_text(self, "#export-result", "")
        self.query_one(KindProgress).display = False
        why = backup_refusal(self.session)
        set_text(self, "#form-error", why)
        if why:
            for widget in self.query("#form-body Input, #form-body TickBox, #run"):
                widget.disabled = True
            self.query_one("#back", Button).focus()
        else:
            self.query_one("#directory", Input).focus()
            self._check_target()

    # ------------------------------------------------------------------ the directory

    def value(self, field: str) -> str:
        return self.query_one(f"#{field}", Input).value

    def flag(self, field: str) -> bool:
        return self.query_one(f"#{field}", TickBox).value

    def _check_target(self) -> None:
        text, timestamp = self.value("directory").strip(), self.flag("timestamp")
        if not text:
            self._show_target(Target("", "give the directory to export to"))
            return
        run_job(
            self,
            lambda _rt, _p: describe_target(text, timestamp),
            on_done=self._show_target,
            on_error=lambda exc: self._show_target(Target("", str(exc))),
            keep_result_if_cancelled=False,
            group="target",
            exclusive=True,
        )

    def _show_target(self, target: Target) -> None:
        self.target = target
        set_text(self, "#directory-where", target.hint)
        set_error(self, "directory", target.error)
        self.refresh_bindings()

    @on(Input.Changed, "#directory")
    def _directory_changed(self) -> None:
        if self._debounce is not None:
            self._debounce.stop()
        self._debounce = self.set_timer(0.2, self._check_target)

    @on(TickBox.Changed, "#timestamp")
    def _timestamp_changed(self) -> None:
        self._check_target()

    @on(Input.Submitted)
    def _submitted(self) -> None:
        self.action_run()

    # ------------------------------------------------------------------ running

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "run":
            return None if self.running or backup_refusal(self.session) else True
        return True

    @on(Button.Pressed, "#run")
    def _run_pressed(self) -> None:
        self.action_run()

    @on(Button.Pressed, "#back")
    def _back_pressed(self) -> None:
        self.action_back()

    def _set_running(self, running: bool) -> None:
        self.running = running
        for widget in self.query("#form-body Input, #form-body TickBox, #run"):
            widget.disabled = running
        self.refresh_bindings()

    def action_run(self) -> None:
        if self.running:
            return
        why = backup_refusal(self.session)
        if why:
            self.explain(why, "Admins only")
            return
        directory = self.value("directory").strip()
        if not directory:
            set_error(self, "directory", "give the directory to export to")
            return
        timestamp, dry_run = self.flag("timestamp"), self.flag("dry_run")
        source = self.value("source").strip() or None
        set_text(self, "#form-error", "")
        set_text(self, "#export-result", "")
        set_error(self, "directory", "")
        self.result = None
        self.stop.clear()
        self._set_running(True)
        progress = self.query_one(KindProgress)
        progress.start("dry run" if dry_run else "exporting", registry().select())
        run_job(
            self,
            lambda rt, report: export_backup(
                rt,
                Path(directory).expanduser().absolute(),  # the result says where, wherever we run
                source_name=source,
                timestamp=timestamp,
                dry_run=dry_run,
                progress=report,
            ),
            on_done=self._exported,
            on_error=self._failed,
            on_progress=progress.update_kind,
            stop=self.stop,
        )

    def _exported(self, result: ExportResult) -> None:
        self._set_running(False)
        self.result = result
        self.query_one(KindProgress).display = False
        box = self.query_one("#export-result", Static)
        box.update(backup_render.export_result(result))
        box.display = True
        self.query_one("#back", Button).focus()
        self.call_after_refresh(box.scroll_visible, top=True, animate=False)
        verb = "Dry run done" if result.dry_run else "Exported"
        self.notify(
            f"{verb}: {result.records:,} records, root SHA-256 {result.manifest.root_sha256[:12]}…",
            title="Export",
            markup=False,
        )
        self._check_target()  # the directory is not empty any more

    def _failed(self, exc: NodedeskError) -> None:
        self._set_running(False)
        self.query_one(KindProgress).display = False
        self.query_one("#directory", Input).focus()
        if isinstance(exc, StoppedByUser):
            set_text(self, "#form-error", f"Export {exc}")
            return
        if exc.field == "directory":
            set_error(self, "directory", exc.message)
        else:
            set_text(self, "#form-error", Content.assemble(("Export refused: ", "bold"), str(exc)))
        self.refused(exc, "Export refused")

    def action_back(self) -> None:
        if not self.running:
            self.dismiss(None)
            return

        def answer(stop: bool | None) -> None:
            if stop:
                self.stop.set()

        self.app.push_screen(
            ConfirmScreen(
                "Stop the export? Its partial files are removed; nothing is kept.",
                yes="Stop",
                no="Keep going",
            ),
            answer,
        )
