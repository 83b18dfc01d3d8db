"""Plain data the billing engine works on (no database, no ORM).

Instants are integer microseconds since the Unix epoch (UTC); days are site-local dates. The
loader builds these from the database; tests build them by hand.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from functools import lru_cache
from zoneinfo import ZoneInfo

import pendulum

from ..timeutil import MAX_YEAR

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def to_us(instant: datetime) -> int:
    """An aware instant as integer microseconds since the epoch."""
    if instant.tzinfo is None:
        raise ValueError("naive datetime given to the billing engine")
    if type(instant) is not datetime:  # e.g. pendulum.DateTime, whose subtraction differs
        instant = datetime(
            instant.year,
            instant.month,
            instant.day,
            instant.hour,
            instant.minute,
            instant.second,
            instant.microsecond,
            instant.tzinfo,
            fold=instant.fold,
        )
    delta = instant - EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def from_us(us: int) -> datetime:
    return EPOCH + timedelta(microseconds=us)


@lru_cache(maxsize=65_536)
def local_iso(us: int, tz: str) -> str:
    """ISO 8601 in the site timezone with its offset: ``2026-02-14T16:00:00-05:00``."""
    return from_us(us).astimezone(_zone(tz)).isoformat()


def local_text(us: int, tz: str) -> str:
    """``2026-02-15 10:00 -05:00`` for messages."""
    iso = local_iso(us, tz)
    return f"{iso[:10]} {iso[11:16]} {iso[-6:]}"


@lru_cache(maxsize=16)
def _zone(tz: str) -> ZoneInfo:
    return ZoneInfo(tz)


# Months that can be billed: from the epoch to the last year a date may carry (core.timeutil),
# so a month's end (the next 1st) and its instants always exist.
FIRST_YEAR, LAST_YEAR = 1970, MAX_YEAR


def parse_period(period: str) -> tuple[int, int]:
    """``"2026-02"`` → ``(2026, 2)``; raises ValueError for anything else."""
    text = (period or "").strip()
    if len(text) != 7 or text[4] != "-" or not (text.isascii() and text[:4].isdigit() and text[5:].isdigit()):
        raise ValueError(f"{period!r} is not a month (use YYYY-MM, e.g. 2026-02)")
    year, month = int(text[:4]), int(text[5:])
    if not 1 <= month <= 12:
        raise ValueError(f"{period!r} is not a month (use YYYY-MM, e.g. 2026-02)")
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise ValueError(
            f"{period!r} is out of range: a month from {FIRST_YEAR}-01 to {LAST_YEAR}-12 (use YYYY-MM)"
        )
    return year, month


@dataclass(frozen=True)
class MonthSpec:
    """A site-local month: ``[1st 00:00, next 1st 00:00)`` and the instants its days start."""

    period: str
    tz: str
    days: tuple[date, ...]
    bounds: tuple[int, ...]  # len(days) + 1 instants (µs): day i is [bounds[i], bounds[i+1])

    @property
    def start(self) -> int:
        return self.bounds[0]

    @property
    def end(self) -> int:
        return self.bounds[-1]

    @property
    def first_day(self) -> date:
        return self.days[0]

    @property
    def last_day(self) -> date:
        return self.days[-1]

    @property
    def days_in_month(self) -> int:
        return len(self.days)


def month_spec(period: str, tz: str) -> MonthSpec:
    year, month = parse_period(period)
    first = pendulum.datetime(year, month, 1, tz=tz)
    days: list[date] = []
    bounds: list[int] = []
    cursor = first
    while cursor.month == month:
        days.append(cursor.date())
        bounds.append(to_us(cursor))
        cursor = cursor.add(days=1)
    bounds.append(to_us(first.add(months=1)))
    return MonthSpec(f"{year:04d}-{month:02d}", tz, tuple(days), tuple(bounds))


@dataclass(frozen=True)
class DowntimeIn:
    """A maintenance window in scope for the node, or a credited outage of the node."""

    source: str  # "maintenance" | "outage"
    id: int
    title: str
    start: int
    end: int  # an open outage ends "now" (the loader caps it)
    open: bool = False


@dataclass(frozen=True)
class ReservationIn:
    """An approved reservation with the downtime sources that apply to its node."""

    id: int
    project: str
    node: str
    sku: str | None  # the hourly SKU of the node's type; None when the type has none
    start: int
    end: int
    requested_for: str = ""
    node_type: str = ""
    downtime: tuple[DowntimeIn, ...] = ()


@dataclass(frozen=True)
class SplitIn:
    """One cost split version; only ``approved`` ones are billed."""

    project: str
    effective: date
    parts: tuple[tuple[str, Decimal], ...]  # (cost object, percent with <= 4 places)
    id: int = 0
    status: str = "approved"


@dataclass(frozen=True)
class RateIn:
    sku: str
    effective: date
    amount: Decimal  # per hour (hourly SKUs) or per month (monthly SKUs), <= 6 places
    id: int = 0


@dataclass(frozen=True)
class FeeIn:
    """One fee subscription period (inclusive dates; ``end=None`` is open)."""

    id: int
    subscription_id: int
    user: str
    sku: str
    project: str
    start: date
    end: date | None = None


@dataclass(frozen=True)
class OverrideIn:
    reservation_id: int
    kind: str  # exclude | hours | split | charge_to
    hours: Decimal | None = None
    split: tuple[tuple[str, Decimal], ...] = ()
    charge_to: str | None = None
    reason: str = ""
    by: str = ""


@dataclass(frozen=True)
class MonthData:
    """Everything one month's invoice depends on."""

    month: MonthSpec
    now: int
    currency: str = "USD"
    reservations: tuple[ReservationIn, ...] = ()
    splits: tuple[SplitIn, ...] = ()
    rates: tuple[RateIn, ...] = ()
    fees: tuple[FeeIn, ...] = ()
    overrides: tuple[OverrideIn, ...] = ()
    owners: Mapping[str, str] = field(default_factory=dict)  # project title -> owner username
    pending_reservations: int = 0
