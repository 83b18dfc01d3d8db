"""``nodedesk window add|list|show|edit|delete|impact|suggest``."""

from __future__ import annotations

import argparse
import sys
from datetime import datetime
from typing import TYPE_CHECKING

from nodedesk.core import timeutil
from nodedesk.core.context import ServiceContext
from nodedesk.core.errors import ValidationError
from nodedesk.core.services.downtime import impact as impact_svc
from nodedesk.core.services.downtime import suggest as suggest_svc
from nodedesk.core.services.downtime import windows as svc
from nodedesk.core.services.downtime.impact import ImpactLine, WindowImpact
from nodedesk.core.services.rentals import moves
from nodedesk.core.slurm import status as slurm_status

from . import bulk as bulkcmd
from . import output
from .common import add_json, confirm, day_or_time

if TYPE_CHECKING:
    from . import CliEnv


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("window", help="maintenance windows")
    s = p.add_subparsers(dest="window_command", metavar="ACTION", required=True)

    a = s.add_parser(
        "add",
        help="schedule a maintenance window (times in site time unless offset given)",
        description="A planned window needs --title, --start and --end. --emergency declares one "
        "that starts now on the failed --node(s) for --duration, with a --reason; its notices go "
        "out at once when SMTP is configured (help/windows.md).",
    )
    a.add_argument("--title", help="required for a planned window; an emergency one names its nodes")
    a.add_argument("--start", help='"YYYY-MM-DD HH:MM" (not with --emergency: it starts now)')
    a.add_argument("--end", help='"YYYY-MM-DD HH:MM" (not with --emergency: give --duration)')
    a.add_argument("--description", default="")
    _scope_args(a)
    a.add_argument(
        "--reason",
        default="",
        help="required when the window starts in the past (backdated) and for an emergency window",
    )
    a.add_argument(
        "--emergency", action="store_true", help="an emergency window: starts now, notices sent at once"
    )
    a.add_argument(
        "--duration", help=f"with --emergency: how long, e.g. 2h, 90m (default {svc.EMERGENCY_DURATION})"
    )
    a.add_argument("--dry-run", action="store_true", help="check and show the impact; save nothing")
    add_json(a)
    a.set_defaults(handler=cmd_add)

    ls = s.add_parser("list", help="list windows (all of them, oldest first)")
    ls.add_argument("--status", choices=svc.STATUSES)
    ls.add_argument("--from", dest="from_", metavar="DATE", help="only windows ending after this day/time")
    ls.add_argument("--to", metavar="DATE", help="only windows starting before this day/time")
    ls.add_argument("--search", default="", help="text in title, description or creator")
    ls.add_argument("--sort", choices=svc.SORT_KEYS, default="start")
    ls.add_argument("--desc", action="store_true", help="sort descending")
    add_json(ls)
    ls.set_defaults(handler=cmd_list)

    sh = s.add_parser("show", help="show one window")
    sh.add_argument("id", type=int)
    add_json(sh)
    sh.set_defaults(handler=cmd_show)

    e = s.add_parser("edit", help="change a window (upcoming: anything; in progress: only --end)")
    e.add_argument("id", type=int)
    e.add_argument("--title")
    e.add_argument("--start")
    e.add_argument("--end")
    e.add_argument("--description")
    _scope_args(e)
    e.add_argument("--all-nodes", action="store_true", help="make the scope all nodes")
    e.add_argument(
        "--correct", action="store_true", help="admin correction of a locked window (needs --reason)"
    )
    e.add_argument("--reason", default="")
    e.add_argument("--expected-version", type=int, help="refuse if the window changed since this version")
    e.add_argument("--dry-run", action="store_true", help="check and show the impact; save nothing")
    add_json(e)
    e.set_defaults(handler=cmd_edit)

    im = s.add_parser(
        "impact",
        help="who a proposed window hits: reservations, hours and amount not billed, conflicts",
    )
    im.add_argument("--start", required=True, help='"YYYY-MM-DD HH:MM"')
    im.add_argument("--end", required=True, help='"YYYY-MM-DD HH:MM"')
    _scope_args(im)
    im.add_argument(
        "--window",
        type=int,
        metavar="ID",
        help="the proposal moves/extends this window: its current version is not counted",
    )
    im.add_argument(
        "--move-all",
        action="store_true",
        help="move every affected reservation that can go to a free node of its type (asks first)",
    )
    im.add_argument("--yes", action="store_true", help="with --move-all: do not ask for confirmation")
    add_json(im)
    im.set_defaults(handler=cmd_impact)

    sg = s.add_parser(
        "suggest",
        help="the least-impact starts for a window of a given length (money not billed first)",
        description="Candidate starts on the quarter hour (site time), ranked by money not billed, then "
        "reservation-hours hit, then renters affected, then the earliest; '!' marks a start that "
        "overlaps another window or an outage on the same nodes (help/windows.md).",
    )
    sg.add_argument("--duration", required=True, help="e.g. 12h, 90m, 1h30m")
    sg.add_argument("--from", dest="from_", required=True, metavar="DATE", help="a day or a day and time")
    sg.add_argument("--to", required=True, metavar="DATE", help="a day (the whole day) or a day and time")
    _scope_args(sg)
    sg.add_argument("--between", metavar="HH:MM-HH:MM", help="start only inside these hours (site time)")
    sg.add_argument("--weekdays", metavar="DAYS", help="start only on these days, e.g. mon-fri or sat,sun")
    sg.add_argument("--count", type=int, default=5, help="how many candidates (default 5)")
    add_json(sg)
    sg.set_defaults(handler=cmd_suggest)

    d = s.add_parser(
        "delete",
        help="delete upcoming windows (asks for confirmation)",
        description="Several ids: one listing to confirm, then all in one transaction or none.",
    )
    d.add_argument("id", type=int, nargs="+", metavar="ID")
    d.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    d.add_argument("--dry-run", action="store_true", help="check and list what would happen; save nothing")
    d.add_argument("--correct", action="store_true", help="admin correction: delete a locked window")
    d.add_argument("--reason", default="")
    add_json(d)
    d.set_defaults(handler=cmd_delete)


def _scope_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--node",
        action="append",
        default=[],
        metavar="NAME",
        help="limit the window to this node (repeatable)",
    )
    p.add_argument(
        "--node-type",
        action="append",
        default=[],
        metavar="TYPE",
        help="limit the window to nodes of this type (repeatable)",
    )


def _time(ctx: ServiceContext, text: str, field: str) -> datetime:
    return timeutil.parse_instant(text, ctx.tz, field=field)


def _print_window(v: svc.WindowView, tz: str) -> None:
    status = svc.STATUS_LABELS[v.status] + (" (locked)" if v.locked else "")
    output.fields(
        [
            ("id", v.id),
            ("title", v.title),
            ("start", timeutil.format_local(v.start, tz)),
            ("end", timeutil.format_local(v.end, tz)),
            ("duration", timeutil.format_duration(v.duration)),
            ("status", status),
            ("scope", v.scope.label()),
            ("backdated", "yes" if v.backdated else "no"),
            ("emergency", "yes (declared at once, notices sent at once)" if v.emergency else "no"),
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
    if v.locked:
        print(f"lock:        {output.one_line(v.lock_reason(tz))}")


def _print_impact(impact: list[ImpactLine], tz: str) -> None:
    if not impact:
        print("Billing impact: no pending or approved reservations affected.")
        return
    print(f"Billing impact on {len(impact)} reservation(s):")
    for line in impact:
        print("  " + output.one_line(line.describe(tz)))


def print_assessment(a: WindowImpact, tz: str) -> None:
    """The full impact of a proposed window: one row per reservation hit, totals, conflicts."""
    print(
        f"Impact of {timeutil.format_local(a.start, tz)} → {timeutil.format_local(a.end, tz)} "
        f"on {output.one_line(a.scope_label)} ({a.node_count} node(s)):"
    )
    if a.lines:
        output.table(
            [
                "RES",
                "NODE",
                "PROJECT",
                "OWNER",
                "STATUS",
                "RESERVATION",
                "HOURS",
                f"NOT BILLED ({a.currency})",
            ],
            [
                [
                    f"#{line.reservation_id}",
                    line.node,
                    line.project,
                    line.owner,
                    line.status,
                    f"{timeutil.format_short(line.start, tz)} → {timeutil.format_short(line.end, tz)}",
                    f"{line.hours:.2f}",
                    f"{line.not_billed:.2f}" + (" *" if line.missing_rate else ""),
                ]
                for line in a.lines
            ],
        )
        if any(line.missing_rate for line in a.lines):
            print("* part of the hours has no rate in force: not priced")
    print(f"Total: {a.summary()}")
    pending = [line for line in a.lines if line.status == "pending"]
    if pending:
        print(f"({len(pending)} pending reservation(s) priced as if approved)")
    warnings = a.warning_texts(tz)
    if warnings:
        print(f"Warnings ({len(warnings)}):")
        for text in warnings:
            print("  ! " + output.one_line(text))
    else:
        print("No other window or outage overlaps on these nodes.")


def cmd_impact(args: argparse.Namespace, env: CliEnv) -> int:
    runtime = env.runtime()
    scope = svc.Scope(tuple(args.node), tuple(args.node_type))
    with runtime.read() as ctx:
        tz = ctx.tz
        if args.window is not None:
            svc.get_window(ctx, args.window)  # a clear error for an unknown id
        start, end = _time(ctx, args.start, "start"), _time(ctx, args.end, "end")
        assessment = impact_svc.assess(ctx, start, end, scope, exclude_window_id=args.window)
        plan = moves.plan_moves(ctx, assessment, scope)
    moved: moves.MoveAllResult | None = None
    if args.move_all and plan.movable:
        if not args.yes:
            sys.stderr.write(f"Move {len(plan.movable)} reservation(s) off this window?\n")
            for option in plan.movable:
                sys.stderr.write(f"  #{option.reservation_id} {option.node} → {option.planned}\n")
            if not confirm("Move them?", assume_yes=False):
                raise ValidationError(
                    "not confirmed; nothing moved (pass --yes to skip the question)", field="confirm"
                )
        with runtime.write() as ctx:
            moved = moves.move_all(ctx, plan)
    if args.json:
        doc = assessment.to_json(tz) | {"moves": [o.to_json(tz) for o in plan.options]}
        if args.move_all:
            doc["moved"] = [m.to_json(tz) for m in moved.moves] if moved else []
        output.print_json(doc)
        return 0
    print_assessment(assessment, tz)
    if plan.options:
        print(f"Moving renters off: {plan.summary()}")
        for option in plan.options:
            print("  " + output.one_line(option.describe(tz)))
    if moved is not None:
        for m in moved.moves:
            text = output.one_line(m.describe(tz))
            print(text[0].upper() + text[1:])
    elif args.move_all:
        print("Nothing moved: no affected reservation has a free node of its type.")
    return 0


SHOWN_OVERLAPS = 3


def cmd_suggest(args: argparse.Namespace, env: CliEnv) -> int:
    with env.runtime().read() as ctx:
        tz = ctx.tz
        found = suggest_svc.suggest(
            ctx,
            args.duration,
            _time(ctx, args.from_, "from"),
            day_or_time(args.to, ctx.tz, "to", end_of_day=True),
            nodes=tuple(args.node),
            node_types=tuple(args.node_type),
            between=args.between,
            weekdays=args.weekdays,
            count=args.count,
        )
    if args.json:
        output.print_json(found.to_json(tz))
        return 0
    print(
        f"Least-impact starts for {timeutil.format_duration(found.duration)} on "
        f"{output.one_line(found.scope_label)}, {timeutil.format_local(found.start, tz)} → "
        f"{timeutil.format_local(found.end, tz)}: {found.summary()}"
    )
    if not found.candidates:
        return 0
    currency = found.candidates[0].impact.currency
    output.table(
        ["#", "START", "END", f"NOT BILLED ({currency})", "HOURS", "RENTERS", "OVERLAPS"],
        [
            [
                i,
                timeutil.format_short(c.start, tz),
                timeutil.format_short(c.end, tz),
                f"{c.not_billed:.2f}",
                f"{c.hours:.2f}",
                c.renters,
                f"! {len(c.impact.windows) + len(c.impact.outages)}" if c.marked else "-",
            ]
            for i, c in enumerate(found.candidates, 1)
        ],
    )
    for i, c in enumerate(found.candidates, 1):
        warnings = c.impact.warning_texts(tz)
        for text in warnings[:SHOWN_OVERLAPS]:
            print(f"  ! {i}: {output.one_line(text)}")
        if len(warnings) > SHOWN_OVERLAPS:
            print(f"  ! {i}: and {len(warnings) - SHOWN_OVERLAPS} more (window impact shows them all)")
    return 0


def _emergency_draft(args: argparse.Namespace) -> svc.EmergencyDraft:
    from . import UsageError

    for name in ("start", "end"):
        if getattr(args, name):
            raise UsageError(f"--{name}: an emergency window starts now; give --duration instead")
    return svc.EmergencyDraft(
        scope=svc.Scope(tuple(args.node), tuple(args.node_type)),
        reason=args.reason,
        duration=args.duration or svc.EMERGENCY_DURATION,
        title=args.title or "",
        description=args.description,
    )


def cmd_add_emergency(args: argparse.Namespace, env: CliEnv) -> int:
    draft = _emergency_draft(args)
    runtime = env.runtime()
    if args.dry_run:
        with runtime.write(dry_run=True) as ctx:
            result = svc.create_emergency_window(ctx, draft)
            tz = ctx.tz
        mail = None
    else:
        declared = svc.declare_emergency(runtime, draft)
        result, mail = declared.saved, declared.mail
        with runtime.read() as ctx:
            tz = ctx.tz
    w = result.window
    if args.json:
        doc = w.to_json(tz) | {
            "impact": [i.to_json(tz) for i in result.impact],
            "notices": mail.to_json() if mail else None,
            "dry_run": args.dry_run,
        }
        output.print_json(doc)
        return 0
    prefix = "Dry run, nothing saved: would declare" if args.dry_run else "Declared"
    print(
        f"{prefix} EMERGENCY window #{w.id if not args.dry_run else '?'} {output.one_line(w.title)!r}: "
        f"now ({timeutil.format_local(w.start, tz)}) → {timeutil.format_local(w.end, tz)}, "
        f"scope {w.scope.label()}"
    )
    _print_impact(result.impact, tz)
    if mail is not None:
        print(mail.line())
    return 0


def cmd_add(args: argparse.Namespace, env: CliEnv) -> int:
    if args.emergency:
        return cmd_add_emergency(args, env)
    from . import UsageError  # flags missing or mixed: exit 2, as argparse says it

    if args.duration:
        raise UsageError("--duration: only with --emergency (a planned window gives --start and --end)")
    for name in ("title", "start", "end"):
        if not getattr(args, name):
            raise UsageError(f"--{name} is required for a planned window (or declare an --emergency window)")
    with env.runtime().write(dry_run=args.dry_run) as ctx:
        draft = svc.WindowDraft(
            title=args.title,
            start=_time(ctx, args.start, "start"),
            end=_time(ctx, args.end, "end"),
            description=args.description,
            scope=svc.Scope(tuple(args.node), tuple(args.node_type)),
        )
        result = svc.create_window(ctx, draft, reason=args.reason)
        tz = ctx.tz
        assessment = impact_svc.assess(
            ctx,
            result.window.start,
            result.window.end,
            result.window.scope,
            exclude_window_id=result.window.id,
        )
    if args.json:
        doc = result.window.to_json(tz) | {
            "impact": [i.to_json(tz) for i in result.impact],
            "assessment": assessment.to_json(tz),
            "dry_run": args.dry_run,
        }
        output.print_json(doc)
        return 0
    prefix = "Dry run, nothing saved: would create" if args.dry_run else "Created"
    w = result.window
    print(
        f"{prefix} window #{w.id if not args.dry_run else '?'} {output.one_line(w.title)!r}: "
        f"{timeutil.format_local(w.start, tz)} → {timeutil.format_local(w.end, tz)} "
        f"({svc.STATUS_LABELS[w.status]}{', backdated' if w.backdated else ''}), scope {w.scope.label()}"
    )
    print_assessment(assessment, tz)
    return 0


def cmd_list(args: argparse.Namespace, env: CliEnv) -> int:
    with env.runtime().read() as ctx:
        tz = ctx.tz
        query = svc.WindowQuery(
            status=args.status,
            text=args.search,
            sort=args.sort,
            descending=args.desc,
            start_from=_time(ctx, args.from_, "from") if args.from_ else None,
            end_before=_time(ctx, args.to, "to") if args.to else None,
            limit=500,
        )
        items: list[svc.WindowView] = []
        offset = 0
        while True:  # stream in pages; the CLI prints everything that matches
            page = svc.list_windows(ctx, svc.WindowQuery(**{**query.__dict__, "offset": offset}))
            items.extend(page.items)
            offset += page.limit
            if offset >= page.total:
                break
    if args.json:
        output.print_json([w.to_json(tz) for w in items])
        return 0
    output.table(
        ["ID", "STATUS", "START", "END", "DURATION", "TITLE", "SCOPE", "BY"],
        [
            [
                w.id,
                ("🔒 " if w.locked else "")
                + svc.STATUS_LABELS[w.status]
                + (" ! EMERGENCY" if w.emergency else ""),
                timeutil.format_short(w.start, tz),
                timeutil.format_short(w.end, tz),
                timeutil.format_duration(w.duration),
                w.title,
                w.scope.label(),
                w.created_by,
            ]
            for w in items
        ],
    )
    return 0


def cmd_show(args: argparse.Namespace, env: CliEnv) -> int:
    with env.runtime().read() as ctx:
        v = svc.get_window(ctx, args.id)
        tz = ctx.tz
        slurm = slurm_status.window_presence(ctx, [v.id])[v.id]  # help/slurm.md
        synced = slurm_status.last_run(ctx) is not None
    if args.json:
        output.print_json(
            v.to_json(tz)
            | {"lock_reason": v.lock_reason(tz), "in_slurm": slurm.state, "in_slurm_detail": slurm.detail}
        )
    else:
        _print_window(v, tz)
        if synced:
            print(f"{'in Slurm:':<10} {slurm.state} ({output.one_line(slurm.detail)})")
    return 0


def cmd_edit(args: argparse.Namespace, env: CliEnv) -> int:
    if args.correct and not args.reason.strip():
        raise ValidationError("a correction needs a reason (--reason)", field="reason")
    if args.all_nodes and (args.node or args.node_type):
        raise ValidationError("use either --all-nodes or --node/--node-type", field="scope")
    with env.runtime().write(dry_run=args.dry_run) as ctx:
        changes = svc.WindowChanges(
            title=args.title if args.title is not None else svc.UNSET,
            description=args.description if args.description is not None else svc.UNSET,
            start=_time(ctx, args.start, "start") if args.start is not None else svc.UNSET,
            end=_time(ctx, args.end, "end") if args.end is not None else svc.UNSET,
            scope=(
                svc.Scope()
                if args.all_nodes
                else svc.Scope(tuple(args.node), tuple(args.node_type))
                if (args.node or args.node_type)
                else svc.UNSET
            ),
        )
        result = svc.update_window(
            ctx,
            args.id,
            changes,
            expected_version=args.expected_version,
            correction=args.correct,
            reason=args.reason,
        )
        tz = ctx.tz
        w = result.window
        assessment = impact_svc.assess(ctx, w.start, w.end, w.scope, exclude_window_id=w.id)
    if args.json:
        output.print_json(
            result.window.to_json(tz)
            | {
                "impact": [i.to_json(tz) for i in result.impact],
                "assessment": assessment.to_json(tz),
                "drifted_months": result.drifted_months,
                "dry_run": args.dry_run,
            }
        )
        return 0
    prefix = "Dry run, nothing saved: would update" if args.dry_run else "Updated"
    print(f"{prefix} window #{result.window.id}" + (" (correction)" if args.correct else ""))
    _print_window(result.window, tz)
    if result.impact:
        print("Compared with the window as it is now:")
        _print_impact(result.impact, tz)
    print_assessment(assessment, tz)
    if result.drifted_months:
        print("Finalized invoices now drifted: " + ", ".join(result.drifted_months))
    return 0


def cmd_delete(args: argparse.Namespace, env: CliEnv) -> int:
    if args.correct and not args.reason.strip():
        raise ValidationError("a correction needs a reason (--reason)", field="reason")
    if len(args.id) > 1 or args.dry_run:
        return bulkcmd.delete_windows(args, env)
    (ident,) = args.id
    runtime = env.runtime()
    with runtime.read() as ctx:
        preview = svc.preview_delete(ctx, ident)
        tz = ctx.tz
    if not args.yes:
        w = preview.window
        sys.stderr.write(
            f"Delete window #{w.id} {output.one_line(w.title)!r} "
            f"({timeutil.format_short(w.start, tz)} → {timeutil.format_short(w.end, tz)})?\n"
        )
        for line in preview.impact:
            sys.stderr.write("  " + output.one_line(line.describe(tz)) + "\n")
        if not preview.impact:
            sys.stderr.write("  No reservations get billable hours back.\n")
        if not confirm("Delete it?", assume_yes=False):
            raise ValidationError(
                "not confirmed; nothing deleted (pass --yes to skip the question)", field="confirm"
            )
    with runtime.write() as ctx:
        result = svc.delete_window(
            ctx, ident, expected_version=preview.window.version, correction=args.correct, reason=args.reason
        )
    if args.json:
        output.print_json(
            {
                "deleted": result.window.to_json(tz),
                "impact": [i.to_json(tz) for i in result.impact],
                "drifted_months": result.drifted_months,
            }
        )
        return 0
    print(f"Deleted window #{result.window.id} {output.one_line(result.window.title)!r}")
    for line in result.impact:
        print("  " + output.one_line(line.describe(tz)))
    if result.drifted_months:
        print("Finalized invoices now drifted: " + ", ".join(result.drifted_months))
    return 0
