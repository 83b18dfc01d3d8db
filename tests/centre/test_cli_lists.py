"""``downtime list``, ``audit show`` / ``audit list --since`` and several ids at once
(``reservation approve ID ID``, ``window delete ID ID``) through the real entry point."""

from __future__ import annotations

import csv
import io
from datetime import date
from pathlib import Path

import pytest
from nodedesk.core.identity import os_login
from nodedesk.core.runtime import Runtime
from nodedesk.core.services.downtime import outages, windows
from nodedesk.core.services.nodes import inventory
from nodedesk.core.services.rentals import projects
from nodedesk.core.services.rentals import reservations as res
from nodedesk.core.services.site import users

from tests.cli_helpers import Cli
from tests.helpers import local


@pytest.fixture
def cli(runtime: Runtime, database_url: str, tmp_path: Path) -> Cli:
    """n1, n2 (A100); three pending reservations 02-20; window #1 all nodes 02-21 06:00-08:00,
    window #2 on n2 02-25; an open outage on n1 (ETR 02-16 12:00). Clock 2026-02-15 10:00."""
    with runtime.write() as ctx:
        users.add_user(ctx, os_login(), "admin")
        inventory.add_node_type(ctx, "A100", "GPU")
        for n in ("n1", "n2", "n3"):
            inventory.add_node(ctx, n, "A100")
        projects.add_project(ctx, "=Genomics", "admin")
        for n in ("n1", "n2", "n3"):
            res.record_reservation(
                ctx, res.ReservationDraft(n, "=Genomics", date(2026, 2, 20), 2), waive_policy=True
            )
        windows.create_window(
            ctx, windows.WindowDraft("Patch", local("2026-02-21 06:00"), local("2026-02-21 08:00"))
        )
        windows.create_window(
            ctx,
            windows.WindowDraft(
                "Racks", local("2026-02-25 06:00"), local("2026-02-25 08:00"), scope=windows.Scope(("n2",))
            ),
        )
        outages.create_outage(
            ctx, outages.OutageDraft("Fan", ("n1",), local("2026-02-15 06:00"), etr=local("2026-02-16 12:00"))
        )
    return Cli(database_url, tmp_path)


def test_downtime_list(cli: Cli) -> None:
    text = cli.ok("downtime", "list")
    lines = text.splitlines()
    assert lines[0].split()[:4] == ["KIND", "ID", "TITLE", "NODES"]
    assert lines[2].startswith("⚠ outage  1   Fan") and "ETR 2026-02-16 12:00" in lines[2]
    assert "⚒ window  1   Patch  all nodes (3)" in lines[3] and lines[3].rstrip().endswith("=Genomics")
    doc = cli.json("downtime", "list", "--node", "n2", "--phase", "upcoming")
    assert [(r["kind"], r["id"], r["renters"]) for r in doc] == [
        ("window", 1, ["=Genomics"]),
        ("window", 2, []),
    ]
    cells = list(csv.reader(io.StringIO(cli.ok("downtime", "list", "--kind", "window", "--csv"))))
    assert [row[2] for row in cells] == ["TITLE", "Patch", "Racks"] and cells[1][7] == "'=Genomics"
    first = cli.run("downtime", "list", "--limit", "1")
    assert first.returncode == 0 and len(first.stdout.splitlines()) == 3
    key = first.stderr.strip().split("--after ")[1].strip("'")
    rest = cli.json("downtime", "list", "--after", key)
    assert [(r["kind"], r["id"]) for r in rest] == [("window", 1), ("window", 2)]
    assert cli.refused("downtime", "list", "--after", "nonsense").startswith(
        "nodedesk: error: after: must be a key"
    )


def test_audit_show_and_since(cli: Cli) -> None:
    later = cli.at("2026-02-15T11:00")
    later.ok("window", "edit", "2", "--title", "Rack move", "--end", "2026-02-25 09:00")
    (entry,) = later.json("audit", "list", "--since", "2026-02-15 10:30")
    assert entry["action"] == "window.updated"
    shown = later.ok("audit", "show", str(entry["seq"]))
    assert "action: window.updated" in shown
    assert shown.splitlines()[-2:] == [
        '  end: "2026-02-25T08:00:00-05:00" → "2026-02-25T09:00:00-05:00"',
        '  title: "Racks" → "Rack move"',
    ]
    doc = later.json("audit", "show", str(entry["seq"]))
    assert [c["field"] for c in doc["changes"]] == ["end", "title"] and doc["before"]["title"] == "Racks"
    assert later.refused("audit", "show", "9999") == "nodedesk: error: seq: no activity entry #9999"


def test_several_ids_at_once(cli: Cli) -> None:
    dry = cli.ok("reservation", "approve", "1", "2", "--dry-run")
    assert dry.splitlines()[0] == "Dry run, nothing saved: would approve 2 reservations:"
    assert "reservation #1 n1 =Genomics" in dry and "pending → approved" in dry
    assert cli.refused("reservation", "approve", "1", "2").endswith(
        "not confirmed; nothing changed (pass --yes to skip the question)"
    )
    line = cli.refused("reservation", "decline", "1", "2", "--yes")
    assert line == "nodedesk: error: reason: reservation #1: is required; nothing was changed"
    done = cli.json("reservation", "approve", "1", "2", "3", "--yes")
    assert [(i["id"], i["after"]) for i in done["items"]] == [
        (1, "approved"),
        (2, "approved"),
        (3, "approved"),
    ]
    cancelled = cli.ok("reservation", "cancel", "1", "2", "--yes", "--reason", "project ended")
    assert cancelled.splitlines()[1].endswith("approved → cancelled")
    assert [r["status"] for r in cli.json("reservation", "list")] == ["cancelled", "cancelled", "approved"]
    text = cli.ok("window", "delete", "1", "2", "--yes")
    assert text.startswith("Done, in one transaction: 2 windows")
    assert cli.json("window", "list") == []
    assert cli.refused("window", "delete", "7", "8", "--yes") == (
        "nodedesk: error: id: window #7: no maintenance window #7; nothing was changed"
    )
