"""Crash safety: SIGKILL a real ``nodedesk`` process in the middle of a long unit of work.

The process is started through the test-only entry ``python -m tests.crash.paused_entry <point>``
(see core/testpoints.py; the product's own entry point has no pause points): it stops at that
point *inside* its transaction, after it has written rows, and says so on stderr; the test
then kills it with SIGKILL (no cleanup, no rollback by the process). Afterwards the database must
be exactly as before (a digest of every row of every table), the schema status must still work
(SQLite: the WAL is recovered, the file passes ``integrity_check``; PostgreSQL: the dead session's
locks are gone, so the same command run again completes), and running the command again must
change the database fully (all of it, never part).

Scenarios: (a) a backup restore killed after half of its kinds were written, (b) an invoice
finalize killed after its snapshot rows and audit entry were written, (c) ``schedule extend``
killed after the first schedule's new windows were written.

Run: ``.venv/bin/python -m pytest -q -p no:cacheprovider tests/crash``.
"""

from __future__ import annotations

import getpass
import hashlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from nodedesk.core.backup import exporter
from nodedesk.core.db import migrate
from nodedesk.core.db.engine import make_engine
from nodedesk.core.models import Base
from nodedesk.core.runtime import Runtime
from nodedesk.core.services.downtime import schedules
from nodedesk.core.services.downtime import windows as win
from nodedesk.core.services.rentals import reservations as rsv
from nodedesk.core.services.site import users
from sqlalchemy import create_engine, select, text

from tests.conftest import PG_URL, pg_schema_url
from tests.stress import worker

NODEDESK = Path(sys.executable).with_name("nodedesk")
REPO = Path(__file__).resolve().parents[2]
NOW = "2026-02-15T10:00"
OS_USER = getpass.getuser()


# ---------------------------------------------------------------- helpers


def digest(url: str, *, content: bool = False) -> dict[str, str]:
    """SHA-256 of every table's rows (ordered by primary key), plus the schema revision.

    ``content``: leave out the surrogate ``id`` column and sort the rows, to compare two databases
    whose child rows (which an export writes under their parent, without ids) were numbered apart.
    """
    engine = make_engine(url)
    out: dict[str, str] = {}
    try:
        with engine.connect() as conn:
            for table in Base.metadata.sorted_tables:
                rows = [r._asdict() for r in conn.execute(select(table).order_by(*table.primary_key.columns))]
                if content:
                    rows = sorted(repr(sorted((k, v) for k, v in r.items() if k != "id")) for r in rows)
                out[table.name] = hashlib.sha256(repr(rows).encode()).hexdigest()
            out["alembic_version"] = repr(conn.execute(text("SELECT version_num FROM alembic_version")).all())
    finally:
        engine.dispose()
    return out


def changed_tables(before: dict[str, str], after: dict[str, str]) -> set[str]:
    return {name for name in before if before[name] != after[name]}


def cli_env(url: str, home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NODEDESK_")}
    return {**env, "NODEDESK_DATABASE_URL": url, "NODEDESK_NOW": NOW, "XDG_DATA_HOME": str(home), **extra}


def run(url: str, home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(NODEDESK), *args],
        env=cli_env(url, home),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
    )


def kill_at(url: str, home: Path, point: str, *args: str) -> str:
    """Start ``nodedesk ARGS``, wait until it reports the pause point, SIGKILL it. Returns the
    stderr it wrote before dying."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.crash.paused_entry", point, "120", "--", *args],
        cwd=REPO,
        env=cli_env(url, home),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    seen: list[str] = []
    try:
        assert proc.stderr is not None
        deadline = time.monotonic() + 120
        for line in proc.stderr:
            seen.append(line)
            if line.startswith(f"nodedesk: paused at {point.partition('@')[0]}"):
                break
            assert time.monotonic() < deadline, "".join(seen)
        else:
            pytest.fail(f"the process ended before reaching {point}: {''.join(seen)}")
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    return "".join(seen)


def site_home(runtime: Runtime, tmp_path: Path) -> Path:
    """A data home for the CLI holding the ``runtime`` site's private dir (its audit key)."""
    home = tmp_path / "home"
    if runtime.config.site_dir.exists():
        shutil.copytree(runtime.config.site_dir, home / "nodedesk", dirs_exist_ok=True)
    return home


def check_recovered(url: str, home: Path) -> None:
    """The database opens again after the crash: SQLite file intact, schema status fine."""
    if url.startswith("sqlite"):
        engine = create_engine(url)
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
        engine.dispose()
    status = run(url, home, "db", "status")
    assert status.returncode == 0, status.stderr
    assert "up to date" in status.stdout


@pytest.fixture
def empty_target(
    backend: str, sqlite_template: Path, tmp_path: Path, pg_problem: str | None
) -> Iterator[str]:
    """A second, migrated and empty database on the same back end (the restore target)."""
    if backend == "sqlite":
        path = tmp_path / "target" / "nodedesk.db"
        path.parent.mkdir()
        shutil.copy(sqlite_template, path)
        yield f"sqlite:///{path}"
        return
    if pg_problem:
        pytest.skip(f"PostgreSQL unreachable ({pg_problem})")
    schema = f"nd_crash_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = pg_schema_url(schema)
    engine = make_engine(url)
    migrate.upgrade(engine)
    engine.dispose()
    yield url
    with admin.connect() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


# ---------------------------------------------------------------- (a) backup import


def test_kill_during_import_leaves_the_database_unchanged(
    runtime: Runtime, empty_target: str, tmp_path: Path
) -> None:
    _january(runtime)  # the restoring login (OS_USER) is an admin of the export
    export = exporter.export_backup(runtime, tmp_path / "export", timestamp=False)
    kinds = [k for k, n in export.manifest.counts.items() if n]
    assert len(kinds) >= 8, kinds
    home = tmp_path / "home"
    before = digest(empty_target)

    middle = f"backup.import.kind@{len(kinds) // 2}"
    kill_at(empty_target, home, middle, "import", str(export.directory))
    assert digest(empty_target) == before, "a killed import left part of its rows behind"
    check_recovered(empty_target, home)

    # The same import again completes (no lock left behind) and writes everything.
    done = run(empty_target, home, "import", str(export.directory))
    assert done.returncode == 0, done.stderr
    after = digest(empty_target)
    assert changed_tables(before, after) == {
        t for t, rows in digest(runtime.config.database_url).items() if rows != before[t]
    }
    source, restored = digest(runtime.config.database_url, content=True), digest(empty_target, content=True)
    for table in before:
        if table != "activity_log":  # the restore adds its own backup.imported entry
            assert restored[table] == source[table], f"{table} differs from the export's source"
    assert "audit chain OK" in run(empty_target, home, "audit", "verify").stdout


# ---------------------------------------------------------------- (b) invoice finalize


def _january(runtime: Runtime) -> None:
    worker.seed(runtime, 1)
    with runtime.write() as ctx:
        users.add_user(ctx, OS_USER, "admin")
        for node, day, blocks in (("n1", 5, 4), ("n2", 12, 6), ("n3", 28, 14)):
            draft = rsv.ReservationDraft(node, worker.PROJECT, date(2026, 1, day), blocks)
            rsv.record_reservation(ctx, draft, approve=True, waive_policy=True)


def test_kill_during_finalize_leaves_the_month_open(runtime: Runtime, tmp_path: Path) -> None:
    _january(runtime)
    url, home = runtime.config.database_url, site_home(runtime, tmp_path)
    before = digest(url)

    kill_at(url, home, "invoice.finalize", "invoice", "finalize", "2026-01")
    assert digest(url) == before, "a killed finalize left part of its rows behind"
    check_recovered(url, home)
    show = run(url, home, "invoice", "show", "2026-01", "--json")
    assert show.returncode == 0, show.stderr

    done = run(url, home, "invoice", "finalize", "2026-01")
    assert done.returncode == 0, done.stderr
    after = digest(url)
    assert changed_tables(before, after) == {"invoice_periods", "invoice_snapshots", "activity_log"}
    verify = run(url, home, "invoice", "verify", "2026-01")
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert "audit chain OK" in run(url, home, "audit", "verify").stdout


# ---------------------------------------------------------------- (c) recurring-window extension


def test_kill_during_schedule_extension_creates_no_window(runtime: Runtime, tmp_path: Path) -> None:
    worker.seed(runtime, 1)
    with runtime.write() as ctx:
        users.add_user(ctx, OS_USER, "admin")
        for title, rule in (
            ("Patch Tuesday", "2nd Tuesday of every month"),
            ("Friday checks", "every Friday"),
        ):
            draft = schedules.ScheduleDraft(title, rule, "06:00", duration="4h", scope=win.Scope(("n1",)))
            schedules.create_schedule(ctx, draft)  # windows up to the default horizon (3 months)
    url, home = runtime.config.database_url, site_home(runtime, tmp_path)
    before = digest(url)

    # After the first schedule's new windows are written, before the second one's and the commit.
    kill_at(url, home, "schedule.extend@1", "schedule", "extend", "--months", "12")
    assert digest(url) == before, "a killed extension left some of its windows behind"
    check_recovered(url, home)

    done = run(url, home, "schedule", "extend", "--months", "12", "--json")
    assert done.returncode == 0, done.stderr
    created = json.loads(done.stdout)["created"]
    assert len(created) == 2 and all(created.values()), created  # both schedules gained windows
    after = digest(url)
    assert {"maintenance_windows", "activity_log"} <= changed_tables(before, after)
    again = run(url, home, "schedule", "extend", "--months", "12", "--json")
    assert json.loads(again.stdout)["total"] == 0  # complete: nothing left to do
    assert digest(url) == after


# ---------------------------------------------------------------- random moments


def test_kill_import_at_random_moments(runtime: Runtime, empty_target: str, tmp_path: Path) -> None:
    """No test point: SIGKILL after random delays. Every outcome is all or nothing."""
    _january(runtime)
    export = exporter.export_backup(runtime, tmp_path / "export", timestamp=False)
    home = tmp_path / "home"
    before = digest(empty_target)
    rng = random.Random(7)
    seen = []
    for _ in range(2):
        proc = subprocess.Popen(
            [str(NODEDESK), "import", str(export.directory)],
            env=cli_env(empty_target, home),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(rng.uniform(0.5, 3.0))
        finished = proc.poll() is not None
        if not finished:
            os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        seen.append((finished, digest(empty_target)))
    done = run(empty_target, home, "import", str(export.directory))
    assert done.returncode == 0, done.stderr
    after = digest(empty_target)
    outcomes = ["unchanged" if d == before else "complete" if d == after else "HALF" for _f, d in seen]
    print(
        f"\n[crash] random kills of an import: {outcomes} (finished before the kill: {[f for f, _ in seen]})"
    )
    assert "HALF" not in outcomes
    check_recovered(empty_target, home)
