"""Fixtures for the ORCD migration: the plugin's reference export, and empty target databases
(migrated but empty, or blank: no schema at all) on SQLite and PostgreSQL."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest
from nodedesk.core.backup.importer import _is_empty
from nodedesk.core.clock import FrozenClock
from nodedesk.core.runtime import Runtime
from sqlalchemy import inspect

from tests.backup.conftest import _pg_schema, drop_pg_schema, make_runtime
from tests.conftest import BACKENDS, truncate_all

REFERENCE = Path(__file__).resolve().parents[1] / "fixtures" / "orcd-reference"
REFERENCE_EXPORT = REFERENCE / "export"
MONTHS = ("2026-10", "2026-11", "2026-12", "2027-01", "2027-02")
# After the scenario's last month (February 2027) has ended, in New York.
AFTER = datetime(2027, 3, 10, 15, 0, tzinfo=UTC)


def invoice_file(period: str) -> Path:
    return REFERENCE / "invoices" / f"invoice_{period.replace('-', '_')}.json"


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(AFTER)


@pytest.fixture(scope="session")
def pg_orcd_schema(pg_worker_url: str) -> Iterator[str]:
    schema, url = _pg_schema(migrated=True)
    yield url
    drop_pg_schema(schema)


@pytest.fixture
def empty_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A migrated, empty database (as 'nodedesk db upgrade' leaves a new one)."""
    if backend == "sqlite":
        path = tmp_path / f"orcd-{uuid.uuid4().hex[:6]}.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    url = request.getfixturevalue("pg_orcd_schema")
    truncate_all(url)
    return url


@pytest.fixture
def blank_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database with no tables at all (a brand-new server)."""
    with new_database(request, backend, tmp_path) as url:
        yield url


@pytest.fixture
def target(empty_url: str, clock: FrozenClock) -> Iterator[Runtime]:
    rt = make_runtime(empty_url, clock)
    yield rt
    rt.close()


def is_empty(rt: Runtime) -> bool:
    with rt.database.read() as session:
        return _is_empty(session)


def has_tables(rt: Runtime) -> bool:
    return bool(inspect(rt.database.engine).get_table_names())


@contextmanager
def new_database(request: pytest.FixtureRequest, backend: str, folder: Path) -> Iterator[str]:
    """The URL of a database with no tables at all, on ``backend``; dropped afterwards."""
    if backend == "sqlite":
        yield f"sqlite:///{folder / f'site-{uuid.uuid4().hex[:6]}.db'}"
        return
    request.getfixturevalue("pg_worker_url")  # skips locally without PostgreSQL, fails in CI
    schema, url = _pg_schema(migrated=False)
    try:
        yield url
    finally:
        drop_pg_schema(schema)


@pytest.fixture(scope="module", params=BACKENDS)
def reference_site(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Runtime]:
    """The reference export migrated once per test module and back end (tests only read it,
    or run the migration again, which adds nothing)."""
    from nodedesk.core.orcd.migrator import migrate_orcd

    with new_database(request, request.param, tmp_path_factory.mktemp("orcd")) as url:
        rt = make_runtime(url, FrozenClock(AFTER))
        report = migrate_orcd(rt, REFERENCE_EXPORT)
        assert report.outcome == "migrated"
        yield rt
        rt.close()
