"""The help modal: the topic first, then this screen's own keys (no Textual internals)."""

from __future__ import annotations

import pytest
from nodedesk.tui.app import NodedeskApp
from nodedesk.tui.features.help.help import HelpScreen
from textual.containers import VerticalScroll
from textual.pilot import Pilot
from textual.widgets import Markdown, Static

from tests.tui.conftest import Seeded, settle


@pytest.fixture(autouse=True)
def windows_first(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(NodedeskApp, "DEFAULT_MODE", "windows")


async def open_help(pilot: Pilot, key: str = "question_mark") -> HelpScreen:
    await settle(pilot)
    await pilot.press(key)
    await settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, HelpScreen)
    return screen


async def test_the_topic_comes_first_and_is_in_view(app: NodedeskApp, seeded: Seeded) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        help_screen = await open_help(pilot)
        body = help_screen.query_one("#help-body", VerticalScroll)
        first = body.children[0]
        assert isinstance(first, Markdown) and first.id == "help-topic"
        assert first.region.y - body.region.y < 3  # the topic's heading shows without scrolling


@pytest.mark.parametrize("where", ["list", "form"])
async def test_keys_list_only_nodedesk_keys(app: NodedeskApp, seeded: Seeded, where: str) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        if where == "form":
            await pilot.press("n")
            await settle(pilot)
        help_screen = await open_help(pilot, "f1")
        keys = str(help_screen.query_one("#help-keys", Static).render())
        for internal in ("Page Left", "Page Right", "Scroll", "Select all", "^pgup", "Toggle", "Delete left"):
            assert internal not in keys, keys
        assert "Help" in keys
        if where == "list":
            assert "Filter" in keys and "New" in keys
        else:
            assert "Save" in keys and "Cancel" in keys
        assert len(keys.splitlines()) < 40, keys  # a screen's own keys, not framework ones


async def test_code_blocks_wrap_inside_the_dialog(app: NodedeskApp, seeded: Seeded) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        help_screen = await open_help(pilot)
        topic = help_screen.query_one("#help-topic", Markdown)
        await topic.update("# Wide\n\n```sh\n" + "nodedesk " + "x" * 140 + " END\n```\n")
        await settle(pilot)
        assert "END" in screen_text(pilot)


def screen_text(pilot: Pilot) -> str:
    """The whole terminal as text, one line per row."""
    return "\n".join(strip.text for strip in pilot.app.screen._compositor.render_strips())
