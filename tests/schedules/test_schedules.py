"""Recurring schedules service on SQLite and PostgreSQL.

The ``runtime`` clock is 2026-02-15 10:00 New York (a Sunday); the 3rd Tuesdays after it are
Feb 17, Mar 17 and Apr 21 (May 19 is past the default 3-month horizon, May 15).
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from nodedesk.core.clock import FrozenClock
from nodedesk.core.errors import ConflictError, LockedError, NotFoundError, PermissionDenied, ValidationError
from nodedesk.core.models import ActivityEntry, MaintenanceSchedule, MaintenanceWindow, ScheduleException
from nodedesk.core.runtime import Runtime
from nodedesk.core.services.downtime import schedules as svc
from nodedesk.core.services.downtime import windows as win
from nodedesk.core.services.downtime.windows import Scope
from nodedesk.core.services.nodes import inventory
from nodedesk.core.services.site import users
from sqlalchemy import func, select

from tests.helpers import SITE_TZ, local, runtime_as
from tests.rentals.support import record, seed

THIRD_TUESDAY = svc.ScheduleDraft(
    title="Patch Tuesday", rule="3rd Tuesday of every month", start_time="06:00", duration="12h"
)


def create(runtime: Runtime, draft: svc.ScheduleDraft = THIRD_TUESDAY, **kw) -> svc.ScheduleResult:  # type: ignore[no-untyped-def]
    with runtime.write() as ctx:
        return svc.create_schedule(ctx, draft, **kw)


def windows_of(runtime: Runtime, schedule_id: int | None = None) -> list[tuple[str, str, str]]:
    """(local start, local end, status) of the windows linked to the schedule (or all)."""
    with runtime.read() as ctx:
        q = select(MaintenanceWindow).order_by(MaintenanceWindow.start)
        if schedule_id is not None:
            q = q.where(MaintenanceWindow.schedule_id == schedule_id)
        now = ctx.now()
        return [
            (
                w.start.astimezone(svc.recurrence.ZoneInfo(SITE_TZ)).strftime("%Y-%m-%d %H:%M"),
                w.end.astimezone(svc.recurrence.ZoneInfo(SITE_TZ)).strftime("%Y-%m-%d %H:%M"),
                win.status_at(w.start, w.end, now),
            )
            for w in ctx.session.scalars(q)
        ]


def count(runtime: Runtime, model) -> int:  # type: ignore[no-untyped-def]
    with runtime.read() as ctx:
        return ctx.session.scalar(select(func.count()).select_from(model)) or 0


def actions(runtime: Runtime) -> list[str]:
    with runtime.read() as ctx:
        return list(ctx.session.scalars(select(ActivityEntry.action).order_by(ActivityEntry.seq)))


def test_create_materialises_the_horizon_and_links_windows(runtime: Runtime) -> None:
    result = create(runtime)
    s = result.schedule
    assert s.rule_text == "3rd Tuesday of every month"
    assert s.rrule == "FREQ=MONTHLY;BYDAY=+3TU"
    assert s.time_label == "06:00–18:00 (12h)"
    assert s.next_start == local("2026-02-17 06:00")
    assert windows_of(runtime, s.id) == [
        ("2026-02-17 06:00", "2026-02-17 18:00", "upcoming"),
        ("2026-03-17 06:00", "2026-03-17 18:00", "upcoming"),
        ("2026-04-21 06:00", "2026-04-21 18:00", "upcoming"),
    ]
    with runtime.read() as ctx:
        assert svc.get_schedule(ctx, s.id).materialised_ahead == 3
        w = ctx.session.scalars(select(MaintenanceWindow).order_by(MaintenanceWindow.start)).first()
        assert w is not None and w.occurrence_start == local("2026-02-17 06:00")
        link = svc.link_of_window(ctx, w.id)
    assert link is not None and link.schedule_id == s.id and link.occurrence_date == date(2026, 2, 17)
    assert actions(runtime)[-4:] == ["window.created"] * 3 + ["schedule.created"]


def test_extension_is_idempotent(runtime: Runtime) -> None:
    s = create(runtime).schedule
    with runtime.write() as ctx:
        assert svc.extend_schedules(ctx).total == 0
    with runtime.write() as ctx:
        first = svc.extend_schedules(ctx, months=6)
    assert first.created == {s.id: first.created[s.id]} and len(first.created[s.id]) == 3  # May, Jun, Jul
    entries = len(actions(runtime))
    with runtime.write() as ctx:
        second = svc.extend_schedules(ctx, months=6)
    assert second.total == 0
    assert len(actions(runtime)) == entries  # nothing written, no audit entry
    assert len(windows_of(runtime, s.id)) == 6


def test_dst_six_am_stays_six_am_local_on_both_changes(runtime: Runtime, clock: FrozenClock) -> None:
    clock.set(local("2026-03-06 10:00"))
    spring = create(
        runtime, svc.ScheduleDraft("Daily", "every day", "06:00", "12h", until_date=date(2026, 3, 10))
    )
    got = windows_of(runtime, spring.schedule.id)
    assert [g[0] for g in got] == [f"2026-03-{d:02d} 06:00" for d in (7, 8, 9, 10)]
    assert [g[1] for g in got] == [f"2026-03-{d:02d} 18:00" for d in (7, 8, 9, 10)]
    clock.set(local("2026-10-29 10:00"))
    autumn = create(
        runtime, svc.ScheduleDraft("Daily", "every day", "06:00", "12h", until_date=date(2026, 11, 3))
    )
    got = windows_of(runtime, autumn.schedule.id)
    assert [g[0] for g in got] == [
        "2026-10-30 06:00",
        "2026-10-31 06:00",
        "2026-11-01 06:00",
        "2026-11-02 06:00",
        "2026-11-03 06:00",
    ]
    with runtime.read() as ctx:
        starts = list(
            ctx.session.scalars(
                select(MaintenanceWindow.start)
                .where(MaintenanceWindow.schedule_id == autumn.schedule.id)
                .order_by(MaintenanceWindow.start)
            )
        )
    assert starts[1].hour == 10 and starts[2].hour == 11  # 06:00 EDT = 10:00Z, 06:00 EST = 11:00Z


def test_preview_of_a_draft_shows_dst_and_who_it_hits_without_saving(runtime: Runtime) -> None:
    seed(runtime)
    res = record(runtime, "2026-03-16", 2, node="n1")  # Mar 16 16:00 → Mar 17 09:00
    with runtime.read() as ctx:
        p = svc.preview_draft(ctx, THIRD_TUESDAY, count=3)
    assert [o.local_date for o in p.occurrences] == [date(2026, 2, 17), date(2026, 3, 17), date(2026, 4, 21)]
    assert p.occurrences[0].dst_note == ""
    assert "UTC offset -04:00" in p.occurrences[1].dst_note
    hit = p.occurrences[1].impact
    assert hit is not None
    assert [(line.reservation_id, line.project) for line in hit.lines] == [(res.id, "Climate")]
    assert hit.hours == 3  # 06:00–09:00 of the reservation
    assert [w.id for w in hit.windows] == []
    assert p.occurrences[0].impact is not None and p.occurrences[0].impact.lines == ()
    assert count(runtime, MaintenanceSchedule) == 0
    assert count(runtime, MaintenanceWindow) == 0
    s_id = create(runtime).schedule.id
    with runtime.read() as ctx:
        saved = svc.preview_schedule(ctx, s_id, count=3)
    assert saved.occurrences[1].impact is not None and saved.occurrences[1].impact.hours == 3
    assert saved.occurrences[1].window_id is not None


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"rule": "whenever"}, "rule"),
        ({"start_time": "25:00"}, "start_time"),
        ({"duration": "0h"}, "duration"),
        ({"duration": ""}, "duration"),
        ({"title": ""}, "title"),
        ({"until_date": date(2026, 1, 1)}, "until"),
        ({"scope": Scope(nodes=("nope",))}, "node"),
    ],
)
def test_bad_input_names_the_field_and_writes_nothing(runtime: Runtime, changes: dict, field: str) -> None:
    draft = svc.ScheduleDraft(**{**THIRD_TUESDAY.__dict__, **changes})
    before = len(actions(runtime))
    with pytest.raises((ValidationError, NotFoundError)) as err, runtime.write() as ctx:
        svc.create_schedule(ctx, draft)
    assert err.value.field == field
    assert count(runtime, MaintenanceSchedule) == 0 and count(runtime, MaintenanceWindow) == 0
    assert len(actions(runtime)) == before


def test_skip_and_move_one_occurrence(runtime: Runtime) -> None:
    s = create(runtime).schedule
    with runtime.write() as ctx:
        r = svc.skip_occurrence(ctx, s.id, date(2026, 3, 17), reason="freeze")
    assert r.window_id is not None
    with runtime.write() as ctx:
        svc.move_occurrence(ctx, s.id, date(2026, 4, 21), local("2026-04-22 08:00"))
    assert windows_of(runtime, s.id) == [
        ("2026-02-17 06:00", "2026-02-17 18:00", "upcoming"),
        ("2026-04-22 08:00", "2026-04-22 20:00", "upcoming"),
    ]
    with runtime.write() as ctx:
        assert svc.extend_schedules(ctx).total == 0  # the skip and the move hold
    with runtime.write() as ctx:
        svc.move_occurrence(ctx, s.id, date(2026, 5, 19), local("2026-05-20 06:00"), months=6)
        more = svc.extend_schedules(ctx, months=4)
    assert more.total == 0  # the moved May occurrence was materialised by the move itself
    assert ("2026-05-20 06:00", "2026-05-20 18:00", "upcoming") in windows_of(runtime, s.id)
    with runtime.read() as ctx:
        occs = svc.occurrences(ctx, s.id, count=4)
    assert [(o.local_date.isoformat(), o.status) for o in occs] == [
        ("2026-02-17", "scheduled"),
        ("2026-03-17", "skipped"),
        ("2026-04-21", "moved"),
        ("2026-05-19", "moved"),
    ]
    assert [a for a in actions(runtime) if a.startswith("schedule.")] == [
        "schedule.created",
        "schedule.occurrence_skipped",
        "schedule.occurrence_moved",
        "schedule.occurrence_moved",
    ]
    with pytest.raises(ValidationError) as err, runtime.write() as ctx:
        svc.skip_occurrence(ctx, s.id, date(2026, 3, 18))
    assert err.value.field == "date"
    with pytest.raises(ValidationError, match="already skipped"), runtime.write() as ctx:
        svc.skip_occurrence(ctx, s.id, date(2026, 3, 17))


def test_skipping_a_started_occurrence_is_refused(runtime: Runtime, clock: FrozenClock) -> None:
    s = create(runtime).schedule
    clock.set(local("2026-02-17 07:00"))
    with pytest.raises(LockedError) as err, runtime.write() as ctx:
        svc.skip_occurrence(ctx, s.id, date(2026, 2, 17))
    assert err.value.field == "date"
    with pytest.raises(LockedError), runtime.write() as ctx:
        svc.move_occurrence(ctx, s.id, date(2026, 2, 17), local("2026-02-18 06:00"))
    assert count(runtime, ScheduleException) == 0


def test_editing_changes_only_future_not_started_occurrences(runtime: Runtime, clock: FrozenClock) -> None:
    s = create(runtime).schedule
    clock.set(local("2026-03-17 07:00"))  # the March occurrence is in progress
    with runtime.write() as ctx:
        r = svc.edit_schedule(
            ctx,
            s.id,
            svc.ScheduleDraft("Patch Tuesday v2", "3rd Tuesday", "08:00", end_time="12:00"),
            expected_version=s.version,
        )
    assert r.updated_windows and not r.deleted_windows
    got = windows_of(runtime, s.id)
    assert got[0] == ("2026-02-17 06:00", "2026-02-17 18:00", "completed")
    assert got[1] == ("2026-03-17 06:00", "2026-03-17 18:00", "in_progress")
    assert got[2] == ("2026-04-21 08:00", "2026-04-21 12:00", "upcoming")
    assert got[3:] == [
        ("2026-05-19 08:00", "2026-05-19 12:00", "upcoming"),
        ("2026-06-16 08:00", "2026-06-16 12:00", "upcoming"),
    ]
    with runtime.read() as ctx:
        titles = list(ctx.session.scalars(select(MaintenanceWindow.title).order_by(MaintenanceWindow.start)))
    assert titles == [
        "Patch Tuesday",
        "Patch Tuesday",
        "Patch Tuesday v2",
        "Patch Tuesday v2",
        "Patch Tuesday v2",
    ]
    # a stale version is refused and changes nothing
    with pytest.raises(ConflictError), runtime.write() as ctx:
        svc.edit_schedule(ctx, s.id, THIRD_TUESDAY, expected_version=s.version)
    # a rule whose dates differ drops the upcoming windows not on its dates and adds its own
    with runtime.write() as ctx:
        r = svc.edit_schedule(ctx, s.id, svc.ScheduleDraft("Patch", "last Friday", "06:00", "2h"))
    assert len(r.deleted_windows) == 3  # Apr, May and Jun Tuesdays
    assert [g[0] for g in windows_of(runtime, s.id)][2:] == [
        "2026-03-27 06:00",
        "2026-04-24 06:00",
        "2026-05-29 06:00",
    ]


def test_editing_keeps_exceptions_on_their_dates(runtime: Runtime) -> None:
    s = create(runtime).schedule
    with runtime.write() as ctx:
        svc.skip_occurrence(ctx, s.id, date(2026, 3, 17))
        svc.move_occurrence(ctx, s.id, date(2026, 4, 21), local("2026-04-23 06:00"))
    with runtime.write() as ctx:
        svc.edit_schedule(ctx, s.id, svc.ScheduleDraft("Patch Tuesday", "3rd Tuesday", "07:00", "10h"))
    assert [g[0] for g in windows_of(runtime, s.id)] == ["2026-02-17 07:00", "2026-04-23 06:00"]
    with runtime.read() as ctx:
        exc = {e.kind: e.occurrence_start for e in ctx.session.scalars(select(ScheduleException))}
    assert exc == {"skip": local("2026-03-17 07:00"), "move": local("2026-04-21 07:00")}


def test_delete_keeps_past_windows(runtime: Runtime, clock: FrozenClock) -> None:
    s = create(runtime).schedule
    with runtime.write() as ctx:
        svc.skip_occurrence(ctx, s.id, date(2026, 4, 21))
    clock.set(local("2026-03-01 10:00"))
    with runtime.write() as ctx:
        r = svc.delete_schedule(ctx, s.id)
    assert len(r.deleted_windows) == 1 and len(r.kept_windows) == 1
    assert windows_of(runtime) == [("2026-02-17 06:00", "2026-02-17 18:00", "completed")]
    assert count(runtime, MaintenanceSchedule) == 0 and count(runtime, ScheduleException) == 0
    assert actions(runtime)[-1] == "schedule.deleted"
    with runtime.read() as ctx:
        assert ctx.session.scalar(select(MaintenanceWindow.schedule_id)) is None


def test_node_scope_and_permissions(runtime: Runtime) -> None:
    with runtime.write() as ctx:
        inventory.add_node_type(ctx, "A100", "GPU")
        inventory.add_node(ctx, "a1", "A100")
        users.add_user(ctx, "vic", "viewer")
    s = create(
        runtime, svc.ScheduleDraft(**{**THIRD_TUESDAY.__dict__, "scope": Scope(("a1",), ("A100",))})
    ).schedule
    assert s.scope.label() == "A100, a1"
    with runtime.read() as ctx:
        w = win.get_window(ctx, svc.occurrences(ctx, s.id)[0].window_id)  # type: ignore[arg-type]
    assert w.scope == Scope(("a1",), ("A100",))
    viewer = runtime_as(runtime, "vic")
    with pytest.raises(PermissionDenied), viewer.write() as ctx:
        svc.create_schedule(ctx, THIRD_TUESDAY)
    with pytest.raises(PermissionDenied), viewer.write() as ctx:
        svc.extend_schedules(ctx)
    with viewer.read() as ctx:
        page = svc.list_schedules(ctx)
    assert [(x.title, x.materialised_ahead) for x in page.items] == [("Patch Tuesday", 3)]
    assert page.items[0].next_start == local("2026-02-17 06:00") - timedelta(0)


def test_a_window_deleted_by_hand_is_not_recreated(runtime: Runtime) -> None:
    s = create(runtime).schedule
    with runtime.read() as ctx:
        march = svc.occurrences(ctx, s.id, count=3)[1]
    assert march.window_id is not None
    with runtime.write() as ctx:
        win.delete_window(ctx, march.window_id)
    with runtime.write() as ctx:
        assert svc.extend_schedules(ctx).total == 0
    with runtime.read() as ctx:
        again = svc.occurrences(ctx, s.id, count=3)[1]
    assert (again.status, again.window_id) == ("skipped", None)
    assert again.reason == f"window #{march.window_id} deleted"


def test_a_window_moved_by_hand_keeps_its_times_when_the_schedule_is_edited(runtime: Runtime) -> None:
    s = create(runtime).schedule
    with runtime.read() as ctx:
        march = svc.occurrences(ctx, s.id, count=3)[1]
    with runtime.write() as ctx:
        win.update_window(
            ctx,
            march.window_id,
            win.WindowChanges(start=local("2026-03-18 06:00"), end=local("2026-03-18 10:00")),
        )  # type: ignore[arg-type]
    with runtime.write() as ctx:
        svc.edit_schedule(ctx, s.id, svc.ScheduleDraft("Patched", "3rd Tuesday", "07:00", "11h"))
    assert windows_of(runtime, s.id) == [
        ("2026-02-17 07:00", "2026-02-17 18:00", "upcoming"),
        ("2026-03-18 06:00", "2026-03-18 10:00", "upcoming"),
        ("2026-04-21 07:00", "2026-04-21 18:00", "upcoming"),
    ]
