"""``nodedesk invoice`` and ``nodedesk override`` through the real entry point (both back ends)."""

from __future__ import annotations

import csv
import io
import shutil
from pathlib import Path

import pytest
from nodedesk.core.clock import FrozenClock
from nodedesk.core.db.engine import Database
from nodedesk.core.models import MaintenanceWindow
from sqlalchemy import select

from tests.billing.factory import REFERENCE_TABLE, Builder, reference_centre
from tests.cli_helpers import Cli
from tests.helpers import DEFAULT_NOW


def _centre(database_url: str, tmp_path: Path):  # type: ignore[no-untyped-def]
    """An initialized site (the OS login is admin) holding the worked examples of help/billing-rules.md."""
    cli = Cli(database_url, tmp_path)
    cli.ok("init", "--timezone", "America/New_York")
    db = Database.from_url(database_url)
    with db.write() as session:
        b = Builder(session, FrozenClock(DEFAULT_NOW).now())
        made = reference_centre(b)
        b.user("bob", ("billing_manager",))
        injected = b.project('=HYPERLINK("http://x")', "eve")
        b.reservation(b.node("node2499"), injected, "2026-02-03 16:00", "2026-02-04 09:00")
        ids = {k: v.id for k, v in made["reservations"].items()}  # type: ignore[attr-defined]
    return cli, ids, db


@pytest.fixture
def centre(database_url: str, tmp_path: Path):  # type: ignore[no-untyped-def]
    """On both back ends (the JSON contract test)."""
    cli, ids, db = _centre(database_url, tmp_path)
    yield cli, ids, db
    db.dispose()


@pytest.fixture
def sqlite_centre(sqlite_template: Path, tmp_path: Path):  # type: ignore[no-untyped-def]
    """SQLite only: the command line code is the same on both back ends, and the services
    under it are tested on both; subprocesses are slow, so these run once."""
    path = tmp_path / "cli.db"
    shutil.copy(sqlite_template, path)
    cli, ids, db = _centre(f"sqlite:///{path}", tmp_path)
    yield cli, ids, db
    db.dispose()


def test_invoice_show_json_gives_the_reference_numbers(centre) -> None:  # type: ignore[no-untyped-def]
    cli, ids, _db = centre
    feb = cli.json("invoice", "show", "2026-02")
    lines = {line["reservation_id"]: line for p in feb["projects"] for line in p["lines"]}
    for (row, period), expected in REFERENCE_TABLE.items():
        if period == "2026-02":
            line = lines[ids[row]]
            assert (
                line["gross_hours"],
                line["downtime_hours"],
                line["net_hours"],
                line["amount"],
            ) == expected
    line = lines[ids[2]]
    assert line["split"] == [
        {"cost_object": "GRANT-A", "hours": "17.40", "amount": "139.20"},
        {"cost_object": "GRANT-B", "hours": "11.60", "amount": "92.80"},
    ]
    assert line["start"] == "2026-02-14T16:00:00-05:00" and line["sku"] == "NODE_A100"
    assert line["downtime"][0]["source"] == "maintenance" and line["downtime"][0]["hours"] == "12.00"
    assert (feb["period"], feb["status"], feb["timezone"], feb["currency"]) == (
        "2026-02",
        "draft",
        "America/New_York",
        "USD",
    )
    assert feb["totals"]["amount"] == "1904.00" and [p["project"] for p in feb["projects"]] == [
        '=HYPERLINK("http://x")',
        "Genomics",
    ]

    table = cli.ok("invoice", "show", "2026-02", "--project", "Genomics")
    assert "232.00" in table and "−12.00 h maintenance" in table and "'Firmware'" in table
    assert "project total: gross 310.00 h, downtime 89.00 h, net 221.00 h, amount 1768.00 USD" in table

    rows = list(csv.DictReader(io.StringIO(cli.ok("invoice", "show", "2026-02", "--csv"))))
    mine = [r for r in rows if r["reservation_id"] == str(ids[2])]
    assert [(r["cost_object"], r["cost_object_amount"], r["line_amount"]) for r in mine] == [
        ("GRANT-A", "139.20", "232.00"),
        ("GRANT-B", "92.80", "232.00"),
    ]
    assert {r["project"] for r in rows} == {"Genomics", '\'=HYPERLINK("http://x")'}  # formula defused

    [jan, feb_row] = cli.json("invoice", "months")
    assert (jan["period"], jan["amount"], feb_row["amount"], feb_row["status"]) == (
        "2026-01",
        "64.00",
        "1904.00",
        "draft",
    )


def test_overrides_from_the_command_line(sqlite_centre) -> None:  # type: ignore[no-untyped-def]
    cli, ids, _db = sqlite_centre
    rid = str(ids[2])
    bob = Cli.__new__(Cli)
    bob.env = {**cli.env, "NODEDESK_USER": "bob"}
    out = bob.ok("override", "set", "2026-02", rid, "--split", "X=75", "Y=25", "--reason", "PI asked")
    assert "split X=75.00%, Y=25.00%" in out
    [listed] = cli.json("override", "list", "2026-02")
    assert (listed["kind"], listed["value"], listed["by"]) == ("split", {"X": "75.00", "Y": "25.00"}, "bob")
    assert "sum to exactly 100" in cli.refused(
        "override", "set", "2026-02", rid, "--split", "X=75", "--reason", "x"
    )
    assert (
        cli.run("override", "set", "2026-02", rid, "--exclude", "--hours", "3", "--reason", "x").returncode
        == 2
    )
    assert "was split" in cli.ok("override", "clear", "2026-02", rid, "--reason", "undo")
    assert cli.json("override", "list", "2026-02") == []


def test_finalize_correct_verify_unfinalize_refinalize(sqlite_centre) -> None:  # type: ignore[no-untyped-def]
    cli, ids, db = sqlite_centre
    assert "not over yet" in cli.refused("invoice", "finalize", "2026-02")
    later = cli.at("2026-03-02T09:00")
    out = later.ok("invoice", "finalize", "2026-02")
    assert "Finalized 2026-02" in out and "amount 1904.00 USD" in out
    assert "finalized" in later.refused(
        "override", "set", "2026-02", str(ids[2]), "--exclude", "--reason", "too late"
    )

    with db.read() as session:
        firmware = session.scalar(select(MaintenanceWindow.id).where(MaintenanceWindow.title == "Firmware"))
    later.ok(
        "window", "edit", str(firmware), "--end", "2026-02-15 14:00", "--correct", "--reason", "ended early"
    )
    result = later.run("invoice", "verify", "2026-02")
    assert result.returncode == 1
    assert f"reservation #{ids[2]}" in result.stdout and "amount 232.00 → 280.00" in result.stdout

    assert later.run("invoice", "unfinalize", "2026-02").returncode == 2  # --reason is required
    later.ok("invoice", "unfinalize", "2026-02", "--reason", "firmware window corrected")
    later.ok("invoice", "finalize", "2026-02")
    verified = later.run("invoice", "verify", "2026-02", "--json")
    assert verified.returncode == 0 and '"drifted": false' in verified.stdout
    months = later.json("invoice", "months")
    assert [(m["period"], m["status"], m["amount"]) for m in months] == [
        ("2026-01", "draft", "64.00"),
        ("2026-02", "finalized", "1952.00"),
    ]
