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

from .. import timeutil
from ..context import ServiceContext
from ..downtime import DowntimeSource, load_downtime
from ..errors import ValidationError
from ..intervals import Interval
from .impact import Hit, added_hours, load_pricing, not_billed, reservation_rows

HORIZON_DAYS = 7
MAX_HORIZON_DAYS = 366


def horizon_end(now: datetime, tz: str, days: int) -> datetime:
    """``days`` local calendar days after ``now`` at the same wall-clock time (a DST change in
    between does not shift it by an hour)."""
    return timeutil.to_local(now, tz).add(days=days).in_timezone("UTC")


@dataclass(frozen=True)
class RiskDowntime:
    """A piece of downtime ahead inside a reservation (from now on, clipped to it)."""

    source: str  # "maintenance" | "outage"
    id: int
    title: str
    start: datetime
    end: datetime
    open: bool = False  # an open outage, counted until its effective end

    def to_json(self, tz: str) -> dict[str, object]:
        return {
            "source": self.source,
            "id": self.id,
            "title": self.title,
            "start": timeutil.iso_local(self.start, tz),
            "end": timeutil.iso_local(self.end, tz),
            "hours": f"{Decimal(int((self.end - self.start).total_seconds())) / 3600:.2f}",
            "open": self.open,
        }


@dataclass(frozen=True)
class AtRiskLine:
    reservation_id: int
    node: str
    project: str
    owner: str
    status: str
    start: datetime
    end: datetime
    hours: Decimal  # hours from now on the downtime ahead covers
    not_billed: Decimal  # what those hours take off the reservation's charges
    months: tuple[str, ...]
    missing_rate: bool
    downtime: tuple[RiskDowntime, ...]

    def describe(self, tz: str, currency: str = "") -> str:
        money = f"{self.not_billed:.2f}" + (f" {currency}" if currency else "")
        return (
            f"reservation #{self.reservation_id} {self.node} {self.project} ({self.status}) "
            f"{timeutil.format_short(self.start, tz)}→{timeutil.format_short(self.end, tz)}: "
            f"{self.hours:.2f} h, {money} not billed" + (" (no rate for part)" if self.missing_rate else "")
        )

    def to_json(self, tz: str) -> dict[str, object]:
        return {
            "reservation_id": self.reservation_id,
            "node": self.node,
            "project": self.project,
            "owner": self.owner,
            "status": self.status,
            "start": timeutil.iso_local(self.start, tz),
            "end": timeutil.iso_local(self.end, tz),
            "hours": f"{self.hours:.2f}",
            "not_billed": f"{self.not_billed:.2f}",
            "months": list(self.months),
            "missing_rate": self.missing_rate,
            "downtime": [d.to_json(tz) for d in self.downtime],
        }


@dataclass(frozen=True)
class AtRiskReport:
    now: datetime
    until: datetime
    currency: str
    lines: tuple[AtRiskLine, ...]

    @property
    def hours(self) -> Decimal:
        return sum((line.hours for line in self.lines), Decimal(0))

    @property
    def not_billed(self) -> Decimal:
        return sum((line.not_billed for line in self.lines), Decimal("0.00"))

    def summary(self) -> str:
        if not self.lines:
            return "no reservation at risk"
        return (
            f"{len(self.lines)} reservation(s) at risk: {self.hours:.2f} h, "
            f"{self.not_billed:.2f} {self.currency} not billed"
        )

    def to_json(self, tz: str) -> dict[str, object]:
        return {
            "now": timeutil.iso_local(self.now, tz),
            "until": timeutil.iso_local(self.until, tz),
            "currency": self.currency,
            "reservations": [line.to_json(tz) for line in self.lines],
            "totals": {
                "reservations": len(self.lines),
                "hours": f"{self.hours:.2f}",
                "not_billed": f"{self.not_billed:.2f}",
            },
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
                pieces.append(RiskDowntime(s.source, -s.id - 1, s.title, part.start, part.end, s.open))
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
