"""Exact quantities and the one place where billing rounds.

Everything is computed exactly (integers and :class:`~fractions.Fraction`); rounding happens
only for what is shown or stored: hours to 2 places, money to cents, half-up (a half rounds
away from zero, like ``decimal.ROUND_HALF_UP``). Parts of a split are rounded with the largest
remainder method so that they always add up exactly to the rounded line total.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from fractions import Fraction
from functools import lru_cache

US_PER_HOUR = 3_600_000_000  # instants are handled as integer microseconds
HOURS_PLACES = 2
MONEY_PLACES = 2
FRACTION_PLACES = 6


def round_units(value: Fraction | int, places: int) -> int:
    """``value`` rounded half-up to ``places`` decimals, as an integer count of units."""
    scaled = Fraction(value) * (10**places)
    num, den = scaled.numerator, scaled.denominator  # den > 0
    if num >= 0:
        return (2 * num + den) // (2 * den)
    return -((-2 * num + den) // (2 * den))


@lru_cache(maxsize=65_536)
def units_to_decimal(units: int, places: int) -> Decimal:
    """``23200, 2`` → ``Decimal('232.00')`` (always exactly ``places`` decimals)."""
    return Decimal(units).scaleb(-places)


def round_decimal(value: Fraction | int, places: int) -> Decimal:
    return units_to_decimal(round_units(value, places), places)


def hours(us: int) -> Fraction:
    """Exact hours of a duration given in microseconds."""
    return Fraction(us, US_PER_HOUR)


def ratio_units(num: int, den: int, places: int) -> int:
    """``num / den`` rounded half-up to ``places`` decimals, in integer units (all integers)."""
    if den < 0:
        num, den = -num, -den
    num *= 10**places
    if num >= 0:
        return (2 * num + den) // (2 * den)
    return -((-2 * num + den) // (2 * den))


@lru_cache(maxsize=65_536)
def hours_decimal(us: int) -> Decimal:
    """A duration in microseconds as hours with 2 places (half-up). Cached: durations repeat a
    lot (a month has few distinct reservation and window lengths)."""
    return units_to_decimal(ratio_units(us, US_PER_HOUR, HOURS_PLACES), HOURS_PLACES)


def allocate(total_units: int, weights: Sequence[int]) -> list[int]:
    """Split ``total_units`` across integer ``weights`` proportionally (largest remainder method).

    The result always sums to ``total_units``. Ties between equal remainders go to the earlier
    weight (callers pass parts sorted by cost object, so this is deterministic). Weights are
    non-negative integers in any common unit; only their proportions matter.
    """
    if len(weights) == 1:
        return [total_units] if weights[0] else [0]
    if not weights:
        return []
    weight_sum = sum(weights)
    if weight_sum == 0:
        return [0] * len(weights)
    floors = []
    remainders = []
    for w in weights:
        q, r = divmod(total_units * w, weight_sum)
        floors.append(q)
        remainders.append(r)
    left = total_units - sum(floors)
    if left:
        order = sorted(range(len(weights)), key=lambda i: (-remainders[i], i))
        for i in order[:left]:
            floors[i] += 1
    return floors


def to_scaled_int(value: Decimal, places: int, what: str) -> int:
    """An exact Decimal with at most ``places`` decimals as an integer of 10**-places units."""
    scaled = value.scaleb(places)
    if scaled != scaled.to_integral_value():
        raise ValueError(f"{what} {value} has more than {places} decimal places")
    return int(scaled)


@lru_cache(maxsize=4096)
def decimal_text(value: Decimal, min_places: int = 2) -> str:
    """A stored rate or percentage for display: ``8.000000`` → ``8.00``, ``0.125`` → ``0.125``."""
    shown = value.quantize(Decimal(1).scaleb(-min_places))
    if shown == value:
        return format(shown, "f")
    return format(value.normalize(), "f")
