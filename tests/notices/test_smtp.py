"""Delivery end to end against a real SMTP server (aiosmtpd) on 127.0.0.1."""

from __future__ import annotations

import email
import email.policy
import json
import socket
from collections.abc import Iterator
from datetime import timedelta

import icalendar
import pytest
from aiosmtpd.controller import Controller
from nodedesk.core import mailer
from nodedesk.core.clock import FrozenClock
from nodedesk.core.errors import PermissionDenied, ValidationError
from nodedesk.core.models import ActivityEntry, MaintenanceWindow, Notice
from nodedesk.core.runtime import Runtime
from nodedesk.core.services.downtime import notices, windows
from nodedesk.core.services.downtime.windows import WindowDraft
from nodedesk.core.services.site import users
from sqlalchemy import select

from tests.helpers import local, runtime_as

SENDER = "nodedesk@hpc.example.org"


class Collector:
    """Accepts every recipient except those starting with ``refuse``; keeps the envelopes."""

    def __init__(self) -> None:
        self.envelopes: list = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # type: ignore[no-untyped-def]
        if address.startswith("refuse"):
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
        self.envelopes.append(envelope)
        return "250 Message accepted for delivery"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp() -> Iterator[tuple[Collector, int]]:
    handler = Collector()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    yield handler, port
    controller.stop()


def config(port: int) -> mailer.SmtpConfig:
    return mailer.SmtpConfig("127.0.0.1", port, "none", SENDER)


def _notices(runtime: Runtime) -> dict[str, Notice]:
    with runtime.read() as ctx:
        rows = ctx.session.scalars(select(Notice).order_by(Notice.id)).all()
        ctx.session.expunge_all()
    return {n.recipient: n for n in rows}


def _new_window(runtime: Runtime) -> MaintenanceWindow:
    with runtime.write() as ctx:
        wid = windows.create_window(
            ctx,
            WindowDraft(
                "GPU firmware, driver 550",
                local("2026-02-21 06:00"),
                local("2026-02-21 18:00"),
                description="Two reboots; be ready",
            ),
        ).window.id
        row = ctx.session.get(MaintenanceWindow, wid)
        ctx.session.expunge(row)
        return row


def test_delivers_each_message_and_records_a_refused_recipient(
    centre: Runtime, smtp: tuple[Collector, int], clock: FrozenClock
) -> None:
    handler, port = smtp
    with centre.write() as ctx:
        users.update_user(ctx, "tech", email="refuse-tech@example.org")
    window = _new_window(centre)

    report = notices.send_pending(centre, config=config(port))

    assert (report.sent, report.failed, len(report.items)) == (1, 1, 2)
    assert len(handler.envelopes) == 1
    envelope = handler.envelopes[0]
    assert envelope.mail_from == SENDER and envelope.rcpt_tos == ["pi@example.org"]
    msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
    assert msg["To"] == "pi@example.org" and msg["From"] == SENDER
    assert msg["Subject"] == "Maintenance scheduled: GPU firmware, driver 550 — Sat 2026-02-21 06:00 EST"
    text = msg.get_body(("plain",)).get_content()
    assert "Hello Pat Investigator," in text
    assert "2026-02-20 16:00 → 2026-02-22 09:00: 12.00 h not billed" in text
    [attachment] = list(msg.iter_attachments())
    assert attachment.get_content_type() == "text/calendar" and attachment.get_filename() == "maintenance.ics"
    cal = icalendar.Calendar.from_ical(attachment.get_content())
    [event] = cal.walk("VEVENT")
    assert str(event["UID"]) == f"{window.uuid}@nodedesk"
    assert event["DTSTART"].dt == local("2026-02-21 06:00")
    assert str(event["SUMMARY"]) == "Maintenance: GPU firmware, driver 550"
    assert str(event["DESCRIPTION"]) == "Two reboots; be ready"

    rows = _notices(centre)
    assert rows["pi"].status == "sent" and rows["pi"].attempts == 1 and rows["pi"].sent_at is not None
    tech = rows["tech"]
    assert tech.status == "failed" and tech.attempts == 1
    assert "refuse-tech@example.org: 550 5.1.1 no such mailbox" in tech.last_error
    with centre.read() as ctx:
        entry = ctx.session.scalars(select(ActivityEntry).where(ActivityEntry.action == "notices.sent")).one()
        assert json.loads(entry.after_json) | {} == {
            "reminders_queued": 0,
            "sent": 1,
            "failed": 1,
            "connection_error": "",
        }

    # Not due again before the back-off; due after it (and still refused).
    assert notices.send_pending(centre, config=config(port)).items == ()
    clock.set(clock.now() + notices.RETRY_AFTER + timedelta(minutes=1))
    again = notices.send_pending(centre, config=config(port))
    assert (again.sent, again.failed) == (0, 1)
    assert _notices(centre)["tech"].attempts == 2
    assert len(handler.envelopes) == 1


def test_server_down_marks_the_batch_failed_and_a_later_run_delivers(
    centre: Runtime, smtp: tuple[Collector, int], clock: FrozenClock
) -> None:
    handler, port = smtp
    _new_window(centre)
    down = free_port()  # nobody listens there
    report = notices.send_pending(centre, config=config(down))
    assert (report.sent, report.failed) == (0, 2)
    rows = _notices(centre)
    for n in rows.values():
        assert n.status == "failed" and n.attempts == 1
        assert n.last_error.startswith(f"cannot connect to 127.0.0.1:{down}: ConnectionRefusedError")
    with centre.read() as ctx:
        entry = ctx.session.scalars(select(ActivityEntry).where(ActivityEntry.action == "notices.sent")).one()
        assert "cannot connect" in json.loads(entry.after_json)["connection_error"]

    clock.set(clock.now() + timedelta(minutes=16))
    retry = notices.send_pending(centre, config=config(port), limit=1)
    assert (retry.sent, retry.failed) == (1, 0)
    rest = notices.send_pending(centre, config=config(port))
    assert (rest.sent, rest.failed) == (1, 0)
    rows = _notices(centre)
    assert {n.status for n in rows.values()} == {"sent"}
    assert all(n.attempts == 2 and n.last_error == "" for n in rows.values())
    assert sorted(e.rcpt_tos[0] for e in handler.envelopes) == ["pi@example.org", "tech@example.org"]


def test_give_up_after_max_attempts_and_dry_run_changes_nothing(centre: Runtime, clock: FrozenClock) -> None:
    _new_window(centre)
    with centre.write() as ctx:
        for n in ctx.session.scalars(select(Notice)):
            n.status, n.attempts, n.last_attempt_at = "failed", notices.MAX_ATTEMPTS, ctx.now()
    clock.set(clock.now() + timedelta(hours=5))
    assert notices.send_pending(centre, dry_run=True).items == ()
    with centre.write() as ctx:
        ctx.session.scalars(select(Notice)).first().attempts = notices.MAX_ATTEMPTS - 1  # type: ignore[union-attr]
    dry = notices.send_pending(centre, dry_run=True)
    assert len(dry.items) == 1 and dry.dry_run
    assert {n.attempts for n in _notices(centre).values()} == {notices.MAX_ATTEMPTS, notices.MAX_ATTEMPTS - 1}


def test_sending_needs_manage_windows(centre: Runtime) -> None:
    with pytest.raises(PermissionDenied):
        notices.send_pending(runtime_as(centre, "pi"), config=config(1))


@pytest.mark.parametrize(
    ("env", "field"),
    [
        ({}, "NODEDESK_SMTP_HOST"),
        ({"NODEDESK_SMTP_HOST": "mx"}, "NODEDESK_SMTP_FROM"),
        ({"NODEDESK_SMTP_HOST": "mx", "NODEDESK_SMTP_FROM": "not-an-address"}, "NODEDESK_SMTP_FROM"),
        (
            {"NODEDESK_SMTP_HOST": "mx", "NODEDESK_SMTP_FROM": "a@b.org", "NODEDESK_SMTP_PORT": "70000"},
            "NODEDESK_SMTP_PORT",
        ),
        (
            {"NODEDESK_SMTP_HOST": "mx", "NODEDESK_SMTP_FROM": "a@b.org", "NODEDESK_SMTP_SECURITY": "tls"},
            "NODEDESK_SMTP_SECURITY",
        ),
        (
            {"NODEDESK_SMTP_HOST": "mx", "NODEDESK_SMTP_FROM": "a@b.org", "NODEDESK_SMTP_USER": "u"},
            "NODEDESK_SMTP_PASSWORD",
        ),
        (
            {
                "NODEDESK_SMTP_HOST": "mx",
                "NODEDESK_SMTP_FROM": "a@b.org",
                "NODEDESK_SMTP_PASSWORD_FILE": "/nonexistent/pw",
            },
            "NODEDESK_SMTP_PASSWORD_FILE",
        ),
    ],
)
def test_configuration_errors_name_the_variable(env: dict[str, str], field: str) -> None:
    with pytest.raises(ValidationError) as info:
        mailer.config_from_env(env)
    assert info.value.field == field and "\n" not in str(info.value)


def test_configuration_defaults_and_password_file(tmp_path) -> None:  # type: ignore[no-untyped-def]
    pw = tmp_path / "pw"
    pw.write_text("s3cret\n")
    cfg = mailer.config_from_env(
        {
            "NODEDESK_SMTP_HOST": "mx.example.org",
            "NODEDESK_SMTP_FROM": "nodedesk@example.org",
            "NODEDESK_SMTP_USER": "nd",
            "NODEDESK_SMTP_PASSWORD_FILE": str(pw),
        }
    )
    assert (cfg.port, cfg.security, cfg.password) == (587, "starttls", "s3cret")
    assert "s3cret" not in repr(cfg)
    ssl_cfg = mailer.config_from_env(
        {"NODEDESK_SMTP_HOST": "mx", "NODEDESK_SMTP_FROM": "a@b.org", "NODEDESK_SMTP_SECURITY": "ssl"}
    )
    assert ssl_cfg.port == 465
