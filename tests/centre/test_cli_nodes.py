"""``nodedesk node list|show|retire|reinstate|free|timeline`` through the real entry point."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from nodedesk.core.identity import os_login
from nodedesk.core.runtime import Runtime
from nodedesk.core.services.site import users

from tests.billing.factory import Builder
from tests.cli_helpers import Cli
from tests.helpers import local


@pytest.fixture
def cli(runtime: Runtime, database_url: str, tmp_path: Path) -> Cli:
    """n1 rented now (=cmd title project), n2 with a future and a pending booking, n3 under an
    open outage (ETR 02-16 12:00), h1 (H100) free. Clock: 2026-02-15 10:00 New York."""
    with runtime.write() as ctx:
        users.add_user(ctx, os_login(), "admin")
        b = Builder(ctx.session, ctx.now())
        b.user("alice")
        evil = b.project("=HYPERLINK(1)", "alice")
        gen = b.project("Genomics", "alice")
        n1, n2, n3 = b.node("n1"), b.node("n2"), b.node("n3")
        b.node("h1", "H100")
        b.reservation(n1, evil, "2026-02-14 16:00", "2026-02-16 09:00")
        b.reservation(n2, gen, "2026-02-20 16:00", "2026-02-21 09:00")
        b.reservation(n2, gen, "2026-02-25 16:00", "2026-02-26 09:00", status="pending")
        o = b.outage("Fan", "2026-02-15 06:00", None, nodes=(n3,))
        o.etr = local("2026-02-16 12:00")
        b.window("Firmware", "2026-02-17 08:00", "2026-02-17 12:00", nodes=(n3,))
    return Cli(database_url, tmp_path)


def test_list_filters_json_and_csv(cli: Cli) -> None:
    text = cli.ok("node", "list")
    header = text.splitlines()[0].split()
    assert header[:5] == ["NODE", "TYPE", "CATEGORY", "RENTABLE", "RENTER"]
    rows = {line.split()[0]: line for line in text.splitlines()[2:]}
    assert "alice (=HYPERLINK(1))" in rows["n1"] and "● rented" in rows["n1"]
    assert rows["n3"].rstrip().endswith("expected back 2026-02-16 12:00")
    assert [n["name"] for n in cli.json("node", "list", "--state", "free")] == ["h1", "n2"]
    assert [n["name"] for n in cli.json("node", "list", "--type", "H100")] == ["h1"]
    doc = {n["name"]: n for n in cli.json("node", "list")}
    assert doc["n1"]["renter"]["project"] == "=HYPERLINK(1)" and doc["n3"]["status"] == "outage"
    cells = list(csv.reader(io.StringIO(cli.ok("node", "list", "--csv"))))
    assert cells[0][:2] == ["NODE", "TYPE"] and len(cells) == 5
    assert "'alice (=HYPERLINK(1))" not in [c for row in cells for c in row]  # starts with "alice"
    assert cli.refused("node", "list", "--type", "B200") == "nodedesk: error: type: no node type named 'B200'"
    assert cli.run("node", "list", "--state", "busy").returncode == 2


def test_show_retire_and_reinstate(cli: Cli) -> None:
    shown = cli.ok("node", "show", "n2")
    assert "reservations from now on (2):" in shown and "Genomics" in shown
    assert cli.json("node", "show", "n2")["reservations"]["total"] == 2
    line = cli.refused("node", "retire", "n2", "--yes")
    assert line.startswith("nodedesk: error: reservations: n2 has 2 pending or approved reservation(s)")
    assert "--reservations cancel" in line
    # without a terminal and without --yes nothing is retired
    assert cli.refused("node", "retire", "n2", "--reservations", "keep").endswith(
        "not confirmed; nothing changed (pass --yes to skip the question)"
    )
    dry = cli.ok("node", "retire", "n2", "--reservations", "cancel", "--dry-run")
    assert (
        dry.startswith("Dry run, nothing saved: would retire node n2") and "cancelled reservation #2" in dry
    )
    assert cli.json("node", "show", "n2")["retired"] is False
    done = cli.json("node", "retire", "n2", "--reservations", "cancel", "--reason", "EOL", "--yes")
    assert [r["status"] for r in done["cancelled"]] == ["cancelled", "cancelled"]
    assert done["node"]["retired_at"] == "2026-02-15T10:00:00-05:00"
    assert "n2" not in [n["name"] for n in cli.json("node", "list")]
    assert [n["name"] for n in cli.json("node", "list", "--state", "retired")] == ["n2"]
    refused = cli.refused("node", "retire", "n1", "--reservations", "cancel", "--yes")
    assert refused.startswith("nodedesk: error: reservations: reservation #1 has started")
    assert cli.ok("node", "reinstate", "n2").startswith("Reinstated node n2 (A100); not rentable until")
    assert cli.refused("node", "reinstate", "n2") == "nodedesk: error: node: n2 is not retired"


def test_free_and_timeline(cli: Cli) -> None:
    text = cli.ok("node", "free", "--type", "A100", "--from", "2026-02-17", "--to", "2026-02-19", "--all")
    assert text.startswith(
        "2 of 3 rentable A100 nodes free from 2026-02-17 00:00 -05:00 to 2026-02-20 00:00 -05:00"
    )
    rows = {line.split()[0]: line for line in text.splitlines()[3:]}
    assert " free" in rows["n2"] and "maintenance (window #1 'Firmware')" in rows["n3"]
    assert " free" in rows["n1"]  # n1's booking ended 02-16 09:00
    doc = cli.json("node", "free", "--from", "2026-02-16 08:00", "--to", "2026-02-16 13:00")
    assert doc["free"] == ["h1", "n2"] and {b["node"] for b in doc["busy"]} == {"n1", "n3"}
    assert cli.refused("node", "free", "--from", "2026-02-17", "--to", "2026-02-16 08:00") == (
        "nodedesk: error: to: must be after the start (from)"
    )
    grid = cli.ok(
        "node", "timeline", "--from", "2026-02-15", "--to", "2026-02-17", "--type", "A100"
    ).splitlines()
    assert grid[0].split() == ["15", "16", "17"]
    assert grid[1].split() == ["n1", "●", "●", "○"] and grid[3].split() == ["n3", "✖", "✖", "⚒"]
    ascii_grid = cli.ok(
        "node", "timeline", "--from", "2026-02-16", "--to", "2026-02-16", "--node", "n3", "--hours", "--ascii"
    )
    assert ascii_grid.splitlines()[1] == "n3    " + "X" * 12 + "." * 12
    assert cli.json("node", "timeline", "--from", "2026-02-15", "--to", "2026-02-15")["total"] == 4
