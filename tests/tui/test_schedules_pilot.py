"""Pilot tests of the Schedules section: the list, the form's live preview, skip from the detail,
and the window detail's link back to its schedule."""

from __future__ import annotations

import pytest
from nodedesk.core.models import MaintenanceSchedule, MaintenanceWindow, ScheduleException
from nodedesk.core.runtime import Runtime
from nodedesk.core.services.downtime import schedules as svc
from nodedesk.tui.app import NodedeskApp, create_app
from nodedesk.tui.features.schedules.schedule_detail import ScheduleDetailScreen
from nodedesk.tui.features.schedules.schedule_form import ScheduleFormScreen
from nodedesk.tui.features.schedules.schedules import SchedulesScreen
from nodedesk.tui.features.windows.window_detail import WindowDetailScreen
from nodedesk.tui.widgets.paged_table import PagedTable
from sqlalchemy import select
from textual.pilot import Pilot
from textual.widgets import DataTable, Input, Static

from tests.tui.conftest import notifications, seed_reservation, seed_windows, settle


@pytest.fixture(autouse=True)
def schedules_first(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(NodedeskApp, "DEFAULT_MODE", "schedules")


def make_schedule(runtime: Runtime) -> int:
    with runtime.write() as ctx:
        return svc.create_schedule(
            ctx, svc.ScheduleDraft("Patch Tuesday", "3rd Tuesday of every month", "06:00", "12h")
        ).schedule.id


def text(app: NodedeskApp, selector: str) -> str:
    return str(app.screen.query_one(selector, Static).render())


async def type_into(pilot: Pilot, selector: str, value: str) -> None:
    box = pilot.app.screen.query_one(selector, Input)
    box.focus()
    box.value = value
    await pilot.pause(0.5)  # the preview is debounced
    await settle(pilot)


async def test_list_shows_rule_time_and_next(app: NodedeskApp, runtime: Runtime) -> None:
    make_schedule(runtime)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, SchedulesScreen)
        t = app.screen.query_one(PagedTable)
        row = [str(getattr(c, "plain", c)) for c in t.get_row_at(0)]
        assert row[1:5] == ["Patch Tuesday", "3rd Tuesday of every month", "06:00–18:00", "Feb 17 06:00"]
        assert "3 window(s) made ahead" in text(app, "#preview")


async def test_form_previews_live_and_saves(app: NodedeskApp, runtime: Runtime) -> None:
    seed_windows(runtime)
    seed_reservation(runtime)  # node01, Feb 20 16:00 → Feb 21 09:00
    async with app.run_test(size=(100, 40)) as pilot:
        await settle(pilot)
        await pilot.press("n")
        await settle(pilot)
        assert isinstance(app.screen, ScheduleFormScreen)
        await pilot.press(*"Weekend work")
        await type_into(pilot, "#rule", "every Saturday")
        preview = text(app, "#schedule-preview")
        assert "every Saturday 06:00–18:00" in preview
        # 3 h of the reservation, 2 of them already covered by 'Kernel patch' (06:00–08:00)
        assert "Sat 02-21 06:00–18:00 -05:00  1 resv · 1.00 h" in preview
        assert "overlaps window" in preview and "Kernel patch" in preview
        assert "hits Protein Folding" in preview
        assert "Sat 03-14 06:00–18:00 -04:00" in preview
        assert "Sat 03-21" not in preview  # 4 occurrences only
        await type_into(pilot, "#rule", "whenever")
        assert "cannot read 'whenever'" in text(app, "#rule-error")
        await type_into(pilot, "#rule", "last Friday")
        assert text(app, "#rule-error") == ""
        assert "Fri 02-27 06:00–18:00 -05:00  no reservation hit" in text(app, "#schedule-preview")
        await type_into(pilot, "#duration", "")
        await type_into(pilot, "#end_time", "09:00")
        assert "Fri 02-27 06:00–09:00" in text(app, "#schedule-preview")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, SchedulesScreen)
    with runtime.read() as ctx:
        (s,) = ctx.session.scalars(select(MaintenanceSchedule)).all()
        assert (s.title, s.rrule, s.duration_minutes) == ("Weekend work", "FREQ=MONTHLY;BYDAY=-1FR", 180)
        linked = ctx.session.scalars(select(MaintenanceWindow).where(MaintenanceWindow.schedule_id == s.id))
        assert len(list(linked)) == 3


async def test_bad_form_saves_nothing(app: NodedeskApp, runtime: Runtime) -> None:
    async with app.run_test(size=(100, 40)) as pilot:
        await settle(pilot)
        await pilot.press("n")
        await settle(pilot)
        await type_into(pilot, "#rule", "every Monday")
        await type_into(pilot, "#start_time", "25:00")
        assert "not a time of day" in text(app, "#start_time-error")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, ScheduleFormScreen)
        assert "Not saved" in text(app, "#form-error")
    with runtime.read() as ctx:
        assert ctx.session.scalars(select(MaintenanceSchedule)).all() == []


async def test_skip_from_detail_and_window_link(app: NodedeskApp, runtime: Runtime) -> None:
    sid = make_schedule(runtime)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, ScheduleDetailScreen)
        table = app.screen.query_one("#occurrences", DataTable)
        assert [str(table.get_row_at(i)[0]) for i in range(3)] == ["2026-02-17", "2026-03-17", "2026-04-21"]
        table.move_cursor(row=1)
        await settle(pilot)
        await pilot.press("s")
        await settle(pilot)
        await pilot.press("y")
        await settle(pilot)
        assert "skipped" in str(table.get_row_at(1)[2])
        assert str(table.get_row_at(1)[3]) == "-"
    with runtime.read() as ctx:
        (e,) = ctx.session.scalars(select(ScheduleException)).all()
        assert (e.schedule_id, e.kind) == (sid, "skip")
        first = ctx.session.scalars(select(MaintenanceWindow).order_by(MaintenanceWindow.start)).first()
        assert first is not None
        window_id = first.id
        assert len(ctx.session.scalars(select(MaintenanceWindow)).all()) == 2
    app2 = create_app(runtime)
    async with app2.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        app2.push_screen(WindowDetailScreen(window_id))
        await settle(pilot)
        fields = str(app2.screen.query_one("#detail-fields", Static).render())
        assert f"Part of schedule #{sid} 'Patch Tuesday' (3rd Tuesday of every month)" in fields
        assert "the 2026-02-17 occurrence" in fields


async def test_edit_from_detail_and_extend(app: NodedeskApp, runtime: Runtime) -> None:
    sid = make_schedule(runtime)
    async with app.run_test(size=(100, 40)) as pilot:
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        await pilot.press("e")
        await settle(pilot)
        assert isinstance(app.screen, ScheduleFormScreen)
        assert app.screen.query_one("#rule", Input).value == "3rd Tuesday of every month"
        await type_into(pilot, "#start_time", "07:00")
        assert "Tue 02-17 07:00–18:00" in text(app, "#schedule-preview")  # the end time is kept
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, ScheduleDetailScreen)
        table = app.screen.query_one("#occurrences", DataTable)
        assert str(table.get_row_at(0)[1]).startswith("Tue 02-17 07:00–18:00")
        await pilot.press("escape")
        await settle(pilot)
        await pilot.press("x")
        await settle(pilot)
        assert any("0 window(s) created" in n for n in notifications(app))
    with runtime.read() as ctx:
        starts = [o.start for o in svc.occurrences(ctx, sid, count=3)]
        assert [s.hour for s in starts] == [12, 11, 11]  # 07:00 EST, then 07:00 EDT (UTC hours)
