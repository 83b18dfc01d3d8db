"""``nodedesk schedule add|list|show|preview|edit|skip|move|delete|extend`` (recurring windows)."""

from __future__ import annotations

import argparse
import sys
from datetime import date, datetime
from typing import TYPE_CHECKING

from nodedesk.core import recurrence, timeutil
from nodedesk.core.context import ServiceContext
from nodedesk.core.errors import ValidationError
from nodedesk.core.services.downtime import schedules as svc
from nodedesk.core.services.downtime.windows import Scope

from . import output
from .common import add_json, confirm, positive_int

if TYPE_CHECKING:
    from . import CliEnv

RULE_HELP = 'e.g. "3rd Tuesday of every month", "last Friday", "every Monday", "every 2 weeks on Monday"'


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("schedule", help="recurring maintenance windows (e.g. 3rd Tuesday of every month)")
    s = p.add_subparsers(dest="schedule_command", metavar="ACTION", required=True)

    a = s.add_parser("add", help="create a schedule and its windows up to the horizon")
    _draft_args(a, required=True)
    a.add_argument(
        "--dry-run", action="store_true", help="check and show what would be created; save nothing"
    )
    add_json(a)
    a.set_defaults(handler=cmd_add)

    ls = s.add_parser("list", help="list schedules")
    ls.add_argument("--search", default="", help="text in title or description")
    add_json(ls)
    ls.set_defaults(handler=cmd_list)

    sh = s.add_parser("show", help="show one schedule and its next occurrences")
    sh.add_argument("id", type=int)
    sh.add_argument("--count", type=positive_int, default=6, help="occurrences to show (default 6)")
    add_json(sh)
    sh.set_defaults(handler=cmd_show)

    pv = s.add_parser(
        "preview", help="the next occurrences and whom they hit: of a saved schedule (ID) or of a draft"
    )
    pv.add_argument("id", type=int, nargs="?", help="a saved schedule (otherwise give --rule etc.)")
    _draft_args(pv, required=False)
    pv.add_argument("--count", type=positive_int, default=5, help="occurrences to show (default 5)")
    add_json(pv)
    pv.set_defaults(handler=cmd_preview)

    e = s.add_parser("edit", help="change a schedule (only future, not-yet-started occurrences change)")
    e.add_argument("id", type=int)
    _draft_args(e, required=False)
    e.add_argument("--all-nodes", action="store_true", help="make the scope all nodes")
    e.add_argument("--no-until", action="store_true", help="remove the last date (repeat forever)")
    e.add_argument("--expected-version", type=int, help="refuse if the schedule changed since this version")
    e.add_argument("--dry-run", action="store_true", help="show what would change; save nothing")
    add_json(e)
    e.set_defaults(handler=cmd_edit)

    sk = s.add_parser("skip", help="skip one occurrence (deletes its upcoming window)")
    sk.add_argument("id", type=int)
    sk.add_argument("date", help="the occurrence's date, YYYY-MM-DD (site time)")
    sk.add_argument("--reason", default="")
    add_json(sk)
    sk.set_defaults(handler=cmd_skip)

    mv = s.add_parser("move", help="move one occurrence to another time")
    mv.add_argument("id", type=int)
    mv.add_argument("date", help="the occurrence's date, YYYY-MM-DD (site time)")
    mv.add_argument("--start", required=True, help='new start "YYYY-MM-DD HH:MM"')
    mv.add_argument("--end", help="new end (default: same length)")
    mv.add_argument("--reason", default="")
    add_json(mv)
    mv.set_defaults(handler=cmd_move)

    d = s.add_parser("delete", help="delete a schedule and its upcoming windows (past ones stay)")
    d.add_argument("id", type=int)
    d.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    add_json(d)
    d.set_defaults(handler=cmd_delete)

    x = s.add_parser("extend", help="create the windows of every schedule up to the horizon (idempotent)")
    x.add_argument("--months", type=int, help="how far ahead (default: site setting schedule_horizon_months)")
    add_json(x)
    x.set_defaults(handler=cmd_extend)


def _draft_args(p: argparse.ArgumentParser, *, required: bool) -> None:
    p.add_argument("--title", required=required)
    p.add_argument("--description")
    p.add_argument("--rule", required=required, help=RULE_HELP + ', or an RRULE "FREQ=MONTHLY;BYDAY=+3TU"')
    p.add_argument("--start-time", required=required, help="local start time HH:MM, e.g. 06:00")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--duration", help="wall-clock length, e.g. 12h, 90m, 1h30m")
    g.add_argument("--end-time", help="local end time HH:MM (next day if not after the start)")
    p.add_argument("--from", dest="from_", metavar="DATE", help="first date YYYY-MM-DD (default today)")
    p.add_argument("--until", metavar="DATE", help="last date YYYY-MM-DD (inclusive; default: forever)")
    p.add_argument(
        "--node", action="append", default=[], metavar="NAME", help="limit to this node (repeatable)"
    )
    p.add_argument(
        "--node-type",
        action="append",
        default=[],
        metavar="TYPE",
        help="limit to this node type (repeatable)",
    )


def _date(text: str | None, field: str) -> date | None:
    return timeutil.parse_date(text, field) if text else None


def _draft(args: argparse.Namespace) -> svc.ScheduleDraft:
    return svc.ScheduleDraft(
        title=args.title or "",
        rule=args.rule or "",
        start_time=args.start_time or "",
        duration=args.duration or "",
        end_time=args.end_time or "",
        description=args.description or "",
        first_date=_date(args.from_, "from"),
        until_date=_date(args.until, "until"),
        scope=Scope(tuple(args.node), tuple(args.node_type)),
    )


def _print_schedule(v: svc.ScheduleView, tz: str) -> None:
    output.fields(
        [
            ("id", v.id),
            ("title", v.title),
            ("rule", f"{v.rule_text}  [{v.rrule}]"),
            ("time", f"{v.time_label} {v.timezone}"),
            ("from", v.first_date.isoformat()),
            ("until", v.until_date.isoformat() if v.until_date else "forever"),
            ("scope", v.scope.label()),
            ("next", timeutil.format_local(v.next_start, tz) if v.next_start else "none"),
            ("windows ahead", v.materialised_ahead),
            ("created", f"{timeutil.format_local(v.created_at, tz)} by {v.created_by}"),
            ("modified", f"{timeutil.format_local(v.modified_at, tz)} by {v.modified_by}"),
            ("version", v.version),
        ]
    )
    if v.description:
        print("description:")
        for line in v.description.splitlines():
            print("  " + output.one_line(line))


def _when(start: datetime, end: datetime, tz: str) -> str:
    a, b = timeutil.to_local(start, tz), timeutil.to_local(end, tz)
    tail = b.format("HH:mm") if a.date() == b.date() else b.format("YYYY-MM-DD HH:mm")
    return f"{a.format('ddd YYYY-MM-DD HH:mm')}–{tail} {a.format('Z')}"


def _print_preview(p: svc.Preview, tz: str) -> None:
    end = recurrence.end_time_label(p.start_time, p.duration_minutes)
    print(f"{p.rule_text}, {p.start_time}–{end} ({tz}), {p.scope.label()}:")
    if not p.occurrences:
        print("  no upcoming occurrences")
    for o in p.occurrences:
        head = f"  {_when(o.start, o.end, tz)}"
        if o.status != "scheduled":
            head += f"  [{o.status}]"
        if o.window_id:
            head += f"  window #{o.window_id}"
        print(head)
        if o.dst_note:
            print(f"      note: {o.dst_note}")
        imp = o.impact
        if imp is None:
            continue
        if not imp.lines:
            print("      no pending or approved reservation affected")
        for line in imp.lines:
            print("      " + output.one_line(line.describe(tz, imp.currency)))
        if imp.lines:
            print(f"      total: {imp.hours:.2f} h, {imp.not_billed:.2f} {imp.currency} not billed")
        for warning in imp.warning_texts(tz):
            print("      warning: " + output.one_line(warning))


def cmd_add(args: argparse.Namespace, env: CliEnv) -> int:
    with env.runtime().write(dry_run=args.dry_run) as ctx:
        result = svc.create_schedule(ctx, _draft(args))
        tz = ctx.tz
        preview = svc.preview_schedule(ctx, result.schedule.id, count=3)
    if args.json:
        output.print_json(
            result.schedule.to_json(tz)
            | {
                "windows_created": result.created_windows,
                "dry_run": args.dry_run,
                "preview": preview.to_json(tz),
            }
        )
        return 0
    v = result.schedule
    prefix = "Dry run, nothing saved: would create" if args.dry_run else "Created"
    print(
        f"{prefix} schedule #{v.id if not args.dry_run else '?'} {output.one_line(v.title)!r}: "
        f"{v.rule_text}, {v.time_label}, scope {v.scope.label()}; "
        f"{len(result.created_windows)} window(s) created ahead"
    )
    _print_preview(preview, tz)
    return 0


def cmd_list(args: argparse.Namespace, env: CliEnv) -> int:
    with env.runtime().read() as ctx:
        tz = ctx.tz
        items: list[svc.ScheduleView] = []
        offset = 0
        while True:
            page = svc.list_schedules(ctx, text=args.search, offset=offset, limit=500)
            items.extend(page.items)
            offset += page.limit
            if offset >= page.total:
                break
    if args.json:
        output.print_json([v.to_json(tz) for v in items])
        return 0
    output.table(
        ["ID", "TITLE", "RULE", "TIME", "SCOPE", "NEXT", "AHEAD"],
        [
            [
                v.id,
                v.title,
                v.rule_text,
                v.time_label,
                v.scope.label(),
                timeutil.format_short(v.next_start, tz) if v.next_start else "none",
                v.materialised_ahead,
            ]
            for v in items
        ],
    )
    return 0


def cmd_show(args: argparse.Namespace, env: CliEnv) -> int:
    with env.runtime().read() as ctx:
        v = svc.get_schedule(ctx, args.id)
        occs = svc.occurrences(ctx, args.id, count=args.count)
        tz = ctx.tz
    if args.json:
        output.print_json(v.to_json(tz) | {"occurrences": [o.to_json(tz) for o in occs]})
        return 0
    _print_schedule(v, tz)
    print("occurrences:")
    output.table(
        ["DATE", "WHEN", "STATUS", "WINDOW"],
        [
            [
                o.local_date.isoformat(),
                _when(o.start, o.end, tz),
                o.status + (f" ({o.reason})" if o.reason else ""),
                f"#{o.window_id} {o.window_status.replace('_', ' ')}"
                if o.window_id and o.window_status
                else "-",
            ]
            for o in occs
        ],
    )
    return 0


def cmd_preview(args: argparse.Namespace, env: CliEnv) -> int:
    with env.runtime().read() as ctx:
        tz = ctx.tz
        if args.id is not None:
            preview = svc.preview_schedule(ctx, args.id, count=args.count)
        else:
            draft = _draft(args)
            if not draft.title:
                draft = svc.ScheduleDraft(**{**draft.__dict__, "title": "preview"})
            preview = svc.preview_draft(ctx, draft, count=args.count)
    if args.json:
        output.print_json(preview.to_json(tz))
        return 0
    _print_preview(preview, tz)
    return 0


def _edit_draft(ctx: ServiceContext, args: argparse.Namespace) -> svc.ScheduleDraft:
    """The saved schedule with the options given replacing its fields."""
    if args.all_nodes and (args.node or args.node_type):
        raise ValidationError("use either --all-nodes or --node/--node-type", field="scope")
    cur = svc.get_schedule(ctx, args.id)
    scope = cur.scope
    if args.all_nodes:
        scope = Scope()
    elif args.node or args.node_type:
        scope = Scope(tuple(args.node), tuple(args.node_type))
    duration, end_time = args.duration or "", args.end_time or ""
    if not duration and not end_time:
        duration = f"{cur.duration_minutes}m"
    until = None if args.no_until else (_date(args.until, "until") if args.until else cur.until_date)
    return svc.ScheduleDraft(
        title=args.title if args.title is not None else cur.title,
        rule=args.rule if args.rule is not None else cur.rrule,
        start_time=args.start_time if args.start_time is not None else cur.start_time,
        duration=duration,
        end_time=end_time,
        description=args.description if args.description is not None else cur.description,
        first_date=_date(args.from_, "from") if args.from_ else cur.first_date,
        until_date=until,
        scope=scope,
    )


def cmd_edit(args: argparse.Namespace, env: CliEnv) -> int:
    with env.runtime().write(dry_run=args.dry_run) as ctx:
        result = svc.edit_schedule(
            ctx, args.id, _edit_draft(ctx, args), expected_version=args.expected_version
        )
        tz = ctx.tz
    if args.json:
        output.print_json(
            result.schedule.to_json(tz)
            | {
                "windows_created": result.created_windows,
                "windows_updated": result.updated_windows,
                "windows_deleted": result.deleted_windows,
                "dry_run": args.dry_run,
            }
        )
        return 0
    prefix = "Dry run, nothing saved: would update" if args.dry_run else "Updated"
    print(
        f"{prefix} schedule #{result.schedule.id}: upcoming windows {len(result.updated_windows)} changed, "
        f"{len(result.deleted_windows)} deleted, {len(result.created_windows)} created "
        "(started and past windows are never changed)"
    )
    _print_schedule(result.schedule, tz)
    return 0


def cmd_skip(args: argparse.Namespace, env: CliEnv) -> int:
    with env.runtime().write() as ctx:
        r = svc.skip_occurrence(ctx, args.id, timeutil.parse_date(args.date, "date"), reason=args.reason)
        tz = ctx.tz
    if args.json:
        output.print_json(
            {
                "schedule": r.schedule.to_json(tz),
                "date": r.occurrence_date.isoformat(),
                "window_deleted": r.window_id,
            }
        )
        return 0
    gone = f"; window #{r.window_id} deleted" if r.window_id else ""
    print(f"Skipped the {r.occurrence_date.isoformat()} occurrence of schedule #{r.schedule.id}{gone}")
    return 0


def cmd_move(args: argparse.Namespace, env: CliEnv) -> int:
    with env.runtime().write() as ctx:
        tz = ctx.tz
        r = svc.move_occurrence(
            ctx,
            args.id,
            timeutil.parse_date(args.date, "date"),
            timeutil.parse_instant(args.start, tz, "start"),
            timeutil.parse_instant(args.end, tz, "end") if args.end else None,
            reason=args.reason,
        )
    if args.json:
        output.print_json(
            {"schedule": r.schedule.to_json(tz), "date": r.occurrence_date.isoformat(), "window": r.window_id}
        )
        return 0
    win = (
        f" (window #{r.window_id})"
        if r.window_id
        else " (its window is created when it comes within the horizon)"
    )
    print(f"Moved the {r.occurrence_date.isoformat()} occurrence of schedule #{r.schedule.id}{win}")
    return 0


def cmd_delete(args: argparse.Namespace, env: CliEnv) -> int:
    runtime = env.runtime()
    with runtime.read() as ctx:
        v = svc.get_schedule(ctx, args.id)
        tz = ctx.tz
    if not args.yes:
        sys.stderr.write(
            f"Delete schedule #{v.id} {output.one_line(v.title)!r} ({v.rule_text}) and its "
            f"{v.materialised_ahead} upcoming window(s)? Started and past windows stay.\n"
        )
        if not confirm("Delete it?", assume_yes=False):
            raise ValidationError(
                "not confirmed; nothing deleted (pass --yes to skip the question)", field="confirm"
            )
    with runtime.write() as ctx:
        r = svc.delete_schedule(ctx, args.id, expected_version=v.version)
    if args.json:
        output.print_json(
            {
                "deleted": r.schedule.to_json(tz),
                "windows_deleted": r.deleted_windows,
                "windows_kept": r.kept_windows,
            }
        )
        return 0
    print(
        f"Deleted schedule #{r.schedule.id} {output.one_line(r.schedule.title)!r}: "
        f"{len(r.deleted_windows)} upcoming window(s) deleted, {len(r.kept_windows)} past window(s) kept"
    )
    return 0


def cmd_extend(args: argparse.Namespace, env: CliEnv) -> int:
    with env.runtime().write() as ctx:
        r = svc.extend_schedules(ctx, months=args.months)
        tz = ctx.tz
    if args.json:
        output.print_json(
            {
                "months": r.months,
                "horizon_end": timeutil.iso_local(r.horizon_end, tz),
                "created": {str(k): v for k, v in r.created.items()},
                "total": r.total,
            }
        )
        return 0
    print(
        f"Extended schedules to {timeutil.format_local(r.horizon_end, tz)} ({r.months} month(s) ahead): "
        f"{r.total} window(s) created"
    )
    for sid, ids in r.created.items():
        print(f"  schedule #{sid}: windows {', '.join(f'#{i}' for i in ids)}")
    return 0
