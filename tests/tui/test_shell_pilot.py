"""Pilot tests of the app shell: header, sections, help modal, links, command palette, activity."""

from __future__ import annotations

import pytest
from nodedesk.core.errors import PermissionDenied
from nodedesk.core.runtime import Runtime
from nodedesk.tui.app import NodedeskApp, create_app
from nodedesk.tui.features.activity.activity import ActivityEntryScreen, ActivityScreen
from nodedesk.tui.features.help.help import HelpScreen
from nodedesk.tui.features.windows.window_form import WindowFormScreen
from nodedesk.tui.features.windows.windows import WindowsScreen
from nodedesk.tui.sections import section
from nodedesk.tui.widgets.paged_table import PagedTable
from nodedesk.tui.widgets.topbar import TopBar
from textual.command import CommandPalette
from textual.widgets import Markdown, Static

from tests.helpers import runtime_as
from tests.tui.conftest import Seeded, notifications, settle


@pytest.fixture(autouse=True)
def windows_first(monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests start in the Windows section (the app opens on the Dashboard)."""
    monkeypatch.setattr(NodedeskApp, "DEFAULT_MODE", "windows")



def help_keys(app: NodedeskApp) -> str:
    return str(app.screen.query_one("#help-keys", Static).render())


async def test_header_shows_site_time_frozen_clock_and_user(app: NodedeskApp, seeded: Seeded) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        header = app.screen.query_one(TopBar).render().plain
        first, sections = header.split("\n")
        assert "nodedesk › Windows" in first
        assert "Sun 2026-02-15 10:00 -05:00 frozen" in first and first.rstrip().endswith("admin")
        # thirteen tabs at 80 columns: each key in bold against a short word, whole words only
        assert sections.split() == [
            "0Dash", "1Win", "2Out", "3Resv", "4Cal", "5Inv", "6Act", "7Proj", "8Rates", "9Sch",
            "Nodes", "Avail", "Down",
        ]  # fmt: skip


def test_unregistered_user_is_refused_before_the_app_starts(runtime: Runtime) -> None:
    with pytest.raises(PermissionDenied, match="not registered"):
        create_app(runtime_as(runtime, "mallory"))


async def test_help_modal_shows_topic_and_live_keys(app: NodedeskApp, seeded: Seeded) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        table = app.screen.query_one(PagedTable)
        table.move_cursor(row=2)  # the in-progress window
        await settle(pilot)
        await pilot.press("question_mark")
        await settle(pilot)
        assert isinstance(app.screen, HelpScreen)
        keys = help_keys(app)
        assert "Move end" in keys and "Delete 🔒" in keys and "Filter" in keys
        assert "Edit\n" not in keys  # the plain Edit binding is not live for this window
        topic = app.screen.query_one("#help-topic", Markdown).source
        assert topic.startswith("# Maintenance windows") and "Locked windows" in topic
        assert app.screen.query_one("#help-general", Markdown).source.startswith("# Keys")
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, WindowsScreen)
        await pilot.press("f1")
        await settle(pilot)
        assert isinstance(app.screen, HelpScreen)


async def test_help_from_the_form_lists_the_form_keys(app: NodedeskApp, seeded: Seeded) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("n")
        await settle(pilot)
        await pilot.press("f1")  # '?' would be typed into the title
        await settle(pilot)
        assert isinstance(app.screen, HelpScreen)
        assert "Save" in help_keys(app) and "Cancel" in help_keys(app)
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, WindowFormScreen)


async def test_links_never_open_a_browser(app: NodedeskApp, seeded: Seeded, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        opened: list[str] = []
        monkeypatch.setattr(app._driver, "open_url", lambda url, new_tab=True: opened.append(url))
        await pilot.press("question_mark")
        await settle(pilot)
        topic = app.screen.query_one("#help-topic", Markdown)
        topic.post_message(Markdown.LinkClicked(topic, "https://example.org/evil"))
        await settle(pilot)
        assert opened == []
        assert any("Not opened" in m and "https://example.org/evil" in m for m in notifications(app))
        topic.post_message(Markdown.LinkClicked(topic, "overview"))  # another help topic opens here
        await settle(pilot)
        assert topic.source.startswith("# nodedesk overview")
        app.open_url("https://example.org/direct")
        await settle(pilot)
        assert opened == []


async def test_number_keys_switch_sections(app: NodedeskApp, seeded: Seeded) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press(section("activity").key)
        await settle(pilot)
        assert isinstance(app.screen, ActivityScreen)
        assert app.current_mode == "activity"
        await pilot.press(section("windows").key)
        await settle(pilot)
        assert isinstance(app.screen, WindowsScreen)
        assert app.screen.query_one(PagedTable).row_count == 4  # state kept per section


async def test_activity_lists_changes_newest_first_and_verifies(app: NodedeskApp, seeded: Seeded) -> None:
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("6")
        await settle(pilot)
        table = app.screen.query_one(PagedTable)
        first = table.get_row_at(0)
        assert first[3].plain == "window.created" and "Power work" in first[4].plain
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, ActivityEntryScreen)
        await pilot.press("escape", "v")
        await settle(pilot)
        assert any("Activity log intact" in m for m in notifications(app))


async def test_command_palette_runs_screen_commands(app: NodedeskApp, seeded: Seeded) -> None:
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+p")
        await settle(pilot)
        assert CommandPalette.is_open(app)
        await pilot.press(*"New maintenance")
        await pilot.pause(0.5)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, WindowFormScreen)
