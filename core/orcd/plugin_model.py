"""What the plugin's invoice API bills for a month, computed from its export.

A faithful model of the plugin's own builders (``utils/invoice_builders.py`` at the version the
export names), kept apart from nodedesk's engine: it exists to know what the old system said
when no invoice file is at hand (a month the plugin had finalized, checked during the migration)
and to explain differences (core/orcd/compare.py). It reproduces the plugin's arithmetic,
including what help/migrate.md lists as its known differences:

- a reservation runs 16:00 on its start date + 12 h per block, cut to 09:00, as *wall-clock*
  times without a zone: a night with a daylight-saving change still counts 17 h;
- maintenance windows are never deducted (the API's figures);
- the split of a day is the cost allocation snapshot approved before that day's local midnight;
- an AMF fee bills from the UTC date of its activation, at the rate in force on the 1st,
  with the split in force on the 1st; placeholder rates ($0.01) are rates like any other.

Floating point is used exactly where the plugin uses it, so the figures match its JSON.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from .invoice import UNKNOWN, OrcdFeeLine, OrcdInvoice, OrcdReservationLine
from .source import AMF_DEFAULT_END, AMF_SKUS, ORate, OrcdSource, OReservation, OSnapshot

START_HOUR, MAX_END_HOUR, BLOCK_HOURS = 16, 9, 12


def reservation_wall_span(start_date: date, blocks: int) -> tuple[datetime, datetime]:
    """The plugin's Reservation.start_datetime / end_datetime (naive wall clock)."""
    start = datetime.combine(start_date, time(START_HOUR, 0))
    end = start + timedelta(hours=BLOCK_HOURS * blocks)
    cap = time(MAX_END_HOUR, 0)
    if end.time() > cap:
        end = datetime.combine(end.date(), cap)
    return start, end


def month_days(year: int, month: int) -> tuple[date, date, int]:
    first = date(year, month, 1)
    nxt = date(year + 1, 1, 1) if month == 12 else date(year, month + 1, 1)
    return first, nxt - timedelta(days=1), (nxt - first).days


def _num(value: float) -> Decimal:
    return Decimal(str(value))


def add_months(start: date, months: int) -> date:
    month = start.month - 1 + months
    year = start.year + month // 12
    month = month % 12 + 1
    return date(year, month, min(start.day, calendar.monthrange(year, month)[1]))


def effective_billing_end(activated: date, end: date) -> date:
    """The plugin's compute_effective_billing_end: whole subscription months from activation."""
    n = 0
    while add_months(activated, n) <= end:
        n += 1
    return add_months(activated, n) - timedelta(days=1)


class PluginModel:
    def __init__(self, src: OrcdSource, tz: str) -> None:
        self.src = src
        self.zone = ZoneInfo(tz)
        self.pi = {p.title: p.pi for p in src.projects}
        self.allocated = {a.project for a in src.allocations}
        self.snapshots: dict[str, list[OSnapshot]] = {}
        for s in src.snapshots:
            self.snapshots.setdefault(s.project, []).append(s)
        self.rates: dict[str, list[ORate]] = {}
        for r in src.rates:
            self.rates.setdefault(r.sku, []).append(r)
        self.sku_names = {s.code: s.name for s in src.skus}
        self.gpu_types = {n.name: n.node_type for n in src.nodes if n.gpu}

    # -- lookups as the plugin does them --------------------------------------------------
    def snapshot_on(self, project: str, day: date) -> OSnapshot | None:
        """CostAllocationSnapshot.get_active_snapshot_for_date: at the day's local midnight."""
        if project not in self.allocated:
            return None
        at = datetime.combine(day, time(0, 0), tzinfo=self.zone)
        found = [
            s
            for s in self.snapshots.get(project, [])
            if s.approved_at <= at and (s.superseded_at is None or s.superseded_at > at)
        ]
        return max(found, key=lambda s: s.approved_at) if found else None

    def rate_on(self, sku: str, day: date) -> ORate | None:
        """RentalSKU.get_rate_for_date: the latest effective date on or before the day."""
        rows = [r for r in self.rates.get(sku, []) if r.effective <= day]
        return max(rows, key=lambda r: r.effective) if rows else None

    # -- reservation lines -----------------------------------------------------------------
    def _hours_between(self, start: datetime, end: datetime) -> float:
        return (end - start).total_seconds() / 3600 if end > start else 0.0

    def _breakdown(self, res: OReservation, year: int, month: int) -> tuple[tuple[str, Decimal], ...]:
        first, last, _ = month_days(year, month)
        span_start, span_end = reservation_wall_span(res.start_date, res.blocks)
        hours: dict[str, float] = {}
        day = max(res.start_date, first)
        while day <= min(span_end.date(), last):
            day_start = datetime.combine(day, time(0, 0))
            h = self._hours_between(max(span_start, day_start), min(span_end, day_start + timedelta(days=1)))
            if h > 0:
                snap = self.snapshot_on(res.project, day)
                if snap is not None:
                    for code, pct in snap.parts:
                        hours[code] = hours.get(code, 0) + h * (float(pct) / 100.0)
                else:
                    hours[UNKNOWN] = hours.get(UNKNOWN, 0) + h
            day += timedelta(days=1)
        return tuple((code, _num(round(h, 2))) for code, h in sorted(hours.items()))

    def reservation_lines(self, year: int, month: int) -> list[OrcdReservationLine]:
        first, last, _ = month_days(year, month)
        month_start = datetime.combine(first, time(0, 0))
        month_end = datetime.combine(last + timedelta(days=1), time(0, 0))
        overrides = {o.reservation_id: o for o in self.src.overrides if (o.year, o.month) == (year, month)}
        lines = []
        for res in sorted(self.src.reservations, key=lambda r: r.created, reverse=True):
            if res.status != "APPROVED":
                continue
            start, end = reservation_wall_span(res.start_date, res.blocks)
            if not (res.start_date <= last and end.date() >= first):
                continue
            override = overrides.get(res.id)
            node_type = self.gpu_types.get(res.node)
            sku = f"NODE_{node_type}" if node_type and f"NODE_{node_type}" in self.sku_names else None
            common = {
                "reservation_id": res.id,
                "project": res.project,
                "owner": self.pi.get(res.project, ""),
                "node": res.node,
                "sku": sku,
                "start_date": res.start_date,
                "start": start,
                "end": end,
                "override": override.kind if override else "",
            }
            if override is not None and override.kind == "EXCLUDE":
                lines.append(
                    OrcdReservationLine(**common, hours=Decimal(0), excluded=True, cost_breakdown=())  # type: ignore[arg-type]
                )
                continue
            hours = round(self._hours_between(max(start, month_start), min(end, month_end)), 2)
            if override is not None and override.kind == "HOURS":
                raw = override.value.get("hours", hours)
                hours = float(raw) if isinstance(raw, (int, float)) else hours
            if override is not None and override.kind == "COST_SPLIT":
                raw_items = override.value.get("cost_breakdown", [])
                items = raw_items if isinstance(raw_items, list) else []
                breakdown = tuple(
                    (str(i.get("cost_object")), _num(float(i.get("hours", 0))))
                    for i in items
                    if isinstance(i, dict)
                )
            else:
                breakdown = self._breakdown(res, year, month)
            lines.append(
                OrcdReservationLine(**common, hours=_num(hours), excluded=False, cost_breakdown=breakdown)  # type: ignore[arg-type]
            )
        return lines

    # -- fee lines -------------------------------------------------------------------------
    def amf_lines(self, year: int, month: int) -> list[OrcdFeeLine]:
        first, last, dim = month_days(year, month)
        lines = []
        for amf in self.src.amf:
            if amf.status not in AMF_SKUS or not amf.billing_project:
                continue
            activated = amf.created.date()  # the plugin's .date() of a UTC instant
            if activated > last:
                continue
            ebe = effective_billing_end(activated, AMF_DEFAULT_END)
            if ebe < first:
                continue
            end = min(last + timedelta(days=1), ebe + timedelta(days=1))
            days = (end - max(activated, first)).days
            sku = AMF_SKUS[amf.status]
            rate = self.rate_on(sku, first) if sku in self.sku_names else None
            snap = self.snapshot_on(amf.billing_project, first)
            breakdown = (
                tuple((code, _num(float(pct))) for code, pct in snap.parts)
                if snap is not None
                else ((UNKNOWN, _num(100.0)),)
            )
            lines.append(
                OrcdFeeLine(
                    kind="amf",
                    project=amf.billing_project,
                    owner=self.pi.get(amf.billing_project, ""),
                    user=amf.username,
                    sku=sku,
                    rate=rate.amount if rate is not None else None,
                    days=days,
                    days_in_month=dim,
                    fraction=_num(round(days / dim, 6)),
                    cost_breakdown=breakdown,
                    start=amf.created.isoformat(),
                )
            )
        return lines

    def invoice(self, period: str, status: str = "Draft") -> OrcdInvoice:
        year, month = int(period[:4]), int(period[5:7])
        return OrcdInvoice(
            period=period,
            status=status,
            source="api",
            reservations=tuple(self.reservation_lines(year, month)),
            fees=tuple(self.amf_lines(year, month)),
        )


def plugin_invoice(src: OrcdSource, tz: str, period: str, status: str = "Draft") -> OrcdInvoice:
    return PluginModel(src, tz).invoice(period, status)


def periods_of(src: OrcdSource) -> Iterable[str]:
    return sorted({p.period for p in src.periods})
