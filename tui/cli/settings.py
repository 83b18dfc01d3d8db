"""``nodedesk settings list|set``: site settings such as notice_roles and reminder_hours."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from nodedesk.core import site
from nodedesk.core.safetext import one_line
from nodedesk.core.services.site import settings as svc

from . import output
from .common import add_json

if TYPE_CHECKING:
    from . import CliEnv


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("settings", help="site settings (notice roles, reminder hours, reservation policy...)")
    s = p.add_subparsers(dest="settings_command", metavar="ACTION", required=True)
    ls = s.add_parser("list", help="show every site setting")
    add_json(ls)
    ls.set_defaults(handler=cmd_list)
    ranges = "; ".join(f"{name} {low}-{high}" for name, (low, high) in site.INT_RANGES.items())
    st = s.add_parser(
        "set",
        help="change one setting (admins)",
        description=f"Change one site setting. Whole-number settings and their ranges: {ranges}.",
    )
    st.add_argument("key", help="a setting name, as 'nodedesk settings list' shows them")
    st.add_argument("value")
    st.set_defaults(handler=cmd_set)


def cmd_list(args: argparse.Namespace, env: CliEnv) -> int:
    with env.runtime().read() as ctx:
        values = svc.list_settings(ctx)
        problems = ctx.site.problems()
    for name, line in sorted(problems.items()):  # listed as stored; say how to repair them
        sys.stderr.write(f"nodedesk: warning: {name}: {one_line(line)}\n")
    if args.json:
        output.print_json(values)
        return 0
    output.table(["SETTING", "VALUE"], sorted(values.items()))
    return 0


def cmd_set(args: argparse.Namespace, env: CliEnv) -> int:
    with env.runtime().write() as ctx:
        old, new = svc.set_setting(ctx, args.key, args.value)
    print(f"{args.key}: {old} → {new}")
    return 0
