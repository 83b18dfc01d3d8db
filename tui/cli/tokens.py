"""``nodedesk token create|list|revoke``: credentials of the HTTP API (help/api.md)."""

from __future__ import annotations

import argparse
import sys
from datetime import datetime
from typing import TYPE_CHECKING

from nodedesk.core import timeutil
from nodedesk.core.services.site import api_tokens

from . import output
from .common import add_json

if TYPE_CHECKING:
    from . import CliEnv


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("token", help="API tokens for 'nodedesk serve' (admins)")
    s = p.add_subparsers(dest="token_command", metavar="ACTION", required=True)
    c = s.add_parser(
        "create",
        help="make a token acting as a user; prints it once on standard output (only its hash is kept)",
    )
    c.add_argument("name", help="what the token is for, e.g. grafana (letters, digits, '.', '_', '-')")
    c.add_argument("--user", required=True, help="the registered user the token acts as (with their roles)")
    c.add_argument(
        "--scope",
        required=True,
        choices=api_tokens.TOKEN_SCOPES,
        help="read: only reading; write: what the user's roles allow; feed: only the calendar feed",
    )
    c.add_argument(
        "--expires",
        default=api_tokens.DEFAULT_EXPIRY,
        help=f"90d, 12w, 36h, a day YYYY-MM-DD or never (default {api_tokens.DEFAULT_EXPIRY})",
    )
    add_json(c)
    c.set_defaults(handler=cmd_create)
    ls = s.add_parser("list", help="every token: user, scope, expiry, last use, revoked")
    add_json(ls)
    ls.set_defaults(handler=cmd_list)
    r = s.add_parser("revoke", help="stop a token at once (it stays listed)")
    r.add_argument("name")
    add_json(r)
    r.set_defaults(handler=cmd_revoke)


def _when(instant: datetime | None, tz: str, none: str = "-") -> str:
    return timeutil.format_short(instant, tz) if instant else none


def cmd_create(args: argparse.Namespace, env: CliEnv) -> int:
    with env.runtime().write() as ctx:
        made = api_tokens.create_token(ctx, args.name, args.user, args.scope, args.expires)
        tz, now = ctx.tz, ctx.now()
    t = made.token
    if args.json:
        output.print_json(t.to_json(tz, now) | {"token": made.secret})
        return 0
    print(made.secret)
    output.note(
        f"Created {t.scope} token {t.name!r} for {t.user}, expires {_when(t.expires_at, tz, 'never')}. "
        "Copy it now: it is shown only this once (nodedesk keeps only its hash)."
    )
    sys.stdout.flush()
    return 0


def cmd_list(args: argparse.Namespace, env: CliEnv) -> int:
    with env.runtime().read() as ctx:
        rows = api_tokens.list_tokens(ctx)
        tz, now = ctx.tz, ctx.now()
    if args.json:
        output.print_json([t.to_json(tz, now) for t in rows])
        return 0
    output.table(
        ["NAME", "USER", "SCOPE", "STATUS", "CREATED", "EXPIRES", "LAST USED", "BY"],
        [
            [
                t.name,
                t.user,
                t.scope,
                t.status(now),
                _when(t.created_at, tz),
                _when(t.expires_at, tz, "never"),
                _when(t.last_used_at, tz, "never"),
                t.created_by,
            ]
            for t in rows
        ],
    )
    return 0


def cmd_revoke(args: argparse.Namespace, env: CliEnv) -> int:
    with env.runtime().write() as ctx:
        t = api_tokens.revoke_token(ctx, args.name)
        tz, now = ctx.tz, ctx.now()
    if args.json:
        output.print_json(t.to_json(tz, now))
    else:
        print(f"Revoked token {t.name!r} ({t.scope}, for {t.user})")
    return 0
