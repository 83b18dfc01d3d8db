"""Fixtures for backup tests: a second, empty database on the same back end (the restore target)."""

from __future__ import annotations

import shutil
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from nodedesk.core.clock import FrozenClock
from nodedesk.core.config import Config
from nodedesk.core.db import migrate
from nodedesk.core.db.engine import make_engine
from nodedesk.core.runtime import Runtime
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from tests.conftest import PG_URL, pg_schema_url, truncate_all
from tests.helpers import ADMIN


def _pg_schema(migrated: bool) -> tuple[str, str]:
    schema = f"ndbk_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    admin.dispose()
    url = pg_schema_url(schema)
    if migrated:
        engine = make_engine(url)
        migrate.upgrade(engine)
        engine.dispose()
    return schema, url


def drop_pg_schema(schema: str) -> None:
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture(scope="session")
def pg_target_schema_url(pg_worker_url: str) -> Iterator[str]:
    """A second migrated PostgreSQL schema for this worker (restore targets)."""
    schema, url = _pg_schema(migrated=True)
    yield url
    drop_pg_schema(schema)


@pytest.fixture
def pg_blank_url(pg_worker_url: str) -> Iterator[str]:
    """A PostgreSQL schema with no tables at all (a brand-new server)."""
    schema, url = _pg_schema(migrated=False)
    yield url
    drop_pg_schema(schema)


@pytest.fixture
def sqlite_empty_url(sqlite_template: Path, tmp_path: Path) -> str:
    path = tmp_path / f"target-{uuid.uuid4().hex[:6]}.db"
    shutil.copy(sqlite_template, path)
    return f"sqlite:///{path}"


@pytest.fixture
def pg_empty_url(pg_target_schema_url: str) -> str:
    truncate_all(pg_target_schema_url)
    return pg_target_schema_url


@pytest.fixture
def target_url(backend: str, request: pytest.FixtureRequest) -> str:
    """An empty, migrated database on the same back end as ``runtime``."""
    return request.getfixturevalue("sqlite_empty_url" if backend == "sqlite" else "pg_empty_url")


def site_dir_for(url: str) -> Path:
    """Each database's own private dir (audit key and anchor), the same for every runtime on it:
    beside a SQLite file, or per PostgreSQL schema (schema names are unique per run)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database:
        db = Path(parsed.database)
        return db.parent / f"{db.stem}.site"
    schema = str(parsed.query.get("options", "")).rpartition("=")[2] or "public"
    return Path(tempfile.gettempdir()) / "nodedesk-test-sites" / schema


def make_runtime(url: str, clock: FrozenClock, login: str = ADMIN) -> Runtime:
    return Runtime(Config(database_url=url, private_dir=site_dir_for(url)), clock=clock, login=login)


@pytest.fixture
def target(target_url: str, clock: FrozenClock) -> Iterator[Runtime]:
    rt = make_runtime(target_url, clock)
    yield rt
    rt.close()


def init_runtime(url: str, clock: FrozenClock, login: str = ADMIN) -> Runtime:
    """Initialize a site at ``url`` like the ``runtime`` fixture does."""
    from nodedesk.core.services.site.setup import initialize

    from tests.helpers import SITE_TZ

    rt = make_runtime(url, clock, login)
    initialize(rt.database, login, timezone=SITE_TZ, clock=clock, seal=rt.seal)
    return rt


@dataclass
class RichSource:
    """A database holding the rich dataset, built once per session per back end (read only!)."""

    url: str
    months: list[str]

    def runtime(self, clock: FrozenClock | None = None) -> Runtime:
        from tests.helpers import DEFAULT_NOW

        return make_runtime(self.url, clock or FrozenClock(DEFAULT_NOW))


def _build_rich(url: str) -> RichSource:
    from tests.backup.dataset import load_rich
    from tests.helpers import DEFAULT_NOW

    rt = init_runtime(url, FrozenClock(DEFAULT_NOW))
    info = load_rich(rt)
    rt.close()
    return RichSource(url, info["months"])


@pytest.fixture(scope="session")
def rich_sqlite(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> RichSource:
    path = tmp_path_factory.mktemp("rich") / "source.db"
    shutil.copy(sqlite_template, path)
    return _build_rich(f"sqlite:///{path}")


@pytest.fixture(scope="session")
def rich_pg(pg_worker_url: str) -> Iterator[RichSource]:
    schema, url = _pg_schema(migrated=True)
    yield _build_rich(url)
    drop_pg_schema(schema)


@pytest.fixture
def rich_source(backend: str, request: pytest.FixtureRequest) -> RichSource:
    """The rich dataset on the parametrized back end (never change it)."""
    return request.getfixturevalue("rich_sqlite" if backend == "sqlite" else "rich_pg")


@pytest.fixture(scope="session")
def rich_export(rich_sqlite: RichSource, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The rich dataset exported once (from SQLite); copy it before changing it."""
    from nodedesk.core.backup import export_backup

    rt = rich_sqlite.runtime()
    result = export_backup(
        rt, tmp_path_factory.mktemp("rich-export") / "export", timestamp=False, source_name="rich"
    )
    rt.close()
    return result.directory


@pytest.fixture
def export_dir(rich_export: Path, tmp_path: Path) -> Path:
    """A private copy of the rich export (tests may tamper with it)."""
    dest = tmp_path / "export"
    shutil.copytree(rich_export, dest)
    return dest
