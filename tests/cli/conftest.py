"""Fixtures for command-line tests through the REAL entry point (the installed ``nodedesk``
console script in a subprocess), built on :class:`tests.cli_helpers.Cli`.

- ``cli_site``: a freshly initialized SQLite site (America/New_York, clock frozen at
  2026-02-15 10:00 site time). The OS user running the tests is its admin (``site.admin``).
  Initialized once per session and copied per test (``nodedesk init`` is slow-ish).
- ``pg_cli_site``: the same on a fresh PostgreSQL schema (skipped locally when the server is
  unreachable, a failure in CI).

Use from another folder by importing the fixtures into that folder's ``conftest.py``:
``from tests.cli.conftest import cli_site, cli_template  # noqa: F401``.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from nodedesk.core.identity import os_login
from sqlalchemy import create_engine, text

from tests.cli_helpers import Cli
from tests.conftest import PG_URL, pg_schema_url

NODEDESK = Path(sys.executable).with_name("nodedesk")
SITE_NOW = "2026-02-15 10:00"
SITE_TZ = "America/New_York"


class SiteCli(Cli):
    """A site's environment; :meth:`run` invokes the ``nodedesk`` console script."""

    def __init__(self, database_url: str, home: Path, now: str = SITE_NOW) -> None:
        super().__init__(database_url, home, now)
        self.database_url = database_url
        self.home = home
        self.admin = os_login()  # the effective uid's account: nodedesk's acting login

    def run(  # type: ignore[override]
        self, *args: str, input: str | None = None, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        """Run ``nodedesk ARGS``; ``env`` adds/overrides variables (e.g. ``NODEDESK_USER``).
        Without ``input`` stdin is /dev/null: never a terminal, never the test runner's stdin."""
        return subprocess.run(
            [str(NODEDESK), *args],
            env={**self.env, **(env or {})},
            input=input,
            stdin=subprocess.DEVNULL if input is None else None,
            capture_output=True,
            text=True,
            timeout=120,
        )

    def json(self, *args: str, env: dict[str, str] | None = None) -> Any:  # type: ignore[override]
        result = self.run(*args, "--json", env=env)
        assert result.returncode == 0, f"{args}: rc={result.returncode} {result.stderr}"
        return json.loads(result.stdout)

    def sql(self, statement: str, **params: object) -> list[Any]:
        """Run SQL directly against the site's database (inspection and tampering)."""
        engine = create_engine(self.database_url)
        try:
            with engine.begin() as conn:
                result = conn.execute(text(statement), params)
                return list(result) if result.returns_rows else []
        finally:
            engine.dispose()

    def state(self) -> Any:
        """What 'the database is unchanged' compares: every window, and the audit log length."""
        return self.json("window", "list"), self.sql("SELECT count(*) FROM activity_log")[0][0]


def init_site(site: SiteCli, *extra: str) -> subprocess.CompletedProcess[str]:
    result = site.run("init", "--timezone", SITE_TZ, *extra)
    assert result.returncode == 0, result.stderr
    return result


@pytest.fixture(scope="session")
def cli_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An initialized SQLite database file, made once through ``nodedesk init``."""
    home = tmp_path_factory.mktemp("cli_template")
    path = home / "nodedesk.db"
    init_site(SiteCli(f"sqlite:///{path}", home))
    assert not Path(f"{path}-wal").exists() or Path(f"{path}-wal").stat().st_size == 0
    return path


@pytest.fixture
def cli_site(cli_template: Path, tmp_path: Path) -> SiteCli:
    """A freshly initialized SQLite site for one test."""
    home = tmp_path / "xdg"
    (home / "nodedesk").mkdir(parents=True)
    path = home / "nodedesk" / "nodedesk.db"
    shutil.copy(cli_template, path)
    # the site's audit key and anchor live beside it, outside the database (help/audit.md)
    for name in ("audit.key", "audit.anchor"):
        shutil.copy2(cli_template.parent / "nodedesk" / name, home / "nodedesk" / name)
    (home / "nodedesk").chmod(0o700)
    return SiteCli(f"sqlite:///{path}", home)


@pytest.fixture
def pg_cli_site(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SiteCli]:
    """A site initialized through the CLI on a fresh PostgreSQL schema."""
    if request.getfixturevalue("pg_problem"):
        request.getfixturevalue("pg_worker_url")  # skips locally, fails in CI
    schema = f"nd_cli_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    site = SiteCli(pg_schema_url(schema), tmp_path)
    try:
        init_site(site)
        yield site
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
