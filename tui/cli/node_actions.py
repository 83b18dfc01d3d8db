"""``nodedesk node list|show|retire|reinstate`` (help/nodes.md); registered under ``node`` by
:mod:`.inventory`, which keeps ``node add|edit``."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from nodedesk.core import timeutil
from nodedesk.core.errors import ValidationError
from nodedesk.core.services.nodes import availability, node_status
from nodedesk.core.services.nodes import node_lifecycle as nodes
from nodedesk.core.slurm import status as slurm_status

from . import output
from .common import add_json, add_list_formats, confirm_listing, day_or_time, print_list

if TYPE_CHECKING:
    from . import CliEnv

LIST_COLUMNS = ["NODE", "TYPE", "CATEGORY", "RENTABLE", "RENTER", "STATUS", "SINCE", "DETAIL", "NEXT CHANGE"]


def register_node_actions(ns: argparse._SubParsersAction) -> None:
    ls = ns.add_parser(
        "list",
        help="list nodes with their state now: outage > maintenance > rented > free (first that "
        "applies), since when, the next change and the current renter",
    )
    ls.add_argument("--type", dest="node_type")
    ls.add_argument("--state", choices=nodes.STATE_FILTERS, help="only nodes in this state now")
    ls.add_argument("--rentable", choices=["yes", "no"], help="only rentable (or not rentable) nodes")
    ls.add_argument("--search", default="", help="text in the name or description")
    ls.add_argument("--retired", action="store_true", help="include retired nodes")
    add_list_formats(ls)
    ls.set_defaults(handler=cmd_list)

    sh = ns.add_parser("show", help="one node: state now, reservations from now on, its activity")
    sh.add_argument("name")
    add_json(sh)
    sh.set_defaults(handler=cmd_show)

    rt = ns.add_parser(
        "retire",
        help="retire a node: it keeps its history and cannot be booked (asks for confirmation)",
        description="A node with pending or approved reservations not ended yet needs "
        "--reservations cancel (cancel them; none may have started) or --reservations keep.",
    )
    rt.add_argument("name")
    rt.add_argument(
        "--reservations", choices=nodes.RESERVATION_CHOICES, help="what happens to its reservations"
    )
    rt.add_argument("--reason", default="")
    rt.add_argument("--expected-version", type=int, help="refuse if the node changed since this version")
    rt.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    rt.add_argument("--dry-run", action="store_true", help="check and list what would happen; save nothing")
    add_json(rt)
    rt.set_defaults(handler=cmd_retire)

    fr = ns.add_parser(
        "free",
        help="which rentable nodes are free (no outage, maintenance or reservation) for a whole range",
    )
    fr.add_argument("--type", dest="node_type", help="only nodes of this type")
    fr.add_argument("--from", dest="from_", required=True, metavar="WHEN", help="a site day or time")
    fr.add_argument("--to", required=True, metavar="WHEN", help="a site day (included) or time")
    fr.add_argument("--all", action="store_true", help="also list the busy nodes and what is on them")
    add_json(fr)
    fr.set_defaults(handler=cmd_free)

    tl = ns.add_parser("timeline", help="the availability timeline: one glyph per node and day (or hour)")
    tl.add_argument("--type", dest="node_type", help="only nodes of this type")
    tl.add_argument("--node", action="append", default=[], metavar="NAME", help="only this node (repeatable)")
    tl.add_argument("--from", dest="from_", required=True, metavar="DAY", help="first site day")
    tl.add_argument("--to", required=True, metavar="DAY", help="last site day (included)")
    tl.add_argument("--hours", action="store_true", help="one column per hour instead of per day")
    tl.add_argument("--ascii", action="store_true", help="ASCII letters instead of glyphs")
    add_json(tl)
    tl.set_defaults(handler=cmd_timeline)

    ri = ns.add_parser("reinstate", help="bring a retired node back (it stays not rentable until you say)")
    ri.add_argument("name")
    ri.add_argument("--reason", default="")
    add_json(ri)
    ri.set_defaults(handler=cmd_reinstate)


def _query(args: argparse.Namespace) -> nodes.NodeQuery:
    return nodes.NodeQuery(
        node_type=args.node_type,
        state=args.state,
        rentable=None if args.rentable is None else args.rentable == "yes",
        text=args.search,
        include_retired=args.retired,
    )


def list_cells(r: nodes.NodeRow, tz: str) -> list[str]:
    """One node as the list shows it (also the CSV row)."""
    renter = ""
    if r.state == "rented":
        renter = f"{r.status.now.renter} ({r.status.now.project})"
    return [
        r.name,
        r.node.node_type,
        r.node.category,
        "yes" if r.node.rentable else "no",
        renter or "-",
        r.state_text(),
        r.status.since_text(tz),
        r.status.detail or "-",
        r.next_text(tz),
    ]


def cmd_list(args: argparse.Namespace, env: CliEnv) -> int:
    with env.runtime().read() as ctx:
        rows = nodes.list_nodes(ctx, _query(args))
        synced, in_slurm = slurm_status.nodes_out_of_service(ctx)  # help/slurm.md
        tz = ctx.tz
    print_list(
        args,
        LIST_COLUMNS,
        [list_cells(r, tz) for r in rows],
        lambda: (r.to_json(tz) | {"slurm": in_slurm.get(r.name)} for r in rows),
    )
    if synced is not None and not (args.json or args.csv):
        print(output.one_line(f"Slurm: last sync {timeutil.format_short(synced.at, tz)}: {synced.outcome}"))
        for name in (r.name for r in rows if r.name in in_slurm):
            print(output.one_line(f"  {name}: {in_slurm[name]}"))
    return 0


def cmd_show(args: argparse.Namespace, env: CliEnv) -> int:
    with env.runtime().read() as ctx:
        d = nodes.node_detail(ctx, args.name)
        tz = ctx.tz
    if args.json:
        output.print_json(d.to_json(tz))
        return 0
    r = d.row
    output.fields(
        [
            ("node", f"{r.name} ({r.node.node_type}, {r.node.category})"),
            ("rentable", "yes" if r.node.rentable else "no"),
            ("retired", timeutil.format_local(r.node.retired_at, tz) if r.node.retired_at else "no"),
            ("state", f"{node_status.STATE_GLYPHS[r.state]} {r.status.now.label()}"),
            ("since", r.status.since_text(tz)),
            ("next", r.next_text(tz)),
            ("description", r.node.description or "-"),
            ("version", r.version),
        ]
    )
    print(f"reservations from now on ({d.reservations_total}):")
    for v in d.reservations:
        print(
            "  "
            + output.one_line(
                f"#{v.id} {v.status} {v.project} ({v.requested_for}) "
                f"{timeutil.format_short(v.start, tz)} → {timeutil.format_short(v.end, tz)}"
            )
        )
    if not d.reservations:
        print("  (none)")
    print("activity (newest first):")
    for e in d.activity:
        print(
            "  "
            + output.one_line(
                f"#{e.seq} {timeutil.format_short(e.occurred_at, tz)} {e.actor_label} {e.action}"
            )
        )
    if not d.activity:
        print("  (none)")
    return 0


def _plan_lines(plan: nodes.RetirePlan, choice: str | None, tz: str) -> list[str]:
    verb = {"cancel": "cancel", "keep": "keep"}.get(choice or "", "decide on")
    lines = [f"Retire node {plan.node.name} ({plan.node.node_type})?"]
    for v in plan.reservations:
        started = " (started)" if v.start <= plan.now else ""
        lines.append(
            f"  {verb} reservation #{v.id} {v.status} {v.project} "
            f"{timeutil.format_short(v.start, tz)} → {timeutil.format_short(v.end, tz)}{started}"
        )
    if not plan.reservations:
        lines.append("  It has no pending or approved reservation from now on.")
    return lines


def cmd_retire(args: argparse.Namespace, env: CliEnv) -> int:
    runtime = env.runtime()
    with runtime.read() as ctx:
        problems = nodes.check_retire(
            ctx, args.name, reservations_choice=args.reservations, reason=args.reason
        )
        if problems:
            raise problems[0].error
        plan = nodes.preview_retire(ctx, args.name)
        tz = ctx.tz
    if not args.dry_run and not confirm_listing(
        _plan_lines(plan, args.reservations, tz), "Retire it?", args.yes
    ):
        raise ValidationError(
            "not confirmed; nothing changed (pass --yes to skip the question)", field="confirm"
        )
    with runtime.write(dry_run=args.dry_run) as ctx:
        result = nodes.retire_node(
            ctx,
            args.name,
            reservations_choice=args.reservations,
            reason=args.reason,
            expected_version=args.expected_version,
        )
    if args.json:
        output.print_json(result.to_json(tz) | {"dry_run": args.dry_run})
        return 0
    prefix = "Dry run, nothing saved: would retire" if args.dry_run else "Retired"
    print(f"{prefix} node {result.node.name} ({result.node.node_type}); it can no longer be booked")
    for v in result.cancelled:
        print(f"  cancelled reservation #{v.id} {output.one_line(v.project)}")
    for v in result.kept:
        print(f"  kept reservation #{v.id} {output.one_line(v.project)} ({v.status})")
    return 0


def cmd_reinstate(args: argparse.Namespace, env: CliEnv) -> int:
    with env.runtime().write() as ctx:
        v = nodes.reinstate_node(ctx, args.name, reason=args.reason)
        tz = ctx.tz
    if args.json:
        output.print_json(v.to_json(tz))
        return 0
    print(
        f"Reinstated node {v.name} ({v.node_type}); "
        f"not rentable until 'nodedesk node edit {v.name} --rentable yes'"
    )
    return 0


def cmd_free(args: argparse.Namespace, env: CliEnv) -> int:
    with env.runtime().read() as ctx:
        tz = ctx.tz
        start = day_or_time(args.from_, tz, "from", end_of_day=False)
        end = day_or_time(args.to, tz, "to", end_of_day=True)
        found = availability.free_nodes(ctx, start, end, args.node_type)
    if args.json:
        output.print_json(found.to_json(tz))
        return 0
    print(
        f"{found.summary()} from {timeutil.format_local(found.start, tz)} "
        f"to {timeutil.format_local(found.end, tz)}"
    )
    rows = [[r.node, r.node_type, "free", ""] for r in found.free]
    if args.all:
        rows += [[r.node, r.node_type, "busy", _busy_text(r, tz)] for r in found.busy]
    output.table(["NODE", "TYPE", "FREE", "BUSY WITH"], rows, max_width=120)
    return 0


def _busy_text(r: availability.NodeTimeline, tz: str) -> str:
    text = "; ".join(s.describe(tz) for s in r.busy[:2])
    return text + (f" (+{len(r.busy) - 2} more)" if len(r.busy) > 2 else "")


def cmd_timeline(args: argparse.Namespace, env: CliEnv) -> int:
    with env.runtime().read() as ctx:
        tz = ctx.tz
        first = timeutil.parse_date(args.from_, "from")
        last = timeutil.parse_date(args.to, "to")
        start, end = availability.day_range(first, last, tz)
        found = availability.timeline(
            ctx,
            availability.TimelineQuery(start, end, node_type=args.node_type, nodes=tuple(args.node)),
        )
    if args.json:
        output.print_json(found.to_json(tz))
        return 0
    unit = "hour" if args.hours else "day"
    bounds = availability.buckets(start, end, tz, unit)
    glyphs = availability.ASCII_GLYPHS if args.ascii else availability.GLYPHS
    width = max([len(r.node) for r in found.rows] + [4])
    heads = [timeutil.to_local(b, tz) for b in bounds[:-1]]
    if unit == "day":
        print(" " * width + "  " + "".join(f"{h.day % 100:<3d}"[:3] for h in heads).rstrip())
    else:
        print(" " * width + "  " + "".join(f"{h.hour:02d}"[1] for h in heads))
    step = 3 if unit == "day" else 1
    for r in found.rows:
        line = "".join(glyphs[c.kind].ljust(step) for c in r.cells(bounds))
        print(f"{output.one_line(r.node):<{width}}  {line.rstrip()}")
    if not found.rows:
        print("(no nodes)")
    legend = "  ".join(f"{glyphs[k]} {k}" for k in availability.KINDS)
    print(f"{legend}  (a bucket shows the first of these present in it)")
    return 0
