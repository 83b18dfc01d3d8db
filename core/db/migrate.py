"""Schema versioning with alembic, driven from code (no alembic.ini needed)."""

from __future__ import annotations

from importlib import resources

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect

from ..errors import NotInitializedError, SchemaOutdatedError


def alembic_config(engine: Engine | None = None) -> AlembicConfig:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(resources.files("nodedesk.core") / "migrations"))
    if engine is not None:
        cfg.attributes["engine"] = engine
    return cfg


def head_revision() -> str:
    heads = ScriptDirectory.from_config(alembic_config()).get_heads()
    assert len(heads) == 1, f"migrations must have one head, found {heads}"
    return heads[0]


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def is_known_revision(revision: str) -> bool:
    script = ScriptDirectory.from_config(alembic_config())
    try:
        return script.get_revision(revision) is not None
    except Exception:
        return False


def upgrade(engine: Engine, revision: str = "head") -> None:
    command.upgrade(alembic_config(engine), revision)


def has_tables(engine: Engine) -> bool:
    return bool(inspect(engine).get_table_names())


def check_schema(engine: Engine) -> str:
    """Refuse to run on a missing or out-of-date schema, with what to do about it."""
    current = current_revision(engine)
    if current is None:
        raise NotInitializedError("nodedesk is not initialized here; run 'nodedesk init' first")
    head = head_revision()
    if current != head:
        if not is_known_revision(current):
            raise SchemaOutdatedError(
                f"database schema {current} is newer than this nodedesk ({head}); upgrade nodedesk"
            )
        raise SchemaOutdatedError(
            f"database schema {current} is older than this nodedesk ({head}); "
            "back it up, then run 'nodedesk db upgrade'"
        )
    return current
