"""The API in-process (FastAPI's TestClient) on the demo centre, on SQLite and PostgreSQL.

``api_site`` is the ``runtime`` fixture's site (frozen clock, 2026-02-15 10:00 New York) with the
demo centre loaded and one write token per role: ``site.client`` and ``site.headers(role)``.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from nodedesk.api.app import create_app
from nodedesk.core.auditseal import AuditSeal
from nodedesk.core.clock import FrozenClock
from nodedesk.core.config import Config
from nodedesk.core.db import migrate
from nodedesk.core.db.engine import Database, make_engine
from nodedesk.core.models import Base
from nodedesk.core.runtime import Runtime
from nodedesk.core.services.site import api_tokens
from nodedesk.core.services.site.demo import load_demo
from nodedesk.core.services.site.setup import initialize
from sqlalchemy import create_engine, text

from tests.cli.conftest import cli_site, cli_template, pg_cli_site  # noqa: F401
from tests.conftest import PG_URL, pg_schema_url, truncate_all
from tests.hardening.permissions_table import LOGIN_OF
from tests.helpers import ADMIN, DEFAULT_NOW, SITE_TZ

ROLE_LOGINS = {"admin": "admin", **{r: u for r, u in LOGIN_OF.items() if r != "unregistered"}}


@dataclass
class ApiSite:
    runtime: Runtime
    client: TestClient
    tokens: dict[str, str] = field(default_factory=dict)

    def headers(self, who: str = "admin") -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"}

    def token(self, name: str, user: str, scope: str, expires: str | None = None) -> str:
        with self.runtime.write() as ctx:
            secret = api_tokens.create_token(ctx, name, user, scope, expires).secret
        self.tokens[name] = secret
        return secret

    def get(self, path: str, who: str = "admin", **kwargs: Any) -> Any:
        return self.client.get(path, headers=self.headers(who) | kwargs.pop("headers", {}), **kwargs)


def seed(runtime: Runtime) -> dict[str, str]:
    """The demo centre and one write token per role on an initialized site."""
    with runtime.write() as ctx:
        load_demo(ctx)
        return {
            role: api_tokens.create_token(ctx, f"{role}-write", login, "write").secret
            for role, login in ROLE_LOGINS.items()
        }


def build_site(database: Database, url: str, site_dir: Path) -> dict[str, str]:
    """Migrate, initialize (frozen clock) and seed a site; returns its tokens by role."""
    migrate.upgrade(database.engine)
    clock = FrozenClock(DEFAULT_NOW)
    initialize(database, ADMIN, timezone=SITE_TZ, clock=clock, seal=AuditSeal(site_dir))
    config = Config(database_url=url, private_dir=site_dir)
    return seed(Runtime(config, clock=clock, login=ADMIN, database=database))


@pytest.fixture(scope="session")
def sqlite_api_template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """An initialized, seeded SQLite site made once (its directory holds the database and the
    audit key and anchor); each test copies it."""
    home = tmp_path_factory.mktemp("api_template")
    site_dir = home / "nodedesk"
    url = f"sqlite:///{site_dir / 'nodedesk.db'}"
    database = Database.from_url(url)
    tokens = build_site(database, url, site_dir)
    with database.engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    database.dispose()
    return site_dir, tokens


@pytest.fixture(scope="session")
def pg_api_template(
    pg_worker_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, Path, dict[str, str]]]:
    """The seeded site once in its own PostgreSQL schema; each test copies its rows (loading
    the demo centre through the services takes seconds on PostgreSQL)."""
    schema = f"nd_api_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = pg_schema_url(schema)
    site_dir = tmp_path_factory.mktemp("pg_api_template") / "nodedesk"
    database = Database.from_url(url)
    tokens = build_site(database, url, site_dir)
    database.dispose()
    yield schema, site_dir, tokens
    with admin.connect() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


def copy_site(template_schema: str, url: str) -> None:
    """Replace every row of the database at ``url`` with the template schema's."""
    truncate_all(url)
    engine = make_engine(url)
    with engine.begin() as conn:
        for table in Base.metadata.sorted_tables:
            conn.execute(text(f'INSERT INTO "{table.name}" SELECT * FROM "{template_schema}"."{table.name}"'))
            if "id" in table.c and table.c["id"].primary_key:
                conn.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('\"{table.name}\"', 'id'), "
                        f'COALESCE(MAX(id), 1), MAX(id) IS NOT NULL) FROM "{table.name}"'
                    )
                )
    engine.dispose()


@pytest.fixture
def api_runtime(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[tuple[Runtime, dict[str, str]]]:
    if backend == "postgresql":
        url = request.getfixturevalue("pg_worker_url")
        schema, template_dir, tokens = request.getfixturevalue("pg_api_template")
        copy_site(schema, url)
        site_dir = tmp_path / "nodedesk"
        shutil.copytree(template_dir, site_dir)
        database = Database.from_url(url)
        config = Config(database_url=url, private_dir=site_dir)
        yield Runtime(config, clock=FrozenClock(DEFAULT_NOW), login=ADMIN, database=database), dict(tokens)
        database.dispose()
        return
    template, tokens = request.getfixturevalue("sqlite_api_template")
    site_dir = tmp_path / "nodedesk"
    shutil.copytree(template, site_dir)
    url = f"sqlite:///{site_dir / 'nodedesk.db'}"
    database = Database.from_url(url)
    runtime = Runtime(
        Config(database_url=url, private_dir=site_dir),
        clock=FrozenClock(DEFAULT_NOW),
        login=ADMIN,
        database=database,
    )
    yield runtime, dict(tokens)
    database.dispose()


@pytest.fixture
def api_site(api_runtime: tuple[Runtime, dict[str, str]]) -> Iterator[ApiSite]:
    runtime, tokens = api_runtime
    client = TestClient(create_app(runtime), raise_server_exceptions=False)
    site = ApiSite(runtime, client)
    site.tokens.update(tokens)
    with site.client:
        yield site
