"""Alembic environment: runs against the engine handed over in ``config.attributes``.

On SQLite, foreign keys are switched off while migrations run: rebuilding a table (SQLite's
way to change a primary key) drops it, and with foreign keys on that drop would first delete or
cascade into the rows that refer to it. ``PRAGMA foreign_keys`` is ignored inside a
transaction, so it is set on the raw connection before the migration's transaction begins, and
``PRAGMA foreign_key_check`` must come back empty before the migration commits.
"""

from __future__ import annotations

from alembic import context
from nodedesk.core.models import Base

config = context.config
target_metadata = Base.metadata


def run_migrations_online() -> None:
    engine = config.attributes["engine"]
    with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        raw = connection.connection.dbapi_connection if sqlite else None
        if raw is not None:
            raw.execute("PRAGMA foreign_keys = OFF")
        try:
            context.configure(
                connection=connection,
                target_metadata=target_metadata,
                render_as_batch=sqlite,
                compare_type=True,
            )
            with context.begin_transaction():
                context.run_migrations()
                if sqlite:
                    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                    if broken:
                        raise RuntimeError(f"migration left rows pointing nowhere: {broken[:5]}")
            connection.commit()
        finally:
            if raw is not None:
                raw.execute("PRAGMA foreign_keys = ON")


if context.is_offline_mode():  # pragma: no cover - we never generate offline SQL
    raise SystemExit("offline migrations are not supported")
run_migrations_online()
