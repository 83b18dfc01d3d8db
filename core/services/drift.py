"""Guarding finalized invoice months against change, and flagging drift after corrections."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import pendulum
from sqlalchemy import select, text

from ..context import ServiceContext
from ..errors import LockedError
from ..intervals import Interval
from ..models import InvoicePeriod


def months_touched(intervals: Iterable[Interval[datetime]], tz: str) -> list[str]:
    """Site-local months (``YYYY-MM``) that any of the intervals overlaps."""
    months: set[str] = set()
    for iv in intervals:
        cursor = pendulum.instance(iv.start).in_timezone(tz).start_of("month")
        last = pendulum.instance(iv.end).in_timezone(tz).subtract(microseconds=1)
        while cursor <= last:
            months.add(cursor.format("YYYY-MM"))
            cursor = cursor.add(months=1)
    return sorted(months)


# PostgreSQL advisory locks (two-int form: its own key space, apart from the audit chain's lock).
_PG_MONTH_LOCK_CLASS = 0x6E64  # "nd"


def lock_months(ctx: ServiceContext, months: Iterable[str], *, exclusive: bool = False) -> None:
    """Serialize "is this month finalized?" checks with finalizing it (PostgreSQL).

    A change checks that its months are open, then commits later; a finalize computes the month
    from the data committed so far. Without a lock a change could pass its check just before a
    finalize and commit just after it has taken its snapshot: the finalized invoice would then
    silently differ from the live data. Changes take the month's lock shared, finalize takes it
    exclusively, each until its transaction ends. SQLite needs nothing: a write transaction holds
    the database's write lock from its start (BEGIN IMMEDIATE).
    """
    if ctx.session.get_bind().dialect.name != "postgresql":
        return
    fn = "pg_advisory_xact_lock" if exclusive else "pg_advisory_xact_lock_shared"
    for period in sorted(set(months)):  # one order everywhere: no deadlock between two changes
        ctx.session.execute(
            text(f"SELECT {fn}(:c, :k)"), {"c": _PG_MONTH_LOCK_CLASS, "k": int(period.replace("-", ""))}
        )


def finalized_months(ctx: ServiceContext, months: Iterable[str]) -> list[InvoicePeriod]:
    wanted = list(months)
    if not wanted:
        return []
    lock_months(ctx, wanted)
    return list(
        ctx.session.scalars(
            select(InvoicePeriod)
            .where(InvoicePeriod.period.in_(wanted), InvoicePeriod.status == "finalized")
            .order_by(InvoicePeriod.period)
        )
    )


def ensure_months_open(ctx: ServiceContext, intervals: Iterable[Interval[datetime]], what: str) -> None:
    """Refuse an ordinary change that would alter a finalized month."""
    closed = finalized_months(ctx, months_touched(intervals, ctx.tz))
    if closed:
        names = ", ".join(p.period for p in closed)
        raise LockedError(
            f"{what} would change the finalized invoice for {names}; "
            "an admin correction (--correct --reason) is needed"
        )


def flag_drift(ctx: ServiceContext, intervals: Iterable[Interval[datetime]], note: str) -> list[str]:
    """Mark finalized months touched by an admin correction as drifted; returns their names."""
    flagged = []
    for period in finalized_months(ctx, months_touched(intervals, ctx.tz)):
        period.drifted = True
        period.drift_note = (period.drift_note + "\n" if period.drift_note else "") + note
        flagged.append(period.period)
    ctx.session.flush()
    return flagged
