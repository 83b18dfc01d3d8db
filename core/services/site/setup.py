"""``nodedesk init``: create the schema, store site settings, register the first admin."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import inspect, text

from ... import audit
from ... import site as site_settings
from ...auditseal import AuditSeal
from ...clock import Clock, clock_from_env
from ...config import default_data_dir
from ...context import ServiceContext
from ...db import migrate
from ...db.engine import Database
from ...errors import PermissionDenied, ValidationError
from ...identity import Actor, resolve_actor
from ...models import Base
from ...timeutil import check_timezone
from ..invoicing.rates import load_skus
from .users import create_user_row
from .users import view as user_view

if TYPE_CHECKING:
    from ...runtime import Runtime


@dataclass(frozen=True)
class InitResult:
    admin: str
    timezone: str
    currency: str
    revision: str
    demo: dict[str, int] | None = None


def is_initialized(database: Database) -> bool:
    tables = inspect(database.engine).get_table_names()
    if "settings" not in tables:
        return False
    with database.engine.connect() as conn:
        return (
            conn.execute(text("SELECT count(*) FROM settings WHERE key = 'site_timezone'")).scalar_one() > 0
        )


def wipe(database: Database) -> None:
    """Drop every nodedesk table (``init --force``)."""
    Base.metadata.drop_all(database.engine)
    with database.engine.begin() as conn:
        conn.execute(text("DROP TABLE IF EXISTS alembic_version"))


def check_options(timezone: str, currency: str) -> tuple[str, str]:
    """The site timezone and currency, checked before anything (a database file) is created."""
    return check_timezone(timezone, field="timezone"), site_settings.validate_setting("currency", currency)


def require_backup_admin(runtime: Runtime) -> None:
    """``check-import`` and ``import`` read files as the account nodedesk runs as (the service
    account, through sudo): on an existing site only an admin may. A restore into a blank
    database is checked against the imported admins instead (core/backup/importer.py)."""
    if not is_initialized(runtime.database):
        return
    with runtime.database.read() as session:
        runtime.actor(session).require("backup")


def require_site_admin(
    database: Database,
    login: str,
    override: str | None = None,
    *,
    action: str = "wipe this site",
    field: str = "init",
) -> Actor:
    """Only an admin of an existing site may wipe it (``init --force``) or upgrade its schema.

    ``override`` is ``NODEDESK_USER``: an admin acting as a non-admin is refused too."""
    with database.read() as session:
        actor = resolve_actor(session, login, override)
    if "admin" not in actor.roles:
        raise PermissionDenied(f"{actor.username} may not {action} (needs role admin)", field=field)
    return actor


def initialize(
    database: Database,
    login: str,
    *,
    timezone: str = "UTC",
    currency: str = "USD",
    force: bool = False,
    demo: bool = False,
    clock: Clock | None = None,
    environ: dict[str, str] | None = None,
    override: str | None = None,
    confirmed: bool = False,
    seal: AuditSeal | None = None,
) -> InitResult:
    """Create a site whose first admin is ``login``.

    Wiping an existing site (``force``) needs an admin of that site and ``confirmed``."""
    timezone, currency = check_options(timezone, currency)
    if is_initialized(database):
        if not force:
            raise ValidationError(
                "nodedesk is already initialized here; use --force to wipe it and start again",
                field="init",
            )
        require_site_admin(database, login, override)
        if not confirmed:
            raise ValidationError(
                "--force deletes every record of this site; confirm with --yes", field="init"
            )
        wipe(database)
    elif migrate.has_tables(database.engine) and migrate.current_revision(database.engine) is None:
        raise ValidationError(
            "the database holds tables that are not nodedesk's; refusing to touch it", field="database"
        )
    migrate.upgrade(database.engine)
    revision = migrate.current_revision(database.engine) or ""
    clock = clock or clock_from_env(timezone, environ)
    now = clock.now()
    demo_counts = None
    # The audit key (kept if this data dir has one) and anchor live outside the database.
    seal = seal or AuditSeal(default_data_dir(environ))
    seal.create_key()
    with database.write() as session:
        for key, value in (("site_timezone", timezone), ("currency", currency)):
            site_settings.store(session, key, value, by=login, at=now)
        admin = create_user_row(session, login, ["admin"], at=now, by=login)
        ctx = ServiceContext(
            session=session,
            actor=Actor(login, frozenset({"admin"}), login),
            clock=clock,
            site=site_settings.load(session),
            seal=seal,
        )
        audit.reset_anchor_on_commit(session)  # a new log: its head replaces any old anchor
        skus = load_skus(ctx, record=False)  # shipped fee SKUs (data/skus.json), listed below
        ctx.record(
            "site.initialized",
            "site",
            "",
            "nodedesk",
            after={
                "timezone": timezone,
                "currency": currency,
                "admin": login,
                "schema": revision,
                "skus": skus,
            },
        )
        ctx.record("user.created", "user", admin.id, login, after=user_view(admin).to_json())
        if demo:
            from .demo import load_demo

            demo_counts = load_demo(ctx)
    return InitResult(login, timezone, currency, revision, demo_counts)
