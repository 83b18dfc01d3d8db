"""The centre's state in figures, for monitoring (the HTTP API's ``/metrics``, help/api.md).

Every figure comes from the service that owns its rule: node states from node_status, window
status from windows, open outages and ETRs from outages, reservations at risk from the
dashboard, notices from notices, the audit chain from activity. Nothing is counted twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select

from ... import timeutil
from ...context import ServiceContext
from ...models import NOTICE_STATUSES, InvoicePeriod
from ..downtime import at_risk, notices, outages, windows
from ..nodes import node_status
from . import activity

OUTAGE_PAGE = 1000


@dataclass(frozen=True)
class OpenOutage:
    id: int
    status: str
    age: timedelta  # open for this long
    etr_overdue_by: timedelta | None  # past its ETR by this much; None without ETR or not yet due


@dataclass(frozen=True)
class Figures:
    now: datetime
    nodes_by_state: dict[str, int]
    windows_in_progress: int
    windows_upcoming_24h: int
    open_outages: tuple[OpenOutage, ...]
    etr_overdue: int
    reservations_at_risk: int
    notices_by_status: dict[str, int]
    last_finalized_period: str | None
    last_finalized_at: datetime | None
    last_finalized_month_end: datetime | None


def figures(ctx: ServiceContext) -> Figures:
    ctx.require("read")
    now = ctx.now()
    states = dict.fromkeys(node_status.STATES, 0)
    for status in node_status.node_statuses(ctx):
        states[status.state] += 1
    running = windows.list_windows(ctx, windows.WindowQuery(status="in_progress", limit=1)).total
    soon = windows.list_windows(
        ctx, windows.WindowQuery(status="upcoming", end_before=now + timedelta(hours=24), limit=1)
    ).total
    open_all: list[OpenOutage] = []
    offset = 0
    while True:  # every open outage (they are few; the ETR rule is the outage view's)
        page = outages.list_outages(
            ctx, outages.OutageQuery(open_only=True, descending=False, offset=offset, limit=OUTAGE_PAGE)
        )
        open_all += [
            OpenOutage(
                o.id,
                o.status,
                max(now - o.start, timedelta(0)),
                (now - o.etr) if o.etr_overdue and o.etr is not None else None,
            )
            for o in page.items
        ]
        offset += OUTAGE_PAGE
        if offset >= page.total:
            break
    counts = notices.counts(ctx)
    row = ctx.session.execute(
        select(InvoicePeriod.period, InvoicePeriod.finalized_at)
        .where(InvoicePeriod.status == "finalized")
        .order_by(InvoicePeriod.period.desc())
        .limit(1)
    ).first()
    month_end = None
    if row is not None:
        year, month = (int(x) for x in row.period.split("-"))
        month_end = timeutil.month_bounds(year, month, ctx.tz)[1]
    return Figures(
        now=now,
        nodes_by_state=states,
        windows_in_progress=running,
        windows_upcoming_24h=soon,
        open_outages=tuple(open_all),
        etr_overdue=sum(1 for o in open_all if o.etr_overdue_by is not None),
        reservations_at_risk=len(at_risk.reservations_at_risk(ctx).lines),
        notices_by_status={s: counts.get(s, 0) for s in NOTICE_STATUSES},
        last_finalized_period=row.period if row else None,
        last_finalized_at=row.finalized_at if row else None,
        last_finalized_month_end=month_end,
    )


@dataclass(frozen=True)
class AuditCheck:
    ok: bool
    checked: int
    problems: int
    at: datetime


def check_audit(ctx: ServiceContext) -> AuditCheck:
    """Verify the activity log now (core/audit.py); the result with when it was taken."""
    result = activity.verify(ctx)
    return AuditCheck(result.ok, result.checked, len(result.problems), ctx.now())
