"""The binding registry: every binding has a stable id; a remapped key works and shows as remapped
in the footer, the help modal and the palette (help/keys.md, "Remapping keys and choosing a theme")."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import defaultdict

import pytest
from nodedesk.core.runtime import Runtime
from nodedesk.tui.app import NodedeskApp, create_app
from nodedesk.tui.features.help.help import HelpScreen
from nodedesk.tui.features.windows.window_form import WindowFormScreen
from nodedesk.tui.features.windows.windows import WindowsScreen
from nodedesk.tui.kit import bindings as kb
from nodedesk.tui.widgets.footer import KeyFooter
from textual.dom import DOMNode
from textual.widgets import Static

from tests.tui.conftest import Seeded, settle


@pytest.fixture(autouse=True)
def windows_first(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(NodedeskApp, "DEFAULT_MODE", "windows")


def _every_class() -> list[type[DOMNode]]:
    kb.import_all()
    kb.ensure_ids()
    return [cls for cls in kb._subclasses(DOMNode) if cls._merged_bindings is not None]


def test_every_binding_of_every_class_has_an_id() -> None:
    missing = [
        f"{cls.__module__}:{cls.__qualname__} {key}"
        for cls in _every_class()
        for key, group in cls._merged_bindings.key_to_bindings.items()  # type: ignore[union-attr]
        for b in group
        if not b.id
    ]
    assert missing == []


def test_an_id_names_one_key_slot_of_one_class() -> None:
    """Remapping an id moves exactly one thing: the id is declared by one class, and inside a
    class it never names two different actions on different keys."""
    declared: dict[str, set[str]] = defaultdict(set)
    for cls in kb.scopes():
        actions: dict[str, set[str]] = defaultdict(set)
        for key, group in cls._merged_bindings.key_to_bindings.items():  # type: ignore[union-attr]
            owner = kb._declaring_class(cls, key)
            declared[group[0].id or ""].add(f"{owner.__module__}:{owner.__qualname__}")
            actions[group[0].id or ""].add(group[0].action)
        assert {i: a for i, a in actions.items() if len(a) > 1} == {}, cls
    assert {i: d for i, d in declared.items() if len(d) > 1} == {}


def test_ids_read_as_area_and_action() -> None:
    cat = kb.catalogue()
    assert cat["windows.new"].keys == ("n",)
    assert cat["table.next_page"].keys == ("right_square_bracket",)
    assert cat["app.help"].keys == ("question_mark", "f1")
    assert cat["section.windows"].keys == ("1",)
    assert cat["app.command_palette"].keys == ("ctrl+p",)
    assert cat["windows.edit"].keys == ("e",)  # edit, move end or locked: one slot
    assert cat["calendar.move_minus_1"].keys == ("left", "h")
    assert kb.action_name("copy('cell')") == "copy_cell"
    assert kb.action_name("app.pop_screen") == "pop_screen"


def test_the_listing_is_the_same_in_another_process() -> None:
    listing = [(e.id, e.keys, e.description) for e in kb.catalogue().values()]
    assert listing == sorted(listing)
    code = (
        "import json; from nodedesk.tui.kit import bindings as kb;"
        "print(json.dumps([[e.id, list(e.keys), e.description] for e in kb.catalogue().values()]))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert [(i, tuple(k), d) for i, k, d in json.loads(out)] == listing


def test_clashes_are_found_per_screen() -> None:
    assert kb.clashes({"windows.new": "insert"}) == []
    assert kb.clashes({"windows.new": "d"}) == [("windows", "d", "windows.new", "windows.delete")]
    assert kb.clashes({"windows.new": "d", "windows.delete": "x"}) == []
    assert kb.clashes({"app.quit": "n"}) == []  # the windows screen's n hides it there: not one scope


@pytest.fixture
def remapped_app(runtime: Runtime) -> NodedeskApp:
    return create_app(runtime, keymap={"windows.new": "insert", "app.help": "f2", "help.dismiss_help": "x"})


async def test_a_remapped_key_runs_the_action_and_shows_everywhere(
    remapped_app: NodedeskApp, seeded: Seeded
) -> None:
    app = remapped_app
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, WindowsScreen)
        footer = app.screen.query_one(KeyFooter).plain()
        assert "insert New" in footer or "ins New" in footer, footer
        assert "n New" not in footer
        assert "f2 Help" in footer and "? Help" not in footer
        live = kb.live_bindings(app.screen)
        assert {b.id for b in live if b.key == "insert"} == {"windows.new"}
        assert not any(b.key == "n" for b in live)
        commands = {c.title: c.help for c in app.get_system_commands(app.screen)}
        assert "(f2)" in commands["Help"]
        new = next(t for t in commands if t.endswith(": New"))
        assert "windows.new" in commands[new] and "n" not in new.split(":")[0].split()[1:]

        await pilot.press("n")  # the old key does nothing now
        await settle(pilot)
        assert isinstance(app.screen, WindowsScreen)
        await pilot.press("f2")
        await settle(pilot)
        assert isinstance(app.screen, HelpScreen)
        keys = str(app.screen.query_one("#help-keys", Static).render())
        assert "insert" in keys or "ins" in keys, keys
        hint = str(app.screen.query_one("#help-hint", Static).render())
        assert hint.startswith("x close · ↑/↓ j/k scroll"), hint
        await pilot.press("escape")  # the old key does nothing now
        await settle(pilot)
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("x")
        await settle(pilot)
        await pilot.press("insert")
        await settle(pilot)
        assert isinstance(app.screen, WindowFormScreen)
