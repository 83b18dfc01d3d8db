"""The month engine: DESIGN §8 as a pure function from :class:`MonthData` to an invoice.

No database, no clock, no I/O: the same inputs always give the same invoice, whatever order
the rows come in. Quantities are exact (integer microseconds, integer rate/percent units,
Fractions); :mod:`.money` rounds them only for the lines' shown values.

Reservation line (approved reservation R overlapping month M):
- gross = |R ∩ M|; downtime = |R ∩ M ∩ union(windows in scope, credited outages)|;
  net = gross − downtime.
- Each site-local day d uses the hourly rate in force on d and the cost split in force on d:
  amount = Σ_d net(d) × rate(d), cost object c gets Σ_d net(d) × rate(d) × pct_d(c).
- Overrides: exclude (amount 0, nothing charged), hours (replaces net; each day's hours scale
  in proportion, so its rate and split are kept), split (explicit percentages for the whole
  line), charge_to (the line moves to another project, billed with that project's splits).
Fee line: days subscribed in M (inclusive) / days in M × the monthly rate in force on the 1st,
split by the billing project's split in force on the 1st.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from fractions import Fraction
from typing import TypeVar

from .inputs import (
    DowntimeIn,
    FeeIn,
    MonthData,
    MonthSpec,
    OverrideIn,
    RateIn,
    ReservationIn,
    SplitIn,
    local_text,
)
from .money import (
    HOURS_PLACES,
    MONEY_PLACES,
    US_PER_HOUR,
    allocate,
    hours_decimal,
    ratio_units,
    round_decimal,
    round_units,
    to_scaled_int,
    units_to_decimal,
)

UNALLOCATED = "UNALLOCATED"
RATE_PLACES = 6  # rates are stored with 6 places
PCT_PLACES = 4  # percentages with 4
PCT_WHOLE = 100 * 10**PCT_PLACES  # 100 % in percent units
OVERRIDE_PRIORITY = ("exclude", "hours", "split", "charge_to")  # exclude wins
ZERO = Decimal("0.00")


# ---------------------------------------------------------------- results
# Results are read-only by convention. The per-line classes are plain slotted dataclasses, not
# frozen ones: a month has tens of thousands of them and frozen construction is several times
# slower (it sets every field through object.__setattr__).


@dataclass(slots=True)
class Share:
    """One cost object's part of a line (``hours`` is None on fee lines)."""

    cost_object: str
    hours: Decimal | None
    amount: Decimal
    exact_num: int = 0  # the amount before rounding is exact_num / exact_den
    exact_den: int = 1

    @property
    def exact_amount(self) -> Fraction:
        """Before rounding (the rounded parts sum to the line; the exact ones to its exact amount)."""
        return Fraction(self.exact_num, self.exact_den)


@dataclass(slots=True)
class DowntimePart:
    """One window or outage and its own overlap with the line (sources may overlap each other)."""

    source: str
    id: int
    title: str
    us: int
    hours: Decimal
    open: bool = False


@dataclass(slots=True)
class RateSegment:
    """Consecutive days of a line billed at one hourly rate (``rate`` None: no rate in force)."""

    first: date
    last: date
    rate: Decimal | None
    hours: Decimal


@dataclass(slots=True)
class ReservationLine:
    reservation_id: int
    project: str  # the project billed (differs from origin_project with a charge_to override)
    origin_project: str
    node: str
    node_type: str
    sku: str | None
    requested_for: str
    start: int
    end: int
    billed_start: int  # R ∩ M
    billed_end: int
    gross_us: int
    downtime_us: int
    net_us: int  # computed, before any override
    gross_hours: Decimal
    downtime_hours: Decimal
    net_hours: Decimal  # shown net: the override's hours when there is one
    computed_net_hours: Decimal
    billed_hours: Decimal  # what the cost objects are charged for (0 when excluded)
    amount: Decimal
    amount_num: int  # the exact amount is amount_num / amount_den
    amount_den: int
    excluded: bool
    override: OverrideIn | None
    downtime: tuple[DowntimePart, ...]
    split: tuple[Share, ...]
    rates: tuple[RateSegment, ...]
    missing_rate_hours: Decimal

    type = "reservation"

    @property
    def amount_exact(self) -> Fraction:
        return Fraction(self.amount_num, self.amount_den)

    @property
    def key(self) -> str:
        return f"reservation:{self.reservation_id}"

    @property
    def rate(self) -> Decimal | None:
        """The hourly rate when the whole line has one, else None."""
        rates = {seg.rate for seg in self.rates}
        return rates.pop() if len(rates) == 1 else None


@dataclass(frozen=True)
class FeeLine:
    period_id: int
    subscription_id: int
    user: str
    sku: str
    project: str
    first: date
    last: date
    days: int
    days_in_month: int
    fraction: Fraction
    rate: Decimal | None
    amount: Decimal
    amount_exact: Fraction
    split: tuple[Share, ...]

    type = "fee"

    @property
    def key(self) -> str:
        return f"fee:{self.period_id}"


Line = ReservationLine | FeeLine


@dataclass(frozen=True)
class Totals:
    gross_hours: Decimal
    downtime_hours: Decimal
    net_hours: Decimal
    billed_hours: Decimal
    amount: Decimal
    cost_objects: tuple[tuple[str, Decimal, Decimal], ...]  # (code, hours, amount), by code


@dataclass(frozen=True)
class ProjectInvoice:
    project: str
    owner: str
    lines: tuple[Line, ...]  # reservation lines by start, then fee lines
    totals: Totals


@dataclass(frozen=True)
class BillingWarning:
    code: str
    text: str
    project: str | None = None


@dataclass(frozen=True)
class InvoiceResult:
    month: MonthSpec
    currency: str
    now: int
    projects: tuple[ProjectInvoice, ...]
    totals: Totals
    warnings: tuple[BillingWarning, ...]

    def lines(self) -> Iterable[Line]:
        for p in self.projects:
            yield from p.lines


# ---------------------------------------------------------------- timelines


@dataclass(frozen=True)
class _Split:
    key: int
    parts: tuple[tuple[str, int], ...]  # (cost object, percent units), sorted by code


_UNALLOCATED_SPLIT = _Split(-1, ((UNALLOCATED, PCT_WHOLE),))


def _split_of(parts: Sequence[tuple[str, Decimal]], key: int) -> _Split:
    units = tuple(
        sorted((code, to_scaled_int(Decimal(pct), PCT_PLACES, f"percent for {code}")) for code, pct in parts)
    )
    return _Split(key, units)


_T = TypeVar("_T")


def _by_day(entries: list[tuple[date, int, _T]], days: Sequence[date]) -> list[_T | None]:
    """For each day, the entry with the latest (effective date, id) on or before it."""
    entries = sorted(entries, key=lambda e: (e[0], e[1]))
    out: list[_T | None] = []
    k = -1
    for day in days:
        while k + 1 < len(entries) and entries[k + 1][0] <= day:
            k += 1
        out.append(entries[k][2] if k >= 0 else None)
    return out


class _Timelines:
    """Rate and split in force on each day of the month, built once per SKU / project."""

    def __init__(self, data: MonthData) -> None:
        self.days = data.month.days
        self._rates: dict[str, list[tuple[date, int, RateIn]]] = defaultdict(list)
        for r in data.rates:
            self._rates[r.sku].append((r.effective, r.id, r))
        self._splits: dict[str, list[tuple[date, int, _Split]]] = defaultdict(list)
        for i, s in enumerate(sorted(data.splits, key=lambda s: (s.project, s.effective, s.id))):
            if s.status == "approved":
                self._splits[s.project].append((s.effective, s.id, _split_of(s.parts, i)))
        self._rate_days: dict[str | None, list[tuple[RateIn | None, int | None]]] = {}
        self._split_days: dict[str, list[_Split]] = {}

    def rates(self, sku: str | None) -> list[tuple[RateIn | None, int | None]]:
        """Per day: the rate row in force and its amount in 10**-6 units (None: no rate)."""
        found = self._rate_days.get(sku)
        if found is None:
            entries = self._rates.get(sku, []) if sku else []
            rows = _by_day(entries, self.days)
            found = self._rate_days[sku] = [
                (r, to_scaled_int(r.amount, RATE_PLACES, "rate") if r is not None else None) for r in rows
            ]
        return found

    def splits(self, project: str) -> list[_Split]:
        found = self._split_days.get(project)
        if found is None:
            raw = _by_day(self._splits.get(project, []), self.days)
            found = self._split_days[project] = [s if s is not None else _UNALLOCATED_SPLIT for s in raw]
        return found


# ---------------------------------------------------------------- reservation lines


@dataclass(slots=True)
class _Group:
    """Days of a line billed alike: their weight (µs), split version and rate (10**-6 units)."""

    weight: int
    split: _Split
    rate_units: int | None


@dataclass(slots=True)
class _Segment:
    """A run of consecutive days (indexes into the month) billed at one rate row's amount."""

    first: int
    last: int
    rate: Decimal | None
    weight: int


@dataclass
class _MissingRate:
    """Days, reservations and hours billed without a rate, for one SKU (a warning)."""

    days: set[date] = field(default_factory=set)
    ids: set[int] = field(default_factory=set)
    hours: Fraction = Fraction(0)


@dataclass
class _Issues:
    """What the warnings are built from, collected while computing lines."""

    missing_rate: dict[str | None, _MissingRate]
    unallocated_days: dict[str, set[date]]
    open_outages: dict[int, DowntimeIn]
    fully_covered: list[tuple[ReservationIn, str]]
    fee_missing_rate: list[FeeIn]


def _pick_override(overrides: Iterable[OverrideIn]) -> dict[int, OverrideIn]:
    chosen: dict[int, OverrideIn] = {}
    ranked = sorted(
        overrides,
        key=lambda o: (
            o.reservation_id,
            OVERRIDE_PRIORITY.index(o.kind) if o.kind in OVERRIDE_PRIORITY else 99,
            o.reason,
        ),
    )
    for o in ranked:
        chosen.setdefault(o.reservation_id, o)
    return chosen


def _source_order(d: DowntimeIn) -> tuple[int, int, str, int]:
    return (d.start, d.end, d.source, d.id)


def _clip_sources(
    res: ReservationIn, s: int, e: int
) -> tuple[list[DowntimePart], list[tuple[int, int]], list[DowntimeIn]]:
    parts: list[DowntimePart] = []
    clipped: list[tuple[int, int]] = []
    opened: list[DowntimeIn] = []
    seen: set[tuple[str, int]] = set()
    for src in sorted(res.downtime, key=_source_order) if len(res.downtime) > 1 else res.downtime:
        key = (src.source, src.id)
        if key in seen:
            continue
        seen.add(key)
        a, b = max(src.start, s), min(src.end, e)
        if a >= b:
            continue
        clipped.append((a, b))
        parts.append(DowntimePart(src.source, src.id, src.title, b - a, hours_decimal(b - a), src.open))
        if src.open:
            opened.append(src)
    return parts, _union(clipped), opened


def _union(intervals: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for a, b in sorted(intervals):
        if merged and a <= merged[-1][1]:
            if b > merged[-1][1]:
                merged[-1] = (merged[-1][0], b)
        else:
            merged.append((a, b))
    return merged


def _day_parts(
    bounds: Sequence[int], ndays: int, s: int, e: int, union: list[tuple[int, int]]
) -> list[tuple[int, int, int]]:
    """(day index, gross µs, net µs) for each site-local day of ``[s, e)``."""
    out: list[tuple[int, int, int]] = []
    i = bisect_right(bounds, s) - 1
    k = 0
    while i < ndays and bounds[i] < e:
        ds, de = max(bounds[i], s), min(bounds[i + 1], e)
        down = 0
        while k < len(union) and union[k][1] <= ds:
            k += 1
        j = k
        while j < len(union) and union[j][0] < de:
            down += min(union[j][1], de) - max(union[j][0], ds)
            j += 1
        out.append((i, de - ds, de - ds - down))
        i += 1
    return out


def _reservation_line(
    res: ReservationIn,
    data: MonthData,
    tl: _Timelines,
    override: OverrideIn | None,
    issues: _Issues,
) -> ReservationLine | None:
    month = data.month
    s, e = max(res.start, month.start), min(res.end, month.end)
    if s >= e:
        return None
    sources, union, opened = _clip_sources(res, s, e)
    downtime_us = sum(b - a for a, b in union)
    gross_us = e - s
    net_us = gross_us - downtime_us
    bounds = month.bounds
    first_day = bisect_right(bounds, s) - 1
    last_day = bisect_left(bounds, e) - 1

    kind = override.kind if override else None
    excluded = kind == "exclude"
    project = res.project
    if kind == "charge_to" and override and override.charge_to:
        project = override.charge_to

    rate_days = tl.rates(res.sku)
    if kind == "split" and override:
        fixed: _Split | None = _split_of(override.split, -2)
        split_days: Sequence[_Split] = ()
    else:
        fixed = None
        split_days = tl.splits(project)

    # Each day's weight (µs) and the factor s_num / s_den turning weighted µs into billed
    # hours: 1 / US_PER_HOUR normally; H / total weight for an hours override.
    override_hours = override.hours if kind == "hours" and override is not None else None
    use_net = net_us > 0 or override_hours is None
    total_w = net_us if use_net else gross_us
    if override_hours is not None:
        hours_f = Fraction(override_hours)
        s_num, s_den = hours_f.numerator, hours_f.denominator * total_w
    else:
        s_num, s_den = 1, US_PER_HOUR

    # Timelines only move forward, so when the first and the last day of the line have the same
    # rate row and split version, every day in between has them too: one group, no day loop.
    # (Days without a rate or split take the long way, which records them for the warnings.)
    rate0, units0 = rate_days[first_day]
    split0 = fixed if fixed is not None else split_days[first_day]
    uniform = (
        rate0 is rate_days[last_day][0]
        and (fixed is not None or split0 is split_days[last_day])
        and split0 is not _UNALLOCATED_SPLIT
    )
    groups: dict[tuple[int | None, int], _Group] = {}
    segments: list[_Segment] = []
    weights: list[tuple[int, int]] = []
    if uniform and rate0 is not None:
        groups[(units0, split0.key)] = _Group(total_w, split0, units0)
        segments.append(_Segment(first_day, last_day, rate0.amount, total_w))
    else:
        days = _day_parts(bounds, len(month.days), s, e, union)
        weights = [(i, n if use_net else g) for i, g, n in days]

    missing_w = 0
    for i, w in weights:
        rate, rate_units = rate_days[i]
        split = fixed if fixed is not None else split_days[i]
        group = groups.get((rate_units, split.key))
        if group is None:
            groups[(rate_units, split.key)] = _Group(w, split, rate_units)
        else:
            group.weight += w
        rate_amount = rate.amount if rate is not None else None
        if segments and segments[-1].rate == rate_amount and segments[-1].last == i - 1:
            segments[-1].last = i
            segments[-1].weight += w
        else:
            segments.append(_Segment(i, i, rate_amount, w))
        if rate is None and w > 0 and not excluded:
            missing_w += w
            info = issues.missing_rate.setdefault(res.sku, _MissingRate())
            info.days.add(month.days[i])
            info.ids.add(res.id)
        if split is _UNALLOCATED_SPLIT and w > 0 and not excluded:
            issues.unallocated_days.setdefault(project, set()).add(month.days[i])

    hours_num: dict[str, int] = defaultdict(int)
    amount_num: dict[str, int] = defaultdict(int)
    line_num = 0
    for group in groups.values():
        w, ru = group.weight, group.rate_units or 0
        line_num += w * ru
        for code, pct in group.split.parts:
            hours_num[code] += w * pct
            amount_num[code] += w * ru * pct

    if missing_w:
        issues.missing_rate[res.sku].hours += Fraction(missing_w * s_num, s_den)
    rate_den = s_den * 10**RATE_PLACES  # line_num × s_num / rate_den is the exact amount
    billed_units = ratio_units(total_w * s_num, s_den, HOURS_PLACES)
    if excluded:
        shares: tuple[Share, ...] = ()
        amount = ZERO
        billed_hours = ZERO
        amount_exact = (0, 1)
    else:
        amount_units = ratio_units(line_num * s_num, rate_den, MONEY_PLACES)
        amount_exact = (line_num * s_num, rate_den)
        if len(hours_num) == 1:
            codes = [c for c in hours_num if hours_num[c] or amount_num[c]]
        else:
            codes = sorted([c for c in hours_num if hours_num[c] or amount_num[c]])
        h_alloc = allocate(billed_units, [hours_num[c] for c in codes])
        a_alloc = allocate(amount_units, [amount_num[c] for c in codes])
        share_den = rate_den * PCT_WHOLE
        shares = tuple(
            Share(
                c,
                units_to_decimal(h, HOURS_PLACES),
                units_to_decimal(a, MONEY_PLACES),
                amount_num[c] * s_num,
                share_den,
            )
            for c, h, a in zip(codes, h_alloc, a_alloc, strict=True)
        )
        amount = units_to_decimal(amount_units, MONEY_PLACES)
        billed_hours = units_to_decimal(billed_units, HOURS_PLACES)

    for src in opened:
        issues.open_outages.setdefault(src.id, src)
    if gross_us > 0 and net_us == 0:
        issues.fully_covered.append((res, project))

    computed_net = hours_decimal(net_us)
    return ReservationLine(
        reservation_id=res.id,
        project=project,
        origin_project=res.project,
        node=res.node,
        node_type=res.node_type,
        sku=res.sku,
        requested_for=res.requested_for,
        start=res.start,
        end=res.end,
        billed_start=s,
        billed_end=e,
        gross_us=gross_us,
        downtime_us=downtime_us,
        net_us=net_us,
        gross_hours=hours_decimal(gross_us),
        downtime_hours=hours_decimal(downtime_us),
        net_hours=units_to_decimal(billed_units, HOURS_PLACES) if kind == "hours" else computed_net,
        computed_net_hours=computed_net,
        billed_hours=billed_hours,
        amount=amount,
        amount_num=amount_exact[0],
        amount_den=amount_exact[1],
        excluded=excluded,
        override=override,
        downtime=tuple(sources),
        split=shares,
        rates=tuple(
            RateSegment(
                month.days[seg.first],
                month.days[seg.last],
                seg.rate,
                units_to_decimal(ratio_units(seg.weight * s_num, s_den, HOURS_PLACES), HOURS_PLACES),
            )
            for seg in segments
        ),
        missing_rate_hours=units_to_decimal(
            ratio_units(missing_w * s_num, s_den, HOURS_PLACES), HOURS_PLACES
        ),
    )


# ---------------------------------------------------------------- fee lines


def _fee_line(fee: FeeIn, data: MonthData, tl: _Timelines, issues: _Issues) -> FeeLine | None:
    month = data.month
    first = max(fee.start, month.first_day)
    last = min(fee.end or month.last_day, month.last_day)
    if last < first:
        return None
    days = (last - first).days + 1
    fraction = Fraction(days, month.days_in_month)
    rate = tl.rates(fee.sku)[0][0]
    if rate is None:
        issues.fee_missing_rate.append(fee)
        amount_exact = Fraction(0)
    else:
        amount_exact = fraction * Fraction(rate.amount)
    split = tl.splits(fee.project)[0]
    if split is _UNALLOCATED_SPLIT:
        issues.unallocated_days.setdefault(fee.project, set()).add(month.first_day)
    amount_units = round_units(amount_exact, MONEY_PLACES)
    alloc = allocate(amount_units, [pct for _c, pct in split.parts])  # weights: percent units
    shares = tuple(
        Share(
            code,
            None,
            units_to_decimal(a, MONEY_PLACES),
            amount_exact.numerator * pct,
            amount_exact.denominator * PCT_WHOLE,
        )
        for (code, pct), a in zip(split.parts, alloc, strict=True)
    )
    return FeeLine(
        period_id=fee.id,
        subscription_id=fee.subscription_id,
        user=fee.user,
        sku=fee.sku,
        project=fee.project,
        first=first,
        last=last,
        days=days,
        days_in_month=month.days_in_month,
        fraction=fraction,
        rate=rate.amount if rate is not None else None,
        amount=units_to_decimal(amount_units, MONEY_PLACES),
        amount_exact=amount_exact,
        split=shares,
    )


# ---------------------------------------------------------------- totals


def sum_totals(lines: Iterable[Line]) -> Totals:
    """Totals are sums of the lines' rounded values."""
    gross = down = net = billed = amount = ZERO
    objects: dict[str, list[Decimal]] = {}
    for line in lines:
        amount += line.amount
        if isinstance(line, ReservationLine):
            gross += line.gross_hours
            down += line.downtime_hours
            net += line.net_hours
            billed += line.billed_hours
        for share in line.split:
            acc = objects.setdefault(share.cost_object, [ZERO, ZERO])
            acc[0] += share.hours or ZERO
            acc[1] += share.amount
    return Totals(gross, down, net, billed, amount, tuple((c, h, a) for c, (h, a) in sorted(objects.items())))


def combine_totals(parts: Iterable[Totals]) -> Totals:
    gross = down = net = billed = amount = ZERO
    objects: dict[str, list[Decimal]] = {}
    for t in parts:
        gross += t.gross_hours
        down += t.downtime_hours
        net += t.net_hours
        billed += t.billed_hours
        amount += t.amount
        for code, h, a in t.cost_objects:
            acc = objects.setdefault(code, [ZERO, ZERO])
            acc[0] += h
            acc[1] += a
    return Totals(gross, down, net, billed, amount, tuple((c, h, a) for c, (h, a) in sorted(objects.items())))


# ---------------------------------------------------------------- warnings


def day_ranges(days: Iterable[date]) -> str:
    """``2026-02-01–2026-02-03, 2026-02-07`` for a set of days."""
    ordered = sorted(set(days))
    runs: list[list[date]] = []
    for d in ordered:
        # ordinals, not date subtraction: the days may be pendulum dates, whose difference
        # builds an interval object (a month's warnings list thousands of days)
        if runs and d.toordinal() - runs[-1][1].toordinal() == 1:
            runs[-1][1] = d
        else:
            runs.append([d, d])
    return ", ".join(a.isoformat() if a == b else f"{a.isoformat()}–{b.isoformat()}" for a, b in runs)


def _ids(ids: Iterable[int], limit: int = 8) -> str:
    ordered = sorted(ids)
    shown = ", ".join(f"#{i}" for i in ordered[:limit])
    return shown + (f" and {len(ordered) - limit} more" if len(ordered) > limit else "")


def _hours_text(value: Fraction | Decimal) -> str:
    return f"{round_decimal(Fraction(value), HOURS_PLACES)} h"


def _warnings(
    data: MonthData,
    issues: _Issues,
    projects: dict[str, ProjectInvoice],
    lines_by_res: dict[int, ReservationLine],
    ignored: list[OverrideIn],
) -> list[BillingWarning]:
    month, cur = data.month, data.currency
    out: list[BillingWarning] = []
    if data.now < month.start:
        out.append(BillingWarning("month_open", f"{month.period} has not started yet: this is a forecast"))
    elif data.now < month.end:
        out.append(
            BillingWarning(
                "month_open",
                f"{month.period} is not over yet: figures will change until the month ends",
            )
        )
    if data.pending_reservations:
        n = data.pending_reservations
        out.append(
            BillingWarning(
                "pending_reservations",
                f"{n} pending reservation{'s' if n != 1 else ''} overlap{'s' if n == 1 else ''} "
                f"{month.period} and {'is' if n == 1 else 'are'} not billed unless approved",
            )
        )
    for sku, info in sorted(issues.missing_rate.items(), key=lambda kv: kv[0] or ""):
        what = f"no hourly rate for {sku}" if sku else "no hourly SKU for the node type"
        out.append(
            BillingWarning(
                "missing_rate",
                f"{what} on {day_ranges(info.days)}: {_hours_text(info.hours)} on reservation(s) "
                f"{_ids(info.ids)} billed at 0.00 {cur}; set a rate and the amounts follow",
            )
        )
    for fee in sorted(issues.fee_missing_rate, key=lambda f: (f.sku, f.user, f.id)):
        out.append(
            BillingWarning(
                "missing_rate",
                f"no monthly rate for {fee.sku} on {month.first_day.isoformat()}: the fee of {fee.user} "
                f"billed at 0.00 {cur}",
                fee.project,
            )
        )
    for title, days in sorted(issues.unallocated_days.items()):
        p = projects.get(title)
        figures = ""
        if p is not None:
            for code, h, a in p.totals.cost_objects:
                if code == UNALLOCATED:
                    figures = f": {h} h, {a} {cur} charged to {UNALLOCATED}"
        out.append(
            BillingWarning(
                "unallocated",
                f"project {title!r} has no approved cost split on {day_ranges(days)}{figures}",
                title,
            )
        )
    pending = sorted(
        {
            (s.project, s.effective)
            for s in data.splits
            if s.status == "pending" and s.project in projects and s.effective <= month.last_day
        }
    )
    for title, effective in pending:
        out.append(
            BillingWarning(
                "pending_split",
                f"project {title!r} has a cost split effective {effective.isoformat()} awaiting approval; "
                "it is not used until a billing manager approves it",
                title,
            )
        )
    for oid, src in sorted(issues.open_outages.items()):
        if src.end < month.end:
            text = (
                f"outage #{oid} {src.title!r} is still open: its downtime is counted up to now "
                f"({local_text(src.end, month.tz)}) and will grow until it is resolved"
            )
        else:
            text = f"outage #{oid} {src.title!r} is still open (counted as downtime to the end of the month)"
        out.append(BillingWarning("open_outage", text))
    for res, project in sorted(issues.fully_covered, key=lambda x: x[0].id):
        line = lines_by_res[res.id]
        out.append(
            BillingWarning(
                "fully_covered",
                f"reservation #{res.id} ({res.node}) is entirely covered by downtime in {month.period}: "
                f"{line.gross_hours} h reserved, nothing billable",
                project,
            )
        )
    for o in sorted(ignored, key=lambda o: o.reservation_id):
        out.append(
            BillingWarning(
                "override_ignored",
                f"the {o.kind} override on reservation #{o.reservation_id} is ignored: the reservation "
                f"is not billed in {month.period} (cancelled, or moved out of the month?)",
            )
        )
    return out


# ---------------------------------------------------------------- the whole month


def _line_sort_key(line: Line) -> tuple[object, ...]:
    if isinstance(line, ReservationLine):
        return (0, line.billed_start, line.node, line.reservation_id)
    return (1, line.user, line.sku, line.first, line.period_id)


def compute(data: MonthData) -> InvoiceResult:
    """The month's invoice from its inputs."""
    tl = _Timelines(data)
    issues = _Issues({}, {}, {}, [], [])
    overrides = _pick_override(data.overrides)
    by_project: dict[str, list[Line]] = defaultdict(list)
    lines_by_res: dict[int, ReservationLine] = {}
    for res in sorted(data.reservations, key=lambda r: r.id):
        line = _reservation_line(res, data, tl, overrides.get(res.id), issues)
        if line is not None:
            lines_by_res[res.id] = line
            by_project[line.project].append(line)
    for fee in sorted(data.fees, key=lambda f: f.id):
        fee_line = _fee_line(fee, data, tl, issues)
        if fee_line is not None:
            by_project[fee.project].append(fee_line)
    projects: dict[str, ProjectInvoice] = {}
    for title in sorted(by_project, key=lambda t: (t.casefold(), t)):
        lines = tuple(sorted(by_project[title], key=_line_sort_key))
        projects[title] = ProjectInvoice(title, data.owners.get(title, ""), lines, sum_totals(lines))
    ignored = [o for o in overrides.values() if o.reservation_id not in lines_by_res]
    warnings = _warnings(data, issues, projects, lines_by_res, ignored)
    return InvoiceResult(
        month=data.month,
        currency=data.currency,
        now=data.now,
        projects=tuple(projects.values()),
        totals=combine_totals(p.totals for p in projects.values()),
        warnings=tuple(warnings),
    )


__all__ = [
    "UNALLOCATED",
    "BillingWarning",
    "DowntimeIn",
    "DowntimePart",
    "FeeLine",
    "InvoiceResult",
    "Line",
    "ProjectInvoice",
    "RateSegment",
    "ReservationLine",
    "Share",
    "SplitIn",
    "Totals",
    "compute",
]
