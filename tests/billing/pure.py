"""Building engine inputs by hand (site times in America/New_York)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from nodedesk.core.billing.inputs import (
    DowntimeIn,
    FeeIn,
    MonthData,
    OverrideIn,
    RateIn,
    ReservationIn,
    SplitIn,
    month_spec,
    to_us,
)
from nodedesk.core.timeutil import parse_instant

from tests.helpers import SITE_TZ

SKU = "NODE_A100"


def t(text: str) -> int:
    return to_us(parse_instant(text, SITE_TZ))


_ids = iter(range(1000, 10**9))


def window(start: str, end: str, id_: int | None = None, title: str = "w") -> DowntimeIn:
    return DowntimeIn("maintenance", id_ if id_ is not None else next(_ids), title, t(start), t(end))


def outage(start: str, end: str, id_: int | None = None, open_: bool = False) -> DowntimeIn:
    return DowntimeIn("outage", id_ if id_ is not None else next(_ids), "o", t(start), t(end), open_)


def res(
    id_: int, start: str, end: str, *downtime: DowntimeIn, project: str = "P", sku: str | None = SKU
) -> ReservationIn:
    return ReservationIn(id_, project, f"node{id_}", sku, t(start), t(end), "alice", "A100", tuple(downtime))


def split(
    effective: date, project: str = "P", status: str = "approved", id_: int = 0, **parts: str
) -> SplitIn:
    return SplitIn(project, effective, tuple((c, Decimal(p)) for c, p in parts.items()), id_, status)


def rate(amount: str, effective: date = date(2026, 1, 1), sku: str = SKU, id_: int = 0) -> RateIn:
    return RateIn(sku, effective, Decimal(amount), id_)


def month(
    period: str,
    reservations: tuple[ReservationIn, ...] = (),
    *,
    now: str = "2026-12-31 00:00",
    splits: tuple[SplitIn, ...] | None = None,
    rates: tuple[RateIn, ...] | None = None,
    fees: tuple[FeeIn, ...] = (),
    overrides: tuple[OverrideIn, ...] = (),
    owners: dict[str, str] | None = None,
    pending: int = 0,
) -> MonthData:
    return MonthData(
        month=month_spec(period, SITE_TZ),
        now=t(now),
        reservations=reservations,
        splits=splits if splits is not None else (split(date(2026, 1, 1), A="60", B="40"),),
        rates=rates if rates is not None else (rate("8.00"),),
        fees=fees,
        overrides=overrides,
        owners=owners if owners is not None else {"P": "alice", "Q": "bob"},
        pending_reservations=pending,
    )
