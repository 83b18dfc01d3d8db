"""Least-impact slots for a maintenance window (help/windows.md, "Finding the least-impact slot").

Given a duration, a range of time and a scope, every candidate start is judged: on the quarter
hour of the site's wall clock, starting inside the allowed hours (``between``, start included,
end excluded; an end at or before the start wraps past midnight) on an allowed weekday, and
ending by the end of the range. Candidates are taken from the UTC instants, so a DST change is
handled as the clock does: a start in the skipped hour does not exist, one in the repeated hour
is offered twice (two different instants), and the duration is elapsed time.

Ranking, best first: the money not billed (the added downtime of each pending or approved
reservation at the hourly rate in force on each site day, before rounding to cents: the
billing engine's rule, help/billing-rules.md), then the reservation-hours hit, then the renters
(projects) affected, then the earliest start.

Speed: the data is read once (reservations in scope, their existing downtime, the rates), every
reservation's *billable* stretches (its span minus the downtime it already has) are turned into
a handful of breakpoints of a piecewise-linear cost, and one sweep over the sorted candidate
starts evaluates them all. The impact preview (:func:`impact.assess_many`) then runs only for
the returned candidates: each carries the exact impact (amounts rounded as invoices are,
overrides applied) and the conflicts, and is *marked* when it overlaps another window or an
outage on the same nodes.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import select

from ... import timeutil
from ...billing.inputs import RateIn
from ...billing.loader import node_sku_code
from ...context import ServiceContext
from ...downtime import load_downtime
from ...errors import NotFoundError, ValidationError
from ...intervals import Interval, subtract, union
from ...models import Node, NodeType
from ...recurrence import parse_duration, parse_start_time
from .impact import WindowImpact, assess_many, load_pricing, reservation_rows, resolve_scope

STEP = timedelta(minutes=15)
MAX_RANGE_DAYS = 92
MAX_COUNT = 50
WEEKDAY_KEYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
CENT = Decimal("0.01")


# ---------------------------------------------------------------- parsing (shared by front ends)


def parse_between(text: str, field: str = "between") -> tuple[time, time]:
    """``"06:00-18:00"`` → (06:00, 18:00); an end at or before the start wraps past midnight."""
    raw = (text or "").strip()
    parts = re.split(r"\s*[-–]\s*", raw)
    if len(parts) != 2:
        raise ValidationError(
            f"{raw!r} is not a range of hours (use HH:MM-HH:MM, e.g. 06:00-18:00)", field=field
        )
    first = time.fromisoformat(parse_start_time(parts[0], field))
    last = time.fromisoformat(parse_start_time(parts[1], field))
    if first == last:
        raise ValidationError(
            "must not start and end at the same time (leave it out for any hour)", field=field
        )
    return first, last


def parse_weekdays(text: str, field: str = "weekdays") -> frozenset[int]:
    """``"mon-fri"``, ``"sat,sun"``, ``"mon-wed,fri"`` → weekday numbers (Monday 0)."""
    raw = (text or "").strip().lower()
    days: set[int] = set()
    for part in filter(None, (p.strip() for p in raw.split(","))):
        ends = [e.strip()[:3] for e in part.split("-")]
        if len(ends) > 2 or any(e not in WEEKDAY_KEYS for e in ends):
            raise ValidationError(
                f"{part!r} is not a weekday or a range of weekdays (use e.g. mon-fri or sat,sun)", field=field
            )
        a, b = WEEKDAY_KEYS.index(ends[0]), WEEKDAY_KEYS.index(ends[-1])
        days.update((a + i) % 7 for i in range((b - a) % 7 + 1))
    if not days:
        raise ValidationError("is empty (use e.g. mon-fri)", field=field)
    return frozenset(days)


def weekdays_label(days: frozenset[int] | None) -> str:
    if days is None or len(days) == 7:
        return "any day"
    return ",".join(WEEKDAY_KEYS[d] for d in sorted(days))


# ---------------------------------------------------------------- results


@dataclass(frozen=True)
class Candidate:
    """One proposed start: its ranking figures and the exact impact preview."""

    start: datetime
    end: datetime
    not_billed: Decimal  # the ranking figure (before rounding per invoice line), to the cent
    hours: Decimal  # reservation-hours hit (downtime added)
    renters: int  # projects with a reservation hit
    impact: WindowImpact

    @property
    def marked(self) -> bool:
        """Overlaps another window or an outage on the same nodes."""
        return bool(self.impact.windows or self.impact.outages)

    @property
    def free(self) -> bool:
        """Hits no pending or approved reservation."""
        return self.hours == 0

    def describe(self, tz: str) -> str:
        cost = (
            "free: no reservation hit"
            if self.free
            else f"{self.not_billed:.2f} {self.impact.currency} not billed, {self.hours:.2f} h, "
            f"{self.renters} renter(s)"
        )
        mark = " ! overlaps " + "; ".join(self.impact.warning_texts(tz)) if self.marked else ""
        return (
            f"{timeutil.format_short(self.start, tz)} → {timeutil.format_short(self.end, tz)}: {cost}{mark}"
        )

    def to_json(self, tz: str) -> dict[str, object]:
        return {
            "start": timeutil.iso_local(self.start, tz),
            "end": timeutil.iso_local(self.end, tz),
            "not_billed": f"{self.not_billed:.2f}",
            "hours": f"{self.hours:.2f}",
            "renters": self.renters,
            "free": self.free,
            "marked": self.marked,
            "impact": self.impact.to_json(tz),
        }


@dataclass(frozen=True)
class Suggestion:
    duration: timedelta
    start: datetime  # the range searched
    end: datetime
    scope_label: str
    between: tuple[time, time] | None
    weekdays: frozenset[int] | None
    considered: int  # candidate starts judged
    candidates: tuple[Candidate, ...]

    def summary(self) -> str:
        if not self.considered:
            return "no start fits the range, hours and weekdays asked for"
        free = sum(1 for c in self.candidates if c.free)
        return f"{len(self.candidates)} best of {self.considered} start(s) judged" + (
            f", {free} hit no reservation" if free else ""
        )

    def to_json(self, tz: str) -> dict[str, object]:
        return {
            "duration_minutes": int(self.duration.total_seconds() // 60),
            "from": timeutil.iso_local(self.start, tz),
            "to": timeutil.iso_local(self.end, tz),
            "scope": self.scope_label,
            "between": f"{self.between[0]:%H:%M}-{self.between[1]:%H:%M}" if self.between else None,
            "weekdays": weekdays_label(self.weekdays),
            "considered": self.considered,
            "candidates": [c.to_json(tz) for c in self.candidates],
        }


# ---------------------------------------------------------------- the search


def suggest(
    ctx: ServiceContext,
    duration: timedelta | str,
    start: datetime,
    end: datetime,
    *,
    nodes: tuple[str, ...] = (),
    node_types: tuple[str, ...] = (),
    between: tuple[time, time] | str | None = None,
    weekdays: frozenset[int] | set[int] | str | None = None,
    count: int = 5,
) -> Suggestion:
    """The ``count`` least-impact starts for a window of ``duration`` inside ``[start, end)``
    on the named nodes and node types (none: all nodes); see the module docstring. Read-only."""
    ctx.require("read")
    if isinstance(duration, str):
        duration = timedelta(minutes=parse_duration(duration))
    if duration <= timedelta(0):
        raise ValidationError("must be more than zero", field="duration")
    if isinstance(between, str):
        between = parse_between(between) if between.strip() else None
    if isinstance(weekdays, str):
        weekdays = parse_weekdays(weekdays) if weekdays.strip() else None
    days = frozenset(weekdays) if weekdays is not None else None
    if days is not None and (not days or not days <= set(range(7))):
        raise ValidationError("must be weekdays 0 (Monday) to 6 (Sunday)", field="weekdays")
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= MAX_COUNT:
        raise ValidationError(f"must be between 1 and {MAX_COUNT}", field="count")
    start, end = _utc(start, "from"), _utc(end, "to")
    if not end > start:
        raise ValidationError("must be after the start of the range (from)", field="to")
    if end - start > timedelta(days=MAX_RANGE_DAYS):
        raise ValidationError(f"the range may be at most {MAX_RANGE_DAYS} days", field="to")
    now = ctx.now()
    earliest = max(start, now)  # a suggestion never starts in the past
    starts = candidate_starts(earliest, end - duration, ctx.tz, between, days)
    scope = _Scope(nodes, node_types)
    label = "all nodes" if not nodes and not node_types else ", ".join([*node_types, *nodes])
    _check_names(ctx, nodes, node_types)
    if not starts:
        return Suggestion(duration, start, end, label, between, days, 0, ())
    ranked = rank(ctx, starts, duration, scope)
    best = ranked[:count]
    impacts = assess_many(ctx, [(s, s + duration) for s, *_ in best], scope)
    found = tuple(
        Candidate(s, s + duration, money, hrs, renters, imp)
        for (s, money, hrs, renters), imp in zip(best, impacts, strict=True)
    )
    return Suggestion(duration, start, end, label, between, days, len(starts), found)


def _utc(value: datetime, field: str) -> datetime:
    """A plain aware UTC datetime (a pendulum one loses its zone in arithmetic)."""
    v = timeutil.ensure_aware(value, field)
    return datetime(v.year, v.month, v.day, v.hour, v.minute, v.second, v.microsecond, UTC)


def _check_names(ctx: ServiceContext, nodes: tuple[str, ...], node_types: tuple[str, ...]) -> None:
    """Refuse an unknown node or node type by name (as the impact preview does)."""
    known = set(ctx.session.scalars(select(Node.name).where(Node.name.in_(nodes)))) if nodes else set()
    for name in nodes:
        if name not in known:
            raise NotFoundError(f"no node named {name!r}", field="node")
    known = (
        set(ctx.session.scalars(select(NodeType.name).where(NodeType.name.in_(node_types))))
        if node_types
        else set()
    )
    for name in node_types:
        if name not in known:
            raise NotFoundError(f"no node type named {name!r}", field="node_type")


@dataclass(frozen=True)
class _Scope:
    nodes: tuple[str, ...]
    node_types: tuple[str, ...]


def candidate_starts(
    first: datetime,
    last: datetime,
    tz: str,
    between: tuple[time, time] | None,
    weekdays: frozenset[int] | None,
) -> list[datetime]:
    """Quarter hours of site wall clock from ``first`` to ``last`` (both included) whose local
    time lies in ``between`` and local weekday in ``weekdays``."""
    if last < first:
        return []
    zone = ZoneInfo(tz)
    # The first instant at or after ``first`` on a local quarter hour (offsets are whole
    # quarter hours in every zone in use, so stepping 15 minutes of UTC keeps the alignment).
    at = first.astimezone(UTC).replace(second=0, microsecond=0)
    if at < first:
        at += timedelta(minutes=1)
    out: list[datetime] = []
    lo = hi = 0
    if between is not None:
        lo, hi = between[0].hour * 60 + between[0].minute, between[1].hour * 60 + between[1].minute
    while True:
        local = at.astimezone(zone)
        if local.minute % 15 == 0:
            break
        at += timedelta(minutes=1)
    while at <= last:
        local = at.astimezone(zone)
        if local.minute % 15 == 0:  # a zone changing offset by a non-quarter: skip off-grid
            ok = weekdays is None or local.weekday() in weekdays
            if ok and between is not None:
                minute = local.hour * 60 + local.minute
                ok = lo <= minute < hi if lo < hi else (minute >= lo or minute < hi)
            if ok:
                out.append(at)
        at += STEP
    return out


def _seconds(instant: datetime, origin: datetime) -> int:
    delta = instant - origin
    return delta.days * 86_400 + delta.seconds


def rank(
    ctx: ServiceContext, starts: list[datetime], duration: timedelta, scope: _Scope
) -> list[tuple[datetime, Decimal, Decimal, int]]:
    """Every start with (money not billed, reservation-hours, renters), best first.

    The cost of a start ``s`` is a sum over the billable stretches ``[a, b)`` (rate ``ρ``) of
    ``ρ·|[s, s+d) ∩ [a, b)|``, and that overlap is ``r(s+d-a) - r(s-a) - r(s+d-b) + r(s-b)``
    with ``r(x) = max(x, 0)``: four breakpoints per stretch, evaluated for all starts in one
    sweep (slope and intercept carried along)."""
    session = ctx.session
    d = int(duration.total_seconds())
    lo, hi = starts[0], starts[-1] + duration
    origin = lo
    resolved = resolve_scope(session, scope.nodes, scope.node_types)
    rows = [r for r in reservation_rows(session, lo, hi) if resolved.applies_to(r.node_id, r.node_type_id)]
    if not rows:
        return [(s, Decimal(0), Decimal(0), 0) for s in starts]
    d_lo = min(r.start for r in rows)
    d_hi = max(r.end for r in rows)
    index = load_downtime(session, d_lo, d_hi, ctx.now(), forecast_hours=ctx.site.outage_default_hours)
    pricing = load_pricing(ctx, lo, hi, d_lo, d_hi)
    rates_by_sku: dict[str, list[RateIn]] = defaultdict(list)
    for row in pricing.rates:
        rates_by_sku[row.sku].append(row)
    steps = {sku: _rate_steps(rows_, ctx.tz) for sku, rows_ in rates_by_sku.items()}

    money_events: dict[int, Decimal] = defaultdict(Decimal)  # breakpoint -> coefficient (rate)
    hour_events: dict[int, int] = defaultdict(int)
    reach: dict[str, list[tuple[int, int]]] = defaultdict(list)  # project -> open (s_lo, s_hi)
    for r in rows:
        span = Interval(max(r.start, lo), min(r.end, hi))
        if not span.start < span.end:
            continue
        existing = [src.interval for src in index.for_node(r.node_id, r.node_type_id)]
        billable = subtract(span, union(existing))
        if not billable:
            continue
        sku = pricing.sku_by_type.get(r.node_type_id) or node_sku_code(r.node_type)
        for part in billable:
            for piece, amount in _rate_pieces(part, steps.get(sku, [])):
                a, b = _seconds(piece.start, origin), _seconds(piece.end, origin)
                if a >= b:
                    continue
                for at, sign in ((a - d, 1), (a, -1), (b - d, -1), (b, 1)):
                    hour_events[at] += sign
                    if amount:
                        money_events[at] += sign * amount
                reach[r.project].append((a - d, b))
    money = _sweep(starts, origin, money_events)
    seconds = _sweep(starts, origin, {t: Decimal(c) for t, c in hour_events.items()})
    renters = _renters(starts, origin, reach)
    ranked = [
        (s, (m / 3600).quantize(CENT), h / 3600, n)
        for s, m, h, n in zip(starts, money, seconds, renters, strict=True)
    ]
    ranked.sort(key=lambda x: (x[1], x[2], x[3], x[0]))
    return ranked


def _rate_steps(rates: list[RateIn], tz: str) -> list[tuple[datetime, Decimal]]:
    """A SKU's rates as (instant its day begins, amount), in order: the rate in force at an
    instant is the last step at or before it (rates change at site midnights)."""
    steps: dict[date, Decimal] = {}
    for rate in sorted(rates, key=lambda x: (x.effective, x.id)):
        steps[rate.effective] = rate.amount  # the later one of a day wins, as in the engine
    return [(timeutil.start_of_day(day, tz), amount) for day, amount in sorted(steps.items())]


def _rate_pieces(
    part: Interval[datetime], steps: list[tuple[datetime, Decimal]]
) -> list[tuple[Interval[datetime], Decimal]]:
    """``part`` cut where the rate in force changes, each piece with its rate (0 where no rate
    is in force: not priced, like the preview's "no rate for part")."""
    if not steps:
        return [(part, Decimal(0))]
    at = [instant for instant, _ in steps]
    i = bisect_right(at, part.start) - 1
    out = []
    a = part.start
    while True:
        rate = steps[i][1] if i >= 0 else Decimal(0)
        nxt = at[i + 1] if i + 1 < len(at) else None
        if nxt is None or nxt >= part.end:
            out.append((Interval(a, part.end), rate))
            return out
        out.append((Interval(a, nxt), rate))
        a, i = nxt, i + 1


def _sweep(starts: list[datetime], origin: datetime, events: dict[int, Decimal]) -> list[Decimal]:
    """Σ c·max(s - t, 0) over the events (t, c), for every start ``s`` (ascending)."""
    points = sorted(events.items())
    out: list[Decimal] = []
    slope, intercept, i = Decimal(0), Decimal(0), 0
    for s in starts:
        x = _seconds(s, origin)
        while i < len(points) and points[i][0] <= x:
            t, c = points[i]
            slope += c
            intercept += c * t
            i += 1
        out.append(slope * x - intercept)
    return out


def _renters(starts: list[datetime], origin: datetime, reach: dict[str, list[tuple[int, int]]]) -> list[int]:
    """For each start, the projects whose billable time it touches (``s`` strictly inside one
    of the project's open intervals)."""
    opens: list[int] = []
    closes: list[int] = []
    for spans in reach.values():
        spans.sort()
        cur_lo, cur_hi = spans[0]
        for a, b in spans[1:]:
            if a < cur_hi:
                cur_hi = max(cur_hi, b)
            else:
                opens.append(cur_lo)
                closes.append(cur_hi)
                cur_lo, cur_hi = a, b
        opens.append(cur_lo)
        closes.append(cur_hi)
    opens.sort()
    closes.sort()
    out = []
    for s in starts:
        x = _seconds(s, origin)
        out.append(bisect_left(opens, x) - bisect_right(closes, x))
    return out
