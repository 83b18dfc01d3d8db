"""Half-open time intervals ``[start, end)`` and the set operations billing needs.

Intervals work on any totally ordered values (datetimes in practice). Touching intervals
(one's end equals the other's start) do not overlap, but they are merged by :func:`union`
because their union is one contiguous stretch of time.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Generic, TypeVar

T = TypeVar("T", datetime, int, float)


@dataclass(frozen=True, order=True, slots=True)
class Interval(Generic[T]):
    """A half-open interval; ``start < end`` is required (empty intervals are not values)."""

    start: T
    end: T

    def __post_init__(self) -> None:
        if not self.start < self.end:
            raise ValueError(f"interval end must be after start: {self.start!r} >= {self.end!r}")

    def overlaps(self, other: Interval[T]) -> bool:
        return self.start < other.end and other.start < self.end

    def contains(self, instant: T) -> bool:
        return self.start <= instant < self.end

    def intersection(self, other: Interval[T]) -> Interval[T] | None:
        start = max(self.start, other.start)
        end = min(self.end, other.end)
        return Interval(start, end) if start < end else None

    @property
    def length(self) -> timedelta | int | float:
        """``end - start``: a timedelta for datetimes, a number for numbers."""
        return self.end - self.start


def make(start: T, end: T) -> Interval[T] | None:
    """Build an interval, or ``None`` when it would be empty (``end <= start``)."""
    return Interval(start, end) if start < end else None


def union(intervals: Iterable[Interval[T]]) -> list[Interval[T]]:
    """Sorted, disjoint, non-touching intervals covering exactly the same points."""
    merged: list[Interval[T]] = []
    for iv in sorted(intervals):
        if merged and iv.start <= merged[-1].end:
            last = merged[-1]
            if iv.end > last.end:
                merged[-1] = Interval(last.start, iv.end)
        else:
            merged.append(iv)
    return merged


def clip(intervals: Iterable[Interval[T]], bounds: Interval[T]) -> list[Interval[T]]:
    """The parts of ``intervals`` inside ``bounds`` (not merged; order preserved)."""
    out: list[Interval[T]] = []
    for iv in intervals:
        part = iv.intersection(bounds)
        if part is not None:
            out.append(part)
    return out


def intersect_sets(a: Iterable[Interval[T]], b: Iterable[Interval[T]]) -> list[Interval[T]]:
    """Intersection of two interval sets, returned as a union (sorted, disjoint)."""
    ua, ub = union(a), union(b)
    out: list[Interval[T]] = []
    i = j = 0
    while i < len(ua) and j < len(ub):
        part = ua[i].intersection(ub[j])
        if part is not None:
            out.append(part)
        if ua[i].end < ub[j].end:
            i += 1
        else:
            j += 1
    return union(out)


def subtract(base: Interval[T], holes: Iterable[Interval[T]]) -> list[Interval[T]]:
    """``base`` minus every hole: the parts of ``base`` not covered."""
    out: list[Interval[T]] = []
    cursor = base.start
    for hole in union(clip(holes, base)):
        if hole.start > cursor:
            out.append(Interval(cursor, hole.start))
        cursor = max(cursor, hole.end)
    if cursor < base.end:
        out.append(Interval(cursor, base.end))
    return out


def measure(intervals: Iterable[Interval[datetime]]) -> timedelta:
    """Total length of the union of datetime intervals (overlaps counted once)."""
    total = timedelta(0)
    for iv in union(intervals):
        total += iv.end - iv.start
    return total
