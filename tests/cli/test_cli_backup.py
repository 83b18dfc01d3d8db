"""``nodedesk export / check-import / import`` through the real entry point, as a new user would."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from tests.cli.conftest import SiteCli


def _one_export(directory: Path) -> Path:
    (found,) = directory.glob("nodedesk-export-*")
    return found


def test_export_tamper_dry_run_then_restore(cli_site: SiteCli, tmp_path: Path) -> None:
    cli_site.ok(
        "window", "add", "--title", "Firmware", "--start", "2026-03-03 06:00", "--end", "2026-03-03 18:00"
    )
    out = cli_site.ok("export", str(tmp_path / "backups"), "--source-name", "hpc1")
    export = _one_export(tmp_path / "backups")
    assert f"to {export}" in out and "root SHA-256:" in out
    manifest = json.loads((export / "manifest.json").read_text())
    assert manifest["format"] == "nodedesk-export" and manifest["source"]["name"] == "hpc1"

    # A new server: an empty SQLite file, nothing initialized.
    home = tmp_path / "new-home"
    new = SiteCli(f"sqlite:///{tmp_path / 'new' / 'nodedesk.db'}", home)
    report = new.ok("check-import", str(export))
    assert "Status: COMPATIBLE" in report and "empty: a full restore" in report
    assert new.json("check-import", str(export))["status"] == "COMPATIBLE"
    assert not (tmp_path / "new").exists()  # only a look: no database file is left behind

    # One changed byte: refused, naming the file, one line on stderr.
    tampered = tmp_path / "tampered"
    shutil.copytree(export, tampered)
    path = tampered / "maintenance_windows.json"
    path.write_text(path.read_text().replace("Firmware", "Firmwarf"))
    line = new.refused("import", str(tampered))
    assert "maintenance_windows.json: SHA-256 does not match the manifest" in line

    dry = new.ok("import", str(export), "--dry-run")
    assert "Dry run" in dry and "nothing was written" in dry
    assert new.sql("SELECT count(*) FROM users")[0][0] == 0

    real = new.ok("import", str(export))
    assert "Committed in one transaction; activity log entry #" in real
    assert "audit chain OK" in new.ok("audit", "verify")
    assert new.json("window", "list") == cli_site.json("window", "list")
    assert "Nothing to change" in new.ok("import", str(export))


def test_refusals(cli_site: SiteCli, tmp_path: Path) -> None:
    cli_site.ok("user", "add", "vic", "--role", "viewer")
    line = cli_site.refused("export", str(tmp_path), "--models", "gadgets")
    assert "models: unknown kind 'gadgets'" in line
    result = cli_site.run("export", str(tmp_path), env={"NODEDESK_USER": "vic"})
    assert result.returncode == 1 and "may not export or import backups" in result.stderr
    assert "manifest.json: missing" in cli_site.refused("import", str(tmp_path))
