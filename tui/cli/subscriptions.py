"""``nodedesk subscription add|end|change|list|show``: monthly fee subscriptions."""

from __future__ import annotations

import argparse
from datetime import date
from typing import TYPE_CHECKING

from nodedesk.core import timeutil
from nodedesk.core.services.rentals import subscriptions as svc

from . import output
from .common import add_json

if TYPE_CHECKING:
    from . import CliEnv


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("subscription", help="fee subscriptions (account maintenance, QoS add-ons)")
    s = p.add_subparsers(dest="subscription_command", metavar="ACTION", required=True)

    a = s.add_parser("add", help="subscribe a user to a monthly fee SKU billed to a project")
    a.add_argument("user")
    a.add_argument("--sku", required=True, help="monthly SKU, e.g. MAINT_STANDARD or QOS_PRIORITY")
    a.add_argument(
        "--project", required=True, help="billing project (user is owner, technical_admin or member)"
    )
    a.add_argument("--from", dest="from_", required=True, metavar="DATE", help="first day billed")
    a.add_argument("--to", metavar="DATE", help="last day billed (default: open-ended)")
    add_json(a)
    a.set_defaults(handler=cmd_add)

    e = s.add_parser("end", help="end a subscription: DATE is the last day billed")
    e.add_argument("id", type=int)
    e.add_argument("--on", required=True, metavar="DATE", help="last day billed (YYYY-MM-DD)")
    e.add_argument("--expected-version", type=int)
    add_json(e)
    e.set_defaults(handler=cmd_end)

    c = s.add_parser("change", help="bill another SKU and/or project from a date (opens a new period)")
    c.add_argument("id", type=int)
    c.add_argument("--from", dest="from_", required=True, metavar="DATE", help="first day of the new period")
    c.add_argument("--sku")
    c.add_argument("--project")
    c.add_argument("--expected-version", type=int)
    add_json(c)
    c.set_defaults(handler=cmd_change)

    ls = s.add_parser("list", help="list subscriptions with their periods")
    ls.add_argument("--user")
    ls.add_argument("--project")
    ls.add_argument("--sku")
    ls.add_argument("--status", choices=svc.STATUSES)
    add_json(ls)
    ls.set_defaults(handler=cmd_list)

    sh = s.add_parser("show", help="show one subscription and its period history")
    sh.add_argument("id", type=int)
    add_json(sh)
    sh.set_defaults(handler=cmd_show)


def _until(day: date | None) -> str:
    return day.isoformat() if day else "open"


def _summary(v: svc.SubscriptionView) -> str:
    cur = v.current
    return (
        f"subscription #{v.id}: {v.user} {cur.sku} billed to {output.one_line(cur.project)!r} "
        f"{cur.start_date} → {_until(cur.end_date)}"
    )


def _print_periods(v: svc.SubscriptionView, tz: str) -> None:
    output.table(
        ["PERIOD", "SKU", "PROJECT", "FROM", "TO", "CREATED", "CLOSED"],
        [
            [
                p.id,
                p.sku,
                p.project,
                p.start_date.isoformat(),
                _until(p.end_date),
                f"{timeutil.format_short(p.created_at, tz)} by {p.created_by}",
                f"{timeutil.format_short(p.closed_at, tz)} by {p.closed_by}" if p.closed_at else "",
            ]
            for p in v.periods
        ],
    )


def _finish(args: argparse.Namespace, v: svc.SubscriptionView, tz: str, verb: str) -> int:
    if args.json:
        output.print_json(v.to_json(tz))
    else:
        print(f"{verb} {_summary(v)}")
    return 0


def cmd_add(args: argparse.Namespace, env: CliEnv) -> int:
    start = timeutil.parse_date(args.from_, "from")
    end = timeutil.parse_date(args.to, "to") if args.to else None
    with env.runtime().write() as ctx:
        v = svc.add_subscription(ctx, args.user, args.sku, args.project, start, end)
        tz = ctx.tz
    return _finish(args, v, tz, "Added")


def cmd_end(args: argparse.Namespace, env: CliEnv) -> int:
    on = timeutil.parse_date(args.on, "on")
    with env.runtime().write() as ctx:
        v = svc.end_subscription(ctx, args.id, on, expected_version=args.expected_version)
        tz = ctx.tz
    return _finish(args, v, tz, "Ended")


def cmd_change(args: argparse.Namespace, env: CliEnv) -> int:
    day = timeutil.parse_date(args.from_, "from")
    with env.runtime().write() as ctx:
        v = svc.change_subscription(
            ctx,
            args.id,
            day,
            sku_code=args.sku,
            project_ref=args.project,
            expected_version=args.expected_version,
        )
        tz = ctx.tz
    return _finish(args, v, tz, "Changed")


def cmd_list(args: argparse.Namespace, env: CliEnv) -> int:
    with env.runtime().read() as ctx:
        rows = svc.list_subscriptions(
            ctx, user=args.user, project=args.project, sku=args.sku, status=args.status
        )
        tz = ctx.tz
    if args.json:
        output.print_json([v.to_json(tz) for v in rows])
        return 0
    table_rows = []
    for v in rows:  # one line per period; the subscription's own columns on its first line
        for i, p in enumerate(v.periods):
            first = i == 0
            table_rows.append(
                [
                    v.id if first else "",
                    v.user if first else "",
                    v.status if first else "",
                    p.id,
                    p.sku,
                    p.project,
                    p.start_date.isoformat(),
                    _until(p.end_date),
                    f"closed by {p.closed_by}" if p.closed_by else "",
                ]
            )
    output.table(["ID", "USER", "STATUS", "PERIOD", "SKU", "PROJECT", "FROM", "TO", "NOTE"], table_rows)
    return 0


def cmd_show(args: argparse.Namespace, env: CliEnv) -> int:
    with env.runtime().read() as ctx:
        v = svc.get_subscription(ctx, args.id)
        tz = ctx.tz
    if args.json:
        output.print_json(v.to_json(tz))
        return 0
    output.fields(
        [
            ("id", v.id),
            ("user", f"{v.user} ({v.user_name})" if v.user_name else v.user),
            ("status", v.status),
            ("from", v.start_date.isoformat()),
            ("to", _until(v.end_date)),
            ("version", v.version),
        ]
    )
    print("periods (history is never rewritten):")
    _print_periods(v, tz)
    return 0
