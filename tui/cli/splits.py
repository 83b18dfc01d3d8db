"""``nodedesk split set|approve|reject|show``: versioned cost splits of a project."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from nodedesk.core import timeutil
from nodedesk.core.models import UNALLOCATED
from nodedesk.core.services.rentals import projects
from nodedesk.core.services.rentals import splits as svc

from . import output
from .common import add_json

if TYPE_CHECKING:
    from . import CliEnv


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("split", help="cost splits: which cost objects pay a project's charges")
    s = p.add_subparsers(dest="split_command", metavar="ACTION", required=True)

    st = s.add_parser(
        "set", help="propose a split version (CODE=PERCENT ..., summing to exactly 100) from a date"
    )
    st.add_argument("project")
    st.add_argument("parts", nargs="+", metavar="CODE=PCT")
    st.add_argument("--from", dest="from_", required=True, metavar="DATE", help="effective date YYYY-MM-DD")
    st.add_argument("--approve", action="store_true", help="approve it at once (billing manager or admin)")
    add_json(st)
    st.set_defaults(handler=cmd_set)

    ap = s.add_parser("approve", help="approve the project's pending split (billing manager or admin)")
    ap.add_argument("project")
    ap.add_argument("--id", type=int, help="the pending version's id (default: the pending one)")
    add_json(ap)
    ap.set_defaults(handler=cmd_approve)

    rj = s.add_parser("reject", help="reject the project's pending split, with a reason")
    rj.add_argument("project")
    rj.add_argument("--reason", required=True)
    rj.add_argument("--id", type=int, help="the pending version's id (default: the pending one)")
    add_json(rj)
    rj.set_defaults(handler=cmd_reject)

    sh = s.add_parser("show", help="the split in force on a day (default today), pending and history")
    sh.add_argument("project")
    sh.add_argument("--on", metavar="DATE", help="day to look up (YYYY-MM-DD, default today)")
    add_json(sh)
    sh.set_defaults(handler=cmd_show)


def _describe(v: svc.SplitView) -> str:
    return f"split #{v.id} for {output.one_line(v.project)!r} from {v.effective_date}: {v.label()}"


def cmd_set(args: argparse.Namespace, env: CliEnv) -> int:
    parts = [svc.parse_assignment(a) for a in args.parts]
    day = timeutil.parse_date(args.from_, "from")
    with env.runtime().write() as ctx:
        v = svc.propose_split(ctx, args.project, parts, day, approve=args.approve)
        tz = ctx.tz
    if args.json:
        output.print_json(v.to_json(tz))
    elif v.status == "approved":
        print(f"Approved {_describe(v)}")
    else:
        print(f"Proposed {_describe(v)} (pending approval by a billing manager)")
    return 0


def cmd_approve(args: argparse.Namespace, env: CliEnv) -> int:
    with env.runtime().write() as ctx:
        v = svc.approve_split(ctx, args.project, version_id=args.id)
        tz = ctx.tz
    if args.json:
        output.print_json(v.to_json(tz))
    else:
        print(f"Approved {_describe(v)}")
    return 0


def cmd_reject(args: argparse.Namespace, env: CliEnv) -> int:
    with env.runtime().write() as ctx:
        v = svc.reject_split(ctx, args.project, args.reason, version_id=args.id)
        tz = ctx.tz
    if args.json:
        output.print_json(v.to_json(tz))
    else:
        print(f"Rejected {_describe(v)}")
    return 0


def _status(v: svc.SplitView) -> str:
    if v.superseded_by:
        return f"approved, superseded by #{v.superseded_by}"
    return v.status


def cmd_show(args: argparse.Namespace, env: CliEnv) -> int:
    with env.runtime().read() as ctx:
        tz = ctx.tz
        day = timeutil.parse_date(args.on, "on") if args.on else timeutil.local_day(ctx.now(), tz)
        title = projects.get_project(ctx, args.project).title
        current = svc.split_in_force(ctx, title, day)
        pending = svc.pending_split(ctx, title)
        history = svc.split_history(ctx, title)
    if args.json:
        output.print_json(
            {
                "project": title,
                "on": day.isoformat(),
                "in_force": current.to_json(tz) if current else None,
                "allocation": [p.to_json() for p in (current.parts if current else svc.UNALLOCATED_PARTS)],
                "pending": pending.to_json(tz) if pending else None,
                "history": [v.to_json(tz) for v in history],
            }
        )
        return 0
    print(f"Project {output.one_line(title)!r}, split in force on {day}:")
    if current is None:
        print(f"  {UNALLOCATED} 100% (no approved split on or before that day)")
    else:
        for part in current.parts:
            print(f"  {part.cost_object:<24} {svc.format_percent(part.percent):>9}%")
        print(
            f"  (version #{current.id}, effective {current.effective_date}, approved by {current.decided_by})"
        )
    if pending:
        print(f"Pending: #{pending.id} from {pending.effective_date}: {pending.label()}")
    print("History:")
    output.table(
        ["ID", "EFFECTIVE", "STATUS", "SPLIT", "PROPOSED BY", "DECIDED BY", "REASON"],
        [
            [
                v.id,
                v.effective_date.isoformat(),
                _status(v),
                v.label(),
                v.created_by,
                v.decided_by or "",
                v.decision_reason,
            ]
            for v in history
        ],
        max_width=60,
    )
    return 0
