"""Notice generation: per event, recipients by project role, dedup, reminders."""

from __future__ import annotations

from datetime import timedelta

import pytest
from nodedesk.core.clock import FrozenClock
from nodedesk.core.models import Notice
from nodedesk.core.runtime import Runtime
from nodedesk.core.services.downtime import notices, outages, windows
from nodedesk.core.services.downtime.windows import Scope, WindowChanges, WindowDraft
from sqlalchemy import select

from tests.helpers import local


def _outbox(runtime: Runtime) -> list[Notice]:
    with runtime.read() as ctx:
        rows = ctx.session.scalars(select(Notice).order_by(Notice.id)).all()
        ctx.session.expunge_all()
        return list(rows)


def _add(runtime: Runtime, start: str, end: str, **kw: object) -> int:
    with runtime.write() as ctx:
        draft = WindowDraft(title=kw.pop("title", "GPU firmware"), start=local(start), end=local(end), **kw)  # type: ignore[arg-type]
        return windows.create_window(ctx, draft).window.id


def test_created_window_notifies_owner_and_technical_admins_once_each(centre: Runtime) -> None:
    wid = _add(centre, "2026-02-21 06:00", "2026-02-21 18:00", description="Driver 550;\nreboot")
    rows = _outbox(centre)
    # pi (owner) and tech (technical_admin); mem is only a member; nomail has no email; the
    # Genomics reservation is not touched.
    assert [(n.recipient, n.email) for n in rows] == [("pi", "pi@example.org"), ("tech", "tech@example.org")]
    pi = rows[0]
    assert pi.event == "window.created" and pi.subject_type == "window" and pi.subject_id == wid
    assert pi.status == "pending" and pi.attempts == 0
    assert pi.subject == "Maintenance scheduled: GPU firmware — Sat 2026-02-21 06:00 EST"
    body = pi.body
    assert "Hello Pat Investigator," in body
    assert "Sat 2026-02-21 06:00 EST → Sat 2026-02-21 18:00 EST (12.00 h)" in body
    assert "America/New_York" in body and "Driver 550;\nreboot" in body
    # both Climate reservations in ONE notice, with the hours the window takes from each
    assert "n1, project Climate (approved), 2026-02-20 16:00 → 2026-02-22 09:00: 12.00 h not billed" in body
    assert "n2, project Climate (approved), 2026-02-20 16:00 → 2026-02-21 09:00: 3.00 h not billed" in body
    assert "BEGIN:VCALENDAR" in pi.ics and "STATUS:CONFIRMED" in pi.ics


def test_recipients_follow_the_notice_roles_setting_and_count_missing_email(centre: Runtime) -> None:
    with centre.write() as ctx:
        from nodedesk.core import site

        site.store(ctx.session, "notice_roles", "member,technical_admin", by="admin", at=ctx.now())
    with centre.write() as ctx:
        w = windows.create_window(
            ctx,
            WindowDraft(
                "Rack move", local("2026-02-21 06:00"), local("2026-02-21 07:00"), scope=Scope(("n1",))
            ),
        )
        from nodedesk.core.models import MaintenanceWindow

        row = ctx.session.get(MaintenanceWindow, w.window.id)
        again = notices.window_created(ctx, row, w.impact)
    assert [n.recipient for n in _outbox(centre)] == ["mem", "tech"]
    assert again.created == 0 and again.duplicates == 2 and again.without_email == ("nomail",)


def test_saving_the_same_thing_twice_creates_nothing_new(centre: Runtime) -> None:
    wid = _add(centre, "2026-02-21 06:00", "2026-02-21 18:00")
    with centre.write() as ctx:
        windows.update_window(ctx, wid, WindowChanges(title="Renamed only"))
    assert len(_outbox(centre)) == 2  # a title change is not an event
    for _ in range(2):
        with centre.write() as ctx:
            windows.update_window(ctx, wid, WindowChanges(start=local("2026-02-21 08:00")))
        with centre.write() as ctx:  # same target again: the key already exists
            windows.update_window(
                ctx, wid, WindowChanges(start=local("2026-02-21 08:00"), end=local("2026-02-21 18:00"))
            )
    rows = _outbox(centre)
    assert [n.event for n in rows] == ["window.created"] * 2 + ["window.moved"] * 2
    moved = rows[2]
    assert (
        "Was:    Sat 2026-02-21 06:00 EST" in moved.body and "now Sat 2026-02-21 08:00 EST" in moved.subject
    )
    assert "SEQUENCE:2" in moved.ics  # version 3: created, renamed, moved


def test_extended_moved_cancelled_events(centre: Runtime) -> None:
    wid = _add(centre, "2026-02-21 06:00", "2026-02-21 18:00")
    with centre.write() as ctx:
        windows.update_window(ctx, wid, WindowChanges(end=local("2026-02-21 20:00")))
    with centre.write() as ctx:  # onto n2 only: Climate n2 and no more n1
        windows.update_window(ctx, wid, WindowChanges(scope=Scope(("n2",))))
    with centre.write() as ctx:
        windows.delete_window(ctx, wid)
    events = [(n.event, n.recipient) for n in _outbox(centre)]
    assert events == [
        ("window.created", "pi"),
        ("window.created", "tech"),
        ("window.extended", "pi"),
        ("window.extended", "tech"),
        ("window.moved", "pi"),
        ("window.moved", "tech"),
        ("window.cancelled", "pi"),
        ("window.cancelled", "tech"),
    ]
    rows = _outbox(centre)
    assert rows[2].subject == "Maintenance extended: GPU firmware — now until Sat 2026-02-21 20:00 EST"
    cancelled = rows[-1]
    assert "STATUS:CANCELLED" in cancelled.ics and "SEQUENCE:3" in cancelled.ics
    assert "billable again" in cancelled.body


def test_past_window_and_window_touching_no_reservation_are_silent(centre: Runtime) -> None:
    with centre.write() as ctx:
        windows.create_window(
            ctx,
            WindowDraft("History", local("2026-02-10 06:00"), local("2026-02-10 08:00")),
            reason="late entry",
        )
    _add(centre, "2026-03-10 06:00", "2026-03-10 08:00")
    assert _outbox(centre) == []


def test_outage_opened_and_resolved(centre: Runtime, clock: FrozenClock) -> None:
    clock.set(local("2026-02-21 02:00"))
    with centre.write() as ctx:
        o = outages.create_outage(
            ctx,
            outages.OutageDraft(
                "PSU failure", ("n2",), local("2026-02-21 01:00"), etr=local("2026-02-21 12:00")
            ),
        ).outage
    clock.set(local("2026-02-21 05:00"))
    with centre.write() as ctx:
        outages.update_outage(ctx, o.id, outages.OutageChanges(status="investigating"))
        outages.resolve_outage(ctx, o.id, local("2026-02-21 04:00"))
    rows = _outbox(centre)
    assert [(n.event, n.recipient) for n in rows] == [
        ("outage.opened", "pi"),
        ("outage.opened", "tech"),
        ("outage.resolved", "pi"),
        ("outage.resolved", "tech"),
    ]
    assert rows[0].subject == "Outage: PSU failure (n2)" and rows[0].ics == ""
    assert "since Sat 2026-02-21 01:00 EST (still open)" in rows[0].body
    assert "1.00 h so far not billed" in rows[0].body  # 01:00 → now 02:00
    assert rows[2].subject == "Outage resolved: PSU failure (n2)"
    assert (
        "n2, project Climate (approved), 2026-02-20 16:00 → 2026-02-21 09:00: 3.00 h not billed"
        in rows[2].body
    )


def test_reminders_within_the_horizon_once_and_rearmed_by_a_move(centre: Runtime, clock: FrozenClock) -> None:
    wid = _add(centre, "2026-02-21 06:00", "2026-02-21 18:00")
    with centre.write() as ctx:
        assert notices.queue_reminders(ctx).created == 0  # 6 days ahead, outside 24 h
    clock.set(local("2026-02-20 07:00"))
    for _ in range(2):
        with centre.write() as ctx:
            result = notices.queue_reminders(ctx)
    assert result.windows == 1 and result.created == 0 and result.without_email == ("nomail",)
    reminders = [n for n in _outbox(centre) if n.event == "window.reminder"]
    assert [n.recipient for n in reminders] == ["pi", "tech"]
    assert reminders[0].subject == "Reminder: maintenance GPU firmware starts Sat 2026-02-21 06:00 EST"
    assert reminders[0].ics
    with centre.write() as ctx:
        windows.update_window(ctx, wid, WindowChanges(start=local("2026-02-21 05:00")))
        notices.queue_reminders(ctx)
    assert len([n for n in _outbox(centre) if n.event == "window.reminder"]) == 4


def test_reminders_need_manage_windows(centre: Runtime) -> None:
    from nodedesk.core.errors import PermissionDenied

    from tests.helpers import runtime_as

    with pytest.raises(PermissionDenied), runtime_as(centre, "pi").write() as ctx:
        notices.queue_reminders(ctx)


def test_list_notices_pages_and_filters(centre: Runtime) -> None:
    _add(centre, "2026-02-21 06:00", "2026-02-21 18:00")
    with centre.read() as ctx:
        page = notices.list_notices(ctx, limit=1)
        assert page.total == 2 and len(page.items) == 1
        assert notices.list_notices(ctx, status="sent").total == 0
        assert notices.counts(ctx) == {"pending": 2, "sent": 0, "failed": 0}
        doc = page.items[0].to_json(ctx.tz)
        assert doc["status"] == "pending" and doc["has_ics"] is True


def test_schedule_window_notices_carry_the_occurrence_uid(centre: Runtime) -> None:
    from datetime import date

    from nodedesk.core.models import MaintenanceSchedule

    occ = local("2026-02-21 06:00")
    with centre.write() as ctx:
        now = ctx.now()
        s = MaintenanceSchedule(
            title="Patch day",
            rrule="FREQ=MONTHLY;BYDAY=3SA",
            timezone=ctx.tz,
            first_date=date(2026, 2, 21),
            start_time="06:00",
            duration_minutes=60,
            all_nodes=True,
            created_at=now,
            created_by="admin",
            modified_at=now,
            modified_by="admin",
        )
        ctx.session.add(s)
        ctx.session.flush()
        schedule_uuid = s.uuid
        wid = windows.create_window(
            ctx,
            WindowDraft("Patch day", occ, occ + timedelta(hours=1), schedule_id=s.id, occurrence_start=occ),
        ).window.id
    with centre.write() as ctx:
        windows.delete_window(ctx, wid)  # what skipping a materialised occurrence does
    uid = f"UID:schedule-{schedule_uuid}-20260221T110000Z@nodedesk"
    rows = _outbox(centre)
    assert [n.event for n in rows] == ["window.created"] * 2 + ["window.cancelled"] * 2
    assert all(uid in n.ics for n in rows)
    assert "STATUS:CANCELLED" in rows[-1].ics
