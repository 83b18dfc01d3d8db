"""Schema versioning with alembic, driven from code (no alembic.ini needed).

alembic is imported only when migrating or explaining a mismatch: every start of ``nodedesk``
checks the schema, and that check (:func:`check_schema`) reads the current revision with one
SELECT and the head from the migration files' ``revision``/``down_revision`` lines. Importing
alembic and its script directory would cost a noticeable part of the app's start.
"""

from __future__ import annotations

import re
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING

from sqlalchemy import Engine, inspect, text

from ..errors import NotInitializedError, SchemaOutdatedError

if TYPE_CHECKING:
    from alembic.config import Config as AlembicConfig

_REVISION = re.compile(r"^revision(?:\s*:\s*str)?\s*=\s*[\"']([^\"']+)[\"']\s*$", re.M)
_DOWN = re.compile(r"^down_revision(?:\s*:[^=]+)?\s*=\s*(None|[\"']([^\"']+)[\"'])\s*$", re.M)


def alembic_config(engine: Engine | None = None) -> AlembicConfig:
    from alembic.config import Config as AlembicConfig

    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(resources.files("nodedesk.core") / "migrations"))
    if engine is not None:
        cfg.attributes["engine"] = engine
    return cfg


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    heads = ScriptDirectory.from_config(alembic_config()).get_heads()
    assert len(heads) == 1, f"migrations must have one head, found {heads}"
    return heads[0]


@cache
def quick_head() -> str | None:
    """The head revision read from the migration files without alembic; None when in doubt
    (a merge, a branch, an unreadable file: then :func:`head_revision` decides)."""
    versions = resources.files("nodedesk.core") / "migrations" / "versions"
    down: dict[str, str | None] = {}
    for item in versions.iterdir():
        if not item.name.endswith(".py") or item.name.startswith("__"):
            continue
        source = item.read_text(encoding="utf-8")
        rev, parent = _REVISION.search(source), _DOWN.search(source)
        if rev is None or parent is None:
            return None
        down[rev.group(1)] = parent.group(2)
    heads = set(down) - set(down.values())
    return heads.pop() if len(heads) == 1 else None


def current_revision(engine: Engine) -> str | None:
    """The database's revision (alembic's version table), or None when it has none."""
    with engine.connect() as conn:
        if not inspect(conn).has_table("alembic_version"):
            return None
        rows = conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    if len(rows) > 1:
        raise SchemaOutdatedError(
            f"database schema has several heads {sorted(rows)}; run 'nodedesk db upgrade'"
        )
    return rows[0] if rows else None


def is_known_revision(revision: str) -> bool:
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(alembic_config())
    try:
        return script.get_revision(revision) is not None
    except Exception:
        return False


def upgrade(engine: Engine, revision: str = "head") -> None:
    from alembic import command

    command.upgrade(alembic_config(engine), revision)


def has_tables(engine: Engine) -> bool:
    return bool(inspect(engine).get_table_names())


def check_schema(engine: Engine) -> str:
    """Refuse to run on a missing or out-of-date schema, with what to do about it."""
    current = current_revision(engine)
    if current is None:
        raise NotInitializedError("nodedesk is not initialized here; run 'nodedesk init' first")
    if current == quick_head():
        return current  # the usual case, decided without importing alembic
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
