"""``nodedesk project add|list|show|edit|archive|reactivate`` and ``nodedesk member add|remove``."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from nodedesk.core import timeutil
from nodedesk.core.models import PROJECT_ROLES, PROJECT_STATUSES, UNALLOCATED
from nodedesk.core.services.rentals import projects as svc
from nodedesk.core.services.rentals import splits

from . import output
from .common import add_json

if TYPE_CHECKING:
    from . import CliEnv


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("project", help="research projects, their owners and members")
    s = p.add_subparsers(dest="project_command", metavar="ACTION", required=True)

    a = s.add_parser("add", help="add a project (the owner gets the owner project role)")
    a.add_argument("title")
    a.add_argument("--owner", required=True, metavar="USER", help="the PI (a registered user)")
    a.add_argument("--description", default="")
    add_json(a)
    a.set_defaults(handler=cmd_add)

    ls = s.add_parser("list", help="list projects with owner, members and today's cost split")
    ls.add_argument("--status", choices=PROJECT_STATUSES)
    ls.add_argument("--member", metavar="USER", help="only projects this user belongs to")
    add_json(ls)
    ls.set_defaults(handler=cmd_list)

    sh = s.add_parser("show", help="show a project, its members and its cost split")
    sh.add_argument("title")
    add_json(sh)
    sh.set_defaults(handler=cmd_show)

    e = s.add_parser("edit", help="rename a project, change its owner or description")
    e.add_argument("title")
    e.add_argument("--title", dest="new_title", metavar="NEW_TITLE")
    e.add_argument("--owner", metavar="USER", help="new owner; the owner project role moves to them")
    e.add_argument("--description")
    e.add_argument("--expected-version", type=int, help="refuse if the project changed since this version")
    add_json(e)
    e.set_defaults(handler=cmd_edit)

    ar = s.add_parser("archive", help="archive a project (no open fee subscriptions or reservations)")
    ar.add_argument("title")
    ar.add_argument("--reason", default="")
    ar.set_defaults(handler=cmd_archive)

    re_ = s.add_parser("reactivate", help="make an archived project active again")
    re_.add_argument("title")
    re_.add_argument("--reason", default="")
    re_.set_defaults(handler=cmd_reactivate)

    m = sub.add_parser("member", help="project members and their project roles")
    ms = m.add_subparsers(dest="member_command", metavar="ACTION", required=True)
    ma = ms.add_parser("add", help="give a user a project role (a user may hold several)")
    ma.add_argument("project")
    ma.add_argument("user")
    ma.add_argument("--role", required=True, choices=PROJECT_ROLES)
    ma.set_defaults(handler=cmd_member_add)
    mr = ms.add_parser("remove", help="take a project role (or, without --role, all of them) from a user")
    mr.add_argument("project")
    mr.add_argument("user")
    mr.add_argument("--role", choices=PROJECT_ROLES)
    mr.set_defaults(handler=cmd_member_remove)


def _split_label(view: splits.SplitView | None) -> str:
    return view.label() if view else f"{UNALLOCATED} (no approved split)"


def _print_project(
    v: svc.ProjectView, tz: str, today_split: splits.SplitView | None, pending: splits.SplitView | None
) -> None:
    output.fields(
        [
            ("id", v.id),
            ("title", v.title),
            ("owner", f"{v.owner} ({v.owner_name})" if v.owner_name else v.owner),
            ("status", v.status),
            ("split today", _split_label(today_split)),
            (
                "pending split",
                f"#{pending.id} from {pending.effective_date} — {pending.label()}" if pending else "none",
            ),
            ("created", f"{timeutil.format_local(v.created_at, tz)} by {v.created_by}"),
            ("modified", f"{timeutil.format_local(v.modified_at, tz)} by {v.modified_by}"),
            ("version", v.version),
        ]
    )
    if v.description:
        print("description:")
        for line in v.description.splitlines():
            print("  " + output.one_line(line))
    print("members:")
    output.table(
        ["USER", "NAME", "ROLES"], [[m.username, m.full_name, ", ".join(m.roles)] for m in v.members]
    )


def cmd_add(args: argparse.Namespace, env: CliEnv) -> int:
    with env.runtime().write() as ctx:
        v = svc.add_project(ctx, args.title, args.owner, args.description)
        tz = ctx.tz
    if args.json:
        output.print_json(v.to_json(tz))
    else:
        print(f"Added project #{v.id} {output.one_line(v.title)!r} owned by {v.owner}")
    return 0


def cmd_list(args: argparse.Namespace, env: CliEnv) -> int:
    with env.runtime().read() as ctx:
        tz = ctx.tz
        today = timeutil.local_day(ctx.now(), tz)
        rows = svc.list_projects(ctx, status=args.status, member=args.member)
        current = {p.id: splits.split_in_force(ctx, p.id, today) for p in rows}
        pending = {p.id: splits.pending_split(ctx, p.id) for p in rows}
    if args.json:
        output.print_json(
            [
                p.to_json(tz)
                | {
                    "split_in_force": c.to_json(tz) if (c := current[p.id]) else None,
                    "pending_split": s.to_json(tz) if (s := pending[p.id]) else None,
                }
                for p in rows
            ]
        )
        return 0
    output.table(
        ["ID", "TITLE", "OWNER", "STATUS", "MEMBERS", "SPLIT TODAY"],
        [
            [
                p.id,
                p.title,
                p.owner,
                p.status,
                len(p.members),
                (c.label() if (c := current[p.id]) else UNALLOCATED)
                + (" (+pending)" if pending[p.id] else ""),
            ]
            for p in rows
        ],
        max_width=60,
    )
    return 0


def cmd_show(args: argparse.Namespace, env: CliEnv) -> int:
    with env.runtime().read() as ctx:
        tz = ctx.tz
        v = svc.get_project(ctx, args.title)
        today_split = splits.split_in_force(ctx, v.id, timeutil.local_day(ctx.now(), tz))
        pending = splits.pending_split(ctx, v.id)
    if args.json:
        output.print_json(
            v.to_json(tz)
            | {
                "split_in_force": today_split.to_json(tz) if today_split else None,
                "pending_split": pending.to_json(tz) if pending else None,
            }
        )
    else:
        _print_project(v, tz, today_split, pending)
    return 0


def cmd_edit(args: argparse.Namespace, env: CliEnv) -> int:
    with env.runtime().write() as ctx:
        v = svc.update_project(
            ctx,
            args.title,
            title=args.new_title,
            owner=args.owner,
            description=args.description,
            expected_version=args.expected_version,
        )
        tz = ctx.tz
    if args.json:
        output.print_json(v.to_json(tz))
    else:
        print(f"Updated project #{v.id} {output.one_line(v.title)!r} (owner {v.owner}, version {v.version})")
    return 0


def cmd_archive(args: argparse.Namespace, env: CliEnv) -> int:
    with env.runtime().write() as ctx:
        v = svc.set_project_status(ctx, args.title, "archived", reason=args.reason)
    print(f"Archived project #{v.id} {output.one_line(v.title)!r}")
    return 0


def cmd_reactivate(args: argparse.Namespace, env: CliEnv) -> int:
    with env.runtime().write() as ctx:
        v = svc.set_project_status(ctx, args.title, "active", reason=args.reason)
    print(f"Reactivated project #{v.id} {output.one_line(v.title)!r}")
    return 0


def cmd_member_add(args: argparse.Namespace, env: CliEnv) -> int:
    with env.runtime().write() as ctx:
        v = svc.add_member(ctx, args.project, args.user, args.role)
    print(f"{args.user} now holds {', '.join(v.roles_of(args.user.strip()))} on {output.one_line(v.title)!r}")
    return 0


def cmd_member_remove(args: argparse.Namespace, env: CliEnv) -> int:
    with env.runtime().write() as ctx:
        v = svc.remove_member(ctx, args.project, args.user, args.role)
    left = v.roles_of(args.user.strip())
    print(f"{args.user} now holds {', '.join(left) if left else 'no role'} on {output.one_line(v.title)!r}")
    return 0
