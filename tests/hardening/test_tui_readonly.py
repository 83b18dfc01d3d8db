"""``nodedesk --readonly`` disables every write action visibly, on every screen.

For every section and the detail screen its first row opens: every key bound to a write action
(tui.app.WRITE_ACTIONS, which includes the "🔒 says why" stand-ins) is shown dimmed in the footer
and the help modal; pressing it opens no form or dialog and says the session is read-only; every
palette command of the screen does the same. The database is unchanged at the end.
"""

from __future__ import annotations

import re
from pathlib import Path

from nodedesk.tui.app import WRITE_ACTIONS
from nodedesk.tui.sections import SECTIONS

from tests.hardening.conftest import db_digest
from tests.hardening.tui_support import demo_runtime, notes, run_app, settle

READONLY = re.compile(r"read-?only")
# Screens a write action would open; navigation, help and read-only exports are fine.
FORMISH = re.compile(r"Form|Dialog|Confirm|Delete|Decide|Decision|Import|Override|Finalize|Member")
WRITE_WORDS = re.compile(
    r"\b(New|Edit|Delete|Approve|Decline|Cancel|Resolve|Finalize|Import|Set|Propose|Add|Remove|Skip|Move|Extend|Send)\b"
)


def _action_name(action: str) -> str:
    return action.split("(", 1)[0].rsplit(".", 1)[-1]


def test_every_write_action_is_dimmed_and_refused(demo_template: Path, tmp_path: Path) -> None:
    runtime = demo_runtime(demo_template, tmp_path)
    url = runtime.config.database_url
    before = db_digest(url)
    seen: dict[str, int] = {}
    problems: list[str] = []

    async def visit(app, pilot, where: str) -> None:  # type: ignore[no-untyped-def]
        base = app.screen
        depth = len(app.screen_stack)
        for key, active in list(app.active_bindings.items()):
            if _action_name(active.binding.action) not in WRITE_ACTIONS:
                continue
            seen[where] = seen.get(where, 0) + 1
            if active.enabled:
                problems.append(f"{where}: {key} ({active.binding.action}) is not dimmed")
            target, name, params = app._parse_action(active.binding.action, active.node)
            runs = bool(target.check_action(name, params))  # False/None: the key does nothing
            app._notifications.clear()
            await pilot.press(key)
            await settle(pilot)
            if app.screen is not base:
                problems.append(f"{where}: {key} opened {type(app.screen).__name__}")
                while len(app.screen_stack) > depth:
                    app.pop_screen()
                    await settle(pilot)
            elif runs and not any(READONLY.search(n) for n in notes(app)):
                problems.append(f"{where}: {key} gave no read-only explanation: {notes(app)}")
        for command in list(app.get_system_commands(base)):
            if not WRITE_WORDS.search(command.title) or command.callback is None:
                continue
            if command.title.startswith("Key "):  # a key's own palette entry: the walk above pressed it
                continue
            seen[f"{where} palette"] = seen.get(f"{where} palette", 0) + 1
            app._notifications.clear()
            command.callback()
            await settle(pilot)
            top = app.screen
            if FORMISH.search(type(top).__name__):
                problems.append(f"{where}: palette {command.title!r} opened {type(top).__name__}")
            elif top is base and not any(READONLY.search(n) for n in notes(app)):
                problems.append(f"{where}: palette {command.title!r} gave no read-only explanation")
            while len(app.screen_stack) > depth:
                app.pop_screen()
                await settle(pilot)

    async def body(app, pilot) -> None:  # type: ignore[no-untyped-def]
        assert "read-only" in "".join(s.text for s in app.screen._compositor.render_strips()[:1])
        for section in SECTIONS:
            await pilot.press(section.key)
            await settle(pilot)
            await visit(app, pilot, section.id)
            depth = len(app.screen_stack)
            await pilot.press("enter")
            await settle(pilot)
            if len(app.screen_stack) > depth and not FORMISH.search(type(app.screen).__name__):
                await visit(app, pilot, f"{section.id} › {type(app.screen).__name__}")
            while len(app.screen_stack) > depth:
                app.pop_screen()
                await settle(pilot)

    run_app(runtime, body, readonly=True, size=(100, 30))
    assert not problems, "\n".join(problems)
    assert sum(seen.values()) >= 20, seen  # the probe really met the write keys
    assert sum(v for k, v in seen.items() if k.endswith("palette")) >= 10, seen  # and write commands
    assert db_digest(url) == before


def test_help_modal_shows_write_keys_dimmed(demo_template: Path, tmp_path: Path) -> None:
    runtime = demo_runtime(demo_template, tmp_path)

    async def body(app, pilot) -> None:  # type: ignore[no-untyped-def]
        await pilot.press("1")
        await settle(pilot)
        keys = {k.description: k.enabled for k in app.live_keys(app.screen)}
        assert keys.get("New") is False, keys
        assert keys.get("Filter windows", keys.get("Filter")) is not False, keys

    run_app(runtime, body, readonly=True)


def test_without_readonly_the_same_keys_are_live(demo_template: Path, tmp_path: Path) -> None:
    runtime = demo_runtime(demo_template, tmp_path)

    async def body(app, pilot) -> None:  # type: ignore[no-untyped-def]
        await pilot.press("1")
        await settle(pilot)
        assert app.active_bindings["n"].enabled

    run_app(runtime, body)
