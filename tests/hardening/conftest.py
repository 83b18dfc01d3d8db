"""Fixtures for the hardening suite (fuzzing, terminal safety, permissions, read-only app).

- ``demo_site``: a SQLite copy of ``nodedesk init --demo`` (America/New_York, clock frozen at
  2026-02-15 10:00 site time) whose admin is the OS user running the tests; made once per session.
- ``InProcessCli`` runs ``nodedesk.tui.cli.main`` in this process (fast enough to fuzz) with
  stdout/stderr captured as bytes the way a UTF-8 terminal would receive them.
- ``db_digest`` hashes every row of every table: "nothing written" means the digest is unchanged.

Budget: ``NODEDESK_FUZZ_EXAMPLES`` (default small, for CI) sets the hypothesis examples per
property and enables the ``slow`` test: ``NODEDESK_FUZZ_EXAMPLES=100 pytest -n 2 tests/hardening -k fuzz``.
"""

from __future__ import annotations

import functools
import hashlib
import io
import os
import shutil
import sqlite3
import sys
from collections.abc import Iterator, Sequence
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path
from unittest import mock

import pytest
from nodedesk.core.auditseal import AuditSeal
from nodedesk.core.clock import FrozenClock, clock_from_env
from nodedesk.core.db import migrate
from nodedesk.core.db.engine import Database, make_engine
from nodedesk.core.identity import os_login
from nodedesk.core.models import Base
from nodedesk.core.services.site.setup import initialize
from nodedesk.tui.cli import build_parser
from sqlalchemy import select

from tests.helpers import DEFAULT_NOW, SITE_TZ

SITE_NOW = "2026-02-15T10:00"
ADMIN_LOGIN = os_login()  # the effective uid's account, as nodedesk sees it


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Long fuzz runs (``slow``) only when asked for: ``-m slow`` or NODEDESK_FUZZ_EXAMPLES."""
    if "slow" in (config.getoption("-m") or "") or os.environ.get("NODEDESK_FUZZ_EXAMPLES"):
        return
    skip = pytest.mark.skip(reason="long fuzz run: pytest -m slow tests/hardening")
    here = Path(__file__).parent
    for item in items:
        if item.get_closest_marker("slow") and here in Path(str(item.fspath)).parents:
            item.add_marker(skip)


def fuzz_examples(default: int) -> int:
    """Examples per property: small by default, ``NODEDESK_FUZZ_EXAMPLES`` for long runs."""
    raw = os.environ.get("NODEDESK_FUZZ_EXAMPLES", "").strip()
    return int(raw) if raw.isdigit() and int(raw) > 0 else default


def db_digest(url: str) -> str:
    """SHA-256 over every row of every table (rows sorted, so order of storage does not matter)."""
    h = hashlib.sha256()
    if url.startswith("sqlite:///"):  # the plain driver is several times faster than the ORM stack
        conn = sqlite3.connect(url.removeprefix("sqlite:///"))
        try:
            for table in Base.metadata.sorted_tables:
                rows = sorted(repr(r) for r in conn.execute(f'SELECT * FROM "{table.name}"'))
                h.update(f"{table.name}:{len(rows)}\n".encode())
                h.update("\n".join(rows).encode("utf-8", "surrogatepass"))
        finally:
            conn.close()
        return h.hexdigest()
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            for table in Base.metadata.sorted_tables:
                rows = sorted(repr(tuple(r)) for r in conn.execute(select(table)))
                h.update(f"{table.name}:{len(rows)}\n".encode())
                for row in rows:
                    h.update(row.encode("utf-8", "surrogatepass") + b"\n")
    finally:
        engine.dispose()
    return h.hexdigest()


@dataclass(frozen=True)
class Outcome:
    argv: tuple[str, ...]
    rc: int
    out: bytes
    err: bytes

    @property
    def stdout(self) -> str:
        return self.out.decode("utf-8", "replace")

    @property
    def stderr(self) -> str:
        return self.err.decode("utf-8", "replace")

    def describe(self) -> str:
        argv = [a if len(a) < 80 else f"{a[:40]!r}…({len(a)} chars)" for a in self.argv]
        return f"argv={argv!r} rc={self.rc}\nstdout={self.stdout[-1500:]!r}\nstderr={self.stderr[-1500:]!r}"


_parser = functools.cache(build_parser)


_head_revision = functools.cache(migrate.head_revision)


class InProcessCli:
    """``nodedesk ARGV`` run in-process against one site database."""

    def __init__(self, database_url: str, home: Path, now: str = SITE_NOW) -> None:
        self.database_url = database_url
        self.home = home
        self.now = now

    def environ(self, user: str | None = None) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("NODEDESK_")}
        env.update(
            NODEDESK_DATABASE_URL=self.database_url, NODEDESK_NOW=self.now, XDG_DATA_HOME=str(self.home)
        )
        if user:
            env["NODEDESK_USER"] = user
        return env

    def run(
        self,
        argv: Sequence[str],
        *,
        user: str | None = None,
        login: str | None = None,
        now_from_env: bool = False,
    ) -> Outcome:
        """Run main(argv). ``user`` sets NODEDESK_USER; ``login`` pretends to be that OS login
        (whose clock is frozen without NODEDESK_NOW unless ``now_from_env``)."""
        from nodedesk.tui.cli import main

        out_buf, err_buf = io.BytesIO(), io.BytesIO()
        # A UTF-8 terminal: stdout strict (an unencodable character is a bug), stderr as Python's.
        out = io.TextIOWrapper(out_buf, encoding="utf-8", errors="strict", write_through=True)
        err = io.TextIOWrapper(err_buf, encoding="utf-8", errors="backslashreplace", write_through=True)
        patches = [
            mock.patch.dict(os.environ, self.environ(user), clear=True),
            # Speed only: the parser and the migration head are the same for every run.
            mock.patch("nodedesk.tui.cli.build_parser", _parser),
            mock.patch.object(migrate, "head_revision", _head_revision),
        ]
        if login:
            patches.append(mock.patch("nodedesk.core.deploy.acting_login", return_value=login))
            if login != ADMIN_LOGIN and not now_from_env:
                # NODEDESK_NOW is for admins only (help/security.md): other logins get the same
                # frozen instant from the clock factory instead of the environment.
                env = self.environ(user)
                now = env.pop("NODEDESK_NOW")
                patches[0] = mock.patch.dict(os.environ, env, clear=True)
                patches.append(
                    mock.patch(
                        "nodedesk.core.runtime.clock_from_env",
                        side_effect=lambda tz, _environ: clock_from_env(tz, {"NODEDESK_NOW": now}),
                    )
                )
        old_cwd = os.getcwd()
        os.chdir(self.home)
        try:
            for p in patches:
                p.start()
            with redirect_stdout(out), redirect_stderr(err), mock.patch.object(sys, "stdin", io.StringIO()):
                try:
                    rc = main(list(argv))
                except SystemExit as exc:
                    rc = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
                out.flush()
                err.flush()
        finally:
            for p in reversed(patches):
                p.stop()
            os.chdir(old_cwd)
        return Outcome(tuple(argv), rc, out_buf.getvalue(), err_buf.getvalue())


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``init --demo`` once: the demo centre, admin = the OS user running the tests."""
    path = tmp_path_factory.mktemp("demo_template") / "nodedesk.db"
    database = Database.from_url(f"sqlite:///{path}")
    try:
        initialize(
            database,
            ADMIN_LOGIN,
            timezone=SITE_TZ,
            demo=True,
            clock=FrozenClock(DEFAULT_NOW),
            seal=AuditSeal(path.parent / "nodedesk"),
        )
    finally:
        database.dispose()
    engine = make_engine(f"sqlite:///{path}")
    assert migrate.current_revision(engine)
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    return path


@pytest.fixture
def demo_site(demo_template: Path, tmp_path: Path) -> InProcessCli:
    home = tmp_path / "xdg"
    (home / "nodedesk").mkdir(parents=True)
    path = home / "nodedesk" / "nodedesk.db"
    shutil.copy(demo_template, path)
    install_seal(demo_template, home)
    return InProcessCli(f"sqlite:///{path}", home)


def install_seal(demo_template: Path, home: Path) -> None:
    """The template's audit key and anchor, where a site with XDG_DATA_HOME=home keeps them
    (beside the data, outside the database: help/audit.md)."""
    target = home / "nodedesk"
    target.mkdir(mode=0o700, parents=True, exist_ok=True)
    for name in ("audit.key", "audit.anchor"):
        shutil.copy2(demo_template.parent / "nodedesk" / name, target / name)


@pytest.fixture(scope="module")
def pg_demo_site(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[InProcessCli]:
    """The demo centre on a fresh PostgreSQL schema (shared by a module's tests)."""
    import uuid

    from sqlalchemy import create_engine, text

    from tests.conftest import PG_URL, pg_schema_url

    if request.getfixturevalue("pg_problem"):
        request.getfixturevalue("pg_worker_url")  # skips locally, fails in CI
    schema = f"nd_fuzz_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = pg_schema_url(schema)
    database = Database.from_url(url)
    home = tmp_path_factory.mktemp("pg_home")
    try:
        initialize(
            database,
            ADMIN_LOGIN,
            timezone=SITE_TZ,
            demo=True,
            clock=FrozenClock(DEFAULT_NOW),
            seal=AuditSeal(home / "nodedesk"),
        )
    finally:
        database.dispose()
    try:
        yield InProcessCli(url, home)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
