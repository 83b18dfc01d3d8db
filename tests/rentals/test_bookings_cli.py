"""Reservation and outage commands through the real entry point (``python -m nodedesk``).

Each call costs a Python start-up, so these run on SQLite only: the CLI is the same on both back
ends, and the services underneath are tested on both (test_reservations.py, test_outages.py).
"""

from __future__ import annotations

import getpass
from pathlib import Path

import pytest
from nodedesk.core.runtime import Runtime
from nodedesk.core.services.downtime import windows
from nodedesk.core.services.site import users

from tests.cli_helpers import Cli
from tests.helpers import local
from tests.rentals.support import seed

pytestmark = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)


@pytest.fixture
def cli(runtime: Runtime, database_url: str, tmp_path: Path) -> Cli:
    """The seeded site (tests/rentals/support.py), with this OS login as an admin so that the
    subprocess may act; set up in-process, since each CLI call costs a Python start-up."""
    seed(runtime)
    with runtime.write() as ctx:
        if getpass.getuser() != "admin":
            users.add_user(ctx, getpass.getuser(), ["admin"])
        windows.create_window(
            ctx,
            windows.WindowDraft(
                "Firmware", local("2026-02-24 08:00"), local("2026-02-24 20:00"), scope=windows.Scope(("n1",))
            ),
        )
    return Cli(database_url, tmp_path)


def _as(cli: Cli, user: str) -> Cli:
    other = cli.at(cli.env["NODEDESK_NOW"])
    other.env["NODEDESK_USER"] = user
    return other


def test_reservation_commands(cli: Cli) -> None:
    out = cli.ok(
        "reservation", "add", "--node", "n1", "--project", "Climate", "--start-date", "2026-02-23",
        "--blocks", "4", "--by", "alice", "--approve",
    )  # fmt: skip
    assert out.startswith("Recorded reservation #1 (approved): n1 for 'Climate', 2026-02-23 16:00 -05:00")
    assert "41.00 h" in out
    assert "Note: this reservation overlaps downtime; 12.00 h of its 41.00 h will not be billed" in out
    assert "maintenance window #1 'Firmware'" in out

    line = cli.refused(
        "reservation", "add", "--node", "n1", "--project", "Climate", "--start-date", "2026-02-24",
        "--blocks", "2",
    )  # fmt: skip
    assert line.startswith("nodedesk: error: node: n1 is already booked then by reservation #1")
    assert "'Climate' (approved), 2026-02-23 16:00 -05:00 → 2026-02-25 09:00 -05:00" in line

    requested = _as(cli, "carol").json(
        "reservation", "add", "--node", "n1", "--project", "Climate", "--start-date", "2026-03-07",
        "--blocks", "2",
    )  # fmt: skip
    assert requested["status"] == "pending" and requested["requested_for"] == "carol"
    assert requested["hours"] == "16.00"  # the spring-forward night

    cli.ok("reservation", "decline", str(requested["id"]), "--reason", "node reserved for tests")
    cli.ok("reservation", "cancel", "1", "--reason", "plans changed")
    listed = cli.json("reservation", "list", "--from", "2026-03-07", "--to", "2026-03-07")
    assert [(r["id"], r["status"], r["decision_reason"]) for r in listed] == [
        (2, "declined", "node reserved for tests")
    ]
    shown = cli.json("reservation", "show", "1")
    assert shown["status"] == "cancelled" and shown["downtime_hours"] == "12.00"
    table = cli.ok("reservation", "list", "--node", "n1")
    assert "⊘ cancelled" in table and "✗ declined" in table


def test_outage_commands(cli: Cli) -> None:
    out = cli.ok(
        "outage", "add", "--title", "GPU Xid 79", "--node", "n1", "--start", "2026-02-15 06:00",
        "--etr", "2026-02-15 12:00",
    )  # fmt: skip
    assert out.startswith("Recorded outage #1 'GPU Xid 79' (reported) on n1")
    cli.ok("outage", "update", "1", "--status", "identified", "--etr", "2026-02-16 09:00")
    assert "give --status resolved with the end" in cli.refused(
        "outage", "update", "1", "--end", "2026-02-15 09:00"
    )
    assert "end: is required" in cli.refused(
        "outage",
        "add",
        "--title",
        "x",
        "--node",
        "n1",
        "--start",
        "2026-02-15 06:00",
        "--status",
        "resolved",
    )
    [listed] = cli.json("outage", "list", "--open")
    assert (listed["status"], listed["duration_hours"]) == ("identified", "4.00")
    cli.ok("outage", "resolve", "1", "--end", "2026-02-15 09:30")
    assert cli.json("outage", "list", "--open") == []
    shown = cli.json("outage", "show", "1")
    assert (shown["status"], shown["end"], shown["duration_hours"]) == (
        "resolved",
        "2026-02-15T09:30:00-05:00",
        "3.50",
    )
    assert [(h["action"], h["after"]) for h in shown["etr_history"]] == [
        ("outage.created", "2026-02-15T12:00:00-05:00"),
        ("outage.etr_revised", "2026-02-16T09:00:00-05:00"),
    ]
    assert "ETR history:" in cli.ok("outage", "show", "1")
