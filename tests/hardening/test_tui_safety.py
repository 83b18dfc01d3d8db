"""Terminal safety, app side: titles, descriptions, notes and names holding ANSI/OSC
escapes, Rich/Textual markup, bidi controls and very long words render inert in the windows,
outages, reservations and projects lists and their detail screens, and the layout holds at 80x24."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.hardening.hostile_data import bad_chars, plant
from tests.hardening.tui_support import demo_runtime, run_app, screen_lines, settle

# (section key, text the list must show literally, text the detail must show literally)
SCREENS = [
    ("1", "\\x1b[31mRED", "[bold red]MARKUP[/]"),
    ("2", "\\x1b[31mRED", "[bold red]MARKUP[/]"),
    ("3", "[b]P", "\\x1b[2J"),
    ("7", "[b]P", "[link=file:///etc/passwd]click[/link]"),
]


def _check_frame(lines: list[str], where: str) -> None:
    assert len(lines) == 24, where
    joined = "\n".join(lines)
    assert not bad_chars(joined), f"{where}: raw {bad_chars(joined)} on screen"
    assert lines[0].startswith(" nodedesk ›"), f"{where}: the top bar moved: {lines[0]!r}"
    # The footer keeps "? Help" whatever else it must drop to fit (tui/widgets/footer.py).
    assert "? Help" in lines[-1], f"{where}: the footer moved: {lines[-1]!r}"


@pytest.mark.parametrize(
    ("key", "in_list", "in_detail"), SCREENS, ids=["windows", "outages", "reservations", "projects"]
)
def test_hostile_text_is_inert_and_layout_holds(
    demo_template: Path, tmp_path: Path, key: str, in_list: str, in_detail: str
) -> None:
    runtime = demo_runtime(demo_template, tmp_path, prepare=plant)

    async def body(app, pilot) -> None:  # type: ignore[no-untyped-def]
        await pilot.press(key)
        await settle(pilot)
        lines = screen_lines(app)
        _check_frame(lines, f"section {key}")
        assert in_list in "\n".join(lines), "\n".join(lines)
        if key == "1":  # one row per window although every title is 170+ characters
            assert sum("\\x1b[31mRED" in line for line in lines[3:]) >= 9
        await pilot.press("enter")
        await settle(pilot)
        lines = screen_lines(app)
        _check_frame(lines, f"detail of section {key}")
        assert in_detail in "\n".join(lines), "\n".join(lines)
        assert "\u202e" not in "".join(lines) and "\x1b" not in "".join(lines)

    run_app(runtime, body)
