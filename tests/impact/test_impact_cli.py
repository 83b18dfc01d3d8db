"""``nodedesk window impact`` and the full impact of ``window add|edit --dry-run``, through the
real entry point (SQLite only: each call is a Python start-up; the service runs on both back
ends in test_assess.py)."""

from __future__ import annotations

import getpass
from datetime import date
from pathlib import Path

import pytest
from nodedesk.core.runtime import Runtime
from nodedesk.core.services.site import users

from tests.billing.factory import Builder
from tests.cli_helpers import Cli

pytestmark = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)


@pytest.fixture
def cli(runtime: Runtime, database_url: str, tmp_path: Path) -> Cli:
    with runtime.write() as ctx:
        b = Builder(ctx.session, ctx.now())
        b.user("alice")
        b.rate("NODE_A100", "8.00", date(2026, 1, 1))
        gen = b.project("Genomics", "alice")
        n1, n2 = b.node("n1"), b.node("n2")
        b.reservation(n1, gen, "2026-02-20 16:00", "2026-02-22 09:00", blocks=4)
        b.reservation(n2, gen, "2026-02-21 16:00", "2026-02-22 09:00", status="pending")
        b.window("Cooling", "2026-02-21 06:00", "2026-02-21 12:00", nodes=(n1,))
        b.outage("PSU", "2026-02-21 18:00", "2026-02-21 19:00", nodes=(n2,))
        if getpass.getuser() != "admin":
            users.add_user(ctx, getpass.getuser(), ["admin"])
    return Cli(database_url, tmp_path)


def test_window_impact_text_and_json(cli: Cli) -> None:
    args = ("window", "impact", "--start", "2026-02-21 08:00", "--end", "2026-02-21 20:00")
    text = cli.ok(*args)
    assert "Impact of 2026-02-21 08:00 -05:00 → 2026-02-21 20:00 -05:00 on all nodes (2 node(s)):" in text
    rows = [line.split() for line in text.splitlines() if line.startswith("#")]
    # n1: 08:00-20:00 minus the 06:00-12:00 window already there = 8 h at $8; n2 (pending):
    # 16:00-20:00 minus the credited outage 18:00-19:00 = 3 h.
    assert [(r[1], r[2], r[3], r[4], r[-2], r[-1]) for r in rows] == [
        ("n1", "Genomics", "alice", "approved", "8.00", "64.00"),
        ("n2", "Genomics", "alice", "pending", "3.00", "24.00"),
    ]
    assert "Total: 2 reservation(s) affected: 11.00 h, 88.00 USD not billed" in text
    assert "(1 pending reservation(s) priced as if approved)" in text
    assert "! overlaps window #1 'Cooling'" in text and "! overlaps outage #1 'PSU' (resolved)" in text

    doc = cli.json(*args, "--node", "n1")
    assert doc["scope"] == "n1" and doc["currency"] == "USD"
    assert doc["totals"] == {"reservations": 1, "hours": "8.00", "not_billed": "64.00"}
    (line,) = doc["reservations"]
    assert (line["node"], line["project"], line["owner"], line["status"]) == (
        "n1",
        "Genomics",
        "alice",
        "approved",
    )
    assert line["start"] == "2026-02-20T16:00:00-05:00" and line["months"] == ["2026-02"]
    assert [w["title"] for w in doc["warnings"]["windows"]] == ["Cooling"]
    assert doc["warnings"]["outages"] == []  # the outage is on n2 only

    # Moving window #1 itself: its current version is neither downtime nor a conflict.
    moved = cli.json(*args, "--node", "n1", "--window", "1")
    assert moved["totals"]["hours"] == "12.00" and moved["warnings"]["windows"] == []
    line = cli.refused("window", "impact", "--start", "2026-02-21 08:00", "--end", "2026-02-21 08:00")
    assert line.startswith("nodedesk: error: end: ")


def test_add_and_edit_dry_run_show_the_full_impact_and_save_nothing(cli: Cli) -> None:
    text = cli.ok(
        "window", "add", "--title", "Kernel", "--start", "2026-02-21 14:00", "--end", "2026-02-21 22:00",
        "--node", "n1", "--dry-run",
    )  # fmt: skip
    assert text.startswith("Dry run, nothing saved: would create")
    assert "Total: 1 reservation(s) affected: 8.00 h, 64.00 USD not billed" in text
    assert "No other window or outage overlaps on these nodes." in text
    assert len(cli.json("window", "list")) == 1

    edited = cli.json("window", "edit", "1", "--end", "2026-02-21 16:00", "--dry-run")
    assert edited["dry_run"] is True
    # Cooling as proposed: 06:00-16:00 on n1 = 10 h; compared with now: 4 more hours.
    assert edited["assessment"]["totals"] == {"reservations": 1, "hours": "10.00", "not_billed": "80.00"}
    assert [i["delta_hours"] for i in edited["impact"]] == ["4.00"]
    text = cli.ok("window", "edit", "1", "--end", "2026-02-21 16:00", "--dry-run")
    assert text.startswith("Dry run, nothing saved: would update window #1")
    assert "Total: 1 reservation(s) affected: 10.00 h, 80.00 USD not billed" in text
    assert cli.json("window", "show", "1")["end"] == "2026-02-21T12:00:00-05:00"


def test_node_list_shows_status_since_and_next_change(cli: Cli) -> None:
    later = cli.at("2026-02-21 10:00")
    text = later.ok("node", "list")
    header = text.splitlines()[0].split()
    assert header[-5:] == ["STATUS", "SINCE", "DETAIL", "NEXT", "CHANGE"]
    rows = {line.split()[0]: line for line in text.splitlines()[2:]}
    assert "⚒ maintenance  2026-02-21 06:00  window #1 'Cooling'" in rows["n1"]
    assert rows["n1"].rstrip().endswith("2026-02-21 12:00 → rented by Genomics")
    assert "○ free" in rows["n2"] and rows["n2"].rstrip().endswith("2026-02-21 18:00 → outage #1")
    doc = {n["name"]: n for n in later.json("node", "list")}
    assert doc["n1"]["status"] == "maintenance" and doc["n1"]["subject"] == {"type": "window", "id": 1}
    assert doc["n1"]["since"] == "2026-02-21T06:00:00-05:00"
    assert doc["n1"]["next_change"]["state"] == "rented" and doc["n1"]["next_change"]["project"] == "Genomics"
    assert doc["n2"]["status"] == "free" and doc["n2"]["next_change"]["at"] == "2026-02-21T18:00:00-05:00"
    assert {"id", "type", "rentable"} <= set(doc["n1"])  # the inventory fields stay


def test_window_suggest_text_json_and_refusals(cli: Cli) -> None:
    args = ("window", "suggest", "--duration", "12h", "--from", "2026-02-20", "--to", "2026-02-22")
    hours = ("--between", "06:00-18:00", "--weekdays", "fri-sun")
    doc = cli.json(*args, "--node", "n1", *hours, "--count", "3")
    assert doc["scope"] == "n1" and doc["between"] == "06:00-18:00" and doc["weekdays"] == "fri,sat,sun"
    # n1 is reserved Feb 20 16:00 -> Feb 22 09:00; the range ends with Feb 22: 09:00 is free.
    first = doc["candidates"][0]
    assert first["start"] == "2026-02-22T09:00:00-05:00" and first["free"] and first["not_billed"] == "0.00"
    # Ending with Feb 21: Fri 06:00 -> 18:00 hits 2 h at $8; Sat 06:00 hits 6 h (the window
    # already covers 06:00-12:00).
    short = cli.json(*args[:-1], "2026-02-21", "--node", "n1", *hours, "--count", "3")
    best = short["candidates"][0]
    assert (best["start"], best["hours"], best["not_billed"], best["renters"]) == (
        "2026-02-20T06:00:00-05:00",
        "2.00",
        "16.00",
        1,
    )
    assert best["impact"]["totals"]["not_billed"] == "16.00"
    assert short["candidates"][1]["start"] == "2026-02-20T06:15:00-05:00"
    text = cli.ok(*args, "--node", "n2")
    assert "Least-impact starts for 12h on n2" in text and "5 best of" in text
    assert cli.refused(*args, "--weekdays", "someday").startswith("nodedesk: error: weekdays:")
    bad = ("window", "suggest", "--duration", "x", "--from", "2026-02-20", "--to", "2026-02-22")
    assert "duration" in cli.refused(*bad)
    assert "no node named 'nope'" in cli.refused(*args, "--node", "nope")


def test_reservation_move_and_window_impact_move_all(cli: Cli) -> None:
    # n1 holds an approved reservation Feb 20 16:00 -> Feb 22 09:00; n2 a pending one from
    # Feb 21 16:00. Add a free node n3 through the real command line.
    cli.ok("node", "add", "n3", "--type", "A100")
    args = ("window", "impact", "--start", "2026-02-21 08:00", "--end", "2026-02-21 20:00", "--node", "n1")
    listed = cli.json(*args)
    assert listed["moves"][0]["free_nodes"] == ["n3"] and listed["moves"][0]["planned"] == "n3"
    rid = listed["moves"][0]["reservation_id"]
    dry = cli.json("reservation", "move", str(rid), "--to-node", "n3", "--dry-run")
    assert dry["dry_run"] and dry["to_node"] == "n3" and not dry["split"]
    assert cli.json("reservation", "show", str(rid))["node"] == "n1"
    refused = cli.refused("reservation", "move", str(rid), "--to-node", "n2")
    assert refused.startswith("nodedesk: error: to_node: n2 is already booked then")
    text = cli.ok(*args, "--move-all", "--yes")
    assert "Moving renters off: 1 of 1 affected reservation(s) can move to a free node" in text
    assert f"Reservation #{rid} moved from n1 to n3" in text
    assert cli.json("reservation", "show", str(rid))["node"] == "n3"
    assert "no pending or approved reservation affected" in cli.ok(*args)
    later = cli.at("2026-02-21T13:00")  # running, and n1 free from 12:00: split at now
    moved = later.json("reservation", "move", str(rid), "--to-node", "n1")
    assert moved["split"] and moved["moved_from"] == "2026-02-21T13:00:00-05:00" and moved["continued_as"]
