"""Import a backup: the compatibility report first, then mode and options, a confirmation, progress.

Nothing is imported before the user has seen the report (``core.backup.check_import``: file
integrity, compatibility, per-kind counts) and confirmed a question that states the mode and the
counts. The import itself is ``core.backup.import_backup``, which checks everything again and
runs in one transaction; this screen runs it in a thread worker and shows the per-kind result.

The app always runs on an initialized site, so an import here is a merge; a restore into an
empty database (a new server) is done with the command line (see help).
"""

from __future__ import annotations

import threading

from nodedesk.core.backup import INCOMPATIBLE, MODES, WARNINGS, CompatReport, ImportResult
from nodedesk.core.backup.compat import check_import
from nodedesk.core.backup.importer import import_backup
from nodedesk.core.errors import NodedeskError
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.content import Content
from textual.widgets import Button, Input, Select, Static

from ...kit.base import NodedeskScreen
from ...kit.confirm import ConfirmScreen
from ...kit.form_parts import field_row, set_error, set_text
from ...widgets.tickbox import TickBox
from . import backup_render
from .backup_parts import (
    ImportConfirmScreen,
    KindProgress,
    PathSuggester,
    StoppedByUser,
    backup_refusal,
    run_job,
)

LOG = "activity_log"
WAITING = (
    "Give the directory of an export and press enter. Its compatibility report is shown here "
    "before anything is imported."
)


class ImportScreen(NodedeskScreen):
    HELP_TOPIC = "backup"
    HELP_TITLE = "import backup"

    BINDINGS = [
        Binding("ctrl+s", "run", "Import…"),
        Binding("escape", "back", "Back"),
    ]

    DEFAULT_CSS = """
    ImportScreen #report {
        margin: 1 0;
    }
    ImportScreen #mode {
        width: 22;
    }
    ImportScreen #run-why {
        color: $text-muted;
        margin-left: 14;
    }
    ImportScreen #import-result {
        margin-top: 1;
    }
    ImportScreen #form-buttons {
        margin-bottom: 0;
    }
    """

    def __init__(self, section: str = "activity", directory: str = "") -> None:
        super().__init__()
        self.SECTION = section
        self.initial_directory = directory
        self.report: CompatReport | None = None
        self.report_left_out_log = False
        self.checking = False
        self.running = False
        self.stop = threading.Event()
        self.result: ImportResult | None = None

    def crumbs(self) -> tuple[str, ...]:
        return ("import backup",)

    def compose_body(self) -> ComposeResult:
        with VerticalScroll(id="form-body"):
            yield Static(
                Content.assemble(
                    ("Import a backup", "bold"),
                    ": checked first, then imported in one transaction",
                ),
                id="form-heading",
            )
            yield Static(id="form-error")
            yield field_row(
                "Directory",
                "directory",
                Input(
                    self.initial_directory,
                    id="directory",
                    placeholder="an export directory, e.g. ~/nodedesk-export-2026-02-15",
                    suggester=PathSuggester(),
                    compact=True,
                ),
                Button("Check (enter)", id="check-export", compact=True),
            )
            yield Static(Content(WAITING), id="report")
            yield field_row(
                "Mode",
                "mode",
                Select(
                    [(m, m) for m in MODES[::-1]],  # create-or-update (the default) first
                    value="create-or-update",
                    allow_blank=False,
                    id="mode",
                    compact=True,
                ),
                hint=True,
            )
            yield field_row(
                "Dry run",
                "dry_run",
                TickBox(
                    "check everything, then roll back: nothing is written", True, id="dry_run", compact=True
                ),
            )
            yield field_row(
                "Force", "force", TickBox("import despite the warnings above", id="force", compact=True)
            )
            yield field_row(
                "Activity log",
                "no_log",
                TickBox("leave it out (to merge into a site with its own log)", id="no_log", compact=True),
            )
            with Horizontal(id="form-buttons"):
                yield Button("Import… (ctrl+s)", id="run", variant="warning", compact=True)
                yield Button("Back (esc)", id="back", compact=True)
            yield Static(id="run-why")
            yield KindProgress(id="progress")
            yield Static(id="import-result")

    def on_mount(self) -> None:
        for field in ("directory", "mode", "dry_run", "force", "no_log"):
            set_error(self, field, "")
        set_text(self, "#import-result", "")
        self.query_one(KindProgress).display = False
        self._mode_hint()
        why = backup_refusal(self.session)
        set_text(self, "#form-error", why)
        if why:
            for widget in self._controls():
                widget.disabled = True
            self.query_one("#report", Static).update("")
            self.query_one("#back", Button).focus()
        else:
            self.query_one("#directory", Input).focus()
        self._update_controls()
        if self.initial_directory and not why:
            self.action_check()

    def _controls(self):  # type: ignore[no-untyped-def]
        return self.query("#form-body Input, #form-body TickBox, #form-body Select, #check-export, #run")

    # ------------------------------------------------------------------ state

    def flag(self, field: str) -> bool:
        return self.query_one(f"#{field}", TickBox).value

    @property
    def directory(self) -> str:
        return self.query_one("#directory", Input).value.strip()

    @property
    def mode(self) -> str:
        return str(self.query_one("#mode", Select).value)

    def why_not(self) -> str:
        """Why the import cannot start now ('' when it can)."""
        refusal = backup_refusal(self.session)
        if refusal:
            return refusal
        if self.running:
            return "An import is running."
        if self.checking:
            return "Checking the export…"
        report = self.report
        if report is None:
            return "Check an export first: give its directory and press enter."
        if report.status == INCOMPATIBLE:
            return f"This export cannot be imported here ({report.status}): see the problems above."
        if report.status == WARNINGS and not self.flag("force"):
            return "The report has warnings: read them, then tick Force to import anyway."
        return ""

    def _update_controls(self) -> None:
        report = self.report
        self.query_one("#force-row").display = bool(
            report is not None and report.status == WARNINGS
        ) or self.flag("force")
        self.query_one("#no_log-row").display = bool(
            report is not None and LOG in report.manifest.kinds
        ) or self.flag("no_log")
        why = self.why_not()
        self.query_one("#run", Button).disabled = bool(why)
        set_text(self, "#run-why", "" if backup_refusal(self.session) else why)
        self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "run":
            return None if self.why_not() else True
        return True

    def _mode_hint(self) -> None:
        hint = self.query_one("#mode-hint", Static)
        hint.update(Content(backup_render.MODE_HELP.get(self.mode, "")))

    # ------------------------------------------------------------------ the report

    def action_check(self) -> None:
        if self.running:
            return
        why = backup_refusal(self.session)
        if why:
            self.explain(why, "Admins only")
            return
        directory = self.directory
        if not directory:
            set_error(self, "directory", "give the directory of an export")
            return
        left_out = self.flag("no_log")
        set_error(self, "directory", "")
        set_text(self, "#form-error", "")
        self.report = None
        self.checking = True
        self.query_one("#report", Static).update(
            Content("Checking the export: reading the manifest and verifying every file's SHA-256…")
        )
        self._update_controls()
        run_job(
            self,
            lambda rt, _p: check_import(rt, directory, exclude=[LOG] if left_out else None),
            on_done=lambda report: self._checked(report, directory, left_out),
            on_error=lambda exc: self._check_failed(exc, directory),
            keep_result_if_cancelled=False,
            group="check",
            exclusive=True,
        )

    def _checked(self, report: CompatReport, directory: str, left_out: bool) -> None:
        if directory != self.directory or left_out != self.flag("no_log"):
            return  # the question changed meanwhile: a newer check is on its way
        self.checking = False
        self.report, self.report_left_out_log = report, left_out
        self.query_one("#report", Static).update(
            backup_render.compat_report(report, self.session.tz, log_left_out=left_out)
        )
        self._update_controls()

    def _check_failed(self, exc: NodedeskError, directory: str) -> None:
        if directory != self.directory:
            return
        self.checking = False
        self.report = None
        self.query_one("#report", Static).update(Content(WAITING))
        message = exc.message if exc.field == "directory" else str(exc)
        if exc.field in ("directory", "manifest.json", "models"):
            set_error(self, "directory", message)
        else:
            set_text(self, "#form-error", Content.assemble(("Check refused: ", "bold"), message))
        self._update_controls()

    @on(Input.Submitted, "#directory")
    def _directory_submitted(self) -> None:
        self.action_check()

    @on(Button.Pressed, "#check-export")
    def _check_pressed(self) -> None:
        self.action_check()

    @on(Input.Changed, "#directory")
    def _directory_changed(self) -> None:
        if self.report is not None or self.checking:
            self.report, self.checking = None, False
            self.query_one("#report", Static).update(Content(WAITING))
        set_error(self, "directory", "")
        self._update_controls()

    @on(TickBox.Changed, "#no_log")
    def _log_option_changed(self) -> None:
        if self.report is not None or self.checking:
            self.action_check()  # which kinds are imported changes the report
        self._update_controls()

    @on(TickBox.Changed, "#force, #dry_run")
    def _option_changed(self) -> None:
        self._update_controls()

    @on(Select.Changed, "#mode")
    def _mode_changed(self) -> None:
        self._mode_hint()

    # ------------------------------------------------------------------ importing

    @on(Button.Pressed, "#run")
    def _run_pressed(self) -> None:
        self.action_run()

    @on(Button.Pressed, "#back")
    def _back_pressed(self) -> None:
        self.action_back()

    def action_run(self) -> None:
        why = self.why_not()
        if why:
            self.explain(why, "Not yet")
            return
        report = self.report
        assert report is not None
        mode, dry_run, force = self.mode, self.flag("dry_run"), self.flag("force")
        left_out = self.report_left_out_log
        question = backup_render.confirmation(report, mode, dry_run=dry_run, force=force, tz=self.session.tz)

        def answer(go: bool | None) -> None:
            if go:
                self._start(report, mode, dry_run=dry_run, force=force, left_out=left_out)

        self.app.push_screen(ImportConfirmScreen(question, dry_run=dry_run), answer)

    def _set_running(self, running: bool) -> None:
        self.running = running
        for widget in self._controls():
            widget.disabled = running
        self._update_controls()

    def _start(self, report: CompatReport, mode: str, *, dry_run: bool, force: bool, left_out: bool) -> None:
        directory = str(report.directory)
        set_text(self, "#form-error", "")
        set_text(self, "#import-result", "")
        self.result = None
        self.stop.clear()
        self._set_running(True)
        progress = self.query_one(KindProgress)
        progress.start(
            "dry run" if dry_run else "importing",
            report.kinds,
            {k: report.manifest.counts.get(k, 0) for k in report.kinds},
        )
        run_job(
            self,
            lambda rt, report_progress: import_backup(
                rt,
                directory,
                mode=mode,
                exclude=[LOG] if left_out else None,
                dry_run=dry_run,
                force=force,
                progress=report_progress,
            ),
            on_done=self._imported,
            on_error=self._failed,
            on_progress=progress.update_kind,
            stop=self.stop,
        )

    def _imported(self, result: ImportResult) -> None:
        self.result = result
        self.query_one(KindProgress).display = False
        stale = not result.dry_run and any(
            c.kind in ("settings", "users") and (c.created or c.updated) for c in result.counts
        )
        if not result.dry_run and result.changed:
            # the report's "here now" counts are history: check again before another import
            self.report = None
            self.query_one("#report", Static).update(
                Content("Imported (result below). Press enter in Directory to check the export again.")
            )
        self._set_running(False)
        box = self.query_one("#import-result", Static)
        box.update(backup_render.import_result(result, stale_settings=stale))
        box.display = True
        self.query_one("#back", Button).focus()
        self.call_after_refresh(box.scroll_visible, top=True, animate=False)
        if result.dry_run:
            summary = f"Dry run passed: {result.records:,} records checked, nothing written"
        elif result.audit_seq is not None:
            summary = (
                f"Imported: {result.changed:,} records created or updated (activity #{result.audit_seq})"
            )
        else:
            summary = "Nothing to change: everything in the export is here already"
        self.notify(summary, title="Import", markup=False)

    def _failed(self, exc: NodedeskError) -> None:
        self.query_one(KindProgress).display = False
        self._set_running(False)
        self.query_one("#directory", Input).focus()
        if isinstance(exc, StoppedByUser):
            set_text(self, "#form-error", f"Import {exc}")
            return
        set_text(self, "#form-error", Content.assemble(("Import refused: ", "bold"), str(exc)))
        self.query_one("#form-error").scroll_visible(top=True, animate=False)
        self.refused(exc, "Import refused")

    def action_back(self) -> None:
        if not self.running:
            self.dismiss(None)
            return

        def answer(stop: bool | None) -> None:
            if stop:
                self.stop.set()

        self.app.push_screen(
            ConfirmScreen(
                "Stop the import? It is rolled back: nothing is written.", yes="Stop", no="Keep going"
            ),
            answer,
        )
