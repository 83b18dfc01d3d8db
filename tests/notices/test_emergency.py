"""Emergency windows: declared now for a failure, marked everywhere, notices sent at once."""

from __future__ import annotations

import email
import email.policy
import json

import pytest
from nodedesk.core.clock import FrozenClock
from nodedesk.core.errors import NodedeskError, PermissionDenied
from nodedesk.core.models import ActivityEntry, MaintenanceWindow, Notice
from nodedesk.core.runtime import Runtime
from nodedesk.core.services.downtime import downtime_list, notices, windows
from nodedesk.core.services.views import calendar_feed
from sqlalchemy import func, select

from tests.helpers import local, runtime_as
from tests.notices.test_smtp import SENDER, Collector, config, free_port, smtp  # noqa: F401

DURING = "2026-02-21 08:00"  # Climate's reservation on n1 runs Feb 20 16:00 → Feb 22 09:00


@pytest.fixture
def failing(centre: Runtime, clock: FrozenClock) -> Runtime:
    clock.set(local(DURING))
    return centre


def draft(reason: str = "PSU failed on n1", duration: str = "2h") -> windows.EmergencyDraft:
    return windows.EmergencyDraft(scope=windows.Scope(("n1",)), reason=reason, duration=duration)


def _rows(runtime: Runtime) -> list[Notice]:
    with runtime.read() as ctx:
        rows = list(ctx.session.scalars(select(Notice).order_by(Notice.id)))
        ctx.session.expunge_all()
    return rows


def test_starts_now_for_its_duration_and_is_marked(failing: Runtime) -> None:
    with failing.write() as ctx:
        saved = windows.create_emergency_window(ctx, draft(duration="3h"))
        w = saved.window
        assert (w.start, w.end) == (local(DURING), local("2026-02-21 11:00"))
        assert w.emergency and not w.backdated and w.status == "in_progress"
        assert w.title == "PSU failed on n1" and w.description == ""
        assert w.to_json(ctx.tz)["emergency"] is True
        entry = ctx.session.scalars(select(ActivityEntry).order_by(ActivityEntry.seq.desc())).first()
        assert entry is not None and entry.action == "window.emergency" and entry.reason == "PSU failed on n1"
        [row] = downtime_list.list_downtime(ctx).items
        assert row.emergency and row.to_json(ctx.tz)["emergency"] is True
        row_obj = ctx.session.get(MaintenanceWindow, w.id)
        assert row_obj is not None
        event = [line.rstrip("\r\n") for line in calendar_feed.window_event(row_obj, ctx.now()).lines()]
        assert any(line.startswith("SUMMARY:EMERGENCY: Maintenance: ") for line in event)
        assert "CATEGORIES:MAINTENANCE,EMERGENCY" in event
        planned = windows.create_window(
            ctx, windows.WindowDraft("Planned", local("2026-03-01 08:00"), local("2026-03-01 10:00"))
        )
        assert not planned.window.emergency
        assert windows.get_window(ctx, planned.window.id).to_json(ctx.tz)["emergency"] is False
    # Each renter's notice says it is an emergency; they are queued like any window's.
    pending = {n.recipient: n for n in _rows(failing)}
    assert set(pending) == {"pi", "tech"}
    assert pending["pi"].subject.startswith("EMERGENCY maintenance: PSU failed on n1 — since ")
    assert "An emergency maintenance window has started" in pending["pi"].body
    assert "What:   PSU failed on n1" in pending["pi"].body


def test_a_title_of_its_own_keeps_the_reason_as_description(failing: Runtime) -> None:
    given = windows.EmergencyDraft(scope=windows.Scope(("n1",)), reason="PSU failed", title="n1 power")
    with failing.write() as ctx:
        w = windows.create_emergency_window(ctx, given).window
    assert (w.title, w.description) == ("n1 power", "PSU failed")


@pytest.mark.parametrize(
    ("bad", "field"),
    [
        (draft(reason="  "), "reason"),
        (windows.EmergencyDraft(scope=windows.Scope(), reason="power"), "node"),
        (windows.EmergencyDraft(scope=windows.Scope(("nope",)), reason="power"), "node"),
        (draft(duration="soon"), "duration"),
        (draft(duration="15d"), "duration"),
    ],
)
def test_refused_with_one_line_naming_the_field_and_nothing_written(
    failing: Runtime, bad: windows.EmergencyDraft, field: str
) -> None:
    with failing.write() as ctx:
        assert windows.check_emergency_window(ctx, bad)[0].field == field
    with pytest.raises(NodedeskError) as err, failing.write() as ctx:
        windows.create_emergency_window(ctx, bad)
    assert getattr(err.value, "field", None) == field and "\n" not in str(err.value)
    with failing.read() as ctx:
        assert ctx.session.scalar(select(func.count(MaintenanceWindow.id))) == 0
        assert ctx.session.scalar(select(func.count(Notice.id))) == 0


def test_needs_manage_windows(failing: Runtime) -> None:
    viewer = runtime_as(failing, "pi")
    with viewer.read() as ctx:
        assert windows.list_windows(ctx).total == 0  # what a viewer may do
    with pytest.raises(PermissionDenied):
        windows.declare_emergency(viewer, draft(), environ={})
    with failing.read() as ctx:
        assert ctx.session.scalar(select(func.count(MaintenanceWindow.id))) == 0


def test_notices_go_out_at_once_to_a_real_smtp_server(failing: Runtime, smtp: tuple[Collector, int]) -> None:  # noqa: F811
    handler, port = smtp
    result = windows.declare_emergency(failing, draft(), config=config(port))

    assert result.saved.window.emergency
    assert (result.mail.queued, result.mail.sent, result.mail.failed) == (2, 2, 0)
    assert result.mail.line() == "Notices: 2 sent at once."
    assert sorted(rcpt for e in handler.envelopes for rcpt in e.rcpt_tos) == [
        "pi@example.org",
        "tech@example.org",
    ]
    msg = email.message_from_bytes(handler.envelopes[0].content, policy=email.policy.default)
    assert msg["From"] == SENDER and msg["Subject"].startswith("EMERGENCY maintenance: ")
    assert all(n.status == "sent" and n.attempts == 1 for n in _rows(failing))
    with failing.read() as ctx:
        entry = ctx.session.scalars(select(ActivityEntry).where(ActivityEntry.action == "notices.sent")).one()
        assert json.loads(entry.after_json)["sent"] == 2
    # Nothing left for the next run.
    assert notices.send_pending(failing, config=config(port)).items == ()


def test_the_environment_configures_the_immediate_send(failing: Runtime, smtp: tuple[Collector, int]) -> None:  # noqa: F811
    handler, port = smtp
    env = {
        "NODEDESK_SMTP_HOST": "127.0.0.1",
        "NODEDESK_SMTP_PORT": str(port),
        "NODEDESK_SMTP_SECURITY": "none",
        "NODEDESK_SMTP_FROM": SENDER,
    }
    result = windows.declare_emergency(failing, draft(), environ=env)
    assert result.mail.sent == 2 and len(handler.envelopes) == 2


def test_a_mail_failure_keeps_the_window_and_leaves_the_notices_queued(
    failing: Runtime,
    smtp: tuple[Collector, int],  # noqa: F811
) -> None:
    handler, port = smtp
    closed = free_port()  # nothing listens there
    result = windows.declare_emergency(failing, draft(), config=config(closed))

    assert (result.mail.sent, result.mail.failed) == (0, 2)
    line = result.mail.line()
    assert "\n" not in line and "cannot connect" in line and "left queued" in line
    with failing.read() as ctx:
        assert windows.get_window(ctx, result.saved.window.id).emergency
    rows = _rows(failing)
    assert all(n.status == "pending" and n.attempts == 1 and "cannot connect" in n.last_error for n in rows)
    # The next run sends them, without waiting for a retry back-off.
    report = notices.send_pending(failing, config=config(port))
    assert (report.sent, report.failed) == (2, 0) and len(handler.envelopes) == 2


def test_without_smtp_the_notices_wait_for_the_next_run(failing: Runtime) -> None:
    result = windows.declare_emergency(failing, draft(), environ={})
    assert (result.mail.configured, result.mail.queued, result.mail.sent) == (False, 2, 0)
    assert "SMTP is not configured" in result.mail.line()
    assert all(n.status == "pending" and n.attempts == 0 for n in _rows(failing))


def test_a_bad_smtp_configuration_is_one_line_and_keeps_the_window(failing: Runtime) -> None:
    result = windows.declare_emergency(failing, draft(), environ={"NODEDESK_SMTP_HOST": "127.0.0.1"})
    assert result.mail.failed == 2 and "NODEDESK_SMTP_FROM" in result.mail.line()
    with failing.read() as ctx:
        assert ctx.session.scalar(select(func.count(MaintenanceWindow.id))) == 1
