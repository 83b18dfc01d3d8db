"""``nodedesk notices list|show|send|remind``: the outbox of notices to affected renters."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from nodedesk.core import timeutil
from nodedesk.core.models import NOTICE_STATUSES
from nodedesk.core.services.downtime import notices as svc

from . import output
from .common import add_json, positive_int

if TYPE_CHECKING:
    from . import CliEnv


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("notices", help="notices to affected renters (outbox, SMTP delivery)")
    s = p.add_subparsers(dest="notices_command", metavar="ACTION", required=True)

    ls = s.add_parser("list", help="list the outbox, newest first")
    ls.add_argument("--status", choices=NOTICE_STATUSES)
    add_json(ls)
    ls.set_defaults(handler=cmd_list)

    sh = s.add_parser("show", help="show one notice with its text")
    sh.add_argument("id", type=int)
    add_json(sh)
    sh.set_defaults(handler=cmd_show)

    se = s.add_parser(
        "send",
        help="queue due reminders, then deliver pending notices (and failed ones due for a retry) by SMTP",
    )
    se.add_argument("--dry-run", action="store_true", help="show what would be sent; send and change nothing")
    se.add_argument("--limit", type=positive_int, metavar="N", help="send at most N notices")
    add_json(se)
    se.set_defaults(handler=cmd_send)

    r = s.add_parser("remind", help="queue reminders for windows starting within reminder_hours")
    add_json(r)
    r.set_defaults(handler=cmd_remind)


def cmd_list(args: argparse.Namespace, env: CliEnv) -> int:
    with env.runtime().read() as ctx:
        tz = ctx.tz
        items = list(svc.iter_all(ctx, status=args.status))
    if args.json:
        output.print_json([n.to_json(tz) for n in items])
        return 0
    output.table(
        ["ID", "STATUS", "CREATED", "RECIPIENT", "EVENT", "SUBJECT", "TRIES", "LAST ERROR"],
        [
            [
                n.id,
                n.status,
                timeutil.format_short(n.created_at, tz),
                f"{n.recipient} <{n.email}>",
                n.event,
                n.subject,
                n.attempts,
                n.last_error,
            ]
            for n in items
        ],
    )
    return 0


def cmd_show(args: argparse.Namespace, env: CliEnv) -> int:
    with env.runtime().read() as ctx:
        tz = ctx.tz
        n = svc.get_notice(ctx, args.id)
    if args.json:
        output.print_json(n.to_json(tz))
        return 0
    output.fields(
        [
            ("id", n.id),
            ("status", n.status),
            ("event", n.event),
            ("created", timeutil.format_local(n.created_at, tz)),
            ("to", f"{n.recipient} <{n.email}>"),
            ("subject", n.subject),
            ("attempts", n.attempts),
            ("last attempt", timeutil.format_local(n.last_attempt_at, tz) if n.last_attempt_at else "-"),
            ("sent", timeutil.format_local(n.sent_at, tz) if n.sent_at else "-"),
            ("last error", n.last_error or "-"),
            ("attachment", "maintenance.ics" if n.has_ics else "-"),
        ]
    )
    print()
    for line in n.body.splitlines():
        print(output.one_line(line))
    return 0


def cmd_send(args: argparse.Namespace, env: CliEnv) -> int:
    runtime = env.runtime()
    report = svc.send_pending(runtime, dry_run=args.dry_run, limit=args.limit, environ=env.config.environ)
    with runtime.read() as ctx:
        tz = ctx.tz
    if args.json:
        output.print_json(report.to_json(tz))
        return 0 if not report.failed else 1
    if report.reminders:
        print(f"Queued {report.reminders} reminder(s).")
    if report.dry_run:
        print(f"Dry run, nothing sent or changed: {len(report.items)} notice(s) due.")
        for n in report.items:
            print(f"  #{n.id} to {output.one_line(n.email)}: {output.one_line(n.subject)}")
        return 0
    if not report.items:
        print("No notices due.")
        return 0
    print(f"Sent {report.sent} of {len(report.items)} notice(s); {report.failed} failed.")
    for notice_id, error in report.errors:
        output.note(f"notice #{notice_id}: {error}")
    if report.failed:
        sys.stderr.write(
            f"nodedesk: {report.failed} notice(s) failed; they are retried after "
            f"{int(svc.RETRY_AFTER.total_seconds() // 60)} minutes (at most {svc.MAX_ATTEMPTS} attempts)\n"
        )
        return 1
    return 0


def cmd_remind(args: argparse.Namespace, env: CliEnv) -> int:
    with env.runtime().write() as ctx:
        result = svc.queue_reminders(ctx)
    if args.json:
        output.print_json(
            {
                "windows": result.windows,
                "created": result.created,
                "without_email": list(result.without_email),
            }
        )
        return 0
    print(f"Queued {result.created} reminder(s) for {result.windows} window(s) starting soon.")
    if result.without_email:
        output.note(f"skipped (no email address): {', '.join(result.without_email)}")
    return 0
