"""The notices, calendar and settings commands through the real ``nodedesk`` entry point."""

from __future__ import annotations

import email
import email.policy
from datetime import UTC, datetime

import icalendar
from nodedesk.core.clock import FrozenClock
from nodedesk.core.config import Config
from nodedesk.core.runtime import Runtime

from tests.cli.conftest import SiteCli, cli_site, cli_template  # noqa: F401
from tests.notices.conftest import seed
from tests.notices.test_smtp import smtp  # noqa: F401

SMTP_ENV = {"NODEDESK_SMTP_SECURITY": "none", "NODEDESK_SMTP_FROM": "nodedesk@hpc.example.org"}


def _seeded(site: SiteCli) -> None:
    runtime = Runtime(
        Config(database_url=site.database_url, private_dir=site.home / "nodedesk"),
        clock=FrozenClock(datetime(2026, 2, 15, 15, 0, tzinfo=UTC)),
        login=site.admin,
    )
    seed(runtime)
    runtime.close()


def test_new_window_notices_go_out_by_smtp_and_the_feed_parses(cli_site: SiteCli, smtp, tmp_path) -> None:  # noqa: F811
    handler, port = smtp
    site = cli_site
    _seeded(site)
    assert (
        site.ok("settings", "set", "notice_roles", "owner") == "notice_roles: owner,technical_admin → owner\n"
    )
    site.ok(
        "window", "add", "--title", "GPU firmware", "--start", "2026-02-21 06:00", "--end", "2026-02-21 18:00"
    )
    [notice] = site.json("notices", "list", "--status", "pending")
    assert notice["recipient"] == "pi" and notice["event"] == "window.created"

    missing = site.refused("notices", "send")
    assert missing.startswith("nodedesk: error: NODEDESK_SMTP_HOST: is not set")

    dry = site.run("notices", "send", "--dry-run")
    assert dry.returncode == 0 and "1 notice(s) due" in dry.stdout and "pi@example.org" in dry.stdout
    env = {**SMTP_ENV, "NODEDESK_SMTP_HOST": "127.0.0.1", "NODEDESK_SMTP_PORT": str(port)}
    sent = site.run("notices", "send", env=env)
    assert sent.returncode == 0, sent.stderr
    assert sent.stdout == "Sent 1 of 1 notice(s); 0 failed.\n"
    [envelope] = handler.envelopes
    msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
    assert msg["To"] == "pi@example.org" and msg["Subject"].startswith("Maintenance scheduled: GPU firmware")
    [attachment] = list(msg.iter_attachments())
    [mailed] = icalendar.Calendar.from_ical(attachment.get_content()).walk("VEVENT")
    assert site.json("notices", "list", "--status", "sent")[0]["attempts"] == 1

    target = tmp_path / "feed.ics"
    result = site.run("calendar", "export", str(target), "--from", "2026-02-01", "--to", "2026-02-28")
    assert result.returncode == 0 and result.stdout == "" and "1 window(s)" in result.stderr
    [event] = icalendar.Calendar.from_ical(target.read_bytes()).walk("VEVENT")
    assert str(event["UID"]) == str(mailed["UID"])  # the mail and the feed name the same event
    assert str(event["SUMMARY"]) == "Maintenance: GPU firmware"
    stdout = site.run("calendar", "export", "-", "--node", "n1")
    assert stdout.returncode == 0 and stdout.stdout.startswith("BEGIN:VCALENDAR")
    bad = site.refused("calendar", "export", "-", "--from", "2026-03-01", "--to", "2026-02-01")
    assert "to:" in bad
