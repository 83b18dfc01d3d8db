"""The list kit's marks (space, V, escape) and its CSV export (ctrl+e), on an in-memory list of
250 things read a page of 20 at a time (tests/tui/test_kit_pilot.py), at 80x24."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from nodedesk.tui.app import NodedeskApp
from nodedesk.tui.kit.confirm import ConfirmScreen
from nodedesk.tui.kit.export import ExportListScreen
from nodedesk.tui.kit.list_screen import clear_binding, mark_bindings
from nodedesk.tui.kit.table import MARK_GLYPH
from textual.pilot import Pilot
from textual.widgets import Input, Static

from tests.tui.conftest import settle
from tests.tui.test_kit_pilot import Source, Thing, ThingsScreen, cursor, status, table


class MarkedThings(ThingsScreen):
    MARKS = True
    EXPORT_NAME = "things"
    BINDINGS = [clear_binding(), *mark_bindings()]


async def start(app: NodedeskApp, pilot: Pilot, source: Source) -> MarkedThings:
    screen = MarkedThings(source)
    await app.push_screen(screen)
    await settle(pilot)
    return screen


def columns(app: NodedeskApp) -> list[str]:
    return [str(c.key.value) for c in table(app).ordered_columns]


def glyph(app: NodedeskApp, key: str) -> str:
    return str(table(app).get_row(key)[0]).strip()


async def test_space_marks_the_row_with_a_glyph_and_marks_survive_paging_and_refresh(
    app: NodedeskApp,
) -> None:
    source = Source()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await start(app, pilot, source)
        assert columns(app) == ["id", "name"]  # the marks column comes with the first mark
        await pilot.press("space", "j", "j", "space")
        assert columns(app) == ["mark", "id", "name"] and cursor(app) == 3
        assert screen.marked_keys() == ["1", "3"]
        assert (glyph(app, "1"), glyph(app, "2"), glyph(app, "3")) == (MARK_GLYPH, "", MARK_GLYPH)
        assert f"{MARK_GLYPH} 2 marked" in status(app)
        await pilot.press("right_square_bracket")  # the next page, then back: marks are by key
        await settle(pilot)
        assert cursor(app) == 21 and glyph(app, "21") == ""
        await pilot.press("space")
        await pilot.press("left_square_bracket")
        await settle(pilot)
        assert glyph(app, "1") == MARK_GLYPH and glyph(app, "3") == MARK_GLYPH
        source.things.insert(0, Thing(0, "thing 000", "even"))  # rows shift by one
        screen.refresh_from_feed()
        await settle(pilot)
        assert glyph(app, "1") == MARK_GLYPH and glyph(app, "3") == MARK_GLYPH and glyph(app, "2") == ""
        assert screen.marked_keys() == ["1", "3", "21"]
        assert cursor(app) == 1
        await pilot.press("space")  # a marked row: unmarked
        assert screen.marked_keys() == ["3", "21"] and glyph(app, "1") == ""


async def test_V_marks_from_the_last_mark_to_the_cursor_also_across_pages(app: NodedeskApp) -> None:
    source = Source()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await start(app, pilot, source)
        await pilot.press("j", "space", *"jjj", "V")
        assert screen.marked_keys() == ["2", "3", "4", "5"]
        await pilot.press("escape")  # no filter: escape clears the marks
        assert screen.marked_keys() == []
        assert "marked" not in status(app)
        await pilot.press("k", "space")  # row 4
        table(app).forget()  # nothing in memory: the rows between are read
        await pilot.press("G")
        await settle(pilot)
        assert cursor(app) == 250
        await pilot.press("V")
        await settle(pilot)
        assert screen.marked_keys() == [str(i) for i in range(4, 251)]
        assert f"{MARK_GLYPH} 247 marked" in status(app)


async def test_marks_are_cleared_when_the_filter_or_a_cycle_changes_not_the_sort(app: NodedeskApp) -> None:
    source = Source()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await start(app, pilot, source)
        await pilot.press("space", "j", "space")
        await pilot.press("s")  # sorting keeps them
        await settle(pilot)
        assert screen.marked_keys() == ["1", "2"]
        await pilot.press("f")  # the kind cycle is a filter: they go
        await settle(pilot)
        assert screen.marked_keys() == []
        await pilot.press("space")
        assert len(screen.marked_keys()) == 1
        await pilot.press("slash", *"thing 01", "enter")
        await settle(pilot)
        assert screen.marked_keys() == []
        assert "mark" not in columns(app)  # nothing marked: no marks column


# ---------------------------------------------------------------- export


def read_csv(path: Path) -> list[list[str]]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.reader(fh))


async def export_to(pilot: Pilot, path: str) -> ExportListScreen:
    await pilot.press("ctrl+e")
    await settle(pilot)
    dialog = pilot.app.screen
    assert isinstance(dialog, ExportListScreen)
    dialog.query_one("#path", Input).value = path
    await pilot.press("ctrl+s")
    await settle(pilot)
    return dialog


def error_line(dialog: ExportListScreen) -> str:
    box = dialog.query_one("#dialog-error", Static)
    return str(box.render()) if box.display else ""


async def test_ctrl_e_writes_every_page_of_the_filtered_sorted_list_formula_guarded(
    app: NodedeskApp, tmp_path: Path
) -> None:
    source = Source()
    source.things[4] = Thing(5, "=thing 005 HYPERLINK(1)", "odd")  # a formula, still "thing" in it
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await start(app, pilot, source)
        await pilot.press("f", "f")  # odd only
        await settle(pilot)
        await pilot.press("S")  # id descending
        await settle(pilot)
        assert "1–20 of 125" in status(app)
        target = tmp_path / "odd.csv"
        await export_to(pilot, str(target))
        assert app.screen is screen
        rows = read_csv(target)
        assert rows[0] == ["#", "Name"]
        assert len(rows) == 1 + 125  # all pages, not the 20 on screen
        assert [int(r[0]) for r in rows[1:]] == list(range(249, 0, -2))
        assert ["5", "'=thing 005 HYPERLINK(1)"] in rows  # the formula is text in a spreadsheet
        assert f"Wrote 125 things to {target}" in status(app)


async def test_export_default_name_tilde_folder_refusal_and_overwrite_question(
    app: NodedeskApp, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tmp_path = tmp_path / "home"  # (the site's database is in tmp_path)
    tmp_path.mkdir()
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    source = Source()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await start(app, pilot, source)
        await pilot.press("ctrl+e")
        await settle(pilot)
        dialog = app.screen
        assert isinstance(dialog, ExportListScreen)
        assert dialog.query_one("#path", Input).value == "things-2026-02-15.csv"  # the list's name, site date
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.screen is screen and len(read_csv(tmp_path / "things-2026-02-15.csv")) == 251

        dialog = await export_to(pilot, str(tmp_path))  # a folder: one line, nothing written
        assert app.screen is dialog
        assert error_line(dialog) == f"Not written: path: {tmp_path} is a folder; type a file name"
        dialog.query_one("#path", Input).value = str(tmp_path / "missing" / "x.csv")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert error_line(dialog) == f"Not written: path: folder {tmp_path / 'missing'} does not exist"
        unwritable = "/proc/nodedesk-export.csv"  # no file can be made there, not even by root
        dialog.query_one("#path", Input).value = unwritable
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert error_line(dialog).startswith(f"Not written: path: could not write {unwritable}: ")
        assert sorted(p.name for p in tmp_path.iterdir() if p.is_file()) == ["things-2026-02-15.csv"]

        (tmp_path / "old.csv").write_text("keep me\n")
        dialog.query_one("#path", Input).value = "~/old.csv"
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen)  # asked first
        await pilot.press("n")
        await settle(pilot)
        assert (tmp_path / "old.csv").read_text() == "keep me\n"
        assert error_line(dialog) == "Not written: the file is kept; type another name."
        await pilot.press("ctrl+s")
        await settle(pilot)
        await pilot.press("y")
        await settle(pilot)
        assert app.screen is screen
        assert len(read_csv(tmp_path / "old.csv")) == 251
