"""A few CLI paths against PostgreSQL (a fresh schema per test, initialized via the CLI)."""

from __future__ import annotations

import pytest

from tests.cli.conftest import SiteCli
from tests.cli.test_cli_windows import add, assert_window_json, refused

pytestmark = pytest.mark.postgres


def test_windows_on_postgres(pg_cli_site: SiteCli) -> None:
    site = pg_cli_site
    assert "up to date" in site.ok("db", "status")
    created = add(site, "Firmware", "2026-02-20 08:00", "2026-02-20 20:00")
    assert_window_json(created)
    assert created["start"] == "2026-02-20T08:00:00-05:00"
    before = site.state()
    refused(site, "window", "add", "--title", "T", "--start", "2026-03-08 02:30", "--end", "2026-03-08 04:00",
            field="start")  # fmt: skip
    refused(site, "window", "edit", str(created["id"]), "--end", "2026-02-20 07:00", field="end")
    assert site.state() == before
    site.ok("window", "delete", str(created["id"]), "--yes")
    assert site.json("window", "list") == []


def test_audit_verify_on_postgres(pg_cli_site: SiteCli) -> None:
    site = pg_cli_site
    site.ok("user", "add", "rita", "--role", "viewer")
    report = site.json("audit", "verify")
    assert (report["ok"], report["checked"], report["problems"], report["first_bad"]) == (True, 3, [], None)
    site.sql("UPDATE activity_log SET reason = 'forged' WHERE seq = 2")
    result = site.run("audit", "verify")
    assert result.returncode == 1 and "entry #2" in result.stdout
