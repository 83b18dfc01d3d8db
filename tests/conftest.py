"""Shared fixtures: every storage test runs on SQLite and on the real PostgreSQL server.

PostgreSQL: ``NODEDESK_TEST_PG_URL`` (default: postgres@127.0.0.1:5432/test, trust auth). Each
pytest worker gets its own schema, migrated once; tables are truncated between tests. When the
server is unreachable the PostgreSQL tests are skipped locally, and *fail* when ``CI=true``.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from nodedesk.core.auditseal import AuditSeal
from nodedesk.core.clock import FrozenClock
from nodedesk.core.config import Config
from nodedesk.core.db import migrate
from nodedesk.core.db.engine import Database, make_engine
from nodedesk.core.models import Base
from nodedesk.core.runtime import Runtime
from nodedesk.core.services.site.setup import initialize
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from tests.helpers import ADMIN, DEFAULT_NOW, SITE_TZ

# Property tests must not flake on a loaded CI machine: no per-example deadline.
settings.register_profile("nodedesk", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("nodedesk")

PG_URL = os.environ.get("NODEDESK_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")

BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


def _pg_reachable() -> str | None:
    try:
        eng = create_engine(PG_URL)
        with eng.connect() as conn:
            conn.execute(text("SELECT 1"))
        eng.dispose()
        return None
    except Exception as exc:  # pragma: no cover - depends on the machine
        return f"{type(exc).__name__}: {str(exc).splitlines()[0]}"


@pytest.fixture(scope="session")
def pg_problem() -> str | None:
    return _pg_reachable()


def pg_schema_url(schema: str) -> str:
    url = make_url(PG_URL)
    return url.update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def pg_worker_url(pg_problem: str | None, worker_id: str) -> Iterator[str]:
    """A migrated, per-worker schema on the PostgreSQL test server."""
    if pg_problem:
        if IN_CI:
            pytest.fail(f"PostgreSQL is required in CI but unreachable at {PG_URL}: {pg_problem}")
        pytest.skip(f"PostgreSQL unreachable ({pg_problem})")
    schema = f"nd_{worker_id}_{uuid.uuid4().hex[:8]}"
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


@pytest.fixture(scope="session")
def worker_id(request: pytest.FixtureRequest) -> str:
    return getattr(request.config, "workerinput", {}).get("workerid", "main")


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated empty SQLite file, copied for each test (migrating per test is slower)."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    engine = make_engine(f"sqlite:///{path}")
    migrate.upgrade(engine)
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    return path


def truncate_all(url: str) -> None:
    engine = make_engine(url)
    names = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def database_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """URL of an empty, migrated database on the parametrized back end."""
    if backend == "sqlite":
        path = tmp_path / "nodedesk.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    url = request.getfixturevalue("pg_worker_url")
    truncate_all(url)
    return url


@pytest.fixture
def database(database_url: str) -> Iterator[Database]:
    db = Database.from_url(database_url)
    yield db
    db.dispose()


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(DEFAULT_NOW)


@pytest.fixture(autouse=True)
def _private_data_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test's own data dir (``tmp_path/nodedesk``, as for ``Cli(url, tmp_path)``): audit
    keys and anchors never land in the real home."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))


@pytest.fixture
def site_dir(tmp_path: Path) -> Path:
    """The ``runtime`` site's private dir (its audit key and anchor): where the CLI finds it
    with ``XDG_DATA_HOME`` set to ``tmp_path`` (``Cli(database_url, tmp_path)``)."""
    return tmp_path / "nodedesk"


@pytest.fixture
def runtime(database: Database, clock: FrozenClock, database_url: str, site_dir: Path) -> Runtime:
    """An initialized site (America/New_York, USD) acting as user ``admin``."""
    initialize(database, ADMIN, timezone=SITE_TZ, clock=clock, seal=AuditSeal(site_dir))
    config = Config(database_url=database_url, private_dir=site_dir)
    return Runtime(config, clock=clock, login=ADMIN, database=database)
