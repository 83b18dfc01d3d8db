"""``nodedesk downtime list``: maintenance windows and outages in one list (help/downtime.md)."""

from __future__ import annotations

import argparse
from dataclasses import replace
from typing import TYPE_CHECKING

from nodedesk.core import timeutil
from nodedesk.core.services.downtime import downtime_list as svc

from . import output
from .common import add_list_formats, day_or_time, positive_int, print_list

if TYPE_CHECKING:
    from . import CliEnv

COLUMNS = ["KIND", "ID", "TITLE", "NODES", "START", "END / ETR", "STATUS", "RENTERS"]


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("downtime", help="maintenance windows and outages together")
    s = p.add_subparsers(dest="downtime_command", metavar="ACTION", required=True)
    ls = s.add_parser(
        "list",
        help="windows and outages by start: nodes, end or ETR, status, renters affected",
        description="Phases: upcoming (a window not started), now (a window in progress, an open "
        "outage), past (a completed window, a resolved outage).",
    )
    ls.add_argument("--kind", choices=svc.KINDS)
    ls.add_argument("--phase", choices=svc.PHASES)
    ls.add_argument("--node", help="only what takes this node down")
    ls.add_argument("--search", default="", help="text in the title or description")
    ls.add_argument("--from", dest="from_", metavar="WHEN", help="only what ends after this day/time")
    ls.add_argument("--to", metavar="WHEN", help="only what starts before the end of this day/time")
    ls.add_argument("--desc", action="store_true", help="newest start first")
    ls.add_argument("--limit", type=positive_int, help="at most this many rows (default: all)")
    ls.add_argument("--after", metavar="KEY", help="continue after this row's key (printed with --limit)")
    add_list_formats(ls)
    ls.set_defaults(handler=cmd_list)


def cells(r: svc.DowntimeRow, tz: str) -> list[object]:
    """One row as the list shows it (also the CSV row)."""
    return [
        f"{r.glyph} {r.kind}",
        r.id,
        r.title,
        r.scope_label,
        timeutil.format_short(r.start, tz),
        r.end_text(tz),
        r.status.replace("_", " ") + (" ! EMERGENCY" if r.emergency else ""),
        r.renters_text(),
    ]


def cmd_list(args: argparse.Namespace, env: CliEnv) -> int:
    with env.runtime().read() as ctx:
        tz = ctx.tz
        query = svc.DowntimeQuery(
            kind=args.kind,
            phase=args.phase,
            text=args.search,
            node=args.node,
            start_from=day_or_time(args.from_, tz, "from", end_of_day=False) if args.from_ else None,
            end_before=day_or_time(args.to, tz, "to", end_of_day=True) if args.to else None,
            descending=args.desc,
            after=svc.DowntimeKey.parse(args.after) if args.after else None,
        )
        if args.limit:
            page = svc.list_downtime(ctx, replace(query, limit=min(args.limit, svc.MAX_LIMIT)))
            items, more = page.items, page.next_key
        else:
            items, more = svc.page_all(ctx, query), None
    print_list(args, COLUMNS, [cells(r, tz) for r in items], lambda: (r.to_json(tz) for r in items))
    if more is not None and not args.json and not args.csv:
        output.note(f"more rows: --after '{more.token()}'")
    return 0
