"""Schema versioning: migrations produce exactly the models' schema on both back
ends, and an empty, old or unknown schema is detected with a clear error."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from nodedesk.core.db import migrate
from nodedesk.core.db.engine import make_engine
from nodedesk.core.errors import NotInitializedError, SchemaOutdatedError
from nodedesk.core.models import Base
from sqlalchemy import Engine, create_engine, inspect, text

from tests.conftest import PG_URL, pg_schema_url


@pytest.fixture
def empty_engine(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """An engine on a brand-new, empty database (SQLite file or PostgreSQL schema)."""
    if backend == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'empty.db'}")
        yield engine
        engine.dispose()
        return
    problem = request.getfixturevalue("pg_problem")
    if problem:
        request.getfixturevalue("pg_worker_url")  # skips locally, fails in CI
    schema = f"nd_mig_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine = make_engine(pg_schema_url(schema))
    try:
        yield engine
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def stamp(engine: Engine, revision: str) -> None:
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM alembic_version"))
        conn.execute(text("INSERT INTO alembic_version (version_num) VALUES (:r)"), {"r": revision})


def test_upgrade_head_matches_models(empty_engine: Engine) -> None:
    migrate.upgrade(empty_engine)
    assert migrate.current_revision(empty_engine) == migrate.head_revision()
    with empty_engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True, "compare_server_default": False})
        diff = compare_metadata(ctx, Base.metadata)
    assert diff == []
    tables = set(inspect(empty_engine).get_table_names())
    assert set(Base.metadata.tables) <= tables
    assert "alembic_version" in tables


def test_upgrade_is_idempotent(empty_engine: Engine) -> None:
    migrate.upgrade(empty_engine)
    migrate.upgrade(empty_engine)
    assert migrate.check_schema(empty_engine) == migrate.head_revision()


def test_migrations_have_one_head() -> None:
    assert migrate.head_revision()
    assert migrate.is_known_revision(migrate.head_revision())
    assert not migrate.is_known_revision("ffffdeadbeef")


def test_empty_database_not_initialized(empty_engine: Engine) -> None:
    assert not migrate.has_tables(empty_engine)
    assert migrate.current_revision(empty_engine) is None
    with pytest.raises(NotInitializedError) as err:
        migrate.check_schema(empty_engine)
    assert "nodedesk init" in str(err.value)


def test_unknown_revision_is_newer_schema(empty_engine: Engine) -> None:
    migrate.upgrade(empty_engine)
    stamp(empty_engine, "9999future")
    with pytest.raises(SchemaOutdatedError) as err:
        migrate.check_schema(empty_engine)
    assert "newer than this nodedesk" in str(err.value)
    assert "9999future" in str(err.value)


def test_older_known_revision_asks_for_upgrade(empty_engine: Engine) -> None:
    """A database at the first release's schema (0001) is older than head and asks for an upgrade."""
    from alembic import command

    command.upgrade(migrate.alembic_config(empty_engine), "0001")
    assert migrate.head_revision() != "0001"
    with pytest.raises(SchemaOutdatedError) as err:
        migrate.check_schema(empty_engine)
    message = str(err.value)
    assert "older" in message and "0001" in message and "nodedesk db upgrade" in message
    migrate.upgrade(empty_engine)
    migrate.check_schema(empty_engine)
