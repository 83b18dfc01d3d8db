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
        "before", "after", "reason", "clock_frozen",
    }  # fmt: skip
    assert ISO.match(newest["time"]) and newest["time"] == "2026-02-15T10:00:00-05:00"
    assert newest["clock_frozen"] is True  # NODEDESK_NOW was set
    assert newest["after"]["name"] == "A100" and newest["before"] is None
    assert [e["seq"] for e in cli_site.json("audit", "list", "--action", "site.initialized")] == [1]
    assert [e["seq"] for e in cli_site.json("audit", "list", "--limit", "1")] == [3]


def test_audit_verify_detects_tampering_with_the_file(cli_site: SiteCli) -> None:
    cli_site.ok("node-type", "add", "A100", "--category", "GPU")
    cli_site.ok("node", "add", "n1", "--type", "A100")
    assert cli_site.ok("audit", "verify") == "audit chain OK: 4 entries verified\n"
    assert cli_site.json("audit", "verify") == {"ok": True, "checked": 4, "problems": []}
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
    assert report["ok"] is False and report["checked"] == 3
    assert any("#2" in p and "missing" in p for p in report["problems"])
