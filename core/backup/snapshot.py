"""One consistent read of the whole database, and the acting admin checked inside it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import Connection
from sqlalchemy.orm import Session

from .. import site as site_settings
from ..context import ServiceContext
from ..identity import resolve_actor
from ..runtime import Runtime


@dataclass
class Snapshot:
    ctx: ServiceContext
    conn: Connection
    revision: str


def schema_revision(conn: Connection) -> str | None:
    from alembic.runtime.migration import MigrationContext  # only here: alembic is slow to import

    return MigrationContext.configure(conn).get_current_revision()


@contextmanager
def read_snapshot(runtime: Runtime, capability: str = "backup") -> Iterator[Snapshot]:
    """A read-only transaction that sees one point in time for every query in it.

    PostgreSQL: ``REPEATABLE READ READ ONLY`` (one snapshot for the whole transaction). SQLite: a
    single deferred transaction; its read snapshot is taken by the first query and held to the end
    (WAL mode lets writers carry on meanwhile without changing what we see).
    """
    engine = runtime.database.engine
    conn = engine.connect()
    if engine.dialect.name == "postgresql":
        conn = conn.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
    try:
        with Session(bind=conn) as session:
            try:
                site = site_settings.load(session)
                actor = resolve_actor(session, runtime.login, runtime.config.user_override)
                actor.require(capability)
                ctx = ServiceContext(session, actor, runtime.clock_for(site.site_timezone), site)
                yield Snapshot(ctx, session.connection(), schema_revision(session.connection()) or "")
            finally:
                session.rollback()
    finally:
        conn.close()
