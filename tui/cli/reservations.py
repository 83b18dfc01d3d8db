"""``nodedesk reservation add|approve|decline|cancel|move|list|show``."""

from __future__ import annotations

import argparse
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING

from nodedesk.core import timeutil
from nodedesk.core.context import ServiceContext
from nodedesk.core.errors import ValidationError
from nodedesk.core.services.rentals import moves
from nodedesk.core.services.rentals import reservations as svc

from . import bulk as bulkcmd
from . import output
from .common import add_json, day_or_time, positive_int

if TYPE_CHECKING:
    from . import CliEnv


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("reservation", help="node reservations (16:00 starts, 12-hour blocks)")
    s = p.add_subparsers(dest="reservation_command", metavar="ACTION", required=True)

    a = s.add_parser(
        "add",
        help="request a reservation (pending), or record one as a rental manager",
        description="Starts at 16:00 site time on the start date and lasts BLOCKS x 12 h, with an end "
        "later than 09:00 cut back to 09:00. Rental managers record reservations (optionally approved "
        "at once and waiving lead time/horizon); other users request them for their projects.",
    )
    a.add_argument("--node", required=True)
    a.add_argument("--project", required=True, help="project title")
    a.add_argument("--start-date", required=True, metavar="DATE", help="YYYY-MM-DD (site date)")
    a.add_argument("--blocks", required=True, type=positive_int, metavar="N", help="12-hour blocks (1-14)")
    a.add_argument("--by", metavar="USER", help="who the reservation is for (default: you)")
    a.add_argument("--notes", default="")
    a.add_argument("--approve", action="store_true", help="record it approved (rental managers)")
    a.add_argument(
        "--waive-policy", action="store_true", help="waive lead time and horizon (rental managers)"
    )
    _correction_args(a)
    add_json(a)
    a.set_defaults(handler=cmd_add)

    for name, helptext in (
        ("approve", "approve pending reservations (re-checks overlap, node and project)"),
        ("decline", "decline pending reservations (needs --reason)"),
        ("cancel", "cancel pending or approved reservations"),
    ):
        d = s.add_parser(
            name,
            help=helptext,
            description="Several ids: one listing to confirm, then all in one transaction or none.",
        )
        d.add_argument("id", type=int, nargs="+", metavar="ID")
        d.add_argument("--reason", default="")
        d.add_argument("--yes", action="store_true", help="several ids: do not ask for confirmation")
        d.add_argument(
            "--dry-run", action="store_true", help="check and list what would happen; save nothing"
        )
        d.add_argument("--expected-version", type=int, help="refuse if it changed since this version")
        if name != "decline":
            d.add_argument(
                "--correct",
                action="store_true",
                help="admin correction inside a finalized invoice month (needs --reason)",
            )
        add_json(d)
        d.set_defaults(handler=cmd_decide, decision=name)

    ls = s.add_parser("list", help="list reservations (oldest start first)")
    ls.add_argument("--status", choices=svc.STATUSES)
    ls.add_argument("--node")
    ls.add_argument("--project", help="project title")
    ls.add_argument("--for", dest="requested_for", metavar="USER", help="only reservations for this user")
    ls.add_argument(
        "--from", dest="from_", metavar="DATE", help="only reservations ending after this day/time"
    )
    ls.add_argument("--to", metavar="DATE", help="only reservations starting before the end of this day/time")
    ls.add_argument("--sort", choices=svc.SORT_KEYS, default="start")
    ls.add_argument("--desc", action="store_true", help="sort descending")
    add_json(ls)
    ls.set_defaults(handler=cmd_list)

    mv = s.add_parser(
        "move",
        help="move a reservation to a free node of the same type (a running one: from now on)",
        description="The target must be free for the whole part that moves. A reservation already "
        "running is split at now: the past stays on its node (billed there), the rest becomes a new "
        "reservation on the new node (help/reservations.md).",
    )
    mv.add_argument("id", type=int, metavar="ID")
    mv.add_argument("--to-node", required=True, metavar="NODE")
    mv.add_argument("--dry-run", action="store_true", help="check and say what would happen; save nothing")
    mv.add_argument("--expected-version", type=int, help="refuse if it changed since this version")
    add_json(mv)
    mv.set_defaults(handler=cmd_move)

    sh = s.add_parser("show", help="show one reservation with the downtime it overlaps")
    sh.add_argument("id", type=int)
    add_json(sh)
    sh.set_defaults(handler=cmd_show)


def cmd_move(args: argparse.Namespace, env: CliEnv) -> int:
    with env.runtime().write(dry_run=args.dry_run) as ctx:
        result = moves.move_reservation(
            ctx, args.id, args.to_node, dry_run=args.dry_run, expected_version=args.expected_version
        )
        tz = ctx.tz
    if args.json:
        output.print_json(result.to_json(tz))
    else:
        prefix = "Dry run, nothing saved: " if args.dry_run else ""
        text = result.describe(tz)
        print(prefix + (text if prefix else text[0].upper() + text[1:]))
    return 0


def _correction_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--correct",
        action="store_true",
        help="admin correction: record an approved reservation inside a finalized month (needs --reason)",
    )
    p.add_argument("--reason", default="")


def _bound(ctx: ServiceContext, text: str, field: str, end_of_day: bool) -> datetime:
    """A day or a time; a bare ``--to`` day includes that whole day."""
    return day_or_time(text, ctx.tz, field, end_of_day=end_of_day)


def _span(v: svc.ReservationView, tz: str) -> str:
    return f"{timeutil.format_local(v.start, tz)} → {timeutil.format_local(v.end, tz)}"


def _status(v: svc.ReservationView) -> str:
    return f"{svc.STATUS_GLYPHS[v.status]} {v.status}"


def _print_downtime(v: svc.ReservationView, tz: str) -> None:
    if not v.downtime:
        return
    print(
        f"Note: this reservation overlaps downtime; {v.downtime_hours:.2f} h of its {v.hours:.2f} h "
        "will not be billed:"
    )
    for d in v.downtime:
        print("  " + output.one_line(d.describe(tz)))


def _print_reservation(v: svc.ReservationView, tz: str, now: datetime) -> None:
    output.fields(
        [
            ("id", v.id),
            ("status", _status(v) + f" ({v.phase(now).replace('_', ' ')})"),
            ("node", f"{v.node} ({v.node_type})"),
            ("project", v.project),
            ("for", v.requested_for),
            ("start", timeutil.format_local(v.start, tz)),
            ("end", timeutil.format_local(v.end, tz)),
            ("blocks", v.blocks),
            ("hours", f"{v.hours:.2f}"),
            ("downtime", f"{v.downtime_hours:.2f} h"),
            ("policy", "waived (lead time/horizon)" if v.policy_waived else "met"),
            ("created", f"{timeutil.format_local(v.created_at, tz)} by {v.created_by}"),
        ]
        + (
            [("decided", f"{timeutil.format_local(v.decided_at, tz)} by {v.decided_by}")]
            if v.decided_at
            else []
        )
        + ([("reason", v.decision_reason)] if v.decision_reason else [])
        + [("version", v.version), ("uuid", v.uuid)]
    )
    if v.notes:
        print("notes:")
        for line in v.notes.splitlines():
            print("  " + output.one_line(line))
    if v.downtime:
        print("downtime (not billed):")
        for d in v.downtime:
            print("  " + output.one_line(d.describe(tz)))


def cmd_add(args: argparse.Namespace, env: CliEnv) -> int:
    if args.correct and not args.reason.strip():
        raise ValidationError("a correction needs a reason (--reason)", field="reason")
    with env.runtime().write() as ctx:
        draft = svc.ReservationDraft(
            node=args.node,
            project=args.project,
            start_date=timeutil.parse_date(args.start_date, "start_date"),
            blocks=args.blocks,
            requested_for=args.by,
            notes=args.notes,
        )
        manager = ctx.actor.can("manage_reservations")
        if manager or args.approve or args.waive_policy or args.correct:
            result = svc.record_reservation(
                ctx,
                draft,
                approve=args.approve,
                waive_policy=args.waive_policy,
                correction=args.correct,
                reason=args.reason,
            )
        else:
            result = svc.request_reservation(ctx, draft)
        tz = ctx.tz
    v = result.reservation
    if args.json:
        output.print_json(
            v.to_json(tz)
            | {"waived": [w.message for w in result.waived], "drifted_months": result.drifted_months}
        )
        return 0
    verb = "Recorded" if manager else "Requested"
    print(
        f"{verb} reservation #{v.id} ({v.status}): {v.node} for {output.one_line(v.project)!r}, "
        f"{_span(v, tz)}, {v.blocks} block(s), {v.hours:.2f} h"
    )
    for w in result.waived:
        print(f"Policy waived: {output.one_line(w.message)}")
    if result.drifted_months:
        print("Finalized invoices now drifted: " + ", ".join(result.drifted_months))
    _print_downtime(v, tz)
    return 0


def cmd_decide(args: argparse.Namespace, env: CliEnv) -> int:
    correct = getattr(args, "correct", False)
    if correct and not args.reason.strip():
        raise ValidationError("a correction needs a reason (--reason)", field="reason")
    if len(args.id) > 1 or args.dry_run:
        return bulkcmd.reservations(args, env)
    (ident,) = args.id
    with env.runtime().write() as ctx:
        if args.decision == "approve":
            result = svc.approve_reservation(
                ctx, ident, expected_version=args.expected_version, correction=correct, reason=args.reason
            )
        elif args.decision == "decline":
            result = svc.decline_reservation(ctx, ident, args.reason, expected_version=args.expected_version)
        else:
            result = svc.cancel_reservation(
                ctx, ident, reason=args.reason, expected_version=args.expected_version, correction=correct
            )
        tz = ctx.tz
    v = result.reservation
    if args.json:
        output.print_json(v.to_json(tz) | {"drifted_months": result.drifted_months})
        return 0
    print(
        f"Reservation #{v.id} {v.status}: {v.node} for {output.one_line(v.project)!r}, {_span(v, tz)}"
        + (" (correction)" if correct else "")
    )
    if result.drifted_months:
        print("Finalized invoices now drifted: " + ", ".join(result.drifted_months))
    if v.status == "approved":
        _print_downtime(v, tz)
    return 0


def cmd_list(args: argparse.Namespace, env: CliEnv) -> int:
    with env.runtime().read() as ctx:
        tz = ctx.tz
        query = svc.ReservationQuery(
            status=args.status,
            node=args.node,
            project=args.project,
            requested_for=args.requested_for,
            start_from=_bound(ctx, args.from_, "from", False) if args.from_ else None,
            end_before=_bound(ctx, args.to, "to", True) if args.to else None,
            sort=args.sort,
            descending=args.desc,
            limit=500,
        )
        items: list[svc.ReservationView] = []
        offset = 0
        while True:  # stream in pages; the CLI prints everything that matches
            page = svc.list_reservations(ctx, replace(query, offset=offset))
            items.extend(page.items)
            offset += page.limit
            if offset >= page.total:
                break
    if args.json:
        output.print_json([v.to_json(tz) for v in items])
        return 0
    output.table(
        ["ID", "STATUS", "NODE", "PROJECT", "FOR", "START", "END", "HOURS", "DOWNTIME"],
        [
            [
                v.id,
                _status(v),
                v.node,
                v.project,
                v.requested_for,
                timeutil.format_short(v.start, tz),
                timeutil.format_short(v.end, tz),
                f"{v.hours:.2f}",
                f"{v.downtime_hours:.2f}" if v.downtime else "",
            ]
            for v in items
        ],
    )
    return 0


def cmd_show(args: argparse.Namespace, env: CliEnv) -> int:
    with env.runtime().read() as ctx:
        v = svc.get_reservation(ctx, args.id)
        tz, now = ctx.tz, ctx.now()
    if args.json:
        output.print_json(v.to_json(tz))
    else:
        _print_reservation(v, tz, now)
    return 0
