"""``nodedesk init``, ``db status|upgrade``, ``help`` and exit-code conventions, through the
real console script."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from tests.cli.conftest import NODEDESK, SITE_TZ, SiteCli, init_site


def test_init_creates_database_at_xdg_path_and_makes_os_user_admin(tmp_path: Path) -> None:
    """No NODEDESK_DATABASE_URL: the database goes to $XDG_DATA_HOME/nodedesk/nodedesk.db."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("NODEDESK_")}
    env |= {"XDG_DATA_HOME": str(tmp_path), "NODEDESK_NOW": "2026-02-15 10:00"}

    def nd(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(NODEDESK), *args],
            env=env,
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
            timeout=120,
        )

    result = nd("db", "status")
    assert result.returncode == 1
    assert "nodedesk init" in result.stderr.splitlines()[-1]
    result = nd("init", "--timezone", SITE_TZ, "--currency", "eur")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "nodedesk" / "nodedesk.db").is_file()
    assert "America/New_York" in result.stdout and "EUR" in result.stdout
    site = SiteCli(f"sqlite:///{tmp_path / 'nodedesk' / 'nodedesk.db'}", tmp_path)
    users = site.json("user", "list")
    assert [(u["username"], u["roles"]) for u in users] == [(site.admin, ["admin"])]
    assert site.sql("SELECT value FROM settings WHERE key = 'currency'") == [("EUR",)]
    assert site.sql("PRAGMA journal_mode") == [("wal",)]


def test_second_init_refused_without_force(cli_site: SiteCli) -> None:
    cli_site.ok("node-type", "add", "A100", "--category", "GPU")
    line = cli_site.refused("init", "--timezone", SITE_TZ)
    assert line.startswith("nodedesk: error: init:")
    assert "--force" in line
    assert [t["name"] for t in cli_site.json("node-type", "list")] == ["A100"]
    # --force without a terminal needs --yes; then it wipes and starts again
    line = cli_site.refused("init", "--timezone", "Europe/Berlin", "--force")
    assert line.startswith("nodedesk: error: init:") and "--yes" in line
    assert [t["name"] for t in cli_site.json("node-type", "list")] == ["A100"]
    result = cli_site.run("init", "--timezone", "Europe/Berlin", "--force", "--yes")
    assert result.returncode == 0, result.stderr
    assert cli_site.json("node-type", "list") == []
    assert cli_site.sql("SELECT value FROM settings WHERE key = 'site_timezone'") == [("Europe/Berlin",)]
    actions = [e["action"] for e in cli_site.json("audit", "list")]
    assert actions == ["user.created", "site.initialized"]  # a fresh log


def test_init_refuses_bad_options(tmp_path: Path) -> None:
    site = SiteCli(f"sqlite:///{tmp_path / 'nd.db'}", tmp_path)
    line = site.refused("init", "--timezone", "Mars/Olympus")
    assert "timezone" in line
    line = site.refused("init", "--timezone", SITE_TZ, "--currency", "DOLLARS")
    assert "currency" in line
    assert site.run("db", "status").returncode == 1  # nothing was created


def test_init_demo_loads_data(tmp_path: Path) -> None:
    site = SiteCli(f"sqlite:///{tmp_path / 'nd.db'}", tmp_path)
    result = init_site(site, "--demo")
    assert "demo data" in result.stdout
    windows = site.json("window", "list")
    assert len(windows) >= 5
    statuses = {w["status"] for w in windows}
    assert statuses == {"completed", "in_progress", "upcoming"}
    assert any(not w["scope"]["all_nodes"] for w in windows)
    assert len(site.json("node", "list")) >= 4
    assert len(site.json("user", "list")) >= 2
    assert site.ok("audit", "verify").startswith("audit chain OK")


def test_db_status_and_upgrade(cli_site: SiteCli) -> None:
    status = cli_site.ok("db", "status")
    assert "up to date" in status
    assert "already current" in cli_site.ok("db", "upgrade")
    # a schema from a newer nodedesk is refused by everything, with what to do
    cli_site.sql("UPDATE alembic_version SET version_num = '9999future'")
    result = cli_site.run("db", "status")
    assert result.returncode == 1
    assert "9999future" in result.stderr
    assert "newer" in cli_site.refused("db", "upgrade")
    assert "newer" in cli_site.refused("window", "list")


def test_commands_before_init_say_how_to_start(tmp_path: Path) -> None:
    site = SiteCli(f"sqlite:///{tmp_path / 'nd.db'}", tmp_path)
    line = site.refused("window", "list")
    assert "nodedesk init" in line
    assert site.refused("db", "upgrade").endswith("run 'nodedesk init' first")


def test_help(cli_site: SiteCli) -> None:
    listing = cli_site.ok("help")
    assert "overview" in listing
    overview = cli_site.ok("help", "overview")
    assert overview.startswith("# ")
    line = cli_site.refused("help", "no-such-topic")
    assert line.startswith("nodedesk: error: topic:") and "overview" in line
    assert cli_site.run("help", "../../etc/passwd").returncode == 1


def test_usage_errors_exit_2(cli_site: SiteCli) -> None:
    for args in (
        ("bogus",),
        ("window", "add", "--title", "x", "--start", "2026-02-20 08:00"),  # --end missing
        ("window", "show", "abc"),
        ("window", "list", "--status", "later"),
    ):
        result = cli_site.run(*args)
        assert result.returncode == 2, (args, result.stderr)
        assert result.stdout == ""
        assert "error:" in result.stderr


def test_version(cli_site: SiteCli) -> None:
    assert cli_site.ok("--version").startswith("nodedesk ")
