"""``nodedesk user add|list|roles``."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from nodedesk.core.services.site import users

from . import output
from .common import add_json

if TYPE_CHECKING:
    from . import CliEnv


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("user", help="users and their roles")
    s = p.add_subparsers(dest="user_command", metavar="ACTION", required=True)
    a = s.add_parser("add", help="register a user (their OS login name)")
    a.add_argument("name")
    a.add_argument(
        "--role",
        required=True,
        help="admin, rental_manager, billing_manager, rate_manager, viewer (comma-separated for several)",
    )
    a.add_argument("--full-name", default="")
    a.add_argument("--email", default="")
    a.set_defaults(handler=cmd_add)
    r = s.add_parser("roles", help="replace a user's roles")
    r.add_argument("name")
    r.add_argument("--role", required=True)
    r.set_defaults(handler=cmd_roles)
    e = s.add_parser("edit", help="change a user's name, email or active flag")
    e.add_argument("name")
    e.add_argument("--full-name")
    e.add_argument("--email")
    e.add_argument("--active", choices=["yes", "no"])
    e.set_defaults(handler=cmd_edit)
    ls = s.add_parser("list", help="list users")
    add_json(ls)
    ls.set_defaults(handler=cmd_list)


def _show(view: users.UserView, verb: str) -> None:
    print(f"{verb} user {view.username} with roles {', '.join(view.roles)}")


def cmd_add(args: argparse.Namespace, env: CliEnv) -> int:
    with env.runtime().write() as ctx:
        v = users.add_user(ctx, args.name, args.role, full_name=args.full_name, email=args.email)
    _show(v, "Added")
    return 0


def cmd_roles(args: argparse.Namespace, env: CliEnv) -> int:
    with env.runtime().write() as ctx:
        v = users.set_roles(ctx, args.name, args.role)
    _show(v, "Updated")
    return 0


def cmd_edit(args: argparse.Namespace, env: CliEnv) -> int:
    active = None if args.active is None else args.active == "yes"
    with env.runtime().write() as ctx:
        v = users.update_user(ctx, args.name, full_name=args.full_name, email=args.email, active=active)
    _show(v, "Updated")
    return 0


def cmd_list(args: argparse.Namespace, env: CliEnv) -> int:
    with env.runtime().read() as ctx:
        rows = users.list_users(ctx)
    if args.json:
        output.print_json([u.to_json() for u in rows])
    else:
        output.table(
            ["USER", "NAME", "EMAIL", "ROLES", "ACTIVE"],
            [
                [u.username, u.full_name, u.email, ",".join(u.roles), "yes" if u.active else "no"]
                for u in rows
            ],
        )
    return 0
