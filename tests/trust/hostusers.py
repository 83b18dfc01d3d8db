"""Real Unix users, a service account and a sudoers rule, for the shared-host tests.

The suite runs as root: :func:`host` creates a group and users with a unique prefix per test
session (``useradd``), a launcher for ``nodedesk`` that every user can execute, and a sudoers
drop-in (checked with ``visudo -cf``) letting the group run that launcher as the service
account, exactly as README "Deploying on a shared host" describes. Everything is removed when
the session ends. Without root (or without ``sudo``/``useradd``) the tests skip with a message.

:class:`HostSite` is one site owned by the service account (SQLite in its data directory, or
PostgreSQL through the database-url file in its config directory); :meth:`HostSite.as_user`
runs the real entry point as a user (directly), :meth:`HostSite.sudo` through real sudo.
"""

from __future__ import annotations

import contextlib
import grp
import json
import os
import pwd
import shutil
import subprocess
import sys
import sysconfig
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

SITE_TZ = "America/New_York"
SITE_NOW = "2026-02-15 10:00"
# nodedesk login name -> role; "ghost" is in the sudo group but not registered.
ROLES = {
    "adm": "admin",
    "rm": "rental_manager",
    "bm": "billing_manager",
    "vw": "viewer",
}
BASE_ENV = {"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8"}


def _run(*cmd: str) -> None:
    """Run a setup command; retried while another test process holds /etc/passwd's lock."""
    for attempt in range(10):
        result = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
        if result.returncode == 0:
            return
        if "lock" not in result.stderr.lower() or attempt == 9:
            raise AssertionError(f"{' '.join(cmd)}: rc={result.returncode} {result.stderr.strip()}")
        time.sleep(0.5)


def _python_for_everyone() -> str | None:
    """An interpreter of this Python version that other users may execute (the test runner's
    may sit in root's home); the venv's site-packages are added by the launcher."""
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    for candidate in (f"/usr/bin/python{version}", f"/usr/local/bin/python{version}", sys.executable):
        path = Path(candidate).resolve()
        if path.exists() and all(p.stat().st_mode & 0o001 for p in [path, *path.parents][1:]):
            return str(path)
    return None


@dataclass
class Host:
    prefix: str
    root: Path  # 0755 directory holding the launcher and the users' homes
    launcher: Path
    group: str
    svc: str
    logins: dict[str, str] = field(default_factory=dict)  # short name -> Unix login
    sqlite_template: Path | None = None  # an initialized copy of the service account's data dir

    def login(self, short: str) -> str:
        return self.logins[short]

    def uid(self, short: str) -> int:
        return pwd.getpwnam(self.logins[short]).pw_uid

    @property
    def svc_home(self) -> Path:
        return Path(pwd.getpwnam(self.svc).pw_dir)


def _missing_tools() -> str | None:
    if os.geteuid() != 0:
        return "needs root: creates Unix users, a service account and a sudoers rule"
    for tool in ("useradd", "userdel", "groupadd", "groupdel", "sudo", "visudo", "runuser"):
        if shutil.which(tool) is None:
            return f"needs {tool} (apt-get install -y sudo passwd util-linux)"
    return None


@pytest.fixture(scope="session", name="host")
def host_fixture() -> Iterator[Host]:
    problem = _missing_tools()
    if problem:
        pytest.skip(problem)
    python = _python_for_everyone()
    if python is None:
        pytest.skip("no Python interpreter other users may execute")
    prefix = f"nd{uuid.uuid4().hex[:6]}"
    root = Path(f"/tmp/{prefix}")
    root.mkdir(mode=0o755)
    os.chmod(root, 0o755)
    (root / "bin").mkdir(mode=0o755)
    launcher = root / "bin" / "nodedesk"
    site_packages = sysconfig.get_paths()["purelib"]
    launcher.write_text(
        f"#!{python} -I\n"
        "import site, sys\n"
        f"site.addsitedir({site_packages!r})\n"
        "from nodedesk.tui.cli import main\n"
        "sys.exit(main())\n"
    )
    os.chmod(launcher, 0o755)
    h = Host(prefix, root, launcher, group=f"{prefix}u", svc=f"{prefix}svc")
    sudoers = Path(f"/etc/sudoers.d/{prefix}")
    created_users: list[str] = []
    try:
        _run("groupadd", h.group)
        _run("useradd", "-M", "-d", str(root / "svc"), "-s", "/usr/sbin/nologin", "-U", h.svc)
        created_users.append(h.svc)
        for short in (*ROLES, "ghost"):
            name = f"{prefix}{short}"
            _run("useradd", "-M", "-d", str(root / short), "-s", "/bin/sh", "-U", "-G", h.group, name)
            created_users.append(name)
            h.logins[short] = name
        for name in created_users:
            home = Path(pwd.getpwnam(name).pw_dir)
            home.mkdir(mode=0o700)
            os.chown(home, pwd.getpwnam(name).pw_uid, pwd.getpwnam(name).pw_gid)
            os.chmod(home, 0o700)
        rule = (
            f'Defaults:%{h.group} env_keep += "NODEDESK_USER NODEDESK_NOW NODEDESK_THEME TERM NO_COLOR"\n'
            f"%{h.group} ALL=({h.svc}) NOPASSWD: {launcher}\n"
        )
        draft = root / "sudoers"
        draft.write_text(rule)
        _run("visudo", "-cf", str(draft))
        shutil.copy(draft, sudoers)
        os.chmod(sudoers, 0o440)
        yield h
    finally:
        sudoers.unlink(missing_ok=True)
        for name in created_users:
            _cleanup("userdel", name)
        for name in (h.group, *created_users):
            try:
                grp.getgrnam(name)
            except KeyError:
                continue
            _cleanup("groupdel", name)
        shutil.rmtree(root, ignore_errors=True)


def _cleanup(*cmd: str) -> None:
    """Best effort, but not given up while another test process holds the passwd lock."""
    with contextlib.suppress(AssertionError):
        _run(*cmd)


class HostSite:
    """A site owned by the service account."""

    def __init__(self, host: Host, backend: str, pg_url: str | None = None) -> None:
        self.host = host
        self.backend = backend
        self.pg_url = pg_url
        home = host.svc_home
        self.data_dir = home / ".local" / "share" / "nodedesk"
        self.db_path = self.data_dir / "nodedesk.db"
        self.url_file = home / ".config" / "nodedesk" / "database-url"

    # --- running nodedesk -----------------------------------------------------------------------

    def as_user(
        self, short: str, *args: str, env: dict[str, str] | None = None, input: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        """``nodedesk ARGS`` run directly by a Unix user (``short`` is a key of host.logins, or
        "svc" for the service account), with their own uid, gid and groups."""
        name = self.host.svc if short == "svc" else self.host.login(short)
        entry = pwd.getpwnam(name)
        return subprocess.run(
            [str(self.host.launcher), *args],
            env={**BASE_ENV, "HOME": entry.pw_dir, **(env or {})},
            user=entry.pw_uid,
            group=entry.pw_gid,
            extra_groups=os.getgrouplist(name, entry.pw_gid),
            cwd=entry.pw_dir,
            input=input,
            stdin=subprocess.DEVNULL if input is None else None,
            capture_output=True,
            text=True,
            timeout=120,
        )

    def sudo(
        self, short: str, *args: str, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        """``sudo -u SERVICE nodedesk ARGS`` run by a Unix user, through the real sudo."""
        name = self.host.login(short)
        entry = pwd.getpwnam(name)
        return subprocess.run(
            ["sudo", "-n", "-u", self.host.svc, str(self.host.launcher), *args],
            env={**BASE_ENV, "HOME": entry.pw_dir, "LOGNAME": name, "USER": name, **(env or {})},
            user=entry.pw_uid,
            group=entry.pw_gid,
            extra_groups=os.getgrouplist(name, entry.pw_gid),
            cwd=entry.pw_dir,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=120,
        )

    def ok(self, short: str, *args: str, env: dict[str, str] | None = None) -> str:
        result = self.sudo(short, *args, env=env)
        assert result.returncode == 0, f"{short} {args}: rc={result.returncode} {result.stderr}"
        return result.stdout

    def json(self, short: str, *args: str, env: dict[str, str] | None = None) -> Any:
        return json.loads(self.ok(short, *args, "--json", env=env))

    # --- setting up -----------------------------------------------------------------------------

    def reset(self) -> None:
        """Remove the service account's site (data and config) and start again."""
        shutil.rmtree(self.host.svc_home / ".local", ignore_errors=True)
        shutil.rmtree(self.host.svc_home / ".config", ignore_errors=True)
        if self.backend == "postgresql":
            assert self.pg_url
            self.url_file.parent.mkdir(parents=True, mode=0o700)
            self.url_file.write_text(f"# nodedesk database\n{self.pg_url}\n")
            os.chmod(self.url_file, 0o600)
            entry = pwd.getpwnam(self.host.svc)
            for path in (self.url_file, self.url_file.parent, self.url_file.parent.parent):
                os.chown(path, entry.pw_uid, entry.pw_gid)

    def init(self) -> None:
        """``nodedesk init`` through sudo by the admin, who then registers the others."""
        self.reset()
        result = self.sudo("adm", "init", "--timezone", SITE_TZ, env={"NODEDESK_NOW": SITE_NOW})
        assert result.returncode == 0, result.stderr
        for short, role in ROLES.items():
            if short != "adm":
                self.ok("adm", "user", "add", self.host.login(short), "--role", role)

    def sql(self, statement: str, **params: object) -> list[Any]:
        """Inspect the database directly (as root, the test runner)."""
        url = f"sqlite:///{self.db_path}" if self.backend == "sqlite" else self.pg_url
        engine = create_engine(str(url))
        try:
            with engine.begin() as conn:
                result = conn.execute(text(statement), params)
                return list(result) if result.returns_rows else []
        finally:
            engine.dispose()

    def digest(self) -> list[Any]:
        """What "nothing changed" compares: users, windows and the audit log length."""
        return [
            self.sql("SELECT username, active FROM users ORDER BY username"),
            self.sql("SELECT id, title, version FROM maintenance_windows ORDER BY id"),
            self.sql("SELECT count(*) FROM activity_log"),
        ]


@pytest.fixture(params=["sqlite", "postgresql"], name="host_site")
def host_site_fixture(request: pytest.FixtureRequest, host: Host) -> Iterator[HostSite]:
    """A fresh site owned by the service account, on each back end, set up through sudo (the
    SQLite one once per session, then copied with its owner and modes)."""
    if request.param == "sqlite":
        site = HostSite(host, "sqlite")
        if host.sqlite_template is None:
            site.init()
            host.sqlite_template = host.root / "sqlite-template"
            _run("cp", "-a", str(site.data_dir), str(host.sqlite_template))
        else:
            site.reset()
            site.data_dir.parent.parent.mkdir(mode=0o700)
            site.data_dir.parent.mkdir(mode=0o700)
            entry = pwd.getpwnam(host.svc)
            for path in (site.data_dir.parent, site.data_dir.parent.parent):
                os.chown(path, entry.pw_uid, entry.pw_gid)
            _run("cp", "-a", str(host.sqlite_template), str(site.data_dir))
        yield site
        return
    if request.getfixturevalue("pg_problem"):
        request.getfixturevalue("pg_worker_url")  # skips locally, fails in CI
    from tests.conftest import PG_URL, pg_schema_url

    schema = f"nd_host_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        site = HostSite(host, "postgresql", pg_schema_url(schema))
        site.init()
        yield site
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
