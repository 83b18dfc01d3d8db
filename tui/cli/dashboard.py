"""``nodedesk dashboard [--json]``: the dashboard's panels as text (or JSON, for scripts)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from nodedesk.core import timeutil
from nodedesk.core.safetext import one_line
from nodedesk.core.services.views import dashboard as svc

from . import output
from .common import add_json

if TYPE_CHECKING:
    from . import CliEnv


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "dashboard",
        help="what is down now, windows in the next 30 days, reservations at risk, invoices, "
        "approvals and notices waiting",
    )
    add_json(p)
    p.set_defaults(handler=cmd_dashboard)


def _window_lines(panel: svc.Panel[svc.DashWindow], tz: str) -> list[str]:
    return [
        f"  window #{w.id} {timeutil.format_short(w.window.start, tz)} → "
        f"{timeutil.format_short(w.window.end, tz)} {one_line(w.window.title)} · {w.nodes_label()}"
        for w in panel.items
    ]


def _section(title: str, lines: list[str], more: int = 0) -> list[str]:
    body = lines or ["  (none)"]
    if more:
        body.append(f"  … and {more} more")
    return [title, *body, ""]


def _slurm_section(d: svc.Dashboard, tz: str) -> list[str]:
    """The last Slurm sync and the drift, on a site that syncs (help/slurm.md)."""
    s = d.slurm
    if s is None or s.last is None:
        return []
    when = timeutil.format_short(s.last.at, tz)
    title = f"Slurm (last sync {when}: {s.last.outcome}, drift {s.drift_total})"
    lines = [f"  {one_line(item.subject)}: {one_line(item.text)}" for item in s.drift]
    return _section(title, lines, s.drift_total - len(s.drift))


def cmd_dashboard(args: argparse.Namespace, env: CliEnv) -> int:
    with env.runtime().read() as ctx:
        tz = ctx.tz
        quick = svc.dashboard(ctx, slow=False)
        slow = svc.slow_parts(ctx)  # what svc.dashboard(ctx) adds, typed as present
    d = quick.with_slow(slow)
    if args.json:
        output.print_json(d.to_json(tz))
        return 0
    now_lines = [
        f"  outage #{o.id} {one_line(o.title)} · {', '.join(o.nodes)} · "
        + (f"ETR {timeutil.format_short(o.etr, tz)}" if o.etr else "no ETR")
        + (" (overdue)" if o.etr_overdue else "")
        for o in d.outages_now.items
    ] + [
        f"  window #{w.id} {'! EMERGENCY ' if w.window.emergency else ''}{one_line(w.window.title)} · "
        f"{w.nodes_label()} · "
        f"until {timeutil.format_short(w.window.end, tz)}"
        for w in d.windows_now.items
    ]
    at_risk = d.at_risk
    assert isinstance(at_risk, svc.RiskPanel)  # the full read: the panel with its totals
    risk = [
        f"  reservation #{a.id} {a.reservation.node} {one_line(a.reservation.project)} "
        f"({a.reservation.status}) from {timeutil.format_short(a.reservation.start, tz)}: "
        f"{a.hours_affected:.2f} h, {a.not_billed:.2f} {at_risk.currency} not billed"
        for a in at_risk.items
    ]
    risk_head = "Reservations at risk (downtime in the next 7 days)"
    if at_risk.total:
        risk_head += f": {at_risk.hours:.2f} h, {at_risk.not_billed:.2f} {at_risk.currency} not billed"
    approvals = [
        f"  reservation #{r.id} {r.node} {one_line(r.project)} from {timeutil.format_short(r.start, tz)}"
        for r in d.pending_reservations.items
    ] + [
        f"  split #{s.id} {one_line(s.project)} from {s.effective_date.isoformat()}: {one_line(s.label())}"
        for s in d.pending_splits.items
    ]
    invoices = [
        f"  {inv.period} {inv.status} · {inv.amount:,.2f} {inv.currency}"
        + (f" · {one_line(inv.drift_note)}" if inv.status == "drifted" and inv.drift_note else "")
        for inv in (slow.invoice, slow.last_month)
    ]
    n = d.notices
    lines = [
        *_section("In progress now", now_lines, d.windows_now.more + d.outages_now.more),
        *_section(
            f"Next 7 days (to {timeutil.format_short(d.near_until, tz)})",
            _window_lines(d.windows_near, tz),
            d.windows_near.more,
        ),
        *_section(
            f"Upcoming (to {timeutil.format_short(d.far_until, tz)})",
            _window_lines(d.windows_far, tz),
            d.windows_far.more,
        ),
        *_section(risk_head, risk, at_risk.more),
        *_section("Pending approvals", approvals, d.pending_reservations.more + d.pending_splits.more),
        *_section("Invoices (this month, last month)", invoices),
        *_slurm_section(d, tz),
        f"Notices waiting: {n.waiting} ({n.pending} pending, {n.failed} failed)",
    ]
    print("\n".join(lines))
    return 0
