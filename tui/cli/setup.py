"""``nodedesk init`` and ``nodedesk db upgrade|status``."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from nodedesk.core import deploy
from nodedesk.core.db import migrate
from nodedesk.core.errors import NotInitializedError, SchemaOutdatedError, ValidationError
from nodedesk.core.runtime import Runtime
from nodedesk.core.services.site import setup

from . import output

if TYPE_CHECKING:
    from . import CliEnv


def shown_url(url: str) -> str:
    """The database URL without its password (terminals are shared, scrollback is kept)."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return url


def _default_timezone() -> str:
    # pendulum.local_timezone() itself; that name is also a submodule, which confuses mypy's cache
    from pendulum.tz import get_local_timezone

    try:
        name = get_local_timezone().name
    except Exception:
        return "UTC"
    return name if "/" in name or name == "UTC" else "UTC"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("init", help="create the database and make you its first admin")
    p.add_argument(
        "--timezone",
        default=None,
        help="site timezone, an IANA name such as America/New_York (default: this machine's)",
    )
    p.add_argument("--currency", default="USD", help="ISO 4217 currency code (default USD)")
    p.add_argument("--demo", action="store_true", help="also load the demo centre from data/")
    p.add_argument(
        "--force",
        action="store_true",
        help="wipe an existing nodedesk database first (admins of that site only)",
    )
    p.add_argument("--yes", action="store_true", help="with --force: do not ask, wipe")
    p.set_defaults(handler=cmd_init)

    db = sub.add_parser("db", help="database schema: status and upgrade")
    dbsub = db.add_subparsers(dest="db_command", metavar="ACTION", required=True)
    s = dbsub.add_parser("status", help="show the schema revision and whether it is current")
    s.set_defaults(handler=cmd_db_status)
    u = dbsub.add_parser("upgrade", help="migrate the schema to this version of nodedesk")
    u.set_defaults(handler=cmd_db_upgrade)


def _runtime(env: CliEnv, *, create: bool = False, require_private: bool = True) -> Runtime:
    """This command's runtime (``init`` may create the file; ``db status`` reports exposure)."""
    if env._runtime is None:
        env._runtime = Runtime(env.config, create=create, require_private=require_private)
    return env._runtime


WIPE_WORD = "wipe"


def _confirm_wipe(assume_yes: bool) -> bool:
    """``--yes``, or the word typed on a terminal (a stray Enter or 'y' does not wipe a site)."""
    if assume_yes:
        return True
    if not sys.stdin or not sys.stdin.isatty():
        return False
    sys.stderr.write(f"This deletes every record of this site. Type '{WIPE_WORD}' to go on: ")
    sys.stderr.flush()
    return sys.stdin.readline().strip() == WIPE_WORD


def cmd_init(args: argparse.Namespace, env: CliEnv) -> int:
    tz = args.timezone or _default_timezone()
    setup.check_options(tz, args.currency)  # a refused init leaves no database file behind
    runtime = _runtime(env, create=True)
    confirmed = False
    if args.force and setup.is_initialized(runtime.database):
        setup.require_site_admin(runtime.database, runtime.login, env.config.user_override)
        confirmed = _confirm_wipe(args.yes)
        if not confirmed:
            raise ValidationError(
                f"--force deletes every record of this site; confirm with --yes or type '{WIPE_WORD}'",
                field="init",
            )
    result = setup.initialize(
        runtime.database,
        runtime.login,
        timezone=tz,
        currency=args.currency,
        force=args.force,
        demo=args.demo,
        environ=env.config.environ,
        override=env.config.user_override,
        confirmed=confirmed,
    )
    print(f"Initialized nodedesk at {shown_url(env.config.database_url)}")
    print(f"  site timezone {result.timezone}, currency {result.currency}, schema {result.revision}")
    print(f"  {result.admin} is an admin")
    if result.demo:
        print("  demo data: " + ", ".join(f"{v} {k}" for k, v in result.demo.items()))
    print("Start the app with 'nodedesk'; see 'nodedesk help' for the basics.")
    return 0


def cmd_db_status(args: argparse.Namespace, env: CliEnv) -> int:
    runtime = _runtime(env, require_private=False)
    path = deploy.sqlite_path(env.config.database_url)
    for exposure in deploy.sqlite_exposures(path) if path else []:
        sys.stderr.write(f"nodedesk: warning: database: {exposure.line()}\n")
    current = migrate.current_revision(runtime.database.engine)
    head = migrate.head_revision()
    output.fields(
        [
            ("database", shown_url(env.config.database_url)),
            ("schema", current or "(none)"),
            ("this nodedesk", head),
        ]
    )
    if current is None:
        raise NotInitializedError("nodedesk is not initialized here; run 'nodedesk init' first")
    if current != head:
        raise SchemaOutdatedError(f"schema {current} is not {head}; run 'nodedesk db upgrade'")
    print("status:        up to date")
    return 0


def cmd_db_upgrade(args: argparse.Namespace, env: CliEnv) -> int:
    runtime = env.runtime(check_schema=False)
    before = migrate.current_revision(runtime.database.engine)
    if before is None:
        raise NotInitializedError("nodedesk is not initialized here; run 'nodedesk init' first")
    if not migrate.is_known_revision(before):
        raise SchemaOutdatedError(f"database schema {before} is newer than this nodedesk; upgrade nodedesk")
    setup.require_site_admin(
        runtime.database,
        runtime.login,
        env.config.user_override,
        action="upgrade the schema",
        field="db upgrade",
    )
    migrate.upgrade(runtime.database.engine)
    after = migrate.current_revision(runtime.database.engine)
    print(f"schema {before} -> {after}" if before != after else f"schema {after} is already current")
    return 0
