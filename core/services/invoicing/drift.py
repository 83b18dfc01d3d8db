"""Guarding finalized invoice months against change, and flagging drift after corrections."""

from __future__ import annotations

import time
from collections.abc import Iterable
from datetime import datetime

import pendulum
from sqlalchemy import select, text

from ... import audit
from ...context import ServiceContext
from ...errors import ConflictError, LockedError
from ...intervals import Interval
from ...models import InvoicePeriod


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
# Advisory locks are database-wide, so the class mixes in the schema: two sites kept in two
# schemas of one database (as the test suite's workers are) never block each other.
_PG_MONTH_LOCK_CLASS = 0x6E64  # "nd"
_CLASS = "(CAST(:c AS integer) # hashtext(current_schema()))"
_SHARED = text(f"SELECT pg_advisory_xact_lock_shared({_CLASS}, :k)")
_TRY_SHARED = text(f"SELECT pg_try_advisory_xact_lock_shared({_CLASS}, :k)")
_TRY_EXCLUSIVE = text(f"SELECT pg_try_advisory_xact_lock({_CLASS}, :k)")
FINALIZE_WAIT_SECONDS = 10.0


def _month_key(period: str) -> dict[str, int]:
    return {"c": _PG_MONTH_LOCK_CLASS, "k": int(period.replace("-", ""))}


def lock_months(ctx: ServiceContext, months: Iterable[str]) -> None:
    """Serialize "is this month finalized?" checks with finalizing it (PostgreSQL).

    A change checks that its months are open, then commits later; a finalize computes the month
    from the data committed so far. Without a lock a change could pass its check just before a
    finalize and commit just after it has taken its snapshot: the finalized invoice would then
    silently differ from the live data. Changes hold the month's lock shared until they commit;
    :func:`lock_month_for_finalize` takes it exclusively.

    Deadlock-free by construction: a finalize never *waits* for the month lock (it retries), so
    a change waiting here only ever waits for a finalize that holds it, and that finalize waits
    only for the audit chain's lock. A change that already holds the chain's lock (it recorded an
    earlier step) therefore must not wait: it is refused instead while the month is being
    finalized. SQLite needs nothing: a write transaction holds the database's write lock from its
    start (BEGIN IMMEDIATE).
    """
    session = ctx.session
    if session.get_bind().dialect.name != "postgresql":
        return
    holds_chain = session.info.get(audit.CHAIN_LOCKED, False)
    for period in sorted(set(months)):
        if not holds_chain:
            session.execute(_SHARED, _month_key(period))
        elif not session.scalar(_TRY_SHARED, _month_key(period)):
            raise ConflictError(
                f"{period} is being finalized right now; nothing was saved, try again", field="period"
            )


def lock_month_for_finalize(ctx: ServiceContext, period: str) -> None:
    """Take the month's lock exclusively once no change that checked it is still in flight.

    Retries instead of queueing (a queued exclusive request would make new shared requests wait
    behind it, which could close a deadlock cycle through the audit chain's lock).
    """
    session = ctx.session
    if session.get_bind().dialect.name != "postgresql":
        return
    deadline = time.monotonic() + FINALIZE_WAIT_SECONDS
    while not session.scalar(_TRY_EXCLUSIVE, _month_key(period)):
        if time.monotonic() > deadline:
            raise ConflictError(
                f"changes touching {period} kept being saved for {FINALIZE_WAIT_SECONDS:g} s; "
                "nothing was finalized, try again",
                field="period",
            )
        time.sleep(0.02)


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
