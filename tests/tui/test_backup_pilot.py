"""Pilot tests of the backup screens: export, the compatibility report, confirmation, dry run,
refusals (tampered file, non-admin), stopping a running import, and how the screens are reached.

The app's database is the ``runtime`` site; exports to import come from a second small site
(a few windows) built by :func:`make_export`.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from nodedesk.core.backup.kinds import KINDS
from nodedesk.core.backup.manifest import read_manifest, verify_files
from nodedesk.core.clock import FrozenClock
from nodedesk.core.runtime import Runtime
from nodedesk.core.services.downtime import windows as win
from nodedesk.core.services.site import users
from nodedesk.core.services.views import activity
from nodedesk.tui.app import NodedeskApp, create_app
from nodedesk.tui.features.backup.backup import BackupMenu
from nodedesk.tui.features.backup.backup_export import ExportScreen
from nodedesk.tui.features.backup.backup_import import ImportScreen
from nodedesk.tui.features.backup.backup_parts import ImportConfirmScreen, KindProgress
from nodedesk.tui.features.help.help import HelpScreen
from nodedesk.tui.widgets.tickbox import TickBox
from rich.console import Console
from textual.content import Content
from textual.pilot import Pilot
from textual.widgets import Button, Input, Select, Static

from tests.helpers import runtime_as
from tests.tui.backup_seed import make_export
from tests.tui.conftest import notifications, seed_windows, settle


@pytest.fixture
def export_dir(tmp_path: Path, sqlite_template: Path, clock: FrozenClock) -> Path:
    return make_export(tmp_path, sqlite_template, clock)


def plain(widget: Static) -> str:
    content = widget.content
    if isinstance(content, Content):
        return content.plain
    if isinstance(content, str):
        return content
    console = Console(width=100, file=io.StringIO(), record=True, color_system=None)
    console.print(content)
    return console.export_text()


def squash(value: str) -> str:
    """Runs of spaces squashed, so table columns read ``kind 4 0``."""
    return "\n".join(" ".join(line.split()) for line in value.splitlines())


def text(app: NodedeskApp, selector: str) -> str:
    return squash(plain(app.screen.query_one(selector, Static)))



def state(runtime: Runtime) -> tuple[int, int, str]:
    """(windows, activity entries, newest action) in the app's database."""
    with runtime.read() as ctx:
        page = activity.list_activity(ctx, activity.ActivityQuery(limit=1))
        return win.list_windows(ctx).total, page.total, page.items[0].action


async def palette(pilot: Pilot, command: str) -> None:
    await settle(pilot)
    await pilot.press("ctrl+p")
    await settle(pilot)
    await pilot.press(*command)
    await pilot.pause(0.5)
    await pilot.press("enter")
    await settle(pilot)


async def check(pilot: Pilot, directory: Path | str) -> ImportScreen:
    screen = pilot.app.screen
    assert isinstance(screen, ImportScreen)
    screen.query_one("#directory", Input).value = str(directory)
    screen.query_one("#directory", Input).focus()
    await pilot.press("enter")
    await settle(pilot)
    return screen


async def tick(pilot: Pilot, box_id: str, value: bool = True) -> None:
    pilot.app.screen.query_one(f"#{box_id}", TickBox).value = value
    await settle(pilot)


# ------------------------------------------------------------------------------------- export


async def test_export_from_the_palette_writes_a_verifiable_directory(
    runtime: Runtime, tmp_path: Path
) -> None:
    seed_windows(runtime)
    app = create_app(runtime)
    async with app.run_test(size=(80, 24)) as pilot:
        await palette(pilot, "Export backup")
        screen = app.screen
        assert isinstance(screen, ExportScreen)
        assert screen.query_one("#directory", Input).value == "~/nodedesk-export-2026-02-15"
        target = tmp_path / "exp"
        screen.query_one("#directory", Input).value = str(target)
        screen.query_one("#source", Input).value = "test-hpc"
        await pilot.pause(0.3)  # the directory is looked at once typing pauses
        await settle(pilot)
        assert text(app, "#directory-where") == f"→ creates {target}"
        await pilot.press("ctrl+s")
        await settle(pilot)

        manifest = read_manifest(target)
        integrity = verify_files(target, manifest)
        assert integrity.ok and integrity.checked == len(manifest.files) == len(KINDS)
        assert manifest.source["name"] == "test-hpc" and manifest.counts["maintenance_windows"] == 4
        result = text(app, "#export-result")
        assert f"Exported {sum(manifest.counts.values())} records ({len(KINDS)} kinds)." in result
        assert str(target) in result and manifest.root_sha256 in result
        assert "maintenance_windows" in result
        progress = screen.query_one(KindProgress)
        assert progress.finished == set(progress.kinds) and len(progress.kinds) == len(KINDS)  # all reported
        assert progress.done["maintenance_windows"] == progress.totals["maintenance_windows"] == 4
        assert text(app, "#directory-error").startswith(f"{target} is not empty")  # a second run would fail


async def test_export_refuses_a_directory_that_is_not_empty(runtime: Runtime, tmp_path: Path) -> None:
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "notes.txt").write_text("mine")
    app = create_app(runtime)
    async with app.run_test(size=(80, 24)) as pilot:
        await palette(pilot, "Export backup")
        app.screen.query_one("#directory", Input).value = str(tmp_path / "full")
        await pilot.pause(0.3)
        await settle(pilot)
        assert "is not empty" in text(app, "#directory-error")
        await pilot.press("ctrl+s")  # the core refuses too, and says so next to the field
        await settle(pilot)
        assert "already exists and is not an empty directory" in text(app, "#directory-error")
        assert sorted(p.name for p in (tmp_path / "full").iterdir()) == ["notes.txt"]


async def test_b_on_activity_opens_the_backup_menu_and_help_lists_the_keys(runtime: Runtime) -> None:
    app = create_app(runtime)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("6")
        await settle(pilot)
        await pilot.press("b")
        await settle(pilot)
        assert isinstance(app.screen, BackupMenu)
        await pilot.press("x")
        await settle(pilot)
        assert isinstance(app.screen, ExportScreen)
        await pilot.press("escape")
        await settle(pilot)
        await pilot.press("b", "i")
        await settle(pilot)
        assert isinstance(app.screen, ImportScreen)
        await pilot.press("f1")  # the directory field has the focus: ? would be typed into it
        await settle(pilot)
        assert isinstance(app.screen, HelpScreen)
        keys = plain(app.screen.query_one("#help-keys", Static))
        assert "Import…" in keys and "Back" in keys
        assert app.screen.query_one("#help-topic").source.startswith("# Backup and restore")  # type: ignore[attr-defined]


# ------------------------------------------------------------------------------------- import


async def test_import_shows_the_report_first_and_the_confirmation_states_mode_and_counts(
    runtime: Runtime, export_dir: Path
) -> None:
    with runtime.write() as ctx:  # this site's log now differs from the export's at entry #3
        users.add_user(ctx, "vic", "viewer")
    before = state(runtime)
    app = create_app(runtime)
    async with app.run_test(size=(80, 24)) as pilot:
        await palette(pilot, "Import backup")
        screen = await check(pilot, export_dir)
        report = text(app, "#report")
        # this site has its own activity log: the export's cannot be appended to it
        assert "✗ INCOMPATIBLE" in report and "the two logs have diverged" in report
        assert "tick 'leave it out'" in report and "old-hpc (sqlite, America/New_York)" in report
        assert screen.query_one("#run", Button).disabled
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, ImportScreen)  # no confirmation for an incompatible export

        await tick(pilot, "no_log")
        report = text(app, "#report")
        assert "✓ COMPATIBLE" in report and "left out: activity_log" in report
        assert "maintenance_windows 4 0" in report
        screen.query_one("#mode", Select).value = "create-only"
        await settle(pilot)
        assert "left as they are" in text(app, "#mode-hint")
        await pilot.press("ctrl+s")
        await settle(pilot)
        dialog = app.screen
        assert isinstance(dialog, ImportConfirmScreen)
        question = squash(plain(dialog.query_one("#confirm-body Static", Static)))
        assert "Dry run: check an import of" in question
        assert "create-only: missing records are created" in question
        assert "maintenance_windows 4" in question and "nodes 2" in question and "node_types 1" in question
        assert "left out activity_log" in question and "a merge (it holds" in question
        await pilot.press("n")
        await settle(pilot)
        assert isinstance(app.screen, ImportScreen)
    assert state(runtime) == before  # seeing the report and the question changed nothing


async def test_dry_run_writes_nothing_then_the_import_does(runtime: Runtime, export_dir: Path) -> None:
    before = state(runtime)
    app = create_app(runtime)
    async with app.run_test(size=(80, 24)) as pilot:
        await palette(pilot, "Import backup")
        screen = await check(pilot, export_dir)
        await tick(pilot, "no_log")
        assert screen.query_one("#dry_run", TickBox).value  # a dry run is the default
        await pilot.press("ctrl+s")
        await settle(pilot)
        await pilot.press("enter")  # the dry run's button has the focus
        await settle(pilot)
        result = text(app, "#import-result")
        assert "Dry run passed" in result and "Nothing was written" in result
        assert "maintenance_windows 4 0 0 0" in result
        assert state(runtime) == before

        await tick(pilot, "dry_run", False)
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, ImportConfirmScreen)
        assert app.screen.query_one("#no", Button).has_focus  # a real import is not the default
        assert "This writes to the database" in plain(app.screen.query_one("#confirm-body Static", Static))
        await pilot.press("y")
        await settle(pilot)
        result = text(app, "#import-result")
        assert "Imported in one transaction; activity log entry" in result
        assert "Check an export first" in text(app, "#run-why")  # the old report is history
    windows, entries, action = state(runtime)
    assert (windows, entries, action) == (4, before[1] + 1, "backup.imported")


async def test_a_tampered_file_is_refused_and_named(runtime: Runtime, export_dir: Path) -> None:
    before = state(runtime)
    nodes = export_dir / "nodes.json"
    good = nodes.read_bytes()
    nodes.write_bytes(good.replace(b"node01", b"node07", 1))
    app = create_app(runtime)
    async with app.run_test(size=(80, 24)) as pilot:
        await palette(pilot, "Import backup")
        screen = await check(pilot, export_dir)
        report = text(app, "#report")
        assert "✗ INCOMPATIBLE" in report
        assert "nodes.json: SHA-256 does not match the manifest" in report
        assert "Do not import: the export is damaged" in report
        assert screen.query_one("#run", Button).disabled

        # intact when checked, changed before the import: the import itself refuses
        nodes.write_bytes(good)
        await check(pilot, export_dir)
        await tick(pilot, "no_log")
        assert "✓ COMPATIBLE" in text(app, "#report")
        nodes.write_bytes(good.replace(b"node01", b"node07", 1))
        await tick(pilot, "dry_run", False)
        await pilot.press("ctrl+s")
        await settle(pilot)
        await pilot.press("y")
        await settle(pilot)
        error = text(app, "#form-error")
        assert error.startswith("Import refused: checksum: nodes.json: SHA-256 does not match")
        assert "nothing was imported" in error
        assert any("nodes.json" in n for n in notifications(app))
    assert state(runtime) == before


async def test_stopping_an_import_rolls_it_back(runtime: Runtime, export_dir: Path) -> None:
    class AlreadyStopped:
        def is_set(self) -> bool:
            return True

        def set(self) -> None: ...

        def clear(self) -> None: ...

    before = state(runtime)
    app = create_app(runtime)
    async with app.run_test(size=(80, 24)) as pilot:
        await palette(pilot, "Import backup")
        screen = await check(pilot, export_dir)
        await tick(pilot, "no_log")
        await tick(pilot, "dry_run", False)
        screen.stop = AlreadyStopped()  # type: ignore[assignment]  # as if escape → Stop at once
        await pilot.press("ctrl+s")
        await settle(pilot)
        await pilot.press("y")
        await settle(pilot)
        assert text(app, "#form-error") == "Import stopped before it finished: nothing was written"
        assert not screen.running and not screen.query_one("#directory", Input).disabled
    assert state(runtime) == before


async def test_only_admins_may_export_or_import(runtime: Runtime, tmp_path: Path) -> None:
    with runtime.write() as ctx:
        users.add_user(ctx, "vic", "viewer")
    app = create_app(runtime_as(runtime, "vic"))
    async with app.run_test(size=(80, 24)) as pilot:
        await palette(pilot, "Export backup")
        assert isinstance(app.screen, ExportScreen)
        why = text(app, "#form-error")
        assert why.startswith("Only admins may export or import backups; vic has viewer.")
        assert app.screen.query_one("#run", Button).disabled
        assert app.screen.query_one("#directory", Input).disabled
        app.screen.action_run()  # even if the action is reached, it explains instead of exporting
        await settle(pilot)
        assert "Only admins may export" in notifications(app)[-1]
        await pilot.press("escape")
        await palette(pilot, "Import backup")
        assert isinstance(app.screen, ImportScreen)
        assert text(app, "#form-error").startswith("Only admins may export or import backups")
        assert app.screen.query_one("#directory", Input).disabled
        assert app.screen.query_one("#run", Button).disabled
