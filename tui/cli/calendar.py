"""``nodedesk calendar export``: the maintenance calendar as an RFC 5545 (.ics) file."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from nodedesk.core import timeutil
from nodedesk.core.services.views import calendar_feed as svc

from . import output

if TYPE_CHECKING:
    from . import CliEnv


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("calendar", help="calendar feed (iCalendar export)")
    s = p.add_subparsers(dest="calendar_command", metavar="ACTION", required=True)
    e = s.add_parser(
        "export",
        help="write maintenance windows (and skipped occurrences, optionally outages) as an .ics file",
    )
    e.add_argument("file", metavar="FILE.ics", help='where to write ("-" for standard output)')
    e.add_argument("--from", dest="from_", metavar="DATE", help="first site-local day (default: 30 days ago)")
    e.add_argument(
        "--to",
        metavar="DATE",
        help="last site-local day, inclusive (default: 12 months or the schedule horizon ahead)",
    )
    e.add_argument(
        "--node", action="append", default=[], metavar="NAME", help="only what affects this node (repeatable)"
    )
    e.add_argument("--include-outages", action="store_true", help="add outages as events")
    e.set_defaults(handler=cmd_export)


def cmd_export(args: argparse.Namespace, env: CliEnv) -> int:
    with env.runtime().read() as ctx:
        feed = svc.build_feed(
            ctx,
            first=timeutil.parse_date(args.from_, "from") if args.from_ else None,
            last=timeutil.parse_date(args.to, "to") if args.to else None,
            nodes=tuple(args.node),
            include_outages=args.include_outages,
        )
    if args.file == "-":
        sys.stdout.buffer.write(feed.text.encode("utf-8"))
        sys.stdout.flush()
        return 0
    path = svc.write_atomically(args.file, feed.text)
    outages = f", {feed.outages} outage(s)" if args.include_outages else ""
    output.note(
        f"Wrote {path}: {feed.windows} window(s), {feed.cancelled} cancelled occurrence(s){outages}, "
        f"{feed.first.isoformat()} to {feed.last.isoformat()}"
    )
    return 0
