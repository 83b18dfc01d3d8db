"""Operating over SSH: themes, NO_COLOR, animations off by default, OSC 52 copy, troubleshooting help."""

from __future__ import annotations

import pytest
from nodedesk.core import helpdocs
from nodedesk.core.identity import os_login
from nodedesk.core.runtime import Runtime
from nodedesk.core.services.site import users
from nodedesk.tui import appearance
from nodedesk.tui.app import NodedeskApp, create_app
from nodedesk.tui.cli import main
from nodedesk.tui.features.windows.windows import WindowsScreen
from nodedesk.tui.widgets.paged_table import PagedTable
from textual import constants
from textual.theme import BUILTIN_THEMES

from tests.tui.conftest import Seeded, notifications, settle

ENV = ("NO_COLOR", "NODEDESK_THEME", "TEXTUAL_THEME", "TEXTUAL_COLOR_SYSTEM", "TEXTUAL_ANIMATIONS")


@pytest.fixture(autouse=True)
def plain_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ENV:
        monkeypatch.delenv(name, raising=False)



async def windows_list(app: NodedeskApp, pilot) -> PagedTable:  # type: ignore[no-untyped-def]
    await settle(pilot)
    await pilot.press("1")
    await settle(pilot)
    assert isinstance(app.screen, WindowsScreen)
    table = app.screen.query_one(PagedTable)
    table.focus()
    await settle(pilot)
    return table


def test_theme_list_is_textuals() -> None:
    assert set(appearance.THEMES) == set(BUILTIN_THEMES)


def test_theme_choice_order() -> None:
    pick = appearance.pick_theme
    sixteen = {"TEXTUAL_COLOR_SYSTEM": "standard"}
    assert pick(None, {}) == "textual-dark"
    assert pick(None, sixteen) == "ansi-dark"
    assert pick(None, {**sixteen, "TEXTUAL_THEME": "nord"}) == "nord"
    assert pick(None, {"TEXTUAL_THEME": "nord", "NODEDESK_THEME": "ansi-light"}) == "ansi-light"
    assert pick("textual-light", {"NODEDESK_THEME": "ansi-light"}) == "textual-light"
    with pytest.raises(appearance.ThemeError, match=r"^TEXTUAL_THEME: unknown theme 'x'"):
        pick(None, {"TEXTUAL_THEME": "x"})


async def test_defaults_dark_theme_and_no_animations(runtime: Runtime, seeded: Seeded) -> None:
    app = create_app(runtime)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert app.theme == "textual-dark"
        assert app.animation_level == "none"
        assert not app.has_class("-no-color")


@pytest.mark.parametrize(
    ("name", "dark", "ansi"), [("ansi-dark", True, True), ("textual-light", False, False)]
)
async def test_theme_option(runtime: Runtime, seeded: Seeded, name: str, dark: bool, ansi: bool) -> None:
    app = create_app(runtime, theme=name)
    async with app.run_test(size=(80, 24)) as pilot:
        await windows_list(app, pilot)
        assert app.theme == name
        assert app.current_theme.dark is dark
        assert app.native_ansi_color is ansi  # 16 colours: the terminal's own palette


async def test_sixteen_colour_terminal_gets_the_ansi_theme(
    runtime: Runtime, seeded: Seeded, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEXTUAL_COLOR_SYSTEM", "standard")
    app = create_app(runtime)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert app.theme == "ansi-dark"


async def test_animations_option_and_textual_setting(
    runtime: Runtime, seeded: Seeded, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = create_app(runtime, animations=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert app.animation_level == "full"
    monkeypatch.setenv("TEXTUAL_ANIMATIONS", "basic")  # the operator's explicit choice is left alone
    app = create_app(runtime)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert app.animation_level == constants.TEXTUAL_ANIMATIONS


async def test_no_color_shows_cursor_and_focus_in_reverse_video(
    runtime: Runtime, seeded: Seeded, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    app = create_app(runtime)
    async with app.run_test(size=(80, 24)) as pilot:
        table = await windows_list(app, pilot)
        assert app.no_color and app.has_class("-no-color")
        assert table.get_component_rich_style("datatable--cursor").reverse
        assert table.get_component_rich_style("datatable--header").underline


async def test_plain_app_keeps_the_coloured_cursor(runtime: Runtime, seeded: Seeded) -> None:
    app = create_app(runtime)
    async with app.run_test(size=(80, 24)) as pilot:
        table = await windows_list(app, pilot)
        assert not table.get_component_rich_style("datatable--cursor").reverse


async def test_copy_cell_and_row_to_the_clipboard(runtime: Runtime, seeded: Seeded) -> None:
    app = create_app(runtime)
    async with app.run_test(size=(80, 24)) as pilot:
        table = await windows_list(app, pilot)
        row = [str(getattr(c, "plain", c)) for c in table.get_row_at(table.cursor_coordinate.row)]
        await pilot.press("y")
        await settle(pilot)
        assert app.clipboard == row[0].strip() and app.clipboard
        assert f"Copied cell: {app.clipboard}" in notifications(app)
        await pilot.press("Y")
        await settle(pilot)
        cells = app.clipboard.split("\t")
        assert cells == [" ".join(c.split()) for c in row]
        titles = {"Firmware update", "Cooling inspection", "Kernel patch", "Power work"}
        assert titles & set(cells), cells
        assert any(n.startswith("Copied row (") for n in notifications(app))


async def test_copy_without_a_list_says_so(runtime: Runtime, seeded: Seeded) -> None:
    app = create_app(runtime)
    async with app.run_test(size=(80, 24)) as pilot:
        await windows_list(app, pilot)
        app.set_focus(None)
        await pilot.press("y")
        await settle(pilot)
        assert app.clipboard == ""
        assert any(n.startswith("Nothing to copy here") for n in notifications(app))


def test_unknown_theme_is_one_line_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--theme", "neon"]) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1
    assert err[0].startswith("nodedesk: error: theme: unknown theme 'neon'; choose one of textual-dark")
    assert "ansi-dark" in err[0] and "textual-light" in err[0]


def test_troubleshooting_topic_is_reachable() -> None:
    text = helpdocs.read("troubleshooting")
    for needle in ("TERM", "COLORTERM", "TEXTUAL_COLOR_SYSTEM", "NO_COLOR", "set-clipboard", "escape-time"):
        assert needle in text
    assert "(troubleshooting)" in helpdocs.read("keys")  # a link the help modal follows


def test_command_line_options_reach_the_app(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``nodedesk --no-mouse --theme ansi-light --animations``: the app runs without mouse support,
    with that theme and with animations on (App.run is replaced: no terminal in tests)."""
    with runtime.write() as ctx:
        users.add_user(ctx, os_login(), "viewer")
    monkeypatch.setenv("NODEDESK_DATABASE_URL", runtime.config.database_url)
    monkeypatch.delenv("NODEDESK_USER", raising=False)
    seen: dict[str, object] = {}

    def fake_run(self: NodedeskApp, **kwargs: object) -> None:
        seen.update(kwargs, theme=self._start_theme, animations=self.animation_level)

    monkeypatch.setattr(NodedeskApp, "run", fake_run)
    assert main(["--no-mouse", "--theme", "ansi-light", "--animations"]) == 0
    assert seen == {"mouse": False, "theme": "ansi-light", "animations": "full"}
    assert main([]) == 0
    assert seen == {"mouse": True, "theme": "textual-dark", "animations": "none"}
