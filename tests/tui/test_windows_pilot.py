"""Pilot tests of the Windows section: list, filter, sort, paging, create, edit, move end,
locked windows, delete with billing impact, concurrent edits, inert user text."""

from __future__ import annotations

from datetime import timedelta

import pytest
from nodedesk.core.models import ActivityEntry, MaintenanceWindow
from nodedesk.core.runtime import Runtime
from nodedesk.core.services.downtime import windows as svc
from nodedesk.tui.app import NodedeskApp, create_app
from nodedesk.tui.features.windows.window_delete import DeleteWindowScreen
from nodedesk.tui.features.windows.window_detail import WindowDetailScreen
from nodedesk.tui.features.windows.window_form import WindowFormScreen
from nodedesk.tui.features.windows.windows import WindowsScreen
from nodedesk.tui.widgets.paged_table import PagedTable
from sqlalchemy import select
from textual.pilot import Pilot
from textual.widgets import Button, Input, Static, TextArea

from tests.conftest import BACKENDS
from tests.helpers import local, runtime_as
from tests.tui.conftest import Seeded, notifications, seed_reservation, settle


@pytest.fixture(autouse=True)
def windows_first(monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests start in the Windows section (the app opens on the Dashboard)."""
    monkeypatch.setattr(NodedeskApp, "DEFAULT_MODE", "windows")


def table(app: NodedeskApp) -> PagedTable:
    return app.screen.query_one(PagedTable)


def column(app: NodedeskApp, key: str) -> list[str]:
    t = table(app)
    return [
        str(getattr(t.get_cell(row.key, key), "plain", t.get_cell(row.key, key))) for row in t.ordered_rows
    ]


def ids(app: NodedeskApp) -> list[int]:
    return [int(x) for x in column(app, "id")]


async def select_window(pilot: Pilot, window_id: int) -> None:
    t = table(pilot.app)  # type: ignore[arg-type]
    t.move_cursor(row=ids(pilot.app).index(window_id))  # type: ignore[arg-type]
    await settle(pilot)



def form_error(app: NodedeskApp, field: str) -> str:
    box = app.screen.query_one(f"#{field}-error", Static)
    return str(box.render()) if box.display else ""


def stored(runtime: Runtime, window_id: int) -> svc.WindowView | None:
    with runtime.read() as ctx:
        row = ctx.session.get(MaintenanceWindow, window_id)
        return None if row is None else svc.view(row, ctx.now())


def actions(runtime: Runtime) -> list[str]:
    with runtime.read() as ctx:
        return list(ctx.session.scalars(select(ActivityEntry.action).order_by(ActivityEntry.seq)))


async def type_into(pilot: Pilot, selector: str, text: str) -> None:
    """Replace a field's text (fires the same Changed events as typing, much faster)."""
    widget = pilot.app.screen.query_one(selector)
    widget.focus()
    if isinstance(widget, Input):
        widget.value = text
    elif isinstance(widget, TextArea):
        widget.text = text
    await settle(pilot)


# ---------------------------------------------------------------- list


async def test_list_shows_windows_newest_first_with_status_words_and_locks(
    app: NodedeskApp, seeded: Seeded
) -> None:
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, WindowsScreen)
        assert ids(app) == [seeded.later, seeded.upcoming, seeded.in_progress, seeded.completed]
        assert column(app, "status") == ["◷  upcoming", "◷  upcoming", "🔒 in progress", "🔒 completed"]
        assert column(app, "title")[0] == "Power work"
        assert column(app, "scope") == ["A100", "all nodes", "node01", "all nodes"]
        assert column(app, "by") == ["admin"] * 4
        assert column(app, "duration") == ["6h", "2h", "6h", "4h"]
        assert column(app, "start")[1] == "Feb 21 06:00"  # compact below 136 columns
        assert "Windows 1–4 of 4" in str(app.screen.query_one("#list-status", Static).render())


async def test_slash_filters_in_sql_and_escape_clears(app: NodedeskApp, seeded: Seeded) -> None:
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("slash", *"kernel")
        await pilot.pause(0.4)  # the filter is debounced
        await settle(pilot)
        assert ids(app) == [seeded.upcoming]
        await pilot.press("enter")  # keep the filter, back to the table
        await settle(pilot)
        assert app.screen.focused is table(app)
        await pilot.press("escape")
        await settle(pilot)
        assert len(ids(app)) == 4
        assert not app.screen.query_one("#filter", Input).display


async def test_status_filter_and_sort_keys(app: NodedeskApp, seeded: Seeded) -> None:
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("f")  # upcoming
        await settle(pilot)
        assert ids(app) == [seeded.later, seeded.upcoming]
        await pilot.press("f")  # in progress
        await settle(pilot)
        assert ids(app) == [seeded.in_progress]
        await pilot.press("f", "f")  # completed, then all again
        await settle(pilot)
        assert len(ids(app)) == 4
        await pilot.press("s", "s")  # start → end → title (ascending)
        await settle(pilot)
        assert column(app, "title") == ["Cooling inspection", "Firmware update", "Kernel patch", "Power work"]
        await pilot.press("S")
        await settle(pilot)
        assert column(app, "title")[0] == "Power work"


async def test_list_is_paged_from_sql(runtime: Runtime) -> None:
    with runtime.write() as ctx:
        for i in range(130):
            start = local("2026-03-01 00:00") + timedelta(hours=3 * i)
            svc.create_window(ctx, svc.WindowDraft(f"W{i:03d}", start, start + timedelta(hours=1)))
    app = create_app(runtime)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        t = table(app)
        assert t.row_count == 100  # one page, never the whole table
        assert t.page_total == 130
        assert column(app, "title")[0] == "W129"
        await pilot.press("G")  # last row of the whole list
        await settle(pilot)
        assert t.row_count == 30 and t.page_offset == 100
        assert t.cursor_row == 29 and column(app, "title")[29] == "W000"
        await pilot.press("k")  # stays on this page
        await settle(pilot)
        assert t.page_offset == 100
        await pilot.press("g")
        await settle(pilot)
        assert t.page_offset == 0 and t.cursor_row == 0
        t.move_cursor(row=99)
        await pilot.press("j")  # past the end of the page: the next page loads
        await settle(pilot)
        assert t.page_offset == 100 and t.cursor_row == 0 and column(app, "title")[0] == "W029"
        await pilot.press("k")  # and back
        await settle(pilot)
        assert t.page_offset == 0 and t.cursor_row == 99


# ---------------------------------------------------------------- create


@pytest.mark.parametrize("backend", BACKENDS)  # the app's worker threads against both back ends
async def test_create_window_through_the_form(app: NodedeskApp, runtime: Runtime, seeded: Seeded) -> None:
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("n")
        await settle(pilot)
        assert isinstance(app.screen, WindowFormScreen)
        await pilot.press(*"BIOS rollout")  # really typed, key by key
        await type_into(pilot, "#start", "2026-02-25 09:00")
        await type_into(pilot, "#end", "2026-02-25 13:30")
        await type_into(pilot, "#node_types", "A100")
        assert "4h 30m" in str(app.screen.query_one("#end-hint", Static).render())
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, WindowsScreen)
        assert "BIOS rollout" in column(app, "title")
    with runtime.read() as ctx:
        page = svc.list_windows(ctx, svc.WindowQuery(text="BIOS"))
        (w,) = page.items
        assert (w.start, w.end) == (local("2026-02-25 09:00"), local("2026-02-25 13:30"))
        assert w.scope == svc.Scope((), ("A100",))
    assert actions(runtime)[-1] == "window.created"


async def test_form_shows_inline_errors_and_saves_nothing(
    app: NodedeskApp, runtime: Runtime, seeded: Seeded
) -> None:
    before = actions(runtime)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("n")
        await settle(pilot)
        await type_into(pilot, "#start", "2026-02-25 09:00")
        await type_into(pilot, "#end", "2026-02-25 08:00")
        assert "must be after the start" in form_error(app, "end")
        assert form_error(app, "title") == ""  # untouched fields stay quiet until saving
        await type_into(pilot, "#nodes", "node99")
        assert form_error(app, "nodes") == ""  # may still be typing that name
        await type_into(pilot, "#nodes", "node99, node0")
        assert "no node named 'node99'" in form_error(app, "nodes")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, WindowFormScreen)
        assert form_error(app, "title") == "is required"
        assert "fix the marked fields" in str(app.screen.query_one("#form-error", Static).render())
        assert app.screen.focused is app.screen.query_one("#title")
        await type_into(pilot, "#start", "2026-03-08 02:30")  # skipped by the DST change
        assert "does not exist" in form_error(app, "start")
    assert actions(runtime) == before


async def test_backdated_window_asks_for_a_reason(app: NodedeskApp, runtime: Runtime, seeded: Seeded) -> None:
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("n")
        await settle(pilot)
        reason_row = app.screen.query_one("#reason-row")
        assert not reason_row.display
        await type_into(pilot, "#title", "Missed PDU swap")
        await type_into(pilot, "#start", "2026-02-14 08:00")
        await type_into(pilot, "#end", "2026-02-14 09:00")
        assert reason_row.display
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert "needs a reason" in form_error(app, "reason")
        await type_into(pilot, "#reason", "forgot to log it")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, WindowsScreen)
    assert actions(runtime)[-1] == "window.backdated"


# ---------------------------------------------------------------- edit, move end, locks


async def test_edit_upcoming_window(app: NodedeskApp, runtime: Runtime, seeded: Seeded) -> None:
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await select_window(pilot, seeded.upcoming)
        assert app.screen.active_bindings["e"].binding.description == "Edit"
        await pilot.press("e")
        await settle(pilot)
        form = app.screen
        assert isinstance(form, WindowFormScreen) and form.mode == "edit"
        assert form.query_one("#title", Input).value == "Kernel patch"
        assert form.query_one("#description", TextArea).text == "Reboot into 6.12."
        await type_into(pilot, "#title", "Kernel patch 6.12.9")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, WindowsScreen)
    w = stored(runtime, seeded.upcoming)
    assert w is not None and w.title == "Kernel patch 6.12.9" and w.version == 2
    assert w.start == local("2026-02-21 06:00")  # untouched fields unchanged


async def test_in_progress_window_offers_only_move_end(
    app: NodedeskApp, runtime: Runtime, seeded: Seeded
) -> None:
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await select_window(pilot, seeded.in_progress)
        bindings = app.screen.active_bindings
        assert bindings["e"].binding.description == "Move end"
        assert bindings["d"].binding.description == "Delete 🔒"
        await pilot.press("e")
        await settle(pilot)
        form = app.screen
        assert isinstance(form, WindowFormScreen) and form.mode == "move_end"
        for field in ("title", "start", "node_types", "nodes", "description"):
            assert form.query_one(f"#{field}").disabled
        await type_into(pilot, "#end", "2026-02-15 09:00")  # before now (10:00)
        assert "now or later" in form_error(app, "end")
        await type_into(pilot, "#end", "2026-02-15 16:30")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, WindowsScreen)
    w = stored(runtime, seeded.in_progress)
    assert w is not None and w.end == local("2026-02-15 16:30") and w.start == local("2026-02-15 08:00")
    assert actions(runtime)[-1] == "window.end_moved"


async def test_completed_window_is_locked_and_says_why(
    app: NodedeskApp, runtime: Runtime, seeded: Seeded
) -> None:
    before = actions(runtime)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await select_window(pilot, seeded.completed)
        assert app.screen.active_bindings["e"].binding.description == "Edit 🔒"
        assert app.screen.active_bindings["C"].binding.description == "Correct"  # admin
        await pilot.press("e")
        await settle(pilot)
        assert isinstance(app.screen, WindowsScreen)  # no form
        assert any("completed at 2026-02-10 12:00 -05:00" in m and "locked" in m for m in notifications(app))
        await pilot.press("d")
        await settle(pilot)
        assert isinstance(app.screen, WindowsScreen)
        assert any("Press X to delete it as an admin correction" in m for m in notifications(app))
        assert "🔒" in str(app.screen.query_one("#preview", Static).render())
    assert actions(runtime) == before


async def test_x_deletes_a_locked_window_as_a_correction_and_d_goes_to_downtime(
    app: NodedeskApp, runtime: Runtime, seeded: Seeded
) -> None:
    before = actions(runtime)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await select_window(pilot, seeded.completed)
        await pilot.press("X")
        await settle(pilot)
        dialog = app.screen
        assert isinstance(dialog, DeleteWindowScreen) and dialog.correction
        assert dialog.window.id == seeded.completed
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, WindowsScreen)
        await pilot.press("D")  # shift+d is the Downtime section here too
        await settle(pilot)
        assert app.current_mode == "downtime"
    assert actions(runtime) == before


async def test_admin_correction_of_a_completed_window_needs_a_reason(
    app: NodedeskApp, runtime: Runtime, seeded: Seeded
) -> None:
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await select_window(pilot, seeded.completed)
        await pilot.press("C")
        await settle(pilot)
        assert isinstance(app.screen, WindowFormScreen) and app.screen.mode == "correct"
        await type_into(pilot, "#end", "2026-02-10 11:00")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert form_error(app, "reason") == "is required"
        await type_into(pilot, "#reason", "ended early per ticket 4711")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, WindowsScreen)
    w = stored(runtime, seeded.completed)
    assert w is not None and w.end == local("2026-02-10 11:00")
    assert actions(runtime)[-1] == "window.corrected"


async def test_window_that_started_while_the_form_was_open_is_refused(
    app: NodedeskApp, runtime: Runtime, seeded: Seeded
) -> None:
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await select_window(pilot, seeded.upcoming)
        await pilot.press("e")
        await settle(pilot)
        await type_into(pilot, "#title", "Kernel patch (moved)")
        runtime.clock_for("America/New_York").set(local("2026-02-21 06:30"))  # time passes
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, WindowFormScreen)  # still open, input kept
        assert app.screen.query_one("#title", Input).value == "Kernel patch (moved)"
        assert "in progress since" in form_error(app, "title")
    w = stored(runtime, seeded.upcoming)
    assert w is not None and w.title == "Kernel patch" and w.version == 1


@pytest.mark.parametrize("backend", BACKENDS)
async def test_second_save_of_a_concurrently_edited_window_is_refused(
    app: NodedeskApp, runtime: Runtime, seeded: Seeded
) -> None:
    with runtime.write() as ctx:
        from nodedesk.core.services.site import users

        users.add_user(ctx, "bob", ["rental_manager"])
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await select_window(pilot, seeded.upcoming)
        await pilot.press("e")
        await settle(pilot)
        # bob saves first, from another session
        with runtime_as(runtime, "bob").write() as ctx:
            svc.update_window(ctx, seeded.upcoming, svc.WindowChanges(description="bob's notes"))
        await type_into(pilot, "#title", "Kernel patch v2")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, WindowFormScreen)
        message = str(app.screen.query_one("#form-error", Static).render())
        assert "changed by bob at 2026-02-15 10:00 -05:00 since you opened it" in message
        assert app.screen.query_one("#save", Button).disabled is False
    w = stored(runtime, seeded.upcoming)
    assert w is not None and w.title == "Kernel patch" and w.description == "bob's notes"


async def test_escape_on_a_changed_form_asks_before_discarding(app: NodedeskApp, seeded: Seeded) -> None:
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("n")
        await settle(pilot)
        await type_into(pilot, "#title", "half-typed")
        await pilot.press("escape")
        await settle(pilot)
        await pilot.press("n")  # keep editing
        await settle(pilot)
        assert isinstance(app.screen, WindowFormScreen)
        await pilot.press("escape", "y")
        await settle(pilot)
        assert isinstance(app.screen, WindowsScreen)


# ---------------------------------------------------------------- detail and delete


async def test_detail_shows_fields_and_lock(app: NodedeskApp, seeded: Seeded) -> None:
    async with app.run_test(size=(100, 40)) as pilot:
        await settle(pilot)
        await select_window(pilot, seeded.in_progress)
        await pilot.press("enter")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, WindowDetailScreen)
        fields = str(screen.query_one("#detail-fields", Static).render())
        assert "Cooling inspection" in fields
        assert "2026-02-15 08:00 -05:00" in fields and "node01" in fields
        lock = str(screen.query_one("#detail-lock", Static).render())
        assert "🔒" in lock and "only its end may move" in lock
        assert screen.active_bindings["e"].binding.description == "Move end"
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, WindowsScreen)


async def test_delete_states_billing_impact_and_deletes_after_confirmation(
    app: NodedeskApp, runtime: Runtime, seeded: Seeded
) -> None:
    reservation = seed_reservation(runtime)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await select_window(pilot, seeded.upcoming)
        await pilot.press("d")
        await settle(pilot)
        assert isinstance(app.screen, DeleteWindowScreen)
        impact = str(app.screen.query_one("#impact-text", Static).render())
        assert f"reservation #{reservation} on node01 for Protein Folding (approved)" in impact
        assert "2026-02-20 16:00 → 2026-02-21 09:00: 2.00 h billable again" in impact
        await pilot.press("escape")  # cancel: nothing happens
        await settle(pilot)
        assert stored(runtime, seeded.upcoming) is not None
        await pilot.press("d")
        await settle(pilot)
        assert app.screen.focused is app.screen.query_one("#cancel")  # the safe choice
        await pilot.press("ctrl+d")
        await settle(pilot)
        assert isinstance(app.screen, WindowsScreen)
        assert seeded.upcoming not in ids(app)
    assert stored(runtime, seeded.upcoming) is None
    assert actions(runtime)[-1] == "window.deleted"


async def test_delete_without_reservations_says_nothing_becomes_billable(
    app: NodedeskApp, seeded: Seeded
) -> None:
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await select_window(pilot, seeded.later)
        await pilot.press("d")
        await settle(pilot)
        assert "nothing becomes billable again" in str(app.screen.query_one("#impact-text", Static).render())


# ---------------------------------------------------------------- who may do what; inert text


async def test_viewer_sees_why_they_cannot_change_windows(runtime: Runtime, seeded: Seeded) -> None:
    with runtime.write() as ctx:
        from nodedesk.core.services.site import users

        users.add_user(ctx, "vic", ["viewer"])
    app = create_app(runtime_as(runtime, "vic"))
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await select_window(pilot, seeded.upcoming)
        assert app.screen.active_bindings["e"].binding.description == "Edit 🔒"
        await pilot.press("n")
        await settle(pilot)
        await pilot.press("e")
        await settle(pilot)
        assert isinstance(app.screen, WindowsScreen)
        assert sum("vic may not manage maintenance windows" in m for m in notifications(app)) == 2


async def test_readonly_app_offers_no_changes(runtime: Runtime, seeded: Seeded) -> None:
    app = create_app(runtime, readonly=True)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await select_window(pilot, seeded.upcoming)
        await pilot.press("e")
        await settle(pilot)
        assert isinstance(app.screen, WindowsScreen)
        assert any("--readonly" in m for m in notifications(app))


async def test_user_text_is_inert(runtime: Runtime) -> None:
    with runtime.write() as ctx:
        w = svc.create_window(
            ctx,
            svc.WindowDraft(
                "[b]bold?[/b] [@click=app.quit]x[/]", local("2026-03-01 08:00"), local("2026-03-01 09:00")
            ),
        ).window
        # data that bypassed validation (e.g. an old import) with an OSC 52 clipboard write
        row = ctx.session.get(MaintenanceWindow, w.id)
        row.description = "ok\x1b]52;c;ZXZpbA==\x07\u202eevil"
    app = create_app(runtime)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        assert column(app, "title") == ["[b]bold?[/b] [@click=app.quit]x[/]"]
        preview = str(app.screen.query_one("#preview", Static).render())
        assert "\x1b" not in preview and "\\x1b]52" in preview and "\\u202e" in preview
        await pilot.press("enter")
        await settle(pilot)
        fields = str(app.screen.query_one("#detail-fields", Static).render())
        assert "[b]bold?[/b]" in fields
        assert app.is_running
