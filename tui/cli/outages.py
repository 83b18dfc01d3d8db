"""``nodedesk outage add|update|resolve|list|show``."""

from __future__ import annotations

import argparse
from datetime import datetime
from typing import TYPE_CHECKING

from nodedesk.core import timeutil
from nodedesk.core.context import ServiceContext
from nodedesk.core.errors import ValidationError
from nodedesk.core.services.downtime import outages as svc

from . import output
from .common import add_json

if TYPE_CHECKING:
    from . import CliEnv

STATUS_HELP = "reported, investigating, identified, monitoring or resolved"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("outage", help="unplanned downtime of specific nodes")
    s = p.add_subparsers(dest="outage_command", metavar="ACTION", required=True)

    a = s.add_parser("add", help="record an outage (times in site time unless an offset is given)")
    a.add_argument("--title", required=True)
    a.add_argument(
        "--node", action="append", required=True, metavar="NODE", help="an affected node (repeatable)"
    )
    a.add_argument("--start", required=True, help='"YYYY-MM-DD HH:MM"')
    a.add_argument("--end", help="when it was over (the outage is then resolved)")
    a.add_argument("--etr", help="estimated time to repair")
    a.add_argument("--status", choices=svc.STATUSES, help=f"{STATUS_HELP} (default: reported)")
    a.add_argument(
        "--no-credit", dest="credit", action="store_false", help="bill the time anyway (no credit)"
    )
    a.add_argument("--description", default="")
    _correction_args(a)
    add_json(a)
    a.set_defaults(handler=cmd_add)

    u = s.add_parser("update", help="change status, ETR, end or description")
    u.add_argument("id", type=int)
    u.add_argument("--status", choices=svc.STATUSES, help=STATUS_HELP)
    u.add_argument("--etr", help='new estimated time to repair ("none" clears it)')
    u.add_argument("--end", help="the end (only with --status resolved, or on a resolved outage)")
    u.add_argument("--start")
    u.add_argument("--title")
    u.add_argument("--description")
    u.add_argument("--node", action="append", metavar="NODE", help="replace the affected nodes (repeatable)")
    u.add_argument("--credit", action=argparse.BooleanOptionalAction, default=None, help="credit renters")
    u.add_argument("--expected-version", type=int, help="refuse if it changed since this version")
    _correction_args(u)
    add_json(u)
    u.set_defaults(handler=cmd_update)

    r = s.add_parser("resolve", help="mark an outage resolved at its end time")
    r.add_argument("id", type=int)
    r.add_argument("--end", required=True, help='"YYYY-MM-DD HH:MM" (not in the future)')
    r.add_argument("--expected-version", type=int)
    add_json(r)
    r.set_defaults(handler=cmd_resolve)

    ls = s.add_parser("list", help="list outages (newest first)")
    ls.add_argument("--open", action="store_true", help="only outages not yet resolved")
    ls.add_argument("--status", choices=svc.STATUSES)
    ls.add_argument("--node")
    add_json(ls)
    ls.set_defaults(handler=cmd_list)

    sh = s.add_parser("show", help="show one outage with its ETR history")
    sh.add_argument("id", type=int)
    add_json(sh)
    sh.set_defaults(handler=cmd_show)


def _correction_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--correct",
        action="store_true",
        help="admin correction inside a finalized invoice month (needs --reason)",
    )
    p.add_argument("--reason", default="")


def _time(ctx: ServiceContext, text: str, field: str) -> datetime:
    return timeutil.parse_instant(text, ctx.tz, field=field)


def _status(v: svc.OutageView) -> str:
    glyph, _colour = svc.STATUS_STYLE[v.status]
    return f"{glyph} {v.status}"


def _etr(v: svc.OutageView, tz: str) -> str:
    if v.etr is None:
        return ""
    return timeutil.format_short(v.etr, tz) + (" (overdue)" if v.etr_overdue else "")


def _print_outage(v: svc.OutageView, tz: str, history: list[svc.EtrRevision]) -> None:
    output.fields(
        [
            ("id", v.id),
            ("title", v.title),
            ("status", _status(v)),
            ("nodes", ", ".join(v.nodes)),
            ("start", timeutil.format_local(v.start, tz)),
            ("end", timeutil.format_local(v.end, tz) if v.end else "(open: downtime up to now)"),
            ("duration", timeutil.format_duration(v.duration) + ("" if v.end else " so far")),
            ("etr", _etr(v, tz) or "(none)"),
            ("credit", "yes (not billed to renters)" if v.credit else "no (billed as usual)"),
            ("created", f"{timeutil.format_local(v.created_at, tz)} by {v.created_by}"),
            ("modified", f"{timeutil.format_local(v.modified_at, tz)} by {v.modified_by}"),
            ("version", v.version),
            ("uuid", v.uuid),
        ]
    )
    if v.description:
        print("description:")
        for line in v.description.splitlines():
            print("  " + output.one_line(line))
    if history:
        print("ETR history:")
        for h in history:
            before = h.before[:16].replace("T", " ") if h.before else "none"
            after = h.after[:16].replace("T", " ") if h.after else "none"
            print(f"  {timeutil.format_short(h.at, tz)} {h.by}: {before} → {after}")


def _done(verb: str, result: svc.OutageResult, tz: str, as_json: bool) -> int:
    v = result.outage
    if as_json:
        output.print_json(v.to_json(tz) | {"drifted_months": result.drifted_months})
        return 0
    print(
        f"{verb} outage #{v.id} {output.one_line(v.title)!r} ({v.status}) on {', '.join(v.nodes)}: "
        f"{timeutil.format_local(v.start, tz)} → "
        f"{timeutil.format_local(v.end, tz) if v.end else 'open'}"
        + (f", ETR {_etr(v, tz)}" if v.etr and v.open else "")
        + ("" if v.credit else ", no credit")
    )
    if result.drifted_months:
        print("Finalized invoices now drifted: " + ", ".join(result.drifted_months))
    return 0


def _check_correction(args: argparse.Namespace) -> None:
    if args.correct and not args.reason.strip():
        raise ValidationError("a correction needs a reason (--reason)", field="reason")


def cmd_add(args: argparse.Namespace, env: CliEnv) -> int:
    _check_correction(args)
    with env.runtime().write() as ctx:
        draft = svc.OutageDraft(
            title=args.title,
            nodes=tuple(args.node),
            start=_time(ctx, args.start, "start"),
            end=_time(ctx, args.end, "end") if args.end else None,
            etr=_time(ctx, args.etr, "etr") if args.etr else None,
            status=args.status,
            credit=args.credit,
            description=args.description,
        )
        result = svc.create_outage(ctx, draft, correction=args.correct, reason=args.reason)
        tz = ctx.tz
    return _done("Recorded", result, tz, args.json)


def cmd_update(args: argparse.Namespace, env: CliEnv) -> int:
    _check_correction(args)
    with env.runtime().write() as ctx:
        etr = svc.UNSET
        if args.etr is not None:
            etr = None if args.etr.strip().lower() in ("none", "") else _time(ctx, args.etr, "etr")
        changes = svc.OutageChanges(
            title=args.title if args.title is not None else svc.UNSET,
            description=args.description if args.description is not None else svc.UNSET,
            nodes=tuple(args.node) if args.node else svc.UNSET,
            start=_time(ctx, args.start, "start") if args.start else svc.UNSET,
            end=_time(ctx, args.end, "end") if args.end else svc.UNSET,
            etr=etr,
            status=args.status if args.status else svc.UNSET,
            credit=args.credit if args.credit is not None else svc.UNSET,
        )
        result = svc.update_outage(
            ctx,
            args.id,
            changes,
            expected_version=args.expected_version,
            correction=args.correct,
            reason=args.reason,
        )
        tz = ctx.tz
    return _done("Updated", result, tz, args.json)


def cmd_resolve(args: argparse.Namespace, env: CliEnv) -> int:
    with env.runtime().write() as ctx:
        result = svc.resolve_outage(
            ctx, args.id, _time(ctx, args.end, "end"), expected_version=args.expected_version
        )
        tz = ctx.tz
    return _done("Resolved", result, tz, args.json)


def cmd_list(args: argparse.Namespace, env: CliEnv) -> int:
    with env.runtime().read() as ctx:
        tz = ctx.tz
        items: list[svc.OutageView] = []
        offset = 0
        while True:
            page = svc.list_outages(
                ctx,
                svc.OutageQuery(
                    open_only=args.open, status=args.status, node=args.node, offset=offset, limit=500
                ),
            )
            items.extend(page.items)
            offset += page.limit
            if offset >= page.total:
                break
    if args.json:
        output.print_json([v.to_json(tz) for v in items])
        return 0
    output.table(
        ["ID", "STATUS", "START", "END", "DURATION", "ETR", "CREDIT", "NODES", "TITLE"],
        [
            [
                v.id,
                _status(v),
                timeutil.format_short(v.start, tz),
                timeutil.format_short(v.end, tz) if v.end else "open",
                timeutil.format_duration(v.duration),
                _etr(v, tz) if v.open else "",
                "yes" if v.credit else "no",
                ", ".join(v.nodes),
                v.title,
            ]
            for v in items
        ],
    )
    return 0


def cmd_show(args: argparse.Namespace, env: CliEnv) -> int:
    with env.runtime().read() as ctx:
        v = svc.get_outage(ctx, args.id)
        history = svc.etr_history(ctx, args.id)
        tz = ctx.tz
    if args.json:
        output.print_json(v.to_json(tz) | {"etr_history": [h.to_json(tz) for h in history]})
    else:
        _print_outage(v, tz, history)
    return 0
