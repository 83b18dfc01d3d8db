"""Property tests of the pure engine over random reservations, downtime, splits and rates."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from fractions import Fraction

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from nodedesk.core import intervals
from nodedesk.core.billing import compute
from nodedesk.core.billing.document import invoice_document
from nodedesk.core.billing.engine import InvoiceResult, ReservationLine, sum_totals
from nodedesk.core.billing.inputs import (
    DowntimeIn,
    MonthData,
    OverrideIn,
    RateIn,
    ReservationIn,
    SplitIn,
    month_spec,
    to_us,
)
from nodedesk.core.billing.money import US_PER_HOUR

from tests.helpers import SITE_TZ

PERIODS = ["2026-02", "2026-03", "2026-11"]  # plain, spring-forward, fall-back
US_MIN = 60_000_000
DAY = 24 * 60 * US_MIN
ZERO = Decimal("0.00")
SETTINGS = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def percentages(draw: st.DrawFn) -> tuple[tuple[str, Decimal], ...]:
    codes = draw(st.lists(st.sampled_from(["A", "B", "C", "D"]), min_size=1, max_size=3, unique=True))
    cuts = sorted(
        draw(st.lists(st.integers(1, 999_999), min_size=len(codes) - 1, max_size=len(codes) - 1, unique=True))
    )
    bounds = [0, *cuts, 1_000_000]
    return tuple((c, Decimal(bounds[i + 1] - bounds[i]).scaleb(-4)) for i, c in enumerate(sorted(codes)))


@st.composite
def downtime(draw: st.DrawFn, lo: int, hi: int) -> DowntimeIn:
    start = draw(st.integers(lo, hi))
    length = draw(st.integers(1, 3 * DAY // US_MIN)) * US_MIN + draw(st.sampled_from([0, 0, 0, 1_000_000, 7]))
    return DowntimeIn(
        draw(st.sampled_from(["maintenance", "outage"])),
        draw(st.integers(1, 40)),
        "t",
        start,
        start + length,
        draw(st.booleans()),
    )


@st.composite
def month_data(draw: st.DrawFn) -> MonthData:
    spec = month_spec(draw(st.sampled_from(PERIODS)), SITE_TZ)
    lo, hi = spec.start - 3 * DAY, spec.end + DAY
    reservations = []
    for rid in range(1, draw(st.integers(1, 6)) + 1):
        start = draw(st.integers(lo // US_MIN, hi // US_MIN)) * US_MIN
        end = start + draw(st.integers(1, 7 * 24 * 60)) * US_MIN
        dts = draw(st.lists(downtime(start - 2 * DAY, end), max_size=5))
        # the same (source, id) is the same window: keep one interval per identity
        unique = {(d.source, d.id): d for d in dts}
        reservations.append(
            ReservationIn(
                rid,
                draw(st.sampled_from(["P", "Q"])),
                f"n{rid}",
                "NODE_X",
                start,
                end,
                "u",
                "X",
                tuple(unique.values()),
            )
        )
    days = [spec.first_day + timedelta(days=i) for i in range(-3, spec.days_in_month + 1)]
    splits = tuple(
        SplitIn(draw(st.sampled_from(["P", "Q"])), draw(st.sampled_from(days)), draw(percentages()), i)
        for i in range(draw(st.integers(0, 4)))
    )
    rates = tuple(
        RateIn(
            "NODE_X",
            draw(st.sampled_from([date(2025, 1, 1), *days])),
            Decimal(draw(st.integers(0, 50_000_000))).scaleb(-6),
            i,
        )
        for i in range(draw(st.integers(0, 3)))
    )
    overrides = []
    for r in reservations:
        kind = draw(st.sampled_from([None, None, None, "exclude", "hours", "split", "charge_to"]))
        if kind == "hours":
            overrides.append(OverrideIn(r.id, kind, hours=Decimal(draw(st.integers(0, 20_000))).scaleb(-2)))
        elif kind == "split":
            overrides.append(OverrideIn(r.id, kind, split=draw(percentages())))
        elif kind == "charge_to":
            overrides.append(OverrideIn(r.id, kind, charge_to="Q" if r.project == "P" else "P"))
        elif kind == "exclude":
            overrides.append(OverrideIn(r.id, kind))
    return MonthData(
        month=spec,
        now=draw(st.integers(spec.start - DAY, spec.end + DAY)),
        reservations=tuple(reservations),
        splits=splits,
        rates=rates,
        overrides=tuple(overrides),
        owners={"P": "p", "Q": "q"},
    )


def res_lines(result: InvoiceResult) -> dict[int, ReservationLine]:
    return {line.reservation_id: line for line in result.lines() if isinstance(line, ReservationLine)}


@SETTINGS
@given(month_data())
def test_line_invariants(data: MonthData) -> None:
    result = compute(data)
    by_id = {r.id: r for r in data.reservations}
    for line in res_lines(result).values():
        r = by_id[line.reservation_id]
        span = intervals.Interval(max(r.start, data.month.start), min(r.end, data.month.end))
        union = intervals.union(
            intervals.clip([intervals.Interval(d.start, d.end) for d in r.downtime], span)
        )
        assert line.downtime_us == sum(iv.end - iv.start for iv in union)  # measure of the union
        assert line.gross_us == span.end - span.start
        assert 0 <= line.net_us <= line.gross_us and line.net_us == line.gross_us - line.downtime_us
        assert ZERO <= line.computed_net_hours <= line.gross_hours
        for part in line.downtime:
            assert part.us <= line.downtime_us
        # parts of a split sum exactly to the line
        assert sum((s.amount for s in line.split), ZERO) == line.amount
        if line.split:
            assert sum((s.hours for s in line.split), ZERO) == line.billed_hours  # type: ignore[misc]
        else:
            assert line.amount == ZERO
        assert sum((s.exact_amount for s in line.split), Fraction(0)) == line.amount_exact
        if line.override is None:
            assert line.net_hours == line.billed_hours == line.computed_net_hours
            assert line.amount_exact <= Fraction(line.net_us, US_PER_HOUR) * 50  # rate <= 50


@SETTINGS
@given(month_data())
def test_totals_are_sums_of_lines(data: MonthData) -> None:
    result = compute(data)
    for p in result.projects:
        assert p.totals == sum_totals(p.lines)
        for line in p.lines:
            assert line.project == p.project
    assert result.totals.amount == sum((p.totals.amount for p in result.projects), ZERO)
    assert result.totals.net_hours == sum((p.totals.net_hours for p in result.projects), ZERO)
    assert result.totals.amount == sum((line.amount for line in result.lines()), ZERO)
    assert result.totals.amount == sum((a for _c, _h, a in result.totals.cost_objects), ZERO)
    doc = invoice_document(result)
    assert doc["totals"]["amount"] == format(result.totals.amount, "f")


@SETTINGS
@given(month_data(), st.data())
def test_adding_a_window_never_increases_any_amount(data: MonthData, extra: st.DataObject) -> None:
    if not data.reservations:
        return
    before = compute(data)
    target = extra.draw(st.sampled_from(data.reservations))
    new = extra.draw(downtime(target.start - DAY, target.end))
    new = replace(new, source="maintenance", id=10_000)  # a window nobody had
    changed = tuple(
        replace(r, downtime=(*r.downtime, new)) if r.id == target.id else r for r in data.reservations
    )
    after = compute(replace(data, reservations=changed))
    b, a = res_lines(before), res_lines(after)
    assert b.keys() == a.keys()
    # An hours override fixes the hours billed; downtime only moves them between the line's days,
    # so when its days have different rates the amount may go either way. Its hours stay fixed.
    fixed_hours = {o.reservation_id for o in data.overrides if o.kind == "hours" and o.hours is not None}
    for rid in b:
        assert a[rid].net_us <= b[rid].net_us
        if rid in fixed_hours:
            assert a[rid].net_hours == b[rid].net_hours
            continue
        assert a[rid].amount_exact <= b[rid].amount_exact
        assert a[rid].amount <= b[rid].amount
        exact_before = {s.cost_object: s.exact_amount for s in b[rid].split}
        for s in a[rid].split:
            assert s.exact_amount <= exact_before.get(s.cost_object, Fraction(0))
    if fixed_hours:
        return
    before_p = {p.project: p.totals.amount for p in before.projects}
    for p in after.projects:
        assert p.totals.amount <= before_p[p.project]
    assert after.totals.amount <= before.totals.amount


@SETTINGS
@given(month_data(), st.randoms(use_true_random=False))
def test_result_is_independent_of_row_order(data: MonthData, rnd: random.Random) -> None:
    def shuffled(items: tuple) -> tuple:  # type: ignore[type-arg]
        out = list(items)
        rnd.shuffle(out)
        return tuple(out)

    mixed = replace(
        data,
        reservations=shuffled(tuple(replace(r, downtime=shuffled(r.downtime)) for r in data.reservations)),
        splits=shuffled(data.splits),
        rates=shuffled(data.rates),
        overrides=shuffled(data.overrides),
    )
    first, second = compute(data), compute(mixed)
    assert first == second
    assert invoice_document(first) == invoice_document(second)


def test_month_spec_starts_at_local_midnight() -> None:
    spec = month_spec("2026-03", SITE_TZ)
    assert spec.start == to_us(datetime(2026, 3, 1, 5, tzinfo=UTC))  # 00:00 EST
    assert spec.bounds[8] - spec.bounds[7] == 23 * 60 * US_MIN  # Mar 8: the 23-hour day


@SETTINGS
@given(month_data(), st.integers(1, 27))
def test_restating_a_rate_or_split_mid_month_changes_nothing(data: MonthData, day: int) -> None:
    """A new rate row or split version equal to the one in force changes no figure (and takes
    the engine's day-by-day path instead of its one-group shortcut for lines that span it)."""
    when = data.month.first_day + timedelta(days=day)
    before = compute(data)
    extra_rates = tuple(
        RateIn(r.sku, when, r.amount, 1000 + i)
        for i, r in enumerate(sorted(data.rates, key=lambda r: (r.effective, r.id))[-1:])
        if r.effective <= when
    )
    latest: dict[str, SplitIn] = {}
    for sp in sorted(data.splits, key=lambda s: (s.effective, s.id)):
        if sp.status == "approved" and sp.effective <= when:
            latest[sp.project] = sp
    extra_splits = tuple(replace(sp, effective=when, id=2000 + i) for i, sp in enumerate(latest.values()))
    after = compute(replace(data, rates=data.rates + extra_rates, splits=data.splits + extra_splits))
    assert before == after
