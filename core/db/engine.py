"""Engine and transaction handling for SQLite (embedded default) and PostgreSQL."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.exc import StaleDataError

from ..errors import ConflictError

SQLITE_BUSY_TIMEOUT_MS = 15_000
# The database's own no-overlap guarantee on reservations (migration 0004): the PostgreSQL
# exclusion constraint and the SQLite triggers both carry this name.
OVERLAP_GUARD = "reservations_no_overlap"
OVERLAP_REFUSED = (
    "the reservation overlaps another pending or approved reservation on its node (refused by the "
    "database); reservations on a node may touch but never overlap"
)
WRITE_OPTION = "nodedesk_write"


def _configure_sqlite(engine: Engine) -> None:
    """WAL, foreign keys, busy timeout; and BEGIN IMMEDIATE for write transactions.

    pysqlite's own transaction handling is switched off so we control BEGIN ourselves: a write
    unit of work takes the database write lock up front (``BEGIN IMMEDIATE``), which serializes
    concurrent writers (check-then-insert rules such as "no overlapping reservations" hold) and
    avoids the deadlock-prone lock upgrade of a deferred transaction.
    """

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        cur.execute("PRAGMA foreign_keys = ON")
        if engine.url.database not in (None, "", ":memory:"):
            cur.execute("PRAGMA journal_mode = WAL")
            cur.execute("PRAGMA synchronous = NORMAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn) -> None:  # type: ignore[no-untyped-def]
        if conn.get_execution_options().get(WRITE_OPTION):
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            conn.exec_driver_sql("BEGIN")


def create_private_file(path: Path) -> None:
    """Make a missing database file 0600 in 0700 directories whatever the umask (SQLite gives
    its -wal and -shm files the database file's mode); existing ones are left as they are."""
    missing = [d for d in [path.parent, *path.parent.parents] if not d.exists()]
    for directory in reversed(missing):
        directory.mkdir(mode=0o700, exist_ok=True)
        os.chmod(directory, 0o700)
    if not path.exists():
        fd = os.open(path, os.O_CREAT | os.O_WRONLY, 0o600)
        try:
            os.fchmod(fd, 0o600)
        finally:
            os.close(fd)


def make_engine(url: str, *, create_dirs: bool = True) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if create_dirs and parsed.database and parsed.database != ":memory:":
            create_private_file(Path(parsed.database).expanduser())
        engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000})
        _configure_sqlite(engine)
        return engine
    return create_engine(url, pool_pre_ping=True)


class Database:
    """An engine plus session factories for read and write units of work."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._read = sessionmaker(bind=engine, expire_on_commit=False)
        self._write = sessionmaker(
            bind=engine.execution_options(**{WRITE_OPTION: True}), expire_on_commit=False
        )

    @classmethod
    def from_url(cls, url: str) -> Database:
        return cls(make_engine(url))

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def write(self, *, dry_run: bool = False) -> Iterator[Session]:
        """A write transaction: commit on success, roll back everything on any error.

        With ``dry_run`` the whole unit of work runs (constraints, flushes, audit) and is then
        rolled back.
        """
        session = self._write()
        try:
            session.begin()
            yield session
            if dry_run:
                session.rollback()
            else:
                session.commit()
        except IntegrityError as exc:
            session.rollback()
            if OVERLAP_GUARD in str(exc.orig):
                # Services check first and name the clash; this is the backstop for a race or
                # for anything that bypassed them.
                raise ConflictError(OVERLAP_REFUSED, field="reservation") from exc
            raise
        except StaleDataError as exc:
            # A row's version moved under us (a concurrent save won the race): a conflict the
            # user can act on, not a crash. Everything in this unit of work is rolled back.
            session.rollback()
            raise ConflictError(
                "the record was changed by someone else while you were saving; nothing was saved, "
                "reload it and try again"
            ) from exc
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A read-only unit of work (rolled back at the end)."""
        with self._read() as session:
            try:
                yield session
            finally:
                session.rollback()

    def dispose(self) -> None:
        self.engine.dispose()
