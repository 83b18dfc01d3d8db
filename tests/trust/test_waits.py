"""Bounded waits: no user can make a save hold its transaction open, and a save that meets
another admin's lock gives up after ``lock_timeout_seconds`` with one line instead of hanging.

- The product's entry point has no pause points: ``NODEDESK_TEST_PAUSE_AT`` (which an older
  version read from the environment) is ignored; only the crash tests' own entry module
  (tests/crash/paused_entry.py) installs one.
- SQLite: a held ``BEGIN IMMEDIATE``; PostgreSQL: a held table lock. A real write from the
  command line exits 1 with "another admin is saving; try again", within about the setting.
- PostgreSQL statements are bounded by ``statement_timeout_seconds``; the limits in force are
  readable for ``nodedesk doctor`` (:func:`nodedesk.core.db.engine.pg_timeouts`).
"""

from __future__ import annotations

import getpass
import shutil
import sqlite3
import time
from pathlib import Path

import pytest
from nodedesk.core.db.engine import BUSY_MESSAGE, Database, busy_error, make_engine, pg_timeouts
from nodedesk.core.errors import BusyError
from nodedesk.core.runtime import Runtime
from nodedesk.core.services.site import settings, users
from sqlalchemy import text
from sqlalchemy.engine import make_url

from tests.cli_helpers import Cli

REPO = Path(__file__).resolve().parents[2]


def _cli_admin(runtime: Runtime, tmp_path: Path) -> Cli:
    """The CLI on the ``runtime`` site, run by the OS user (an admin), with the site's audit key."""
    with runtime.write() as ctx:
        users.add_user(ctx, getpass.getuser(), "admin")
    home = tmp_path / "home"
    if runtime.config.site_dir.exists():
        shutil.copytree(runtime.config.site_dir, home / "nodedesk", dirs_exist_ok=True)
    return Cli(runtime.config.database_url, home)


# ---------------------------------------------------------------- no test hooks in the product


@pytest.mark.parametrize("seconds", ["60", "nan", "-1", "inf"])
def test_the_product_ignores_the_old_pause_variable(runtime: Runtime, tmp_path: Path, seconds: str) -> None:
    cli = _cli_admin(runtime, tmp_path)
    cli.env.update({"NODEDESK_TEST_PAUSE_AT": "invoice.finalize", "NODEDESK_TEST_PAUSE_SECONDS": seconds})
    started = time.monotonic()
    result = cli.run("invoice", "finalize", "2026-01")
    assert result.returncode == 0, result.stderr
    assert "paused" not in result.stderr
    assert time.monotonic() - started < 30


def test_no_product_module_reads_a_test_variable() -> None:
    for folder in ("core", "tui", "nodedesk"):
        for path in (REPO / folder).rglob("*.py"):
            assert "NODEDESK_TEST_" not in path.read_text(encoding="utf-8"), path


# ---------------------------------------------------------------- bounded lock waits


def _hold_lock(url: str):  # type: ignore[no-untyped-def]
    """Hold what a save needs, the way another admin's long save would. Returns a release()."""
    if url.startswith("sqlite"):
        conn = sqlite3.connect(make_url(url).database, isolation_level=None)
        conn.execute("BEGIN IMMEDIATE")
        return conn.close
    engine = make_engine(url)
    conn = engine.connect()
    conn.execute(text("LOCK TABLE activity_log IN EXCLUSIVE MODE"))  # every save writes an entry

    def release() -> None:
        conn.rollback()
        conn.close()
        engine.dispose()

    return release


def test_a_save_meeting_a_held_lock_gives_up_with_one_line(runtime: Runtime, tmp_path: Path) -> None:
    cli = _cli_admin(runtime, tmp_path)
    cli.ok("settings", "set", "lock_timeout_seconds", "1")
    started = time.monotonic()
    cli.ok("settings", "set", "reminder_hours", "24")  # the same save, unhindered: the baseline
    baseline = time.monotonic() - started
    release = _hold_lock(runtime.config.database_url)
    try:
        started = time.monotonic()
        line = cli.refused("settings", "set", "reminder_hours", "12")
        elapsed = time.monotonic() - started
    finally:
        release()
    print(f"[waits] unhindered {baseline:.1f} s, against a held lock {elapsed:.1f} s")
    assert line == f"nodedesk: error: {BUSY_MESSAGE}"
    # About one second more than the unhindered save (a loaded machine adds noise); it used to
    # be 15 s on SQLite and forever on PostgreSQL.
    assert elapsed - baseline < 7, f"waited {elapsed:.1f} s (unhindered {baseline:.1f} s), limit 1 s"
    assert cli.json("settings", "list")["reminder_hours"] == "24"  # nothing was saved
    cli.ok("settings", "set", "reminder_hours", "12")  # and once the lock is gone it works


def test_the_limits_in_force_follow_the_settings(runtime: Runtime) -> None:
    url = runtime.config.database_url
    fresh = Database.from_url(url)
    with fresh.read() as session:
        before = pg_timeouts(session)
    fresh.dispose()
    if runtime.database.dialect == "postgresql":
        assert before == {"lock_timeout": "10s", "statement_timeout": "2min"}
    else:
        assert before == {"busy_timeout": "10000ms"}
    with runtime.write() as ctx:
        settings.set_setting(ctx, "lock_timeout_seconds", "3")
        settings.set_setting(ctx, "statement_timeout_seconds", "45")
    fresh = Database.from_url(url)  # applied to each new connection
    with fresh.read() as session:
        after = pg_timeouts(session)
    fresh.dispose()
    if runtime.database.dialect == "postgresql":
        assert after == {"lock_timeout": "3s", "statement_timeout": "45s"}
    else:
        assert after == {"busy_timeout": "3000ms"}


@pytest.mark.postgres
def test_a_statement_past_the_statement_timeout_is_busy_not_internal(database_url: str) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("PostgreSQL only")
    db = Database.from_url(database_url)
    try:
        with pytest.raises(BusyError) as info, db.read() as session:
            session.execute(text("SET LOCAL statement_timeout = '50ms'"))
            session.execute(text("SELECT pg_sleep(2)"))
        assert "statement_timeout_seconds" in str(info.value)
    finally:
        db.dispose()


def test_other_database_errors_are_not_called_busy(database: Database) -> None:
    from sqlalchemy.exc import DBAPIError

    with pytest.raises(DBAPIError) as info, database.read() as session:
        session.execute(text("SELECT * FROM no_such_table"))
    assert busy_error(info.value) is None


def test_a_locked_database_is_the_busy_line_and_nothing_else_is() -> None:
    """busy_error is the one mapping the command line and the app share (tui/cli.py, tui/workers.py)."""
    from sqlalchemy.exc import OperationalError

    locked = OperationalError("BEGIN IMMEDIATE", {}, sqlite3.OperationalError("database is locked"))
    assert str(busy_error(locked)) == BUSY_MESSAGE
    assert isinstance(busy_error(locked), BusyError)
    other = OperationalError("SELECT 1", {}, sqlite3.OperationalError("no such table: x"))
    assert busy_error(other) is None
