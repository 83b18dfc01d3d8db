"""``nodedesk sku list`` and ``nodedesk rate set|show``: SKUs and their append-only rates."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from nodedesk.core import timeutil
from nodedesk.core.models import SKU_KINDS
from nodedesk.core.services.invoicing import rates as svc

from . import output
from .common import add_json

if TYPE_CHECKING:
    from . import CliEnv


def register(sub: argparse._SubParsersAction) -> None:
    k = sub.add_parser("sku", help="billable items: NODE_<TYPE> hourly SKUs and monthly fee SKUs")
    ks = k.add_subparsers(dest="sku_command", metavar="ACTION", required=True)
    ls = ks.add_parser("list", help="list SKUs with the rate in force today (or --on DATE)")
    ls.add_argument("--kind", choices=SKU_KINDS)
    ls.add_argument("--on", metavar="DATE", help="show the rates in force on this day (YYYY-MM-DD)")
    add_json(ls)
    ls.set_defaults(handler=cmd_sku_list)

    r = sub.add_parser("rate", help="rates of SKUs (append-only history)")
    rs = r.add_subparsers(dest="rate_command", metavar="ACTION", required=True)
    st = rs.add_parser(
        "set", help="add a rate row from a date (a second row for the same date is a correction)"
    )
    st.add_argument("sku")
    st.add_argument("amount", help="per hour (NODE_*) or per month (fees); up to 6 decimals")
    st.add_argument("--from", dest="from_", required=True, metavar="DATE", help="effective date YYYY-MM-DD")
    st.add_argument("--notes", default="", help="why (required for a correction)")
    add_json(st)
    st.set_defaults(handler=cmd_rate_set)
    sh = rs.add_parser("show", help="the rate in force on a day (default today) and the SKU's rate history")
    sh.add_argument("sku")
    sh.add_argument("--on", metavar="DATE", help="day to look up (YYYY-MM-DD, default today)")
    add_json(sh)
    sh.set_defaults(handler=cmd_rate_show)


def _per(kind: str) -> str:
    return "/h" if kind == "hourly" else "/month"


def cmd_sku_list(args: argparse.Namespace, env: CliEnv) -> int:
    with env.runtime().read() as ctx:
        tz = ctx.tz
        day = timeutil.parse_date(args.on, "on") if args.on else timeutil.local_day(ctx.now(), tz)
        rows = svc.list_skus(ctx, kind=args.kind, on=day)
        currency = ctx.site.currency
    if args.json:
        output.print_json([s.to_json(tz) for s in rows])
        return 0
    output.table(
        ["SKU", "KIND", "CATEGORY", "NODE TYPE", f"RATE ({currency}) ON {day}", "SINCE", "NAME"],
        [
            [
                s.code,
                s.kind,
                s.category,
                s.node_type or "",
                f"{svc.format_amount(s.rate.amount)}{_per(s.kind)}" if s.rate else "no rate",
                s.rate.effective_date.isoformat() if s.rate else "",
                s.name + ("" if s.active else " (inactive)"),
            ]
            for s in rows
        ],
    )
    return 0


def cmd_rate_set(args: argparse.Namespace, env: CliEnv) -> int:
    day = timeutil.parse_date(args.from_, "from")
    with env.runtime().write() as ctx:
        v = svc.set_rate(ctx, args.sku, args.amount, day, args.notes)
        kind = svc.find_sku(ctx, v.sku).kind
        tz, currency = ctx.tz, ctx.site.currency
    if args.json:
        output.print_json(v.to_json(tz))
    else:
        print(
            f"Rate #{v.id}: {v.sku} {svc.format_amount(v.amount)} {currency}{_per(kind)} "
            f"from {v.effective_date}"
        )
    return 0


def cmd_rate_show(args: argparse.Namespace, env: CliEnv) -> int:
    with env.runtime().read() as ctx:
        tz = ctx.tz
        day = timeutil.parse_date(args.on, "on") if args.on else timeutil.local_day(ctx.now(), tz)
        sku = svc.get_sku(ctx, args.sku, on=day)
        history = svc.rate_history(ctx, sku.code)
        currency = ctx.site.currency
    if args.json:
        output.print_json(
            {
                "sku": sku.to_json(tz),
                "on": day.isoformat(),
                "in_force": sku.rate.to_json(tz) if sku.rate else None,
                "history": [r.to_json(tz) for r in history],
            }
        )
        return 0
    if sku.rate:
        print(
            f"{sku.code} on {day}: {svc.format_amount(sku.rate.amount)} {currency}{_per(sku.kind)} "
            f"(rate #{sku.rate.id}, from {sku.rate.effective_date})"
        )
    else:
        print(f"{sku.code} on {day}: no rate in force (charges would have no price)")
    print("History (newest first; rows are never edited):")
    output.table(
        ["ID", "FROM", "AMOUNT", "SET BY", "SET AT", "NOTES"],
        [
            [
                r.id,
                r.effective_date.isoformat(),
                svc.format_amount(r.amount)
                + (f" (corrected by #{r.superseded_by})" if r.superseded_by else ""),
                r.set_by,
                timeutil.format_short(r.set_at, tz),
                r.notes,
            ]
            for r in history
        ],
    )
    return 0
