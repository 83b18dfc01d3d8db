"""Reservations at risk: the hours and money that downtime in the coming horizon takes off them.

A reservation is **at risk** when it is pending or approved, runs at some point in the horizon
``[now, until)`` (it started before or starts during it), and downtime that reaches into the
horizon covers some of its time from now on. Downtime is what billing credits (maintenance
windows in scope and credited outages, core/downtime.py); an open outage counts until its
effective end (its ETR, or the site's ``outage_default_hours`` from now), never forever.

For each such reservation: the hours from now on that this downtime covers (beyond what other
downtime already covers), and what they take off its charges, priced by the billing engine at
the rates in force (a pending reservation as if approved), as in the impact previews
(core/services/impact.py). Downtime already past is history, not a risk. See help/dashboard.md.

A fixed number of queries whatever the number of reservations.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from ... import timeutil
from ...context import ServiceContext
from ...downtime import DowntimeSource, load_downtime
from ...errors import ValidationError
from ...intervals import Interval
from ..rentals.reservations import DowntimeOverlap
from .impact import (
    Hit,
    LineTotals,
    ReservationImpact,
    added_hours,
    load_pricing,
    not_billed,
    reservation_rows,
)

HORIZON_DAYS = 7
MAX_HORIZON_DAYS = 366


def horizon_end(now: datetime, tz: str, days: int) -> datetime:
    """``days`` local calendar days after ``now`` at the same wall-clock time (a DST change in
    between does not shift it by an hour)."""
    return timeutil.to_local(now, tz).add(days=days).in_timezone("UTC")


@dataclass(frozen=True)
class AtRiskLine(ReservationImpact):
    """A reservation at risk: as a window's impact line (hours from now on, money not billed),
    with the pieces of downtime ahead inside it (clipped to it, from now on)."""

    downtime: tuple[DowntimeOverlap, ...] = ()

    def to_json(self, tz: str) -> dict[str, object]:
        return super().to_json(tz) | {"downtime": [d.to_json(tz) for d in self.downtime]}


@dataclass(frozen=True)
class AtRiskReport(LineTotals):
    now: datetime
    until: datetime
    currency: str
    lines: tuple[AtRiskLine, ...]

    NOUN = "at risk"
    NONE = "no reservation at risk"

    def to_json(self, tz: str) -> dict[str, object]:
        return {
            "now": timeutil.iso_local(self.now, tz),
            "until": timeutil.iso_local(self.until, tz),
            "currency": self.currency,
            "reservations": [line.to_json(tz) for line in self.lines],
            "totals": self.totals_json(),
        }


def _split(
    sources: list[DowntimeSource], now: datetime, until: datetime
) -> tuple[list[DowntimeSource], list[DowntimeSource]]:
    """(downtime without the risk, the risk): a source reaching into ``[now, until)`` is split
    at now, its part ahead being the risk; other sources stay whole. Risk pieces get their own
    negative ids so the billing engine (which counts a source once) keeps both parts."""
    base: list[DowntimeSource] = []
    risk: list[DowntimeSource] = []
    for src in sources:
        iv = src.interval
        if not (iv.start < until and iv.end > now):
            base.append(src)
            continue
        if iv.start < now:
            base.append(DowntimeSource(src.source, src.id, src.title, Interval(iv.start, now), src.open))
        piece = Interval(max(iv.start, now), iv.end)
        risk.append(DowntimeSource(src.source, -src.id - 1, src.title, piece, src.open))
    return base, risk


def reservations_at_risk(
    ctx: ServiceContext, *, until: datetime | None = None, days: int = HORIZON_DAYS
) -> AtRiskReport:
    """Reservations that downtime in ``[now, until)`` hits from now on (``until`` defaults to
    ``days`` local days ahead), by start; see the module docstring for the rule."""
    ctx.require("read")
    now = ctx.now()
    if until is None:
        if not 1 <= days <= MAX_HORIZON_DAYS:
            raise ValidationError(f"must be between 1 and {MAX_HORIZON_DAYS}", field="days")
        until = horizon_end(now, ctx.tz, days)
    until = timeutil.ensure_aware(until, "until")
    currency = ctx.site.currency
    if until <= now:
        raise ValidationError("must be after now", field="until")
    rows = reservation_rows(ctx.session, now, until)
    if not rows:
        return AtRiskReport(now, until, currency, ())
    lo, hi = min(r.start for r in rows), max(r.end for r in rows)
    index = load_downtime(ctx.session, lo, hi, now, forecast_hours=ctx.site.outage_default_hours)
    hits: list[Hit] = []
    for r in rows:
        base, risk = _split(index.for_node(r.node_id, r.node_type_id), now, until)
        span = Interval(r.start, r.end)
        ahead = [s for s in risk if s.interval.overlaps(span)]
        hours = added_hours(span, [s.interval for s in base], [s.interval for s in ahead]) if ahead else 0
        if hours > 0:
            hits.append(Hit(r, base, ahead, Decimal(hours)))
    if not hits:
        return AtRiskReport(now, until, currency, ())
    pricing = load_pricing(ctx, now, hi, now, hi)
    amounts, months, missing = not_billed(ctx, pricing, hits, Interval(now, hi))
    lines = []
    for h in hits:
        r = h.row
        pieces = []
        for s in h.added:
            part = s.interval.intersection(Interval(r.start, r.end))
            if part is not None:
                pieces.append(DowntimeOverlap(s.source, -s.id - 1, s.title, part.start, part.end, s.open))
        pieces.sort(key=lambda d: (d.start, d.source, d.id))
        lines.append(
            AtRiskLine(
                r.id,
                r.node,
                r.project,
                r.owner,
                r.status,
                r.start,
                r.end,
                h.hours,
                amounts[r.id],
                tuple(months[r.id]),
                r.id in missing,
                tuple(pieces),
            )
        )
    return AtRiskReport(now, until, currency, tuple(lines))
