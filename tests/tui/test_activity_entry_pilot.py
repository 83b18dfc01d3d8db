"""The activity entry's detail at 80x24: the fields that changed, ``field: before → after`` one per
line, a creation's and a deletion's values, long values shortened, and J toggling the raw JSON
(help/activity.md)."""

from __future__ import annotations

from nodedesk.core.runtime import Runtime
from nodedesk.core.services.downtime import windows as svc
from nodedesk.tui.app import create_app
from nodedesk.tui.features.activity.activity import ActivityEntryScreen
from nodedesk.tui.features.activity.activity_changes import groups
from nodedesk.tui.widgets.paged_table import PagedTable
from textual.pilot import Pilot
from textual.widgets import Static

from tests.helpers import local
from tests.tui.conftest import settle

LONG = "Replace the chilled-water pumps on row B, then flush and refill the loop; " * 4


def shown(pilot: Pilot, selector: str) -> str:
    box = pilot.app.screen.query_one(selector, Static)
    return str(box.render()) if box.display else ""


async def open_entry(pilot: Pilot, row: int) -> ActivityEntryScreen:
    """The activity list (newest first), then the entry on ``row``."""
    await settle(pilot)
    await pilot.press("6")
    await settle(pilot)
    pilot.app.screen.query_one(PagedTable).move_cursor(row=row)
    await pilot.press("enter")
    await settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, ActivityEntryScreen)
    return screen


def make_window(runtime: Runtime) -> int:
    with runtime.write() as ctx:
        draft = svc.WindowDraft("Racks", local("2026-02-25 08:00"), local("2026-02-25 12:00"))
        return svc.create_window(ctx, draft).window.id


async def test_an_edited_window_shows_before_and_after_and_j_shows_the_json(runtime: Runtime) -> None:
    wid = make_window(runtime)
    with runtime.write() as ctx:
        changes = svc.WindowChanges(title="Rack move", end=local("2026-02-25 13:00"), description=LONG)
        svc.update_window(ctx, wid, changes)
    app = create_app(runtime)
    async with app.run_test(size=(80, 24)) as pilot:
        entry = await open_entry(pilot, 0)
        assert entry.entry.action == "window.updated"
        lines = shown(pilot, "#entry-changes").splitlines()
        assert lines[0] == "Changed (3 fields)"
        assert '  end: "2026-02-25T12:00:00-05:00" → "2026-02-25T13:00:00-05:00"' in lines
        assert '  title: "Racks" → "Rack move"' in lines
        (description,) = [line for line in lines if line.startswith("  description:")]
        assert description.startswith('  description: "" → "Replace the chilled-water pumps')
        assert description.endswith("…") and len(description) <= 80  # shortened to the dialog
        assert shown(pilot, "#entry-json") == ""  # hidden until J
        assert "J raw JSON" in shown(pilot, "#entry-hint")
        await pilot.press("J")
        await settle(pilot)
        raw = shown(pilot, "#entry-json")
        assert shown(pilot, "#entry-changes") == ""
        assert raw.startswith("before:\n{") and "\nafter:\n{" in raw
        assert '"title": "Racks"' in raw and '"title": "Rack move"' in raw
        assert LONG.strip() in raw  # whole here
        assert "J what changed" in shown(pilot, "#entry-hint")
        await pilot.press("J")
        await settle(pilot)
        assert shown(pilot, "#entry-json") == "" and "Changed (3 fields)" in shown(pilot, "#entry-changes")


async def test_a_creation_and_a_deletion_list_their_values(runtime: Runtime) -> None:
    wid = make_window(runtime)
    with runtime.write() as ctx:
        svc.delete_window(ctx, wid)
    app = create_app(runtime)
    async with app.run_test(size=(80, 24)) as pilot:
        entry = await open_entry(pilot, 0)
        assert entry.entry.action == "window.deleted"
        text = shown(pilot, "#entry-changes")
        assert text.startswith("Deleted; it had (")
        assert '  title: "Racks"' in text.splitlines() and "→" not in text
        assert "Recorded with the deletion\n  correction: false" in text
        await pilot.press("escape")
        await settle(pilot)
        entry = await open_entry(pilot, 1)
        assert entry.entry.action == "window.created"
        text = shown(pilot, "#entry-changes")
        assert text.startswith("Created with (") and '  start: "2026-02-25T08:00:00-05:00"' in text
        assert "→" not in text and "(none)" not in text


def test_the_lines_follow_the_width_and_keep_short_values_whole() -> None:
    before = {"title": "Racks", "note": "a" * 100, "gone": 1}
    after = {"title": "Rack move", "note": "b" * 100, "new": [1, 2]}
    (changed,) = groups(before, after, 60)
    assert changed.heading == "Changed (4 fields)"
    title, note, new, gone = changed.lines
    assert title == '  title: "Racks" → "Rack move"'
    assert note.startswith('  note: "aaa') and "…" in note and note.endswith("…") and len(note) == 60
    assert new == "  new: (none) → [1, 2]" and gone == "  gone: 1 → (none)"
    short_before = groups({"d": ""}, {"d": "x" * 100}, 60)[0].lines[0]
    assert short_before.startswith('  d: "" → "xxx') and len(short_before) == 60  # "" stays whole
    assert groups({"a": 1}, {"a": 1}, 60) == []
    (created,) = groups(None, {"a": 1, "b": {"c": "d"}}, 60)
    assert created.heading == "Created with (2 fields)" and created.lines == ("  a: 1", '  b.c: "d"')
    (deleted,) = groups({"a": 1}, None, 60)
    assert deleted.heading == "Deleted; it had (1 field)" and deleted.lines == ("  a: 1",)
