"""``nodedesk audit list|verify``."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from nodedesk.core import timeutil
from nodedesk.core.services.views import activity

from . import output
from .common import add_json, positive_int

if TYPE_CHECKING:
    from . import CliEnv


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("audit", help="the activity log")
    s = p.add_subparsers(dest="audit_command", metavar="ACTION", required=True)
    ls = s.add_parser("list", help="list recent activity, newest first")
    ls.add_argument("--limit", type=positive_int, default=50)
    ls.add_argument("--action", help="only this action id, e.g. window.created (prefix 'window.' works)")
    ls.add_argument("--actor", help="only entries by this user")
    ls.add_argument("--target", help="only this target, e.g. window:12 or window:<uuid>")
    add_json(ls)
    ls.set_defaults(handler=cmd_list)
    v = s.add_parser(
        "verify",
        help="check the keyed chain against the site's audit key and anchor "
        "(exit 1 if anything was altered, re-hashed or deleted)",
    )
    add_json(v)
    v.set_defaults(handler=cmd_verify)


def cmd_list(args: argparse.Namespace, env: CliEnv) -> int:
    with env.runtime().read() as ctx:
        page = activity.list_activity(
            ctx,
            activity.ActivityQuery(
                action=args.action or "", actor=args.actor or "", target=args.target or "", limit=args.limit
            ),
        )
        tz = ctx.tz
    if args.json:
        output.print_json([e.to_json(tz) for e in page.items])
    else:
        output.table(
            ["#", "TIME", "ACTOR", "ACTION", "TARGET", "REASON"],
            [[e.seq, _when(e, tz), e.actor_label, e.action, e.target, e.reason] for e in page.items],
        )
    return 0


def _when(e: activity.ActivityView, tz: str) -> str:
    """The service time; the real write time beside it when they differ (a frozen clock)."""
    shown = timeutil.format_short(e.occurred_at, tz)
    if e.real_time_differs and e.recorded_at is not None:
        shown += f" (written {timeutil.format_short(e.recorded_at, tz)})"
    return shown


def cmd_verify(args: argparse.Namespace, env: CliEnv) -> int:
    with env.runtime().read() as ctx:
        result = activity.verify(ctx)
    if args.json:
        output.print_json(
            {
                "ok": result.ok,
                "checked": result.checked,
                "problems": [str(p) for p in result.problems],
                "first_bad": result.first_bad,
                "notes": result.notes,
            }
        )
    elif result.ok:
        print(f"audit chain OK: {result.checked} entries verified")
    else:
        print(
            f"audit chain BROKEN: {len(result.problems)} problem(s) in {result.checked} entries; "
            f"first bad entry #{result.first_bad}"
        )
        for problem in result.problems:
            print(f"  {problem}")
    if not args.json:
        for note in result.notes:
            print(f"  {note}")
    return 0 if result.ok else 1
