"""``nodedesk slurm sync|status``: keep Slurm in step with nodedesk (help/slurm.md)."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from nodedesk.core import timeutil
from nodedesk.core.safetext import one_line
from nodedesk.core.services.downtime import windows
from nodedesk.core.slurm import status
from nodedesk.core.slurm.plan import PullAction, PushAction
from nodedesk.core.slurm.sync import Outcome, SyncReport, run_sync

from . import output
from .common import add_json

if TYPE_CHECKING:
    from . import CliEnv

WINDOW_ROWS = 50
SCOPE_WORDS = {"both": "push and pull", "push": "push only", "pull": "pull only"}


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "slurm",
        help="Slurm: windows become MAINT reservations, drained or down nodes become outages",
    )
    s = p.add_subparsers(dest="slurm_command", metavar="ACTION", required=True)
    sy = s.add_parser(
        "sync",
        help="make Slurm's reservations match the windows, and record drained or down nodes as outages",
        description="Push windows to Slurm as MAINT reservations and pull node states as outages "
        "(see 'nodedesk help slurm'). Exit 1 when Slurm cannot be read (nothing changed) or a change "
        "failed (the others were made; the report says which).",
    )
    sy.add_argument(
        "--dry-run", action="store_true", help="print the plan (with each scontrol line); change nothing"
    )
    sy.add_argument("--only", choices=("push", "pull"), help="only push windows, or only pull node states")
    add_json(sy)
    sy.set_defaults(handler=cmd_sync)
    st = s.add_parser(
        "status", help="the last sync, the drift, each window's presence in Slurm (without asking Slurm)"
    )
    add_json(st)
    st.set_defaults(handler=cmd_status)


def _push_line(o: Outcome, _tz: str) -> str:
    a = o.action
    assert isinstance(a, PushAction)
    what = f"{a.subject} {a.title!r}" if a.title else a.subject
    detail = f" ({'; '.join(a.changes)})" if a.changes else ""
    return f"  {a.kind:<7} {what}{detail}: scontrol {' '.join(a.args)}"


def _pull_line(o: Outcome, tz: str) -> str:
    a = o.action
    assert isinstance(a, PullAction)
    outage = f"outage #{o.outage_id or a.outage_id}" if (o.outage_id or a.outage_id) else "new outage"
    start = f" from {timeutil.format_local(a.start, tz)}" if a.start else ""
    seen = f"{a.slurm.state_text()}: {a.slurm.reason or 'no reason'}"
    return f"  {a.kind:<7} {a.node}: {outage} → {a.status}{start} ({seen})"


def _result(o: Outcome, dry_run: bool) -> str:
    if o.error:
        return f"    FAILED: {o.error}"
    return "" if dry_run or o.done else "    not done"


def _print_report(report: SyncReport, tz: str) -> None:
    lines = [f"Slurm: {report.controller}"]
    for side, title, items, render in (
        ("push", "Push (reservations)", report.push, _push_line),
        ("pull", "Pull (outages)", report.pull, _pull_line),
    ):
        if report.scope in ("both", side):
            lines.append(f"{title}:" if items else f"{title}: nothing to change")
            for o in items:
                lines.append(render(o, tz))
                extra = _result(o, report.dry_run)
                if extra:
                    lines.append(extra)
    if report.notes:
        lines.append("Seen, not changed:")
        lines += [f"  {n.subject}: {n.text}" for n in report.notes]
    lines += [f"Problem: {p}" for p in report.problems]
    planned = len(report.push) + len(report.pull)
    if report.dry_run:
        lines.append(f"Dry run: nothing changed ({planned} change(s) planned).")
    else:
        lines.append(f"Done: {report.changes} change(s), {report.failures} failure(s).")
    for line in lines:
        print(one_line(line))


def cmd_sync(args: argparse.Namespace, env: CliEnv) -> int:
    runtime = env.runtime()
    report = run_sync(runtime, scope=args.only or "both", dry_run=args.dry_run)
    with runtime.read() as ctx:
        tz = ctx.tz
    if args.json:
        output.print_json(report.to_json(tz))
    else:
        _print_report(report, tz)
    if report.failures:
        sys.stderr.write(
            f"nodedesk: error: slurm sync: {report.failures} failure(s); "
            f"{report.changes} change(s) were made (see the report)\n"
        )
        return 1
    return 0


def cmd_status(args: argparse.Namespace, env: CliEnv) -> int:
    with env.runtime().read() as ctx:
        tz = ctx.tz
        summary = status.sync_summary(ctx)
        page = windows.list_windows(
            ctx, windows.WindowQuery(start_from=ctx.now(), sort="start", limit=WINDOW_ROWS)
        )
        presence = status.window_presence(ctx, [w.id for w in page.items])
    if args.json:
        output.print_json(
            {
                **summary.to_json(tz),
                "windows": {
                    "total": page.total,
                    "items": [{"id": w.id, "title": w.title, **presence[w.id].to_json()} for w in page.items],
                },
            }
        )
        return 0
    last = summary.last
    if last is None:
        print("Last sync: never (run 'nodedesk slurm sync'; see 'nodedesk help slurm')")
    else:
        print(
            one_line(
                f"Last sync: {timeutil.format_local(last.at, tz)} by {last.by} ({SCOPE_WORDS[last.scope]}): "
                f"{last.outcome}, {last.changes} change(s), {last.problems} problem(s)"
            )
        )
    print(f"Drift: {summary.drift_total}")
    for d in summary.drift:
        print(one_line(f"  {d.subject}: {d.text}"))
    for text in summary.found_by_last_run:
        print(one_line(f"  set back by the last sync: {text}"))
    if summary.nodes_out:
        print("Nodes out of service at the last sync:")
        for node, detail in summary.nodes_out:
            print(one_line(f"  {node}: {detail}"))
    print(f"Windows not over ({page.total}):")
    output.table(
        ["ID", "START", "END", "TITLE", "IN SLURM", "DETAIL"],
        [
            (
                w.id,
                timeutil.format_short(w.start, tz),
                timeutil.format_short(w.end, tz),
                w.title,
                presence[w.id].state,
                presence[w.id].detail,
            )
            for w in page.items
        ],
    )
    if page.total > len(page.items):
        print(f"… and {page.total - len(page.items)} more")
    return 0
