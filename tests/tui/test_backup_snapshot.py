"""SVG snapshot of the import screen's compatibility report (80×24, clock frozen at 2026-02-15
10:00 New York). The export is a small other site whose manifest claims a newer minor format
version, so the report shows COMPATIBLE_WITH_WARNINGS with its warning and the Force option.

Update after an intended change with ``pytest tests/tui/test_backup_snapshot.py --snapshot-update``
and look at the SVG in ``tests/tui/__snapshots__/`` before committing it.
"""

from __future__ import annotations

import itertools
import uuid
from pathlib import Path

import pytest
from nodedesk.core.clock import FrozenClock
from nodedesk.core.runtime import Runtime
from nodedesk.tui.app import NodedeskApp, create_app
from nodedesk.tui.features.backup.backup import open_backup
from nodedesk.tui.sections import Section
from nodedesk.tui.widgets import topbar
from textual.pilot import Pilot
from textual.widgets import Input

from tests.tui.backup_seed import make_export
from tests.tui.conftest import settle

# six sections, so another section becoming live does not change this picture.
PINNED = [
    Section(i, i.title(), k, "overview")
    for k, i in zip(
        "123456", ("windows", "outages", "reservations", "calendar", "invoices", "activity"), strict=True
    )
]


@pytest.fixture(autouse=True)
def pinned_sections(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(topbar, "SECTIONS", PINNED)
    monkeypatch.setattr(NodedeskApp, "DEFAULT_MODE", "windows")  # the app opens on the Dashboard


def test_compatibility_report_with_a_warning_80x24(  # type: ignore[no-untyped-def]
    runtime: Runtime,
    tmp_path: Path,
    sqlite_template: Path,
    clock: FrozenClock,
    monkeypatch: pytest.MonkeyPatch,
    snap_compare,
) -> None:
    numbers = itertools.count(1)
    with monkeypatch.context() as m:  # every row's UUID fixed, so the root SHA-256 is too
        m.setattr(uuid, "uuid4", lambda: uuid.UUID(int=next(numbers)))
        export = make_export(tmp_path, sqlite_template, clock, windows=False, exclude=["activity_log"])
    manifest = export / "manifest.json"
    manifest.write_text(
        manifest.read_text().replace('"format_version": "1.0.0"', '"format_version": "1.1.0"')
    )
    monkeypatch.chdir(tmp_path)  # a relative directory keeps the temporary path out of the picture

    async def report(pilot: Pilot) -> None:
        await settle(pilot)
        open_backup(pilot.app, "import")
        await settle(pilot)
        directory = pilot.app.screen.query_one("#directory", Input)
        directory.suggester = None  # path completion is asynchronous: keep it out of the picture
        directory.value = "export"
        await pilot.press("enter")
        await settle(pilot)

    assert snap_compare(create_app(runtime), terminal_size=(80, 24), run_before=report)
