"""Property tests for the half-open interval helpers (``core/intervals.py``).

Integer intervals are used so that coverage can be checked exactly by sampling points: with
integer endpoints, every point of a union/intersection/difference is decided by the integers
and the half-integers between them, so sampling ``k/2`` over the whole range is exhaustive.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from nodedesk.core import intervals as iv
from nodedesk.core.intervals import Interval

LO, HI = -30, 30


@st.composite
def ints(draw: st.DrawFn) -> Interval[int]:
    start = draw(st.integers(LO, HI - 1))
    end = draw(st.integers(start + 1, HI))
    return Interval(start, end)


interval_lists = st.lists(ints(), max_size=12)


def points() -> list[float]:
    """Every integer and half-integer from LO-1 to HI+1 (exhaustive for integer endpoints)."""
    return [k / 2 for k in range(2 * (LO - 1), 2 * (HI + 1) + 1)]


def covered(intervals: list[Interval[int]], p: float) -> bool:
    return any(i.start <= p < i.end for i in intervals)


def assert_normalized(result: list[Interval[int]]) -> None:
    """Sorted, disjoint and non-touching: each interval ends strictly before the next starts."""
    for a, b in itertools.pairwise(result):
        assert a.end < b.start, f"{a} and {b} overlap or touch"


DAY0 = datetime(2026, 2, 1, tzinfo=UTC)


def as_datetimes(intervals: list[Interval[int]]) -> list[Interval[datetime]]:
    return [Interval(DAY0 + timedelta(hours=i.start), DAY0 + timedelta(hours=i.end)) for i in intervals]


# ---------------------------------------------------------------- construction and half-open semantics


def test_empty_and_reversed_intervals_are_not_values() -> None:
    with pytest.raises(ValueError):
        Interval(5, 5)
    with pytest.raises(ValueError):
        Interval(6, 5)
    assert iv.make(5, 5) is None
    assert iv.make(6, 5) is None
    assert iv.make(5, 6) == Interval(5, 6)


def test_half_open_semantics() -> None:
    a, b = Interval(0, 5), Interval(5, 10)
    assert not a.overlaps(b) and not b.overlaps(a)  # touching intervals do not overlap
    assert a.intersection(b) is None
    assert a.contains(0)
    assert not a.contains(5)  # the end is not part of the interval
    assert b.contains(5)
    assert iv.intersect_sets([a], [b]) == []
    assert iv.subtract(Interval(0, 10), [a]) == [b]
    # ...but their union is one contiguous stretch
    assert iv.union([a, b]) == [Interval(0, 10)]


def test_datetime_half_open() -> None:
    start = datetime(2026, 2, 15, 13, 0, tzinfo=UTC)
    one = Interval(start, start + timedelta(hours=1))
    assert one.contains(start)
    assert not one.contains(start + timedelta(hours=1))
    assert one.contains(start + timedelta(hours=1) - timedelta(microseconds=1))
    assert one.length == timedelta(hours=1)


@given(ints(), ints())
def test_overlaps_matches_points(a: Interval[int], b: Interval[int]) -> None:
    shared = any(a.contains(p) and b.contains(p) for p in points())
    assert a.overlaps(b) == shared == b.overlaps(a)


@given(ints(), st.integers(LO - 2, HI + 2))
def test_contains(a: Interval[int], p: int) -> None:
    assert a.contains(p) == (a.start <= p < a.end)
    assert not a.contains(a.end)
    assert a.contains(a.start)


# ---------------------------------------------------------------- union


@given(interval_lists)
def test_union_is_sorted_disjoint_non_touching(items: list[Interval[int]]) -> None:
    assert_normalized(iv.union(items))


@given(interval_lists)
def test_union_covers_exactly_the_same_points(items: list[Interval[int]]) -> None:
    result = iv.union(items)
    for p in points():
        assert covered(result, p) == covered(items, p), p


@given(interval_lists, st.randoms(use_true_random=False))
def test_union_is_order_independent(items: list[Interval[int]], rnd) -> None:  # type: ignore[no-untyped-def]
    shuffled = list(items)
    rnd.shuffle(shuffled)
    assert iv.union(shuffled) == iv.union(items)
    assert iv.union(iv.union(items)) == iv.union(items)  # idempotent
    assert iv.union(items + items) == iv.union(items)  # duplicates counted once


@given(interval_lists)
def test_measure_at_most_sum_of_lengths(items: list[Interval[int]]) -> None:
    dts = as_datetimes(items)
    total = sum((i.length for i in dts), timedelta(0))
    m = iv.measure(dts)
    assert m <= total
    # measure equals the number of covered unit hours (points k + 0.5 pick each unit)
    assert m == timedelta(hours=sum(covered(items, k + 0.5) for k in range(LO, HI)))


@given(st.lists(st.integers(LO, HI), min_size=0, max_size=16, unique=True))
def test_measure_of_disjoint_intervals_is_sum_of_lengths(cuts: list[int]) -> None:
    cuts = sorted(cuts)
    # consecutive pairs of distinct cut points: disjoint (possibly touching) intervals
    items = [Interval(a, b) for a, b in zip(cuts[::2], cuts[1::2], strict=False)]
    dts = as_datetimes(items)
    assert iv.measure(dts) == sum((i.length for i in dts), timedelta(0))


def test_measure_examples() -> None:
    h = lambda n: DAY0 + timedelta(hours=n)  # noqa: E731
    assert iv.measure([]) == timedelta(0)
    # overlapping windows are never counted twice
    assert iv.measure([Interval(h(0), h(10)), Interval(h(5), h(12))]) == timedelta(hours=12)
    assert iv.measure([Interval(h(0), h(10)), Interval(h(2), h(3))]) == timedelta(hours=10)


# ---------------------------------------------------------------- intersection, clip, subtract


@given(ints(), ints())
def test_intersection_semantics(a: Interval[int], b: Interval[int]) -> None:
    part = a.intersection(b)
    assert part == b.intersection(a)
    for p in points():
        inside = part is not None and part.contains(p)
        assert inside == (a.contains(p) and b.contains(p))
    assert (part is not None) == a.overlaps(b)


@given(interval_lists, ints())
def test_clip_semantics(items: list[Interval[int]], bounds: Interval[int]) -> None:
    result = iv.clip(items, bounds)
    # one part per overlapping input, in input order, each inside the bounds
    overlapping = [i for i in items if i.overlaps(bounds)]
    assert len(result) == len(overlapping)
    for orig, part in zip(overlapping, result, strict=True):
        assert part == orig.intersection(bounds)
        assert bounds.start <= part.start < part.end <= bounds.end
    for p in points():
        assert covered(result, p) == (covered(items, p) and bounds.contains(p))


@given(ints(), interval_lists)
def test_subtract_semantics(base: Interval[int], holes: list[Interval[int]]) -> None:
    result = iv.subtract(base, holes)
    assert_normalized(result)
    for p in points():
        assert covered(result, p) == (base.contains(p) and not covered(holes, p)), p


def test_subtract_examples() -> None:
    assert iv.subtract(Interval(0, 10), []) == [Interval(0, 10)]
    assert iv.subtract(Interval(0, 10), [Interval(-5, 15)]) == []
    assert iv.subtract(Interval(0, 10), [Interval(2, 4), Interval(3, 5), Interval(8, 20)]) == [
        Interval(0, 2),
        Interval(5, 8),
    ]


@given(interval_lists, interval_lists)
def test_intersect_sets_semantics(a: list[Interval[int]], b: list[Interval[int]]) -> None:
    result = iv.intersect_sets(a, b)
    assert_normalized(result)
    for p in points():
        assert covered(result, p) == (covered(a, p) and covered(b, p)), p


@given(interval_lists, interval_lists, st.randoms(use_true_random=False))
def test_intersect_sets_is_order_independent(
    a: list[Interval[int]],
    b: list[Interval[int]],
    rnd,  # type: ignore[no-untyped-def]
) -> None:
    shuffled = list(a)
    rnd.shuffle(shuffled)
    assert iv.intersect_sets(a, b) == iv.intersect_sets(b, a) == iv.intersect_sets(shuffled, b)


@given(ints(), interval_lists)
def test_subtract_and_intersection_partition_the_base(
    base: Interval[int], holes: list[Interval[int]]
) -> None:
    """``base = (base − holes) ⊎ (base ∩ holes)``: lengths add up exactly."""
    kept = iv.subtract(base, holes)
    removed = iv.intersect_sets([base], holes)
    assert sum(i.length for i in kept) + sum(i.length for i in removed) == base.length
    assert iv.intersect_sets(kept, removed) == []
