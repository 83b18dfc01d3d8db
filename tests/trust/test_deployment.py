"""The shared-host deployment (README "Deploying on a shared host", help/security.md), with real
Unix users and real sudo: private storage, who may wipe or upgrade a site, who may move the
clock, and the one-line refusals for a missing or unusable database.
"""

from __future__ import annotations

import os
import pwd
import shutil
import stat
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli.conftest import NODEDESK
from tests.trust.hostusers import (  # noqa: F401 (fixtures)
    SITE_TZ,
    HostSite,
    host_fixture,
    host_site_fixture,
)

WINDOW = ["window", "add", "--title", "T", "--start", "2026-01-05 08:00", "--end", "2026-01-05 10:00"]


def _one_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 1, (result.returncode, result.stdout, result.stderr)
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _root_cli(url: str, home: Path, *args: str, umask: int | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NODEDESK_", "SUDO_"))}
    env.update(NODEDESK_DATABASE_URL=url, XDG_DATA_HOME=str(home))
    return subprocess.run(
        [str(NODEDESK), *args],
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
        umask=-1 if umask is None else umask,
    )


# --- private storage ------------------------------------------------------------------------------


def test_the_site_is_private_to_the_service_account(host_site: HostSite) -> None:
    """Only the service account can open the database; every user works through sudo."""
    h = host_site.host
    if host_site.backend == "sqlite":
        db = host_site.db_path
        assert (_mode(db), _mode(db.parent)) == (0o600, 0o700)
        assert db.stat().st_uid == db.parent.stat().st_uid == pwd.getpwnam(h.svc).pw_uid
        target = str(db)
    else:
        assert _mode(host_site.url_file) == 0o600
        target = str(host_site.url_file)
    # a viewer cannot read the file (so cannot edit it with sqlite3 or read the password) ...
    peek = subprocess.run(["cat", target], user=h.uid("vw"), capture_output=True, text=True, timeout=30)
    assert peek.returncode != 0 and "Permission denied" in peek.stderr
    # ... and needs no access to it: through sudo they read
    assert h.login("vw") in host_site.ok("vw", "user", "list")


def test_files_are_private_whatever_the_umask(tmp_path: Path) -> None:
    home = tmp_path / "open"
    home.mkdir(mode=0o755)
    os.chmod(home, 0o755)
    db = home / "a" / "b" / "nodedesk.db"
    result = _root_cli(f"sqlite:///{db}", home, "init", "--timezone", SITE_TZ, umask=0)
    assert result.returncode == 0, result.stderr
    assert _mode(db) == 0o600
    assert _mode(db.parent) == _mode(db.parent.parent) == 0o700


@pytest.fixture
def open_dir() -> Iterator[Path]:
    """A directory every user can walk to (pytest's own temporary directories are private)."""
    path = Path(tempfile.mkdtemp(prefix="nd-open-", dir="/tmp"))
    os.chmod(path, 0o755)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def test_a_database_others_can_open_is_refused_with_the_fix(open_dir: Path) -> None:
    tmp_path = open_dir
    home = tmp_path / "site"
    home.mkdir()
    db = home / "data" / "nodedesk.db"
    url = f"sqlite:///{db}"
    assert _root_cli(url, home, "init", "--timezone", SITE_TZ).returncode == 0
    # a world-readable file in a world-readable directory, on a path others can walk
    for path in (tmp_path, home):
        os.chmod(path, 0o755)
    os.chmod(db.parent, 0o755)
    os.chmod(db, 0o644)
    line = _one_line(_root_cli(url, home, "window", "list"))
    assert line == (
        f"nodedesk: error: database: directory {db.parent} is open to other users (mode 0755); "
        f"run 'chmod 700 {db.parent}'"
    )
    os.chmod(db.parent, 0o711)  # others may pass, not list: the file's own mode matters
    line = _one_line(_root_cli(url, home, "window", "list"))
    assert line.endswith(f"file {db} is open to other users (mode 0644); run 'chmod 600 {db}'")
    # db status reports instead of refusing
    status = _root_cli(url, home, "db", "status")
    assert status.returncode == 0 and "up to date" in status.stdout
    assert f"nodedesk: warning: database: file {db} is open to other users" in status.stderr
    os.chmod(db, 0o600)
    assert _root_cli(url, home, "window", "list").returncode == 0


def test_the_url_file_must_be_private(host_site: HostSite) -> None:
    if host_site.backend != "postgresql":
        return
    os.chmod(host_site.url_file, 0o644)
    line = _one_line(host_site.sudo("adm", "window", "list"))
    assert f"run 'chmod 600 {host_site.url_file}'" in line
    os.chmod(host_site.url_file, 0o600)
    host_site.ok("adm", "window", "list")


def test_a_refused_command_creates_no_file(tmp_path: Path) -> None:
    db = tmp_path / "never" / "nodedesk.db"
    line = _one_line(_root_cli(f"sqlite:///{db}", tmp_path, "window", "list"))
    assert line == f"nodedesk: error: no nodedesk database at {db}; run 'nodedesk init' first"
    assert not db.parent.exists()
    line = _one_line(_root_cli(f"sqlite:///{db}", tmp_path, "init", "--timezone", "Mars/Base"))
    assert "timezone" in line and not db.exists()


def test_an_unusable_database_url_is_one_line(tmp_path: Path) -> None:
    for url, rule in (
        ("mysql://x", "mysql databases are not supported"),
        ("foo", "not a database URL"),
        ("sqlite://", "a SQLite URL needs a file path"),
    ):
        line = _one_line(_root_cli(url, tmp_path, "window", "list"))
        assert line.startswith(f"nodedesk: error: NODEDESK_DATABASE_URL: {rule}; use sqlite:///PATH")


# --- init --force and db upgrade ------------------------------------------------------------------


def test_only_an_admin_of_the_site_may_wipe_it(host_site: HostSite) -> None:
    h = host_site.host
    host_site.ok("rm", *WINDOW[:4], "--start", "2027-01-05 08:00", "--end", "2027-01-05 10:00")
    before = host_site.digest()
    wipe = ["init", "--force", "--yes", "--timezone", SITE_TZ]
    line = _one_line(host_site.sudo("rm", *wipe))
    assert line == f"nodedesk: error: init: {h.login('rm')} may not wipe this site (needs role admin)"
    line = _one_line(host_site.sudo("ghost", *wipe))
    assert f"user '{h.login('ghost')}' is not registered" in line
    line = _one_line(host_site.sudo("adm", *wipe, env={"NODEDESK_USER": h.login("vw")}))
    assert f"{h.login('vw')} may not wipe this site" in line
    # the admin must confirm: without a terminal that is --yes
    line = _one_line(host_site.sudo("adm", "init", "--force", "--timezone", SITE_TZ))
    assert "confirm with --yes" in line
    assert host_site.digest() == before
    # the admin can
    result = host_site.sudo("adm", *wipe)
    assert result.returncode == 0, result.stderr
    assert f"{h.login('adm')} is an admin" in result.stdout
    users = host_site.sql("SELECT username FROM users")
    assert users == [(h.login("adm"),)]
    assert host_site.sql("SELECT count(*) FROM maintenance_windows") == [(0,)]


def test_only_an_admin_may_upgrade_the_schema(host_site: HostSite) -> None:
    h = host_site.host
    for short in ("rm", "bm", "vw"):
        line = _one_line(host_site.sudo(short, "db", "upgrade"))
        assert line == (
            f"nodedesk: error: db upgrade: {h.login(short)} may not upgrade the schema (needs role admin)"
        )
    assert "is already current" in host_site.ok("adm", "db", "upgrade")


# --- NODEDESK_NOW -----------------------------------------------------------------------------------


def test_the_clock_moves_for_admins_only(host_site: HostSite) -> None:
    """Set back, a rental manager could add a window "in the future" that is really past (no
    reason needed) or edit a completed one; set ahead, a billing manager could finalize a month
    that has not ended. Both refused; the admin's frozen clock is honoured."""
    h = host_site.host
    before = host_site.digest()
    back = {"NODEDESK_NOW": "2026-01-01 08:00"}
    line = _one_line(host_site.sudo("rm", *WINDOW, env=back))
    assert line == (
        f"nodedesk: error: NODEDESK_NOW: only an admin may set the clock ({h.login('rm')} is not "
        "an admin); unset NODEDESK_NOW"
    )
    line = _one_line(
        host_site.sudo("bm", "invoice", "finalize", "2099-01", env={"NODEDESK_NOW": "2099-03-01"})
    )
    assert "only an admin may set the clock" in line
    assert host_site.digest() == before
    # without the frozen clock the same window is backdated (needs a reason) ...
    assert "reason" in _one_line(host_site.sudo("rm", *WINDOW))
    # ... while the admin's frozen clock is honoured: 2026-01-05 is then in the future
    doc = host_site.json("adm", *WINDOW, env=back)
    assert doc["title"] == "T"
    entry = host_site.json("adm", "audit", "list", "--limit", "1")[0]
    assert entry["actor"] == h.login("adm")
