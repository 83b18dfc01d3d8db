"""The list kit (tui/kit/): paging from memory, sort and filter cycles, the debounced filter,
the cursor kept on reload, the loading / empty / error line, and keys typed into the filter.

The screen under test reads from an in-memory source (inside a real read unit of work), so each
test can see which pages were read and make reading fail or wait.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from nodedesk.core.context import ServiceContext
from nodedesk.core.errors import ValidationError
from nodedesk.tui.app import NodedeskApp
from nodedesk.tui.kit.list_screen import (
    ListScreen,
    clear_binding,
    cycle_bindings,
    filter_binding,
    reload_binding,
    sort_bindings,
)
from nodedesk.tui.kit.query import Cycle, ListQuery, SimplePage, Sort
from nodedesk.tui.kit.table import VirtualTable
from nodedesk.tui.widgets.paged_table import Col
from textual.binding import Binding
from textual.pilot import Pilot
from textual.widgets import Input, Static

from tests.tui.conftest import settle


@dataclass(frozen=True)
class Thing:
    id: int
    name: str
    kind: str


@dataclass
class Source:
    """Things 1..n; records every query; can refuse or hold reads."""

    things: list[Thing] = field(
        default_factory=lambda: [
            Thing(i, f"thing {i:03d}", "even" if i % 2 == 0 else "odd") for i in range(1, 251)
        ]
    )
    reads: list[ListQuery] = field(default_factory=list)
    fail: bool = False
    gate: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        self.gate.set()

    def read(self, query: ListQuery) -> SimplePage:
        self.gate.wait(10)
        self.reads.append(query)
        if self.fail:
            raise ValidationError("the source is switched off", field="things")
        rows = [
            t for t in self.things if query.text.lower() in t.name and query.get("kind") in (None, t.kind)
        ]
        rows.sort(key=lambda t: getattr(t, query.sort or "id"), reverse=query.descending)
        return SimplePage(rows[query.offset : query.offset + query.limit], len(rows), query.offset)


KIND = Cycle("kind", "f", (None, "even", "odd"), "Kind", tooltip="Kind: all, even, odd")


class ThingsScreen(ListScreen):
    LIST_TITLE = "Things"
    NOUN = "things"
    BODY_ID = "things-body"
    TABLE_ID = "things-table"
    FILTER_PLACEHOLDER = "filter: name"
    PAGE_SIZE = 20
    SORTS = (Sort("id", "id"), Sort("name", "name", True))
    CYCLES = (KIND,)
    BINDINGS = [
        Binding("n", "new", "New"),
        filter_binding("Filter by name"),
        *cycle_bindings([KIND]),
        *sort_bindings("Sort by id, name"),
        reload_binding(),
        clear_binding(),
    ]

    def __init__(self, source: Source) -> None:
        super().__init__()
        self.source = source
        self.opened: list[int] = []
        self.new_forms = 0

    def columns(self) -> list[Col]:
        return [Col("id", "#", 5, sort_key="id"), Col("name", "Name", None, sort_key="name")]

    def fetch(self, ctx: ServiceContext, query: ListQuery) -> SimplePage:
        return self.source.read(query)

    def cells(self, item: Thing) -> list[Any]:
        return [str(item.id), item.name]

    def open(self, item: Thing) -> None:
        self.opened.append(item.id)

    def action_new(self) -> None:
        self.new_forms += 1


def table(app: NodedeskApp) -> VirtualTable:
    return app.screen.query_one("#things-table", VirtualTable)


def cursor(app: NodedeskApp) -> int:
    return int(table(app).current_key() or 0)


def state(app: NodedeskApp) -> tuple[str, str]:
    line = app.screen.query_one("#list-state", Static)
    kind = next((c for c in line.classes if c.startswith("-")), "")
    return kind, str(line.render()) if line.display else ""


def status(app: NodedeskApp) -> str:
    return str(app.screen.query_one("#list-status", Static).render())


async def start(app: NodedeskApp, pilot: Pilot, source: Source) -> ThingsScreen:
    screen = ThingsScreen(source)
    await app.push_screen(screen)
    await settle(pilot)
    return screen


async def test_paging_across_a_page_boundary_and_back(app: NodedeskApp) -> None:
    source = Source()
    async with app.run_test(size=(80, 30)) as pilot:
        await start(app, pilot, source)
        assert "Things 1–20 of 250" in status(app)
        await pilot.press(*"j" * 19)
        assert cursor(app) == 20
        await pilot.press("j")  # past the last row: the next page, cursor on its first row
        await settle(pilot)
        assert cursor(app) == 21
        assert "21–40 of 250" in status(app)
        await pilot.press("k")  # and back: the previous page, cursor on its last row
        await settle(pilot)
        assert cursor(app) == 20
        assert "1–20 of 250" in status(app)


async def test_neighbouring_pages_are_read_ahead_so_turning_does_not_wait(app: NodedeskApp) -> None:
    source = Source()
    async with app.run_test(size=(80, 30)) as pilot:
        await start(app, pilot, source)
        assert {q.offset for q in source.reads} == {0, 20, 240}  # this page, the next, the last
        source.fail = True  # from now on any read would be refused
        await pilot.press("right_square_bracket")
        await pilot.pause()
        assert cursor(app) == 21  # shown from memory
        await pilot.press("G")
        await pilot.pause()
        assert cursor(app) == 250
        await pilot.press("g")
        await pilot.pause()
        assert cursor(app) == 1
        assert state(app) == ("", "")  # nothing failed: nothing was read


async def test_G_then_g(app: NodedeskApp) -> None:
    source = Source()
    async with app.run_test(size=(80, 30)) as pilot:
        await start(app, pilot, source)
        source.reads.clear()
        table(app).forget()  # nothing in memory: both moves read from the source
        await pilot.press("G")
        await settle(pilot)
        assert cursor(app) == 250
        assert "241–250 of 250" in status(app)
        await pilot.press("g")
        await settle(pilot)
        assert cursor(app) == 1
        assert [q.offset for q in source.reads][:1] == [240]


async def test_filter_is_debounced_and_keys_stay_in_the_box(app: NodedeskApp) -> None:
    source = Source()
    async with app.run_test(size=(80, 30)) as pilot:
        screen = await start(app, pilot, source)
        mode = app.current_mode
        source.reads.clear()
        await pilot.press("slash", *"2n")  # "2" is a section key and "n" opens a form elsewhere
        await pilot.pause()
        assert app.current_mode == mode and app.screen is screen
        assert screen.new_forms == 0
        assert app.screen.query_one("#filter", Input).value == "2n"
        await pilot.press("backspace", *"1")
        await pilot.pause()
        assert source.reads == []  # still typing: nothing asked yet
        await pilot.pause(0.4)
        await settle(pilot)
        assert [q.text for q in source.reads if q.offset == 0] == ["21"]  # only the settled text
        assert [int(k) for k in table(app).items] == [
            21,
            121,
            210,
            211,
            212,
            213,
            214,
            215,
            216,
            217,
            218,
            219,
            221,
        ]
        assert "filter: 21" in status(app)
        await pilot.press("escape")  # leaves the box (keeps the filter), then clears it
        await pilot.press("escape")
        await settle(pilot)
        assert "1–20 of 250" in status(app)


async def test_sort_and_filter_cycles(app: NodedeskApp) -> None:
    source = Source()
    async with app.run_test(size=(80, 30)) as pilot:
        await start(app, pilot, source)
        await pilot.press("s")  # name, starting descending
        await settle(pilot)
        assert cursor(app) == 250 and "sort: name ↓" in status(app)
        await pilot.press("S")
        await settle(pilot)
        assert cursor(app) == 1 and "sort: name ↑" in status(app)
        await pilot.press("f")
        await settle(pilot)
        assert "kind: even" in status(app) and "1–20 of 125" in status(app)
        assert cursor(app) == 2


async def test_cursor_stays_on_its_row_after_a_reload(app: NodedeskApp) -> None:
    source = Source()
    async with app.run_test(size=(80, 30)) as pilot:
        screen = await start(app, pilot, source)
        await pilot.press(*"jjjj")
        assert cursor(app) == 5
        del source.things[1]  # row 2 goes: row 5 moves up one line
        await pilot.press("r")
        await settle(pilot)
        assert cursor(app) == 5 and table(app).cursor_row == 3
        source.things.insert(0, Thing(0, "thing 000", "even"))
        screen.refresh_from_feed()
        await settle(pilot)
        assert cursor(app) == 5 and table(app).cursor_row == 4
        await pilot.press("enter")
        assert screen.opened == [5]


async def test_loading_empty_and_error_lines(app: NodedeskApp) -> None:
    source = Source()
    source.gate.clear()  # the first read waits
    async with app.run_test(size=(80, 30)) as pilot:
        screen = ThingsScreen(source)
        await app.push_screen(screen)
        await pilot.pause()
        assert state(app) == ("-loading", "Loading things…")
        source.gate.set()
        await settle(pilot)
        assert state(app) == ("", "")
        await pilot.press("slash", *"nothing like this", "enter")
        await settle(pilot)
        assert state(app) == ("-empty", "No things match.")
        source.fail = True
        await pilot.press("r")
        await settle(pilot)
        kind, text = state(app)
        assert kind == "-error"
        assert text == "Could not load things: things: the source is switched off  ·  r tries again"
        source.fail = False
        await pilot.press("r")
        await settle(pilot)
        assert state(app) == ("-empty", "No things match.")


async def test_a_header_click_sorts_and_a_second_click_reverses(app: NodedeskApp) -> None:
    source = Source()
    async with app.run_test(size=(80, 30)) as pilot:
        await start(app, pilot, source)
        await pilot.click("#things-table", offset=(12, 0))  # the "Name" header
        await settle(pilot)
        assert "sort: name ↓" in status(app) and cursor(app) == 250
        await pilot.click("#things-table", offset=(12, 0))
        await settle(pilot)
        assert "sort: name ↑" in status(app) and cursor(app) == 1


async def test_refresh_from_feed_keeps_the_page_cursor_and_scroll(app: NodedeskApp) -> None:
    source = Source()
    async with app.run_test(size=(80, 12)) as pilot:
        screen = await start(app, pilot, source)
        await pilot.press("right_square_bracket", *"j" * 15)
        await settle(pilot)
        assert cursor(app) == 36 and table(app).scroll_y > 0
        table(app).scroll_to(y=1, animate=False, immediate=True)  # the reader scrolled back a bit
        await pilot.pause()
        before = table(app).scroll_y
        assert before == 1
        source.things[35] = Thing(36, "thing 036 renamed", "even")
        screen.refresh_from_feed()
        await settle(pilot)
        assert cursor(app) == 36 and table(app).scroll_y == before
        assert "thing 036 renamed" in [str(c) for c in table(app).get_row("36")]
        assert "21–40 of 250" in status(app)


# ---------------------------------------------------------------- one error line (tui/kit/errors.py)


def test_one_line_for_every_kind_of_failure() -> None:
    import sqlite3

    from nodedesk.core.db.engine import BUSY_MESSAGE
    from nodedesk.tui.kit.errors import DatabaseProblem, InternalProblem, as_refusal
    from sqlalchemy.exc import OperationalError

    refusal = ValidationError("must be after start", field="end")
    assert as_refusal(refusal) is refusal
    locked = OperationalError("UPDATE x", {}, sqlite3.OperationalError("database is locked"))
    assert str(as_refusal(locked)) == BUSY_MESSAGE
    broken = OperationalError("SELECT 1", {}, sqlite3.OperationalError("no such table: x\nLINE 1: ..."))
    problem = as_refusal(broken)
    assert isinstance(problem, DatabaseProblem) and str(problem) == "database: no such table: x"
    bug = as_refusal(ValueError("line\nbreak"), max_len=200)
    assert isinstance(bug, InternalProblem) and str(bug) == "internal error: ValueError: line ⏎ break"


async def test_keys_typed_in_one_burst_after_slash_go_into_the_filter(app: NodedeskApp) -> None:
    """A paste or a fast typist: "/" and the next letters arrive before the filter box has the
    focus. They still go into the box ("n" would open a form, "2" switch sections)."""
    from textual import events

    source = Source()
    async with app.run_test(size=(80, 30)) as pilot:
        screen = await start(app, pilot, source)
        mode = app.current_mode
        for key, char in (("slash", "/"), ("2", "2"), ("n", "n")):
            app.post_message(events.Key(key, char))  # no pause between them
        await pilot.pause()
        await pilot.pause()
        assert app.current_mode == mode and app.screen is screen
        assert screen.new_forms == 0
        assert app.screen.query_one("#filter", Input).value == "2n"
