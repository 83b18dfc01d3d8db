"""``nodedesk audit list|verify`` through the CLI, including tampering with the SQLite file."""

from __future__ import annotations

import sqlite3

from tests.cli.conftest import SiteCli
from tests.cli.test_cli_windows import ISO


def test_audit_list_json(cli_site: SiteCli) -> None:
    cli_site.ok("node-type", "add", "A100", "--category", "GPU")
    entries = cli_site.json("audit", "list")
    assert [e["action"] for e in entries] == ["node_type.created", "user.created", "site.initialized"]
    newest = entries[0]
    assert set(newest) == {
        "seq", "time", "actor", "real_user", "action", "target_type", "target_id", "target_label",
        "before", "after", "reason", "clock_frozen", "recorded_at", "target_uuid", "via",
    }  # fmt: skip
    assert newest["via"] == ""  # made at the console (an API request says "API token NAME")
    assert ISO.match(newest["time"]) and newest["time"] == "2026-02-15T10:00:00-05:00"
    assert newest["clock_frozen"] is True  # NODEDESK_NOW was set
    assert newest["after"]["name"] == "A100" and newest["before"] is None
    assert [e["seq"] for e in cli_site.json("audit", "list", "--action", "site.initialized")] == [1]
    assert [e["seq"] for e in cli_site.json("audit", "list", "--limit", "1")] == [3]


def test_audit_verify_detects_tampering_with_the_file(cli_site: SiteCli) -> None:
    cli_site.ok("node-type", "add", "A100", "--category", "GPU")
    cli_site.ok("node", "add", "n1", "--type", "A100")
    assert cli_site.ok("audit", "verify") == "audit chain OK: 4 entries verified\n"
    assert cli_site.json("audit", "verify") == {
        "ok": True,
        "checked": 4,
        "problems": [],
        "first_bad": None,
        "notes": [],
    }
    db = cli_site.database_url.removeprefix("sqlite:///")
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE activity_log SET actor = 'mallory' WHERE seq = 3")
    conn.close()
    result = cli_site.run("audit", "verify")
    assert result.returncode == 1
    assert "BROKEN" in result.stdout and "entry #3" in result.stdout
    with sqlite3.connect(db) as conn:
        conn.execute("DELETE FROM activity_log WHERE seq = 2")
    conn.close()
    result = cli_site.run("audit", "verify", "--json")
    assert result.returncode == 1
    report = __import__("json").loads(result.stdout)
    assert report["ok"] is False and report["checked"] == 3 and report["first_bad"] == 2
    assert any("#2" in p and "missing" in p for p in report["problems"])


def test_audit_list_shows_the_real_time_beside_a_frozen_one(cli_site: SiteCli) -> None:
    cli_site.ok("node-type", "add", "A100", "--category", "GPU")
    newest = cli_site.json("audit", "list", "--limit", "1")[0]
    assert newest["time"] == "2026-02-15T10:00:00-05:00"  # NODEDESK_NOW
    assert newest["recorded_at"] and not newest["recorded_at"].startswith("2026-02-15T10:00")
    line = cli_site.ok("audit", "list", "--limit", "1").splitlines()[-1]
    assert "2026-02-15 10:00 (written " in line


def test_audit_list_by_target_uuid(cli_site: SiteCli) -> None:
    cli_site.ok("node-type", "add", "A100", "--category", "GPU")
    uuid = cli_site.sql("SELECT uuid FROM node_types")[0][0]
    found = cli_site.json("audit", "list", "--target", f"node_type:{uuid}")
    assert [(e["action"], e["target_uuid"]) for e in found] == [("node_type.created", uuid)]


def test_truncated_log_and_missing_key_through_the_cli(cli_site: SiteCli) -> None:
    cli_site.ok("node-type", "add", "A100", "--category", "GPU")
    cli_site.sql("DELETE FROM activity_log WHERE seq = 3")
    result = cli_site.run("audit", "verify")
    assert result.returncode == 1
    assert "first bad entry #3" in result.stdout and "truncated" in result.stdout
    (cli_site.home / "nodedesk" / "audit.key").unlink()
    line = cli_site.refused("node-type", "add", "H100", "--category", "GPU")
    assert "audit.key" in line and "restore" in line
