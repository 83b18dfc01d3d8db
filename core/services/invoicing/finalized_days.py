"""Refusing date-based changes (rates, splits, fee subscriptions) that reach a finalized month.

Rates, cost splits and subscriptions are dated by site-local *days*. A change is described by
the stretch of days whose billing it alters, ``[first, end)`` (``end`` exclusive, ``None`` for
"from then on"); when that stretch touches a finalized invoice month the change is refused.
"""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import func, select

from ... import timeutil
from ...context import ServiceContext
from ...errors import LockedError
from ...intervals import Interval
from ...models import InvoicePeriod
from . import drift


def _latest_finalized_end(ctx: ServiceContext) -> date | None:
    """The first day after the latest finalized month (None when nothing is finalized)."""
    latest = ctx.session.scalar(
        select(func.max(InvoicePeriod.period)).where(InvoicePeriod.status == "finalized")
    )
    if not latest:
        return None
    year, month = (int(x) for x in latest.split("-"))
    return date(year + (month == 12), month % 12 + 1, 1)


def finalized_months_in(ctx: ServiceContext, first: date, end: date | None) -> list[str]:
    """Finalized months (``YYYY-MM``) that contain any day of ``[first, end)``."""
    horizon = _latest_finalized_end(ctx)
    if horizon is None:
        return []
    stop = horizon if end is None else min(end, horizon)
    if stop <= first:
        return []
    span = Interval(timeutil.start_of_day(first, ctx.tz), timeutil.start_of_day(stop, ctx.tz))
    return [p.period for p in drift.finalized_months(ctx, drift.months_touched([span], ctx.tz))]


def ensure_days_open(ctx: ServiceContext, first: date, end: date | None, what: str, field: str) -> None:
    """Refuse a change to the days ``[first, end)`` when any of them is in a finalized month."""
    closed = finalized_months_in(ctx, first, end)
    if closed:
        raise LockedError(
            f"{what} would change the finalized invoice for {', '.join(closed)}; "
            "unfinalize that month first (billing manager, with a reason) or choose a later date",
            field=field,
        )


def day_after(day: date) -> date:
    return day + timedelta(days=1)
