"""The pure month engine: reference table, DST, month boundaries, rates, splits, fees, overrides."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from nodedesk.core.billing import compute
from nodedesk.core.billing.document import invoice_document
from nodedesk.core.billing.engine import UNALLOCATED, FeeLine, ReservationLine
from nodedesk.core.billing.inputs import FeeIn, OverrideIn, month_spec
from nodedesk.core.billing.money import allocate, round_units

from tests.billing.pure import month, rate, res, split, window
from tests.billing.pure import outage as outage_

D = Decimal


def lines(data) -> dict[int, ReservationLine]:  # type: ignore[no-untyped-def]
    return {line.reservation_id: line for line in compute(data).lines() if isinstance(line, ReservationLine)}


def figures(line: ReservationLine) -> tuple[str, str, str, str]:
    return (str(line.gross_hours), str(line.downtime_hours), str(line.net_hours), str(line.amount))


# ---------------------------------------------------------------- help/billing-rules.md worked examples

REFERENCE = [
    (res(1, "2026-02-14 16:00", "2026-02-16 09:00"), "2026-02", ("41.00", "0.00", "41.00", "328.00")),
    (
        res(2, "2026-02-14 16:00", "2026-02-16 09:00", window("2026-02-15 08:00", "2026-02-15 20:00")),
        "2026-02",
        ("41.00", "12.00", "29.00", "232.00"),
    ),
    (
        res(
            3,
            "2026-02-14 16:00",
            "2026-02-16 09:00",
            window("2026-02-14 20:00", "2026-02-15 08:00"),
            window("2026-02-15 20:00", "2026-02-16 08:00"),
        ),
        "2026-02",
        ("41.00", "24.00", "17.00", "136.00"),
    ),
    (
        res(4, "2026-02-15 16:00", "2026-02-16 09:00", window("2026-02-14 00:00", "2026-02-17 00:00")),
        "2026-02",
        ("17.00", "17.00", "0.00", "0.00"),
    ),
    (
        res(
            5,
            "2026-02-14 16:00",
            "2026-02-20 09:00",
            window("2026-02-15 08:00", "2026-02-15 20:00"),
            window("2026-02-18 00:00", "2026-02-19 00:00"),
        ),
        "2026-02",
        ("137.00", "36.00", "101.00", "808.00"),
    ),
    (
        res(6, "2026-01-30 16:00", "2026-02-02 09:00", window("2026-01-31 00:00", "2026-02-01 00:00")),
        "2026-01",
        ("32.00", "24.00", "8.00", "64.00"),
    ),
    (
        res(6, "2026-01-30 16:00", "2026-02-02 09:00", window("2026-01-31 00:00", "2026-02-01 00:00")),
        "2026-02",
        ("33.00", "0.00", "33.00", "264.00"),
    ),
]


@pytest.mark.parametrize(
    ("reservation", "period", "expected"), REFERENCE, ids=[f"row{i}" for i in range(1, 8)]
)
def test_reference_table(reservation, period, expected) -> None:  # type: ignore[no-untyped-def]
    line = lines(month(period, (reservation,)))[reservation.id]
    assert figures(line) == expected


def test_reference_split_of_the_29_hour_line() -> None:
    line = lines(month("2026-02", (REFERENCE[1][0],)))[2]
    assert [(s.cost_object, str(s.hours), str(s.amount)) for s in line.split] == [
        ("A", "17.40", "139.20"),
        ("B", "11.60", "92.80"),
    ]


def test_overlapping_windows_and_outage_counted_once() -> None:
    r = res(
        1,
        "2026-02-14 16:00",
        "2026-02-16 09:00",
        window("2026-02-15 08:00", "2026-02-15 20:00", 1),
        window("2026-02-15 10:00", "2026-02-15 22:00", 2),
        outage_("2026-02-15 06:00", "2026-02-15 09:00", 3),
    )
    line = lines(month("2026-02", (r,)))[1]
    # union 06:00–22:00 = 16 h; each source keeps its own overlap
    assert figures(line) == ("41.00", "16.00", "25.00", "200.00")
    assert [(d.source, d.id, str(d.hours)) for d in line.downtime] == [
        ("outage", 3, "3.00"),
        ("maintenance", 1, "12.00"),
        ("maintenance", 2, "12.00"),
    ]


def test_same_source_listed_twice_counts_once() -> None:
    w = window("2026-02-15 08:00", "2026-02-15 20:00", 7)
    line = lines(month("2026-02", (res(1, "2026-02-14 16:00", "2026-02-16 09:00", w, w),)))[1]
    assert figures(line)[:3] == ("41.00", "12.00", "29.00") and len(line.downtime) == 1


# ---------------------------------------------------------------- DST and month boundaries


def test_spring_forward_night_is_16_hours_and_each_day_has_its_rate() -> None:
    """Mar 7 16:00 EST → Mar 8 09:00 EDT is 16 h: 8 h on Mar 7, 8 h on Mar 8 (23-hour day)."""
    r = res(1, "2026-03-07 16:00", "2026-03-08 09:00")
    data = month("2026-03", (r,), rates=(rate("8.00"), rate("10.00", date(2026, 3, 8))))
    line = lines(data)[1]
    assert figures(line) == ("16.00", "0.00", "16.00", "144.00")  # 8 × 8 + 8 × 10
    assert [(s.first, s.last, s.rate, s.hours) for s in line.rates] == [
        (date(2026, 3, 7), date(2026, 3, 7), D("8.00"), D("8.00")),
        (date(2026, 3, 8), date(2026, 3, 8), D("10.00"), D("8.00")),
    ]
    assert month_spec("2026-03", "America/New_York").end - month_spec(
        "2026-03", "America/New_York"
    ).start == (743 * 3_600_000_000)


def test_fall_back_night_is_18_hours_split_across_the_month_boundary() -> None:
    """Oct 31 16:00 EDT → Nov 1 09:00 EST = 18 h: 8 h in October, 10 h in November."""
    r = res(1, "2026-10-31 16:00", "2026-11-01 09:00")
    assert figures(lines(month("2026-10", (r,)))[1])[:3] == ("8.00", "0.00", "8.00")
    nov = lines(month("2026-11", (r,)))[1]
    assert figures(nov) == ("10.00", "0.00", "10.00", "80.00")
    assert month_spec("2026-11", "America/New_York").days_in_month == 30


def test_dst_window_over_the_repeated_hour() -> None:
    """A window 00:00–03:00 local on the fall-back night lasts 4 real hours."""
    r = res(1, "2026-10-31 16:00", "2026-11-01 09:00", window("2026-11-01 00:00", "2026-11-01 03:00"))
    assert figures(lines(month("2026-11", (r,)))[1])[:3] == ("10.00", "4.00", "6.00")


def test_touching_the_month_is_not_overlapping() -> None:
    before = res(1, "2026-01-31 16:00", "2026-02-01 00:00")
    after = res(2, "2026-03-01 00:00", "2026-03-02 09:00")
    assert lines(month("2026-02", (before, after))) == {}
    assert set(lines(month("2026-01", (before,)))) == {1}


def test_window_outside_the_month_does_not_count() -> None:
    r = res(1, "2026-01-30 16:00", "2026-02-02 09:00", window("2026-01-31 00:00", "2026-02-01 00:00"))
    feb = lines(month("2026-02", (r,)))[1]
    assert feb.downtime == ()  # the window is entirely in January


# ---------------------------------------------------------------- rates


def test_rate_change_mid_reservation_is_applied_per_day() -> None:
    r = res(1, "2026-02-14 16:00", "2026-02-16 09:00")
    data = month("2026-02", (r,), rates=(rate("8.00"), rate("12.50", date(2026, 2, 15))))
    line = lines(data)[1]
    # Feb 14: 8 h × 8.00; Feb 15: 24 h × 12.50; Feb 16: 9 h × 12.50
    assert line.amount == D("476.50") and line.rate is None
    assert [str(s.rate) for s in line.rates] == ["8.00", "12.50"]


def test_same_day_rate_rows_newest_wins() -> None:
    r = res(1, "2026-02-14 16:00", "2026-02-16 09:00")
    data = month("2026-02", (r,), rates=(rate("9.00", id_=2), rate("8.00", id_=1)))
    assert lines(data)[1].amount == D("369.00")


def test_missing_rate_bills_zero_and_warns() -> None:
    r = res(1, "2026-02-14 16:00", "2026-02-16 09:00")
    result = compute(month("2026-02", (r,), rates=(rate("8.00", date(2026, 2, 15)),)))
    line = next(iter(result.lines()))
    assert line.amount == D("264.00")  # 33 h at 8.00; Feb 14 (8 h) has no rate
    assert line.missing_rate_hours == D("8.00")
    (w,) = [w for w in result.warnings if w.code == "missing_rate"]
    assert "NODE_A100" in w.text and "2026-02-14" in w.text and "8.00 h" in w.text and "#1" in w.text


def test_node_type_without_sku_warns() -> None:
    result = compute(month("2026-02", (res(1, "2026-02-14 16:00", "2026-02-16 09:00", sku=None),)))
    assert next(iter(result.lines())).amount == D("0.00")
    assert any(w.code == "missing_rate" and "no hourly SKU" in w.text for w in result.warnings)


# ---------------------------------------------------------------- splits


def test_split_change_mid_reservation_is_applied_per_day() -> None:
    r = res(1, "2026-02-14 16:00", "2026-02-16 09:00")
    splits = (split(date(2026, 1, 1), A="100"), split(date(2026, 2, 15), B="100"))
    line = lines(month("2026-02", (r,), splits=splits))[1]
    assert [(s.cost_object, str(s.hours), str(s.amount)) for s in line.split] == [
        ("A", "8.00", "64.00"),
        ("B", "33.00", "264.00"),
    ]


def test_days_without_split_go_to_unallocated_with_a_warning() -> None:
    r = res(1, "2026-02-14 16:00", "2026-02-16 09:00")
    result = compute(month("2026-02", (r,), splits=(split(date(2026, 2, 15), A="100"),)))
    line = next(iter(result.lines()))
    assert [(s.cost_object, str(s.hours)) for s in line.split] == [("A", "33.00"), (UNALLOCATED, "8.00")]
    (w,) = [w for w in result.warnings if w.code == "unallocated"]
    assert "2026-02-14" in w.text and "8.00 h, 64.00 USD" in w.text and w.project == "P"


def test_pending_and_rejected_splits_are_not_used() -> None:
    r = res(1, "2026-02-14 16:00", "2026-02-16 09:00")
    splits = (
        split(date(2026, 1, 1), A="100"),
        split(date(2026, 2, 1), status="pending", B="100"),
        split(date(2026, 2, 1), status="rejected", C="100"),
    )
    result = compute(month("2026-02", (r,), splits=splits))
    assert [s.cost_object for s in next(iter(result.lines())).split] == ["A"]
    assert [w.code for w in result.warnings] == ["pending_split"]


def test_largest_remainder_parts_sum_to_the_total() -> None:
    r = res(1, "2026-02-14 16:00", "2026-02-14 17:00")
    line = lines(
        month(
            "2026-02",
            (r,),
            splits=(split(date(2026, 1, 1), A="33.3333", B="33.3333", C="33.3334"),),
            rates=(rate("1.00"),),
        )
    )[1]
    assert line.amount == D("1.00")
    assert [str(s.amount) for s in line.split] == ["0.33", "0.33", "0.34"]
    assert sum(s.hours for s in line.split) == D("1.00")
    assert allocate(1, [1, 1]) == [1, 0] and allocate(7, [0, 0]) == [0, 0]
    assert (
        round_units(D("0.005"), 2) == 1
        and round_units(D("-0.005"), 2) == -1
        and round_units(D("0.0049"), 2) == 0
    )


# ---------------------------------------------------------------- fees


def test_fee_line_matches_the_documented_example() -> None:
    """17 of 31 days at 56.00/month → fraction 0.548387, amount 30.71."""
    fee = FeeIn(1, 1, "alice", "MAINT_STANDARD", "P", date(2026, 1, 15), None)
    data = month("2026-01", fees=(fee,), rates=(rate("56.00", sku="MAINT_STANDARD"),))
    result = compute(data)
    line = next(iter(result.lines()))
    assert isinstance(line, FeeLine)
    doc = invoice_document(result)["projects"][0]["lines"][0]
    assert (doc["days"], doc["days_in_month"], doc["fraction"], doc["amount"]) == (
        17,
        31,
        "0.548387",
        "30.71",
    )
    assert doc["split"] == [{"cost_object": "A", "amount": "18.43"}, {"cost_object": "B", "amount": "12.28"}]


def test_fee_uses_rate_and_split_in_force_on_the_first() -> None:
    fee = FeeIn(1, 1, "alice", "MAINT", "P", date(2025, 12, 1), date(2026, 2, 10))
    data = month(
        "2026-02",
        fees=(fee,),
        rates=(rate("28.00", sku="MAINT"), rate("100.00", date(2026, 2, 2), sku="MAINT")),
        splits=(split(date(2026, 1, 1), A="100"), split(date(2026, 2, 2), B="100")),
    )
    line = next(iter(compute(data).lines()))
    assert (line.days, line.amount, [s.cost_object for s in line.split]) == (10, D("10.00"), ["A"])


def test_fee_without_rate_warns() -> None:
    fee = FeeIn(1, 1, "alice", "QOS_X", "P", date(2026, 2, 1))
    result = compute(month("2026-02", fees=(fee,)))
    assert next(iter(result.lines())).amount == D("0.00")
    assert any(w.code == "missing_rate" and "QOS_X" in w.text for w in result.warnings)


def test_fee_ending_before_the_month_is_not_billed() -> None:
    fee = FeeIn(1, 1, "alice", "MAINT", "P", date(2025, 1, 1), date(2026, 1, 31))
    assert list(compute(month("2026-02", fees=(fee,))).lines()) == []


# ---------------------------------------------------------------- overrides


BASE = res(1, "2026-02-14 16:00", "2026-02-16 09:00", window("2026-02-15 08:00", "2026-02-15 20:00"))


def _with(*overrides: OverrideIn, **kw) -> ReservationLine:  # type: ignore[no-untyped-def]
    result = compute(month("2026-02", (BASE,), overrides=overrides, **kw))
    return next(line for line in result.lines() if isinstance(line, ReservationLine))


def test_exclude_shows_the_line_with_amount_zero() -> None:
    line = _with(OverrideIn(1, "exclude", reason="goodwill"))
    assert figures(line) == ("41.00", "12.00", "29.00", "0.00")
    assert line.excluded and line.split == () and line.billed_hours == D("0.00")


def test_hours_override_replaces_net_and_scales_the_split() -> None:
    line = _with(OverrideIn(1, "hours", hours=D("10")))
    assert (line.net_hours, line.computed_net_hours, line.amount) == (D("10.00"), D("29.00"), D("80.00"))
    assert [(s.cost_object, str(s.hours), str(s.amount)) for s in line.split] == [
        ("A", "6.00", "48.00"),
        ("B", "4.00", "32.00"),
    ]


def test_hours_override_keeps_each_days_rate_in_proportion() -> None:
    # net 29 h: Feb 14 8 h, Feb 15 12 h, Feb 16 9 h; rate 8 then 20 from Feb 15 → 64 + 240 + 180 = 484
    line = _with(
        OverrideIn(1, "hours", hours=D("14.5")), rates=(rate("8.00"), rate("20.00", date(2026, 2, 15)))
    )
    assert line.amount == D("242.00")  # half the hours, half the money


def test_hours_override_on_a_fully_covered_line_uses_the_reserved_days() -> None:
    covered = res(1, "2026-02-15 16:00", "2026-02-16 09:00", window("2026-02-14 00:00", "2026-02-17 00:00"))
    result = compute(month("2026-02", (covered,), overrides=(OverrideIn(1, "hours", hours=D("17")),)))
    line = next(iter(result.lines()))
    assert (line.net_hours, line.amount) == (D("17.00"), D("136.00"))


def test_split_override_replaces_the_projects_split() -> None:
    line = _with(OverrideIn(1, "split", split=(("X", D("75")), ("Y", D("25")))))
    assert [(s.cost_object, str(s.amount)) for s in line.split] == [("X", "174.00"), ("Y", "58.00")]


def test_charge_to_moves_the_line_to_the_other_project_with_its_split() -> None:
    splits = (split(date(2026, 1, 1), A="60", B="40"), split(date(2026, 1, 1), project="Q", Z="100"))
    result = compute(
        month("2026-02", (BASE,), overrides=(OverrideIn(1, "charge_to", charge_to="Q"),), splits=splits)
    )
    (project,) = result.projects
    line = project.lines[0]
    assert project.project == "Q" and project.owner == "bob"
    assert (line.origin_project, line.amount, [s.cost_object for s in line.split]) == (
        "P",
        D("232.00"),
        ["Z"],
    )


def test_exclude_wins_when_several_overrides_are_given() -> None:
    line = _with(OverrideIn(1, "hours", hours=D("3")), OverrideIn(1, "exclude"))
    assert line.excluded and line.amount == D("0.00")


def test_override_on_a_line_not_billed_is_reported() -> None:
    result = compute(month("2026-02", (BASE,), overrides=(OverrideIn(99, "exclude"),)))
    assert any(w.code == "override_ignored" and "#99" in w.text for w in result.warnings)


# ---------------------------------------------------------------- warnings


def test_open_outage_counts_up_to_now_and_warns() -> None:
    r = res(
        1, "2026-02-14 16:00", "2026-02-16 09:00", outage_("2026-02-15 06:00", "2026-02-15 10:00", 5, True)
    )
    result = compute(month("2026-02", (r,), now="2026-02-15 10:00", pending=2))
    assert figures(next(iter(result.lines())))[:3] == ("41.00", "4.00", "37.00")
    codes = [w.code for w in result.warnings]
    assert codes == ["month_open", "pending_reservations", "open_outage"]
    assert "2026-02-15 10:00 -05:00" in result.warnings[2].text


def test_totals_are_sums_of_rounded_lines() -> None:
    # three lines of 20 minutes at 1.00/h: each 0.33; total 0.99 (not the exact 1.00)
    rs = tuple(res(i, "2026-02-14 16:00", "2026-02-14 16:20") for i in range(1, 4))
    result = compute(month("2026-02", rs, rates=(rate("1.00"),)))
    assert result.totals.amount == D("0.99") and result.totals.net_hours == D("0.99")
