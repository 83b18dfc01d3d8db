"""Engine and transaction handling for SQLite (embedded default) and PostgreSQL.

Bounded waits: every connection waits at most ``lock_timeout_seconds`` (site setting, default
10 s) for a lock another admin's save holds (SQLite ``busy_timeout``, PostgreSQL
``lock_timeout``), and a PostgreSQL statement runs at most ``statement_timeout_seconds``
(default 120 s). The values are read from the ``settings`` table when a connection opens (the
defaults before ``nodedesk init``, or when the stored value is invalid). A wait that runs out
becomes :class:`~nodedesk.core.errors.BusyError` ("another admin is saving; try again") in
:func:`busy_error`, the one place both the command line and the app map it.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.exc import StaleDataError
from sqlalchemy.pool import ConnectionPoolEntry

from ..errors import BusyError, ConflictError

SQLITE_BUSY_TIMEOUT_MS = 10_000  # until the connection has read lock_timeout_seconds
DEFAULT_LOCK_TIMEOUT_S = 10
DEFAULT_STATEMENT_TIMEOUT_S = 120
TIMEOUT_SETTINGS = ("lock_timeout_seconds", "statement_timeout_seconds")
BUSY_MESSAGE = "another admin is saving; try again (nothing was saved)"
_SETTINGS_QUERY = (
    "SELECT key, value FROM settings WHERE key IN ('lock_timeout_seconds', 'statement_timeout_seconds')"
)
# The database's own no-overlap guarantee on reservations (migration 0004): the PostgreSQL
# exclusion constraint and the SQLite triggers both carry this name.
OVERLAP_GUARD = "reservations_no_overlap"
OVERLAP_REFUSED = (
    "the reservation overlaps another pending or approved reservation on its node (refused by the "
    "database); reservations on a node may touch but never overlap"
)
WRITE_OPTION = "nodedesk_write"


def _timeouts_from_rows(rows: Sequence[Sequence[Any]]) -> tuple[int, int]:
    """(lock, statement) seconds from stored ``settings`` rows; a missing or invalid value
    gives the default (a bad value is reported by the settings themselves, core/site.py)."""
    from ..errors import ValidationError
    from ..site import validate_setting

    found = {str(k): str(v) for k, v in rows}
    defaults = (DEFAULT_LOCK_TIMEOUT_S, DEFAULT_STATEMENT_TIMEOUT_S)
    values = []
    for key, default in zip(TIMEOUT_SETTINGS, defaults, strict=True):
        try:
            values.append(int(validate_setting(key, found[key])) if key in found else default)
        except ValidationError:
            values.append(default)
    return values[0], values[1]


def _configure_sqlite(engine: Engine) -> None:
    """WAL, foreign keys, busy timeout; and BEGIN IMMEDIATE for write transactions.

    pysqlite's own transaction handling is switched off so we control BEGIN ourselves: a write
    unit of work takes the database write lock up front (``BEGIN IMMEDIATE``), which serializes
    concurrent writers (check-then-insert rules such as "no overlapping reservations" hold) and
    avoids the deadlock-prone lock upgrade of a deferred transaction.
    """

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: sqlite3.Connection, _record: ConnectionPoolEntry) -> None:
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        cur.execute("PRAGMA foreign_keys = ON")
        if engine.url.database not in (None, "", ":memory:"):
            cur.execute("PRAGMA journal_mode = WAL")
            cur.execute("PRAGMA synchronous = NORMAL")
        try:
            rows = cur.execute(_SETTINGS_QUERY).fetchall()
        except sqlite3.Error:  # not initialized yet (no settings table): the default
            rows = []
        lock_s, _statement_s = _timeouts_from_rows(rows)
        cur.execute(f"PRAGMA busy_timeout = {lock_s * 1000}")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
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
    engine = create_engine(url, pool_pre_ping=True)
    if engine.dialect.name == "postgresql":
        _configure_postgresql(engine)
    return engine


def _configure_postgresql(engine: Engine) -> None:
    """``lock_timeout`` and ``statement_timeout`` on every new session (module docstring)."""

    def apply(cur: Any, lock_s: int, statement_s: int) -> None:
        cur.execute(f"SET lock_timeout = '{int(lock_s)}s'")
        cur.execute(f"SET statement_timeout = '{int(statement_s)}s'")

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
        cur = dbapi_conn.cursor()
        try:
            # The defaults first and committed: reading the settings must not wait forever either.
            apply(cur, DEFAULT_LOCK_TIMEOUT_S, DEFAULT_STATEMENT_TIMEOUT_S)
            dbapi_conn.commit()
            try:
                cur.execute(_SETTINGS_QUERY)
                rows = cur.fetchall()
            except Exception:  # no settings table yet, or it is locked: the defaults
                dbapi_conn.rollback()
                return
            apply(cur, *_timeouts_from_rows(rows))
            dbapi_conn.commit()
        finally:
            cur.close()


def busy_error(exc: BaseException) -> BusyError | None:
    """The :class:`BusyError` for a database error that means "waited too long for another
    save" (SQLite "database is locked", PostgreSQL lock_not_available, query_canceled by the
    statement timeout, deadlock_detected); ``None`` for any other error. Shared by the command
    line (tui/cli/) and the app (tui/workers.py) so both say the same line."""
    orig = exc.orig if isinstance(exc, DBAPIError) else exc
    if isinstance(orig, sqlite3.OperationalError):
        text_ = str(orig).lower()
        if "database is locked" in text_ or "database table is locked" in text_:
            return BusyError(BUSY_MESSAGE)
        return None
    sqlstate = getattr(orig, "sqlstate", None)  # psycopg errors carry the SQLSTATE
    if sqlstate in ("55P03", "40P01"):  # lock_not_available, deadlock_detected
        return BusyError(BUSY_MESSAGE)
    if sqlstate == "57014":  # query_canceled: statement_timeout ran out
        return BusyError(
            "another admin is saving, or the database is slow: a statement ran past "
            "statement_timeout_seconds; nothing was saved; try again"
        )
    return None


def pg_timeouts(session: Session | Connection) -> dict[str, str]:
    """The wait limits in force on this database session, as the server reports them: on
    PostgreSQL ``{"lock_timeout": "10s", "statement_timeout": "2min"}``, on SQLite
    ``{"busy_timeout": "10000ms"}``. For ``nodedesk doctor``; a value of ``0``/``0ms`` means
    "wait forever"."""
    dialect = session.get_bind().dialect.name if isinstance(session, Session) else session.dialect.name
    if dialect == "postgresql":
        return {
            name: str(session.execute(text(f"SHOW {name}")).scalar_one())
            for name in ("lock_timeout", "statement_timeout")
        }
    if dialect == "sqlite":
        return {"busy_timeout": f"{session.execute(text('PRAGMA busy_timeout')).scalar_one()}ms"}
    return {}


# session.info key: True in a write unit of work that will be rolled back (``write(dry_run=True)``).
DRY_RUN_INFO = "nodedesk_dry_run"


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
        session.info[DRY_RUN_INFO] = dry_run  # services that preview by doing may check it
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
        except DBAPIError as exc:
            session.rollback()
            busy = busy_error(exc)
            if busy is not None:
                raise busy from exc
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
            except DBAPIError as exc:
                busy = busy_error(exc)
                if busy is not None:
                    raise busy from exc
                raise
            finally:
                session.rollback()

    def dispose(self) -> None:
        self.engine.dispose()
