"""Pilot tests of live screens: what another admin changes shows without a key press.

Another process (a real ``python -m nodedesk`` for one test, a second :class:`Runtime` with its
own connections on the same SQLite file for the others) writes while the app shows a list, a
detail or an invoice month. The app's change feed is driven by hand (``feed.poll()``; its own
timers are set far apart so nothing polls behind the test's back): in the app it polls every
second, so one poll stands for the ≤ 2 s the console promises.
"""

from __future__ import annotations

import asyncio
import getpass
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from nodedesk.core import changes
from nodedesk.core.config import Config
from nodedesk.core.runtime import Runtime
from nodedesk.core.services.downtime import schedules
from nodedesk.core.services.downtime import windows as svc
from nodedesk.core.services.invoicing import invoices, overrides
from nodedesk.core.services.rentals import reservations
from nodedesk.core.services.site import users
from nodedesk.tui.app import NodedeskApp, create_app
from nodedesk.tui.features.dashboard.dashboard import DashboardScreen
from nodedesk.tui.features.help.help import HelpScreen
from nodedesk.tui.features.invoices.invoice_dialogs import OverrideFormScreen
from nodedesk.tui.features.invoices.invoice_month import InvoiceMonthScreen
from nodedesk.tui.features.reservations.reservation_detail import ReservationDetailScreen
from nodedesk.tui.features.schedules.schedule_detail import ScheduleDetailScreen
from nodedesk.tui.features.windows.window_delete import DeleteWindowScreen
from nodedesk.tui.features.windows.window_detail import WindowDetailScreen
from nodedesk.tui.features.windows.windows import WindowsScreen
from nodedesk.tui.kit import live
from nodedesk.tui.widgets.paged_table import PagedTable
from textual.pilot import Pilot
from textual.screen import Screen
from textual.widgets import DataTable, Input, RadioButton, Static

from tests.cli_helpers import Cli
from tests.helpers import SITE_TZ
from tests.tui.conftest import Seeded, notifications, seed_reservation, settle
from tests.tui.invoice_seed import InvoiceSeed, seed_invoices

FAR = 3600.0  # the feed's own timers, out of the way


@pytest.fixture
def other(runtime: Runtime) -> Iterator[Runtime]:
    """A second console on the same database: its own engine, connections and runtime."""
    config = Config(database_url=runtime.config.database_url, private_dir=runtime.config.site_dir)
    second = Runtime(config, clock=runtime.clock_for(SITE_TZ), login="admin")
    yield second
    second.close()


def quiet_app(runtime: Runtime) -> NodedeskApp:
    app = create_app(runtime)
    app.feed.poll_seconds = app.feed.clock_seconds = FAR
    return app


async def poll(pilot: Pilot) -> None:
    """One tick of the feed, and whatever it starts."""
    await settle(pilot)
    pilot.app.feed.poll()  # type: ignore[attr-defined]
    await settle(pilot)


def table(app: NodedeskApp) -> PagedTable:
    return app.screen.query_one(PagedTable)


def column(app: NodedeskApp, key: str) -> list[str]:
    t = table(app)
    return [str(getattr(t.get_cell(r.key, key), "plain", t.get_cell(r.key, key))) for r in t.ordered_rows]


def shown(app: NodedeskApp, selector: str) -> str:
    return str(app.screen.query_one(selector, Static).render())


def rename(runtime: Runtime, window_id: int, title: str) -> None:
    with runtime.write() as ctx:
        svc.update_window(ctx, window_id, svc.WindowChanges(title=title))


async def open_windows(pilot: Pilot, select: int) -> WindowsScreen:
    await settle(pilot)
    await pilot.press("1")
    await settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, WindowsScreen)
    table(pilot.app).move_cursor(row=[int(x) for x in column(pilot.app, "id")].index(select))  # type: ignore[arg-type]
    await settle(pilot)
    return screen


def test_a_change_arriving_while_no_screen_is_shown_is_kept_for_later(app: NodedeskApp) -> None:
    """A change message can reach the app between two screens or while it closes (seen on a
    loaded machine): the feed notes it and refreshes nothing, instead of failing the app."""
    feed = live.ChangeFeed(app)
    away = Screen[None]()
    feed._seen[away] = 0  # a screen that read itself before the change and is not shown now
    assert not app._screen_stack  # the app is not running: no screen is shown
    feed.changed(live.DataChanged(frozenset({"window"}), changes.ChangeHead(7, "h")))
    assert feed.missed(away) == frozenset({"window"})  # it catches up when it is shown again


def test_the_console_polls_at_least_every_second() -> None:
    assert live.POLL_SECONDS <= 1.0 and live.CLOCK_SECONDS <= 60.0


async def test_a_window_edited_by_another_process_shows_in_the_list_and_the_cursor_stays(
    runtime: Runtime, seeded: Seeded, tmp_path: Path
) -> None:
    with runtime.write() as ctx:
        if getpass.getuser() != "admin":
            users.add_user(ctx, getpass.getuser(), ["admin"])
    cli = Cli(runtime.config.database_url, tmp_path)
    app = quiet_app(runtime)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_windows(pilot, seeded.in_progress)
        assert table(app).current_key() == str(seeded.in_progress)
        await asyncio.to_thread(cli.ok, "window", "edit", str(seeded.upcoming), "--title", "Kernel patch v2")
        await poll(pilot)
        assert "Kernel patch v2" in column(app, "title")
        assert table(app).current_key() == str(seeded.in_progress)  # the same row, not the same index


async def test_window_detail_follows_another_admin_and_closes_when_it_is_deleted(
    runtime: Runtime, other: Runtime, seeded: Seeded
) -> None:
    app = quiet_app(runtime)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        app.push_screen(WindowDetailScreen(seeded.upcoming))
        await settle(pilot)
        assert "Kernel patch" in shown(app, "#detail-fields")
        rename(other, seeded.upcoming, "Kernel patch, rescheduled")
        await poll(pilot)
        assert "Kernel patch, rescheduled" in shown(app, "#detail-fields")
        assert "Version    2" in shown(app, "#detail-fields")
        with other.write() as ctx:
            svc.delete_window(ctx, seeded.upcoming)
        await poll(pilot)
        assert not isinstance(app.screen, WindowDetailScreen)
        assert any("no longer exists" in n for n in notifications(app))


async def test_reservation_detail_shows_a_cancellation_by_another_admin(
    runtime: Runtime, other: Runtime, seeded: Seeded
) -> None:
    rid = seed_reservation(runtime)
    app = quiet_app(runtime)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        app.push_screen(ReservationDetailScreen(rid))
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, ReservationDetailScreen) and screen.reservation is not None
        assert screen.reservation.status == "approved"
        with other.write() as ctx:
            reservations.cancel_reservation(ctx, rid, reason="the project moved to another centre")
        await poll(pilot)
        assert app.screen is screen and screen.reservation.status == "cancelled"


async def test_invoice_month_recomputes_when_another_admin_overrides_a_line(
    runtime: Runtime, other: Runtime
) -> None:
    seed: InvoiceSeed = seed_invoices(runtime)
    app = quiet_app(runtime)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("5")
        await settle(pilot)
        table(app).move_cursor(row=column(app, "month").index("2026-02"))
        await pilot.press("enter")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, InvoiceMonthScreen)
        projects = column(app, "project")
        table(app).move_cursor(row=projects.index("Climate"))
        await settle(pilot)
        before = column(app, "amount")[projects.index("Genomics")]
        with other.write() as ctx:
            overrides.set_override(ctx, "2026-02", seed.r[2], kind="exclude", reason="billed elsewhere")
        await poll(pilot)
        after = column(app, "amount")[projects.index("Genomics")]
        assert after != before
        assert table(app).current_key() == "Climate"
        assert screen.feed_reads.count == 1
        assert "computing" not in shown(app, "#inv-head")


async def test_nothing_is_read_again_while_the_head_stays(
    runtime: Runtime, other: Runtime, seeded: Seeded, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = quiet_app(runtime)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_windows(pilot, seeded.later)
        reads: list[object] = []
        original = screen.reload
        monkeypatch.setattr(screen, "reload", lambda *a, **k: (reads.append(a), original(*a, **k))[1])
        polls = app.feed.polls
        for _ in range(3):
            await poll(pilot)
        assert app.feed.polls >= polls + 3  # the head was read each time …
        assert reads == [] and app.feed.refreshes == 0  # … and nothing else
        rename(other, seeded.later, "Power work (phase 1)")
        await poll(pilot)
        await poll(pilot)
        assert len(reads) == 1 and app.feed.refreshes == 1
        assert "Power work (phase 1)" in column(app, "title")


async def test_a_screen_coming_back_catches_up_with_what_it_missed(
    runtime: Runtime, other: Runtime, seeded: Seeded
) -> None:
    app = quiet_app(runtime)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        app.push_screen(WindowDetailScreen(seeded.later))
        await settle(pilot)
        await pilot.press("question_mark")
        await settle(pilot)
        assert isinstance(app.screen, HelpScreen)
        rename(other, seeded.later, "Power work, moved")
        await poll(pilot)  # the help stays as it is
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, WindowDetailScreen)
        assert "Power work, moved" in shown(app, "#detail-fields")


async def test_the_minute_tick_rereads_what_follows_the_clock(runtime: Runtime, seeded: Seeded) -> None:
    app = quiet_app(runtime)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        app.push_screen(WindowDetailScreen(seeded.in_progress))
        await settle(pilot)
        app.feed.tick()
        await settle(pilot)
        assert app.feed.refreshes == 1


def test_a_screen_may_ignore_kinds_it_does_not_show() -> None:
    class Narrow:
        LIVE_KINDS = frozenset({"window"})

    assert live.wants(Narrow(), frozenset({"window", "outage"}))
    assert not live.wants(Narrow(), frozenset({"user"}))
    assert live.wants(Narrow(), frozenset({changes.EVERYTHING}))
    assert live.wants(object(), frozenset({"user"}))


# ---------------------------------------------------------------- dialogs act on what they showed


async def test_delete_dialog_reads_the_window_afresh_and_deletes_what_it_showed(
    runtime: Runtime, other: Runtime, seeded: Seeded
) -> None:
    app = quiet_app(runtime)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        app.push_screen(WindowDetailScreen(seeded.upcoming))
        await settle(pilot)
        rename(other, seeded.upcoming, "Kernel patch (two nodes)")  # the detail has not polled yet
        await pilot.press("d")
        await settle(pilot)
        assert isinstance(app.screen, DeleteWindowScreen)
        assert "Kernel patch (two nodes)" in shown(app, "#delete-window")
        assert "version 1 → 2" in shown(app, "#delete-changed")
        rename(other, seeded.upcoming, "Kernel patch (all nodes)")  # after the dialog showed it
        await pilot.press("ctrl+d")
        await settle(pilot)
        assert isinstance(app.screen, DeleteWindowScreen)  # nothing deleted …
        assert "Not deleted" in shown(app, "#delete-error")
        assert "Kernel patch (all nodes)" in shown(app, "#delete-window")  # … shown again as it is
        with runtime.read() as ctx:
            assert svc.get_window(ctx, seeded.upcoming).version == 3
        await pilot.press("ctrl+d")
        await settle(pilot)
        assert not isinstance(app.screen, DeleteWindowScreen)
        with runtime.read() as ctx:
            assert svc.list_windows(ctx, svc.WindowQuery()).total == 3


async def test_override_dialog_reads_the_line_afresh_and_replaces_only_what_it_showed(
    runtime: Runtime, other: Runtime
) -> None:
    seed: InvoiceSeed = seed_invoices(runtime)
    rid = seed.r[2]
    with runtime.read() as ctx:
        inv = invoices.compute_invoice(ctx, "2026-02")
        project, line = next((p, ln) for p, ln in inv.lines() if ln.get("reservation_id") == rid)
    assert not line.get("override")  # what the screen behind shows
    with other.write() as ctx:
        overrides.set_override(ctx, "2026-02", rid, kind="exclude", reason="billed elsewhere")
    app = quiet_app(runtime)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        app.push_screen(OverrideFormScreen("2026-02", project, line, inv.currency))
        await settle(pilot)
        assert "Changed since the month was shown: ✎ excluded" in shown(app, "#line-changed")
        assert "Now: ✎ excluded" in shown(app, "#override-now")
        dialog = app.screen
        assert isinstance(dialog, OverrideFormScreen) and dialog.version == 1
        dialog.query_one("#kind-hours", RadioButton).value = True
        dialog.query_one("#value", Input).value = "20"
        dialog.query_one("#reason", Input).value = "agreed with the PI"
        with other.write() as ctx:  # after the dialog showed "excluded"
            overrides.set_override(ctx, "2026-02", rid, kind="hours", hours="10", reason="ten hours")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.screen is dialog  # refused, nothing written, shown again as it is now
        assert "since you opened it" in shown(app, "#dialog-error")
        assert "billed for 10" in shown(app, "#override-now") and dialog.version == 2
        assert dialog.query_one("#value", Input).value == "20"  # what was typed stays
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.screen is not dialog
    with runtime.read() as ctx:
        (saved,) = overrides.list_overrides(ctx, "2026-02")
    assert (saved.kind, saved.value, saved.version) == ("hours", "20.00", 3)


async def test_the_dashboard_finishes_a_read_before_the_next_change_starts_another(
    runtime: Runtime, seeded: Seeded
) -> None:
    app = quiet_app(runtime)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, DashboardScreen)
        loads = screen.loads
        for _ in range(3):  # a busy centre: changes every second, slow panels take longer
            screen.refresh_from_feed(frozenset({"window"}))
        assert screen.feed_reads.count == 1 and screen.feed_reads.again
        await settle(pilot)
        await settle(pilot)
        assert screen.feed_reads.count == 2 and not screen.feed_reads.running
        assert screen.loads == loads + 2  # each read shows a whole dashboard (none dropped)


async def test_schedule_detail_shows_a_skip_by_another_admin_on_the_row_under_the_cursor(
    runtime: Runtime, other: Runtime
) -> None:
    with runtime.write() as ctx:
        sid = schedules.create_schedule(
            ctx, schedules.ScheduleDraft("Patch Tuesday", "3rd Tuesday of every month", "06:00", "12h")
        ).schedule.id
    app = quiet_app(runtime)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        app.push_screen(ScheduleDetailScreen(sid))
        await settle(pilot)
        occurrences = app.screen.query_one("#occurrences", DataTable)
        occurrences.move_cursor(row=2)
        await settle(pilot)
        with other.write() as ctx:
            schedules.skip_occurrence(ctx, sid, date(2026, 4, 21), reason="the vendor moved it")
        await poll(pilot)
        assert "skipped" in str(occurrences.get_row_at(2)[2])
        assert occurrences.cursor_row == 2 and str(occurrences.get_row_at(2)[0]) == "2026-04-21"


async def test_the_first_screen_catches_up_when_it_comes_back(
    runtime: Runtime, other: Runtime, seeded: Seeded
) -> None:
    app = quiet_app(runtime)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        dashboard = app.screen
        assert isinstance(dashboard, DashboardScreen)
        loads = dashboard.loads
        await open_windows(pilot, seeded.later)
        rename(other, seeded.later, "Power work (moved)")
        await poll(pilot)  # seen while the Windows list is shown
        assert "Power work (moved)" in column(app, "title")
        await pilot.press("0")
        await settle(pilot)
        await settle(pilot)
        assert app.screen is dashboard and dashboard.loads == loads + 1
