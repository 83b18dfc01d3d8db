"""``nodedesk doctor``: admins only, one line per check, exit 1 when something needs fixing."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from nodedesk.core.services.site import doctor

from tests.cli.conftest import NODEDESK
from tests.trust.hostusers import (  # noqa: F401 (fixtures)
    SITE_TZ,
    HostSite,
    host_fixture,
    host_site_fixture,
)


def _lines(result: subprocess.CompletedProcess[str]) -> dict[str, list[str]]:
    """Report lines by check name: {"database file": ["FIX ..."], ...}."""
    found: dict[str, list[str]] = {}
    for line in result.stdout.splitlines():
        name = line[4:].split(":", 1)[0]
        found.setdefault(name, []).append(line)
    return found


def test_doctor_is_for_admins_and_passes_a_good_deployment(host_site: HostSite) -> None:
    h = host_site.host
    for short in ("rm", "bm", "vw"):
        result = host_site.sudo(short, "doctor")
        assert result.returncode == 1 and result.stdout == ""
        assert result.stderr.splitlines() == [
            f"nodedesk: error: doctor: {h.login(short)} may not run doctor (needs role admin)"
        ]
    result = host_site.sudo("adm", "doctor")
    lines = _lines(result)
    assert result.returncode == 0, result.stdout + result.stderr
    assert lines["service account"] == [
        f"OK  service account: running as {h.svc}, started by sudo for {h.login('adm')}"
    ]
    assert lines["schema"][0].startswith("OK  schema: revision ")
    assert lines["audit anchor"][0].startswith("OK  audit anchor: matches the newest entry")
    assert lines["sudoers rule"][0].startswith("--  sudoers rule: ")  # root-only files
    if host_site.backend == "sqlite":
        assert lines["database file"] == [f"OK  database file: {host_site.db_path} mode 0600, owner {h.svc}"]
        assert lines["who can read the database"] == [
            f"OK  who can read the database: {h.svc} only (and root)"
        ]
    else:
        assert lines["database-url file"][0].startswith("OK  database-url file: ")
        assert lines["PostgreSQL lock_timeout"][0].startswith("OK  ")
        assert lines["PostgreSQL statement_timeout"][0].startswith("OK  ")
    doc = json.loads(host_site.ok("adm", "doctor", "--json"))
    assert {c["status"] for c in doc} <= {"ok", "skipped"}


@pytest.fixture
def open_site() -> Iterator[tuple[Path, dict[str, str]]]:
    """A root-owned SQLite site under a directory every user can walk to."""
    top = Path(tempfile.mkdtemp(prefix="nd-doctor-", dir="/tmp"))
    os.chmod(top, 0o755)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NODEDESK_", "SUDO_"))}
    env.update(
        NODEDESK_DATABASE_URL=f"sqlite:///{top / 'data' / 'nodedesk.db'}", XDG_DATA_HOME=str(top / "xdg")
    )
    try:
        result = _doctor_run(env, "init", "--timezone", SITE_TZ)
        assert result.returncode == 0, result.stderr
        yield top, env
    finally:
        shutil.rmtree(top, ignore_errors=True)


def _doctor_run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(NODEDESK), *args], env=env, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL
    )


def test_doctor_names_what_to_fix(open_site: tuple[Path, dict[str, str]]) -> None:
    top, env = open_site
    db = top / "data" / "nodedesk.db"
    key = top / "xdg" / "nodedesk" / "audit.key"
    result = _doctor_run(env, "doctor")
    lines = _lines(result)
    assert result.returncode == 1  # the data belongs to root: not a shared-host deployment
    assert lines["service account"][0].startswith("FIX service account: the data belongs to root")
    assert lines["database file"] == [f"OK  database file: {db} mode 0600, owner root"]
    # open the database and the key to everyone, move the anchor, and mail in clear text
    os.chmod(db.parent, 0o755)
    os.chmod(db, 0o644)
    os.chmod(key, 0o644)
    anchor = key.with_name("audit.anchor")
    doc = json.loads(anchor.read_text())
    anchor.write_text(json.dumps({**doc, "seq": doc["seq"] + 5}))
    smtp = {
        "NODEDESK_SMTP_HOST": "mail.example.org",
        "NODEDESK_SMTP_SECURITY": "none",
        "NODEDESK_SMTP_USER": "nd",
        "NODEDESK_SMTP_PASSWORD": "secret",
        "NODEDESK_SMTP_FROM": "nd@example.org",
    }
    result = _doctor_run({**env, **smtp}, "doctor")
    lines = _lines(result)
    assert result.returncode == 1
    assert lines["database directory"] == [
        f"FIX database directory: {db.parent} is mode 0755; run 'chmod 700 {db.parent}'"
    ]
    # (SQLite gives its -wal and -shm files the database's mode: they are named too)
    assert lines["database file"][0] == f"FIX database file: {db} is mode 0644; run 'chmod 600 {db}'"
    assert lines["who can read the database"][0].startswith("FIX who can read the database: every account")
    assert lines["audit key file"] == [f"FIX audit key file: {key} is mode 0644; run 'chmod 600 {key}'"]
    assert "the anchor names entry" in lines["audit anchor"][0] and lines["audit anchor"][0].startswith("FIX")
    assert lines["SMTP security"][0].startswith("FIX SMTP security: NODEDESK_SMTP_")
    assert all(line.startswith(("OK  ", "FIX ", "--  ")) for line in result.stdout.splitlines())
    # every line says what to do; nothing is an internal error
    assert "could not be checked" not in result.stdout
    fixes = result.stdout.count("\nFIX ") + result.stdout.startswith("FIX ")
    assert result.stderr.splitlines() == [
        f"nodedesk: error: doctor: {fixes} check(s) need fixing (the FIX lines)"
    ]


def test_doctor_reports_an_old_schema(open_site: tuple[Path, dict[str, str]]) -> None:
    import sqlite3

    top, env = open_site
    conn = sqlite3.connect(top / "data" / "nodedesk.db")
    with conn:
        conn.execute("UPDATE alembic_version SET version_num = '0003'")
    conn.close()
    lines = _lines(_doctor_run(env, "doctor"))
    assert lines["schema"][0].startswith("FIX schema: revision 0003 is not ")
    assert lines["schema"][0].endswith("run 'nodedesk db upgrade'")


def test_sudoers_rules_are_read_when_readable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    main = tmp_path / "sudoers"
    drop = tmp_path / "sudoers.d"
    drop.mkdir()
    main.write_text("root ALL=(ALL:ALL) ALL\n")
    monkeypatch.setattr(doctor, "SUDOERS", (main, drop))
    rt = None  # the rule checks do not use the runtime
    (check,) = doctor.sudoers_checks(rt, "ndsvc")  # type: ignore[arg-type]
    assert check.status == doctor.PROBLEM and "no rule lets people run nodedesk as ndsvc" in check.detail
    (drop / "nodedesk").write_text(
        'Defaults:%ndadmins env_keep += "NODEDESK_USER NODEDESK_NOW TERM"\n'
        "%ndadmins ALL=(ndsvc) NOPASSWD: /usr/local/bin/nodedesk\n"
    )
    (check,) = doctor.sudoers_checks(rt, "ndsvc")  # type: ignore[arg-type]
    assert check.status == doctor.OK
    (drop / "nodedesk").write_text(
        'Defaults:%ndadmins env_keep += "NODEDESK_DATABASE_URL"\n%ndadmins ALL=(ndsvc) NOPASSWD: ALL\n'
    )
    rule, keep = doctor.sudoers_checks(rt, "ndsvc")  # type: ignore[arg-type]
    assert rule.status == doctor.PROBLEM and "any command" in rule.detail
    assert keep.status == doctor.PROBLEM and "NODEDESK_DATABASE_URL" in keep.detail
